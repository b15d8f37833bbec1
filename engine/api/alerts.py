"""/api/v1/alerts: list, show and acknowledge alerts (``enms alerts``,
``enms alerts show``, ``enms alerts ack``)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field

from .. import alerts
from . import sites
from .auth import Permitted
from .common import Body, EngineJSON, Name, StoreDep, Text

router = APIRouter(prefix="/alerts", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_alerts(store: StoreDep, user: Permitted("alerts.read"),
                status: Literal["open", "acknowledged", "all"] = "open",
                kind: Literal[alerts.KINDS] | None = None,
                subject: Annotated[Name | None, Query(description="an SEU, meter or driver")] = None,
                severity: Literal[alerts.SEVERITIES] | None = None):
    """Alerts, most severe first, then the most recent period first."""
    found = alerts.list_alerts(store, status, kind=kind, subject=subject, severity=severity)
    return EngineJSON(sites.visible_alerts(store, user, found))


@router.get("/{alert_id}")
def show_alert(alert_id: AlertId, store: StoreDep, user: Permitted("alerts.read")):
    """One alert with its evidence and notifications."""
    alert = alerts.get(store, alert_id)
    sites.check_alert(store, user, alert)
    return EngineJSON(alert)


class AckIn(Body):
    comment: Text = Field(min_length=1, description="what the investigation found and did",
                          examples=["leak on line 3 found and fixed"])


@router.post("/{alert_id}/acknowledge")
def acknowledge(alert_id: AlertId, body: AckIn, store: StoreDep,
                user: Permitted("alerts.acknowledge")):
    """Acknowledge an alert once, as the calling user, with the finding."""
    sites.check_alert(store, user, alerts.get(store, alert_id))
    return EngineJSON(alerts.acknowledge(store, alert_id, user["name"], body.comment))
