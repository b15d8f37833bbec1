"""The energy policy (ISO 50001:2018 5.2): written once by top management,
kept in versions, shown in the audit package.

The engine does not invent a policy. ``TEMPLATE`` lists what 5.2 asks the
policy to contain, with blanks in square brackets; the plant fills it in and
records it (``enms policy set FILE``). A change records a new version; no
version is ever altered, and each one is also in the audit trail, so the
policy in force on any date can be shown.
"""
from datetime import date, datetime, timezone

import sqlalchemy as sa

from . import audit, schema as s
from .errors import EnmsError, NotFound

TEMPLATE = """\
# Energy policy of [organisation]

Scope and boundaries of the energy management system: [sites, buildings,
processes and energy sources covered].

Top management of [organisation] commits to:

1. continual improvement of energy performance and of the energy management
   system, and to the energy objectives and targets set for it;
2. ensuring the availability of information and of the resources needed to
   achieve them;
3. complying with the legal and other requirements related to energy
   efficiency, energy use and consumption that apply to us: [list or reference];
4. supporting the procurement of energy-efficient products and services, and
   design for energy performance improvement.

The policy is appropriate to the purpose of [organisation], provides the
framework for setting and reviewing energy objectives and targets, is
communicated within the organisation and is reviewed [interval, e.g. yearly].

Approved by: [name, function]    Date: [date]
"""
PLACEHOLDER = "["   # a template blank left unfilled


def _row(row) -> dict:
    recorded = row["recorded_at"]
    return {"version": row["version"], "text": row["text"], "approved_by": row["approved_by"],
            "approved_on": row["approved_on"],
            "recorded_at": recorded if recorded.tzinfo else recorded.replace(tzinfo=timezone.utc),
            "recorded_by": row["recorded_by"],
            "unfilled": [line.strip() for line in row["text"].splitlines()
                         if PLACEHOLDER in line and "]" in line]}


def record(store, text: str, *, recorded_by: str | None = None, approved_by: str | None = None,
           approved_on: date | None = None) -> dict:
    """Store the policy text as a new version and return it."""
    text = (text or "").strip()
    if not text:
        raise EnmsError("the energy policy is empty: write it from the template "
                        "(enms policy template) first")
    actor = recorded_by or audit.default_actor()
    p = s.energy_policy
    with store.begin() as conn:
        version = (conn.execute(sa.select(sa.func.max(p.c.version))).scalar() or 0) + 1
        conn.execute(p.insert().values(version=version, text=text + "\n", approved_by=approved_by,
                                       approved_on=approved_on,
                                       recorded_at=datetime.now(timezone.utc),
                                       recorded_by=actor))
        audit.record(conn, actor, "policy.record", "energy_policy", f"version {version}",
                     after={"version": version, "approved_by": approved_by,
                            "approved_on": approved_on, "characters": len(text)})
    return get(store, version)


def get(store, version: int | None = None) -> dict:
    """One version (default: the newest)."""
    p = s.energy_policy
    query = sa.select(p).order_by(p.c.version.desc()).limit(1) if version is None \
        else sa.select(p).where(p.c.version == version)
    with store.read() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound("no energy policy recorded: fill in 'enms policy template' and record "
                       "it with 'enms policy set FILE'" if version is None
                       else f"no energy policy version {version}")
    return _row(row)


def history(store) -> list[dict]:
    """Every version, oldest first."""
    p = s.energy_policy
    with store.read() as conn:
        return [_row(r) for r in conn.execute(sa.select(p).order_by(p.c.version)).mappings()]
