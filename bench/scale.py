"""Scale (issue 8): a generated plant of N meters with a year of 15-minute data on PostgreSQL.

    python bench/scale.py --meters 1000 --seus 250    # 35.1 M readings (2024, leap year)
    python bench/scale.py --meters 100 --seus 25      # the scaled run, 3.5 M readings

The plant: one site (Europe/Berlin), three energy sources of the demo
(electricity 70 % of the meters, natural gas 20 %, steam 10 %), one piece of
equipment per meter, and every ``meters / seus``-th piece of equipment an SEU
with production count and heating degree days as drivers. Loads follow a
weather and production signal: production runs Mon-Sat 06-22 h, outdoor
temperature has a seasonal and a daily cycle; electricity depends mostly on
production, gas and steam mostly on heating degree days; every meter has its
own base load and slopes plus noise.

Stages, each timed with rows/s and the process's peak memory (ru_maxrss)
after it:
- load: ``ingest.load_readings`` month by month per source (binary COPY,
  overlap check and the daily rollups of the touched days), and the drivers;
- rollups: ``rollups.refresh_meters`` of every meter over the year again;
- scan: ``quality.scan`` of the year (the data-quality log training and
  reports read);
- train: ``baselines.train`` of every SEU on Jan-Jun (fixed drivers);
- reports: ``reports.run`` of every SEU x Jul-Dec, first and rerun;
- one report: ``reports.generate`` of one SEU-month (median of --repeat),
  before and after another meter's raw readings are doubled (a second year,
  2023, loaded for it): the report reads daily rollups, so its cost must not
  follow the raw row count.
The database is created fresh and dropped at the end, also on error.
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
from datetime import date

import numpy as np
import sqlalchemy as sa
from common import Timer, drop_store, fresh_store, machine

from engine import baselines, catalog, ingest, quality, readings, reports, rollups, schema as s
from engine.demo_plant import ENERGY_SOURCES
from engine.localtime import day_bounds

TZ = "Europe/Berlin"
YEAR = 2024
STEP_S = 900  # 15-minute readings
BASELINE = (date(YEAR, 1, 1), date(YEAR, 6, 30))
REPORT_MONTHS = (7, 12)
SOURCES = ENERGY_SOURCES[:3]  # electricity, natural gas, steam
SHARES = (0.7, 0.2, 0.1)
DRIVERS = ["production_count", "heating_degree_days"]


def peak_mib() -> float:
    """Peak resident memory of this process so far [MiB] (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def weather_and_production(ts: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Outdoor temperature [C] and production count per 15 minutes [units]."""
    local = ts + 3600  # CET; a DST hour off in summer does not matter for a load shape
    hour = (local % 86400) / 3600
    day = (local - local[0]) // 86400
    weekday = (local // 86400 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    season = np.cos(2 * np.pi * (day - 200) / 365.25)
    temp = 10 - 9 * season + 3 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 1.5, len(ts))
    working = (weekday < 6) & (hour >= 6) & (hour < 22)
    return temp, rng.poisson(12 * working).astype(float)


def build_catalog(store, meters: int, seus: int) -> list[tuple[dict, np.ndarray, list[bool]]]:
    """Sources, drivers, equipment, meters and SEUs.

    Returns (source, meter ids, is_seu flags) per source."""
    catalog.add_site(store, "Scale Plant", TZ)
    for src in SOURCES:
        catalog.add_energy_source(store, src["name"], src["unit"], src["kwh_per_unit"],
                                  src["columns"], co2_kg_per_unit=src["co2_kg_per_unit"],
                                  tariff_per_unit=src["tariff_per_unit"])
    catalog.add_driver(store, "production_count", "units", rollup="sum")
    catalog.add_driver(store, "outdoor_temp_c", "C", rollup="mean")
    catalog.add_driver(store, "heating_degree_days", "Kd", derived_from="outdoor_temp_c",
                       derivation="hdd", base_temp_c=18)
    counts = [int(round(meters * share)) for share in SHARES]
    counts[0] += meters - sum(counts)
    every = max(1, meters // max(seus, 1))
    plan, number = [], 0
    for src, count in zip(SOURCES, counts):
        ids, is_seu = [], []
        for _ in range(count):
            name = f"EQ-{number:04d}"
            catalog.add_equipment(store, name, "machine", 100.0)
            catalog.add_meter(store, f"M-{number:04d}", name, src["name"], STEP_S)
            seu = number % every == 0 and number // every < seus
            if seu:
                catalog.add_seu(store, name, src["name"], drivers=DRIVERS)
            ids.append(f"M-{number:04d}")
            is_seu.append(seu)
            number += 1
        plan.append((catalog.get_energy_source(store, src["name"]), ids, is_seu))
    with store.read() as conn:
        meter_ids = dict(conn.execute(sa.select(s.meters.c.name, s.meters.c.id)).all())
    return [(src, np.array([meter_ids[n] for n in names]), is_seu) for src, names, is_seu in plan]


def meter_batch(source: dict, meter_ids, ts, temp, production, rng) -> readings.Batch:
    """15-minute readings of these meters: base + production + heating load, with noise."""
    hdd = np.maximum(0.0, 18 - temp)
    # Each meter's own load, the same in every month: seeded by its id.
    base, per_unit, per_kd = np.array(
        [np.random.default_rng(int(m)).uniform((2, 0.01, 0.05), (8, 0.05, 0.4))
         for m in meter_ids]).T[:, :, None]
    heating = source["name"] != "electricity"
    energy = base + per_unit * (0.3 if heating else 1.0) * production \
        + per_kd * (1.0 if heating else 0.2) * hdd
    energy = np.maximum(energy + rng.normal(0, 0.05, energy.shape) * base, 0.0).ravel()
    columns = {}
    for column in source["columns"]:
        if column["kind"] == "energy":
            columns[column["name"]] = energy
        elif column["name"].startswith(("power", "flow")):
            columns[column["name"]] = energy * (3600 / STEP_S)
        else:
            columns[column["name"]] = np.full(len(energy), 8.0)
    return readings.Batch(np.repeat(np.asarray(meter_ids, dtype=np.int64), len(ts)),
                          np.tile(ts, len(meter_ids)),
                          np.full(len(energy), STEP_S, dtype=np.int64), columns)


def month_starts(year: int) -> list[int]:
    return [day_bounds(TZ, date(year, m, 1))[0] for m in range(1, 13)] + \
        [day_bounds(TZ, date(year + 1, 1, 1))[0]]


def year_signal(year: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """15-minute start times of the year with their temperature and production."""
    edges = month_starts(year)
    ts = np.arange(edges[0], edges[-1], STEP_S, dtype=np.int64)
    return (ts, *weather_and_production(ts, np.random.default_rng(seed)))


def load_year(store, plan, year: int, signal, seed: int, only_meter: int | None = None) -> int:
    """A year of readings month by month per source (each month one transaction)."""
    rng = np.random.default_rng(seed)
    ts_year, temp, production = signal
    edges = month_starts(year)
    rows = 0
    for start, end in zip(edges[:-1], edges[1:]):
        month = (ts_year >= start) & (ts_year < end)
        for source, ids, _ in plan:
            if only_meter is not None:
                ids = ids[ids == only_meter]
            if len(ids) == 0:
                continue
            batch = meter_batch(source, ids, ts_year[month], temp[month], production[month], rng)
            with store.begin() as conn:
                rows += ingest.load_readings(conn, source, batch)[0]
            del batch
    return rows


def load_drivers(store, signal) -> int:
    ts, temp, production = signal
    with store.begin() as conn:
        ids = dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())
        for name, values in (("production_count", production), ("outdoor_temp_c", temp)):
            ingest.load_driver_values(conn, np.full(len(ts), ids[name]), ts,
                                      np.full(len(ts), STEP_S), values)
    return 2 * len(ts)


def refresh_all(store, plan) -> int:
    days = 0
    with store.begin() as conn:
        for source, ids, _ in plan:
            target = readings.table(source["name"], [c["name"] for c in source["columns"]])
            days += rollups.refresh_meters(conn, target, source["energy_column"], ids, TZ,
                                           date(YEAR, 1, 1), date(YEAR, 12, 31))
    return days


def raw_rows(store, plan) -> int:
    with store.read() as conn:
        return sum(conn.execute(sa.text(
            f"SELECT count(*) FROM {readings.table_name(src['name'])}")).scalar()
            for src, _, _ in plan)


def one_report(store, equipment: str, source: str, repeat: int) -> tuple[float, int, int]:
    """Median seconds of one SEU-month report, the SQL statements it sends and
    how many of them name a raw readings table."""
    times, sent = [], []
    listener = lambda conn, cursor, statement, *rest: sent.append(statement)  # noqa: E731
    sa.event.listen(store.engine, "before_cursor_execute", listener)
    try:
        for _ in range(repeat):
            sent.clear()
            with Timer() as t:
                reports.generate(store, equipment, source, date(YEAR, 7, 1), date(YEAR, 7, 31))
            times.append(t.seconds)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", listener)
    raw = sum("_readings" in statement for statement in sent)
    return statistics.median(times), len(sent), raw


def stage(name: str, seconds: float, rows: int | None = None) -> None:
    rate = f", {rows:,} rows = {rows / seconds:,.0f} rows/s" if rows else ""
    load = os.getloadavg()
    print(f"  {name}: {seconds:.1f} s{rate}; peak memory {peak_mib():,.0f} MiB; "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--seus", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not 0 < args.seus <= args.meters:
        parser.error(f"--seus {args.seus}: must be between 1 and --meters ({args.meters})")
    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        os.environ["ENMS_DATA_DIR"] = workdir
        store = fresh_store("postgresql", workdir)
        try:
            with Timer() as t:
                plan = build_catalog(store, args.meters, args.seus)
            seu_count = sum(sum(is_seu) for _, _, is_seu in plan)
            split = ", ".join(f"{len(ids)} {src['name']}" for src, ids, _ in plan)
            print(f"postgresql, {args.meters} meters ({split}), {seu_count} SEUs, "
                  f"15-minute readings over {YEAR}")
            stage("catalog", t.seconds)
            with Timer() as t:
                signal = year_signal(YEAR, seed=1)
                rows = load_year(store, plan, YEAR, signal, seed=1)
            stage("load readings (COPY, overlap check, daily rollups; a transaction per "
                  "source-month)", t.seconds, rows)
            with Timer() as t:
                driver_rows = load_drivers(store, signal)
            stage("load drivers", t.seconds, driver_rows)
            with Timer() as t:
                days = refresh_all(store, plan)
            stage(f"daily rollups of every meter over the year again ({days:,} meter-days)",
                  t.seconds, rows)
            with Timer() as t:
                quality.scan(store, date(YEAR, 1, 1), date(YEAR, 12, 31))
            stage("data-quality scan of the year (every meter and driver)", t.seconds)
            seus = catalog.list_entries(store, "seu")
            with Timer() as t:
                for seu in seus:
                    baselines.train(store, seu["equipment"], seu["source"], *BASELINE,
                                    drivers=DRIVERS, trained_by="bench")
            stage(f"train {len(seus)} SEUs on Jan-Jun", t.seconds)
            with Timer() as t:
                done = reports.run(store, YEAR, REPORT_MONTHS)
            n = len(done["reports"])
            stage(f"reports.run, {n} SEU-months Jul-Dec, first ({len(done['skipped'])} "
                  "skipped)", t.seconds)
            with Timer() as t:
                again = reports.run(store, YEAR, REPORT_MONTHS)
            assert len(again["reports"]) == n
            stage(f"reports.run, {n} SEU-months, rerun", t.seconds)
            first_seu = seus[0]
            other = next(int(m) for _, ids, is_seu in plan for m, flag in zip(ids, is_seu)
                         if not flag)
            before_rows = raw_rows(store, plan)
            before, statements, raw = one_report(store, first_seu["equipment"],
                                                 first_seu["source"], args.repeat)
            with Timer() as t:
                added = load_year(store, plan, YEAR - 1, year_signal(YEAR - 1, seed=2), seed=2,
                                  only_meter=other)
            after, _, _ = one_report(store, first_seu["equipment"], first_seu["source"],
                                     args.repeat)
            print(f"  one report ({first_seu['name']}, July), median of {args.repeat}: "
                  f"{1000 * before:.0f} ms at {before_rows:,} raw rows; {1000 * after:.0f} ms "
                  f"after {added:,} more rows of meter id {other} (its raw readings doubled, "
                  f"{before_rows + added:,} raw rows); {statements} SQL statements per report, "
                  f"{raw} of them on a raw readings table")
            print(f"peak memory of the engine process: {peak_mib():,.0f} MiB")
        finally:
            drop_store(store)


if __name__ == "__main__":
    sys.exit(main())
