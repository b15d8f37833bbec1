"""``enms alerts``: list, evaluate, acknowledge and re-send alerts.

    enms alerts                                   # open alerts, most severe first
    enms alerts --status all --json
    enms alerts evaluate --period 2025            # or --from 2025-03-01 --to 2025-05-31
    enms alerts show 12
    enms alerts ack 12 --by "A. Engineer" --comment "leak on line 3 found and fixed"
    enms alerts notify                            # send again what failed to send

``evaluate`` exits 3 when the alerts were stored but a notification failed
(one line per notifier on stderr); the alerts stay stored.
"""
import getpass
import json
import sys

from .. import alerts
from ..periods import label, period_bounds
from . import output
from .args import add_period


def register(sub, common) -> None:
    """Add ``alerts`` to the ``enms`` subcommands."""
    p = sub.add_parser("alerts", parents=[common],
                       help="alerts: deviations, CUSUM alarms, data-quality drops, missing data")
    p.add_argument("--status", choices=("open", "acknowledged", "all"), default="open",
                   help="which alerts to list (default: open)")
    p.add_argument("--kind", choices=alerts.KINDS, help="only this kind")
    p.add_argument("--subject", help="only this SEU (equipment name), meter or driver")
    p.add_argument("--severity", choices=alerts.SEVERITIES, help="this severity or higher")
    p.set_defaults(func=cmd_list)
    actions = p.add_subparsers(dest="alerts_action", metavar="ACTION")

    ev = actions.add_parser("evaluate", parents=[common],
                            help="raise or update the alerts of the months of a period")
    add_period(ev)
    ev.add_argument("--no-notify", action="store_true", help="store the alerts, send nothing")
    ev.set_defaults(func=cmd_evaluate)

    show = actions.add_parser("show", parents=[common], help="one alert with its evidence")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)

    ack = actions.add_parser("ack", parents=[common],
                             help="acknowledge an alert with what was found and done")
    ack.add_argument("id", type=int)
    ack.add_argument("--by", help="who acknowledges it (default: the login name)")
    ack.add_argument("--comment", help="required: the investigation's finding and action")
    ack.set_defaults(func=cmd_ack)

    again = actions.add_parser("notify", parents=[common],
                               help="send again the open alerts whose notification failed")
    again.set_defaults(func=cmd_notify)


def _rows(found: list[dict]) -> list[dict]:
    rows = []
    for a in found:
        row = {"alert": a["id"], "severity": a["severity"], "kind": a["kind"],
               "subject": a["subject"], "period": a["period"], "status": a["status"],
               "what": a["message"]}
        if a["status"] == "acknowledged":
            row["status"] = f"acknowledged by {a['acknowledged_by']} " \
                            f"{a['acknowledged_at']:%Y-%m-%d}"
        rows.append(row)
    return rows


def _counts(found: list[dict]) -> str:
    by = {}
    for a in found:
        by[a["severity"]] = by.get(a["severity"], 0) + 1
    return ", ".join(f"{by[s]} {s}" for s in reversed(alerts.SEVERITIES) if s in by)


def cmd_list(store, args):
    found = alerts.list_alerts(store, args.status, kind=args.kind, subject=args.subject,
                               severity=args.severity)
    if args.json:
        return found
    what = {"open": "open alerts", "acknowledged": "acknowledged alerts",
            "all": "alerts"}[args.status]
    if not found:
        output.console.print(f"no {what}")
        return 0
    output.console.print(f"{len(found)} {what}: {_counts(found)}")
    output.print_rows(_rows(found))
    return 0


def cmd_evaluate(store, args):
    first, last = period_bounds(args.period, args.first, args.last)
    result = alerts.evaluate(store, first, last, notifiers=[] if args.no_notify else None)
    errors = result["notifications"]["errors"]
    if args.json:
        print(json.dumps(result, default=str, indent=2))
    else:
        until = result["data_until"]
        note = f" (readings until {until})" if until and until < result["last"] else ""
        output.console.print(
            f"alerts {label(result['first'], result['last'])}{note}: {len(result['new'])} new, "
            f"{len(result['updated'])} updated, {result['unchanged']} unchanged")
        changed = result["new"] + result["updated"]
        if changed:
            output.print_rows(_rows(changed), "new and updated alerts")
        for skip in result["skipped"]:
            where = f" {skip['period']}" if skip["period"] else ""
            output.console.print(f"  not evaluated: {skip['subject']}{where}: {skip['reason']}",
                                 markup=False, highlight=False)
        sent = result["notifications"]["sent"]
        if sent:
            output.console.print(f"{sent} notification{'s' if sent != 1 else ''} sent")
    for line in errors:
        print(f"enms: warning: {line}", file=sys.stderr)
    return 3 if errors else 0


def cmd_show(store, args):
    alert = alerts.get(store, args.id)
    if args.json:
        return alert
    _print_alert(alert)
    return 0


def _print_alert(a: dict) -> None:
    output.console.print(f"[bold]alert {a['id']}[/bold] {a['severity']} {a['kind']}: "
                         f"{a['subject']} {a['period']} ({a['status']})")
    output.console.print(f"  {a['message']}", markup=False, highlight=False)
    if a["seu"] and a["seu"] != a["subject"]:
        output.console.print(f"  SEU: {a['seu']}", markup=False, highlight=False)
    output.console.print(f"  raised {a['created_at']:%Y-%m-%d %H:%M} UTC, evidence updated "
                         f"{a['updated_at']:%Y-%m-%d %H:%M} UTC, last seen "
                         f"{a['last_seen_at']:%Y-%m-%d %H:%M} UTC")
    if a["status"] == "acknowledged":
        output.console.print(f"  acknowledged by {a['acknowledged_by']} on "
                             f"{a['acknowledged_at']:%Y-%m-%d %H:%M} UTC: {a['comment']}",
                             markup=False, highlight=False)
    output.console.print("  evidence:")
    output.console.print(json.dumps(a["evidence"], indent=2, default=str), markup=False,
                         highlight=False)
    for name, record in a["notifications"].items():
        state = f"sent {record['sent_at']}" if "sent_at" in record else \
            f"failed {record.get('at')}: {record.get('error')}"
        output.console.print(f"  notifier {name}: {state}", markup=False, highlight=False)


def cmd_ack(store, args):
    alert = alerts.acknowledge(store, args.id, args.by or getpass.getuser(), args.comment)
    if args.json:
        return alert
    output.console.print(f"alert {alert['id']} acknowledged by {alert['acknowledged_by']}: "
                         f"{alert['comment']}", markup=False, highlight=False)
    return 0


def cmd_notify(store, args):
    result = alerts.retry_notifications(store)
    if args.json:
        print(json.dumps(result, default=str, indent=2))
    elif not result["notifiers"]:
        output.console.print("no notifier configured (docs/user-guide.md section 11)")
    else:
        output.console.print(f"{result['retried']} alert(s) to send again, "
                             f"{result['sent']} notification(s) sent")
    for line in result["errors"]:
        print(f"enms: warning: {line}", file=sys.stderr)
    return 3 if result["errors"] else 0
