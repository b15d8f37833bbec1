"""The ``enms`` command: the engine's functions for a terminal.

Every command that prints results takes ``--json``. Errors are one line on
stderr and a non-zero exit code: 2 for bad input or a failed request, 3 for an
import that loaded its good rows but rejected some, 1 for an internal error
(``--debug`` shows its traceback).
"""
import argparse
import json
import sys

from .. import EnmsError, Store, baselines, catalog, ingest, queries, reports
from ..periods import period_bounds
from . import output
from .args import add_period, parse_date

KIND_ALIASES = {
    "site": "site", "sites": "site", "source": "energy source", "sources": "energy source",
    "energy-source": "energy source", "equipment": "equipment", "meter": "meter",
    "meters": "meter", "seu": "seu", "seus": "seu", "driver": "driver", "drivers": "driver",
    "product": "product", "products": "product",
}


def _column_spec(text: str) -> dict:
    """'consumption_m3:m3:energy' or 'pressure_bar:bar'."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"column {text!r}: use NAME:UNIT or NAME:UNIT:energy")
    return {"name": parts[0], "unit": parts[1], "kind": parts[2] if len(parts) == 3 else "measure"}


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


# Accepted after any subcommand too ("enms catalog list seus --json").
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                    help="print machine-readable JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enms", description="Voice-first ISO 50001 energy management system.")
    parser.add_argument("--db", help="database URL or SQLite path "
                        "(default: $ENMS_DATABASE_URL, else an SQLite file in the user data dir)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[COMMON], help="build the demo factory (2024 baseline year, Jan-Oct 2025)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--force", action="store_true",
                      help="erase the whole database and build the demo again")
    demo.set_defaults(func=cmd_demo)

    status = sub.add_parser("status", parents=[COMMON], help="what the database holds")
    status.set_defaults(func=cmd_status)

    cat = sub.add_parser("catalog", parents=[COMMON], help="energy sources, equipment, meters, SEUs, drivers")
    cat_sub = cat.add_subparsers(dest="action", required=True, metavar="ACTION")
    lst = cat_sub.add_parser("list", parents=[COMMON], help="list entries of one kind")
    lst.add_argument("kind", choices=sorted(KIND_ALIASES), metavar="KIND",
                     help="sites, sources, equipment, meters, seus, drivers, products")
    lst.set_defaults(func=cmd_catalog_list)
    show = cat_sub.add_parser("show", parents=[COMMON], help="one entry in full")
    show.add_argument("kind", choices=sorted(KIND_ALIASES), metavar="KIND")
    show.add_argument("name", help="its name (for an SEU: the equipment; add --source)")
    show.add_argument("--source", help="energy source, for an SEU")
    show.set_defaults(func=cmd_catalog_show)
    add = cat_sub.add_parser("add", parents=[COMMON], help="add an entry")
    add_sub = add.add_subparsers(dest="kind", required=True, metavar="KIND")

    p = add_sub.add_parser("site", parents=[COMMON], help="a site and its time zone")
    p.add_argument("name")
    p.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Berlin")
    p.set_defaults(func=lambda store, a: catalog.add_site(store, a.name, a.timezone))

    p = add_sub.add_parser("source", parents=[COMMON], help="an energy source (creates its readings table)")
    p.add_argument("name", help="e.g. natural_gas")
    p.add_argument("--unit", required=True, help="native unit, e.g. m3")
    p.add_argument("--kwh-per-unit", type=float, required=True, help="conversion factor to kWh")
    p.add_argument("--column", type=_column_spec, action="append", required=True,
                   help="NAME:UNIT[:energy]; exactly one energy column (repeat the option)")
    p.add_argument("--co2-kg-per-unit", type=float, default=0.0)
    p.add_argument("--tariff-per-unit", type=float, default=0.0)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--description", default="")
    p.set_defaults(func=lambda store, a: catalog.add_energy_source(
        store, a.name, a.unit, a.kwh_per_unit, a.column, a.co2_kg_per_unit,
        a.tariff_per_unit, a.currency, a.description))

    p = add_sub.add_parser("column", parents=[COMMON], help="a measurement column on an existing source")
    p.add_argument("source")
    p.add_argument("name")
    p.add_argument("--unit", required=True)
    p.set_defaults(func=lambda store, a: catalog.add_source_column(store, a.source, a.name, a.unit))

    p = add_sub.add_parser("equipment", parents=[COMMON], help="a piece of equipment")
    p.add_argument("name")
    p.add_argument("--type", default="")
    p.add_argument("--rated-power-kw", type=float)
    p.add_argument("--description", default="")
    p.add_argument("--site")
    p.add_argument("--responsible", help="who answers for its energy performance (energy review)")
    p.set_defaults(func=lambda store, a: catalog.add_equipment(
        store, a.name, a.type, a.rated_power_kw, a.description, a.site,
        responsible=a.responsible))

    p = add_sub.add_parser("meter", parents=[COMMON], help="a meter: one source on one equipment")
    p.add_argument("name")
    p.add_argument("--equipment", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--interval-s", type=int, help="nominal reading interval [s]")
    p.add_argument("--counter-max", type=float, help="register value at which a counter rolls over")
    p.add_argument("--description", default="")
    p.set_defaults(func=lambda store, a: catalog.add_meter(
        store, a.name, a.equipment, a.source, a.interval_s, a.counter_max, a.description))

    p = add_sub.add_parser("driver", parents=[COMMON], help="a relevant variable (measured or degree days)")
    p.add_argument("name", help="e.g. production_count")
    p.add_argument("--unit", required=True)
    p.add_argument("--rollup", choices=catalog.ROLLUPS, default="sum",
                   help="how readings roll up to a day (default sum)")
    p.add_argument("--from", dest="derived_from", help="temperature driver, for degree days")
    p.add_argument("--derivation", choices=catalog.DERIVATIONS)
    p.add_argument("--base-temp", type=float, help="degree-day base temperature [C]")
    p.add_argument("--product", help="the product this count belongs to")
    p.add_argument("--description", default="")
    p.set_defaults(func=lambda store, a: catalog.add_driver(
        store, a.name, a.unit, a.rollup, a.description, a.derived_from, a.derivation,
        a.base_temp, a.product))

    p = add_sub.add_parser("product", parents=[COMMON], help="a product, for product-mix plants")
    p.add_argument("name")
    p.add_argument("--unit", default="units")
    p.add_argument("--description", default="")
    p.set_defaults(func=lambda store, a: catalog.add_product(store, a.name, a.unit, a.description))

    p = add_sub.add_parser("seu", parents=[COMMON], help="a significant energy use: equipment x source")
    p.add_argument("equipment")
    p.add_argument("--source", required=True)
    p.add_argument("--drivers", type=_names, default=[], help="comma-separated driver names")
    p.add_argument("--description", default="")
    p.set_defaults(func=lambda store, a: catalog.add_seu(
        store, a.equipment, a.source, a.drivers, a.description))

    p = cat_sub.add_parser("set", parents=[COMMON], help="change fields of an entry "
                           "(e.g. enms catalog set source natural_gas tariff_per_unit=0.45)")
    p.add_argument("kind", choices=sorted(KIND_ALIASES), metavar="KIND")
    p.add_argument("name")
    p.add_argument("fields", nargs="+", metavar="FIELD=VALUE")
    p.set_defaults(func=cmd_catalog_set)

    p = cat_sub.add_parser("set-drivers", parents=[COMMON], help="replace an SEU's candidate drivers")
    p.add_argument("equipment")
    p.add_argument("--source", required=True)
    p.add_argument("--drivers", type=_names, required=True)
    p.set_defaults(func=lambda store, a: catalog.set_seu_drivers(
        store, a.equipment, a.source, a.drivers))
    from .aliases import register as register_aliases  # enms catalog alias
    register_aliases(cat_sub, COMMON)

    imp = sub.add_parser("import", parents=[COMMON], help="import readings or driver values from CSV")
    imp_sub = imp.add_subparsers(dest="what", required=True, metavar="WHAT")
    for what in ("readings", "drivers"):
        p = imp_sub.add_parser(what, parents=[COMMON], help=f"import {what} from a CSV file")
        p.add_argument("file")
        if what == "readings":
            p.add_argument("--source", required=True, help="energy source of the file")
            p.add_argument("--counter", action="store_true",
                           help="the energy column holds cumulative counter values")
        p.add_argument("--strict", action="store_true",
                       help="reject the whole file if any row is bad")
        p.add_argument("--label", choices=("start", "end"), default="start",
                       help="timestamps mark the start (default) or end of each interval")
        p.set_defaults(func=cmd_import)

    roll = sub.add_parser("rollup", parents=[COMMON], help="daily or monthly series from the rollups")
    target = roll.add_mutually_exclusive_group(required=True)
    target.add_argument("--meter")
    target.add_argument("--seu", metavar="EQUIPMENT", help="an SEU's equipment (with --source)")
    target.add_argument("--driver")
    roll.add_argument("--source", help="energy source, with --seu")
    roll.add_argument("--from", dest="first", type=parse_date, required=True)
    roll.add_argument("--to", dest="last", type=parse_date, required=True)
    roll.add_argument("--interval", choices=("hour", "day", "month"), default="day")
    roll.set_defaults(func=cmd_rollup)

    base = sub.add_parser("baseline", parents=[COMMON],
                          help="train, show and adjust SEU baselines")
    base_sub = base.add_subparsers(dest="action", required=True, metavar="ACTION")

    def seu_args(p):
        p.add_argument("equipment", help="the SEU's equipment, e.g. Boiler-1")
        p.add_argument("--source", required=True, help="the SEU's energy source")

    def model_args(p):
        choice = p.add_mutually_exclusive_group()
        choice.add_argument("--drivers", type=_names, help="comma-separated driver names")
        choice.add_argument("--auto", action="store_true",
                            help="select among the SEU's candidate drivers (the default)")
        p.add_argument("--interval", choices=baselines.INTERVALS, default="day")

    p = base_sub.add_parser("train", parents=[COMMON], help="train a baseline on a period")
    seu_args(p)
    add_period(p)
    model_args(p)
    p.add_argument("--by", help="who trains it (default: the login name)")
    p.add_argument("--reason", default="initial baseline")
    p.set_defaults(func=cmd_baseline_train)

    p = base_sub.add_parser("show", parents=[COMMON], help="a baseline version in full")
    seu_args(p)
    p.add_argument("--version", type=int, help="default: the active one")
    p.set_defaults(func=cmd_baseline_show)

    p = base_sub.add_parser("history", parents=[COMMON], help="every version and adjustment")
    seu_args(p)
    p.set_defaults(func=cmd_baseline_history)

    p = base_sub.add_parser("adjust", parents=[COMMON],
                            help="a documented adjustment: adopt, retrain or static factor")
    seu_args(p)
    p.add_argument("--reason", required=True, help="why the baseline changes")
    p.add_argument("--type", dest="adjustment_type", required=True,
                   choices=baselines.ADJUSTMENT_TYPES)
    p.add_argument("--by", help="who adjusts it (default: the login name)")
    p.add_argument("--approved-by", help="who approved the adjustment")
    p.add_argument("--version", type=int, help="adopt this stored candidate version")
    add_period(p, required=False)
    model_args(p)
    p.add_argument("--static-add", type=float,
                   help="add this much energy per interval to the expectation")
    p.add_argument("--static-scale", type=float, help="multiply the expectation by this factor")
    p.set_defaults(func=cmd_baseline_adjust)

    p = base_sub.add_parser("expected", parents=[COMMON],
                            help="expected vs actual energy over a period")
    seu_args(p)
    add_period(p)
    p.add_argument("--version", type=int, help="default: the active baseline")
    p.set_defaults(func=cmd_baseline_expected)

    rep = sub.add_parser("report", parents=[COMMON],
                         help="period report of an SEU, or of every SEU x month")
    rep.add_argument("equipment", help="the SEU's equipment, or 'all' for every SEU x month")
    rep.add_argument("--source", help="the SEU's energy source")
    add_period(rep, required=False)
    rep.add_argument("--year", type=int, help="with 'all': the year")
    rep.add_argument("--months", default="1-12", help="with 'all': a month range, e.g. 1-10")
    rep.add_argument("--pdf", metavar="FILE", help="also write it as a PDF to sign, with charts")
    rep.set_defaults(func=cmd_report)

    # The voice skill as text (engine/cli/chat.py imports OVOS only when run).
    ask = sub.add_parser("ask", parents=[COMMON], help="answer one utterance with the voice skill")
    chat = sub.add_parser("chat", parents=[COMMON], help="a text conversation with the voice skill")
    from . import chat as chat_cli
    chat_cli.add_arguments(ask, chat)
    ask.set_defaults(func=lambda store, a: chat_cli.run_ask(a))
    chat.set_defaults(func=lambda store, a: chat_cli.run_chat(a))

    from .quality import register as register_quality  # enms quality
    register_quality(sub, COMMON)

    from .alerts import register as register_alerts  # enms alerts
    register_alerts(sub, COMMON)
    from .savings import register as register_savings  # enms savings
    register_savings(sub, COMMON)
    from .audit import register as register_audit  # enms audit log
    register_audit(sub, COMMON)
    from .backup import register as register_backup  # enms backup, enms restore
    register_backup(sub, COMMON)
    from .briefing import register as register_briefing  # enms briefing
    register_briefing(sub, COMMON)
    from .serve import register as register_serve  # enms serve
    register_serve(sub, COMMON)
    from .users import register as register_users  # enms user
    register_users(sub, COMMON)
    from .audit_pack import register as register_audit_pack  # enms audit-pack, enms policy
    register_audit_pack(sub, COMMON)
    from .listen import register as register_listen  # enms listen (MQTT)
    register_listen(sub, COMMON)
    from .simulate import register as register_simulate  # enms simulate (MQTT)
    register_simulate(sub, COMMON)
    from .health import register as register_health  # enms health
    register_health(sub, COMMON)
    from .service import register as register_service  # enms service install
    register_service(sub, COMMON)

    db = sub.add_parser("db", parents=[COMMON], help="database schema")
    db.add_argument("action", choices=("upgrade", "revision"))
    db.set_defaults(func=cmd_db)
    return parser


def cmd_demo(store, args):
    from .demo import run_demo
    return run_demo(store, args)


def cmd_status(store, args):
    summary = queries.summary(store)
    if args.json:
        return summary
    output.print_summary(summary)


def cmd_catalog_list(store, args):
    rows = catalog.list_entries(store, KIND_ALIASES[args.kind])
    if args.json:
        return rows
    output.print_rows(rows, title=KIND_ALIASES[args.kind])


def cmd_catalog_show(store, args):
    kind = KIND_ALIASES[args.kind]
    if kind == "seu":
        if not args.source:
            raise EnmsError("an SEU is equipment x energy source: add --source NAME")
        return catalog.get_seu(store, args.name, args.source)
    return catalog.get_entry(store, kind, args.name)


def cmd_catalog_set(store, args):
    fields = {}
    for pair in args.fields:
        field, sep, value = pair.partition("=")
        if not sep:
            raise EnmsError(f"expected FIELD=VALUE, got {pair!r}")
        fields[field.strip()] = value.strip()
    return catalog.update_entry(store, KIND_ALIASES[args.kind], args.name, fields)


def cmd_import(store, args):
    progress = output.Progress(f"importing {args.file}", quiet=args.json)
    kwargs = {"strict": args.strict, "label": args.label, "progress": progress.update}
    with progress:
        if args.what == "readings":
            report = ingest.import_readings(store, args.file, args.source,
                                            counter=args.counter, **kwargs)
        else:
            report = ingest.import_drivers(store, args.file, **kwargs)
    if args.json:
        print(json.dumps(report.as_dict(), default=str, indent=2))
    else:
        output.print_import(report, ingest.summarize_rejects(report))
    return report.exit_code


def cmd_rollup(store, args):
    if args.seu and not args.source:
        raise EnmsError("--seu needs --source (an SEU is equipment x energy source)")
    period = (args.first, args.last)
    if args.interval == "hour":
        rows = (queries.meter_hours(store, args.meter, *period) if args.meter else
                queries.seu_hours(store, args.seu, args.source, *period) if args.seu else
                queries.driver_hours(store, args.driver, *period))
    elif args.meter:
        rows = queries.meter_series(store, args.meter, *period)
    elif args.seu:
        rows = queries.seu_series(store, args.seu, args.source, *period)
    else:
        rows = queries.driver_series(store, args.driver, *period)
    if args.interval == "month":
        rule = catalog.get_entry(store, "driver", args.driver)["rollup"] if args.driver else "sum"
        rows = queries.monthly(rows, "value" if args.driver else "energy", rule)
    if args.json:
        return rows
    output.print_rows(rows)


def _period(args):
    return period_bounds(args.period, args.first, args.last)


def cmd_baseline_train(store, args):
    first, last = _period(args)
    result = baselines.train(store, args.equipment, args.source, first, last,
                             drivers=None if args.auto else args.drivers,
                             interval=args.interval, trained_by=args.by, reason=args.reason)
    if args.json:
        return result
    output.print_baseline(result)


def cmd_baseline_show(store, args):
    result = baselines.get(store, args.equipment, args.source, args.version)
    if args.json:
        return result
    output.print_baseline(result)


def cmd_baseline_history(store, args):
    rows = baselines.history(store, args.equipment, args.source)
    if args.json:
        return rows
    output.print_rows([{k: r[k] for k in ("version", "status", "model", "period", "r2",
                                          "trained_by", "trained_at", "adjustment_type",
                                          "parent_version", "reason")} for r in rows],
                      f"{catalog.seu_name(args.equipment, args.source)} baseline history")


def cmd_baseline_adjust(store, args):
    retrain = None
    if args.period or args.first:
        first, last = _period(args)
        retrain = {"first": first, "last": last, "interval": args.interval,
                   "drivers": None if args.auto else args.drivers}
    result = baselines.adjust(
        store, args.equipment, args.source, reason=args.reason,
        adjustment_type=args.adjustment_type, adjusted_by=args.by, approved_by=args.approved_by,
        version=args.version, retrain=retrain, static_add=args.static_add,
        static_scale=args.static_scale)
    if args.json:
        return result
    output.print_baseline(result)


def cmd_baseline_expected(store, args):
    first, last = _period(args)
    result = baselines.expected(store, args.equipment, args.source, first, last, args.version)
    if args.json:
        return result
    output.print_expected(result)


def cmd_report(store, args):
    if args.equipment == "all":
        if args.pdf:
            raise EnmsError("--pdf takes one SEU and period; a year of every SEU is "
                            "'enms audit-pack --year YEAR --out DIR'")
        if args.year is None:
            raise EnmsError("'enms report all' needs --year (and optionally --months 1-10)")
        low, _, high = args.months.partition("-")
        try:
            months = (int(low), int(high or low))
        except ValueError:
            raise EnmsError(f"--months: expected a range like 1-10, got {args.months!r}") from None
        if not 1 <= months[0] <= months[1] <= 12:
            raise EnmsError(f"--months: months run from 1 to 12, got {args.months!r}")
        done = reports.run(store, args.year, months)
        rows = [{"SEU": r["seu"], "period": r["period"], "actual": round(r["actual"]),
                 "expected": round(r["expected"]), "unit": r["unit"],
                 "deviation %": round(r["deviation_pct"], 1), "significant": r["significant"],
                 "CUSUM alarm": r["cusum"]["alarm_in_period"],
                 "data quality": None if r["data_quality"]["score"] is None
                 else round(r["data_quality"]["score"], 3)} for r in done["reports"]]
        if args.json:
            return {"reports": rows, "skipped": done["skipped"]}
        output.print_rows(rows, f"{len(rows)} reports stored")
        if done["skipped"]:
            output.print_rows(done["skipped"], "not reported")
        return None
    if not args.source:
        raise EnmsError("an SEU is equipment x energy source: add --source NAME")
    first, last = period_bounds(args.period, args.first, args.last)
    report = reports.generate(store, args.equipment, args.source, first, last)
    written = {}
    if args.pdf:
        from .audit_pack import write_report_pdf
        written = write_report_pdf(store, report, args.pdf)
    if args.json:
        return {**report, **written}
    output.print_report(report)
    if written:
        output.console.print(f"PDF: {written['pdf']}", markup=False, highlight=False)


def cmd_db(store, args):
    if args.action == "upgrade":
        store.upgrade()
    return {"database": store.describe(), "revision": store.revision()}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        store = Store(args.db)
        result = args.func(store, args)
    except EnmsError as exc:
        print(f"enms: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("enms: interrupted; nothing of the unfinished step was saved", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line unless asked for the traceback
        if args.debug:
            raise
        print(f"enms: internal error: {type(exc).__name__}: {exc} (rerun with --debug "
              "for the traceback)", file=sys.stderr)
        return 1
    if isinstance(result, int):
        return result
    if result is not None:
        if args.json:
            print(json.dumps(result, default=str, indent=2))
        else:
            output.print_mapping(result)
    return 0
