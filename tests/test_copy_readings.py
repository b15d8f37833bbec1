"""Bulk loads of readings (engine.readings.insert): PostgreSQL's binary COPY
takes rows with NULL cells, and what comes back is what went in, NULL as NULL."""
import numpy as np
import psycopg
import sqlalchemy as sa

from engine import catalog, readings


def test_readings_with_null_cells_load_by_copy_and_come_back_identical(store, plant,
                                                                       monkeypatch):
    plant(store)
    src = catalog.get_energy_source(store, "electricity")
    target = readings.table("electricity", [c["name"] for c in src["columns"]])
    n = 1000
    power = np.round(np.linspace(1.0, 90.0, n), 3)
    power[::7] = np.nan                      # measurements missing here and there
    counter = np.full(n, np.nan)             # ordinary interval readings: no register value
    counter[-3:] = [100.5, 101.0, 0.0]       # a few with one, zero among them
    batch = readings.Batch(np.full(n, 1, dtype=np.int64),
                           1735686000 + 60 * np.arange(n, dtype=np.int64),
                           np.full(n, 60, dtype=np.int64),
                           {"consumption_kwh": np.round(np.linspace(0.0, 2.0, n), 4),
                            "power_kw": power}, counter)
    copies = []
    if store.dialect == "postgresql":
        copy = psycopg.Cursor.copy

        def counted(self, sql, *args, **kwargs):
            copies.append(sql)
            return copy(self, sql, *args, **kwargs)
        monkeypatch.setattr(psycopg.Cursor, "copy", counted)
    with store.begin() as conn:
        assert readings.insert(conn, target, batch.columns()) == n
    if store.dialect == "postgresql":
        # one COPY for all rows, whatever their NULLs (no row-by-row path)
        assert len(copies) == 1 and copies[0].startswith("COPY electricity_readings")
    with store.read() as conn:
        back = conn.execute(sa.select(target.c.meter_id, target.c.ts, target.c.duration_s,
                                      target.c.counter_end, target.c.consumption_kwh,
                                      target.c.power_kw).order_by(target.c.ts)).all()
    assert len(back) == n
    got = list(zip(*back))
    assert list(got[1]) == batch.ts.tolist() and set(got[0]) == {1} and set(got[2]) == {60}
    assert list(got[4]) == batch.values["consumption_kwh"].tolist()
    # missing is NULL (None), never 0
    assert list(got[5]) == [None if np.isnan(v) else v for v in power.tolist()]
    assert list(got[3]) == [None] * (n - 3) + [100.5, 101.0, 0.0]
    # a reload adds nothing and finds no clash
    with store.begin() as conn:
        assert readings.insert(conn, target, batch.columns()) == 0
        assert len(readings.find_conflicts(conn, target, batch.columns())) == 0
