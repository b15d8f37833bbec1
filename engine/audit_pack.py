"""The ISO 50001 audit package of one year, generated from the database.

Sections (ISO 50001:2018 clause in brackets):

1. Energy policy (5.2): the recorded version in force and its history.
2. Energy review (6.3): consumption by energy source and by SEU, and the SEU
   identification matrix: each SEU's share, the significance criterion, its
   drivers and the person responsible.
3. EnPI and EnB methodology per SEU (6.4, 6.5; ISO 50006): model, drivers and
   roll-up rules, training period, statistics, validity checks, the
   prediction interval, EnPIs and the adjustment rules.
4. Monthly performance reports (6.6, 9.1): every SEU x month of the year.
5. Deviation investigation log (9.1.1, 10.1): alerts and acknowledgements.
6. Baseline adjustment log (6.5): every baseline version and the audit trail.
7. Data collection plan and data-quality results (6.6).
8. Savings summary (9.1): avoided energy in MWh, money and CO2.

Nothing is invented: a fact the database does not hold (the person
responsible for an SEU's equipment, an unrecorded policy) is reported as not
recorded.

One ``Document`` is rendered to PDF (with a table of contents) and to
Markdown; every chart is a PNG file in ``figures/``.
"""
import math
from datetime import date
from pathlib import Path

from . import alerts, audit, baselines, catalog, figures, pdf, policy, quality, queries, \
    regression, reports, savings
from .document import Document, Figure, Heading, PageBreak, Quote, Signatures, Table, Text, \
    number, percent, to_markdown
from .errors import EnmsError, NotFound
from .report_pdf import ALERT_HEADER, ALERT_WIDTHS, alert_rows

# Significance criterion of the energy review (ISO 50001 leaves it to the
# organisation; ISO 50006 and common practice use a Pareto cut): an energy use
# is significant when it is among the largest uses that together make up
# PARETO_SHARE of the consumption, or when its own share is SHARE_MIN or more.
PARETO_SHARE = 0.80
SHARE_MIN = 0.05
CRITERION = (f"an SEU is significant when it is among the largest energy uses that together "
             f"make up {PARETO_SHARE:.0%} of the metered consumption (in kWh), or when its "
             f"own share is {SHARE_MIN:.0%} or more")
ADJUSTMENT_RULES = (
    "A baseline changes only by a documented adjustment (ISO 50001 6.5, ISO 50006): "
    "who, when, why, the old and the new model, and who approved it. Allowed types: "
    + ", ".join(t.replace("_", " ") for t in baselines.ADJUSTMENT_TYPES) + ". Either a stored "
    "candidate version is adopted, the model is retrained on a new period, or a static factor "
    "scales or shifts the expectation. The replaced version stays, marked superseded; reports "
    "made with it stay on record, marked superseded. Every change is in the append-only "
    "audit trail.")
INTERVAL_METHOD = (
    "The 95 % prediction interval of a period's expected energy is a real prediction "
    "interval: Student's t-quantile on the model's residual degrees of freedom times the "
    "standard deviation of the period total, which sums the noise of every interval "
    "(inflated for lag-1 autocorrelation) and the shared error of the coefficients "
    "(leverage), per ASHRAE Guideline 14 (docs/methods.md). A month outside it is a "
    "significant deviation.")
SECTIONS = ("Energy policy", "Energy review", "EnPI and EnB methodology",
            "Monthly performance reports", "Deviation investigation log",
            "Baseline adjustment log", "Data collection plan and data quality",
            "Savings summary")


def _year_span(store, year: int) -> tuple[date, date]:
    """January 1 to the last day with data in the year (or December 31)."""
    latest = queries.last_day(store)
    first = date(year, 1, 1)
    if latest is None or latest < first:
        raise EnmsError(f"no meter data in {year}" + (f"; the data end on {latest}"
                                                     if latest else ""))
    return first, min(date(year, 12, 31), latest)


# --- sections --------------------------------------------------------------------------

def policy_section(store) -> list:
    blocks = [Heading(SECTIONS[0])]
    versions = policy.history(store)
    if not versions:
        return blocks + [
            Text("No energy policy is recorded. Top management writes it once from the template "
                 "below ('enms policy template'), and it is recorded with 'enms policy set FILE "
                 "--approved-by NAME'. Until then this section is incomplete."),
            Quote(policy.TEMPLATE)]
    current = versions[-1]
    blocks += [Text(f"Version {current['version']}, approved by "
                    f"{current['approved_by'] or 'nobody recorded'} on "
                    f"{current['approved_on'] or 'no date recorded'}; recorded by "
                    f"{current['recorded_by']} on {current['recorded_at']:%Y-%m-%d}."),
               Quote(current["text"])]
    if current["unfilled"]:
        blocks.append(Text("Blanks of the template still unfilled: "
                           + "; ".join(current["unfilled"])))
    blocks += [Heading("Versions", 2), Table(
        ("version", "approved by", "approved on", "recorded by", "recorded at"),
        tuple((str(v["version"]), v["approved_by"] or "not recorded",
               str(v["approved_on"] or "not recorded"), v["recorded_by"],
               f"{v['recorded_at']:%Y-%m-%d %H:%M} UTC") for v in versions))]
    return blocks


def significance(consumption: list[dict]) -> list[dict]:
    """Each SEU's share of the total kWh, its rank, the cumulative share of the
    larger uses before it, and whether it meets ``CRITERION``. SEUs without
    data have no share (None), never 0."""
    total = sum(c["energy_kwh"] for c in consumption if c["energy_kwh"] is not None)
    ranked = sorted((c for c in consumption if c["energy_kwh"] is not None),
                    key=lambda c: -c["energy_kwh"])
    before, out = 0.0, {}
    for rank, c in enumerate(ranked, 1):
        share = c["energy_kwh"] / total if total else None
        out[c["seu"]] = {"rank": rank, "share": share, "cumulative_before": before,
                         "significant": share is not None and (before < PARETO_SHARE
                                                               or share >= SHARE_MIN)}
        before += share or 0.0
    return [{**c, **out.get(c["seu"], {"rank": None, "share": None, "cumulative_before": None,
                                        "significant": None})} for c in consumption]


def review_section(store, first: date, last: date, fig_dir: Path) -> list:
    consumption = significance(figures.plant_consumption(store, first, last))
    seus = {s["name"]: s for s in catalog.list_entries(store, "seu")}
    responsible = {e["name"]: e["responsible"] for e in catalog.list_entries(store, "equipment")}
    by_source = figures.consumption_by_source(consumption)
    source_totals = {c["source"]: by_source.get(c["source"]) for c in consumption}
    rows = []
    for c in consumption:
        try:
            model = ", ".join(baselines.get(store, c["equipment"], c["source"])["drivers"])
        except NotFound:
            model = "no active baseline"
        meets = {True: "yes", False: "no", None: "no data"}[c["significant"]]
        rows.append((c["seu"], number(c["energy"], 0, c["unit"]), number(c["energy_kwh"], 0),
                     percent(c["share"]),
                     percent(c["energy_kwh"] / source_totals[c["source"]]
                             if c["energy_kwh"] is not None and source_totals[c["source"]]
                             else None),
                     str(c["rank"] or "-"), percent(c["cumulative_before"], 0), meets,
                     ", ".join(seus[c["seu"]]["drivers"]) or "none", model,
                     responsible.get(c["equipment"]) or "not recorded"))
    by_source_png = figures.by_source_chart(consumption, first, last,
                                            fig_dir / "plant_by_source.png")
    by_seu_png = figures.by_seu_chart(consumption, first, last, fig_dir / "plant_by_seu.png")
    outputs = [m["name"] for m in catalog.list_entries(store, "meter")
               if (m["equipment"], m["source"]) not in
               {(s["equipment"], s["source"]) for s in seus.values()}]
    days = max((c["days"] for c in consumption), default=0)
    gaps = [f"{c['seu']} ({c['days_metered']} of {c['days']} days)" for c in consumption
            if c["days_metered"] < c["days"]]
    return [
        Heading(SECTIONS[1]),
        Text(f"Metered consumption from {first} to {last} ({days} days), converted to kWh with "
             "each energy source's catalog factor. Shares are of the total of all SEUs. "
             + (f"Meters outside every SEU ({', '.join(outputs)}) measure outputs, not "
                "consumption, and are not counted. " if outputs else "")
             + ("Days without data are missing, not zero: " + "; ".join(gaps) + "."
                if gaps else "Every SEU has data for every day.")),
        Figure(by_source_png, "Consumption by energy source [kWh]."),
        Figure(by_seu_png, "Consumption by SEU [kWh]."),
        Heading("SEU identification matrix", 2),
        Text(f"Significance criterion: {CRITERION}. 'Larger uses' is the share of the SEUs "
             "ranked above. Responsible: the person named for the SEU's equipment in the "
             "catalog (enms catalog set equipment NAME responsible=...), 'not recorded' "
             "where none is."),
        Table(("SEU", "consumption", "kWh", "share of plant", "share of source", "rank",
               "larger uses", "significant", "candidate drivers", "baseline drivers",
               "responsible"),
              tuple(rows), (1.7, 1.2, 1.1, 0.8, 0.8, 0.5, 0.8, 0.9, 1.6, 1.6, 0.9)),
    ]


def checks_table(b: dict) -> Table:
    """The statistics of a baseline against the DOE EnPI and ASHRAE
    Guideline 14 limits (``engine.regression``)."""
    st = b["statistics"]
    cv_max, nmbe_max = regression.CALIBRATION_LIMITS_PCT[b["interval"]]
    p_values = [p for p in st["p_values"] if p is not None]
    vif = [v for v in (st.get("vif") or []) if v is not None]
    n = st["n"]
    rows = [
        ("R2", f">= {regression.R2_MIN} (refused below), >= {regression.R2_WARN} (warned below), "
               f"<= {regression.R2_OVERFIT} (over-fit warning)", number(st["r2"], 3)),
        ("model F-test p", f"< {regression.F_TEST_P_MAX}", f"{st['f_p_value']:.2g}"),
        ("largest driver p", f"<= {regression.DRIVER_P_MAX}",
         f"{max(p_values):.2g}" if p_values else "n/a"),
        ("smallest driver p", f"<= {regression.BEST_DRIVER_P_MAX}",
         f"{min(p_values):.2g}" if p_values else "n/a"),
        ("CV(RMSE)", f"<= {cv_max:g} % ({b['interval']} data)", f"{number(st['cv_rmse_pct'], 1)} %"),
        ("|NMBE|", f"<= {nmbe_max:g} %", f"{number(abs(st['nmbe_pct']), 2)} %"),
        ("largest VIF", f"<= {regression.VIF_WARN:g} (collinearity warning above)",
         number(max(vif), 2) if vif else "n/a"),
        ("lag-1 residual autocorrelation", f"|r1| <= 1.96 / sqrt(n) = {1.96 / math.sqrt(n):.3f}",
         number(st["autocorrelation_lag1"], 3)),
        ("intervals used", "training period at least 80 % usable",
         f"{b['n_used']} of {b['n_total']}"),
    ]
    return Table(("check", "limit", "value"), tuple(rows), (1.6, 3.4, 1))


def coefficients_table(b: dict) -> Table:
    st = b["statistics"]
    rows = [("intercept", "", number(st["intercept"], 4), number(st["intercept_standard_error"], 4),
             number(st["intercept_t"], 2), f"{st['intercept_p_value']:.2g}")]
    rows += [(name, unit, number(c, 4), number(se, 4), number(t, 2), f"{p:.2g}")
             for name, unit, c, se, t, p in zip(st["names"], st["units"], st["coefficients"],
                                                st["standard_errors"], st["t_values"],
                                                st["p_values"])]
    return Table(("term", "unit", "coefficient", "standard error", "t", "p"), tuple(rows))


def methodology_section(store, fig_dir: Path) -> list:
    blocks = [Heading(SECTIONS[2]),
              Text("EnB: one regression baseline per SEU (one equipment on one energy source). "
                   "EnPIs: SEnPI = actual / expected energy (DOE EnPI tool), and energy per unit "
                   "of each counted driver. " + INTERVAL_METHOD),
              Text("Adjustment rules: " + ADJUSTMENT_RULES)]
    for seu in catalog.list_entries(store, "seu"):
        blocks.append(Heading(seu["name"], 2))
        try:
            b = baselines.get(store, seu["equipment"], seu["source"])
        except NotFound:
            blocks.append(Text("No active baseline: no EnB or EnPI for this SEU yet."))
            continue
        spec = b["spec"]
        drivers = "; ".join(
            f"{d['name']} [{d['unit']}], daily {d['rollup']}"
            + (f", {d['derivation']} from {d['derived_from']} base {d['base_temp_c']} C"
               if d.get("derivation") else "") for d in spec["drivers"])
        if spec.get("temperature_driver"):
            drivers += (f"; {spec['temperature_driver']} [C], daily mean, as degree days with "
                        f"balance points {spec.get('heating_balance_c')} C (heating) and "
                        f"{spec.get('cooling_balance_c')} C (cooling), searched")
        blocks += [
            Text(f"Baseline version {b['version']} ({b['status']}), model {b['model']} per "
                 f"{b['interval']}: {b['formula']}. Training period {b['period']} "
                 f"({b['period_start']} to {b['period_end']}), {b['n_used']} of {b['n_total']} "
                 f"{b['interval']}s used, {len(b['excluded'])} left out for incomplete or flagged "
                 f"data. Drivers and their roll-up: {drivers or 'none'}. Trained by "
                 f"{b['trained_by']} on {b['trained_at']:%Y-%m-%d}: {b['reason']}."),
            coefficients_table(b), checks_table(b),
            Text("Warnings: " + ("; ".join(w["message"] for w in b["warnings"])
                                 if b["warnings"] else "none")
                 + (f". Static adjustment: expected x {b['static_adjustment']['scale']:g} + "
                    f"{b['static_adjustment']['add']:g} per {b['interval']}."
                    if b["static_adjustment"] else "."))]
        for driver, path in figures.driver_charts(store, seu["equipment"], seu["source"],
                                                   b["version"], fig_dir).items():
            blocks.append(Figure(path, f"{seu['name']}: energy against {driver} over the "
                                       "baseline period with the fitted model (the other "
                                       "terms at their baseline means)."))
    return blocks


def performance_section(store, run: dict, fig_dir: Path) -> list:
    blocks = [Heading(SECTIONS[3]),
              Text("Every SEU x month after its baseline period, computed with the active "
                   "baseline (the figures 'enms report' stores and 'enms report SEU --pdf' "
                   "prints). Deviation = actual - expected; negative is energy saved.")]
    by_seu = {}
    for r in run["reports"]:
        by_seu.setdefault(r["seu"], []).append(r)
    for name, rs in by_seu.items():
        unit = rs[0]["unit"]
        rows = tuple((r["period"], number(r["actual"], 0), number(r["expected"], 0),
                      f"{number(r['lower'], 0)} to {number(r['upper'], 0)}",
                      number(r["deviation_pct"], 1), "yes" if r["significant"] else "no",
                      number(r["cusum"]["to_date"], 0),
                      "yes" if r["cusum"]["alarm_in_period"] else "no",
                      number(r["data_quality"]["score"], 3), str(r["baseline_version"]))
                     for r in rs)
        blocks += [Heading(name, 2), Table(
            ("month", f"actual [{unit}]", f"expected [{unit}]", "95 % interval", "deviation %",
             "significant", f"CUSUM [{unit}]", "CUSUM alarm", "data quality", "baseline"),
            rows, (0.9, 1.1, 1.1, 1.6, 0.9, 0.9, 1, 0.8, 0.8, 0.7))]
        paths = {"monthly": figures.monthly_chart(rs, fig_dir),
                 "cusum": figures.cusum_file(store, rs[-1], fig_dir),
                 "completeness": figures.completeness_chart(store, rs, fig_dir)}
        blocks += [Figure(paths["monthly"], f"{name}: actual and expected energy by month with "
                                            "the 95 % prediction interval."),
                   Figure(paths["cusum"], f"{name}: CUSUM and tabular CUSUM with control "
                                          "limits; triangles mark alarms."),
                   Figure(paths["completeness"], f"{name}: data completeness of its meters and "
                                                 "drivers by day.")]
    if run["skipped"]:
        blocks += [Heading("Not reported", 2), Table(
            ("SEU", "month", "reason"),
            tuple((s["seu"], s["period"], s["reason"]) for s in run["skipped"]), (2, 1, 5))]
    return blocks


def investigation_section(store, first: date, last: date) -> list:
    found = [a for a in alerts.list_alerts(store, status="all")
             if a["first"] <= last and first <= a["last"]]
    found.sort(key=lambda a: (a["first"], a["id"]))
    open_count = sum(a["status"] == "open" for a in found)
    blocks = [Heading(SECTIONS[4]),
              Text("Alerts raised by 'enms alerts evaluate' (rules: "
                   + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in alerts.RULES.items()
                               if isinstance(v, str))
                   + ") and their acknowledgements: who investigated, when, what was found and "
                     "done.")]
    if not found:
        return blocks + [Text(f"No alert is recorded between {first} and {last}. If alerts were "
                              "never evaluated for the year, run 'enms alerts evaluate'.")]
    return blocks + [Text(f"{len(found)} alerts between {first} and {last}; {open_count} open "
                          "(not yet investigated)."),
                     Table(ALERT_HEADER, alert_rows(found), ALERT_WIDTHS)]


def adjustment_section(store) -> list:
    blocks = [Heading(SECTIONS[5]), Text(ADJUSTMENT_RULES)]
    rows = []
    for seu in catalog.list_entries(store, "seu"):
        for v in baselines.history(store, seu["equipment"], seu["source"]):
            rows.append((seu["name"], str(v["version"]), v["status"], v["model"], v["period"],
                         number(v["r2"], 3),
                         (v["adjustment_type"] or "initial").replace("_", " "),
                         str(v["parent_version"] or "-"), v["trained_by"],
                         f"{v['trained_at']:%Y-%m-%d}", v["approved_by"] or "not recorded",
                         v["reason"]))
    blocks.append(Table(("SEU", "version", "status", "model", "period", "R2", "type", "replaces",
                         "by", "on", "approved by", "reason"), tuple(rows),
                        (1.6, 0.6, 0.9, 0.7, 0.7, 0.6, 1, 0.7, 1, 0.9, 1, 1.6)))
    trail = audit.log(store, action="baseline")
    blocks.append(Heading("Audit trail of baselines", 2))
    if trail:
        blocks.append(Table(("at (UTC)", "actor", "action", "SEU", "reason"), tuple(
            (f"{t['at']:%Y-%m-%d %H:%M}", t["actor"], t["action"], t["entity"], t["reason"] or "")
            for t in trail), (1.3, 1.2, 1.2, 1.8, 2.5)))
    else:
        blocks.append(Text("The audit trail holds no baseline record (baselines trained before "
                           "the audit trail existed are listed above only)."))
    return blocks


def data_section(store, first: date, last: date) -> list:
    meters = catalog.list_entries(store, "meter")
    seu_keys = {(s["equipment"], s["source"]) for s in catalog.list_entries(store, "seu")}
    sources = {s["name"]: s for s in catalog.list_entries(store, "energy source")}
    meter_rows = tuple(
        (m["name"], m["equipment"], m["source"], sources[m["source"]]["unit"],
         f"{m['interval_s']} s" if m["interval_s"] else "not declared",
         "counter" if m["counter_max"] else "interval values",
         "SEU consumption" if (m["equipment"], m["source"]) in seu_keys else "output (not counted)")
        for m in meters)
    drivers = catalog.list_entries(store, "driver")
    driver_rows = tuple(
        (d["name"], d["unit"], d["rollup"], d["kind"],
         f"{d['derivation']} base {d['base_temp_c']} C" if d.get("derivation") else "measured")
        for d in drivers)
    scores = [quality.period_score(store, m["name"], first, last, kind="meter") for m in meters]
    scores += [quality.period_score(store, d["name"], first, last, kind="driver") for d in drivers]
    quality_rows = tuple((q["kind"], q["name"], number(q["score"], 3), percent(q["completeness"]),
                          f"{q['days_logged']} of {q['days']}", str(len(q["findings"])))
                         for q in scores)
    findings = sorted(((q["name"], f) for q in scores for f in q["findings"]),
                      key=lambda x: x[1]["start"])
    rules = quality.RULES
    blocks = [
        Heading(SECTIONS[6]),
        Text("What is measured, how often and how it is checked (ISO 50001 6.6). Readings are "
             "imported with validation and de-duplication and rolled up to local days; each "
             "driver rolls up by its own rule. Missing data are never read as zero: days below "
             f"{baselines.ENERGY_COMPLETENESS_MIN:.0%} metered energy (or summed driver) are left "
             "out of baselines and reports."),
        Heading("Meters", 2),
        Table(("meter", "equipment", "source", "unit", "interval", "values", "role"), meter_rows),
        Heading("Drivers (relevant variables)", 2),
        Table(("driver", "unit", "daily roll-up", "kind", "derivation"), driver_rows),
        Heading("Data-quality results", 2),
        Text(f"Scan method {rules['method']}: outliers ({rules['outlier']['rule']}, robust z above "
             f"{rules['outlier']['threshold_z']:g}), stuck values, impossible and negative "
             f"values, gaps; score {rules['score']}. Period {first} to {last}."),
        Table(("input", "name", "score", "completeness", "days scanned", "findings"),
              quality_rows, (1, 2.4, 0.8, 1.1, 1.1, 0.8))]
    if findings:
        blocks.append(Table(("name", "finding", "severity", "from", "to", "message"), tuple(
            (name, f["kind"], f["severity"], f.get("start_local", ""), f.get("end_local", ""),
             f["message"]) for name, f in findings), (1.5, 0.8, 0.7, 1.3, 1.3, 3.4)))
    return blocks


def savings_section(store, first: date, last: date, run: dict, fig_dir: Path) -> list:
    result = savings.compute(store, first, last)
    rows = []
    for r in result["seus"]:
        if r["status"] != "ok":
            rows.append((r["seu"], r["status"], "", "", "", "", ""))
            continue
        p = r["period"]
        band = p["uncertainty"]["95"]["band_mwh"] if p["uncertainty"] else None
        rows.append((r["seu"], number(p["avoided"], 0, r["unit"]), number(p["avoided_mwh"], 1),
                     f"+- {number(band, 1)}", number(p["avoided_pct"], 1),
                     number(p["money"], 0, r["currency"]), number(p["co2_t"], 1)))
    total = result["total"]["period"]
    money = ", ".join(number(v, 0, k) for k, v in total["money"].items())
    unc = total["uncertainty"]["95"]["band_mwh"] if total["uncertainty"] else None
    rows.append(("plant total", "", number(total["avoided_mwh"], 1), f"+- {number(unc, 1)}",
                 number(total["avoided_pct"], 1), money, number(total["co2_t"], 1)))
    # Savings to date by month: the monthly reports' expected - actual, per source and in total.
    path = figures.savings_to_date_chart(run["reports"], f"Savings to date, {first.year}",
                                         fig_dir / "plant_savings_to_date.png")
    return [
        Heading(SECTIONS[7]),
        Text(f"Avoided energy = expected - actual from each SEU's active baseline, {first} to "
             f"{last} ({result['method']}); positive is energy saved. MWh, money and CO2 use "
             f"each energy source's catalog factors. {result['uncertainty_note']}"),
        Table(("SEU", "avoided", "MWh", "95 % band MWh", "% of expected", "money", "CO2 t"),
              tuple(rows), (2, 1.3, 0.8, 1, 0.9, 1.1, 0.8)),
        Figure(path, "Cumulative avoided energy by month [MWh], per energy source and for the "
                     "plant (from the monthly reports)."),
        Text(result["not_counted"]["note"]),
    ]


# --- the package -------------------------------------------------------------------------

def build(store, year: int, out_dir) -> dict:
    """Write the audit package of ``year`` into ``out_dir``: audit-pack-YEAR.pdf
    (with a table of contents), audit-pack-YEAR.md (the same content) and every
    figure as PNG in figures/. Returns the paths and what was covered."""
    first, last = _year_span(store, year)
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    run = reports.run(store, year, (1, last.month), save=False)
    site = catalog.list_entries(store, "site")
    doc = Document(f"ISO 50001 audit package {year}",
                   f"{', '.join(s['name'] for s in site) or 'site not recorded'}; data from "
                   f"{first} to {last}; generated by enms from the database.")
    doc.add(*policy_section(store), PageBreak(),
            *review_section(store, first, last, fig_dir), PageBreak(),
            *methodology_section(store, fig_dir), PageBreak(),
            *performance_section(store, run, fig_dir), PageBreak(),
            *investigation_section(store, first, last), PageBreak(),
            *adjustment_section(store), PageBreak(),
            *data_section(store, first, last), PageBreak(),
            *savings_section(store, first, last, run, fig_dir),
            Heading("Approval"),
            Signatures(("Energy manager", "Top management", "Auditor")))
    stem = f"audit-pack-{year}"
    pdf_path = pdf.write(doc, out_dir / f"{stem}.pdf", toc=True)
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(to_markdown(doc, relative_to=out_dir, toc=True), encoding="utf-8")
    return {"year": year, "first": first, "last": last, "pdf": pdf_path, "markdown": md_path,
            "figures": sorted(fig_dir.glob("*.png")), "sections": list(SECTIONS),
            "reports": len(run["reports"]), "skipped": len(run["skipped"])}
