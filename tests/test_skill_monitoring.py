"""The skill's monitoring intents end to end (ovos-core on a FakeBus, the skill
loaded by its entry point, real padatious intents) on the demo plant:
CUSUM trend, data quality, savings, alerts (list and acknowledge), the shift
briefing, and who may do what (roles).

Every answer is checked for its content against the engine's own figures:
the SEU, the direction (loss or saving), the size in words, the dates in
words. The demo's data end on 2025-10-31, so the latest complete month is
October 2025 and "last month" is September 2025. Its injected faults give
the data-quality answers: a five-day gap on the Autoclave-1 steam meter in
July 2025, a frozen Hydraulic-Pump-1 meter in May, spikes on the
Injection-Molding-1 meter, outdoor temperature missing in February.
"""
import importlib.util
from contextlib import contextmanager
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from num2words import num2words

pytest.importorskip("ovoscope")

from conftest import pct_words, running_assistant, say, voice_demo  # noqa: E402
from engine import briefing, quality, reports  # noqa: E402
from engine.cli.chat import SKILL_ID  # noqa: E402
from skill_enms import roles  # noqa: E402
from skill_enms.monitoring import active_alarm  # noqa: E402

OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))
HAS_ALERTS = importlib.util.find_spec("engine.alerts") is not None
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with voice_demo(tmp_path_factory, "voice-monitoring") as store:
        if HAS_ALERTS:
            from engine import alerts
            alerts.evaluate(store, *OCTOBER, notifiers=[])
        yield store


@pytest.fixture(scope="module")
def assistant(demo):
    yield from running_assistant()


@pytest.fixture
def skill(assistant):
    return assistant.croft.plugin_skills[SKILL_ID].instance


@contextmanager
def role(skill, value):
    """The device's role for the duration of a test (restored even on failure)."""
    before = skill.settings.get("role")
    skill.settings["role"] = value
    try:
        yield
    finally:
        skill.settings["role"] = before if before is not None else roles.DEFAULT_ROLE


def words(value):
    """A number as the skill says it: three significant digits, in words."""
    value = abs(value)
    if value == 0:
        return num2words(0)
    rounded = float(f"{value:.3g}")
    return num2words(int(rounded) if rounded == int(rounded) else rounded)


def day_words(day, year=False):
    day = date.fromisoformat(str(day)[:10])
    text = f"{MONTHS[day.month - 1]} {num2words(day.day, to='ordinal')}"
    return f"{text}, {day.year}" if year else text


def cusum_truth(store, equipment, source, first=OCTOBER[0], last=OCTOBER[1]):
    report = reports.build(store, equipment, source, first, last)
    return report, report["cusum"]


def findings(store, kind, name, first, last):
    return quality.period_score(store, name, first, last, kind=kind)


# --- active alarms (the rule, without the bus) ---------------------------------------------

def test_active_alarm_rule():
    def a(day, direction):
        return {"week_of": date.fromisoformat(day), "direction": direction}
    judged = date(2025, 10, 26)
    assert active_alarm([], judged) is None
    # A run of same-side alarms, each within 13 weeks of the next: active since the first.
    run = [a("2025-01-20", "down"), a("2025-03-10", "down"), a("2025-09-08", "down")]
    assert active_alarm(run[1:], judged) == ("down", date(2025, 9, 8))   # 26 weeks apart: a new run
    assert active_alarm([a("2025-01-20", "down"), a("2025-04-07", "down"),
                         a("2025-06-30", "down"), a("2025-09-08", "down")], judged) == \
        ("down", date(2025, 1, 20))
    # The other side alarmed since: only the newest side counts.
    assert active_alarm([a("2025-05-05", "down"), a("2025-08-04", "up")], judged) == \
        ("up", date(2025, 8, 4))
    # The newest alarm more than 13 weeks before the last week judged: none active.
    assert active_alarm([a("2025-06-02", "up")], judged) is None
    assert active_alarm([{"week_of": "2025-10-20", "direction": "up"}], judged) == \
        ("up", date(2025, 10, 20))   # dates as stored reports give them (ISO text)


# --- cusum_status --------------------------------------------------------------------------

@pytest.mark.parametrize("utterance", [
    "is boiler one drifting",
    "has the gas boiler been drifting",
    "is boiler number one drifting",
    "what is the cusum for the boiler",
])
def test_cusum_boiler_drifts_down(assistant, demo, utterance):
    report, c = cusum_truth(demo, "Boiler-1", "natural_gas")
    assert c["to_date"] < 0
    turn = say(assistant, utterance)
    assert turn.intent == "cusum_status"
    assert turn.text.startswith("Boiler-1 natural gas is drifting down, using less than expected")
    downs = {day_words(x["week_of"]) for x in c["alarms"] if x["direction"] == "down"}
    since = turn.text.split("since the week of ", 1)[1].split(": a CUSUM alarm.", 1)[0]
    assert since in downs
    assert f"From January to October 2025, {words(c['to_date'])} cubic metres below expected " \
           f"in all, a saving." in turn.text


@pytest.mark.parametrize("utterance", [
    "how is the trend on HVAC north",
    "show me the trend for H vac north",
    "any drift on HVAC E U north",
])
def test_cusum_hvac_north_drifts_up(assistant, demo, utterance):
    report, c = cusum_truth(demo, "HVAC-EU-North", "electricity")
    turn = say(assistant, utterance)
    assert turn.intent == "cusum_status"
    assert "HVAC-EU-North electricity is drifting up, using more than expected" in turn.text
    assert f"{words(c['to_date'])} kilowatt hours above expected in all" in turn.text


def test_cusum_without_alarm_and_for_a_said_month(assistant, demo):
    _, c = cusum_truth(demo, "Compressor-1", "electricity")
    assert not c["alarms"]
    turn = say(assistant, "is compressor one drifting")
    assert "Compressor-1 electricity is not drifting: no CUSUM alarm is on." in turn.text
    june = (date(2025, 6, 1), date(2025, 6, 30))
    _, c = cusum_truth(demo, "Boiler-1", "natural_gas", *june)
    turn = say(assistant, "is boiler one drifting in june")
    assert f"From January to June 2025, {words(c['to_date'])} cubic metres below expected" \
        in turn.text


def test_cusum_asks_which_compressor_and_explains_on_request(assistant, demo):
    turn = say(assistant, "any drift on the compressor")
    assert turn.question and "Did you mean Compressor-1 or Compressor-EU-1?" in turn.text
    _, c = cusum_truth(demo, "Compressor-EU-1", "electricity")
    answer = say(assistant, "compressor E U one")
    assert "Compressor-EU-1 electricity is drifting up, using more than expected" in answer.text
    assert f"{words(c['to_date'])} kilowatt hours above expected" in answer.text
    more = say(assistant, "tell me more")
    assert f"{num2words(len(c['alarms'])).capitalize()} alarm weeks since the baseline period" \
        in more.text
    assert "tabular CUSUM" in more.text


# --- data_quality --------------------------------------------------------------------------

@pytest.mark.parametrize("utterance", [
    "any sensor problems this week", "are the sensors ok this week", "check the meters this week",
])
def test_quality_this_week_is_clean(assistant, utterance):
    turn = say(assistant, utterance)
    assert turn.intent == "data_quality"
    # This week on the demo: Monday 27 October to the last day with data, the 31st.
    assert turn.text.startswith("No data problems from October twenty-seventh to "
                                "October thirty-first, 2025")
    assert "seventeen meters and drivers checked, quality one hundred percent" in turn.text


def test_quality_for_one_equipment_defaults_to_the_last_seven_days(assistant):
    turn = say(assistant, "how good is the data for conveyor A")
    assert turn.text == ("No data problems for Conveyor-A in the seven days to October "
                         "thirty-first, 2025: quality one hundred percent.")


@pytest.mark.parametrize("utterance", [
    "any sensor problems in July", "how good was the data in july",
    "what's the data quality for the autoclave in july",
])
def test_quality_gap_on_the_steam_meter(assistant, demo, utterance):
    truth = findings(demo, "meter", "M-Autoclave-1-ST", date(2025, 7, 1), date(2025, 7, 31))
    [gap] = [f for f in truth["findings"] if f["kind"] == "gap"]
    turn = say(assistant, utterance)
    assert turn.intent == "data_quality"
    assert f"a gap on the Autoclave-1 steam meter from {day_words(gap['first_day'])} to " \
           f"{day_words(gap['last_day'])}" in turn.text
    assert "One data problem" in turn.text


@pytest.mark.parametrize("utterance", [
    "how good is the data for the hydraulic pump in May",
    "any gaps in the hydraulic pump in may",
])
def test_quality_stuck_meter_with_its_score(assistant, demo, utterance):
    truth = findings(demo, "meter", "M-Hydraulic-Pump-1-EL", date(2025, 5, 1), date(2025, 5, 31))
    [stuck] = [f for f in truth["findings"] if f["kind"] == "stuck"]
    turn = say(assistant, utterance)
    assert turn.text.startswith("One data problem for Hydraulic-Pump-1 in May 2025, quality "
                                f"{num2words(round(100 * truth['score']))} percent")
    assert f"stuck values on the Hydraulic-Pump-1 electricity meter from " \
           f"{day_words(stuck['first_day'])} to {day_words(stuck['last_day'])}" in turn.text


def test_quality_missing_temperature_said_once(assistant, demo):
    truth = findings(demo, "driver", "outdoor_temp_c", date(2025, 2, 1), date(2025, 2, 28))
    [missing] = truth["findings"]
    turn = say(assistant, "data quality for outdoor temperature in february")
    assert f"missing outdoor temperature from {day_words(missing['first_day'])} to " \
           f"{day_words(missing['last_day'])}" in turn.text
    whole_plant = say(assistant, "data quality in February")
    assert "missing outdoor temperature" in whole_plant.text
    assert "degree days" not in whole_plant.text        # derived from it: not said twice
    assert "a spike on the Injection-Molding-1 electricity meter on February nineteenth" \
        in whole_plant.text


def test_quality_last_month_and_a_quarter(assistant):
    turn = say(assistant, "were there any data problems last month")
    assert turn.text == ("One data problem in September 2025: a spike on the "
                         "Injection-Molding-1 electricity meter on September seventeenth.")
    quarter = say(assistant, "how good was the data in the first quarter of 2025")
    assert quarter.text.startswith("Two data problems in the first quarter of 2025")
    more = say(assistant, "tell me more")
    assert "Lowest quality:" in more.text and "of seventeen checked" in more.text


def test_quality_by_energy_source_and_by_clarification(assistant):
    turn = say(assistant, "how good is the data from the steam meter in july")
    assert turn.text.startswith("One data problem for the steam meters in July 2025")
    asked = say(assistant, "any sensor problems on the compressor last month")
    assert asked.question and "Compressor-1 or Compressor-EU-1" in asked.text
    answer = say(assistant, "the first one")
    assert answer.text.startswith("No data problems for Compressor-1 in September 2025")


def test_quality_unknown_name(assistant):
    turn = say(assistant, "how good is the data for the chiller")
    assert "I don't know the chiller" in turn.text


# --- savings -------------------------------------------------------------------------------

def savings_truth(store, first, last, **kwargs):
    from engine import savings
    return savings.compute(store, first, last, **kwargs)


@pytest.mark.parametrize("utterance", [
    "how much did we save this year", "what are the savings for 2025", "savings so far",
])
def test_savings_plant_each_figure_with_its_sign(assistant, demo, utterance):
    pytest.importorskip("engine.savings")
    total = savings_truth(demo, date(2025, 1, 1), date(2025, 10, 31))["total"]["period"]
    turn = say(assistant, utterance)
    assert turn.intent == "savings"
    assert turn.text.startswith("From January first to October thirty-first, 2025, "
                                "against the baselines:")
    # Energy saved overall, yet money lost: the gas saved is cheap, the electricity lost dear.
    assert total["avoided_mwh"] > 0 and total["money"]["EUR"] < 0
    assert f"{words(total['avoided_mwh'])} megawatt hours saved" in turn.text
    assert f"{words(total['money']['EUR'])} euros more spent" in turn.text
    co2 = total["co2_t"]
    assert (f"{words(co2 * 1000)} kilograms" if abs(co2) < 1 else f"{words(co2)} tonnes") \
        in turn.text


@pytest.mark.parametrize("utterance, kwargs, first, last, said", [
    ("savings on natural gas in 2025", {"source": "natural_gas"}, date(2025, 1, 1),
     date(2025, 10, 31), "Natural gas from January first to October thirty-first, 2025:"),
    ("how much did boiler one save last month",
     {"equipment": "Boiler-1", "source": "natural_gas"}, date(2025, 9, 1), date(2025, 9, 30),
     "Boiler-1 natural gas in September 2025:"),
    ("how much did the gas boiler save in the first quarter of 2025",
     {"equipment": "Boiler-1", "source": "natural_gas"}, date(2025, 1, 1), date(2025, 3, 31),
     "Boiler-1 natural gas in the first quarter of 2025:"),
])
def test_savings_of_a_source_or_an_seu_in_its_unit(assistant, demo, utterance, kwargs, first,
                                                   last, said):
    pytest.importorskip("engine.savings")
    result = savings_truth(demo, first, last, **kwargs)
    figures = result["by_source"][0]["period"] if "equipment" not in kwargs else \
        result["seus"][0]["period"]
    assert figures["avoided"] > 0
    turn = say(assistant, utterance)
    assert turn.text.startswith(said)
    assert f"{words(figures['avoided'])} cubic metres saved" in turn.text
    money = figures["money"] if not isinstance(figures["money"], dict) else \
        figures["money"]["EUR"]
    assert f"{words(money)} euros saved" in turn.text
    assert f"That is {pct_words(figures['avoided_pct'])} percent of the expected energy" \
        in turn.text


def test_savings_losses_and_the_baseline_year(assistant, demo):
    pytest.importorskip("engine.savings")
    result = savings_truth(demo, date(2025, 1, 1), date(2025, 10, 31), source="electricity")
    lost = result["by_source"][0]["period"]["avoided"]
    assert lost < 0
    turn = say(assistant, "how much electricity did we save")
    assert f"{words(lost)} kilowatt hours more used" in turn.text
    assert "percent above the expected energy" in turn.text
    more = say(assistant, "tell me more")
    assert "Compressor-EU-1 electricity used" in more.text and "more" in more.text
    turn = say(assistant, "what were the savings for the conveyor in 2024")
    assert "savings count from January first, 2025" in turn.text


# --- alerts --------------------------------------------------------------------------------

def open_alerts(store):
    from engine import alerts
    return alerts.list_alerts(store, "open")


@pytest.mark.parametrize("utterance", ["any alerts", "are there any open alerts",
                                       "what alerts are open"])
def test_alerts_most_severe_first(assistant, demo, utterance):
    pytest.importorskip("engine.alerts")
    found = open_alerts(demo)
    assert found and found[0]["severity"] == "critical"
    turn = say(assistant, utterance)
    assert turn.intent == "alerts"
    assert turn.text.startswith(f"{num2words(len(found)).capitalize()} open alerts, the most "
                                "severe first. Critical: ")
    truth = reports.build(demo, "Compressor-EU-1", "electricity", *OCTOBER)
    assert f"Compressor-EU-1 electricity {pct_words(truth['deviation_pct'])} percent above " \
           "expected in October 2025" in turn.text


def test_alerts_on_one_equipment(assistant, demo):
    pytest.importorskip("engine.alerts")
    truth = reports.build(demo, "Boiler-1", "natural_gas", *OCTOBER)
    # The demo's boiler saves 4 % from January: October's deviation and the
    # CUSUM's savings alarm are both open.
    mine = [a for a in open_alerts(demo) if (a["seu"] or "").startswith("Boiler-1")]
    assert sorted(a["kind"] for a in mine) == ["cusum_alarm", "significant_deviation"]
    turn = say(assistant, "any alerts on the boiler")
    assert turn.text.startswith("Two open alerts on Boiler-1. For information: Boiler-1 natural "
                                f"gas {pct_words(truth['deviation_pct'])} percent below expected "
                                "in October 2025")
    assert "a savings alarm on Boiler-1 natural gas" in turn.text


def test_acknowledge_asks_which_then_for_the_comment(assistant, demo):
    pytest.importorskip("engine.alerts")
    mine = [a for a in open_alerts(demo) if (a["seu"] or "").startswith("Compressor-EU-1")]
    assert len(mine) == 2
    # "compressor" is clear: only Compressor-EU-1 has open alerts.
    turn = say(assistant, "acknowledge the compressor alert")
    assert turn.question and turn.text.startswith("There are two open alerts:")
    chosen = next(a for a in mine if a["kind"] == "cusum_alarm")
    asked = say(assistant, f"alert {num2words(chosen['id'])}")
    assert asked.question and "What did you find" in asked.text
    assert "a loss alarm on Compressor-EU-1 electricity in October 2025" in asked.text
    done = say(assistant, "leak on the air main found, fitter booked for Monday")
    assert done.text.startswith(f"Alert {num2words(chosen['id'])} acknowledged")
    from engine import alerts
    stored = alerts.get(demo, chosen["id"])
    assert stored["status"] == "acknowledged"
    assert stored["comment"] == "leak on the air main found, fitter booked for Monday"


def test_acknowledge_without_a_comment_keeps_the_alert_open(assistant, demo):
    pytest.importorskip("engine.alerts")
    target = next(a for a in open_alerts(demo) if (a["seu"] or "").startswith("HVAC-EU-North"))
    asked = say(assistant, f"acknowledge alert number {target['id']}")
    assert asked.question and "HVAC-EU-North electricity" in asked.text
    answer = say(assistant, "cancel")
    assert "stays open" in answer.text
    from engine import alerts
    assert alerts.get(demo, target["id"])["status"] == "open"


# --- briefing ------------------------------------------------------------------------------

@pytest.mark.parametrize("utterance", ["shift handover", "give me the briefing",
                                       "what do I need to know"])
def test_briefing_short_first_then_detail(assistant, demo, utterance):
    """The last shift with data (14:00-22:00 on October 31st), against engine.briefing."""
    truth = briefing.build(demo, "last")
    assert truth["stale"] and truth["shift"]["start"] == "2025-10-31T14:00:00+01:00"
    turn = say(assistant, utterance)
    assert turn.intent == "briefing"
    text = turn.text
    assert text.startswith("The newest meter data are from October thirty-first, 2025. "
                           "Last shift, October thirty-first, 2025, fourteen hundred to "
                           "twenty-two hundred.")
    if HAS_ALERTS:
        found = open_alerts(demo)
        critical = [a for a in found if a["severity"] == "critical"]
        assert f"{num2words(len(found)).capitalize()} open alerts, " \
               f"{num2words(len(critical))} of them critical" in text
        # The drift alarms of the October evaluation, with since when.
        alarms = {a["seu"]: a for a in truth["cusum_alarms"]}
        eu = alarms["Compressor-EU-1 electricity"]
        assert eu["direction"] == "up"
        assert f"Compressor-EU-1 electricity with a loss alarm since {day_words(eu['since'])}" \
            in text
    outside = [r for r in truth["seus"] if r["outside_range"]]
    assert outside, "the demo's October 31st has an SEU outside its range"
    first = outside[0]
    assert f"energy uses outside {'its' if len(outside) == 1 else 'their'} expected range: " \
           f"{first['equipment']} electricity {pct_words(first['deviation_pct'])} percent " \
           f"{'above' if first['deviation_pct'] > 0 else 'below'} expected" in text
    assert "No data problems in this shift." in text
    assert len(text.split()) < 150       # well under a minute of speech
    more = say(assistant, "tell me more")
    boiler = next(r for r in truth["seus"] if r["equipment"] == "Boiler-1")
    assert f"Boiler-1 natural gas {pct_words(boiler['deviation_pct'])} percent below expected, " \
           f"{words(boiler['actual'])} against {words(boiler['expected'])} cubic metres " \
           "expected" in more.text


def test_briefing_says_missing_not_zero(assistant, demo, skill):
    """The steam meter's gap (July 21st-25th, 2025): no figures for the autoclave."""
    before = skill.settings.get("reference_date")
    skill.settings["reference_date"] = "2025-07-22"   # as at the end of that day
    try:
        text = say(assistant, "shift handover").text
    finally:
        skill.settings["reference_date"] = before or ""
    assert "Last shift, July twenty-second, 2025, fourteen hundred to twenty-two hundred." \
        in text
    assert "No figures for Autoclave-1 steam" in text
    assert "Readings missing in this shift from the Autoclave-1 steam meter." in text
    assert "Autoclave-1 steam zero" not in text


def test_scheduled_briefing_at_the_next_shift_change(assistant, demo, skill):
    """The skill schedules the briefing at the next shift change in the site's zone,
    and the scheduled event speaks it on the device and schedules the next one."""
    from ovos_bus_client.message import Message
    scheduled, spoken = [], []

    def on_schedule(m):
        scheduled.append(Message.deserialize(m) if isinstance(m, str) else m)

    def on_speak(m):
        spoken.append((Message.deserialize(m) if isinstance(m, str) else m).data["utterance"])

    assistant.bus.on("mycroft.scheduler.schedule_event", on_schedule)
    assistant.bus.on("speak", on_speak)
    try:
        _check_schedule(assistant, skill, scheduled, spoken)
    finally:
        assistant.bus.remove("mycroft.scheduler.schedule_event", on_schedule)
        assistant.bus.remove("speak", on_speak)


def _check_schedule(assistant, skill, scheduled, spoken):
    from datetime import datetime, timezone
    from ovos_bus_client.message import Message
    from skill_enms.monitoring import BRIEFING_EVENT
    now = datetime.now(timezone.utc)
    due = skill._schedule_briefing()
    starts = briefing.parse_shift_starts(skill.settings.get("shift_times"))
    assert due == briefing.next_shift_change(now, "Europe/Berlin", starts)
    local = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) in {(6, 0), (14, 0), (22, 0)} and due > now
    event = scheduled[-1].data
    assert event["event"] == f"{SKILL_ID}:{BRIEFING_EVENT}"
    assert abs(event["time"] - due.timestamp()) < 1
    # The scheduler fires the event: the briefing is spoken, the next one scheduled.
    scheduled.clear()
    assistant.bus.emit(Message(event["event"], {"lang": "en-us"}))
    assert any(s.startswith("The newest meter data are from October thirty-first, 2025. "
                            "Last shift,") for s in spoken)
    assert scheduled and scheduled[-1].data["event"] == event["event"]
    # The device's language setting decides the language of the scheduled briefing.
    skill.settings["lang"] = "de-de"
    try:
        spoken.clear()
        assistant.bus.emit(Message(event["event"], {"lang": "en-us"}))
        assert any("Letzte Schicht" in s for s in spoken), spoken
    finally:
        skill.settings["lang"] = ""
    # Switched off in the settings: nothing is scheduled.
    skill.settings["briefing_at_shift_change"] = False
    try:
        scheduled.clear()
        assert skill._schedule_briefing() is None and not scheduled
    finally:
        skill.settings["briefing_at_shift_change"] = True


# --- roles ----------------------------------------------------------------------------------

def test_shop_floor_hears_reports_but_may_not_train(assistant, demo, skill):
    from engine import baselines
    before = len(baselines.history(demo, "Boiler-1", "natural_gas"))
    with role(skill, "shop_floor"):
        turn = say(assistant, "train a baseline for boiler one for twenty twenty four")
        assert turn.intent == "train_baseline"
        assert turn.text == ("Sorry, training a baseline needs the energy engineer or "
                             "administrator role. This device has the shop floor role.")
        assert len(baselines.history(demo, "Boiler-1", "natural_gas")) == before
        assert "drifting down" in say(assistant, "is boiler one drifting").text
        assert "Last shift" in say(assistant, "shift handover").text
        if HAS_ALERTS:
            refused = say(assistant, "acknowledge the boiler alert")
            assert not refused.question
            assert ("acknowledging an alert needs the plant manager, energy engineer or "
                    "administrator role") in refused.text
    with role(skill, "plant manager"):     # spoken form of the setting is accepted
        assert "This device has the plant manager role" in \
            say(assistant, "train the boiler one baseline for 2024").text
    with role(skill, "enginer"):           # a typo allows nothing
        assert "This device has the enginer role" in \
            say(assistant, "train the boiler one baseline for 2024").text


def test_roles_rules():
    assert roles.role_of({}) == "energy_engineer"
    assert roles.role_of({"role": ""}) == "energy_engineer"
    assert roles.role_of({"role": "Energy Engineer"}) == "energy_engineer"
    assert roles.role_of({"role": "administrator"}) == "admin"
    assert roles.allowed("admin", "train_baseline")
    assert roles.allowed("energy_engineer", "acknowledge_alert")
    # The voice follows the engine's matrix (the one the HTTP API applies).
    assert roles.allowed("plant_manager", "acknowledge_alert")
    assert not roles.allowed("plant_manager", "train_baseline")
    for who in ("shop_floor", "executive", "auditor", "nonsense"):
        assert not roles.allowed(who, "train_baseline")
        assert not roles.allowed(who, "acknowledge_alert")
        assert roles.allowed(who, "briefing")
