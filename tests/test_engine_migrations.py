"""Schema changes are migrations: a database made by the first schema upgrades
without loss, and the migrated schema is the one the engine's queries expect.

Every test runs on SQLite and on PostgreSQL (``db_url``: an empty database).
"""
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from conftest import open_store
from engine import audit, catalog, ingest, queries, readings, schema
from engine.store import HEAD_REVISION, MIGRATIONS_DIR, Store

FIRST_DAY = date(2024, 11, 4)


def script_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def table_rows(store, table: str) -> list[tuple]:
    with store.begin() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT * FROM {table} ORDER BY 1, 2").all()]


def alembic_version(store) -> list[str]:
    with store.begin() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()


def test_store_knows_the_newest_migration():
    # Store.upgrade() skips work when the database is at HEAD_REVISION: a new
    # migration without a new HEAD_REVISION would never be applied.
    assert HEAD_REVISION == script_head() == "0011"


def test_database_from_the_first_schema_upgrades_without_loss(db_url, plant, tmp_path,
                                                              monkeypatch):
    old = Store(db_url, upgrade=False)
    try:
        assert old.revision() is None
        old.upgrade("0001")
        assert old.revision() == "0001"
        assert not sa.inspect(old.engine).has_table("import_batches")

        # What the first version could store: the catalog, readings, rollups, drivers.
        # It had no audit trail (0009), which today's catalog functions write to,
        # and no equipment.responsible (0011), which reading an entry back shows.
        monkeypatch.setattr(audit, "record", lambda *args, **kwargs: None)
        monkeypatch.setattr(catalog, "get_entry", lambda *args, **kwargs: None)
        monkeypatch.setitem(catalog._TABLES, "equipment", sa.Table(
            "equipment", sa.MetaData(), *(sa.Column(c.name, c.type, primary_key=c.primary_key)
                                          for c in schema.equipment.c
                                          if c.name != "responsible")))
        plant(old)
        gas = catalog.get_energy_source(old, "natural_gas")
        start = int(np.datetime64("2024-11-03T23:00:00", "s").astype(np.int64))  # local midnight
        hours = 24
        with old.begin() as conn:
            meter_id = conn.execute(sa.select(schema.meters.c.id).where(
                schema.meters.c.name == "M-Boiler-1-NG")).scalar_one()
            temp_id = conn.execute(sa.select(schema.drivers.c.id).where(
                schema.drivers.c.name == "outdoor_temp_c")).scalar_one()
            batch = readings.Batch(
                meter_id=np.full(hours, meter_id, dtype=np.int64),
                ts=start + 3600 * np.arange(hours, dtype=np.int64),
                duration_s=np.full(hours, 3600, dtype=np.int64),
                values={"consumption_m3": np.arange(1.0, hours + 1),
                        "flow_rate_m3h": np.arange(1.0, hours + 1),
                        "pressure_bar": np.full(hours, np.nan)})
            inserted, _ = ingest.load_readings(conn, gas, batch)
            assert inserted == hours
            # Plain SQL, as any tool writing the first schema would.
            conn.execute(sa.text(
                "INSERT INTO driver_readings (driver_id, ts, duration_s, value) "
                "VALUES (:d, :ts, 86400, 7.5)"), {"d": temp_id, "ts": start})
        before = {t: table_rows(old, t) for t in (
            "sites", "energy_sources", "source_columns", "equipment", "meters", "drivers",
            "seus", "seu_drivers", "natural_gas_readings", "meter_daily", "driver_readings")}
        assert len(before["natural_gas_readings"]) == hours
        assert len(before["meter_daily"]) == 1
    finally:
        old.dispose()
        monkeypatch.undo()

    with open_store(db_url) as new:                     # opening upgrades to head
        assert new.revision() == HEAD_REVISION
        assert alembic_version(new) == [HEAD_REVISION]
        assert sa.inspect(new.engine).has_table("import_batches")
        # Old rows are unchanged; a column added later (equipment.responsible,
        # 0011) is NULL in them: not recorded, never invented.
        added = {"equipment": (None,)}
        for table, rows in before.items():
            assert table_rows(new, table) == [r + added.get(table, ()) for r in rows], table
        seu = catalog.get_seu(new, "Boiler-1", "natural_gas")
        assert seu["meters"] == ["M-Boiler-1-NG"]
        day = queries.meter_series(new, "M-Boiler-1-NG", FIRST_DAY, FIRST_DAY)[0]
        assert day["energy"] == pytest.approx(hours * (hours + 1) / 2)
        assert day["completeness"] == 1.0

        # Imports work and are recorded; the old rows count as duplicates.
        lines = ["timestamp,meter,consumption_m3,flow_rate_m3h"]
        lines += [f"2024-11-0{d} {h:02d}:00,M-Boiler-1-NG,{h + 1}.0,{h + 1}.0"
                  for d in (4, 5) for h in range(hours)]
        path = tmp_path / "gas.csv"
        path.write_text("\n".join(lines) + "\n")
        report = ingest.import_readings(new, path, "natural_gas")
        assert (report.rows_inserted, report.rows_duplicate) == (hours, hours)
        assert report.rejects == []
        batches = table_rows(new, "import_batches")
        assert len(batches) == 1
        with new.begin() as conn:
            recorded = conn.execute(sa.select(schema.import_batches)).mappings().one()
        assert recorded["file_name"] == str(path)
        assert recorded["kind"] == "readings" and recorded["source"] == "natural_gas"
        assert (recorded["rows_read"], recorded["rows_inserted"],
                recorded["rows_duplicate"]) == (2 * hours, hours, hours)
        assert len(recorded["sha256"]) == 64

    with open_store(db_url) as again:                   # opening a current database: a no-op
        assert alembic_version(again) == [HEAD_REVISION]
        assert len(table_rows(again, "natural_gas_readings")) == 2 * hours


def test_migrated_schema_matches_the_engine_tables(store):
    inspector = sa.inspect(store.engine)
    for table in schema.metadata.sorted_tables:
        assert inspector.has_table(table.name), table.name
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == set(table.c.keys()), table.name
        for column in table.c:
            if not column.primary_key:
                assert columns[column.name]["nullable"] == column.nullable, (
                    table.name, column.name)
        primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert sorted(primary) == sorted(c.name for c in table.primary_key), table.name
