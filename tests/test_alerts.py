"""Alerts on SQLite and PostgreSQL: raised from reports and the data-quality
scan, idempotent, acknowledged with a comment, and notified once.

A small plant with a three-day meter gap checks the store, acknowledgement,
the command and a failing webhook; the demo factory (built once per backend)
checks that its injected effects and faults raise the right alerts on the
right SEU, meter or driver and months, and nothing twice.
"""
import json
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, demo_database
from engine import alerts, catalog, ingest, notify, readings, schema
from engine.cli.main import main
from engine.errors import EnmsError, NotFound
from test_notify import free_port, http_sink, smtp_sink

NOTIFY_VARS = ("ENMS_NOTIFY_CONFIG", "ENMS_SMTP_HOST", "ENMS_WEBHOOK_URL",
               "ENMS_NOTIFY_MIN_SEVERITY")


@pytest.fixture(autouse=True)
def no_configured_notifiers(monkeypatch, tmp_path):
    """No notifier of the machine running the tests takes part."""
    for name in NOTIFY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENMS_DATA_DIR", str(tmp_path / "data"))


# --- a small plant with a gap -------------------------------------------------------------

HOUR = 3600
START = int(np.datetime64("2024-11-30T23:00:00", "s").astype(np.int64))  # 2024-12-01 local
STOP = int(np.datetime64("2025-02-28T23:00:00", "s").astype(np.int64))   # 2025-03-01 local
GAP = (int(np.datetime64("2025-01-09T23:00:00", "s").astype(np.int64)),  # 2025-01-10 local
       int(np.datetime64("2025-01-12T23:00:00", "s").astype(np.int64)))  # to 2025-01-13


def _load_small_plant(store, plant):
    plant(store)
    rng = np.random.default_rng(3)
    ts = np.arange(START, STOP, HOUR, dtype=np.int64)
    kept = ts[(ts < GAP[0]) | (ts >= GAP[1])]
    with store.begin() as conn:
        ids = dict(conn.execute(sa.select(schema.meters.c.name, schema.meters.c.id)).all())
        drivers = dict(conn.execute(sa.select(schema.drivers.c.name, schema.drivers.c.id)).all())
    for meter, source, series, columns in (
            ("M-Compressor-1", "electricity", kept, ("consumption_kwh", "power_kw")),
            ("M-Boiler-1-NG", "natural_gas", ts, ("consumption_m3", "flow_rate_m3h"))):
        energy = 10 + rng.normal(0, 1, len(series))
        values = {columns[0]: energy, columns[1]: energy}
        if source == "natural_gas":
            values["pressure_bar"] = np.full(len(series), np.nan)
        with store.begin() as conn:
            ingest.load_readings(conn, catalog.get_energy_source(store, source), readings.Batch(
                np.full(len(series), ids[meter], dtype=np.int64), series,
                np.full(len(series), HOUR, dtype=np.int64), values))
    for name, value in (("outdoor_temp_c", 5 + rng.normal(0, 3, len(ts))),
                        ("production_count", rng.integers(80, 120, len(ts)).astype(float))):
        with store.begin() as conn:
            ingest.load_driver_values(conn, np.full(len(ts), drivers[name]), ts,
                                      np.full(len(ts), HOUR), value)


def _only(found, **fields):
    hits = [a for a in found if all(a[k] == v for k, v in fields.items())]
    assert len(hits) == 1, (fields, [(a["kind"], a["subject"], a["period"]) for a in found])
    return hits[0]


def test_gap_alert_is_stored_once_and_a_failing_webhook_loses_nothing(store, plant):
    _load_small_plant(store, plant)
    refused = notify.WebhookNotifier(f"http://127.0.0.1:{free_port()}/hook", timeout_s=2)
    with smtp_sink() as (host, port, mails):
        mail = notify.EmailNotifier(host, "enms@plant.example", ["energy@plant.example"],
                                    port=port, timeout_s=5)
        first = alerts.evaluate(store, date(2025, 1, 5), date(2025, 1, 20),
                                notifiers=[refused, mail])
    assert first["months"] == ["2025-01"]
    assert {s["reason"] for s in first["skipped"]} == {"no active baseline"}
    gap = _only(first["new"], kind="missing_data", subject="M-Compressor-1")
    assert (gap["period"], gap["first"], gap["last"]) == \
        ("2025-01-10..2025-01-12", date(2025, 1, 10), date(2025, 1, 12))
    assert gap["severity"] == "critical" and gap["status"] == "open"
    assert gap["seu"] == "Compressor-1 electricity"
    assert gap["evidence"]["missing_s"] == 3 * 86400
    assert gap["evidence"]["affects_seus"] == ["Compressor-1 electricity"]
    # Only the gap: the days around it are complete and plausible.
    assert [a["kind"] for a in first["new"]] == ["missing_data"]

    # The webhook refused: one line for the notifier, the alert stays stored with the error.
    (line,) = first["notifications"]["errors"]
    assert "\n" not in line and line.startswith("webhook http://127.0.0.1:")
    assert "cannot connect" in line and "1 alert not sent, kept" in line
    stored = alerts.get(store, gap["id"])
    assert "error" in stored["notifications"]["webhook"]
    # The e-mail went out all the same, once, with the meter, kind and evidence.
    assert "sent_at" in stored["notifications"]["email"]
    (sent,) = mails
    assert sent["message"]["Subject"] == \
        "[EnMS critical] missing data: M-Compressor-1 2025-01-10..2025-01-12"
    body = sent["message"].get_content()
    assert "Kind:     missing_data" in body and '"missing_s": 259200' in body
    assert alerts.list_alerts(store) == [stored]

    # The same condition again: no second alert, nothing changed, nothing sent.
    # Months after the last day with readings wait for their data.
    again = alerts.evaluate(store, date(2025, 1, 1), date(2025, 4, 30), notifiers=[refused])
    assert again["data_until"] == date(2025, 2, 28)
    assert again["months"] == ["2025-01", "2025-02"]
    assert again["new"] == [] and again["updated"] == [] and again["unchanged"] == 1
    assert again["notifications"]["errors"] == []
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.alerts)).scalar() == 1

    # Sending again what failed, once.
    with http_sink() as (url, received):
        hook = notify.WebhookNotifier(url, timeout_s=5)
        retried = alerts.retry_notifications(store, [hook])
        assert (retried["retried"], retried["sent"], retried["errors"]) == (1, 1, [])
        assert alerts.retry_notifications(store, [hook])["retried"] == 0
    (posted,) = received
    assert posted["body"]["id"] == gap["id"] and posted["body"]["kind"] == "missing_data"
    assert posted["body"]["subject"] == "M-Compressor-1"
    assert posted["body"]["evidence"]["missing_s"] == 3 * 86400
    assert "sent_at" in alerts.get(store, gap["id"])["notifications"]["webhook"]


def test_acknowledgement_is_the_investigation_record(store, plant):
    _load_small_plant(store, plant)
    (gap,) = alerts.evaluate(store, date(2025, 1, 1), date(2025, 1, 31), notifiers=[])["new"]
    with pytest.raises(EnmsError, match="a comment is required"):
        alerts.acknowledge(store, gap["id"], "A. Engineer", "  ")
    with pytest.raises(NotFound, match="no alert 999"):
        alerts.acknowledge(store, 999, "A. Engineer", "checked")
    done = alerts.acknowledge(store, gap["id"], "A. Engineer",
                              "Logger power supply failed; replaced on 2025-01-13")
    assert done["status"] == "acknowledged" and done["acknowledged_by"] == "A. Engineer"
    assert done["comment"] == "Logger power supply failed; replaced on 2025-01-13"
    assert done["acknowledged_at"] is not None and done["acknowledged_at"].tzinfo is not None
    with pytest.raises(EnmsError, match="already acknowledged by A. Engineer"):
        alerts.acknowledge(store, gap["id"], "B. Manager", "me too")
    assert alerts.list_alerts(store, "open") == []
    assert [a["id"] for a in alerts.list_alerts(store, "all")] == [gap["id"]]
    # A re-evaluation finds the condition again and leaves the record as it was.
    again = alerts.evaluate(store, date(2025, 1, 1), date(2025, 1, 31), notifiers=[])
    assert again["new"] == []
    kept = alerts.get(store, gap["id"])
    assert (kept["status"], kept["acknowledged_by"], kept["comment"]) == \
        ("acknowledged", "A. Engineer", done["comment"])


def test_enms_alerts_command(store, plant, capsys, monkeypatch):
    _load_small_plant(store, plant)
    db = ["--db", store.url]
    monkeypatch.setenv("ENMS_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    # Stored, but the webhook failed: exit 3 and one warning line.
    assert main([*db, "alerts", "evaluate", "--period", "2025-01", "--json"]) == 3
    out, err = capsys.readouterr()
    (gap,) = json.loads(out)["new"]
    assert gap["kind"] == "missing_data" and gap["subject"] == "M-Compressor-1"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("enms: warning: webhook http://127.0.0.1:")
    monkeypatch.delenv("ENMS_WEBHOOK_URL")

    assert main([*db, "alerts", "--json"]) is not None
    listed = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in listed] == [gap["id"]]

    assert main([*db, "alerts", "ack", str(gap["id"]), "--by", "A. Engineer"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("enms: error: a comment is required: what was found and what is "
                           "done about it (the deviation investigation record)")
    assert main([*db, "alerts", "ack", str(gap["id"]), "--by", "A. Engineer",
                 "--comment", "logger replaced"]) == 0
    assert "acknowledged by A. Engineer" in capsys.readouterr().out
    assert main([*db, "alerts", "ack", str(gap["id"]), "--comment", "again"]) == 2
    assert "already acknowledged" in capsys.readouterr().err
    assert main([*db, "alerts"]) == 0
    assert "no open alerts" in capsys.readouterr().out
    assert main([*db, "alerts", "--status", "all"]) == 0
    assert "acknowledged by A. Engineer" in capsys.readouterr().out
    assert main([*db, "alerts", "evaluate", "--period", "2025-01"]) == 0
    assert "0 new, 0 updated, 1 unchanged" in capsys.readouterr().out


# --- the demo factory -----------------------------------------------------------------------

PERIOD = (date(2025, 2, 1), date(2025, 8, 31))


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, truth, _):
        yield store, truth


def _month(text: str) -> date:
    return date.fromisoformat(text + "-01")


def test_demo_effects_and_faults_raise_the_right_alerts(demo):
    store, truth = demo
    with http_sink() as (url, received):
        hook = notify.WebhookNotifier(url, timeout_s=5)   # warning and critical alerts
        result = alerts.evaluate(store, *PERIOD, notifiers=[hook])
        sent = len(received)
    new = result["new"]
    assert result["months"] == ["2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07",
                                "2025-08"]
    assert result["skipped"] == []

    # The air leak (step from 2025-04-14) and the coil fouling (from 2025-06-01):
    # CUSUM alarms and significant deviations above the baseline, in time (the
    # fouling within 2 months in 10 of 25 generated plants, within 3 in most:
    # docs/methods.md section 11).
    effects = {e["type"]: e for e in truth["effects"]}
    for effect, within_months in (("step", 1), ("degradation", 3)):
        seu = effects[effect]["seu"].replace("/", " ")
        start = date.fromisoformat(effects[effect]["start"])
        mine = [a for a in new if a["subject"] == seu]
        cusum = sorted((a for a in mine if a["kind"] == "cusum_alarm"), key=lambda a: a["first"])
        assert cusum, seu
        first_alarm = date.fromisoformat(cusum[0]["evidence"]["first_alarm"]["week_of"])
        assert start <= first_alarm <= date(start.year, start.month + within_months, start.day)
        week = (first_alarm, date.fromordinal(first_alarm.toordinal() + 6))
        assert week[0] <= cusum[0]["last"] and cusum[0]["first"] <= week[1]  # its month
        assert any(a["kind"] == "significant_deviation" for a in mine), seu
        assert all(a["evidence"]["direction"] == "above" and a["first"] >= _month(
            effects[effect]["start"][:7]) for a in mine), seu
        assert all(a["severity"] in ("warning", "critical") for a in mine)
        assert all(a["seu"] == seu and a["subject_kind"] == "seu" for a in mine)
    leak = [a for a in new if a["subject"] == "Compressor-EU-1 electricity"
            and a["kind"] == "significant_deviation"]
    assert {a["period"] for a in leak} == {"2025-04", "2025-05", "2025-06", "2025-07", "2025-08"}
    may = _only(leak, period="2025-05")
    assert may["severity"] == "critical" and may["evidence"]["deviation_pct"] >= 10
    assert may["evidence"]["actual"] > may["evidence"]["upper"]

    # Energy above the baseline only where an effect raised it; savings are information.
    above = {a["subject"] for a in new if a["subject_kind"] == "seu"
             and a["evidence"]["direction"] == "above"}
    assert above == {"Compressor-EU-1 electricity", "HVAC-EU-North electricity"}
    assert all(a["severity"] == "info" for a in new
               if a["subject_kind"] == "seu" and a["evidence"]["direction"] == "below")

    # Data: the steam gap and the weather-station outage are missing data, the
    # stuck meter a quality drop; each once, on the right meter or driver and days.
    data = sorted(((a["kind"], a["subject"], a["period"]) for a in new
                   if a["subject_kind"] != "seu"))
    assert data == [("data_quality_drop", "M-Hydraulic-Pump-1-EL", "2025-05"),
                    ("missing_data", "M-Autoclave-1-ST", "2025-07-21..2025-07-25"),
                    ("missing_data", "outdoor_temp_c", "2025-02-10..2025-02-13")]
    steam = _only(new, kind="missing_data", subject="M-Autoclave-1-ST")
    fault = next(f for f in truth["data_faults"] if f.get("meter") == "M-Autoclave-1-ST")
    assert (steam["evidence"]["start"], steam["evidence"]["end"]) == (fault["start"], fault["end"])
    assert steam["severity"] == "critical" and steam["seu"] == "Autoclave-1 steam"
    weather = _only(new, kind="missing_data", subject="outdoor_temp_c")
    assert weather["subject_kind"] == "driver" and weather["evidence"]["whole_days"] == 4
    assert weather["evidence"]["derived_drivers"] == ["cooling_degree_days",
                                                      "heating_degree_days"]
    assert "Boiler-1 natural_gas" in weather["evidence"]["affects_seus"]
    stuck = _only(new, kind="data_quality_drop")
    assert stuck["seu"] == "Hydraulic-Pump-1 electricity" and stuck["severity"] == "warning"
    assert stuck["evidence"]["score"] < alerts.DQ_WARNING
    assert stuck["evidence"]["findings"] == {"stuck": 1}
    assert [d["day"] for d in stuck["evidence"]["lowest_days"][:3]] == \
        ["2025-05-19", "2025-05-20", "2025-05-21"]

    # New warning and critical alerts were sent once each, with their evidence.
    wanted = [a for a in new if a["severity"] != "info"]
    assert sent == len(wanted) and sorted(r["body"]["id"] for r in received) == \
        sorted(a["id"] for a in wanted)
    posted = next(r["body"] for r in received if r["body"]["id"] == steam["id"])
    assert posted["subject"] == "M-Autoclave-1-ST" and posted["evidence"]["missing_s"] == 5 * 86400
    assert all("sent_at" in a["notifications"]["webhook"] for a in wanted)

    # Acknowledged with a comment, then evaluated again: nothing new, nothing
    # changed, nothing sent twice, the acknowledgement kept.
    ack = alerts.acknowledge(store, may["id"], "A. Engineer",
                             "Leak at the drain valve of line 3; repair ordered")
    with http_sink() as (url, received_again):
        again = alerts.evaluate(store, date(2025, 4, 1), date(2025, 5, 31),
                                notifiers=[notify.WebhookNotifier(url, timeout_s=5)])
    assert again["new"] == [] and again["updated"] == [] and received_again == []
    assert again["unchanged"] == len([a for a in new if a["period"][:7] in ("2025-04", "2025-05")
                                      and (a["subject_kind"] == "seu"
                                           or a["kind"] == "data_quality_drop")])
    kept = alerts.get(store, may["id"])
    assert (kept["status"], kept["comment"]) == ("acknowledged", ack["comment"])
    assert may["id"] not in [a["id"] for a in alerts.list_alerts(store, "open")]
    with store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(schema.alerts)).scalar()
    assert total == len(new)

    # The 2024 gas-meter gap lies in the baseline year: a missing-data alert,
    # and no SEU alert for a month of the baseline period.
    baseline_year = alerts.evaluate(store, date(2024, 11, 1), date(2024, 11, 30), notifiers=[])
    assert [(a["kind"], a["subject"], a["period"], a["severity"])
            for a in baseline_year["new"]] == [
        ("missing_data", "M-Boiler-1-NG", "2024-11-04..2024-11-08", "critical")]
    assert baseline_year["new"][0]["seu"] == "Boiler-1 natural_gas"
