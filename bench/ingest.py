"""Ingest rate into SQLite and PostgreSQL.

    python bench/ingest.py --backend postgresql --rows 10000000
    python bench/ingest.py --backend sqlite --rows 10000000

Loads N one-minute readings (spread over 20 meters) through the engine's bulk
path (``readings.insert``: COPY via a staging table on PostgreSQL, executemany
on SQLite, both with ON CONFLICT DO NOTHING), in one transaction, and reports
rows per second; then reloads the same rows (all duplicates) to time the
idempotent path. Rollups are timed by bench/rollup.py.
"""
import argparse
import tempfile

from common import Timer, drop_store, electricity_plant, fresh_store, machine, minute_series

from engine import readings

START_TS = 1704063600  # 2024-01-01 00:00 Europe/Berlin


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--meters", type=int, default=20)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="enms-bench-")
    store = fresh_store(args.backend, workdir)
    try:
        meter_ids = electricity_plant(store, args.meters)
        meter, ts, dur, kwh, kw = minute_series(meter_ids, START_TS, args.rows // args.meters)
        target = readings.table("electricity", ["consumption_kwh", "power_kw"])
        columns = [("meter_id", meter), ("ts", ts), ("duration_s", dur), ("consumption_kwh", kwh),
                   ("power_kw", kw)]
        with Timer() as first, store.begin() as conn:
            inserted = readings.insert(conn, target, columns)
        with Timer() as again, store.begin() as conn:
            reinserted = readings.insert(conn, target, columns)
        n = len(ts)
        print(f"machine: {machine()}")
        print(f"{args.backend}: {n:,} rows, {inserted:,} new in {first.seconds:.1f} s = "
              f"{n / first.seconds:,.0f} rows/s; reload (all duplicates, {reinserted} new) "
              f"{again.seconds:.1f} s = {n / again.seconds:,.0f} rows/s")
    finally:
        drop_store(store)


if __name__ == "__main__":
    main()
