"""Listing the SEUs: each with its own drivers and meters (matched on equipment
and energy source together), read in a number of SQL statements that does not
grow with the number of SEUs (a plant-wide voice answer lists them all).

Every test runs on SQLite and on PostgreSQL (the ``store`` fixture).
"""
import sqlalchemy as sa

from engine import catalog


def _statements(store, call) -> int:
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    return len(seen)


def test_seus_list_their_own_drivers_and_meters_in_statements_independent_of_their_number(
        store, plant):
    plant(store)
    listing = lambda: catalog.list_entries(store, "seu")  # noqa: E731
    two_seus = _statements(store, listing)
    # Boiler-1 on a second source, with a meter but no drivers; a pump with neither.
    catalog.add_meter(store, "M-Boiler-1-EL", "Boiler-1", "electricity")
    catalog.add_seu(store, "Boiler-1", "electricity")
    catalog.add_equipment(store, "Pump-1", type="pump")
    catalog.add_seu(store, "Pump-1", "electricity")

    assert _statements(store, listing) == two_seus
    found = {s["name"]: (s["drivers"], s["meters"]) for s in listing()}
    assert found == {
        "Boiler-1 electricity": ([], ["M-Boiler-1-EL"]),
        "Boiler-1 natural_gas": (["heating_degree_days", "outdoor_temp_c"], ["M-Boiler-1-NG"]),
        "Compressor-1 electricity": (["production_count"], ["M-Compressor-1"]),
        "Pump-1 electricity": ([], []),
    }
    for seu in listing():
        assert catalog.get_seu(store, seu["equipment"], seu["source"]) == seu
