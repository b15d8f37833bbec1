"""Period reports of an SEU: what a plant manager reads every month and an
auditor samples (ISO 50001 6.6, ISO 50006).

A report holds actual and expected energy (native unit and kWh) with the 95 %
prediction interval, the deviation and whether it is significant, the CUSUM
to date in energy units with its tabular alarms, EnPIs (energy per unit of
each counted driver, SEnPI = actual / expected as in the DOE EnPI tool, and
energy per unit of what the equipment's other meters measure, such as kWh per
Nm3 of compressed air), the drivers' period values, the product mix, the
completeness of the period and the baseline version used.

Reports are stored: one current report per SEU and period. Regenerating with
the same baseline version replaces it; after a baseline adjustment the old
report is kept, marked superseded, so what was reported stays on record.
"""
import getpass
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from . import baselines, catalog, cusum, queries, schema as s
from .errors import EnmsError, NotFound
from .periods import label, parse_period

CUSUM_GROUP = "week"


def _reporting_start(baseline: dict) -> date:
    """CUSUM runs from the day after the baseline period."""
    return baseline["period_end"] + timedelta(days=1)


def _driver_values(store, specs: list[dict], first: date, last: date) -> dict:
    """Each driver's value over the period by its own roll-up rule; None if any day is missing."""
    out = {}
    for spec in specs:
        series = queries.driver_series(store, spec["name"], first, last)
        values = [r["value"] for r in series]
        if any(v is None for v in values):
            out[spec["name"]] = None
            continue
        rule = spec["rollup"]
        out[spec["name"]] = float({"sum": np.sum, "mean": np.mean, "min": np.min,
                                   "max": np.max}[rule](values))
    return out


def _output_indicators(store, seu: dict, energy: float, first: date, last: date) -> list[dict]:
    """Energy per unit of what the equipment's other meters measure (kWh per Nm3 of air)."""
    out = []
    for meter in catalog.list_entries(store, "meter"):
        if meter["equipment"] != seu["equipment"] or meter["source"] == seu["source"]:
            continue
        days = queries.meter_series(store, meter["name"], first, last)
        if any(d["energy"] is None for d in days):
            continue
        produced = sum(d["energy"] for d in days)
        unit = catalog.get_energy_source(store, meter["source"])["unit"]
        if produced > 0:
            out.append({"name": f"{seu['unit']} per {unit} {meter['source']}",
                        "value": energy / produced, "output": produced, "output_unit": unit,
                        "meter": meter["name"]})
    return out


def _product_mix(specs, values: dict, baseline_values: dict, statistics: dict) -> dict | None:
    """Product shares now and in the baseline period, and the mix factor: the
    energy intensity of today's mix over that of the baseline mix (1 = same mix;
    above 1 = a heavier mix, which a single production count would misread as
    lost efficiency). Intensities are the model's per-product coefficients."""
    products = [sp["name"] for sp in specs if sp.get("product")]
    if len(products) < 2 or any(values.get(p) is None or baseline_values.get(p) is None
                                for p in products):
        return None
    now = np.array([values[p] for p in products])
    then = np.array([baseline_values[p] for p in products])
    if now.sum() <= 0 or then.sum() <= 0:
        return None
    mix = {"shares": dict(zip(products, (now / now.sum()).tolist())),
           "baseline_shares": dict(zip(products, (then / then.sum()).tolist()))}
    coefficients = dict(zip(statistics["names"], statistics["coefficients"]))
    if all(p in coefficients for p in products):
        intensity = np.array([coefficients[p] for p in products])
        mix["factor"] = float((now / now.sum()) @ intensity / ((then / then.sum()) @ intensity))
    return mix


def build(store, equipment: str, source: str, first: date, last: date,
          version: int | None = None) -> dict:
    """The report of one SEU over [first, last] (not stored; see ``generate``)."""
    seu = catalog.get_seu(store, equipment, source)
    src = catalog.get_energy_source(store, source)
    baseline = baselines.get(store, equipment, source, version)
    if first <= baseline["period_end"]:
        raise EnmsError(f"{seu['name']} {label(first, last)}: the period overlaps the baseline "
                        f"period ({baseline['period']}); report on later periods")
    result = baselines.expected(store, equipment, source, first, last, baseline["version"])
    kwh = src["kwh_per_unit"]
    start = _reporting_start(baseline)
    trend = baselines.expected(store, equipment, source, start, last, baseline["version"],
                               groups=CUSUM_GROUP)
    daily_cusum = cusum.running([r["actual"] for r in trend["rows"]],
                                [r["expected"] for r in trend["rows"]])
    z = [(g["actual"] - g["expected"]) / g["sd"] for g in trend["groups"]]
    tab = cusum.tabular(z)
    monthly = defaultdict(float)
    for row, value in zip(trend["rows"], daily_cusum):
        monthly[f"{row['start']:%Y-%m}"] = float(value)
    specs = baselines.driver_specs(store, seu["drivers"])
    values = _driver_values(store, specs, first, last)
    energy = result["actual"]
    enpi = [{"name": f"{seu['unit']} per {sp['unit']} {sp['name']}",
             "value": energy / values[sp["name"]]}
            for sp in specs if sp["kind"] == "measured" and sp["rollup"] == "sum"
            and values.get(sp["name"])]
    baseline_values = _driver_values(store, specs, baseline["period_start"],
                                     baseline["period_end"])
    return {
        "seu": seu["name"], "equipment": equipment, "source": source,
        "period": label(first, last), "first": first, "last": last,
        "baseline_version": baseline["version"], "baseline_period": baseline["period"],
        "baseline_model": baseline["formula"],
        "unit": seu["unit"], "kwh_per_unit": kwh,
        "actual": energy, "expected": result["expected"],
        "lower": result["lower"], "upper": result["upper"],
        "actual_kwh": energy * kwh, "expected_kwh": result["expected"] * kwh,
        "deviation": result["deviation"], "deviation_pct": result["deviation_pct"],
        "deviation_kwh": result["deviation"] * kwh,
        "significant": result["significant"], "confidence": result["confidence"],
        "senpi": energy / result["expected"] if result["expected"] else None,
        "enpi": enpi, "output_indicators": _output_indicators(store, seu, energy, first, last),
        "drivers": values, "product_mix": _product_mix(specs, values, baseline_values,
                                                       baseline["statistics"]),
        "completeness": result["intervals_used"] / result["intervals_total"],
        "intervals_used": result["intervals_used"], "intervals_total": result["intervals_total"],
        "excluded": result["excluded"],
        "cusum": {
            "since": start, "to_date": float(daily_cusum[-1]) if len(daily_cusum) else 0.0,
            "by_month": dict(monthly), "k": tab.k, "h": tab.h, "group": CUSUM_GROUP,
            "alarms": [{"week_of": trend["groups"][i]["start"], "direction": d}
                       for i, d in tab.alarms],
            "alarm_in_period": any(first <= trend["groups"][i]["end"] and
                                   trend["groups"][i]["start"] <= last for i, _ in tab.alarms),
        },
        "warnings": baseline["warnings"],
    }


# --- storing -------------------------------------------------------------------

def _json(value):
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def generate(store, equipment: str, source: str, first: date, last: date,
             generated_by: str | None = None) -> dict:
    """Build a report and store it as the current one for its SEU and period."""
    report = build(store, equipment, source, first, last)
    period = label(first, last)
    now = datetime.now(timezone.utc)
    with store.begin() as conn:
        seu_id = catalog.seu_row(conn, equipment, source)["id"]
        current = conn.execute(sa.select(s.reports).where(
            s.reports.c.seu_id == seu_id, s.reports.c.period == period,
            s.reports.c.status == "current")).mappings().first()
        values = {"content": _json(report), "generated_at": now,
                  "generated_by": generated_by or getpass.getuser(),
                  "baseline_version": report["baseline_version"],
                  "significant": report["significant"], "deviation_pct": report["deviation_pct"]}
        if current is not None and current["baseline_version"] == report["baseline_version"]:
            conn.execute(s.reports.update().where(s.reports.c.id == current["id"]).values(**values))
        else:
            if current is not None:  # what was reported under the old baseline stays
                conn.execute(s.reports.update().where(s.reports.c.id == current["id"])
                             .values(status="superseded"))
            conn.execute(s.reports.insert().values(seu_id=seu_id, period=period, first=first,
                                                   last=last, status="current", **values))
    return report


def generate_all(store, year: int, months: tuple[int, int] = (1, 12),
                 generated_by: str | None = None) -> list[dict]:
    """Every SEU with an active baseline x every month of the range."""
    out = []
    for seu in catalog.list_entries(store, "seu"):
        try:
            baselines.get(store, seu["equipment"], seu["source"])
        except NotFound:
            continue
        for month in range(months[0], months[1] + 1):
            first, last = parse_period(f"{year}-{month:02d}")
            out.append(generate(store, seu["equipment"], seu["source"], first, last,
                                generated_by))
    return out


def stored(store, equipment: str, source: str, period: str | None = None,
           include_superseded: bool = False) -> list[dict]:
    """Stored reports of an SEU (one period, or all), newest first."""
    with store.read() as conn:
        seu_id = catalog.seu_row(conn, equipment, source)["id"]
        query = sa.select(s.reports).where(s.reports.c.seu_id == seu_id)
        if period is not None:
            query = query.where(s.reports.c.period == period)
        if not include_superseded:
            query = query.where(s.reports.c.status == "current")
        rows = conn.execute(query.order_by(s.reports.c.first.desc(),
                                           s.reports.c.generated_at.desc())).mappings().all()
    return [{**row["content"], "status": row["status"], "generated_at": row["generated_at"],
             "generated_by": row["generated_by"]} for row in rows]
