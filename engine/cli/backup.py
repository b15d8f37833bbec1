"""``enms backup`` and ``enms restore``: the whole database to one file and back.

    enms backup --out /var/backups/enms/enms-$(date +%F).enmsbak
    enms restore /var/backups/enms/enms-2025-03-01.enmsbak            # into an empty database
    enms --db restored.sqlite restore enms-2025-03-01.enmsbak
    enms restore enms-2025-03-01.enmsbak --force                      # replaces all data

A backup runs while the system runs (SQLite: the online backup API;
PostgreSQL: pg_dump in one snapshot). Restore checks the file, refuses a
database holding data without --force, and checks every table against the
backup's manifest. See docs/deployment.md, "Backup and restore".
"""
from .. import backup
from . import output


def register(sub, common) -> None:
    """Add ``backup`` and ``restore`` to the ``enms`` subcommands."""
    p = sub.add_parser("backup", parents=[common],
                       help="write the whole database to one file (while the system runs)")
    p.add_argument("--out", required=True, metavar="FILE", help="the new backup file")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", parents=[common],
                       help="replace the database's content with a backup")
    p.add_argument("file", help="a file written by enms backup")
    p.add_argument("--force", action="store_true",
                   help="replace a database that holds data (all of it is lost)")
    p.set_defaults(func=cmd_restore)


def _summary(manifest: dict, file: str) -> dict:
    tables = manifest["tables"]
    return {"file": file, "database": manifest["database"], "method": manifest["method"],
            "created_at": manifest["created_at"],
            "schema_revision": manifest["schema_revision"], "tables": len(tables),
            "rows": sum(t["rows"] for t in tables.values()),
            "bytes": manifest["payload"]["bytes"]}


def cmd_backup(store, args):
    summary = _summary(backup.backup(store, args.out), args.out)
    if args.json:
        return summary
    output.console.print(f"backup written to {args.out}: {summary['rows']} rows in "
                         f"{summary['tables']} tables, schema {summary['schema_revision']} "
                         f"({summary['method']})")
    return None


def cmd_restore(store, args):
    summary = _summary(backup.restore(store, args.file, force=args.force), args.file)
    if args.json:
        return {**summary, "verified": True}
    output.console.print(f"restored {store.describe()} from {args.file} (made "
                         f"{summary['created_at']}): {summary['rows']} rows in "
                         f"{summary['tables']} tables, every table checked against the manifest")
    return None
