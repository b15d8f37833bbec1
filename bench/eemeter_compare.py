"""Our automatic baselines against eemeter's CalTRACK daily model, on the demo data.

    OPENBLAS_NUM_THREADS=1 /work/venv/bin/python bench/eemeter_compare.py [--repeat 5] [--out DIR]

eemeter lives in its own virtual environment, so the project's stays clean
(eemeter pulls in pandas, numba, nlopt, statsmodels, scikit-fda, ...)::

    python3 -m venv /work/venv-eemeter
    /work/venv-eemeter/bin/pip install eemeter==4.1.1 "pandas<3" pytz

(eemeter 4.1.1 imports pytz without declaring it, and pandas 3 no longer
brings it; eemeter 4.1.1 was written against pandas 2.) Point --eemeter-python
or $EEMETER_PYTHON elsewhere if it lives elsewhere.

What it does, in the project's environment:
1. builds the demo factory (seed 42) in a throwaway SQLite database (or uses
   --db, which must hold the demo);
2. exports, for the weather-driven SEUs (HVAC-Main, HVAC-EU-North, Boiler-1),
   the daily energy and daily mean outdoor temperature of 2024 (baseline) and
   January-October 2025 (reporting) to CSV through the engine's queries
   (``queries.seu_series``, ``queries.driver_series``), a day left blank where
   the engine would leave it out (energy under 98 % metered, temperature under
   90 % present), so both tools see the same days;
3. trains ours with ``baselines.train`` (automatic selection) twice per SEU:
   "T only", candidates heating_degree_days and cooling_degree_days, so the
   change-point models with a searched balance point compete (temperature only,
   as eemeter); and "T + production", the SEU's catalog drivers plus
   production_count; then ``baselines.expected`` for 2025-01..10;
4. runs itself under the eemeter interpreter (``--eemeter-side DIR``), which
   fits ``eemeter.eemeter.DailyModel`` on the same CSV, both "legacy" (eemeter
   4's CalTRACK 2.0 settings: least-squares HDD/CDD change points, no
   smoothing) and "current" (eemeter 4's default daily model: smoothed change
   points, season and weekday/weekend splits, adaptive loss), and predicts
   2025-01..10;
5. prints per SEU: fit time (median of --repeat after one cold fit), model
   form and balance points, R2 and CV(RMSE) on 2024, and the predicted
   2025-01..10 totals against ours, the actual and the generator's truth
   (its noise-free model on the same days, before the known 2025 effects), all
   summed over the same days (those every model predicts).

eemeter models temperature only; our "T only" variant is the like-for-like
comparison. eemeter flags a 366-day baseline (2024 is a leap year) as
"incorrect_number_of_total_days", a disqualification: the fit ignores it, and
it is printed.
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SEUS = [("HVAC-Main", "electricity"), ("HVAC-EU-North", "electricity"),
        ("Boiler-1", "natural_gas")]
BASE_FIRST, BASE_LAST = date(2024, 1, 1), date(2024, 12, 31)
REP_FIRST, REP_LAST = date(2025, 1, 1), date(2025, 10, 31)
TIMEZONE = "Europe/Berlin"
EXPORTED_DRIVERS = ("outdoor_temp_c", "production_count", "operating_hours",
                    "heating_degree_days", "cooling_degree_days")
TEMPERATURE_ONLY = ["heating_degree_days", "cooling_degree_days"]
DEFAULT_EEMETER_PYTHON = "/work/venv-eemeter/bin/python"
SETUP = ('python3 -m venv /work/venv-eemeter && '
         '/work/venv-eemeter/bin/pip install eemeter==4.1.1 "pandas<3" pytz')


def _file(out: str, equipment: str) -> str:
    return os.path.join(out, f"{equipment}.csv")


# --- the eemeter side (runs under the eemeter interpreter) ------------------------------

def eemeter_side(out: str, repeat: int) -> None:
    import logging
    import warnings

    import numpy as np
    import pandas as pd
    import eemeter
    from eemeter.eemeter import DailyBaselineData, DailyModel, DailyReportingData

    logging.getLogger("eemeter").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    results = {"eemeter": eemeter.__version__ if hasattr(eemeter, "__version__") else "?",
               "pandas": pd.__version__, "seus": {}}
    for equipment, source in SEUS:
        df = pd.read_csv(_file(out, equipment), parse_dates=["day"])
        df.index = pd.DatetimeIndex(df["day"]).tz_localize(TIMEZONE)
        temp_f = df["temperature_c"] * 9 / 5 + 32
        base = df["period"] == "baseline"
        electricity = source == "electricity"

        def baseline_data():
            return DailyBaselineData.from_series(df.loc[base, "energy"], temp_f[base],
                                                 is_electricity_data=electricity)

        start = time.perf_counter()
        data = baseline_data()
        data_s = time.perf_counter() - start
        reporting = DailyReportingData.from_series(df.loc[~base, "energy"], temp_f[~base],
                                                   is_electricity_data=electricity)
        per_model = {}
        for kind in ("legacy", "current"):
            times = []
            for i in range(repeat + 1):
                start = time.perf_counter()
                model = DailyModel(model=kind).fit(data, ignore_disqualification=True)
                times.append(time.perf_counter() - start)
            fitted = model.predict(data, ignore_disqualification=True)
            ok = fitted["observed"].notna() & fitted["predicted"].notna()
            obs, pred = fitted.loc[ok, "observed"], fitted.loc[ok, "predicted"]
            r2 = 1 - float(((obs - pred) ** 2).sum()) / float(((obs - obs.mean()) ** 2).sum())
            predicted = model.predict(reporting, ignore_disqualification=True)["predicted"]
            submodels = []
            for split, sub in model.params.submodels.items():
                c = sub.coefficients

                def to_c(bp):
                    return None if bp is None or not np.isfinite(bp) else (bp - 32) * 5 / 9

                def per_k(beta):
                    return None if beta is None or not np.isfinite(beta) else beta * 9 / 5

                submodels.append({
                    "split": split, "model_type": c.model_type.value, "intercept": c.intercept,
                    "hdd_bp_c": to_c(c.hdd_bp), "hdd_beta_per_k": per_k(c.hdd_beta),
                    "cdd_bp_c": to_c(c.cdd_bp), "cdd_beta_per_k": per_k(c.cdd_beta),
                    "smoothing": [c.hdd_k, c.cdd_k]})
            per_model[kind] = {
                "fit_cold_s": times[0], "fit_median_s": statistics.median(times[1:]),
                "fit_times_s": times[1:], "r2": r2,
                "cv_rmse_pct": 100 * model.error["CVRMSE"], "submodels": submodels,
                "disqualification": sorted({w.qualified_name for w in model.disqualification}),
                "predicted": {d.strftime("%Y-%m-%d"): (None if not np.isfinite(v) else float(v))
                              for d, v in predicted.items()},
                "baseline_days_used": int(ok.sum())}
        results["seus"][equipment] = {"data_s": data_s, "models": per_model}
    with open(os.path.join(out, "eemeter_results.json"), "w") as handle:
        json.dump(results, handle, indent=1)


# --- the project side ------------------------------------------------------------------

def export(store, out: str) -> None:
    """Daily energy and drivers of each compared SEU, blank where the engine leaves a day out."""
    from engine import baselines, queries
    drivers = {name: {r["day"]: r for r in queries.driver_series(store, name, BASE_FIRST,
                                                                   REP_LAST)}
               for name in EXPORTED_DRIVERS}
    for equipment, source in SEUS:
        energy = queries.seu_series(store, equipment, source, BASE_FIRST, REP_LAST)
        with open(_file(out, equipment), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["day", "period", "energy", "temperature_c", *EXPORTED_DRIVERS[1:]])
            for row in energy:
                day = row["day"]
                ok = row["energy"] is not None and \
                    row["completeness"] >= baselines.ENERGY_COMPLETENESS_MIN
                t = drivers["outdoor_temp_c"][day]
                t_ok = t["value"] is not None and \
                    t["completeness"] >= baselines.MEAN_DRIVER_COMPLETENESS_MIN
                others = [drivers[n][day]["value"] for n in EXPORTED_DRIVERS[1:]]
                writer.writerow([day.isoformat(), "baseline" if day <= BASE_LAST else "reporting",
                                 repr(row["energy"]) if ok else "",
                                 repr(t["value"]) if t_ok else "",
                                 *["" if v is None else repr(v) for v in others]])


def ours(store, repeat: int) -> dict:
    """Both variants per SEU: model, fit and train times, daily expected energy 2025-01..10."""
    from engine import baselines, catalog
    _driver_specs = getattr(baselines, "driver_specs", None) or getattr(baselines, "_driver_specs")
    results = {}
    for equipment, source in SEUS:
        catalog_drivers = catalog.get_seu(store, equipment, source)["drivers"]
        variants = {"T only": TEMPERATURE_ONLY,
                    "T + production": sorted(set(catalog_drivers) | {"production_count"})}
        results[equipment] = {}
        for label, candidates in variants.items():
            catalog.set_seu_drivers(store, equipment, source, candidates)
            train_times = []
            for _ in range(repeat + 1):
                start = time.perf_counter()
                trained = baselines.train(store, equipment, source, BASE_FIRST, BASE_LAST)
                train_times.append(time.perf_counter() - start)
            specs = _driver_specs(store, candidates)
            frame = baselines.build_frame(store, equipment, source, BASE_FIRST, BASE_LAST, specs,
                                          "day", baselines._weather_driver(specs))
            fit_times = []
            for _ in range(max(repeat, 20) + 1):
                start = time.perf_counter()
                baselines._fit_candidates(frame, specs, "day", True)
                fit_times.append(time.perf_counter() - start)
            exp = baselines.expected(store, equipment, source, REP_FIRST, REP_LAST,
                                     version=trained["version"])
            spec = trained["spec"]
            results[equipment][label] = {
                "candidates": candidates, "model": trained["model"],
                "terms": trained["statistics"]["names"],
                "coefficients": trained["statistics"]["coefficients"],
                "intercept": trained["statistics"]["intercept"],
                "heating_balance_c": spec.get("heating_balance_c"),
                "cooling_balance_c": spec.get("cooling_balance_c"),
                "r2": trained["r2"], "cv_rmse_pct": trained["cv_rmse_pct"],
                "train_median_s": statistics.median(train_times[1:]),
                "fit_median_s": statistics.median(fit_times[1:]),
                "expected": {r["start"].isoformat(): r["expected"] for r in exp["rows"]},
                "actual": {r["start"].isoformat(): r["actual"] for r in exp["rows"]},
                "interval": (exp["lower"], exp["upper"]), "n_days": exp["intervals_used"]}
        catalog.set_seu_drivers(store, equipment, source, catalog_drivers)
    return results


def truth(out: str, ground_truth: dict) -> dict:
    """The generator's noise-free daily energy of each SEU (before its 2025 effects)."""
    result = {}
    for equipment, source in SEUS:
        model = ground_truth["models"][f"{equipment}/{source}"]
        days = {}
        with open(_file(out, equipment)) as handle:
            for row in csv.DictReader(handle):
                values = [row[name] for name in model["coefficients"]]
                if all(values):
                    days[row["day"]] = model["intercept"] + sum(
                        c * float(v) for c, v in zip(model["coefficients"].values(), values))
        result[equipment] = days
    return result


def _form_ours(v: dict) -> str:
    bp = []
    if v["heating_balance_c"] is not None:
        bp.append(f"heating {v['heating_balance_c']:g} C")
    if v["cooling_balance_c"] is not None:
        bp.append(f"cooling {v['cooling_balance_c']:g} C")
    terms = ", ".join(v["terms"])
    return f"{v['model']} ({terms})" + (f"; balance {', '.join(bp)}" if bp else "")


def _form_eemeter(m: dict) -> str:
    parts = []
    for s in m["submodels"]:
        bp = []
        if s["hdd_beta_per_k"]:
            bp.append(f"heating {s['hdd_bp_c']:.1f} C x {abs(s['hdd_beta_per_k']):.1f}/K")
        if s["cdd_beta_per_k"]:
            bp.append(f"cooling {s['cdd_bp_c']:.1f} C x {abs(s['cdd_beta_per_k']):.1f}/K")
        parts.append(f"{s['split']}: {s['model_type']}" + (f" ({', '.join(bp)})" if bp else ""))
    return "; ".join(parts)


def report(ours_results: dict, ee: dict, true_days: dict) -> None:
    print(f"eemeter {ee['eemeter']} (pandas {ee['pandas']}) vs ours. fit: median of the warm fits "
          "from data in memory (eemeter's first, cold fit includes numba compilation); train: "
          "ours end to end (rollups, fit, storing the version); slopes per K of degree days; "
          "vs truth: predicted / truth - 1; act-pred: actual / predicted - 1")
    for equipment, source in SEUS:
        o, e = ours_results[equipment], ee["seus"][equipment]["models"]
        # Compare on the days every model predicts.
        days = set(true_days[equipment])
        for v in o.values():
            days &= set(v["expected"])
        for m in e.values():
            days &= {d for d, p in m["predicted"].items() if p is not None}
        days = sorted(days)
        actual = sum(o["T only"]["actual"][d] for d in days)
        true_total = sum(true_days[equipment][d] for d in days)
        unit = "kWh" if source == "electricity" else "m3"
        print(f"\n{equipment} {source}: 2025-01..10 on {len(days)} common days; actual "
              f"{actual:,.0f} {unit}; generator's noise-free truth before effects "
              f"{true_total:,.0f} (actual/truth {100 * (actual / true_total - 1):+.2f} %)")
        print(f"  {'model':28s} {'fit':>9s} {'train':>8s} {'R2':>6s} {'CV(RMSE)':>8s} "
              f"{'predicted':>11s} {'vs truth':>8s} {'act-pred':>8s}  form")
        rows = []
        for label, v in o.items():
            rows.append((f"ours, {label}", v["fit_median_s"], v["train_median_s"], v["r2"],
                         v["cv_rmse_pct"], sum(v["expected"][d] for d in days), _form_ours(v)))
        for kind, m in e.items():
            rows.append((f"eemeter {kind}", m["fit_median_s"], None, m["r2"], m["cv_rmse_pct"],
                         sum(m["predicted"][d] for d in days), _form_eemeter(m)))
        for label, fit_s, train_s, r2, cv, total, form in rows:
            train = f"{1000 * train_s:6.1f}ms" if train_s is not None else f"{'-':>8s}"
            print(f"  {label:28s} {1000 * fit_s:7.1f}ms {train} {r2:6.3f} {cv:7.2f}% "
                  f"{total:11,.0f} {100 * (total / true_total - 1):+7.2f}% "
                  f"{100 * (actual / total - 1):+7.2f}%  {form}")
        print(f"  eemeter cold first fit: legacy {e['legacy']['fit_cold_s']:.2f} s, current "
              f"{e['current']['fit_cold_s']:.2f} s; eemeter data preparation "
              f"{1000 * ee['seus'][equipment]['data_s']:.0f} ms; disqualifications (ignored): "
              f"{', '.join(sorted({q for m in e.values() for q in m['disqualification']})) or 'none'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm fits timed per model")
    parser.add_argument("--out", help="directory for the CSV and JSON (default: a temp dir)")
    parser.add_argument("--db", help="a database holding the demo (default: build one)")
    parser.add_argument("--eemeter-python",
                        default=os.environ.get("EEMETER_PYTHON", DEFAULT_EEMETER_PYTHON))
    parser.add_argument("--eemeter-side", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.eemeter_side:
        eemeter_side(args.eemeter_side, args.repeat)
        return
    if not os.path.exists(args.eemeter_python):
        print(f"no eemeter interpreter at {args.eemeter_python}; create it with\n    {SETUP}\n"
              "or pass --eemeter-python", file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import drop_store, fresh_store, machine

    out = args.out or tempfile.mkdtemp(prefix="enms-eemeter-")
    os.makedirs(out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="enms-eemeter-db-")
    os.environ["ENMS_DATA_DIR"] = workdir       # the demo's ground truth file goes here
    from engine import Store
    from engine.demo import build_demo, ground_truth_path
    if args.db:
        store, own = Store(args.db), False
        ground_truth = json.loads(ground_truth_path(store).read_text())
    else:
        store, own = fresh_store("sqlite", workdir), True
        ground_truth = build_demo(store, seed=42)
    print(f"machine: {machine()}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}; load {os.getloadavg()[0]:.2f}; CSV in {out}")
    try:
        export(store, out)
        ours_results = ours(store, args.repeat)
    finally:
        if own:
            drop_store(store)
        shutil.rmtree(workdir, ignore_errors=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ["OPENBLAS_NUM_THREADS"]}
    subprocess.run([args.eemeter_python, os.path.abspath(__file__), "--eemeter-side", out,
                    "--repeat", str(args.repeat)], check=True, env=env)
    with open(os.path.join(out, "eemeter_results.json")) as handle:
        ee = json.load(handle)
    with open(os.path.join(out, "ours_results.json"), "w") as handle:
        json.dump(ours_results, handle, indent=1, default=str)
    report(ours_results, ee, truth(out, ground_truth))


if __name__ == "__main__":
    main()
