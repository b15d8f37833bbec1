"""The data-quality scan (``quality.scan``) on a generated plant and on the demo factory.

    python bench/quality.py --backend postgresql --meters 100 --days 91 --repeat 3
    python bench/quality.py --backend sqlite --demo --repeat 3
    python bench/quality.py --backend postgresql --meters 100 --days 91 --profile scan.prof

The generated plant is ``scale.py``'s (three sources, one site in
Europe/Berlin, 15-minute readings from 1 January 2024 for ``--days`` days,
production and outdoor temperature as drivers, heating degree days derived);
``--demo`` scans the demo factory's 2025 instead. Each run scans every meter
and driver over the whole period and writes the log (a rerun replaces its
rows). Prints each run's seconds and the median; ``--profile FILE`` writes a
cProfile of one more run. The database is created fresh and dropped at the end.
"""
import argparse
import cProfile
import os
import statistics
import sys
import tempfile
from datetime import date, timedelta

import numpy as np
from common import Timer, drop_store, fresh_store, machine
from scale import (STEP_S, TZ, build_catalog, load_drivers, meter_batch,
                   weather_and_production)

from engine import ingest, quality
from engine.demo import build_demo
from engine.localtime import day_bounds


def generated_plant(store, meters: int, days: int) -> tuple[date, date, int]:
    """scale.py's plant with ``days`` days of 15-minute readings from 2024-01-01.

    Returns the first and last day and the readings loaded."""
    plan = build_catalog(store, meters, max(1, meters // 4))
    first = date(2024, 1, 1)
    last = first + timedelta(days=days - 1)
    ts = np.arange(day_bounds(TZ, first)[0], day_bounds(TZ, last)[1], STEP_S, dtype=np.int64)
    temp, production = weather_and_production(ts, np.random.default_rng(1))
    rng = np.random.default_rng(1)
    rows = 0
    for source, ids, _ in plan:
        with store.begin() as conn:
            rows += ingest.load_readings(conn, source,
                                         meter_batch(source, ids, ts, temp, production, rng))[0]
    load_drivers(store, (ts, temp, production))
    return first, last, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--demo", action="store_true", help="scan the demo factory's 2025")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of one more scan")
    args = parser.parse_args()
    if args.meters < 1 or args.days < 1:
        parser.error("--meters and --days must be at least 1")
    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["ENMS_DATA_DIR"] = workdir
        store = fresh_store(args.backend, workdir)
        try:
            if args.demo:
                build_demo(store, seed=42)
                first, last = date(2025, 1, 1), date(2025, 12, 31)
                print(f"{args.backend}, the demo factory, {first} .. {last}")
            else:
                first, last, rows = generated_plant(store, args.meters, args.days)
                print(f"{args.backend}, {args.meters} meters x {args.days} days of 15-minute "
                      f"readings ({rows:,} rows), {first} .. {last}")
            times = []
            for _ in range(args.repeat):
                with Timer() as t:
                    out = quality.scan(store, first, last)
                times.append(t.seconds)
                load = os.getloadavg()
                print(f"  scan: {t.seconds:.2f} s, {out['summary']['entities']} entities, "
                      f"findings {out['summary']['findings']}; load {load[0]:.1f}", flush=True)
            print(f"median of {args.repeat}: {statistics.median(times):.2f} s")
            if args.profile:
                cProfile.runctx("quality.scan(store, first, last)", globals(),
                                {"quality": quality, "store": store, "first": first,
                                 "last": last}, args.profile)
                print(f"profile written to {args.profile}")
        finally:
            drop_store(store)


if __name__ == "__main__":
    sys.exit(main())
