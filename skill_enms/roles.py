"""Who may do what by voice (DESIGN "Voice"; docs/voice.md, "Roles").

A device (its skill setting ``role``) has one role. Hearing reports, trends,
data quality, savings, alerts and the briefing is open to every role;
changing what the energy management system holds is not:

- training a baseline: energy engineer or admin;
- acknowledging an alert: energy engineer or admin.

A value that is not a role (a typo in the settings) has no privileges: it
may hear everything and change nothing, like the lowest role, never like the
highest. The words for roles and actions
are in the locale (``vocab/roles.value``, ``dialog/action.*.dialog``).
"""
from __future__ import annotations

ROLES = ("shop_floor", "plant_manager", "energy_engineer", "auditor", "admin")
DEFAULT_ROLE = "energy_engineer"       # a single-user set-up: the engineer who installed it

# action -> roles that may do it; actions not listed are open to every role.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "train_baseline": ("energy_engineer", "admin"),
    "acknowledge_alert": ("energy_engineer", "admin"),
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
    needed = PERMISSIONS.get(action)
    return needed is None or role in needed


def who_may(action: str) -> tuple[str, ...]:
    return PERMISSIONS.get(action, ROLES)
