"""Backup and restore of the demo factory: ``backup.backup`` and ``backup.restore``.

    python bench/backup.py --backend sqlite
    python bench/backup.py --backend postgresql

The demo is built and its baselines trained as ``enms demo`` does (not timed).
Timed (median of --repeat runs): a backup to a new file; the table checksums
alone (they are computed on backup and again on restore); a restore into a
second database (``force``, so every run replaces everything).
"""
import statistics
import sys
from pathlib import Path

from common import Timer, demo_arguments, demo_stores, machine

from engine import backup


def _median(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s"


def main():
    args = demo_arguments(__doc__)
    print(machine())
    with demo_stores(args.backend, extra=1) as (workdir, (store, target)):
        timed = {"backup": [], "checksums": [], "restore": []}
        for run in range(args.repeat):
            out = Path(workdir) / f"demo-{run}.enmsbak"
            with Timer() as t:
                manifest = backup.backup(store, out)
            timed["backup"].append(t.seconds)
            with store.read() as conn, Timer() as t:
                backup.table_checksums(conn)
            timed["checksums"].append(t.seconds)
            with Timer() as t:
                backup.restore(target, out, force=True)
            timed["restore"].append(t.seconds)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        print(f"{args.backend}, demo factory: {rows} rows in {len(manifest['tables'])} "
              f"tables; payload {manifest['payload']['bytes'] / 1e6:.1f} MB, "
              f"file {out.stat().st_size / 1e6:.1f} MB")
        for name, times in timed.items():
            print(f"  {name}, median of {args.repeat}: {_median(times)}")
        print(f"  checksums: {rows / statistics.median(timed['checksums']) / 1e3:.0f} k rows/s")


if __name__ == "__main__":
    sys.exit(main())
