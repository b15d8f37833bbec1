"""A user tied to one site (``enms user add --site``) reads and acts on that site only.

The site of an SEU, a meter or an alert is its equipment's. Drivers, energy
sources and products are plant-wide: every site's users see them. A user
without a site sees every site. Another site's SEU answers 403 (it is not
hidden that it exists: the catalog names are not secrets, its figures are).
"""
from fastapi import HTTPException

from .. import catalog


class Sites:
    """The site of each piece of equipment and meter, read once."""

    def __init__(self, store):
        self.of_equipment = {e["name"]: e["site"] for e in catalog.list_entries(store, "equipment")}
        self.of_meter = {m["name"]: self.of_equipment.get(m["equipment"])
                         for m in catalog.list_entries(store, "meter")}

    def of_seu(self, seu_name: str) -> str | None:
        # 'Boiler-1 natural_gas': an energy source's name has no space.
        return self.of_equipment.get(seu_name.rsplit(" ", 1)[0])


def limited(user: dict) -> bool:
    return user["site"] is not None


def _refuse(user: dict, what: str, site: str) -> HTTPException:
    return HTTPException(403, f"{user['name']} may use the site {user['site']} only; "
                         f"{what} is at {site}")


def check_equipment(store, user: dict, equipment: str) -> None:
    """403 if ``equipment`` (an SEU's, a meter's) is at another site than the user's."""
    if limited(user):
        site = Sites(store).of_equipment.get(equipment)
        if site is not None and site != user["site"]:
            raise _refuse(user, equipment, site)


def check_plant_wide(store, user: dict, what: str) -> None:
    """403 for a site-limited user when ``what`` (plant-wide figures) spans several sites."""
    if limited(user) and len(catalog.list_entries(store, "site")) > 1:
        raise HTTPException(403, f"{what} are plant-wide and {user['name']} may use the site "
                            f"{user['site']} only: name an SEU (?seu=)")


def check_meters(store, user: dict, meters) -> None:
    if limited(user) and meters:
        sites = Sites(store)
        for meter in meters:
            site = sites.of_meter.get(meter)
            if site is not None and site != user["site"]:
                raise _refuse(user, meter, site)


def check_alert(store, user: dict, alert: dict) -> None:
    if limited(user):
        site = _alert_site(Sites(store), alert)
        if site is not None and site != user["site"]:
            raise _refuse(user, f"alert {alert['id']} ({alert['subject']})", site)


def _alert_site(sites: Sites, alert: dict) -> str | None:
    if alert["seu"]:
        return sites.of_seu(alert["seu"])
    return sites.of_meter.get(alert["subject"]) if alert["subject_kind"] == "meter" else None


def visible_alerts(store, user: dict, alerts: list[dict]) -> list[dict]:
    if not limited(user):
        return alerts
    sites = Sites(store)
    return [a for a in alerts if _alert_site(sites, a) in (None, user["site"])]


def visible_entries(store, user: dict, kind: str, rows: list[dict]) -> list[dict]:
    """Catalog rows of the user's site; plant-wide kinds unchanged."""
    if not limited(user):
        return rows
    if kind == "site":
        return [r for r in rows if r["name"] == user["site"]]
    if kind == "equipment":
        return [r for r in rows if r["site"] == user["site"]]
    if kind in ("meter", "seu"):
        sites = Sites(store)
        return [r for r in rows if sites.of_equipment.get(r["equipment"]) == user["site"]]
    return rows


def site_seus(store, user: dict) -> list[tuple[str, str]] | None:
    """The (equipment, source) of the user's site's SEUs; None: every SEU."""
    if not limited(user):
        return None
    rows = visible_entries(store, user, "seu", catalog.list_entries(store, "seu"))
    return [(r["equipment"], r["source"]) for r in rows]


def site_meters(store, user: dict) -> list[str] | None:
    """The user's site's meters; None: every meter."""
    if not limited(user):
        return None
    return [name for name, site in Sites(store).of_meter.items() if site == user["site"]]


def briefing_site(user: dict, site: str | None) -> str | None:
    """The site a briefing is about: the user's own, if they have one."""
    if limited(user):
        if site is not None and site != user["site"]:
            raise _refuse(user, "that briefing", site)
        return user["site"]
    return site
