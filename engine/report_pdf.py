"""One SEU over one period as a PDF an auditor can sign (ISO 50001 6.6, 9.1):
the numbers of the period report, its charts, the baseline version and its
statistics, the data quality, the investigation status (alerts about the SEU,
its meters and drivers in the period, and who acknowledged them with what
comment) and signature lines.

``month_document`` composes the document from plain data; ``write`` takes a
report, reads the rest through the engine's public functions, draws the
charts into a folder beside the PDF and renders it (``engine.pdf``).
"""
from datetime import datetime, timezone
from pathlib import Path

from . import alerts, baselines, figures, pdf
from .document import Document, Figure, Heading, PageBreak, Signatures, Table, Text, number, \
    percent

SIGNERS = ("Prepared by (energy engineer)", "Reviewed by (energy manager)",
           "Audited by (internal or external auditor)")


def investigation(store, report: dict) -> list[dict]:
    """Alerts about the report's SEU, or one of its meters and drivers, whose
    period overlaps the report's, oldest first."""
    inputs = {i["name"] for i in report["data_quality"]["inputs"]}
    found = [a for a in alerts.list_alerts(store, status="all")
             if (a["seu"] == report["seu"] or a["subject"] in inputs)
             and a["first"] <= report["last"] and report["first"] <= a["last"]]
    return sorted(found, key=lambda a: (a["first"], a["id"]))


def alert_rows(found: list[dict]) -> tuple:
    """Table rows of alerts: the deviation investigation log."""
    return tuple(
        (str(a["id"]), a["kind"].replace("_", " "), a["severity"], a["subject"], a["period"],
         a["message"], a["status"],
         f"{a['acknowledged_by']}, {a['acknowledged_at']:%Y-%m-%d %H:%M} UTC"
         if a["acknowledged_by"] else "open: not yet investigated",
         a["comment"] or "") for a in found)


ALERT_HEADER = ("#", "kind", "severity", "subject", "period", "message", "status",
                "acknowledged", "finding and action")
ALERT_WIDTHS = (0.5, 1.3, 0.9, 1.4, 0.9, 3.2, 1.1, 1.6, 2.4)


def results_table(r: dict) -> Table:
    """Actual, expected, interval, deviation and indicators of one report."""
    unit, kwh = r["unit"], r["kwh_per_unit"]
    rows = [
        ("actual energy", number(r["actual"], 0, unit), number(r["actual_kwh"], 0, "kWh")),
        ("expected energy (baseline)", number(r["expected"], 0, unit),
         number(r["expected_kwh"], 0, "kWh")),
        (f"{r['confidence']:.0%} prediction interval",
         f"{number(r['lower'], 0)} to {number(r['upper'], 0)} {unit}",
         f"{number(r['lower'] * kwh, 0)} to {number(r['upper'] * kwh, 0)} kWh"),
        ("deviation (actual - expected)", f"{number(r['deviation'], 0, unit)} "
         f"({number(r['deviation_pct'], 1)} %)", number(r["deviation_kwh"], 0, "kWh")),
        ("significant", "yes: outside the interval" if r["significant"]
         else "no: within the interval", ""),
        ("SEnPI (actual / expected)", number(r["senpi"], 3), ""),
    ]
    rows += [(f"EnPI {e['name']}", number(e["value"], 4), "") for e in r["enpi"]]
    rows += [(f"EnPI {e['name']}", number(e["value"], 4), "") for e in r["output_indicators"]]
    return Table(("figure", f"native unit ({unit})", "kWh"), tuple(rows), (2.2, 2, 1.6))


def cusum_text(r: dict) -> str:
    c = r["cusum"]
    alarms = "; ".join(f"{a['direction']} in the week of {a['week_of']}" for a in c["alarms"])
    return (f"CUSUM of actual - expected since {c['since']}: {number(c['to_date'], 0, r['unit'])} "
            f"(negative: less energy than the baseline expects). Tabular CUSUM per {c['group']}, "
            f"reference value k = {c['k']:g} and decision limit h = {c['h']:g} standard "
            f"deviations, {c['groups_judged']} weeks judged to {c['judged_to']}. Alarms: "
            f"{alarms or 'none'}. Alarm in this period: "
            f"{'yes' if c['alarm_in_period'] else 'no'}.")


def quality_blocks(r: dict) -> list:
    q = r["data_quality"]
    rows = tuple((i["kind"], i["name"], number(i["score"], 3), percent(i["completeness"]),
                  f"{i['days_logged']} of {i['days']}", str(i["findings"]))
                 for i in q["inputs"])
    blocks = [Text(f"Data-quality score {number(q['score'], 3)} ({q['rule']}; method "
                   f"{q['method']}). Intervals used: {r['intervals_used']} of "
                   f"{r['intervals_total']} {r['interval']}s ({percent(r['completeness'], 0)})."),
              Table(("input", "name", "score", "completeness", "days scanned", "findings"), rows,
                    (1, 2.4, 0.8, 1.1, 1.1, 0.8))]
    if r["excluded"]:
        blocks.append(Text("Left out of actual and expected energy: " + "; ".join(
            f"{x['interval']} ({x['reason']})" for x in r["excluded"][:10])
            + (f"; and {len(r['excluded']) - 10} more" if len(r["excluded"]) > 10 else "")))
    e, unit = r["estimates"], r["unit"]
    if e["used"]:
        blocks += [Text(f"Measured {number(e['measured'], 0, unit)}; estimated "
                        f"{number(e['estimated'], 0, unit)} over {e['days_estimated']} days; "
                        f"measured and estimated {number(e['with_estimates'], 0, unit)}."),
                   Table(("meter", "from", "to", "rule", f"estimated [{unit}]"), tuple(
                       (x["meter"], str(x["from"]), str(x["to"]), x["rule"].replace("_", " "),
                        number(x["energy"], 0)) for x in e["rows"]), (2.4, 1, 1, 1.2, 1.2))]
    blocks.append(Text(e["note"]))
    return blocks


def baseline_table(b: dict) -> Table:
    st = b["statistics"]
    rows = (("version", f"{b['version']} ({b['status']})"),
            ("model", f"{b['model']} per {b['interval']}: {b['formula']}"),
            ("training period", f"{b['period']} ({b['n_used']} of {b['n_total']} "
                                f"{b['interval']}s used)"),
            ("R2 / adjusted R2", f"{number(st['r2'], 3)} / {number(st['adj_r2'], 3)}"),
            ("CV(RMSE) / NMBE", f"{number(st['cv_rmse_pct'], 1)} % / {number(st['nmbe_pct'], 2)} %"),
            ("trained", f"by {b['trained_by']} on {b['trained_at']:%Y-%m-%d}: {b['reason']}"),
            ("adjustment", f"{b['adjustment_type']}, approved by {b['approved_by'] or 'nobody recorded'}"
             if b["adjustment_type"] else "none (initial baseline)"),
            ("warnings", "; ".join(w["message"] if isinstance(w, dict) else str(w)
                                   for w in b["warnings"]) or "none"))
    return Table(("baseline", ""), rows, (1.3, 5))


def month_document(r: dict, baseline: dict, found: list[dict], charts: dict) -> Document:
    """The signed-report document of one period report ``r``."""
    doc = Document(f"Energy performance report: {r['seu']}, {r['period']}",
                   f"Period {r['first']} to {r['last']}; baseline version "
                   f"{r['baseline_version']} (trained on {r['baseline_period']}); generated "
                   f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by enms.")
    drivers = tuple((name, number(value, 1)) for name, value in r["drivers"].items())
    doc.add(Heading("Result"), results_table(r),
            Table(("driver", "period value"), drivers, (3, 2)),
            Text(cusum_text(r)))
    if "daily" in charts:
        doc.add(Figure(charts["daily"], f"{r['seu']}: actual and expected energy per day of "
                       f"{r['period']} with the {r['confidence']:.0%} prediction interval."))
    doc.add(Heading("Investigation status"))
    if found:
        open_count = sum(a["status"] == "open" for a in found)
        doc.add(Text(f"{len(found)} alerts about this SEU, its meters or drivers in the period; "
                     f"{open_count} not yet acknowledged."),
                Table(ALERT_HEADER, alert_rows(found), ALERT_WIDTHS))
    else:
        doc.add(Text("No alert is recorded about this SEU, its meters or drivers in the period "
                     "(alerts are raised by 'enms alerts evaluate')."))
    doc.add(PageBreak(), Heading("Baseline"), baseline_table(baseline),
            Heading("Data quality"), *quality_blocks(r))
    if "cusum" in charts:
        doc.add(Figure(charts["cusum"], f"{r['seu']}: CUSUM since {r['cusum']['since']} and the "
                       "tabular CUSUM against its control limit; triangles mark alarms."))
    doc.add(Heading("Approval"), Text("The figures above were computed by the energy management "
                                      "system from the metered data; signing confirms they "
                                      "were reviewed."),
            Signatures(SIGNERS))
    return doc


def write(store, report: dict, path) -> dict:
    """The PDF of a period report (``reports.build`` or ``generate``) at
    ``path``; its charts as PNG in '<path stem>_charts/' beside it. Returns
    the paths of the PDF and of the charts."""
    path = Path(path)
    baseline = baselines.get(store, report["equipment"], report["source"],
                             report["baseline_version"])
    chart_dir = path.with_name(path.stem + "_charts")
    charts = {"daily": figures.daily_chart(store, report, chart_dir),
              "cusum": figures.cusum_file(store, report, chart_dir)}
    pdf.write(month_document(report, baseline, investigation(store, report), charts), path)
    return {"pdf": path, "charts": charts}
