"""Time baseline training the way ``engine.baselines`` does it (issue 3, "Speed").

    OPENBLAS_NUM_THREADS=1 python bench/baseline_train.py                 # both parts, SQLite
    OPENBLAS_NUM_THREADS=1 python bench/baseline_train.py --part one-seu --repeat 300
    OPENBLAS_NUM_THREADS=1 python bench/baseline_train.py --part demo --backend postgresql

Part "one-seu" (target < 20 ms): one SEU, 730 daily rows built in memory
(production, operating hours, outdoor temperature, HDD and CDD at 18 C, and an
irrelevant driver), timed through the engine's own selection path:
``baselines._fit_candidates(frame, specs, "day", auto=True)`` on a
``baselines.Frame``: all 63 subsets of the 6 candidates
(``regression.all_subsets``), then ``changepoint.fit_changepoint`` for 3p_heating,
3p_cooling, 4p and 5p with the best valid subset's non-weather drivers as
extras, then DOE validity, sign checks and the ranking. The two halves
(subsets; change-point fits) are timed on their own too. No database.

Part "demo" (target < 1 s): the demo factory (``engine.demo.build_demo``, seed
42) in a throwaway database (SQLite file, or a PostgreSQL database created and
dropped like bench/common.py's fresh_store), then ``baselines.train`` with
automatic selection for all 9 SEUs on 2024, end to end: catalog look-ups,
reading the daily rollups and the data-quality log (``build_frame``), fitting,
storing the version. Each round trains every SEU once. The first round after a
build is "cold": it also runs the data-quality scan of 2024 that training
consults (and logs it), and, in the first build, SQLAlchemy's statement
compilation; later rounds are "warm". --builds fresh demos give the cold
median; warm figures are medians over all warm rounds. Reading the rollups
and fitting are also timed apart per SEU.

BLAS threads are pinned to 1 (DESIGN.md: they fight on 2 cores).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import date, timedelta  # noqa: E402

import numpy as np  # noqa: E402

from common import drop_store, fresh_store, machine  # noqa: E402

from engine import baselines, catalog, regression  # noqa: E402

DAYS = 730
# Catalog facts of each driver (renamed from _driver_specs in 375b414).
_driver_specs = getattr(baselines, "driver_specs", None) or getattr(baselines, "_driver_specs")
FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)


# --- part 1: one SEU, in memory ---------------------------------------------------

def _spec(name, unit, rollup, kind="measured", derivation=None, base=None, parent=None):
    return {"name": name, "unit": unit, "rollup": rollup, "kind": kind,
            "derivation": derivation, "base_temp_c": base, "derived_from": parent}


SPECS = [
    _spec("production_count", "units", "sum"),
    _spec("operating_hours", "h", "sum"),
    _spec("outdoor_temp_c", "C", "mean"),
    _spec("heating_degree_days", "Kd", "sum", "derived", "hdd", 18.0, "outdoor_temp_c"),
    _spec("cooling_degree_days", "Kd", "sum", "derived", "cdd", 18.0, "outdoor_temp_c"),
    _spec("relative_humidity_pct", "%", "mean"),   # irrelevant to the energy
]


def one_seu_frame(seed: int = 7) -> baselines.Frame:
    """730 days of a weather- and production-driven SEU, as build_frame returns them.

    Production runs 2 shifts on working days, 1 on Saturdays, none on Sundays
    (so production and operating hours are correlated, as in a plant); the
    energy has a heating change point at 15.5 C and a cooling one at 19.5 C,
    neither on the 18 C of the catalog's degree days.
    """
    rng = np.random.default_rng(seed)
    day = np.arange(DAYS)
    weekday = (day + 0) % 7                              # 2024-01-01 was a Monday
    temp = 11.0 + 10.0 * np.sin(2 * np.pi * (day - 105) / 365.25) + rng.normal(0, 2.8, DAYS)
    shifts = np.where(weekday < 5, 2, np.where(weekday == 5, 1, 0))
    hours = shifts * 8.0 - rng.uniform(0, 1.0, DAYS) * (shifts > 0)
    production = hours * rng.normal(55, 4, DAYS)
    humidity = np.clip(rng.normal(72, 9, DAYS), 30, 100)
    energy = (520 + 0.35 * production + 9.0 * hours + 22 * np.maximum(0, 15.5 - temp)
              + 38 * np.maximum(0, temp - 19.5) + rng.normal(0, 35, DAYS))
    drivers = {"production_count": production, "operating_hours": hours,
               "outdoor_temp_c": temp, "heating_degree_days": np.maximum(0, 18 - temp),
               "cooling_degree_days": np.maximum(0, temp - 18), "relative_humidity_pct": humidity}
    starts = [date(2024, 1, 1) + timedelta(days=int(d)) for d in day]
    return baselines.Frame(starts, starts, energy, drivers, temp, [], DAYS)


def median_ms(call, repeat: int) -> tuple[float, float, float]:
    """Median, 10th and 90th percentile [ms] of ``repeat`` calls after one warm-up."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    q = np.percentile(times, [50, 10, 90]) * 1000
    return float(q[0]), float(q[1]), float(q[2])


def _describe(ranked, n_linear: int) -> str:
    best = ranked[0]
    cp = best["changepoint"]
    text = (f"{len(ranked) - n_linear} change-point models tried; chosen {best['kind']} with "
            f"{', '.join(best['ols'].names)}, adj R2 {best['ols'].adj_r2:.4f}")
    if cp is not None:
        text += (f", balance points heating {cp.heating_balance_c} C / cooling "
                 f"{cp.cooling_balance_c} C (truth 15.5 / 19.5)")
    return text


def part_one_seu(repeat: int) -> None:
    frame = one_seu_frame()
    specs = SPECS
    names = [sp["name"] for sp in specs]
    units = [sp["unit"] for sp in specs]
    X = frame.matrix(names)

    def subsets():
        return [("linear", c.ols, None) for c in
                regression.all_subsets(X, frame.energy, names, units)]

    linear = subsets()

    def changepoints():
        return baselines._changepoint_fits(frame, specs, linear)

    def selection_core():
        return baselines._changepoint_fits(frame, specs, subsets())

    def engine():
        return baselines._fit_candidates(frame, specs, "day", auto=True)

    extras = [n for n in next(ols for _, ols, _ in sorted(linear, key=lambda f: -f[1].adj_r2)
                              if not regression.validity(ols).reasons).names
              if n not in ("outdoor_temp_c", "heating_degree_days", "cooling_degree_days")]
    print(f"one SEU: {DAYS} daily rows, 6 candidates ({', '.join(names)}); "
          f"{len(linear)} of 63 subsets fittable (those holding temperature, HDD and CDD "
          f"together are collinear); change-point extras {extras}; median of {repeat} "
          "after a warm-up")
    print(f"  engine: {_describe(engine(), len(linear))}")
    rows = [
        ("all 63 subsets of 6 candidates (regression.all_subsets)", subsets),
        ("change-point fits 3p_heating, 3p_cooling, 4p, 5p with the extras", changepoints),
        ("selection core: subsets + the 4 change-point fits", selection_core),
        ("train one SEU: baselines._fit_candidates (the target)", engine),
    ]
    for label, call in rows:
        med, p10, p90 = median_ms(call, repeat)
        print(f"  {label:70s} {med:7.2f} ms  (p10 {p10:.2f}, p90 {p90:.2f})")


# --- part 2: all demo SEUs, through the database -----------------------------------

def _build(backend: str, workdir: str):
    from engine.demo import build_demo
    store = fresh_store(backend, workdir)
    start = time.perf_counter()
    build_demo(store, seed=42)
    return store, time.perf_counter() - start


def _train_round(store, seus) -> dict:
    """Train every SEU once; seconds per SEU and the chosen versions."""
    seconds, chosen = {}, {}
    for equipment, source in seus:
        start = time.perf_counter()
        chosen[(equipment, source)] = baselines.train(store, equipment, source, FIRST, LAST)
        seconds[(equipment, source)] = time.perf_counter() - start
    return {"seconds": seconds, "total": sum(seconds.values()), "chosen": chosen}


def part_demo(backend: str, builds: int, rounds: int) -> None:
    """``builds`` fresh demos; on each, one cold round (the first training after the
    build: it also runs the data-quality scan of 2024 that training consults, and
    logs it) and ``rounds`` warm rounds."""
    build_s, cold, warm, chosen = [], [], [], {}
    reads, fits = defaultdict(list), defaultdict(list)
    for b in range(builds):
        workdir = tempfile.mkdtemp(prefix="enms-bench-train-")
        os.environ["ENMS_DATA_DIR"] = workdir       # the demo's ground-truth file goes here
        store, seconds = _build(backend, workdir)
        build_s.append(seconds)
        try:
            seus = [(s["equipment"], s["source"]) for s in catalog.list_entries(store, "seu")]
            cold.append(_train_round(store, seus))
            for _ in range(rounds):
                warm.append(_train_round(store, seus))
            chosen = warm[-1]["chosen"]
            # The two halves of train, timed apart: reading the rollups, and fitting.
            for _ in range(rounds):
                for equipment, source in seus:
                    seu = catalog.get_seu(store, equipment, source)
                    specs = _driver_specs(store, seu["drivers"])
                    weather = baselines._weather_driver(specs)
                    start = time.perf_counter()
                    frame = baselines.build_frame(store, equipment, source, FIRST, LAST, specs,
                                                  "day", weather)
                    middle = time.perf_counter()
                    baselines._fit_candidates(frame, specs, "day", True)
                    end = time.perf_counter()
                    reads[(equipment, source)].append(middle - start)
                    fits[(equipment, source)].append(end - middle)
        finally:
            drop_store(store)
            shutil.rmtree(workdir, ignore_errors=True)

    def med(values):
        return statistics.median(values)

    print(f"demo on {backend}: {builds} fresh builds (each {', '.join(f'{x:.1f}' for x in build_s)}"
          f" s); baselines.train --auto on 2024 for {len(seus)} SEUs; cold = first round after "
          f"a build (median of {builds}), warm = median of {builds} x {rounds} rounds")
    print(f"  {'SEU':34s} {'cold':>8s} {'warm':>8s} {'rollups':>8s} {'fit':>8s}  chosen model")
    for seu in seus:
        r = chosen[seu]
        model = r["model"] + (" (" + ", ".join(r["drivers"]) + ")" if r["drivers"] else "")
        print(f"  {catalog.seu_name(*seu):34s} "
              f"{1000 * med([c['seconds'][seu] for c in cold]):6.1f}ms "
              f"{1000 * med([w['seconds'][seu] for w in warm]):6.1f}ms "
              f"{1000 * med(reads[seu]):6.1f}ms {1000 * med(fits[seu]):6.1f}ms  "
              f"{model}; R2 {r['r2']:.3f}")
    print(f"  {'all 9 SEUs, cold (first after build)':34s} {med([c['total'] for c in cold]):7.3f} s "
          f"(builds: {', '.join('%.3f' % c['total'] for c in cold)}; the first in a fresh process)")
    print(f"  {'all 9 SEUs, warm':34s} {med([w['total'] for w in warm]):7.3f} s "
          f"(p10 {np.percentile([w['total'] for w in warm], 10):.3f}, "
          f"p90 {np.percentile([w['total'] for w in warm], 90):.3f})")
    print(f"  warm, sum of per-SEU medians: rollups (build_frame) "
          f"{sum(med(v) for v in reads.values()):.3f} s, fit (_fit_candidates) "
          f"{sum(med(v) for v in fits.values()):.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("one-seu", "demo", "all"), default="all")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls for one-seu")
    parser.add_argument("--builds", type=int, default=3, help="fresh demo builds per backend")
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds per build")
    args = parser.parse_args()
    print(f"machine: {machine()}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}; load {os.getloadavg()[0]:.2f}")
    sys.stdout.flush()
    if args.part in ("one-seu", "all"):
        part_one_seu(args.repeat)
    if args.part in ("demo", "all"):
        for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
            part_demo(backend, args.builds, args.rounds)


if __name__ == "__main__":
    main()
