"""Period reports of an SEU: what a plant manager reads every month and an
auditor samples (ISO 50001 6.6, ISO 50006).

A report holds actual and expected energy (native unit and kWh) with the 95 %
prediction interval, the deviation and whether it is significant, the CUSUM
to date in energy units with its tabular alarms, EnPIs (energy per unit of
each counted driver, SEnPI = actual / expected as in the DOE EnPI tool, and
energy per unit of what the equipment's other meters measure, such as kWh per
Nm3 of compressed air), the drivers' period values, the product mix, the
completeness of the period, the data-quality score of the SEU's meters and
drivers over the period (from the data-quality log), the measured and the
estimated energy with the rule that filled each gap (``engine.estimates``;
the comparison with the baseline uses fully metered days only), and the
baseline version used.

Reports are stored: one current report per SEU and period. Regenerating with
the same baseline version replaces it; after a baseline adjustment the old
report is kept, marked superseded, so what was reported stays on record.

``build`` computes one report; ``run`` (and ``generate_all``) every SEU x month
of a range, reading each SEU's data once: one expected-energy computation per
SEU from the reporting start, grouped by week (the CUSUM) and by month (the
monthly totals and their intervals), one read per driver, output meter and
data-quality log, sliced per month. The sliced figures equal those of ``build`` month by
month (tests/test_reports.py checks it).
"""
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from . import audit, baselines, catalog, cusum, estimates, quality, queries, schema as s
from .errors import EnmsError, NotFound
from .periods import label, parse_period

CUSUM_GROUP = "week"
ALPHA = 0.05  # the reports' prediction interval: 95 %
# Model intervals whose calendar-month totals a computation over a longer range
# yields exactly (a week-interval model's partial weeks differ per month).
SLICEABLE_INTERVALS = ("day", "month")
QUALITY_RULE = ("lowest of the period scores of the SEU's meters and drivers; a period score "
                "is the day scores weighted by day length (docs/methods.md, section 9)")


def _reporting_start(baseline: dict) -> date:
    """CUSUM runs from the day after the baseline period."""
    return baseline["period_end"] + timedelta(days=1)


# --- reading once, slicing per period ------------------------------------------------

class _Reader:
    """Daily series and data-quality log rows, read once over [first, last] and
    sliced per period. A slice holds the same rows as a direct read of the
    period; periods outside the span are read directly."""

    def __init__(self, store, first: date, last: date):
        self.store, self.first, self.last = store, first, last
        self._drivers, self._meters, self._logs, self._sources = {}, {}, {}, {}
        self._meter_list = None

    def _covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last

    def _slice(self, series: list[dict], first: date, last: date) -> list[dict]:
        return series[(first - self.first).days:(last - self.first).days + 1]

    def drivers_days(self, names: list[str], first: date, last: date) -> dict:
        """Daily rows of drivers over [first, last], {name: rows}; those not read
        yet are read in one query."""
        span = (self.first, self.last) if self._covers(first, last) else (first, last)
        todo = [n for n in names if (n, *span) not in self._drivers]
        if todo:  # outside the span: e.g. the baseline period, shared by many SEUs
            for name, rows in queries.drivers_series(self.store, todo, *span).items():
                self._drivers[(name, *span)] = rows
        cut = self._covers(first, last)
        return {n: self._slice(self._drivers[(n, *span)], first, last) if cut
                else self._drivers[(n, *span)] for n in names}

    def meter_days(self, name: str, first: date, last: date) -> list[dict]:
        if not self._covers(first, last):
            return queries.meter_series(self.store, name, first, last)
        if name not in self._meters:
            self._meters[name] = queries.meter_series(self.store, name, self.first, self.last)
        return self._slice(self._meters[name], first, last)

    def meters(self) -> list[dict]:
        if self._meter_list is None:
            self._meter_list = catalog.list_entries(self.store, "meter")
        return self._meter_list

    def source(self, name: str) -> dict:
        if name not in self._sources:
            self._sources[name] = catalog.get_energy_source(self.store, name)
        return self._sources[name]

    def prefetch_quality(self, inputs) -> None:
        """Read the log rows of many meters and drivers over the span, one query per
        kind; an entry whose log lacks days is left to ``quality`` (which scans)."""
        todo = sorted({key for key in inputs if key not in self._logs})
        if not todo:
            return
        wanted = (self.last - self.first).days + 1
        with self.store.read() as conn:
            found = {(kind, name): rows for kind in ("meter", "driver")
                     for name, rows in queries.quality_logs(
                         conn, kind, [n for k, n in todo if k == kind], self.first,
                         self.last).items()}
        for key in todo:
            rows = found.get(key, [])
            if len(rows) == wanted:
                self._logs[key] = (rows, [r["day"] for r in rows])

    def quality(self, kind: str, name: str, first: date, last: date) -> dict:
        """The period score of a meter or driver, as ``quality.period_score`` gives it."""
        if not self._covers(first, last):
            return quality.period_score(self.store, name, first, last, kind=kind)
        key = (kind, name)
        if key not in self._logs:
            wanted = (self.last - self.first).days + 1
            rows = quality.log_days(self.store, name, self.first, self.last, kind)
            if len(rows) < wanted:  # scan the days not logged yet, once for the span
                quality.period_score(self.store, name, self.first, self.last, kind=kind)
                rows = quality.log_days(self.store, name, self.first, self.last, kind)
            self._logs[key] = (rows, [r["day"] for r in rows])
        rows, days = self._logs[key]
        rows = rows[bisect_left(days, first):bisect_right(days, last)]
        return quality.summarise_log(kind, name, rows, first, last)


# --- what one SEU's reports share ------------------------------------------------------

@dataclass
class _Seu:
    seu: dict
    source: dict
    baseline: dict
    specs: list
    baseline_values: dict
    inputs: list = field(default_factory=list)  # (kind, name) scored for data quality

    @property
    def start(self) -> date:
        return _reporting_start(self.baseline)


def _seu(store, reader: _Reader, equipment: str, source: str, version: int | None = None,
         seu: dict | None = None, baseline: dict | None = None,
         specs: list[dict] | None = None) -> _Seu:
    """What an SEU's reports share; seu, baseline (``baselines.get``) and specs
    (``baselines.driver_specs`` of its drivers) when the caller has them."""
    seu = seu or catalog.get_seu(store, equipment, source)
    baseline = baseline or baselines.get(store, equipment, source, version)
    specs = baselines.driver_specs(store, seu["drivers"]) if specs is None else specs
    # Only the product mix compares with the baseline period's values.
    baseline_values = _driver_values(reader, _products(specs), baseline["period_start"],
                                     baseline["period_end"])
    model = baseline["spec"]
    drivers = list(seu["drivers"])
    for name in [d["name"] for d in model["drivers"]] + [model.get("temperature_driver")]:
        if name and name not in drivers:
            drivers.append(name)
    inputs = [("meter", m) for m in seu["meters"]] + [("driver", d) for d in drivers]
    return _Seu(seu, reader.source(source), baseline, specs, baseline_values, inputs)


def _check_after_baseline(ctx: _Seu, first: date, last: date) -> None:
    if first <= ctx.baseline["period_end"]:
        raise EnmsError(f"{ctx.seu['name']} {label(first, last)}: the period overlaps the "
                        f"baseline period ({ctx.baseline['period']}); report on later periods",
                        code="period_in_baseline",
                        params={"seu": ctx.seu["name"], "baseline_period": ctx.baseline["period"],
                                "baseline_end": ctx.baseline["period_end"]})


def _driver_values(reader: _Reader, specs: list[dict], first: date, last: date) -> dict:
    """Each driver's value over the period by its own roll-up rule; None if any day is missing."""
    out = {}
    series = reader.drivers_days([spec["name"] for spec in specs], first, last)
    for spec in specs:
        values = [r["value"] for r in series[spec["name"]]]
        if any(v is None for v in values):
            out[spec["name"]] = None
            continue
        rule = spec["rollup"]
        out[spec["name"]] = float({"sum": np.sum, "mean": np.mean, "min": np.min,
                                   "max": np.max}[rule](values))
    return out


def _output_indicators(reader: _Reader, seu: dict, energy: float, first: date,
                       last: date) -> list[dict]:
    """Energy per unit of what the equipment's other meters measure (kWh per Nm3 of air)."""
    out = []
    for meter in reader.meters():
        if meter["equipment"] != seu["equipment"] or meter["source"] == seu["source"]:
            continue
        days = reader.meter_days(meter["name"], first, last)
        if any(d["energy"] is None for d in days):
            continue
        produced = sum(d["energy"] for d in days)
        unit = reader.source(meter["source"])["unit"]
        if produced > 0:
            out.append({"name": f"{seu['unit']} per {unit} {meter['source']}",
                        "value": energy / produced, "output": produced, "output_unit": unit,
                        "meter": meter["name"]})
    return out


def _products(specs: list[dict]) -> list[dict]:
    """The per-product drivers of a product mix: two or more, else none."""
    products = [sp for sp in specs if sp.get("product")]
    return products if len(products) > 1 else []


def _product_mix(specs, values: dict, baseline_values: dict, statistics: dict) -> dict | None:
    """Product shares now and in the baseline period, and the mix factor: the
    energy intensity of today's mix over that of the baseline mix (1 = same mix;
    above 1 = a heavier mix, which a single production count would misread as
    lost efficiency). Intensities are the model's per-product coefficients."""
    products = [sp["name"] for sp in _products(specs)]
    if not products or any(values.get(p) is None or baseline_values.get(p) is None
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


def _group_end(start: date, group: str) -> date:
    """Last calendar day of the week (Monday to Sunday) or month that starts a group."""
    if group == "week":
        return start - timedelta(days=start.weekday()) + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


class _Trend:
    """The CUSUM of one SEU from the reporting start, computed once over a range
    and cut at any later day: a prefix of the running sum and of the tabular
    CUSUM is the same as computing them on the shorter range (both run forward)."""

    def __init__(self, trend: dict, start: date, k: float, h: float):
        self.start = start
        self.rows = trend["rows"]
        self.row_ends = [r["end"] for r in self.rows]
        self.running = cusum.running([r["actual"] for r in self.rows],
                                     [r["expected"] for r in self.rows])
        self.groups = trend["groups"][CUSUM_GROUP]
        # A group counts once its last row and its calendar week (month) have ended.
        self.group_ends = [max(g["end"], _group_end(g["start"], CUSUM_GROUP))
                           for g in self.groups]
        # Innovations: each week's residual standardised given the earlier weeks,
        # so the shared error of the baseline's coefficients does not accumulate.
        self.tabular = cusum.tabular([g["z"] for g in self.groups], k=k, h=h)
        # Index of the last row of each calendar month, for the monthly CUSUM values.
        last_of = {}
        for i, row in enumerate(self.rows):
            last_of[row["start"].year, row["start"].month] = i
        self.month_last = {f"{year:04d}-{month:02d}": i for (year, month), i in last_of.items()}

    def at(self, first: date, last: date) -> dict:
        """The CUSUM of a report on [first, last].

        The running sum takes every interval that has ended by ``last``. The
        tabular CUSUM takes the weeks that have ended by ``last``: a week the
        period cuts short is judged in the next report, once complete, so an
        alarm never depends on the day a report was made.
        """
        n_rows = bisect_right(self.row_ends, last)
        n_groups = bisect_right(self.group_ends, last)
        groups = self.groups[:n_groups]
        alarms = [(i, d) for i, d in self.tabular.alarms if i < n_groups]
        monthly = {}
        if n_rows:
            current = f"{self.rows[n_rows - 1]['start']:%Y-%m}"
            monthly = {month: float(self.running[min(i, n_rows - 1)])
                       for month, i in self.month_last.items() if month <= current}
        return {
            "since": self.start, "to_date": float(self.running[n_rows - 1]) if n_rows else 0.0,
            "by_month": monthly, "k": self.tabular.k, "h": self.tabular.h,
            "group": CUSUM_GROUP, "groups_judged": n_groups,
            "judged_to": groups[-1]["end"] if groups else None,
            "alarms": [{"week_of": groups[i]["start"], "direction": d} for i, d in alarms],
            "alarm_in_period": any(first <= groups[i]["end"] and groups[i]["start"] <= last
                                   for i, _ in alarms),
        }


def _data_quality(reader: _Reader, inputs: list, first: date, last: date) -> dict:
    """Scores and completeness of the SEU's meters and drivers over the period."""
    scored = [reader.quality(kind, name, first, last) for kind, name in inputs]
    scores = [q["score"] for q in scored if q["score"] is not None]
    shares = [q["completeness"] for q in scored if q["completeness"] is not None]
    findings = sorted(({"name": q["name"], "input": q["kind"], "kind": f["kind"],
                        "severity": f["severity"], "from": f["start_local"],
                        "to": f["end_local"], "message": f["message"]}
                       for q in scored for f in q["findings"]), key=lambda f: f["from"])
    return {
        "score": min(scores) if scores else None,
        "completeness": min(shares) if shares else None,
        "rule": QUALITY_RULE, "method": scored[0]["method"] if scored else quality.METHOD,
        "inputs": [{"kind": q["kind"], "name": q["name"], "score": q["score"],
                    "completeness": q["completeness"], "days": q["days"],
                    "days_logged": q["days_logged"], "findings": len(q["findings"])}
                   for q in scored],
        "findings": findings,
    }


def _compose(reader: _Reader, ctx: _Seu, result: dict, trend: _Trend, first: date,
             last: date) -> dict:
    """The report from the period's expected energy and the CUSUM trend."""
    seu, baseline = ctx.seu, ctx.baseline
    kwh = ctx.source["kwh_per_unit"]
    values = _driver_values(reader, ctx.specs, first, last)
    energy = result["actual"]
    filled = estimates.fill(reader.store, seu, {m: reader.meter_days(m, first, last)
                                                for m in seu["meters"]}, first, last,
                            baseline["version"])
    quality_of_period = _data_quality(reader, ctx.inputs, first, last)
    quality_of_period["estimated_days"] = [
        {"from": r["from"], "to": r["to"], "rule": r["rule"]} for r in filled["rows"]]
    enpi = [{"name": f"{seu['unit']} per {sp['unit']} {sp['name']}",
             "value": energy / values[sp["name"]]}
            for sp in ctx.specs if sp["kind"] == "measured" and sp["rollup"] == "sum"
            and values.get(sp["name"])]
    return {
        "seu": seu["name"], "equipment": seu["equipment"], "source": seu["source"],
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
        "enpi": enpi, "output_indicators": _output_indicators(reader, seu, energy, first, last),
        "drivers": values, "product_mix": _product_mix(ctx.specs, values, ctx.baseline_values,
                                                       baseline["statistics"]),
        "interval": baseline["interval"],
        "completeness": result["intervals_used"] / result["intervals_total"],
        "intervals_used": result["intervals_used"], "intervals_total": result["intervals_total"],
        "excluded": result["excluded"],
        "data_quality": quality_of_period,
        "estimates": filled,
        "cusum": trend.at(first, last),
        "warnings": baseline["warnings"],
    }


def build(store, equipment: str, source: str, first: date, last: date,
          version: int | None = None, k: float = cusum.DEFAULT_K,
          h: float = cusum.DEFAULT_H) -> dict:
    """The report of one SEU over [first, last] (not stored; see ``generate``).

    k, h: reference value and decision interval of the tabular CUSUM [-].
    """
    reader = _Reader(store, first, last)
    ctx = _seu(store, reader, equipment, source, version)
    _check_after_baseline(ctx, first, last)
    # The period and the CUSUM since the baseline from one read of the days.
    days = baselines.read_days(store, equipment, source, ctx.start, last,
                               baseline=ctx.baseline, seu=ctx.seu)
    v = ctx.baseline["version"]
    result = baselines.expected(store, equipment, source, first, last, v, alpha=ALPHA,
                                days=days)
    trend = baselines.expected(store, equipment, source, ctx.start, last, v, alpha=ALPHA,
                               groups=CUSUM_GROUP, days=days)
    reader.prefetch_quality(ctx.inputs)
    return _compose(reader, ctx, result, _Trend(trend, ctx.start, k, h), first, last)


# --- many months at once ------------------------------------------------------------------

def _month_result(months: dict, group: dict, first: date, last: date, interval: str) -> dict:
    """One month's figures from a monthly-grouped computation over a longer range:
    the same rows, so the same totals and prediction interval as computing the
    month alone."""
    expected, actual = group["expected"], group["actual"]
    lower, upper = group["lower"], group["upper"]
    deviation = actual - expected
    return {"expected": expected, "lower": lower, "upper": upper, "actual": actual,
            "deviation": deviation,
            "deviation_pct": 100 * deviation / expected if expected else None,
            "significant": not (lower <= actual <= upper), "confidence": months["confidence"],
            "intervals_used": group["intervals"],
            "intervals_total": (last - first).days + 1 if interval == "day" else 1,
            "excluded": [x for x in months["excluded"] if first <= x["interval"] <= last]}


def _seu_months(store, ctx: _Seu, periods: list, out: list, skipped: list, k: float,
                h: float, days=None) -> list:
    """The expected energy of one SEU for every month of ``periods``, computed once
    over the range. Returns (first, last, figures, trend) per month to compose;
    months that cannot be reported go to ``skipped``. A model whose intervals a
    month cuts (weeks) is reported month by month with ``build`` into ``out``.
    days: the SEU's days from the reporting start to the last period's end
    (``baselines.read_many``), or the error reading them raised."""
    equipment, source = ctx.seu["equipment"], ctx.seu["source"]

    def skip(first, last, why):
        skipped.append({"seu": ctx.seu["name"], "period": label(first, last), "reason": why})

    todo = []
    for first, last in periods:
        if first <= ctx.baseline["period_end"]:
            skip(first, last, f"overlaps the baseline period ({ctx.baseline['period']})")
        else:
            todo.append((first, last))
    if not todo:
        return []
    interval, v = ctx.baseline["interval"], ctx.baseline["version"]
    if interval not in SLICEABLE_INTERVALS:
        for first, last in todo:
            try:
                out.append(build(store, equipment, source, first, last, v, k, h))
            except EnmsError as exc:
                skip(first, last, str(exc))
        return []
    try:  # one computation from the reporting start: weeks for the CUSUM, months to report
        if isinstance(days, EnmsError):
            raise days
        computed = baselines.expected(store, equipment, source, ctx.start, todo[-1][1], v,
                                      alpha=ALPHA, groups=(CUSUM_GROUP, "month"), days=days)
    except EnmsError as exc:
        for first, last in todo:
            skip(first, last, str(exc))
        return []
    trend = _Trend(computed, ctx.start, k, h)
    by_month = {g["start"].replace(day=1): g for g in computed["groups"]["month"]}
    jobs = []
    for first, last in todo:
        group = by_month.get(first)
        if group is None:
            skip(first, last, f"no {interval} with complete energy and driver data")
            continue
        jobs.append((first, last, _month_result(computed, group, first, last, interval), trend))
    return jobs


def run(store, year: int, months: tuple[int, int] = (1, 12), generated_by: str | None = None,
        seus: list[tuple[str, str]] | None = None, save: bool = True,
        k: float = cusum.DEFAULT_K, h: float = cusum.DEFAULT_H) -> dict:
    """Every SEU (or the given (equipment, source) pairs) x every month of the
    range: built, stored in one transaction, and returned.

    Returns {"reports": [...], "skipped": [{"seu", "period", "reason"}]}: SEUs
    without an active baseline, months in the baseline period and months
    without complete data are listed as skipped, not left out silently.
    """
    periods = [parse_period(f"{year}-{m:02d}") for m in range(months[0], months[1] + 1)]
    if not periods:
        return {"reports": [], "skipped": []}
    entries = catalog.list_entries(store, "seu")
    if seus is not None:
        wanted = set(seus)
        entries = [e for e in entries if (e["equipment"], e["source"]) in wanted]
        missing = wanted - {(e["equipment"], e["source"]) for e in entries}
        if missing:
            equipment, source = sorted(missing)[0]
            catalog.get_seu(store, equipment, source)  # raises NotFound with the known SEUs
    reader = _Reader(store, periods[0][0], periods[-1][1])
    out, skipped, contexts = [], [], []
    # The catalog facts of every SEU's drivers and every active baseline, read once.
    active = baselines.active(store)
    known = {d["name"]: d for d in baselines.driver_specs(
        store, sorted({name for seu in entries for name in seu["drivers"]}))}
    for seu in entries:
        key = (seu["equipment"], seu["source"])
        try:
            # An SEU without an active baseline: ``get`` raises what to say.
            baseline = active.get(key) or baselines.get(store, *key)
            contexts.append(_seu(store, reader, *key, seu=seu, baseline=baseline,
                                 specs=[known[name] for name in seu["drivers"]]))
        except NotFound as exc:  # no active baseline
            skipped += [{"seu": seu["name"], "period": label(*p), "reason": str(exc)}
                        for p in periods]
    # Expected energy first: computing it may scan days missing from the
    # data-quality log, which the reports then read.
    # The days of the SEUs whose months are sliced from one computation (day and
    # month models), from each reporting start: each series read once.
    last = periods[-1][1]
    days = baselines.read_many(store, [(ctx.seu, ctx.baseline, ctx.start) for ctx in contexts
                                       if ctx.start <= last and
                                       ctx.baseline["interval"] in SLICEABLE_INTERVALS], last)
    jobs = [(ctx, _seu_months(store, ctx, periods, out, skipped, k, h, days.get(ctx.seu["name"])))
            for ctx in contexts]
    reader.prefetch_quality([key for ctx in contexts for key in ctx.inputs])
    for ctx, months_of_seu in jobs:
        for first, last, result, trend in months_of_seu:
            out.append(_compose(reader, ctx, result, trend, first, last))
    out.sort(key=lambda r: (r["seu"], r["first"]))
    if save and out:
        _save(store, out, generated_by)
    return {"reports": out, "skipped": skipped}


def generate_all(store, year: int, months: tuple[int, int] = (1, 12),
                 generated_by: str | None = None) -> list[dict]:
    """Every SEU with an active baseline x every month of the range, stored."""
    return run(store, year, months, generated_by)["reports"]


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


def _save(store, built: list[dict], generated_by: str | None) -> None:
    """Store reports as the current ones for their SEU and period, in one transaction.

    Same baseline version as the current report: replaced. Another version:
    the current one becomes superseded and stays.
    """
    now = datetime.now(timezone.utc)
    by = generated_by or audit.default_actor()
    r = s.reports
    with store.begin() as conn:
        ids = {}
        for report in built:
            key = (report["equipment"], report["source"])
            if key not in ids:
                ids[key] = catalog.seu_row(conn, *key)["id"]
        current = {}
        for seu_id in set(ids.values()):
            for row in conn.execute(sa.select(r.c.id, r.c.period, r.c.baseline_version).where(
                    r.c.seu_id == seu_id, r.c.status == "current")):
                current[(seu_id, row.period)] = row
        updates, inserts, superseded = [], [], []
        for report in built:
            seu_id = ids[(report["equipment"], report["source"])]
            values = {"content": _json(report), "generated_at": now, "generated_by": by,
                      "baseline_version": report["baseline_version"],
                      "significant": report["significant"],
                      "deviation_pct": report["deviation_pct"]}
            old = current.get((seu_id, report["period"]))
            if old is not None and old.baseline_version == report["baseline_version"]:
                updates.append({"report_id": old.id, **values})
                continue
            if old is not None:  # what was reported under the old baseline stays
                superseded.append(old.id)
            inserts.append({"seu_id": seu_id, "period": report["period"],
                            "first": report["first"], "last": report["last"],
                            "status": "current", **values})
        if superseded:
            conn.execute(r.update().where(r.c.id.in_(superseded)).values(status="superseded"))
        if updates:
            # SET takes the parameters named like columns; report_id picks the row.
            conn.execute(r.update().where(r.c.id == sa.bindparam("report_id")), updates)
        if inserts:
            conn.execute(r.insert(), inserts)
        # One record per run, not per report: what was generated, replaced and superseded.
        seus, periods = sorted({b["seu"] for b in built}), sorted({b["period"] for b in built})
        audit.record(conn, by, "report.generate", "report",
                     f"{seus[0] if len(seus) == 1 else f'{len(seus)} SEUs'} "
                     f"{periods[0] if len(periods) == 1 else f'{periods[0]}..{periods[-1]}'}",
                     after={"reports": len(built), "seus": seus, "periods": periods,
                            "replaced": len(updates), "superseded": len(superseded)})


def generate(store, equipment: str, source: str, first: date, last: date,
             generated_by: str | None = None) -> dict:
    """Build a report and store it as the current one for its SEU and period."""
    report = build(store, equipment, source, first, last)
    _save(store, [report], generated_by)
    return report


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
