"""``enms demo``: build the demo factory and show what was built."""
from datetime import date

from .. import alerts, queries
from ..demo import build_demo, existing_demo_seed, ground_truth_path, train_demo_baselines
from ..demo_plant import REPORTING_PERIOD
from . import output


def run_demo(store, args):
    seed = existing_demo_seed(store)
    if args.force:
        store.reset()
        seed = None
    if seed is not None and seed == args.seed:
        note = f"the demo (seed {seed}) is already in {store.describe()}; --force rebuilds it"
    else:
        bar = output.Progress("building the demo factory", quiet=args.json)
        with bar:
            build_demo(store, args.seed, lambda step, done, total: bar.update(done, total))
        note = f"demo factory built (seed {args.seed})"
    summary = queries.summary(store)
    summary["ground_truth"] = str(ground_truth_path(store))
    summary["baselines"] = train_demo_baselines(store)
    summary["alerts"] = _raise_alerts(store)
    if args.json:
        return summary
    output.console.print(note)
    output.print_demo(store, summary)
    output.print_rows([{"SEU": b["seu"], "model": b["model"], "R2": round(b["r2"], 3),
                        "actual": f"{b['actual']:,.0f} {b['unit']}",
                        "expected": f"{b['expected']:,.0f}",
                        "dev %": round(b["deviation_pct"], 1),
                        "signif.": "yes" if b["significant"] else "no"}
                       for b in summary["baselines"]],
                      "baselines trained on 2024; Jan-Oct 2025 against them")
    raised = summary["alerts"]
    output.console.print(f"alerts of {raised['period']}: {raised['open']} open, "
                         f"{raised['critical']} critical (enms alerts; the demo notifies nobody)")
    output.console.print("next: enms baseline show Boiler-1 --source natural_gas; "
                         "enms baseline expected HVAC-EU-North --source electricity --period 2025-10")


def _raise_alerts(store) -> dict:
    """The reporting period's alerts, as a plant's monthly evaluation raises
    them (so "any alerts" has answers), sent to nobody. Evaluating again
    updates them, never doubles them."""
    first, last = (date.fromisoformat(REPORTING_PERIOD[k]) for k in ("start", "end"))
    alerts.evaluate(store, first, last, notifiers=[])
    found = alerts.list_alerts(store)
    return {"period": f"{first:%b}-{last:%b %Y}", "open": len(found),
            "critical": sum(a["severity"] == "critical" for a in found)}
