"""Time the statistical core of baselines on two years of daily data (730 rows).

    OPENBLAS_NUM_THREADS=1 python bench/baseline_fit.py [--repeat 200]

Prints medians of: one OLS (2 and 6 drivers, every statistic); all 63 subsets
of 6 candidate drivers; the 31-point balance-point search of a 3P heating model
with 2 extra drivers (the coarse grid alone, and the whole fit: coarse grid,
fine grid, final OLS); a 5P fit; and "train one SEU" as the issue counts it
(6 candidates by all subsets plus every change-point form with 2 extras).
BLAS threads are pinned to 1: on 2 cores they fight (DESIGN.md).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common import machine  # noqa: E402

from engine import changepoint, regression  # noqa: E402

DAYS = 730
NAMES = ["production_count", "shift_hours", "product_b_count", "outdoor_temp_c",
         "humidity_pct", "hdd"]


def plant(seed: int = 42):
    """Two years of daily drivers and an energy series driven by three of them."""
    rng = np.random.default_rng(seed)
    day = np.arange(DAYS)
    temp = 9 + 7.5 * np.sin(2 * np.pi * (day - 100) / 365) + rng.normal(0, 2.5, DAYS)
    production = rng.normal(1000, 150, DAYS)
    drivers = np.column_stack([
        production, rng.normal(16, 2, DAYS), rng.normal(300, 60, DAYS), temp,
        rng.normal(70, 10, DAYS), np.maximum(0, 15 - temp)])
    energy = 400 + 0.5 * production + 12 * np.maximum(0, 15.3 - temp) + rng.normal(0, 20, DAYS)
    return temp, drivers, energy


def median_ms(call, repeat: int) -> float:
    call()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    temp, X, y = plant()
    extras = X[:, :2]
    grid = changepoint.balance_point_grid(temp)
    assert grid.size == 31, grid.size

    def train_one_seu():
        regression.all_subsets(X, y, NAMES)
        changepoint.compare_models(temp, y, extras, NAMES[:2])

    rows = [
        ("one OLS, 2 drivers", lambda: regression.fit_ols(X[:, :2], y, NAMES[:2])),
        ("one OLS, 6 drivers", lambda: regression.fit_ols(X, y, NAMES)),
        ("all 63 subsets of 6 drivers", lambda: regression.all_subsets(X, y, NAMES)),
        ("3P balance-point search, 31 points, 2 extras",
         lambda: changepoint._search("3p_heating", temp, y, extras, grid, np.empty(0))),
        ("3P fit: 31-point grid + fine grid + final OLS, 2 extras",
         lambda: changepoint.fit_changepoint("3p_heating", temp, y, extras, NAMES[:2])),
        ("5P fit: 465 pairs + fine pairs + final OLS, 2 extras",
         lambda: changepoint.fit_changepoint("5p", temp, y, extras, NAMES[:2])),
        ("train one SEU: 63 subsets + 5 change-point forms", train_one_seu),
    ]
    print(f"machine: {machine()}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
          f"{DAYS} daily rows; median of {args.repeat}")
    for label, call in rows:
        print(f"{label:58s} {median_ms(call, args.repeat):8.3f} ms")


if __name__ == "__main__":
    main()
