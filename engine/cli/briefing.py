"""``enms briefing``: the shift-handover briefing of the last (or current) shift.

    enms briefing                                # the last shift that ended
    enms briefing --shift current                # the shift under way, up to the last full hour
    enms briefing --at 2025-10-31T22:00 --json   # as at that site-local time
    enms briefing --shift-starts 07:00,19:00     # a two-shift plant

Shift start times are site-local clock times: ``--shift-starts``, else the
environment variable ``ENMS_SHIFT_STARTS``, else 06:00,14:00,22:00.
"""
import os

from .. import briefing
from . import output


def register(sub, common) -> None:
    """Add ``briefing`` to the ``enms`` subcommands."""
    p = sub.add_parser("briefing", parents=[common],
                       help="shift handover: energy against expected per SEU, alerts, "
                            "CUSUM alarms, data problems")
    p.add_argument("--shift", choices=briefing.SHIFTS, default="last",
                   help="the last shift that ended (default) or the one under way")
    p.add_argument("--at", metavar="ISO-TIME",
                   help="as at this time (site-local unless it carries an offset; default now)")
    p.add_argument("--site", help="the site (needed only when there are several)")
    p.add_argument("--shift-starts", metavar="HH:MM,...",
                   default=os.environ.get("ENMS_SHIFT_STARTS"),
                   help="shift start times, site-local (default $ENMS_SHIFT_STARTS or "
                        f"{','.join(briefing.DEFAULT_SHIFT_STARTS)})")
    p.set_defaults(func=cmd_briefing)


def cmd_briefing(store, args):
    result = briefing.build(store, args.shift, at=args.at, site=args.site,
                            shift_starts=args.shift_starts)
    if args.json:
        return result
    print_briefing(result)
    return 0


def _number(value, unit: str = "") -> str:
    if value is None:
        return "missing"
    return f"{value:,.0f} {unit}".strip() if abs(value) >= 100 else f"{value:,.1f} {unit}".strip()


def print_briefing(b: dict) -> None:
    shift = b["shift"]
    when = f"{shift['start'][:16].replace('T', ' ')} to {shift['until'][11:16]}"
    head = f"{b['site']}: {shift['which']} shift, {when} ({b['timezone']})"
    if shift["in_progress"]:
        head += ", in progress"
    output.console.print(head)
    if b["stale"]:
        output.console.print(f"[bold]the newest meter data end {b['data_end'][:16].replace('T', ' ')}"
                             f", {b['behind_h'] / 24:,.1f} days before the asked time[/bold]")
    output.print_rows([{
        "SEU": r["seu"], "actual": _number(r["actual"], r["unit"]),
        "expected": _number(r["expected"], r["unit"]),
        "deviation kWh": None if r["deviation_kwh"] is None else round(r["deviation_kwh"], 1),
        "deviation %": None if r["deviation_pct"] is None else round(r["deviation_pct"], 1),
        "outside 95 %": {True: "yes", False: "no", None: "-"}[r["outside_range"]],
        "missing": r["missing"] or ""} for r in b["seus"]], "energy against expected")
    output.print_rows([{"#": a["id"], "severity": a["severity"], "kind": a["kind"],
                        "subject": a["subject"], "period": a["period"]} for a in b["alerts"]],
                      "open alerts")
    output.print_rows([{"SEU": a["seu"], "direction": a["direction"], "since": a["since"],
                        "evaluated": a["period"], "alert": a["alert_id"]}
                       for a in b["cusum_alarms"]], "CUSUM alarms")
    data = b["data_quality"]
    output.print_rows([{"name": f["name"], "kind": f["kind"], "severity": f["severity"],
                        "from": f["start_local"], "to": f["end_local"]} for f in data["findings"]],
                      "data problems in the shift")
    if data["missing_meters"]:
        output.console.print(f"hours missing in the shift: {', '.join(data['missing_meters'])}")
    if data["not_scanned"]:
        output.console.print(f"not scanned for data quality yet: {', '.join(data['not_scanned'])}"
                             " (enms quality)")
