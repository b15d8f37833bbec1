"""``enms demo``: build the demo factory and show what was built."""
from .. import queries
from ..demo import build_demo, existing_demo_seed, ground_truth_path
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
    if args.json:
        return summary
    output.console.print(note)
    output.print_demo(store, summary)
