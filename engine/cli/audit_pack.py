"""``enms audit-pack``, ``enms policy`` and the PDF of ``enms report --pdf``.

    enms audit-pack --year 2025 --out audit-2025/
    enms policy template > policy.md        # fill in the blanks
    enms policy set policy.md --approved-by "A. Director" --approved-on 2025-01-15
    enms policy show [--version N]
    enms report Boiler-1 --source natural_gas --period 2025-03 --pdf boiler-2025-03.pdf

The PDF modules (matplotlib, reportlab: the ``reports`` extra) are imported
only when one of these runs.
"""
from pathlib import Path

from .. import policy
from ..errors import EnmsError
from . import output
from .args import parse_date


def register(sub, common) -> None:
    """Add ``audit-pack`` and ``policy`` to the ``enms`` subcommands."""
    p = sub.add_parser("audit-pack", parents=[common],
                       help="the ISO 50001 audit package of a year (PDF, Markdown, figures)")
    p.add_argument("--year", type=int, required=True, help="the calendar year, e.g. 2025")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p.set_defaults(func=cmd_audit_pack)

    pol = sub.add_parser("policy", parents=[common], help="the energy policy, in versions")
    actions = pol.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = actions.add_parser("template", parents=[common], help="print the template to fill in")
    t.set_defaults(func=cmd_policy_template)
    s = actions.add_parser("set", parents=[common], help="record a filled-in policy as a new version")
    s.add_argument("file", help="the policy text (Markdown or plain text)")
    s.add_argument("--approved-by", help="who approved it (top management)")
    s.add_argument("--approved-on", type=parse_date, help="when, YYYY-MM-DD")
    s.add_argument("--by", help="who records it (default: the login name)")
    s.set_defaults(func=cmd_policy_set)
    show = actions.add_parser("show", parents=[common], help="a version (default: the newest)")
    show.add_argument("--version", type=int)
    show.set_defaults(func=cmd_policy_show)
    h = actions.add_parser("history", parents=[common], help="every version")
    h.set_defaults(func=cmd_policy_history)


def _out_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise EnmsError(f"--out {text}: exists and is not a folder")
    return path


def cmd_audit_pack(store, args):
    from .. import audit_pack
    out = _out_dir(args.out)
    result = audit_pack.build(store, args.year, out)
    summary = {"year": result["year"], "period": f"{result['first']} to {result['last']}",
               "pdf": str(result["pdf"]), "markdown": str(result["markdown"]),
               "figures": len(result["figures"]), "sections": result["sections"],
               "monthly reports": result["reports"], "months not reported": result["skipped"]}
    if args.json:
        return {**summary, "figures": [str(p) for p in result["figures"]]}
    output.print_mapping(summary)
    return 0


def write_report_pdf(store, report: dict, path: str) -> dict:
    """``enms report ... --pdf FILE``: the report as a PDF to sign, with its charts."""
    from .. import report_pdf
    target = Path(path)
    if target.suffix.lower() != ".pdf":
        raise EnmsError(f"--pdf {path}: the file name must end in .pdf")
    if not target.parent.is_dir():
        raise EnmsError(f"--pdf {path}: the folder {target.parent} does not exist")
    done = report_pdf.write(store, report, target)
    return {"pdf": str(done["pdf"]), "charts": [str(p) for p in done["charts"].values()]}


def cmd_policy_template(store, args):
    print(policy.TEMPLATE, end="")
    return 0


def cmd_policy_set(store, args):
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnmsError(f"{args.file}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    result = policy.record(store, text, recorded_by=args.by, approved_by=args.approved_by,
                           approved_on=args.approved_on)
    if args.json:
        return result
    output.print_mapping({k: v for k, v in result.items() if k != "text"})
    return 0


def cmd_policy_show(store, args):
    result = policy.get(store, args.version)
    if args.json:
        return result
    print(result["text"], end="")
    output.print_mapping({k: v for k, v in result.items() if k != "text"})
    return 0


def cmd_policy_history(store, args):
    rows = [{k: v for k, v in r.items() if k not in ("text", "unfilled")}
            for r in policy.history(store)]
    if args.json:
        return rows
    output.print_rows(rows, "energy policy versions")
    return 0
