"""Ingest rate into SQLite and PostgreSQL.

    python bench/ingest.py --backend postgresql --rows 10000000
    python bench/ingest.py --backend sqlite --rows 10000000

Three figures for N one-minute readings spread over 20 meters:
- bulk load: ``ingest.load_readings`` in one transaction, as the demo and
  live ingest use it: overlap check, insert (binary COPY on PostgreSQL,
  executemany on SQLite, both ON CONFLICT DO NOTHING) and the daily rollups;
- reload: the same rows again (all duplicates: the idempotent path);
- CSV: ``enms import readings`` on a file of --csv-rows rows (parsing,
  validation, time zones, then the bulk load).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from common import Timer, drop_store, electricity_plant, fresh_store, machine, minute_series

from engine import catalog, ingest, readings

START_TS = 1704063600  # 2024-01-01 00:00 Europe/Berlin


def write_csv(path, meter_ids, start_ts, minutes):
    meter, ts, _, kwh, kw = minute_series(meter_ids, start_ts, minutes, seed=2)
    stamps = np.datetime_as_string((ts + 3600).astype("datetime64[s]"), unit="s")  # CET
    with open(path, "w") as handle:
        handle.write("timestamp,meter,consumption_kwh,power_kw\n")
        for m, stamp, e, p in zip(meter.tolist(), stamps.tolist(), kwh.tolist(), kw.tolist()):
            handle.write(f"{stamp.replace('T', ' ')},M-{m - 1},{e:.4f},{p:.3f}\n")
    return len(ts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--meters", type=int, default=20)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="enms-bench-")
    store = fresh_store(args.backend, workdir)
    try:
        meter_ids = electricity_plant(store, args.meters)
        source = catalog.get_energy_source(store, "electricity")
        meter, ts, dur, kwh, kw = minute_series(meter_ids, START_TS, args.rows // args.meters)
        batch = readings.Batch(meter, ts, dur, {"consumption_kwh": kwh, "power_kw": kw})
        with Timer() as first, store.begin() as conn:
            inserted, _ = ingest.load_readings(conn, source, batch)
        with Timer() as again, store.begin() as conn:
            reinserted, _ = ingest.load_readings(conn, source, batch)
        n = len(ts)
        print(f"machine: {machine()}")
        print(f"{args.backend}: bulk load {n:,} rows ({inserted:,} new) with overlap check and "
              f"daily rollups: {first.seconds:.1f} s = {n / first.seconds:,.0f} rows/s")
        print(f"{args.backend}: reload, all duplicates ({reinserted} new): {again.seconds:.1f} s "
              f"= {n / again.seconds:,.0f} rows/s")
        if args.csv_rows:
            path = os.path.join(workdir, "readings.csv")
            # The CSV covers the month after the bulk rows.
            rows = write_csv(path, meter_ids, int(ts.max()) + 60, args.csv_rows // args.meters)
            env = {**os.environ, "ENMS_DATABASE_URL": store.url}
            with Timer() as csv_time:
                subprocess.run([sys.executable, "-m", "engine.cli", "import", "readings", path,
                                "--source", "electricity"], check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"{args.backend}: enms import readings, CSV of {rows:,} rows: "
                  f"{csv_time.seconds:.1f} s = {rows / csv_time.seconds:,.0f} rows/s")
    finally:
        drop_store(store)


if __name__ == "__main__":
    main()
