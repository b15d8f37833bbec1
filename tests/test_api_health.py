"""/api/v1/health and /api/v1/metrics over HTTP on loopback, on both backends:
the demo factory (its data ends in 2025, so its meters are silent) plus one
live meter fed through the streaming writer a minute ago."""
import json
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from engine import alerts, catalog, readings, stream
from engine import schema as s
from engine.localtime import utc_iso
from test_api import api  # noqa: F401 - the server fixture

prometheus_parser = pytest.importorskip("prometheus_client.parser")
LIVE = "M-Live-Pump"
LIVE_READINGS = 3


@pytest.fixture(scope="module")
def live(api):  # noqa: F811
    """Three one-minute readings of a new meter, the newest ending ten seconds
    ago (the oldest starts 190 s ago: within the rate's five minutes for as
    long as the tests take), written as ``enms listen`` writes them; returns
    the newest end [epoch s]."""
    catalog.add_equipment(api.store, "Pump-Live", site="Demo Plant")
    catalog.add_meter(api.store, LIVE, "Pump-Live", "natural_gas", interval_s=60)
    end_s = int(time.time()) - 10
    payload = json.dumps([{"ts": utc_iso(end_s - 60 * (LIVE_READINGS - i)), "duration_s": 60,
                           "consumption_m3": 0.5} for i in range(LIVE_READINGS)]).encode()
    with api.store.begin() as conn:
        written = stream.write(conn, [(0, stream.parse_message(f"enms/Demo Plant/meter/{LIVE}",
                                                                payload))])
    assert written.inserted == LIVE_READINGS and not written.rejected, written
    return end_s


def _newest_end_s(store, meter: str) -> int:
    table = readings.table("natural_gas", [])
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.max(table.c.ts + table.c.duration_s))
                            .join(s.meters, s.meters.c.id == table.c.meter_id)
                            .where(s.meters.c.name == meter)).scalar_one()


def _metrics(api) -> dict:  # noqa: F811
    """(name, sorted labels) -> value of one scrape."""
    answer = api.call("GET", "/metrics", role="auditor")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in prometheus_parser.text_string_to_metric_families(answer.text)
            for sample in family.samples}


def test_health_reports_the_database_and_every_meters_last_data(api, live):  # noqa: F811
    before = time.time()
    answer = api.call("GET", "/health", role="auditor")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["database"]["status"] == "ok"
    # The demo's meters stopped in 2025: silent, so the whole is a warning.
    assert checks["meters"]["status"] == "warning" and report["status"] == "warning"
    meters = {m["meter"]: m for m in report["meters"]}
    with api.store.read() as conn:
        assert set(meters) == set(conn.execute(sa.select(s.meters.c.name)).scalars())
    assert meters[LIVE]["status"] == "ok" and meters[LIVE]["last_reading_end"] == utc_iso(live)
    boiler = meters["M-Boiler-1-NG"]
    assert boiler["status"] == "warning" and boiler["detail"] == "silent"
    assert boiler["last_reading_end"] == utc_iso(_newest_end_s(api.store, "M-Boiler-1-NG"))
    assert abs(boiler["age_s"] - (before - _newest_end_s(api.store, "M-Boiler-1-NG"))) < 5


def test_metrics_give_age_lag_rate_and_open_alerts(api, live):  # noqa: F811
    before = time.time()
    got = _metrics(api)
    assert got[("enms_health_status", (("check", "database"),))] == 0
    assert got[("enms_health_status", (("check", "meters"),))] == 1
    assert got[("enms_meter_silent", (("meter", LIVE),))] == 0
    assert got[("enms_meter_silent", (("meter", "M-Boiler-1-NG"),))] == 1
    boiler_end = _newest_end_s(api.store, "M-Boiler-1-NG")
    boiler_age = got[("enms_meter_last_data_age_seconds", (("meter", "M-Boiler-1-NG"),))]
    assert abs(boiler_age - (before - boiler_end)) < 5
    # The freshest reading is the live meter's; only its three start within five minutes.
    assert abs(got[("enms_ingest_lag_seconds", ())] - (before - live)) < 5
    assert got[("enms_ingest_readings_per_second", ())] == pytest.approx(LIVE_READINGS / 300)
    expected = Counter((a["kind"], a["severity"]) for a in alerts.list_alerts(api.store, "open"))
    assert sum(expected.values()) > 0   # the fixture's alerts of 2025-03
    for kind in alerts.KINDS:
        for severity in alerts.SEVERITIES:
            key = ("enms_alerts_open", (("kind", kind), ("severity", severity)))
            assert got[key] == expected[kind, severity], key


def test_a_meter_without_readings_has_no_age_not_zero(api, live):  # noqa: F811
    catalog.add_meter(api.store, "M-Live-Spare", "Pump-Live", "natural_gas", interval_s=60)
    got = _metrics(api)
    assert ("enms_meter_last_data_age_seconds", (("meter", "M-Live-Spare"),)) not in got
    assert ("enms_meter_silent", (("meter", "M-Live-Spare"),)) not in got
    health = api.call("GET", "/health", role="plant_manager").json()
    spare = next(m for m in health["meters"] if m["meter"] == "M-Live-Spare")
    assert spare["age_s"] is None and spare["detail"] == "no readings yet"


def test_health_and_metrics_need_a_reader_of_detail(api):  # noqa: F811
    for path in ("/health", "/metrics"):
        assert api.call("GET", path).status_code == 401
        refused = api.call("GET", path, role="executive")
        assert refused.status_code == 403
        assert "the role executive may not health.read" in refused.json()["detail"]
