"""/api/v1/health (``enms health`` over HTTP) and /api/v1/metrics (Prometheus).

Both need ``health.read``: they name every meter and count the open alerts,
which is the detail an auditor may read but an executive's summary does not
hold. A Prometheus server scrapes the metrics with a device's API key
(``X-API-Key``, a user of role auditor; docs/api.md "Health and metrics").

The metrics come from the database, so every API process answers the same
and nothing is lost when the listener restarts: the rate and lag are those
of the data as stored, not counters inside ``enms listen``.
"""
import time

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
# The text format every Prometheus server reads (1.0.0 needs Prometheus 3).
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as TEXT_FORMAT

from .. import alerts, health, readings, schema as s
from .auth import Permitted
from .common import EngineJSON, StoreDep

router = APIRouter(tags=["health"])
RATE_WINDOW_S = 300   # the ingest rate is averaged over the last five minutes


@router.get("/health")
def show_health(store: StoreDep, user: Permitted("health.read")):
    """The database and every meter's last data (``enms health``): ``status``
    is ok, warning or failed, the worst of the checks. The answer is 200
    whatever the status, so a failed check is read, not mistaken for a
    server that is down."""
    return EngineJSON(health.check(store))


def recent_readings(store, since_s: float) -> int:
    """Readings stored whose interval starts at or after ``since_s`` [epoch s],
    over every energy source's table (one query per source, on its (meter,
    ts) key: a short range per meter, never a scan of the history)."""
    total = 0
    with store.read() as conn:
        meters = conn.execute(sa.select(s.meters.c.id, s.energy_sources.c.name)
                              .join(s.energy_sources,
                                    s.energy_sources.c.id == s.meters.c.source_id)).all()
        by_source = {}
        for meter_id, source in meters:
            by_source.setdefault(source, []).append(meter_id)
        for source, meter_ids in by_source.items():
            table = readings.table(source, [])
            total += conn.execute(sa.select(sa.func.count()).select_from(table)
                                  .where(table.c.meter_id.in_(meter_ids),
                                         table.c.ts >= int(since_s))).scalar_one()
    return total


def exposition(store, now_s: float) -> bytes:
    """The metrics in the Prometheus text format (version 0.0.4).

    A meter without readings has no age (missing is not zero); open alerts
    are counted for every kind and severity, so a zero is a real zero."""
    registry = CollectorRegistry()
    report = health.check(store, now_s=now_s)
    status = Gauge("enms_health_status", "worst health check: 0 ok, 1 warning, 2 failed",
                   ["check"], registry=registry)
    for c in report["checks"]:
        status.labels(c["check"]).set(health.STATUSES.index(c["status"]))
    if report["checks"][0]["status"] == "failed":
        return generate_latest(registry)
    meters = report["meters"]
    age = Gauge("enms_meter_last_data_age_seconds",
                "time since the end of the meter's newest reading", ["meter"], registry=registry)
    silent = Gauge("enms_meter_silent", "1 if the meter has been silent longer than its "
                   "interval allows", ["meter"], registry=registry)
    for m in meters:
        if m["age_s"] is not None:
            age.labels(m["meter"]).set(m["age_s"])
            silent.labels(m["meter"]).set(m["status"] != "ok")
    ages = [m["age_s"] for m in meters if m["age_s"] is not None]
    if ages:
        Gauge("enms_ingest_lag_seconds", "age of the freshest reading of any meter",
              registry=registry).set(min(ages))
    Gauge("enms_ingest_readings_per_second",
          f"readings stored that start within the last {RATE_WINDOW_S} s, per second",
          registry=registry).set(recent_readings(store, now_s - RATE_WINDOW_S) / RATE_WINDOW_S)
    counts = {(kind, severity): 0 for kind in alerts.KINDS for severity in alerts.SEVERITIES}
    for alert in alerts.list_alerts(store, "open"):
        counts[alert["kind"], alert["severity"]] += 1
    open_alerts = Gauge("enms_alerts_open", "open alerts", ["kind", "severity"],
                        registry=registry)
    for (kind, severity), count in counts.items():
        open_alerts.labels(kind, severity).set(count)
    return generate_latest(registry)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {TEXT_FORMAT: {}}}})
def metrics(store: StoreDep, user: Permitted("health.read")):
    """Prometheus metrics: health checks, last data age per meter, ingest lag
    and rate, open alerts by kind and severity (docs/api.md)."""
    return Response(exposition(store, time.time()), media_type=TEXT_FORMAT)
