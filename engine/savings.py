"""Savings: avoided energy per SEU, per energy source and for the plant, in
native units, MWh, money and CO2, with the ASHRAE Guideline 14 uncertainty.

Avoided energy (IPMVP, ISO 50015) = expected - actual over the period, from
the SEU's active baseline (``baselines.expected``): positive is energy saved,
negative energy lost against the baseline. Intervals with incomplete energy or
driver data are left out of both sums, as in every expected-vs-actual
comparison. Conversions use the energy source's catalog factors:

    MWh   = avoided [native] x kwh_per_unit / 1000
    money = avoided [native] x tariff_per_unit            [currency]
    CO2 t = avoided [native] x co2_kg_per_unit / 1000

Uncertainty: the fractional savings uncertainty of ASHRAE Guideline 14-2014
Annex B (``regression.fractional_savings_uncertainty``) at 68 % and 95 %
confidence, FSU = t 1.26 CV sqrt((n/n') (1 + 2/n') / m) / F with F the savings
as a fraction of the expected energy. Its absolute band is FSU x |savings| =
t 1.26 CV sqrt(...) x expected energy, defined even when the savings are zero.

Each SEU has two figures: the period asked for (clipped to start after the
SEU's baseline period) and the cumulative one, from the day after the
baseline period to the end of the period.

Totals: per energy source the native units add (one unit per source); across
sources only kWh, MWh, CO2 and money of one currency add, never native units.
The bands of a total combine in quadrature, sqrt(sum band_i^2): the SEUs'
baselines are separate models with independent errors. SEUs without an
active baseline are listed, not dropped. Meters that belong to no SEU (such as
the compressed-air meter on a compressor: an output, not a consumption) are
never counted; they are listed as such.

Example::

    compute(store, date(2025, 1, 1), date(2025, 10, 31))
"""
import math
from datetime import date, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from . import baselines, catalog, regression, schema as s
from .errors import EnmsError
from .periods import label

LEVELS = {"68": 0.32, "95": 0.05}   # confidence [%] -> alpha
QUADRATURE_NOTE = ("Uncertainties of totals combine in quadrature (square root of the sum "
                   "of squares): each SEU's baseline is a separate model, so their errors "
                   "are taken as independent.")
OUTPUT_NOTE = ("Meters that belong to no SEU measure something other than a significant "
               "energy use (e.g. compressed air produced by a compressor, whose electricity "
               "is already counted): they are never added as consumption.")


def latest_day(store) -> date | None:
    """The last day any meter has a daily rollup row."""
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.max(s.meter_daily.c.day))).scalar()


def default_period(store) -> tuple[date, date]:
    """The year of the latest data, from 1 January to the latest day with data."""
    last = latest_day(store)
    if last is None:
        raise EnmsError("no meter data yet: import readings first (enms import readings)")
    return date(last.year, 1, 1), last


def _uncertainty(statistics: dict, m: int, expected: float, avoided: float) -> dict | None:
    """FSU and the absolute band [native unit] at 68 % and 95 % confidence."""
    needed = ("n", "df_resid", "cv_rmse_pct", "autocorrelation_lag1")
    if m < 1 or any(statistics.get(k) is None for k in needed):
        return None
    model = SimpleNamespace(**{k: statistics[k] for k in needed})
    out = {}
    for level, alpha in LEVELS.items():
        # FSU at F = 1 is t 1.26 CV sqrt(...); times the expected energy it is the band.
        unit_fsu = regression.fractional_savings_uncertainty(model, m, 1.0, alpha)
        band = unit_fsu * abs(expected)
        out[level] = {"band": band, "fsu": band / abs(avoided) if avoided else None}
    return out


def _figures(store, seu: dict, days, src: dict, first: date, last: date) -> dict:
    """Avoided energy of one SEU over [first, last] in every unit, with its bands.
    days: its baseline's inputs over a span holding the period (``baselines.read_days``)."""
    baseline = days.baseline
    e = baselines.expected(store, seu["equipment"], seu["source"], first, last,
                           baseline["version"], days=days)
    avoided = e["expected"] - e["actual"]
    unc = _uncertainty(baseline["statistics"], e["intervals_used"], e["expected"], avoided)
    fig = {"first": first, "last": last, "period": label(first, last),
           "intervals_used": e["intervals_used"], "intervals_total": e["intervals_total"],
           "interval": e["interval"], "excluded": len(e["excluded"]),
           "actual": e["actual"], "expected": e["expected"], "avoided": avoided,
           "actual_kwh": e["actual"] * src["kwh_per_unit"],
           "expected_kwh": e["expected"] * src["kwh_per_unit"],
           "avoided_pct": 100 * avoided / e["expected"] if e["expected"] else None,
           **_converted(avoided, src)}
    fig["uncertainty"] = None if unc is None else {
        level: {"fsu": u["fsu"], "band": u["band"], **_converted(u["band"], src, "band_")}
        for level, u in unc.items()}
    return fig


def _converted(amount: float, src: dict, prefix: str = "avoided_") -> dict:
    money = "money" if prefix == "avoided_" else "band_money"
    co2 = "co2_t" if prefix == "avoided_" else "band_co2_t"
    return {f"{prefix}kwh": amount * src["kwh_per_unit"],
            f"{prefix}mwh": amount * src["kwh_per_unit"] / 1000,
            money: amount * src["tariff_per_unit"], co2: amount * src["co2_kg_per_unit"] / 1000}


def _plan(seu: dict, baseline: dict | None, src: dict, first: date, last: date,
          cumulative: bool) -> dict:
    """An SEU's entry before its figures: its active baseline and the days to read
    from (``read_from``), or the status that says why it has no figures."""
    head = {"seu": seu["name"], "equipment": seu["equipment"], "source": seu["source"],
            "unit": seu["unit"], "currency": src["currency"]}
    if baseline is None:
        return {**head, "status": "no active baseline",
                "note": "train a baseline first (enms baseline train)"}
    since = baseline["period_end"] + timedelta(days=1)
    head.update(baseline_version=baseline["version"], baseline_period=baseline["period"],
                since=since)
    start = max(first, since)
    if start > last:
        return {**head, "status": "period within the baseline period",
                "note": f"savings count from {since}, the day after the baseline period"}
    # One read of the days for the period and the figures since the baseline.
    return {**head, "baseline": baseline, "start": start,
            "read_from": since if cumulative else start}


def _seu_savings(store, plan: dict, seu: dict, days, src: dict, first: date, last: date,
                 cumulative: bool) -> dict:
    """An SEU's entry with its figures from its days (``baselines.read_many``)."""
    if "baseline" not in plan:
        return plan
    head = {k: v for k, v in plan.items() if k not in ("baseline", "start", "read_from")}
    since, start = head["since"], plan["start"]
    try:
        if isinstance(days, EnmsError):
            raise days
        period = _figures(store, seu, days, src, start, last)
        if not cumulative:
            since_baseline = None
        elif since < start:
            since_baseline = _figures(store, seu, days, src, since, last)
        else:
            since_baseline = period
    except EnmsError as exc:
        return {**head, "status": "no data", "note": str(exc)}
    return {**head, "status": "ok", "period": period, "cumulative": since_baseline,
            "clipped": start != first}


def _total(items: list[dict], key: str, native: bool) -> dict:
    """Sum of SEU figures (``key``: 'period' or 'cumulative') with quadrature bands."""
    figs = [(i[key], i) for i in items]
    out = {"seus": len(figs),
           "avoided_kwh": sum(f["avoided_kwh"] for f, _ in figs),
           "avoided_mwh": sum(f["avoided_mwh"] for f, _ in figs),
           "co2_t": sum(f["co2_t"] for f, _ in figs),
           "actual_kwh": sum(f["actual_kwh"] for f, _ in figs),
           "expected_kwh": sum(f["expected_kwh"] for f, _ in figs)}
    out["avoided_pct"] = 100 * out["avoided_kwh"] / out["expected_kwh"] \
        if out["expected_kwh"] else None
    money = {}
    for f, i in figs:
        money[i["currency"]] = money.get(i["currency"], 0.0) + f["money"]
    out["money"] = money
    if native:
        out["avoided"] = sum(f["avoided"] for f, _ in figs)
        out["expected"] = sum(f["expected"] for f, _ in figs)
    unc = {}
    if figs and all(f["uncertainty"] for f, _ in figs):
        for level in LEVELS:
            def quad(field):
                return math.sqrt(sum(f["uncertainty"][level][field] ** 2 for f, _ in figs))
            u = {"band_kwh": quad("band_kwh"), "band_mwh": quad("band_mwh"),
                 "band_co2_t": quad("band_co2_t")}
            band_money = {}
            for currency in money:
                band_money[currency] = math.sqrt(sum(
                    f["uncertainty"][level]["band_money"] ** 2 for f, i in figs
                    if i["currency"] == currency))
            u["band_money"] = band_money
            if native:
                u["band"] = quad("band")
            u["fsu"] = u["band_kwh"] / abs(out["avoided_kwh"]) if out["avoided_kwh"] else None
            unc[level] = u
    out["uncertainty"] = unc or None
    return out


def compute(store, first: date | None = None, last: date | None = None, *,
            equipment: str | None = None, source: str | None = None,
            cumulative: bool = True) -> dict:
    """Savings of every SEU (or those of one equipment and/or source) over [first, last].

    No period: the year of the latest data, to its latest day. Returns the
    period, one entry per SEU (status 'ok' with 'period' and 'cumulative'
    figures, else the reason), totals per energy source and for the plant,
    and what was not counted. ``cumulative=False`` leaves the figures since
    the baseline out (None): each SEU's expected energy is the cost, and a
    period after the baseline's first day would need it twice.
    """
    if first is None and last is None:
        first, last = default_period(store)
    elif first is None or last is None:
        raise EnmsError("give both the first and the last day of the period")
    if last < first:
        raise EnmsError(f"the period ends ({last}) before it starts ({first})")
    all_seus = seus = catalog.list_entries(store, "seu")
    if equipment is not None and source is not None:
        seus = [catalog.get_seu(store, equipment, source)]  # NotFound lists the known SEUs
    elif equipment is not None:
        seus = [x for x in seus if x["equipment"] == equipment]
        if not seus:
            catalog.get_entry(store, "equipment", equipment)  # NotFound if unknown
            raise EnmsError(f"{equipment} is part of no SEU")
    elif source is not None:
        catalog.get_energy_source(store, source)
        seus = [x for x in seus if x["source"] == source]
    sources = {x["name"]: x for x in catalog.list_entries(store, "energy source")}
    active = baselines.active(store)
    plans = [_plan(seu, active.get((seu["equipment"], seu["source"])), sources[seu["source"]],
                   first, last, cumulative) for seu in seus]
    # One read for the SEUs whose days start together (all, when the baselines end together).
    days = baselines.read_many(store, [(seu, plan["baseline"], plan["read_from"])
                                       for plan, seu in zip(plans, seus) if "baseline" in plan],
                               last)
    rows = [_seu_savings(store, plan, seu, days.get(seu["name"]), sources[seu["source"]], first,
                         last, cumulative) for plan, seu in zip(plans, seus)]
    ok = [r for r in rows if r["status"] == "ok"]
    by_source = []
    for name in sorted({r["source"] for r in ok}):
        items = [r for r in ok if r["source"] == name]
        src = sources[name]
        by_source.append({"source": name, "unit": src["unit"], "currency": src["currency"],
                          "kwh_per_unit": src["kwh_per_unit"],
                          "tariff_per_unit": src["tariff_per_unit"],
                          "co2_kg_per_unit": src["co2_kg_per_unit"],
                          "period": _total(items, "period", native=True),
                          "cumulative": _total(items, "cumulative", native=True)
                          if cumulative else None})
    seu_keys = {(x["equipment"], x["source"]) for x in all_seus}
    outputs = [m["name"] for m in catalog.list_entries(store, "meter")
               if (m["equipment"], m["source"]) not in seu_keys]
    return {
        "period": label(first, last), "first": first, "last": last,
        "seus": rows, "by_source": by_source,
        "total": {"period": _total(ok, "period", native=False),
                  "cumulative": _total(ok, "cumulative", native=False)
                  if cumulative else None},
        "without_baseline": [r["seu"] for r in rows if r["status"] == "no active baseline"],
        "not_counted": {"meters": outputs, "note": OUTPUT_NOTE},
        "uncertainty_note": QUADRATURE_NOTE,
        "method": "avoided energy = expected - actual (baseline model); uncertainty: "
                  "ASHRAE Guideline 14-2014 Annex B fractional savings uncertainty",
    }
