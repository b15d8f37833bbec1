"""Daily series read as arrays (``rollups.stored_days``, ``queries.Daily``) give
the figures of the stored daily rows: an SEU's energy is the sum of its meters,
a day any meter lacks stays missing (never 0), completeness is the lowest of
the meters' and rounded as a stored row's (covered_s / day_s to 6 decimals).

Every test runs on SQLite and on PostgreSQL.
"""
from datetime import date, timedelta

import sqlalchemy as sa

from engine import catalog, ingest, queries

FIRST, LAST = date(2025, 1, 1), date(2025, 1, 7)


def write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def from_rows(store, table: str, owners: str, key: str, value: str, names: list[str]) -> list:
    """The series over FIRST..LAST straight from the stored rows: per day the sum
    over the named meters (or the one driver) when every one has a value, else
    None; completeness the lowest of round(covered_s / day_s, 6), 0 if any lacks the day."""
    with store.begin() as conn:
        rows = conn.execute(sa.text(
            f"SELECT o.name, d.day, d.{value}, d.covered_s, d.day_s FROM {table} d "
            f"JOIN {owners} o ON o.id = d.{key} WHERE o.name IN :names "
            "AND d.day >= :first AND d.day <= :last ORDER BY o.name, d.day")
            .bindparams(sa.bindparam("names", expanding=True)),
            {"names": names, "first": FIRST, "last": LAST}).all()
    by_day = {}
    for _, day, v, covered_s, day_s in rows:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        by_day.setdefault(day, []).append((v, round(covered_s / day_s, 6)))
    out = []
    for i in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=i)
        parts = by_day.get(day, [])
        every = len(parts) == len(names)
        values = [v for v, _ in parts]
        out.append({"day": day,
                    "energy" if table == "meter_daily" else "value":
                    sum(values) if every and None not in values else None,
                    "completeness": min(c for _, c in parts) if every else 0.0})
    return out


def test_arrays_give_the_stored_rows_and_missing_stays_missing(store, plant, tmp_path):
    plant(store)
    catalog.add_meter(store, "M-Boiler-1-NG-2", "Boiler-1", "natural_gas")
    lines = ["timestamp,meter,consumption_m3"]
    # Meter 1: 1-3 and 6-7 January whole, 4 January 20 of 24 hours, nothing on 5 January.
    lines += [f"2025-01-0{d} {h:02d}:00,M-Boiler-1-NG,{1 + h / 10}"
              for d in (1, 2, 3, 6, 7) for h in range(24)]
    lines += [f"2025-01-04 {h:02d}:00,M-Boiler-1-NG,2" for h in range(20)]
    # Meter 2: every day but 3 January.
    lines += [f"2025-01-0{d} {h:02d}:00,M-Boiler-1-NG-2,0.3"
              for d in (1, 2, 4, 5, 6, 7) for h in range(24)]
    ingest.import_readings(store, write(tmp_path, "gas.csv", lines), "natural_gas")
    # 86373 of 86400 s: 0.9996875 rounds to 0.999687 (numpy's own round says 0.999688).
    ingest.import_drivers(store, write(tmp_path, "drivers.csv", [
        "timestamp,driver,value,duration_s",
        "2025-01-01 00:00,outdoor_temp_c,4.5,86400",
        "2025-01-02 00:00,outdoor_temp_c,3.25,86373",
        "2025-01-03 00:00,outdoor_temp_c,-1.5,86400"]))

    seu = queries.seu_series(store, "Boiler-1", "natural_gas", FIRST, LAST)
    assert seu == from_rows(store, "meter_daily", "meters", "meter_id", "energy",
                            ["M-Boiler-1-NG", "M-Boiler-1-NG-2"])
    assert [d["energy"] is None for d in seu] == [False, False, True, False, True, False, False]
    assert seu[0]["energy"] == sum(1 + h / 10 for h in range(24)) + 24 * 0.3
    assert seu[3]["completeness"] == round(20 / 24, 6)   # the lower of the two meters'
    assert seu[2]["completeness"] == seu[4]["completeness"] == 0.0
    assert queries.meter_series(store, "M-Boiler-1-NG", FIRST, LAST) == from_rows(
        store, "meter_daily", "meters", "meter_id", "energy", ["M-Boiler-1-NG"])

    temperature = queries.driver_series(store, "outdoor_temp_c", FIRST, LAST)
    assert temperature == from_rows(store, "driver_daily", "drivers", "driver_id", "value",
                                    ["outdoor_temp_c"])
    assert temperature[1]["completeness"] == 0.999687
    assert [d["value"] for d in temperature[3:]] == [None] * 4       # never 0 C
    assert queries.drivers_series(store, ["heating_degree_days", "outdoor_temp_c"], FIRST,
                                  LAST)["outdoor_temp_c"] == temperature
