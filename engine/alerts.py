"""Alerts: significant deviations, CUSUM alarms, data-quality drops and missing
data, stored, listed, acknowledged with a comment, and sent to notifiers.

``evaluate(store, first, last)`` works on the calendar months that the dates
touch. For each SEU with an active baseline and each of those months after
the baseline period it takes the period report (``reports.run``, the batch
path: one computation per SEU for the whole range) and
raises

- ``significant_deviation`` when the month's actual energy lies outside the
  95 % prediction interval of the expected energy;
- ``cusum_alarm`` when the tabular CUSUM of the report alarms in a week that
  touches the month.

From the data-quality scan of the same months (``quality.scan``, which also
keeps the data-quality log current) it raises, per meter or driver,

- ``missing_data`` for every gap of a day or more (no readings, or a driver
  without a value for whole local days); a degree-day driver missing only
  because its temperature is missing is listed in the temperature's alert;
- ``data_quality_drop`` when a month's score, over the days that no
  missing-data alert already covers, is below ``DQ_WARNING`` (0.95).

Severity (docs/methods.md section 10):

- an SEU alert is ``info`` when the energy is below the baseline (savings:
  confirm them and their cause), ``warning`` when above it, and ``critical``
  when above it by ``DEVIATION_CRITICAL_PCT`` (10 %) or more over the month;
- a data-quality drop is ``warning`` below 0.95 and ``critical`` below 0.80;
- missing data is ``warning`` for one or two days and ``critical`` from
  ``MISSING_CRITICAL_DAYS`` (3) days.

Raising is idempotent: a condition is (kind, subject, key), the key being the
month for SEU and quality alerts and the gap's start (UTC) for missing data.
The same condition never makes a second alert; a re-evaluation updates its
evidence, severity and message (``updated_at``) and notes that it was seen
again (``last_seen_at``), and an acknowledged alert stays acknowledged.

Acknowledging (``acknowledge``) records who, when and a required comment:
the deviation investigation log ISO 50001 (6.6, 10.1) asks for. An alert is
acknowledged once.

New alerts (not updates) are sent once to each configured notifier
(``engine.notify``); each delivery or failure is recorded with the alert, a
failure is one line and the alert stays stored, and ``retry_notifications``
sends again what failed.
"""
import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from . import audit, baselines, catalog, data_quality as dq, notify, quality, reports, schema as s
from .errors import EnmsError, NotFound
from .localtime import DAY_S
from .periods import label

# Raised as data arrives (engine.realtime, `enms listen`), through ``raise_conditions``.
LIVE_KINDS = ("sensor_silence", "stuck_value", "spike", "live_deviation")
KINDS = ("significant_deviation", "cusum_alarm", "data_quality_drop", "missing_data") + LIVE_KINDS
SEVERITIES = notify.SEVERITIES
STATUSES = ("open", "acknowledged")

DEVIATION_CRITICAL_PCT = 10.0   # above the baseline by this much over a month: critical
DQ_WARNING = 0.95               # a month's data-quality score below this raises an alert
DQ_CRITICAL = 0.80              # ... and below this it is critical
MISSING_MIN_S = DAY_S           # gaps this long (or whole missing days) are missing data
MISSING_CRITICAL_DAYS = 3       # from this many days missing: critical

RULES = {
    "significant_deviation": "actual outside the 95 % prediction interval of the month",
    "cusum_alarm": "tabular CUSUM alarm in a week touching the month",
    "data_quality_drop": f"month score below {DQ_WARNING} over the days not in a "
                         "missing-data alert",
    "missing_data": "a gap of a day or more, or a driver without a value for whole local days",
    "severity": {
        "seu": f"info below the baseline; warning above it; critical above it by "
               f">= {DEVIATION_CRITICAL_PCT:g} % over the month",
        "data_quality_drop": f"warning below {DQ_WARNING}; critical below {DQ_CRITICAL}",
        "missing_data": f"warning under {MISSING_CRITICAL_DAYS} days; critical from "
                        f"{MISSING_CRITICAL_DAYS} days",
    },
}


# --- small helpers --------------------------------------------------------------------

def _plain(value):
    """JSON-safe evidence: dates as ISO text, numpy as Python, NaN as None,
    floats to 10 significant digits (so a re-evaluation of unchanged data
    compares equal whatever the summation order of the database)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.10g}") if np.isfinite(value) else None
    return value


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _utc(value):
    """Database timestamps as aware UTC datetimes (SQLite returns them naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _months(first: date, last: date) -> list[tuple[date, date]]:
    """The calendar months that [first, last] touches, as (first day, last day)."""
    if last < first:
        raise EnmsError(f"the period ends ({last}) before it starts ({first})")
    out, cursor = [], date(first.year, first.month, 1)
    while cursor <= last:
        following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        out.append((cursor, following - timedelta(days=1)))
        cursor = following
    return out


def _hours(seconds: float) -> str:
    if seconds >= DAY_S:
        return f"{seconds / DAY_S:.1f} days"
    return f"{seconds / 3600:.1f} h"


def _direction_severity(above: bool, deviation_pct) -> str:
    """Severity of an SEU alert: savings are information, losses a warning,
    and a loss of DEVIATION_CRITICAL_PCT or more over the month is critical."""
    if not above:
        return "info"
    if deviation_pct is not None and deviation_pct >= DEVIATION_CRITICAL_PCT:
        return "critical"
    return "warning"


# --- conditions from reports ---------------------------------------------------------

def _seu_condition(seu: dict, r: dict, kind: str, severity: str, message: str,
                   evidence: dict) -> dict:
    return {"kind": kind, "subject_kind": "seu", "subject_id": seu["id"], "subject": seu["name"],
            "seu_id": seu["id"], "key": r["period"], "period": r["period"],
            "first": _as_date(r["first"]), "last": _as_date(r["last"]), "severity": severity,
            "message": message, "evidence": evidence}


def _report_evidence(r: dict) -> dict:
    keys = ("unit", "actual", "expected", "lower", "upper", "deviation", "deviation_pct",
            "confidence", "senpi", "actual_kwh", "expected_kwh", "deviation_kwh",
            "completeness", "intervals_used", "intervals_total", "baseline_version",
            "baseline_period")
    out = {k: r.get(k) for k in keys if k in r}
    quality_of_period = r.get("data_quality")
    if isinstance(quality_of_period, dict) and "score" in quality_of_period:
        out["data_quality_score"] = quality_of_period["score"]  # poor data can explain a deviation
    return out


def _deviation_condition(seu: dict, r: dict) -> dict | None:
    if not r.get("significant"):
        return None
    above = r["deviation"] > 0
    unit = r["unit"]
    pct = r.get("deviation_pct")
    evidence = {"direction": "above" if above else "below", **_report_evidence(r)}
    message = (f"actual {r['actual']:,.0f} {unit} is "
               + (f"{abs(pct):.1f} % " if pct is not None else "")
               + f"{'above' if above else 'below'} the expected {r['expected']:,.0f} {unit} "
               f"({100 * r.get('confidence', 0.95):.0f} % interval {r['lower']:,.0f} to "
               f"{r['upper']:,.0f})")
    return _seu_condition(seu, r, "significant_deviation", _direction_severity(above, pct),
                          message, evidence)


def _cusum_condition(seu: dict, r: dict) -> dict | None:
    c = r.get("cusum") or {}
    if not c.get("alarm_in_period"):
        return None
    first, last = _as_date(r["first"]), _as_date(r["last"])
    alarms = [{"week_of": _as_date(a["week_of"]), "direction": a["direction"]}
              for a in c.get("alarms", [])]
    # A week's alarm belongs to every month the week touches.
    here = [a for a in alarms if a["week_of"] <= last and a["week_of"] + timedelta(days=6) >= first]
    directions = {a["direction"] for a in here}
    above = "up" in directions if directions else r["deviation"] > 0
    unit = r["unit"]
    weeks = ", ".join(f"{a['week_of']:%m-%d} {'up' if a['direction'] == 'up' else 'down'}"
                      for a in here)
    evidence = {"direction": "above" if above else "below",
                "alarms": here, "alarms_since_start": len(alarms),
                # Since when: the first alarm this way since the CUSUM started.
                "first_alarm": next((a for a in alarms if (a["direction"] == "up") == above),
                                    None),
                "cusum_to_date": c.get("to_date"), "cusum_since": c.get("since"),
                "k": c.get("k"), "h": c.get("h"), "group": c.get("group"),
                **_report_evidence(r)}
    to_date = c.get("to_date")
    message = (f"tabular CUSUM alarm ({weeks or 'this month'}): energy "
               f"{'above' if above else 'below'} the baseline"
               + (f"; CUSUM since {c.get('since')} {to_date:+,.0f} {unit}"
                  if to_date is not None else ""))
    return _seu_condition(seu, r, "cusum_alarm",
                          _direction_severity(above, r.get("deviation_pct")), message, evidence)


def _report_conditions(store, months, today: date, skipped: list) -> list[dict]:
    """Conditions from the period reports of every SEU and month: whole months
    through the batch path (``reports.run``, one computation per SEU and
    year), a month the baseline period ends in (its remaining days) one by one."""
    months = [m for m in months if m[0] <= today]  # not the future
    built, why_not = {}, {}
    for year in sorted({m[0].year for m in months}):
        span = [m[0].month for m in months if m[0].year == year]
        done = reports.run(store, year, (span[0], span[-1]), save=False)
        built.update({(r["seu"], r["period"]): r for r in done["reports"]})
        why_not.update({(x["seu"], x["period"]): x["reason"] for x in done["skipped"]})
    out = []
    for seu in catalog.list_entries(store, "seu"):
        try:
            baseline = baselines.get(store, seu["equipment"], seu["source"])
        except NotFound:
            skipped.append({"subject": seu["name"], "period": None,
                            "reason": "no active baseline"})
            continue
        after = _as_date(baseline["period_end"]) + timedelta(days=1)
        for month_first, month_last in months:
            first = max(month_first, after)   # a month the baseline period ends in: the rest
            if first > month_last or first > today:
                continue                      # the baseline period itself, or the future
            period = label(first, month_last)
            r = built.get((seu["name"], period))
            if r is None and first == month_first:
                skipped.append({"subject": seu["name"], "period": period,
                                "reason": why_not.get((seu["name"], period), "not reported")})
                continue
            if r is None:
                try:
                    r = reports.build(store, seu["equipment"], seu["source"], first, month_last)
                except EnmsError as exc:
                    skipped.append({"subject": seu["name"], "period": period,
                                    "reason": str(exc)})
                    continue
            for make in (_deviation_condition, _cusum_condition):
                condition = make(seu, r)
                if condition is not None:
                    out.append(condition)
    return out


# --- conditions from the data-quality scan ----------------------------------------------

def _missing_seconds(finding: dict) -> tuple[float, int]:
    """(seconds missing, whole local days missing) of a gap or missing-driver finding."""
    ev = finding.get("evidence") or {}
    if "missing_s" in ev:
        return float(ev["missing_s"]), int(ev.get("whole_days") or 0)
    days = int(ev.get("days") or 0)   # a derived driver: whole days only
    return float(days * DAY_S), days


def _is_missing(finding: dict) -> bool:
    if finding["kind"] not in ("gap", "missing_driver"):
        return False
    seconds, whole = _missing_seconds(finding)
    return seconds >= MISSING_MIN_S or whole >= 1


def _affected_seus(entity: dict, seus: list[dict], children: dict) -> list[dict]:
    if entity["kind"] == "meter":
        return [u for u in seus if entity["name"] in u["meters"]]
    names = {entity["name"], *children.get(entity["name"], [])}
    return [u for u in seus if names & set(u["drivers"])]


def _day_range(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def _quality_conditions(store, first: date, last: date, now) -> list[dict]:
    result = quality.scan(store, first, last, now=now)
    entities = result["entities"]
    seus = catalog.list_entries(store, "seu")
    with store.read() as conn:
        ids = {"meter": dict(conn.execute(sa.select(s.meters.c.name, s.meters.c.id)).all()),
               "driver": dict(conn.execute(sa.select(s.drivers.c.name, s.drivers.c.id)).all())}
    children = {}
    for e in entities:
        if e["kind"] == "driver" and e.get("derived_from"):
            children.setdefault(e["derived_from"], []).append(e["name"])
    out, missing_by_entity = [], {}
    # Measured entities first, so a degree-day driver's gap can join its temperature's.
    for e in sorted(entities, key=lambda e: bool(e.get("derived_from"))):
        affected = _affected_seus(e, seus, children)
        missing_days = set()
        for f in e["findings"]:
            if not _is_missing(f):
                continue
            missing_days.update(_day_range(f["first_day"], f["last_day"]))
            parent = e.get("derived_from")
            if parent:
                joined = next((c for c in missing_by_entity.get(parent, [])
                               if c["evidence"]["start"] < f["end"]
                               and f["start"] < c["evidence"]["end"]), None)
                if joined is not None:
                    joined["evidence"]["derived_drivers"].append(e["name"])
                    continue
            condition = _missing_condition(e, f, ids[e["kind"]][e["name"]], affected)
            missing_by_entity.setdefault(e["name"], []).append(condition)
            out.append(condition)
        out += _drop_conditions(e, ids[e["kind"]][e["name"]], affected, missing_days)
    return out


def _data_condition(e: dict, entity_id: int, affected: list[dict], **fields) -> dict:
    return {"subject_kind": e["kind"], "subject_id": entity_id, "subject": e["name"],
            "seu_id": affected[0]["id"] if e["kind"] == "meter" and len(affected) == 1 else None,
            **fields}


def _missing_condition(e: dict, f: dict, entity_id: int, affected: list[dict]) -> dict:
    seconds, whole = _missing_seconds(f)
    ev = f.get("evidence") or {}
    first, last = date.fromisoformat(f["first_day"]), date.fromisoformat(f["last_day"])
    severity = "critical" if seconds >= MISSING_CRITICAL_DAYS * DAY_S else "warning"
    what = "readings" if e["kind"] == "meter" else "values"
    seu_names = [u["name"] for u in affected]
    evidence = {"finding": f["kind"], "start": f["start"], "end": f["end"],
                "start_local": f["start_local"], "end_local": f["end_local"],
                "missing_s": seconds, "missing_days": round(seconds / DAY_S, 3),
                "whole_days": whole, "interval_s": ev.get("interval_s"),
                "missing_intervals": ev.get("missing_intervals"),
                "no_reading_before": ev.get("no_reading_before"),
                "no_reading_after": ev.get("no_reading_after"),
                "affects_seus": seu_names, "derived_drivers": [],
                "method": quality.METHOD}
    message = (f"no {what} from {f['start_local'].replace('T', ' ')} to "
               f"{f['end_local'].replace('T', ' ')} ({_hours(seconds)})"
               + (f"; affects {', '.join(seu_names)}" if seu_names else ""))
    return _data_condition(e, entity_id, affected, kind="missing_data", key=f["start"],
                           period=label(first, last), first=first, last=last,
                           severity=severity, message=message, evidence=evidence)


def _drop_conditions(e: dict, entity_id: int, affected: list[dict], missing_days: set) -> list:
    months = {}
    for d in e["days"]:
        months.setdefault(d["day"][:7], []).append(d)
    out = []
    for month, days in sorted(months.items()):
        scored = [d for d in days if d["day"] not in missing_days]
        score = dq.period_score([d["score"] for d in scored], [d["day_s"] for d in scored])
        if score is None or score >= DQ_WARNING:
            continue
        kinds = {}
        for d in scored:
            for f in d["findings"]:
                kinds.setdefault(f["kind"], set()).add(f["start"])
        counts = {k: len(v) for k, v in sorted(kinds.items())}
        worst = sorted(scored, key=lambda d: (d["score"], d["day"]))[:5]
        worst = [{"day": d["day"], "score": d["score"], "completeness": d["completeness"],
                  "findings": sorted({f["kind"] for f in d["findings"]})}
                 for d in worst if d["score"] < 1]
        covered = sum(d["covered_s"] for d in scored)
        total = sum(d["day_s"] for d in scored)
        evidence = {"score": score, "threshold": DQ_WARNING, "critical_below": DQ_CRITICAL,
                    "score_all_days": dq.period_score([d["score"] for d in days],
                                                      [d["day_s"] for d in days]),
                    "completeness": covered / total if total else None,
                    "days_scored": len(scored),
                    "days_in_missing_data_alerts": len(days) - len(scored),
                    "findings": counts, "lowest_days": worst,
                    "affects_seus": [u["name"] for u in affected], "method": quality.METHOD}
        first, last = date.fromisoformat(days[0]["day"]), date.fromisoformat(days[-1]["day"])
        found = ", ".join(f"{k} {n}" for k, n in counts.items()) or "incomplete days"
        lowest = ", ".join(f"{w['day']} {w['score']:.2f}" for w in worst[:3])
        message = (f"data-quality score {score:.3f} is below {DQ_WARNING:g} ({found})"
                   + (f"; lowest days {lowest}" if lowest else ""))
        out.append(_data_condition(
            e, entity_id, affected, kind="data_quality_drop", key=month, period=month,
            first=first, last=last, severity="critical" if score < DQ_CRITICAL else "warning",
            message=message, evidence=evidence))
    return out


# --- storing -----------------------------------------------------------------------------

_CONDITION = ("kind", "subject_kind", "subject_id", "condition_key")


def _insert_new(conn, dialect: str, values: dict):
    """Insert unless the condition exists (also when another evaluation just
    inserted it); returns the new id or None."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(s.alerts).values(**values).on_conflict_do_nothing(
        index_elements=list(_CONDITION)).returning(s.alerts.c.id)
    return conn.execute(statement).scalar()


def _record(store, conditions: list[dict], now: datetime) -> dict:
    """Store the conditions: new alerts, updated ones, ones unchanged."""
    new, updated, unchanged = [], [], []
    t = s.alerts
    with store.begin() as conn:
        for c in conditions:
            fields = {"subject": c["subject"], "seu_id": c["seu_id"], "period": c["period"],
                      "first": c["first"], "last": c["last"], "severity": c["severity"],
                      "message": c["message"], "evidence": _plain(c["evidence"])}
            where = (t.c.kind == c["kind"], t.c.subject_kind == c["subject_kind"],
                     t.c.subject_id == c["subject_id"], t.c.condition_key == c["key"])
            row = conn.execute(sa.select(t).where(*where)).mappings().first()
            if row is None:
                new_id = _insert_new(conn, store.dialect, {
                    "kind": c["kind"], "subject_kind": c["subject_kind"],
                    "subject_id": c["subject_id"], "condition_key": c["key"], **fields,
                    "status": "open", "created_at": now, "updated_at": now,
                    "last_seen_at": now, "notifications": {}})
                if new_id is not None:
                    new.append(new_id)
                    continue
                row = conn.execute(sa.select(t).where(*where)).mappings().one()
            changed = {k: v for k, v in fields.items() if _stored(row[k]) != _stored(v)}
            if changed:
                conn.execute(t.update().where(t.c.id == row["id"])
                             .values(**changed, updated_at=now, last_seen_at=now))
                updated.append(row["id"])
            else:
                conn.execute(t.update().where(t.c.id == row["id"]).values(last_seen_at=now))
                unchanged.append(row["id"])
    return {"new": new, "updated": updated, "unchanged": unchanged}


def _stored(value):
    """A value as the database gives it back, for comparing old and new."""
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value, sort_keys=True))
    if isinstance(value, datetime):
        return value.date()
    return value


# --- reading -------------------------------------------------------------------------------

def _seu_names(conn) -> dict:
    rows = conn.execute(sa.select(s.seus.c.id, s.equipment.c.name, s.energy_sources.c.name)
                        .join(s.equipment, s.equipment.c.id == s.seus.c.equipment_id)
                        .join(s.energy_sources, s.energy_sources.c.id == s.seus.c.source_id))
    return {i: catalog.seu_name(e, src) for i, e, src in rows}


def _alert(row, seu_names: dict) -> dict:
    return {"id": row["id"], "kind": row["kind"], "severity": row["severity"],
            "status": row["status"], "subject_kind": row["subject_kind"],
            "subject": row["subject"], "seu": seu_names.get(row["seu_id"]),
            "period": row["period"], "first": _as_date(row["first"]),
            "last": _as_date(row["last"]), "message": row["message"],
            "evidence": row["evidence"], "created_at": _utc(row["created_at"]),
            "updated_at": _utc(row["updated_at"]), "last_seen_at": _utc(row["last_seen_at"]),
            "acknowledged_by": row["acknowledged_by"],
            "acknowledged_at": _utc(row["acknowledged_at"]), "comment": row["comment"],
            "notifications": row["notifications"] or {}}


def _by_ids(store, ids) -> list[dict]:
    ids = list(ids)
    if not ids:
        return []
    with store.read() as conn:
        names = _seu_names(conn)
        rows = conn.execute(sa.select(s.alerts).where(s.alerts.c.id.in_(ids))).mappings().all()
    found = {r["id"]: _alert(r, names) for r in rows}
    return [found[i] for i in ids if i in found]


def get(store, alert_id: int) -> dict:
    """One alert by its number."""
    found = _by_ids(store, [int(alert_id)])
    if not found:
        raise NotFound(f"no alert {alert_id} (enms alerts --status all lists them)")
    return found[0]


def list_alerts(store, status: str = "open", kind: str | None = None,
                subject: str | None = None, severity: str | None = None) -> list[dict]:
    """Alerts by status ('open', 'acknowledged' or 'all'), most severe first,
    then the most recent period first.

    subject: an SEU ('Boiler-1 natural_gas' or its equipment), meter or driver
    name; matches the alert's subject or its SEU. severity: this or higher.
    """
    if status not in (*STATUSES, "all"):
        raise EnmsError(f"unknown status {status!r} (use open, acknowledged or all)")
    if kind is not None and kind not in KINDS:
        raise EnmsError(f"unknown alert kind {kind!r} (known: {', '.join(KINDS)})")
    if severity is not None and severity not in SEVERITIES:
        raise EnmsError(f"unknown severity {severity!r} (use {', '.join(SEVERITIES)})")
    query = sa.select(s.alerts)
    if status != "all":
        query = query.where(s.alerts.c.status == status)
    if kind is not None:
        query = query.where(s.alerts.c.kind == kind)
    with store.read() as conn:
        names = _seu_names(conn)
        rows = [_alert(r, names) for r in conn.execute(query).mappings()]
    if subject is not None:
        def matches(a):
            return any(x is not None and (x == subject or x.split(" ")[0] == subject)
                       for x in (a["subject"], a["seu"]))
        rows = [a for a in rows if matches(a)]
    if severity is not None:
        rows = [a for a in rows if notify.SEVERITY_RANK[a["severity"]]
                >= notify.SEVERITY_RANK[severity]]
    rows.sort(key=lambda a: a["id"])
    rows.sort(key=lambda a: a["first"], reverse=True)
    rows.sort(key=lambda a: notify.SEVERITY_RANK[a["severity"]], reverse=True)
    return rows


def newest_id(store) -> int:
    """The number of the newest alert, 0 when there is none: where a listener
    that announces new alerts starts (it must not read out the backlog)."""
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.max(s.alerts.c.id))).scalar() or 0)


def since(store, after_id: int, min_severity: str = "critical",
          status: str = "open") -> list[dict]:
    """Alerts numbered above ``after_id`` of ``min_severity`` or higher, oldest
    first, each as ``list_alerts`` gives it (kind, severity, subject, SEU,
    period, evidence, ...).

    Alert numbers only grow, so a listener that remembers the highest number it
    has handled asks for what is new since (the voice skill's spoken alerts).
    status: 'open' (default: an acknowledged alert needs nobody's attention),
    'acknowledged' or 'all'. One query (the SEU's name joined in), on the
    primary key's order: the same SQL on SQLite and PostgreSQL.
    """
    if status not in (*STATUSES, "all"):
        raise EnmsError(f"unknown status {status!r} (use open, acknowledged or all)")
    if min_severity not in SEVERITIES:
        raise EnmsError(f"unknown severity {min_severity!r} (use {', '.join(SEVERITIES)})")
    rank = notify.SEVERITY_RANK[min_severity]
    a, seus, eq, src = s.alerts, s.seus, s.equipment, s.energy_sources
    query = (sa.select(a, eq.c.name.label("seu_equipment"), src.c.name.label("seu_source"))
             .select_from(a.outerjoin(seus, seus.c.id == a.c.seu_id)
                          .outerjoin(eq, eq.c.id == seus.c.equipment_id)
                          .outerjoin(src, src.c.id == seus.c.source_id))
             .where(a.c.id > int(after_id or 0),
                    a.c.severity.in_([v for v in SEVERITIES
                                      if notify.SEVERITY_RANK[v] >= rank]))
             .order_by(a.c.id))
    if status != "all":
        query = query.where(a.c.status == status)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [_alert(r, {r["seu_id"]: catalog.seu_name(r["seu_equipment"], r["seu_source"])}
                   if r["seu_equipment"] is not None else {}) for r in rows]


def acknowledge(store, alert_id: int, by: str, comment: str,
                now: datetime | None = None) -> dict:
    """Record who looked into an alert, when, and what they found and did.

    The comment is required (it is the investigation record); an alert is
    acknowledged once, a second time is refused with who did it first.
    """
    by, comment = (by or "").strip(), (comment or "").strip()
    if not by:
        raise EnmsError("who acknowledges the alert? (--by NAME)")
    if not comment:
        raise EnmsError("a comment is required: what was found and what is done about it "
                        "(the deviation investigation record)")
    now = now or datetime.now(timezone.utc)
    t = s.alerts
    with store.begin() as conn:
        row = conn.execute(sa.select(t.c.status, t.c.acknowledged_by, t.c.acknowledged_at)
                           .where(t.c.id == int(alert_id))).mappings().first()
        if row is None:
            raise NotFound(f"no alert {alert_id} (enms alerts --status all lists them)")
        if row["status"] == "acknowledged":
            when = _utc(row["acknowledged_at"])
            raise EnmsError(f"alert {alert_id} was already acknowledged by "
                            f"{row['acknowledged_by']} on {when:%Y-%m-%d %H:%M} UTC")
        done = conn.execute(t.update().where(t.c.id == int(alert_id), t.c.status == "open")
                            .values(status="acknowledged", acknowledged_by=by,
                                    acknowledged_at=now, comment=comment)).rowcount
        if done != 1:  # acknowledged by someone else in between
            raise EnmsError(f"alert {alert_id} was acknowledged meanwhile by someone else")
        audit.record(conn, by, "alert.acknowledge", "alert", str(int(alert_id)), reason=comment,
                     before={"status": "open"}, after={"status": "acknowledged"})
    return get(store, alert_id)


# --- notifying -------------------------------------------------------------------------------

def deliver(store, alerts: list[dict], notifiers) -> dict:
    """Send alerts to notifiers and record each delivery or failure with the alert.

    A notifier that fails is not tried again for the rest of this call: one
    line per notifier says what failed and how many alerts it did not send;
    those alerts stay stored with the error, for ``retry_notifications``.
    """
    records, sent, errors = {}, 0, []
    for notifier in notifiers:
        pending = [a for a in alerts if notifier.wants(a)
                   and "sent_at" not in (a["notifications"].get(notifier.name) or {})]
        for i, alert in enumerate(pending):
            try:
                notifier.send(alert)
            except Exception as exc:  # noqa: BLE001 - any notifier: one line, never a traceback
                line = str(exc) if isinstance(exc, notify.NotifyError) else \
                    f"{notifier.describe()}: {type(exc).__name__}: {' '.join(str(exc).split())}"
                at = datetime.now(timezone.utc).isoformat(timespec="seconds")
                for later in pending[i:]:
                    records.setdefault(later["id"], {})[notifier.name] = {"error": line, "at": at}
                left = len(pending) - i
                errors.append(f"{line}; {left} alert{'s' if left != 1 else ''} not sent, kept "
                              "(enms alerts notify sends them again)")
                break
            sent += 1
            records.setdefault(alert["id"], {})[notifier.name] = {
                "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if records:
        t = s.alerts
        with store.begin() as conn:
            for alert_id, record in records.items():
                current = conn.execute(sa.select(t.c.notifications)
                                       .where(t.c.id == alert_id)).scalar() or {}
                conn.execute(t.update().where(t.c.id == alert_id)
                             .values(notifications={**current, **record}))
    return {"sent": sent, "errors": errors,
            "notifiers": [n.describe() for n in notifiers]}


def retry_notifications(store, notifiers=None) -> dict:
    """Send again the open alerts whose delivery to a configured notifier failed."""
    notifiers = notify.load_notifiers() if notifiers is None else notifiers
    names = {n.name for n in notifiers}
    failed = [a for a in list_alerts(store, "open")
              if any("error" in (a["notifications"].get(n) or {})
                     and "sent_at" not in a["notifications"][n] for n in names)]
    result = {"sent": 0, "errors": [], "notifiers": [n.describe() for n in notifiers]}
    for notifier in notifiers:
        mine = [a for a in failed if "error" in (a["notifications"].get(notifier.name) or {})]
        if mine:
            part = deliver(store, mine, [notifier])
            result["sent"] += part["sent"]
            result["errors"] += part["errors"]
    result["retried"] = len(failed)
    return result


def raise_conditions(store, conditions: list[dict], *, notifiers=(), now=None) -> list[dict]:
    """Store conditions found outside ``evaluate`` (the real-time checks of
    ``engine.realtime``), idempotently as ``evaluate`` does, and send the new
    alerts to ``notifiers``. Returns the new alerts."""
    recorded = _record(store, conditions, now or datetime.now(timezone.utc))
    new = _by_ids(store, recorded["new"])
    if new and notifiers:
        deliver(store, new, notifiers)
    return new


# --- evaluating --------------------------------------------------------------------------------

def data_horizon(store) -> date | None:
    """The last local day on which any meter has readings: the data horizon.

    Evaluation stops there. Days after it wait for their data (an import not
    yet run is no fault of one meter); a meter or driver silent while others
    report is missing data.
    """
    md = s.meter_daily
    with store.read() as conn:
        day = conn.execute(sa.select(sa.func.max(md.c.day)).where(
            md.c.energy.is_not(None), md.c.covered_s > 0)).scalar()
    return None if day is None else _as_date(day)


def evaluate(store, first: date, last: date, *, notifiers=None, now: float | None = None) -> dict:
    """Raise (or update) the alerts of the calendar months that [first, last]
    touches, then send the new ones.

    notifiers: a list of ``notify.Notifier``; None loads the configured ones
    (``notify.load_notifiers``), [] sends nothing. now: the current time [UTC
    epoch s], for the data-quality scan (days not ended are not scanned) and
    for the months not begun.

    Returns the months evaluated, the new and updated alerts, how many were
    unchanged, the SEU-months skipped (with why) and what was sent.
    """
    months = _months(first, last)
    span = (months[0][0], months[-1][1])
    if notifiers is None:
        notifiers = notify.load_notifiers()  # a configuration error stops before any work
    moment = datetime.now(timezone.utc) if now is None else \
        datetime.fromtimestamp(now, timezone.utc)
    horizon = data_horizon(store)
    skipped, conditions = [], []
    if horizon is None or horizon < span[0]:
        skipped.append({"subject": "all", "period": label(*span),
                        "reason": "no meter readings in or after the period"})
        months = []
    else:
        months = [m for m in months if m[0] <= horizon]
        # The scan first: it brings the data-quality log up to date, and reports
        # leave out the days it flags, so they must read the same log every time.
        conditions += _quality_conditions(store, span[0], min(span[1], horizon), now)
        conditions += _report_conditions(store, months, moment.date(), skipped)
    recorded = _record(store, conditions, moment)
    new = _by_ids(store, recorded["new"])
    sent = deliver(store, new, notifiers) if new and notifiers else \
        {"sent": 0, "errors": [], "notifiers": [n.describe() for n in notifiers]}
    if sent["sent"] or sent["errors"]:
        new = _by_ids(store, recorded["new"])  # with their delivery records
    return {"first": span[0], "last": span[1], "months": [label(*m) for m in months],
            "data_until": horizon,
            "new": new, "updated": _by_ids(store, recorded["updated"]),
            "unchanged": len(recorded["unchanged"]), "skipped": skipped,
            "notifications": sent, "rules": RULES}
