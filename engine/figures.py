"""The figures of an SEU and of the plant: the data each chart shows, read
through the engine's public functions, and the chart files written from it
(``engine.charts`` draws; this module decides what is drawn).

- actual vs expected by month: the stored-format period reports
  (``reports.run``), so the chart shows the reported numbers;
- actual vs expected by day: the baseline's per-day prediction intervals
  (``baselines.expected``);
- CUSUM: the running sum per interval and the tabular CUSUM per calendar week,
  judged as the reports judge it (a week counts once it has ended);
- energy vs driver: the baseline's training intervals as a partial-residual
  plot (component plus residual): energy with the other terms held at their
  training means, y_adj = E - sum over other terms k of b_k (x_k - mean x_k),
  against the driver, with the fitted line b0 + b_j x + sum b_k mean x_k. For
  a change-point model the heating and cooling terms are one temperature
  curve. Points scatter around the line exactly as the residuals do;
- completeness: the data-quality log's share of each day covered, per meter
  and driver of the SEU.
"""
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from . import baselines, catalog, changepoint, charts, cusum, quality, queries, reports

CUSUM_GROUP = reports.CUSUM_GROUP


def slug(text: str) -> str:
    """A file-name part: 'Boiler-1 natural_gas' -> 'boiler-1_natural_gas'."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text.lower())


# --- what the charts show ------------------------------------------------------------

def monthly(month_reports: list[dict]) -> dict:
    """Month labels and the reported actual, expected and interval per month."""
    return {key: [r[field] for r in month_reports] for key, field in
            (("labels", "period"), ("actual", "actual"), ("expected", "expected"),
             ("lower", "lower"), ("upper", "upper"))}


def daily(store, equipment: str, source: str, first: date, last: date,
          version: int | None = None) -> dict:
    """Per-day actual, expected and 95 % prediction interval (complete days only)."""
    e = baselines.expected(store, equipment, source, first, last, version, alpha=reports.ALPHA)
    rows = e["rows"]
    return {"labels": [r["start"] for r in rows], "unit": e["unit"],
            **{k: [r[k] for r in rows] for k in ("actual", "expected", "lower", "upper")}}


def _week_end(start: date) -> date:
    return start + timedelta(days=6 - start.weekday())


def cusum_series(store, equipment: str, source: str, last: date, version: int | None = None,
                 k: float = cusum.DEFAULT_K, h: float = cusum.DEFAULT_H) -> dict:
    """The running CUSUM from the day after the baseline period to ``last`` and
    the tabular CUSUM (reference value k, decision limit h [-]) of the weeks
    that have ended by then, on the weeks' standardised innovations, as the
    reports judge them."""
    baseline = baselines.get(store, equipment, source, version)
    start = baseline["period_end"] + timedelta(days=1)
    trend = baselines.expected(store, equipment, source, start, last, baseline["version"],
                               alpha=reports.ALPHA, groups=CUSUM_GROUP)
    rows = trend["rows"]
    groups = [g for g in trend["groups"][CUSUM_GROUP]
              if max(g["end"], _week_end(g["start"])) <= last]
    tab = cusum.tabular([g["z"] for g in groups], k=k, h=h)
    return {"days": [r["end"] for r in rows],
            "running": cusum.running([r["actual"] for r in rows], [r["expected"] for r in rows]),
            "group_starts": [g["start"] for g in groups], "group_ends": [g["end"] for g in groups],
            "upper": tab.upper, "lower": tab.lower, "h": tab.h, "k": tab.k,
            "alarms": list(tab.alarms), "unit": trend["unit"]}


def driver_relations(store, equipment: str, source: str, version: int | None = None) -> list[dict]:
    """Per driver (the temperature for a change-point model) the baseline's
    training intervals as partial residuals and the fitted line."""
    baseline = baselines.get(store, equipment, source, version)
    spec, stats = baseline["spec"], baseline["statistics"]
    frame = baselines.build_frame(store, equipment, source, baseline["period_start"],
                                  baseline["period_end"], spec["drivers"], spec["interval"],
                                  spec.get("temperature_driver"))
    X = baselines.model_terms(frame, spec)  # the model's own terms for these rows
    b0, b = stats["intercept"], np.array(stats["coefficients"], dtype=float)
    names, units = list(stats["names"]), list(stats["units"])
    means = X.mean(axis=0)
    y = frame.energy
    energy_label = f"energy [{spec['energy_unit']} per {spec['interval']}]"
    weather = [i for i, n in enumerate(names) if n in (changepoint.HDD, changepoint.CDD)]
    groups = [[i] for i in range(len(names)) if i not in weather]
    if weather and spec["kind"] != "linear":
        groups.insert(0, weather)
    out = []
    for group in groups:
        others = [k for k in range(len(names)) if k not in group]
        adjusted = y - (X[:, others] - means[others]) @ b[others]
        if group == weather and spec["kind"] != "linear":
            x = frame.temperature_c
            grid = np.linspace(np.nanmin(x), np.nanmax(x), 200)
            extras = [k for k in range(len(names)) if k not in weather]
            design = changepoint.model_design(spec["kind"], spec["heating_balance_c"],
                                              spec["cooling_balance_c"], names, grid,
                                              np.tile(means[extras], (grid.size, 1)))
            line = b0 + design @ b
            name, label = spec["temperature_driver"], f"{spec['temperature_driver']} [C, daily mean]"
        else:
            j = group[0]
            x = X[:, j]
            grid = np.linspace(np.nanmin(x), np.nanmax(x), 50)
            line = b0 + b[j] * grid + means[others] @ b[others]
            name, label = names[j], f"{names[j]} [{units[j]}]"
        out.append({"driver": name, "x": x, "y": adjusted, "line_x": grid, "line_y": line,
                    "x_label": label, "y_label": energy_label,
                    "note": "energy with the other terms at their baseline means"
                    if others else ""})
    return out


def completeness(store, inputs: list[dict], first: date, last: date) -> dict:
    """Days and, per meter or driver ({'kind', 'name'}), its logged share of each
    day (None for a day not in the data-quality log)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    shares = {}
    for item in inputs:
        logged = {r["day"]: r["completeness"]
                  for r in quality.log_days(store, item["name"], first, last, item["kind"])}
        shares[item["name"]] = [logged.get(d) for d in days]
    return {"days": days, "shares": shares}


def plant_consumption(store, first: date, last: date) -> list[dict]:
    """Metered energy of each SEU over [first, last] in its unit and in kWh, with
    the share of days metered (days without data count as missing, not zero)."""
    sources = {s["name"]: s for s in catalog.list_entries(store, "energy source")}
    out = []
    for seu in catalog.list_entries(store, "seu"):
        days = queries.seu_series(store, seu["equipment"], seu["source"], first, last)
        metered = [d["energy"] for d in days if d["energy"] is not None]
        energy = float(sum(metered)) if metered else None
        kwh = sources[seu["source"]]["kwh_per_unit"]
        out.append({"seu": seu["name"], "equipment": seu["equipment"], "source": seu["source"],
                    "unit": seu["unit"], "energy": energy,
                    "energy_kwh": None if energy is None else energy * kwh,
                    "days_metered": len(metered), "days": len(days)})
    return out


def consumption_by_source(consumption: list[dict]) -> dict:
    """kWh per energy source of ``plant_consumption`` rows; an SEU without data
    adds nothing, and a source none of whose SEUs has data is left out."""
    by_source = {}
    for c in consumption:
        if c["energy_kwh"] is not None:
            by_source[c["source"]] = by_source.get(c["source"], 0.0) + c["energy_kwh"]
    return by_source


def savings_to_date(month_reports: list[dict]) -> dict:
    """Months and the cumulative avoided energy (expected - actual) [MWh] to the
    end of each, per energy source and for the plant, from period reports."""
    months = sorted({r["period"] for r in month_reports})
    per_month = {}
    for r in month_reports:
        avoided_mwh = -r["deviation_kwh"] / 1000
        for key in (r["source"], "plant"):
            per_month.setdefault(key, dict.fromkeys(months, 0.0))[r["period"]] += avoided_mwh
    return {"months": months,
            "series": {k: np.cumsum([v[m] for m in months]).tolist()
                       for k, v in per_month.items()}}


# --- the chart files (PNG or SVG by ``suffix``) ----------------------------------------

def by_source_chart(consumption: list[dict], first: date, last: date, path) -> Path:
    """The plant's consumption by energy source [kWh], largest first."""
    by_source = consumption_by_source(consumption)
    labels = sorted(by_source, key=lambda k: -by_source[k])
    return charts.save(charts.shares_chart(
        labels, [by_source[k] for k in labels], "kWh",
        f"Consumption by energy source, {first} to {last}"), path)


def by_seu_chart(consumption: list[dict], first: date, last: date, path) -> Path:
    """The plant's consumption by SEU [kWh], largest first (SEUs without data last)."""
    ranked = sorted(consumption, key=lambda c: -c["energy_kwh"] if c["energy_kwh"] is not None
                    else np.inf)
    return charts.save(charts.shares_chart(
        [c["seu"] for c in ranked], [c["energy_kwh"] for c in ranked], "kWh",
        f"Consumption by SEU, {first} to {last}"), path)


def savings_to_date_chart(month_reports: list[dict], title: str, path) -> Path:
    """Cumulative avoided energy by month, per energy source and for the plant."""
    s = savings_to_date(month_reports)
    return charts.save(charts.savings_chart(s["months"], s["series"], "MWh", title), path)


def _file(out_dir, report: dict, name: str, suffix: str) -> Path:
    return Path(out_dir) / f"{slug(report['seu'])}_{name}{suffix}"


def monthly_chart(month_reports: list[dict], out_dir, suffix: str = ".png") -> Path:
    """Actual vs expected by month of an SEU's period reports (oldest first)."""
    last, m = month_reports[-1], monthly(month_reports)
    return charts.save(charts.actual_vs_expected(
        m["labels"], m["actual"], m["expected"], m["lower"], m["upper"], last["unit"],
        f"{last['seu']}: actual vs expected by month"), _file(out_dir, last, "monthly", suffix))


def daily_chart(store, report: dict, out_dir, suffix: str = ".png") -> Path:
    """Actual vs expected by day of one report's period."""
    d = daily(store, report["equipment"], report["source"], report["first"], report["last"],
              report["baseline_version"])
    return charts.save(charts.actual_vs_expected(
        d["labels"], d["actual"], d["expected"], d["lower"], d["upper"], report["unit"],
        f"{report['seu']}: actual vs expected by day, {report['period']}"),
        _file(out_dir, report, f"daily_{slug(report['period'])}", suffix))


def cusum_file(store, report: dict, out_dir, suffix: str = ".png") -> Path:
    """The CUSUM from the end of the baseline period to the end of the report."""
    c = cusum_series(store, report["equipment"], report["source"], report["last"],
                     report["baseline_version"], report["cusum"]["k"], report["cusum"]["h"])
    return charts.save(charts.cusum_chart(
        c["days"], c["running"], c["group_ends"], c["upper"], c["lower"], c["h"], c["alarms"],
        report["unit"], f"{report['seu']}: CUSUM since {c['days'][0]:%Y-%m-%d}"),
        _file(out_dir, report, f"cusum_{slug(report['period'])}", suffix))


def driver_charts(store, equipment: str, source: str, version: int, out_dir,
                  suffix: str = ".png") -> dict:
    """Energy against each driver of a baseline version: {driver: path}."""
    seu = catalog.seu_name(equipment, source)
    return {rel["driver"]: charts.save(charts.energy_vs_driver(
        rel["x"], rel["y"], rel["line_x"], rel["line_y"], rel["x_label"], rel["y_label"],
        f"{seu}: energy vs {rel['driver']} (baseline {version})", rel["note"]),
        Path(out_dir) / f"{slug(seu)}_vs_{slug(rel['driver'])}{suffix}")
        for rel in driver_relations(store, equipment, source, version)}


def drivers_chart(store, equipment: str, source: str, version: int | None, out_dir,
                  suffix: str = ".png") -> Path:
    """Energy against every driver of a baseline version (default: the active
    one), one panel each, in one figure."""
    seu = catalog.seu_name(equipment, source)
    version = baselines.get(store, equipment, source, version)["version"]
    return charts.save(charts.energy_vs_drivers(
        driver_relations(store, equipment, source, version),
        f"{seu}: energy vs its drivers (baseline {version})"),
        Path(out_dir) / f"{slug(seu)}_vs_drivers{suffix}")


def completeness_chart(store, month_reports: list[dict], out_dir, suffix: str = ".png") -> Path:
    """Daily completeness of an SEU's meters and drivers over its reports' span."""
    last = month_reports[-1]
    q = completeness(store, last["data_quality"]["inputs"], month_reports[0]["first"],
                     last["last"])
    return charts.save(charts.completeness_chart(
        q["days"], q["shares"], f"{last['seu']}: data completeness by day",
        baselines.ENERGY_COMPLETENESS_MIN), _file(out_dir, last, "completeness", suffix))
