"""Daily rollup time for one year of 1-minute data of 50 meters (26.3 M readings).

    python bench/rollup.py --backend postgresql
    python bench/rollup.py --backend sqlite

Loads the readings (timed too), then times ``rollups.refresh_meters`` over the
whole year for all meters: the local-day aggregation in SQL, the split of
readings that cross midnight, and writing ``meter_daily``.
"""
import argparse
import tempfile
from datetime import date

from common import Timer, drop_store, electricity_plant, fresh_store, machine, minute_series

from engine import readings, rollups

START_TS = 1704063600  # 2024-01-01 00:00 Europe/Berlin
MINUTES_2024 = 366 * 24 * 60


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--meters", type=int, default=50)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="enms-bench-")
    store = fresh_store(args.backend, workdir)
    try:
        meter_ids = electricity_plant(store, args.meters)
        target = readings.table("electricity", ["consumption_kwh", "power_kw"])
        with Timer() as load:
            for meter_id in meter_ids:  # one meter-year per transaction
                meter, ts, dur, kwh, kw = minute_series([meter_id], START_TS, MINUTES_2024, meter_id)
                with store.begin() as conn:
                    readings.insert(conn, target, [
                        ("meter_id", meter), ("ts", ts), ("duration_s", dur),
                        ("consumption_kwh", kwh), ("power_kw", kw)])
        n = args.meters * MINUTES_2024
        if store.is_postgres:
            with store.begin() as conn:
                conn.exec_driver_sql(f"ANALYZE {target.name}")
        with Timer() as roll, store.begin() as conn:
            days = rollups.refresh_meters(conn, target, "consumption_kwh", meter_ids,
                                          "Europe/Berlin", date(2024, 1, 1), date(2024, 12, 31))
        print(f"machine: {machine()}")
        print(f"{args.backend}: loaded {n:,} rows in {load.seconds:.1f} s "
              f"({n / load.seconds:,.0f} rows/s); daily rollup of {args.meters} meters x 2024 "
              f"-> {days:,} meter-days in {roll.seconds:.2f} s")
    finally:
        drop_store(store)


if __name__ == "__main__":
    main()
