"""Who may do what: the roles and the permission matrix, as data in one place.

Every interface asks ``allowed(role, action)`` before it acts; the HTTP API
names the action of each endpoint (it shows in the OpenAPI document as
``x-permission``), and docs/permissions.md prints this table (a test keeps the
two equal). The roles follow the issue's organisation of an ISO 50001 energy
team (ISO 50001:2018 5.3, roles, responsibilities and authorities):

- admin: everything, including users;
- energy_engineer: keeps the catalog, imports data, trains and adjusts
  baselines (the documented adjustments of ISO 50001 6.5);
- plant_manager: reads everything of the site, generates reports and
  acknowledges alerts;
- auditor: reads everything, including the audit trail, and exports the
  audit package; changes nothing;
- executive: reads summaries: period reports, savings and the briefing.

A role that is not one of these (a typo, a role removed) may do nothing.
"""
from __future__ import annotations

from typing import NamedTuple

ROLES = ("admin", "energy_engineer", "plant_manager", "auditor", "executive")

# Readers of the detail (catalog, baselines, CUSUM, data quality, alerts).
_DETAIL = ("admin", "energy_engineer", "plant_manager", "auditor")
_ENGINEERING = ("admin", "energy_engineer")


class Action(NamedTuple):
    description: str
    roles: tuple[str, ...]


ACTIONS: dict[str, Action] = {
    "account.read": Action("who am I, and what may my role do", ROLES),
    "catalog.read": Action("list and show catalog entries", _DETAIL),
    "catalog.write": Action("add catalog entries", _ENGINEERING),
    "data.import": Action("import readings and driver values", _ENGINEERING),
    "baseline.read": Action("baseline versions, history and expected energy", _DETAIL),
    "baseline.train": Action("train a baseline", _ENGINEERING),
    "baseline.adjust": Action("adjust a baseline (a documented adjustment)", _ENGINEERING),
    "report.read": Action("read a period report of an SEU", ROLES),
    "report.generate": Action("generate and store period reports",
                              ("admin", "energy_engineer", "plant_manager")),
    "cusum.read": Action("CUSUM of an SEU", _DETAIL),
    "quality.read": Action("data-quality scan without saving", _DETAIL),
    "quality.scan": Action("data-quality scan saved to the log", _ENGINEERING),
    "savings.read": Action("savings in energy, money and CO2", ROLES),
    "alerts.read": Action("list and show alerts", _DETAIL),
    "alerts.acknowledge": Action("acknowledge an alert with the investigation's finding",
                                 ("admin", "energy_engineer", "plant_manager")),
    # Every meter by name and the open alerts: detail, for a Prometheus
    # server too (an auditor's API key).
    "health.read": Action("health checks and Prometheus metrics of the running system",
                          _DETAIL),
    "briefing.read": Action("the shift-handover briefing", ROLES),
    # The voice skill may train baselines and acknowledge alerts, so asking it
    # needs a role that may do both.
    "ask": Action("answer an utterance as the voice assistant", _ENGINEERING),
    "audit.read": Action("read the audit trail", ("admin", "auditor")),
    "audit.export": Action("export the ISO 50001 audit package (PDF)", _DETAIL),
    "users.manage": Action("add, list, disable users, change roles, make API keys",
                           ("admin",)),
}


def allowed(role: str, action: str) -> bool:
    """True if ``role`` may do ``action``; an unknown action or role allows nothing."""
    entry = ACTIONS.get(action)
    return entry is not None and role in entry.roles


def roles_for(action: str) -> tuple[str, ...]:
    """The roles that may do ``action`` (KeyError for an action that does not exist)."""
    return ACTIONS[action].roles

