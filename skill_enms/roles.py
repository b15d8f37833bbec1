"""Who may do what by voice (DESIGN "Voice"; docs/voice.md, "Roles").

A device (its skill setting ``role``) has one role. Hearing reports, trends,
data quality, savings, alerts and the briefing is open to every role;
changing what the energy management system holds follows the engine's
permission matrix (``engine.permissions``, docs/permissions.md), the same one
the HTTP API applies:

- training a baseline: energy engineer or admin (``baseline.train``);
- acknowledging an alert: plant manager, energy engineer or admin
  (``alerts.acknowledge``).

Besides the engine's roles a device may be ``shop_floor``: a speaker on the
production floor who hears everything and changes nothing.

A value that is not a role (a typo in the settings) has no privileges: it
may hear everything and change nothing, like the lowest role, never like the
highest. The words for roles and actions
are in the locale (``vocab/roles.value``, ``dialog/action.*.dialog``).
"""
from __future__ import annotations

from engine import permissions

# In the order a refusal names them (lowest first).
ROLES = ("shop_floor", "executive", "auditor", "plant_manager", "energy_engineer", "admin")
assert set(permissions.ROLES) <= set(ROLES)
DEFAULT_ROLE = "energy_engineer"       # a single-user set-up: the engineer who installed it

# voice action -> the engine action it performs; actions not listed only
# read, and are open to every role.
ENGINE_ACTIONS = {
    "train_baseline": "baseline.train",
    "acknowledge_alert": "alerts.acknowledge",
}


def normalise(value) -> str | None:
    """'Energy Engineer', 'energy-engineer' -> 'energy_engineer'; None if not a role."""
    if not isinstance(value, str):
        return None
    key = "_".join(value.strip().lower().replace("-", " ").replace("_", " ").split())
    aliases = {"administrator": "admin", "engineer": "energy_engineer",
               "manager": "plant_manager", "operator": "shop_floor"}
    key = aliases.get(key, key)
    return key if key in ROLES else None


def role_of(settings) -> str:
    """The device's role from the skill settings: empty means the default; a
    value that is not a role is returned as it is (and allows nothing)."""
    value = (settings or {}).get("role")
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_ROLE
    return normalise(value) or str(value).strip()


def allowed(role: str, action: str) -> bool:
    engine_action = ENGINE_ACTIONS.get(action)
    return engine_action is None or permissions.allowed(role, engine_action)


def who_may(action: str) -> tuple[str, ...]:
    engine_action = ENGINE_ACTIONS.get(action)
    if engine_action is None:
        return ROLES
    return tuple(r for r in ROLES if r in permissions.roles_for(engine_action))
