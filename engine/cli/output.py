"""Terminal output for ``enms``: tables, progress bars, import reports."""
import sys
from datetime import datetime, timezone

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn
from rich.table import Table

# Piped output (logs, CI) gets a wide page instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def print_rows(rows: list[dict], title: str | None = None) -> None:
    if not rows:
        console.print(f"no {title or 'rows'}")
        return
    table = Table(title=title)
    keys = [k for k in rows[0] if k != "id"]
    for i, key in enumerate(keys):
        table.add_column(key, no_wrap=i == 0)  # names stay whole; other columns wrap
    for row in rows:
        table.add_row(*[_cell(row.get(k)) for k in keys])
    console.print(table)


def print_mapping(mapping: dict) -> None:
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in mapping.items():
        if key == "id":
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            # e.g. a source's columns: "consumption_m3 [m3] energy"
            value = "\n".join(" ".join(_cell(v) for k, v in item.items() if k != "id")
                               for item in value)
        table.add_row(key, _cell(value))
    console.print(table)


def _when(ts) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def print_summary(summary: dict) -> None:
    console.print(f"database: {summary['database']}")
    print_rows([{"kind": k, "count": v} for k, v in summary["catalog"].items()], "catalog")
    rows = []
    for name, info in summary["readings"].items():
        rows.append({"table": name, "rows": f"{info['rows']:,}",
                     "from": info.get("first_day") or _when(info.get("first_ts")),
                     "to": info.get("last_day") or _when(info.get("last_ts"))})
    print_rows(rows, "readings and rollups")


def print_import(report, reject_lines: list[str]) -> None:
    state = "loaded" if report.loaded else "NOTHING loaded (strict mode)"
    console.print(f"{report.file}: {state}: {report.rows_read:,} rows read, "
                  f"{report.rows_inserted:,} new, {report.rows_duplicate:,} already stored, "
                  f"{len(report.rejects):,} rejected")
    for note in report.notes[:10]:
        console.print(f"  note: {note}")
    for line in reject_lines:
        err_console.print(line, markup=False, highlight=False)
    if report.rejects_file:
        console.print(f"rejected rows written to {report.rejects_file}")


class Progress:
    """A progress bar on a terminal; plain lines otherwise (logs, tests)."""

    def __init__(self, label: str, quiet: bool = False, total: int | None = None):
        self.label, self.quiet, self.total = label, quiet, total
        self.tty = sys.stderr.isatty()
        self._bar = None

    def __enter__(self):
        if self.tty and not self.quiet:
            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), console=err_console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or self.total)
        elif not self.quiet:
            print(f"{self.label}: {done:,} rows", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()


def print_demo(store, summary: dict) -> None:
    """What the demo built: sources, equipment, SEUs, drivers, readings, dates."""
    from .. import catalog
    print_rows([{k: s[k] for k in ("name", "unit", "kwh_per_unit", "co2_kg_per_unit",
                                   "tariff_per_unit")}
                for s in catalog.list_entries(store, "energy source")], "energy sources")
    print_rows([{k: e[k] for k in ("name", "type", "rated_power_kw")}
                for e in catalog.list_entries(store, "equipment")], "equipment")
    print_rows([{"SEU": s["name"], "unit": s["unit"], "meters": s["meters"],
                 "drivers": s["drivers"]} for s in catalog.list_entries(store, "seu")], "SEUs")
    print_rows([{k: d[k] for k in ("name", "unit", "rollup", "kind", "product")}
                for d in catalog.list_entries(store, "driver")], "drivers")
    print_summary(summary)
    console.print(f"ground truth: {summary['ground_truth']}")


_PER = {"day": "daily", "week": "weekly", "month": "monthly"}


def print_baseline(b: dict) -> None:
    """A baseline version: formula, fit statistics, coefficients, warnings."""
    st = b["statistics"]
    console.print(f"[bold]{b['seu']}[/bold] baseline v{b['version']} ({b['status']}), "
                  f"{b['model']} model, {_PER[b['interval']]}, trained on {b['period']} "
                  f"({b['n_used']} of {b['n_total']} {b['interval']}s used)")
    console.print(b["formula"], markup=False, highlight=False)
    console.print(f"R2 {st['r2']:.3f}, adjusted R2 {st['adj_r2']:.3f}, CV(RMSE) "
                  f"{st['cv_rmse_pct']:.1f} %, F-test p {st['f_p_value']:.2g}, n {st['n']}, "
                  f"residual lag-1 autocorrelation {st['autocorrelation_lag1']:.2f}")
    rows = [{"term": "intercept", "coefficient": st["intercept"],
             "std error": st["intercept_standard_error"], "t": st["intercept_t"],
             "p": st["intercept_p_value"], "VIF": None}]
    for i, name in enumerate(st["names"]):
        rows.append({"term": name, "coefficient": st["coefficients"][i],
                     "std error": st["standard_errors"][i], "t": st["t_values"][i],
                     "p": st["p_values"][i], "VIF": st["vif"][i]})
    print_rows(rows)
    for w in b["warnings"]:
        console.print(f"warning: {w['message']}", markup=False, highlight=False)
    if b.get("static_adjustment"):
        adj = b["static_adjustment"]
        console.print(f"static adjustment: expected x {adj['scale']:g} + {adj['add']:g} per "
                      f"{b['interval']}")
    if len(b.get("ranking", [])) > 1:
        print_rows([{"model": r["model"], "drivers": r["drivers"], "valid": r["valid"],
                     "R2": r["r2"], "adj R2": r["adj_r2"]} for r in b["ranking"][:8]],
                   "models compared (best first)")


def print_expected(e: dict) -> None:
    unit = e["unit"]
    state = "significant" if e["significant"] else "within the interval"
    console.print(f"[bold]{e['seu']}[/bold] {e['period']} (baseline v{e['baseline_version']}, "
                  f"{e['intervals_used']} of {e['intervals_total']} {e['interval']}s):")
    console.print(f"  actual {e['actual']:,.1f} {unit}, expected {e['expected']:,.1f} {unit} "
                  f"({100 * e['confidence']:.0f} % interval {e['lower']:,.1f} to {e['upper']:,.1f})")
    console.print(f"  deviation {e['deviation']:+,.1f} {unit} ({e['deviation_pct']:+.1f} %), {state}")
    for x in e["excluded"][:5]:
        console.print(f"  left out {x['interval']}: {x['reason']}", markup=False, highlight=False)


def print_report(r: dict) -> None:
    """One SEU-period report as a plant manager reads it."""
    unit = r["unit"]
    state = "significant" if r["significant"] else "within the 95 % interval"
    console.print(f"[bold]{r['seu']}[/bold] {r['period']} (baseline v{r['baseline_version']}, "
                  f"trained on {r['baseline_period']})")
    console.print(f"  actual   {r['actual']:,.1f} {unit} ({r['actual_kwh']:,.0f} kWh)")
    console.print(f"  expected {r['expected']:,.1f} {unit} (95 % interval {r['lower']:,.1f} to "
                  f"{r['upper']:,.1f})")
    console.print(f"  deviation {r['deviation']:+,.1f} {unit} ({r['deviation_pct']:+.1f} %), {state}; "
                  f"SEnPI {r['senpi']:.3f}")
    c = r["cusum"]
    alarms = ", ".join(f"{a['direction']} (week of {a['week_of']})" for a in c["alarms"][-3:])
    judged = f", weeks judged to {c['judged_to']}" if c.get("judged_to") else ""
    console.print(f"  CUSUM since {c['since']}: {c['to_date']:+,.1f} {unit}"
                  + (f"; alarms: {alarms}" if alarms else "; no alarm") + judged)
    for e in r["enpi"] + r["output_indicators"]:
        console.print(f"  EnPI {e['name']}: {e['value']:.4g}")
    values = ", ".join(f"{k} {_cell(v)}" for k, v in r["drivers"].items())
    console.print(f"  drivers: {values}", markup=False, highlight=False)
    if r["product_mix"]:
        shares = ", ".join(f"{k} {100 * v:.0f} %" for k, v in r["product_mix"]["shares"].items())
        factor = r["product_mix"].get("factor")
        console.print(f"  product mix: {shares}" + (f"; mix factor {factor:.3f}" if factor else ""))
    console.print(f"  data used: {r['intervals_used']} of {r['intervals_total']} "
                  f"{r.get('interval', 'interval')}s ({100 * r['completeness']:.0f} %)")
    q = r.get("data_quality")
    if q:
        inputs = ", ".join(f"{i['name']} {_cell(i['score'])}" for i in q["inputs"])
        console.print(f"  data quality {_cell(q['score'])} (lowest of: {inputs})",
                      markup=False, highlight=False)
        for f in q["findings"][:8]:
            console.print(f"    {f['severity']} {f['kind']} {f['name']} {f['from']} to {f['to']}: "
                          f"{f['message']}", markup=False, highlight=False)
        if len(q["findings"]) > 8:
            console.print(f"    and {len(q['findings']) - 8} more findings (--json lists all)")
    if r.get("estimates") is not None:
        e = r["estimates"]
        console.print(f"  estimates: {e['note']}", markup=False, highlight=False)
        for x in e.get("rows", []):  # what each named rule filled
            console.print(f"    {x['meter']} {x['from']} to {x['to']}: {x['rule']} "
                          f"{_cell(x['energy'])} {r['unit']}", markup=False, highlight=False)
