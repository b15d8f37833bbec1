"""Health of a running EnMS: the database, the last data of every meter, the last backup.

Each check is ``ok``, ``warning`` (the system runs, someone should look:
a meter silent longer than its interval allows, no backup for over a day)
or ``failed`` (it cannot do its work: the database cannot be read). The
broker check lives with the MQTT client (engine/cli/health.py); the HTTP
endpoint can call ``check`` the same way.
"""
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from . import backup, readings, schema as s
from .errors import EnmsError
from .localtime import utc_iso
from .realtime import silence_allowance_s

STATUSES = ("ok", "warning", "failed")
BACKUP_MAX_AGE_H = 26.0   # a daily backup, with two hours' slack
BACKUP_SUFFIX = ".enmsbak"


def worst(statuses) -> str:
    """The worst of some statuses ('ok' when none)."""
    return max(statuses, key=STATUSES.index, default="ok")


def database(store) -> dict:
    """Can the database be read, and which schema revision does it hold?"""
    try:
        revision = store.revision()
    except EnmsError as exc:
        return {"check": "database", "status": "failed", "detail": str(exc)}
    return {"check": "database", "status": "ok",
            "detail": f"{store.describe()}, schema {revision}"}


def meters_last_data(store, now_s: float) -> list[dict]:
    """Per meter: the end of its newest reading, how long ago [s], and whether
    that is longer than its interval allows (``realtime.silence_allowance_s``).
    A meter without any reading is listed as such, not as silent since 1970."""
    out = []
    with store.read() as conn:
        meters = conn.execute(
            sa.select(s.meters.c.id, s.meters.c.name, s.meters.c.interval_s,
                      s.energy_sources.c.name.label("source"))
            .join(s.energy_sources, s.energy_sources.c.id == s.meters.c.source_id)
            .order_by(s.meters.c.name)).mappings().all()
        for m in meters:
            table = readings.table(m["source"], [])
            # One backward step of the (meter, ts) index per meter: no scan.
            last = conn.execute(sa.select(table.c.ts, table.c.duration_s)
                                .where(table.c.meter_id == m["id"])
                                .order_by(table.c.ts.desc()).limit(1)).first()
            row = {"meter": m["name"], "interval_s": m["interval_s"], "last_reading_end": None,
                   "age_s": None, "allowed_s": silence_allowance_s(m["interval_s"])}
            if last is None:
                row["status"] = "warning"
                row["detail"] = "no readings yet"
            else:
                end = last.ts + last.duration_s
                row.update(last_reading_end=utc_iso(end), age_s=round(now_s - end))
                silent = now_s - end > row["allowed_s"]
                row["status"] = "warning" if silent else "ok"
                row["detail"] = "silent" if silent else "reporting"
            out.append(row)
    return out


def last_backup(directory, now_s: float, max_age_h: float = BACKUP_MAX_AGE_H) -> dict:
    """The newest backup file in ``directory`` (by its manifest's time) and its age."""
    directory = Path(directory)
    files = sorted(directory.glob(f"*{BACKUP_SUFFIX}"), key=lambda p: p.stat().st_mtime)
    if not files:
        return {"check": "backup", "status": "warning",
                "detail": f"no {BACKUP_SUFFIX} file in {directory}"}
    newest = files[-1]
    try:
        manifest = backup.read_manifest(newest)
    except EnmsError as exc:
        return {"check": "backup", "status": "failed", "detail": str(exc)}
    made = manifest["created_at"]
    age_h = (now_s - datetime.fromisoformat(made).timestamp()) / 3600
    status = "ok" if age_h <= max_age_h else "warning"
    return {"check": "backup", "status": status,
            "detail": f"{newest.name} made {made} ({age_h:.1f} h ago; at most "
                      f"{max_age_h:g} h expected)"}


def check(store, *, backups=None, now_s: float | None = None) -> dict:
    """The database, every meter's last data and (with ``backups``, a folder)
    the last backup; ``status`` is the worst of them."""
    now_s = time.time() if now_s is None else now_s
    checks = [database(store)]
    meters = []
    if checks[0]["status"] == "ok":
        meters = meters_last_data(store, now_s)
        silent = [m["meter"] for m in meters if m["status"] != "ok"]
        checks.append({"check": "meters", "status": "warning" if silent else "ok",
                       "detail": (f"{len(silent)} of {len(meters)} without data within their "
                                  f"interval: {', '.join(silent[:10])}"
                                  + (" ..." if len(silent) > 10 else "")) if silent
                       else f"{len(meters)} reporting"})
    if backups is not None:
        checks.append(last_backup(backups, now_s))
    return {"status": worst(c["status"] for c in checks), "at": utc_iso(now_s),
            "checks": checks, "meters": meters}
