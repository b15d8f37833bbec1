"""``enms audit log``: the append-only audit trail, read-only.

    enms audit log                                   # everything, oldest first
    enms audit log --since 2025-03-01 --until 2025-03-31
    enms audit log --actor e.engineer --action baseline --json
    enms audit log --entity "Boiler-1 natural_gas" --limit 20

Days are UTC days, both ends included. ``--action baseline`` matches every
baseline action (baseline.train, baseline.adjust); ``--action
baseline.adjust`` only that one. No command changes or deletes a record.
"""
from rich.markup import escape

from .. import audit
from . import output
from .args import parse_date

# Values longer than this are cut in the table (--json shows them whole).
_CELL_CHARS = 60


def register(sub, common) -> None:
    """Add ``audit`` to the ``enms`` subcommands."""
    p = sub.add_parser("audit", parents=[common],
                       help="the append-only audit trail: who changed what, when and why")
    actions = p.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    log = actions.add_parser("log", parents=[common], help="list audit records, oldest first")
    log.add_argument("--since", type=parse_date, help="first day (UTC), YYYY-MM-DD")
    log.add_argument("--until", type=parse_date, help="last day (UTC), included")
    log.add_argument("--actor", help="only this actor (e.g. e.engineer, cli:alice)")
    log.add_argument("--action", help="an action (baseline.adjust) or an area (baseline)")
    log.add_argument("--entity", help="only this entity (e.g. 'Boiler-1 natural_gas', M-1)")
    log.add_argument("--limit", type=int, help="only the newest N records")
    log.set_defaults(func=cmd_audit_log)


def _short(value) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= _CELL_CHARS else text[:_CELL_CHARS - 3] + "..."


def describe_change(before, after) -> str:
    """What changed, in one line: 'interval_s: 3600 -> 900'; an addition lists its values."""
    before = {} if before is None and isinstance(after, dict) else before
    after = {} if after is None and isinstance(before, dict) else after
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return f"{_short(before)} -> {_short(after)}"
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return "; ".join(f"{k}: {_short(before[k])} -> {_short(after.get(k))}" if k in before
                     else f"{k}: {_short(after[k])}" for k in keys)


def cmd_audit_log(store, args):
    rows = audit.log(store, since=args.since, until=args.until, actor=args.actor,
                     action=args.action, entity=args.entity, limit=args.limit)
    if args.json:
        return rows
    output.print_rows([{"at (UTC)": f"{r['at']:%Y-%m-%d %H:%M:%S}", "actor": r["actor"],
                        "action": r["action"],
                        # Names, formulas ('[kWh/day]') and reasons are text, not markup.
                        "entity": escape(f"{r['entity_kind']} {r['entity']}"),
                        "change": escape(describe_change(r["before"], r["after"])),
                        "reason": escape(r["reason"] or "")} for r in rows], "audit records")
    return None
