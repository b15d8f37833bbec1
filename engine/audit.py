"""The audit trail: who changed what, when, the state before and after, and why.

ISO 50001:2018 7.5.3 asks that documented information be protected against
improper alteration, and ISO 50006 that a baseline change say who, when and
why. Every change the engine makes (catalog edits, imports, baseline versions
and adjustments, report runs, alert acknowledgements, users and roles) appends
one row to ``audit_log`` in the same transaction as the change itself, so the
change and its record commit together or not at all. Nothing updates or
deletes the table: triggers refuse it on SQLite and PostgreSQL alike.

The actor is whoever the interface says acts: a user name (HTTP API), a
device (``voice:<device>``) or, by default, the operating-system user of the
process (``cli:<login name>``).

Example::

    with store.begin() as conn:
        conn.execute(...)                        # the change
        audit.record(conn, "e.engineer", "catalog.update", "meter", "M-1",
                     before={"interval_s": 900}, after={"interval_s": 3600})
    audit.log(store, since=date(2025, 1, 1), action="baseline")
"""
import getpass
import json
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from . import schema as s
from .errors import EnmsError

ACTOR_MAX = s.audit_log.c.actor.type.length
ENTITY_MAX = s.audit_log.c.entity.type.length


def default_actor() -> str:
    """Who acts when an interface names no one: ``cli:<login name>``."""
    return f"cli:{getpass.getuser()}"


def _default(value):
    # What json.dumps cannot write itself: dates as ISO text, numpy scalars as Python.
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _plain(value):
    """A JSON-safe copy: NaN and infinities become null (missing is not a number)."""
    if value is None:
        return None
    text = json.dumps(value, default=_default)
    return json.loads(text, parse_constant=lambda _: None)


def record(conn, actor: str | None, action: str, entity_kind: str, entity: str,
           before=None, after=None, reason: str | None = None) -> None:
    """Append one record in the caller's transaction (``conn`` from ``store.begin()``).

    action: '<area>.<verb>', e.g. 'catalog.add', 'baseline.adjust'.
    before, after: JSON-able states (dicts, lists, numbers, text, dates);
    None where there was no state (an addition has no before).
    """
    actor = (actor or default_actor()).strip()
    if not actor:
        raise EnmsError("who makes this change? an actor name is required")
    if len(actor) > ACTOR_MAX:
        raise EnmsError(f"actor name longer than {ACTOR_MAX} characters: {actor[:40]!r}...")
    conn.execute(s.audit_log.insert().values(
        at=datetime.now(timezone.utc), actor=actor, action=action, entity_kind=entity_kind,
        # An entity is a name or a summary of a batch; a long one is cut, never refused.
        entity=str(entity)[:ENTITY_MAX], before=_plain(before), after=_plain(after),
        reason=reason))


def _moment(value, end: bool) -> datetime:
    """A date (the whole UTC day; ``end`` means up to its end) or a datetime, as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    moment = datetime.combine(value, time(), tzinfo=timezone.utc)
    return moment + timedelta(days=1) if end else moment


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def log(store, since=None, until=None, actor: str | None = None, action: str | None = None,
        entity: str | None = None, limit: int | None = None) -> list[dict]:
    """Audit records, oldest first.

    since, until: dates (whole UTC days, both included) or datetimes (until
    excluded). action: an exact action ('baseline.adjust') or an area
    ('baseline' matches every 'baseline.*'). actor, entity: exact names.
    limit: only the newest ``limit`` records (still oldest first).
    """
    t = s.audit_log
    query = sa.select(t)
    if since is not None:
        query = query.where(t.c.at >= _moment(since, end=False))
    if until is not None:
        query = query.where(t.c.at < _moment(until, end=True))
    if actor is not None:
        query = query.where(t.c.actor == actor)
    if action is not None:
        query = query.where(sa.or_(t.c.action == action, t.c.action.startswith(action + ".",
                                                                                autoescape=True)))
    if entity is not None:
        query = query.where(t.c.entity == entity)
    if limit is not None:
        if limit < 1:
            raise EnmsError(f"limit must be at least 1, got {limit}")
        query = query.order_by(t.c.id.desc()).limit(limit)
    else:
        query = query.order_by(t.c.id)
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["at"] = _utc(row["at"])
    return sorted(rows, key=lambda r: r["id"])
