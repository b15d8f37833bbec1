"""Spoken alerts end to end (issue 8): ovos-core's skill manager on a FakeBus
with the skill loaded by its entry point, on the demo plant.

A device that opted in (setting ``announce_alerts``) polls the engine's alert
store on a repeating scheduled event; the tests fire that event through the
bus as OVOS's scheduler would, after creating alerts with the engine
(``alerts.evaluate`` and ``alerts.raise_conditions``). What is checked is what
the device says: nothing of the backlog at start, each new critical alert
once, several summarised, no warnings (unless asked for), nothing
acknowledged, nothing when not opted in or in the quiet hours, and German.
"""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from num2words import num2words

pytest.importorskip("ovoscope")

from conftest import pct_words, running_assistant, voice_demo  # noqa: E402
from engine import alerts, briefing, catalog, reports, schema  # noqa: E402
from engine.cli.chat import SKILL_ID  # noqa: E402
from skill_enms.announcements import ANNOUNCE_EVENT, is_quiet, quiet_window  # noqa: E402

OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))
SEPTEMBER = (date(2025, 9, 1), date(2025, 9, 30))
EVENT = f"{SKILL_ID}:{ANNOUNCE_EVENT}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with voice_demo(tmp_path_factory, "voice-announce") as store:
        alerts.evaluate(store, *OCTOBER, notifiers=[])    # the backlog, critical ones among it
        yield store


@pytest.fixture(scope="module")
def assistant(demo):
    yield from running_assistant()


class Device:
    """The skill on the bus, what it says unasked and the events it schedules."""

    def __init__(self, assistant, skill):
        self.assistant, self.skill, self.said, self.scheduled = assistant, skill, [], []

    def on_speak(self, m):
        from ovos_bus_client.message import Message
        self.said.append((Message.deserialize(m) if isinstance(m, str) else m).data["utterance"])

    def on_schedule(self, m):
        from ovos_bus_client.message import Message
        self.scheduled.append((Message.deserialize(m) if isinstance(m, str) else m).data)

    def poll(self):
        """The scheduler fires the repeating event (MiniCroft runs no scheduler)."""
        from ovos_bus_client.message import Message
        self.assistant.bus.emit(Message(EVENT, {}))


@pytest.fixture
def device(assistant):
    """A device that has not opted in (the default); every setting a test
    changes is put back and the device opts out again."""
    skill = assistant.croft.plugin_skills[SKILL_ID].instance
    heard = Device(assistant, skill)
    before = dict(skill.settings)
    assistant.bus.on("speak", heard.on_speak)
    assistant.bus.on("mycroft.scheduler.schedule_event", heard.on_schedule)
    yield heard
    assistant.bus.remove("speak", heard.on_speak)
    assistant.bus.remove("mycroft.scheduler.schedule_event", heard.on_schedule)
    for key in [k for k in skill.settings if k not in before]:
        del skill.settings[key]
    skill.settings.update(before)
    skill._schedule_announcements()


@pytest.fixture
def opted_in(device):
    """The device opted in, then started as initialize() starts it."""
    device.skill.settings["announce_alerts"] = True
    device.skill._schedule_announcements()
    return device


def meter_of(store, equipment, source):
    """(id, name) of the SEU's meter."""
    name = next(m["name"] for m in catalog.list_entries(store, "meter")
                if m["equipment"] == equipment and m["source"] == source)
    with store.read() as conn:
        return conn.execute(sa.select(schema.meters.c.id).where(
            schema.meters.c.name == name)).scalar(), name


def gap(store, equipment, source, severity, first, last):
    """A missing-data alert on the SEU's meter, raised through the alert store."""
    meter_id, meter = meter_of(store, equipment, source)
    seu = next(u for u in catalog.list_entries(store, "seu")
               if u["equipment"] == equipment and u["source"] == source)
    [alert] = alerts.raise_conditions(store, [{
        "kind": "missing_data", "subject_kind": "meter", "subject_id": meter_id,
        "subject": meter, "seu_id": seu["id"], "key": f"{first}T00:00:00Z",
        "period": f"{first}/{last}", "first": first, "last": last, "severity": severity,
        "message": "no readings", "evidence": {"missing_s": 86400.0 * ((last - first).days + 1),
                                              "start": f"{first}T00:00:00Z"}}])
    return alert


# --- the rules without the bus ---------------------------------------------------------------

def test_quiet_hours_rule():
    night = quiet_window("22:00-06:00")
    at = lambda h, m=0: datetime(2025, 11, 24, h, m)  # noqa: E731
    assert is_quiet(night, at(23)) and is_quiet(night, at(2)) and is_quiet(night, at(22))
    assert not is_quiet(night, at(6)) and not is_quiet(night, at(12))
    lunch = quiet_window(" 12:00 - 13:30 ")
    assert is_quiet(lunch, at(13, 29)) and not is_quiet(lunch, at(13, 30))
    assert quiet_window("") is None and not is_quiet(None, at(3))
    for bad in ("22:00", "25:00-06:00", "night"):
        with pytest.raises(ValueError, match="quiet hours"):
            quiet_window(bad)


# --- on the bus ------------------------------------------------------------------------------

def test_start_skips_the_backlog_then_each_new_critical_alert_once(demo, opted_in):
    said, scheduled, skill = opted_in.said, opted_in.scheduled, opted_in.skill
    # A repeating event every sixty seconds (the default).
    scheduled.clear()
    assert skill._schedule_announcements() == 60
    assert scheduled[-1]["event"] == EVENT and scheduled[-1]["repeat"] == 60
    # The October alerts (critical ones among them) were there before: not read out.
    assert any(a["severity"] == "critical" for a in alerts.list_alerts(demo, "open"))
    opted_in.poll()
    assert said == []
    # September's evaluation raises two critical alerts on Compressor-EU-1 and
    # two warnings on HVAC-EU-North: the two critical ones are said, summarised.
    new = alerts.evaluate(demo, *SEPTEMBER, notifiers=[])["new"]
    critical = [a for a in new if a["severity"] == "critical"]
    assert [a["kind"] for a in critical] == ["significant_deviation", "cusum_alarm"]
    assert any(a["severity"] == "warning" for a in new)
    truth = reports.build(demo, "Compressor-EU-1", "electricity", *SEPTEMBER)
    opted_in.poll()
    assert said == [f"Two new critical alerts; the first: Compressor-EU-1 electricity "
                    f"{pct_words(truth['deviation_pct'])} percent above expected in September "
                    "2025. Say tell me more to hear them all."]
    assert "HVAC" not in said[0]
    # Once: the next poll says nothing.
    opted_in.poll()
    assert len(said) == 1
    # "Tell me more": each with its number, and how to acknowledge it.
    more = opted_in.assistant.ask("tell me more").text
    for alert in critical:
        assert f"alert {num2words(alert['id'])}, critical:" in more
    assert "a loss alarm on Compressor-EU-1 electricity in September 2025" in more
    assert "say acknowledge alert and its number" in more


def test_one_critical_alert_said_whole_warnings_and_acknowledged_ones_not(demo, opted_in):
    said, skill = opted_in.said, opted_in.skill
    gap(demo, "Compressor-EU-1", "electricity", "warning", date(2025, 11, 1), date(2025, 11, 1))
    opted_in.poll()
    assert said == []                  # a warning: below the device's minimum severity
    handled = gap(demo, "Boiler-1", "natural_gas", "critical", date(2025, 11, 2),
                  date(2025, 11, 4))
    alerts.acknowledge(demo, handled["id"], by="e.engineer", comment="logger swapped")
    opted_in.poll()
    assert said == []                  # acknowledged before the device got to it
    # Every role may hear alerts: a shop-floor device too.
    skill.settings["role"] = "shop_floor"
    gap(demo, "Autoclave-1", "steam", "critical", date(2025, 11, 3), date(2025, 11, 5))
    opted_in.poll()
    assert said == ["Critical alert: no data from the Autoclave-1 steam meter from November "
                    "third to November fifth, 2025."]
    opted_in.poll()
    assert len(said) == 1


def test_not_opted_in_hears_nothing(demo, device):
    from ovos_bus_client.message import Message
    said, skill = device.said, device.skill
    assert not skill.settings.get("announce_alerts")      # the default: off
    assert skill._schedule_announcements() is None and not device.scheduled
    gap(demo, "Hydraulic-Pump-1", "electricity", "critical", date(2025, 11, 6),
        date(2025, 11, 8))
    device.poll()                                          # nothing listens
    skill._scheduled_announcements(Message(EVENT, {}))     # and the handler checks too
    assert said == []


def test_warnings_when_asked_for_most_severe_first(demo, opted_in):
    said, skill = opted_in.said, opted_in.skill
    skill.settings["announce_min_severity"] = "warning"
    gap(demo, "Conveyor-A", "electricity", "warning", date(2025, 11, 9), date(2025, 11, 9))
    gap(demo, "Compressor-1", "electricity", "critical", date(2025, 11, 10), date(2025, 11, 12))
    opted_in.poll()
    assert said == ["Two new alerts, the most severe first: critical, no data from the "
                    "Compressor-1 electricity meter from November tenth to November twelfth, "
                    "2025. Say tell me more to hear them all."]


def test_live_deviation_said_as_energy_used_today(demo, opted_in):
    said, skill = opted_in.said, opted_in.skill
    skill.settings["announce_min_severity"] = "warning"
    seu = next(u for u in catalog.list_entries(demo, "seu")
               if u["equipment"] == "Compressor-EU-1")
    today = date.today()
    alerts.raise_conditions(demo, [{
        "kind": "live_deviation", "subject_kind": "seu", "subject_id": seu["id"],
        "subject": "Compressor-EU-1 electricity", "seu_id": seu["id"], "key": today.isoformat(),
        "period": today.isoformat(), "first": today, "last": today, "severity": "warning",
        "message": "today above the baseline",
        "evidence": {"unit": "kWh", "actual": 1304.0, "expected": 1000.0,
                     "deviation_pct": 30.4}}])
    opted_in.poll()
    assert said == ["Warning: Compressor-EU-1 electricity used thirty percent more than "
                    "expected today so far."]


def test_quiet_hours_hold_alerts_until_they_end(demo, opted_in):
    said, skill = opted_in.said, opted_in.skill
    now = datetime.now(timezone.utc).astimezone(ZoneInfo(briefing.site_timezone(demo)))
    around = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    skill.settings["announce_quiet_hours"] = around
    gap(demo, "Injection-Molding-1", "electricity", "critical", date(2025, 11, 13),
        date(2025, 11, 15))
    opted_in.poll()
    assert said == []
    skill.settings["announce_quiet_hours"] = ""
    opted_in.poll()
    assert said == ["Critical alert: no data from the Injection-Molding-1 electricity meter "
                    "from November thirteenth to November fifteenth, 2025."]


def test_spoken_in_the_devices_language(demo, opted_in):
    said, skill = opted_in.said, opted_in.skill
    skill.settings["lang"] = "de-de"
    gap(demo, "HVAC-EU-North", "electricity", "critical", date(2025, 11, 16), date(2025, 11, 18))
    opted_in.poll()
    assert len(said) == 1 and said[0].startswith("Kritischer Alarm: keine Daten von "), said
    assert "HVAC-EU-North" in said[0] and "November" in said[0]


def test_without_a_starting_point_the_first_poll_sets_one(demo, opted_in):
    """A device that started before its database answered: the first poll that
    reaches it starts from the newest alert, and does not read it out."""
    said, skill = opted_in.said, opted_in.skill
    skill._announced = (skill._announced[0], None)     # as when newest_id failed at start
    gap(demo, "Boiler-1", "natural_gas", "critical", date(2025, 11, 19), date(2025, 11, 21))
    opted_in.poll()
    assert said == []
    gap(demo, "Conveyor-A", "electricity", "critical", date(2025, 11, 22), date(2025, 11, 24))
    opted_in.poll()
    assert said == ["Critical alert: no data from the Conveyor-A electricity meter from "
                    "November twenty-second to November twenty-fourth, 2025."]
