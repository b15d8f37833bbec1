"""Monthly reports in bulk: ``reports.run`` (``enms report all``) on SQLite and PostgreSQL.

    python bench/reports.py --backend sqlite                  # the demo: 9 SEUs x Jan-Oct 2025
    python bench/reports.py --backend postgresql --seus 100   # 100 SEUs x Jan-Oct 2025 (1,000 SEU-months)
    python bench/reports.py --backend postgresql --demo       # the demo on PostgreSQL

The demo (``--demo``, the default on SQLite) is built and its baselines
trained as ``enms demo`` does. The generated plant (``--seus N``) has N
hourly-metered electricity SEUs, each with its own model on production count
and heating degree days, over 2024 (baseline year) and Jan-Oct 2025, loaded
with ``ingest.load_readings`` / ``load_driver_values`` from numpy arrays and
trained on 2024 with fixed drivers. Set-up is not timed.

Timed (median of --repeat runs where repeated):
- scan: ``quality.scan`` of every meter and driver over Jan-Oct 2025 (the
  data-quality log the reports read; normally kept by ``enms quality``);
- first: ``reports.run`` the first time (reports inserted);
- rerun: ``reports.run`` again (reports replaced), the steady state;
- month by month (demo only): ``reports.generate`` per SEU and month, the
  path of a single ``enms report SEU --period``.
"""
import argparse
import os
import statistics
import sys
import tempfile
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from common import Timer, drop_store, fresh_store, machine

from engine import baselines, catalog, ingest, quality, readings, reports, schema as s
from engine.localtime import day_bounds

TZ = "Europe/Berlin"
FIRST, LAST = date(2024, 1, 1), date(2025, 10, 31)
YEAR, MONTHS = 2025, (1, 10)


def generated_plant(store, seus: int, seed: int = 7) -> None:
    """N electricity SEUs on production count and heating degree days, hourly data."""
    rng = np.random.default_rng(seed)
    catalog.add_site(store, "Bench Plant", TZ)
    catalog.add_energy_source(store, "electricity", "kWh", 1.0, [
        {"name": "consumption_kwh", "unit": "kWh", "kind": "energy"},
        {"name": "power_kw", "unit": "kW", "kind": "measure"}],
        co2_kg_per_unit=0.38, tariff_per_unit=0.22)
    catalog.add_driver(store, "production_count", "units", rollup="sum")
    catalog.add_driver(store, "outdoor_temp_c", "C", rollup="mean")
    catalog.add_driver(store, "heating_degree_days", "Kd", derived_from="outdoor_temp_c",
                       derivation="hdd", base_temp_c=18)
    for i in range(seus):
        catalog.add_equipment(store, f"Machine-{i:03d}", "machine", 200.0)
        catalog.add_meter(store, f"M-{i:03d}", f"Machine-{i:03d}", "electricity", 3600)
        catalog.add_seu(store, f"Machine-{i:03d}", "electricity",
                        drivers=["production_count", "heating_degree_days"])
    start = day_bounds(TZ, FIRST)[0]
    end = day_bounds(TZ, LAST)[1]
    ts = np.arange(start, end, 3600, dtype=np.int64)
    hours = len(ts)
    local_hour = ((ts - start) // 3600) % 24  # close enough for shifts (DST shifts by one)
    day = (ts - start) // 86400
    weekday = (FIRST.weekday() + day) % 7
    season = np.cos(2 * np.pi * (day - 200) / 365.25)
    temp = 10 - 9 * season + 3 * np.sin(2 * np.pi * (local_hour - 9) / 24) \
        + rng.normal(0, 1.5, hours)
    working = (weekday < 6) & (local_hour >= 6) & (local_hour < 22)
    production = rng.poisson(50 * working).astype(float)
    meter_rows = []
    for i in range(seus):
        base, per_unit, per_kd = rng.uniform(5, 20), rng.uniform(0.05, 0.3), rng.uniform(0, 1.5)
        energy = base + per_unit * production + per_kd * np.maximum(0.0, 18 - temp) \
            + rng.normal(0, 0.1 * base, hours)
        meter_rows.append(np.maximum(energy, 0.0))
    src = catalog.get_energy_source(store, "electricity")
    energy = np.concatenate(meter_rows)
    meter_id = np.repeat(np.arange(1, seus + 1, dtype=np.int64), hours)
    with store.begin() as conn:
        ingest.load_readings(conn, src, readings.Batch(
            meter_id, np.tile(ts, seus), np.full(seus * hours, 3600, dtype=np.int64),
            {"consumption_kwh": energy, "power_kw": energy}))
    with store.begin() as conn:
        driver_ids = dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())
        for name, values in (("production_count", production), ("outdoor_temp_c", temp)):
            ingest.load_driver_values(conn, np.full(hours, driver_ids[name]), ts,
                                      np.full(hours, 3600), values)


def train_generated(store) -> None:
    for seu in catalog.list_entries(store, "seu"):
        baselines.train(store, seu["equipment"], seu["source"], date(2024, 1, 1),
                        date(2024, 12, 31), drivers=["production_count", "heating_degree_days"],
                        trained_by="bench")


def demo_plant(store) -> None:
    from engine.demo import build_demo, train_demo_baselines
    build_demo(store, seed=42)
    train_demo_baselines(store)


def month_by_month(store) -> int:
    count = 0
    for seu in catalog.list_entries(store, "seu"):
        for month in range(MONTHS[0], MONTHS[1] + 1):
            first = date(YEAR, month, 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            reports.generate(store, seu["equipment"], seu["source"], first, last)
            count += 1
    return count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--seus", type=int, help="a generated plant of N SEUs instead of the demo")
    parser.add_argument("--demo", action="store_true", help="the demo factory (SQLite default)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    use_demo = args.demo or args.seus is None
    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["ENMS_DATA_DIR"] = workdir
        store = fresh_store(args.backend, workdir)
        try:
            with Timer() as setup:
                if use_demo:
                    demo_plant(store)
                else:
                    generated_plant(store, args.seus)
                    # The baseline year's data-quality log, as training reads it.
                    quality.scan(store, FIRST, date(2024, 12, 31))
                    train_generated(store)
            seus = len(catalog.list_entries(store, "seu"))
            what = "demo factory" if use_demo else f"generated plant, {seus} SEUs"
            print(f"{args.backend}, {what}: set-up (load, train) {setup.seconds:.1f} s")
            with Timer() as scan:
                quality.scan(store, date(YEAR, MONTHS[0], 1), date(YEAR, MONTHS[1], 31))
            with Timer() as first:
                done = reports.run(store, YEAR, MONTHS)
            n = len(done["reports"])
            times = []
            for _ in range(args.repeat):
                with Timer() as again:
                    rerun = reports.run(store, YEAR, MONTHS)
                times.append(again.seconds)
                assert len(rerun["reports"]) == n
            print(f"  data-quality scan Jan-Oct {YEAR} (every meter and driver): "
                  f"{scan.seconds:.2f} s")
            print(f"  reports.run {n} SEU-months, first (inserted): {first.seconds:.2f} s")
            print(f"  reports.run {n} SEU-months, rerun (replaced), median of {args.repeat}: "
                  f"{statistics.median(times):.2f} s "
                  f"({1000 * statistics.median(times) / max(n, 1):.1f} ms per report)")
            if done["skipped"]:
                print(f"  skipped: {len(done['skipped'])} ({done['skipped'][0]})")
            if use_demo:
                with Timer() as slow:
                    count = month_by_month(store)
                print(f"  reports.generate month by month, {count} SEU-months: "
                      f"{slow.seconds:.2f} s")
        finally:
            drop_store(store)


if __name__ == "__main__":
    sys.exit(main())
