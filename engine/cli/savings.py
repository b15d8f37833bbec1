"""``enms savings``: avoided energy per SEU, per energy source and for the plant.

    enms savings                                  # the year of the latest data, to date
    enms savings --year 2025
    enms savings --period 2025-Q2 --json
    enms savings --from 2025-03-01 --to 2025-06-30
    enms savings --seu Boiler-1 --source natural_gas

Avoided energy = expected (baseline) - actual: positive is saved, negative
lost. In native units, MWh, money and t CO2 from the catalog's factors, with
the ASHRAE Guideline 14 fractional savings uncertainty, and cumulative since
each SEU's baseline period.
"""

from .. import savings
from ..errors import EnmsError
from ..periods import parse_period, period_bounds
from . import output
from .args import add_period


def register(sub, common) -> None:
    """Add ``savings`` to the ``enms`` subcommands."""
    p = sub.add_parser("savings", parents=[common],
                       help="avoided energy, money and CO2 per SEU, source and plant")
    add_period(p, required=False).add_argument("--year", type=int,
                                               help="a calendar year, e.g. 2025")
    p.add_argument("--seu", metavar="EQUIPMENT", help="only the SEUs of this equipment")
    p.add_argument("--source", help="only the SEUs on this energy source")
    p.set_defaults(func=cmd_savings)


def cmd_savings(store, args):
    if args.last is not None and args.first is None:
        raise EnmsError("--to needs --from")
    if args.year is not None:
        first, last = parse_period(f"{args.year:04d}")
    elif args.period is not None or args.first is not None:
        first, last = period_bounds(args.period, args.first, args.last)
    else:
        first = last = None
    result = savings.compute(store, first, last, equipment=args.seu, source=args.source)
    if args.json:
        return result
    print_savings(result)
    return 0


def _money(amounts: dict) -> str:
    return ", ".join(f"{v:,.0f} {c}" for c, v in amounts.items()) or "-"


def _band(fig: dict, level: str, key: str, digits: int = 1) -> str:
    u = fig.get("uncertainty")
    return "-" if not u else f"{u[level][key]:,.{digits}f}"


def _fsu(fig: dict, level: str) -> str:
    u = fig.get("uncertainty")
    value = u[level]["fsu"] if u else None
    return "-" if value is None else f"{100 * value:.0f} %"


def print_savings(r: dict) -> None:
    console = output.console
    console.print(f"[bold]Savings {r['period']}[/bold] (avoided energy = expected - actual; "
                  "positive saved, negative lost against the baseline)")
    rows = []
    for x in r["seus"]:
        if x["status"] != "ok":
            rows.append({"SEU": x["seu"], "avoided": x["status"], "unit": x["unit"]})
            continue
        p, c = x["period"], x["cumulative"]
        rows.append({"SEU": x["seu"], "avoided": f"{p['avoided']:,.0f}", "unit": x["unit"],
                     "%": f"{p['avoided_pct']:+.1f}" if p["avoided_pct"] is not None else "-",
                     "MWh": f"{p['avoided_mwh']:,.1f}", "+- MWh (95 %)": _band(p, "95", "band_mwh"),
                     "FSU 68 %": _fsu(p, "68"), "money": f"{p['money']:,.0f} {x['currency']}",
                     "t CO2": f"{p['co2_t']:,.2f}",
                     "MWh since baseline": f"{c['avoided_mwh']:,.1f} (from {x['since']})"})
    output.print_rows(rows, "per SEU")
    output.print_rows([{"source": b["source"], "avoided": f"{b['period']['avoided']:,.0f}",
                        "unit": b["unit"], "MWh": f"{b['period']['avoided_mwh']:,.1f}",
                        "+- MWh (95 %)": _band(b["period"], "95", "band_mwh"),
                        "money": _money(b["period"]["money"]),
                        "t CO2": f"{b['period']['co2_t']:,.2f}",
                        "MWh since baseline": f"{b['cumulative']['avoided_mwh']:,.1f}"}
                       for b in r["by_source"]], "per energy source")
    for key, title in (("period", "plant total"), ("cumulative", "plant total since the baselines")):
        t = r["total"][key]
        if not t["seus"]:
            continue
        band = _band(t, "95", "band_mwh")
        console.print(f"{title}: {t['avoided_mwh']:,.1f} MWh +- {band} MWh (95 %), "
                      f"{_money(t['money'])}, {t['co2_t']:,.2f} t CO2 "
                      f"({t['seus']} SEUs, energies added in kWh)")
    if r["without_baseline"]:
        console.print("no active baseline (not counted): " + ", ".join(r["without_baseline"]),
                      markup=False, highlight=False)
    if r["not_counted"]["meters"]:
        console.print("not counted as consumption (meters of no SEU): "
                      + ", ".join(r["not_counted"]["meters"]), markup=False, highlight=False)
    console.print(r["uncertainty_note"], markup=False, highlight=False)
