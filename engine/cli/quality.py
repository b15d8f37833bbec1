"""``enms quality``: scan meters and drivers for data-quality problems and score them.

    enms quality --period 2025-05                   # every meter and driver
    enms quality --meter M-Boiler-1-NG --period 2024-11 --json
    enms quality --driver outdoor_temp_c --from 2025-02-01 --to 2025-02-28
    enms quality --meter M-Boiler-1-NG --period 2024-11 --estimate-gaps

The scan writes its scores and findings to the data-quality log (a rerun
replaces the days it covers) unless ``--no-save``.
"""

from .. import quality
from ..errors import EnmsError
from ..periods import label, period_bounds
from . import output
from .args import add_period

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def register(sub, common) -> None:
    """Add ``quality`` to the ``enms`` subcommands."""
    p = sub.add_parser("quality", parents=[common],
                       help="data quality: gaps, outliers, stuck meters, missing drivers, scores")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--meter", action="append", help="a meter (repeat for more)")
    who.add_argument("--driver", action="append", help="a driver (repeat for more)")
    who.add_argument("--all", action="store_true", help="every meter and driver (the default)")
    add_period(p)
    p.add_argument("--no-save", action="store_true",
                   help="do not write the result to the data-quality log")
    p.add_argument("--estimate-gaps", action="store_true",
                   help="with --meter: linear estimates for short gaps (shown, never stored)")
    p.set_defaults(func=cmd_quality)


def cmd_quality(store, args):
    first, last = period_bounds(args.period, args.first, args.last)
    if args.estimate_gaps:
        if not args.meter:
            raise EnmsError("--estimate-gaps needs --meter NAME")
        result = [quality.estimate_gaps(store, m, first, last) for m in args.meter]
        if args.json:
            return result
        for r in result:
            _print_estimates(r)
        return 0
    result = quality.scan(store, first, last, meters=args.meter, drivers=args.driver,
                          write=not args.no_save)
    if args.json:
        return result
    _print_scan(result, label(first, last), saved=not args.no_save)
    return 0


def _print_scan(result: dict, period: str, saved: bool) -> None:
    entities = result["entities"]
    if not entities:
        output.console.print(f"nothing to scan for {period} (no meters or drivers, or the "
                             "period has not ended a day yet)")
        return
    scanned_to = result["period"]["scanned_to"]
    note = "" if scanned_to == result["period"]["last"] else f", days up to {scanned_to}"
    counts = [(sum(e["kind"] == kind for e in entities), kind) for kind in ("meter", "driver")]
    what = " and ".join(f"{n} {kind}{'s' if n != 1 else ''}" for n, kind in counts if n)
    output.console.print(f"data quality {period}{note}: {what} scanned in "
                         f"{result['runtime_s']:.2f} s")
    rows = []
    for e in entities:
        kinds = {}
        for f in e["findings"]:
            kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        rows.append({"kind": e["kind"], "name": e["name"],
                     "score": None if e["score"] is None else round(e["score"], 4),
                     "completeness": None if e["completeness"] is None
                     else f"{100 * e['completeness']:.1f} %",
                     "findings": ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "-"})
    output.print_rows(rows, "scores (1 = every second received and plausible)")
    findings = [f for e in entities for f in e["findings"]]
    if not findings:
        output.console.print("no findings")
    else:
        findings.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], f["start"], f["name"]))
        output.print_rows([{"severity": f["severity"], "name": f["name"], "finding": f["kind"],
                            "from (local)": f["start_local"], "to (local)": f["end_local"],
                            "what": f["message"]} for f in findings], "findings")
    if saved:
        output.console.print("scores and findings saved in the data-quality log")


def _print_estimates(r: dict) -> None:
    output.console.print(f"{r['meter']} {r['first']}..{r['last']}: gaps of up to "
                         f"{r['max_gap_s'] // r['interval_s']} intervals estimated by linear "
                         "interpolation (estimates only, nothing stored)")
    output.print_rows([{"from (local)": g["start_local"], "to (local)": g["end_local"],
                        "rule": g["rule"], "estimate": f"{g['total']:,.4g} {g['unit']}"}
                       for g in r["estimated"]], "estimated gaps")
    if r["not_estimated"]:
        output.print_rows([{"from (local)": g["start_local"], "to (local)": g["end_local"],
                            "why not": g["reason"]} for g in r["not_estimated"]],
                          "gaps not estimated")
