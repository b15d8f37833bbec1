"""Alert evaluation on the demo factory: ``alerts.evaluate`` over Jan-Oct 2025.

    python bench/alerts.py --backend sqlite
    python bench/alerts.py --backend postgresql

The demo is built and its baselines trained as ``enms demo`` does (not timed).
Timed (median of --repeat runs): ``alerts.evaluate(store, 2025-01-01,
2025-10-31, notifiers=[])``, the first run (alerts inserted, the data-quality
log written) and reruns (every condition found again, alerts unchanged): the
data-quality scan, the period reports of every SEU and month, and recording.
"""
import statistics
import sys
from datetime import date

from common import Timer, demo_arguments, demo_stores, machine

from engine import alerts

FIRST, LAST = date(2025, 1, 1), date(2025, 10, 31)


def main():
    args = demo_arguments(__doc__)
    print(machine())
    with demo_stores(args.backend) as (_, (store,)):
        with Timer() as first:
            done = alerts.evaluate(store, FIRST, LAST, notifiers=[])
        times = []
        for _ in range(args.repeat):
            with Timer() as again:
                rerun = alerts.evaluate(store, FIRST, LAST, notifiers=[])
            times.append(again.seconds)
            assert not rerun["new"] and rerun["unchanged"] == len(done["new"])
        print(f"{args.backend}, demo factory, alerts.evaluate {FIRST} to {LAST}: "
              f"{len(done['new'])} alerts")
        print(f"  first (inserted): {first.seconds:.2f} s")
        print(f"  rerun (unchanged), median of {args.repeat}: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    sys.exit(main())
