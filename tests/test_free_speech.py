"""Free speech without the bus: the key-word rules (skill_enms/keywords.py),
a name found inside free text (engine.names.find_span) and the periods people
say that the sample sentences did not hold ("from January to June",
"yesterday", "the first half of the year")."""
from datetime import date
from pathlib import Path

import pytest

from engine import names as nm
from skill_enms import keywords as kw
from skill_enms import periods as sp

VOCAB = Path(__file__).resolve().parent.parent / "locale" / "en-us" / "vocab"
EQUIPMENT = {"Boiler-1": ["gas boiler"], "Compressor-1": [], "Compressor-EU-1": [],
             "HVAC-EU-North": ["north heat pump"], "HVAC-Main": [], "Hydraulic-Pump-1": [],
             "Injection-Molding-1": [], "Conveyor-A": [], "Autoclave-1": []}


@pytest.fixture(scope="module")
def cues():
    return {p.stem: kw.phrases(line.strip() for line in p.read_text().splitlines() if line.strip())
            for p in VOCAB.glob("*.voc") if p.stem.startswith(("cue.", "weak."))}


@pytest.mark.parametrize("text, said, intent", [
    ("have we got any flatlined or stuck sensors", set(), "data_quality"),
    ("is the sensor on the hydraulic pump working", {kw.SEU}, "data_quality"),
    ("how much did the boiler save", {kw.SEU}, "savings"),                 # not a report
    ("which drivers does the boiler baseline use", {kw.SEU}, "explain_baseline"),
    ("is the electricity data good enough to train on", {kw.SOURCE}, "data_quality"),
    ("retrain the autoclave model with production count", {kw.SEU, kw.DRIVER},
     "train_baseline"),
    ("clear the alarm on conveyor a", {kw.SEU}, "acknowledge_alert"),
    ("are there any unacknowledged alarms", set(), "alerts"),
    ("catch me up on the night shift", set(), "briefing"),
    ("which equipment are you tracking", set(), "list_seus"),
    ("is the boiler drifting", {kw.SEU}, "cusum_status"),
    ("boiler one last month", {kw.SEU, kw.PERIOD}, "seu_report"),
])
def test_intents_by_their_key_words(cues, text, said, intent):
    assert kw.classify(text, cues, said) == intent


@pytest.mark.parametrize("text", [
    "turn on the kitchen lights", "save this file", "help me with my homework",
    "what's the weather like", "play some music", "the report is on your desk",
])
def test_other_requests_are_not_ours(cues, text):
    assert kw.classify(text, cues, set()) is None


def test_a_report_needs_an_equipment_and_the_list_none(cues):
    assert kw.classify("how did we do", cues, set()) is None
    assert kw.classify("which machines do you monitor", cues, {kw.SEU}) is None


@pytest.mark.parametrize("text, name", [
    ("are there gaps in the boiler one meter data", "Boiler-1"),
    ("is the hydraulic pump's consumption drifting away from the baseline", "Hydraulic-Pump-1"),
    ("how did h vac main do", "HVAC-Main"),
    ("data completeness for the north heat pump in september", "HVAC-EU-North"),
    ("show me the cusum trend for compressor e u one this year", "Compressor-EU-1"),
])
def test_a_name_found_inside_free_text(text, name):
    span, score = nm.find_span(text, EQUIPMENT)
    assert span in text.lower() and score >= nm.SPAN_THRESHOLD
    assert nm.resolve(span, EQUIPMENT).name == name


def test_no_name_in_free_text_and_an_unclear_one():
    assert nm.find_span("how much money did we save on electricity last month", EQUIPMENT) is None
    span, _ = nm.find_span("what is the trend for the compressor", EQUIPMENT)
    assert isinstance(nm.resolve(span, EQUIPMENT), nm.Ambiguous)      # asked, never guessed


PHRASES = {"last month": "last_month", "january": "m1", "june": "m6", "march": "m3",
           "november": "m11", "february": "m2", "yesterday": "yesterday", "today": "today",
           "first half of the year": "h1", "first half": "h1", "second half": "h2"}
REF = date(2025, 10, 31)


@pytest.mark.parametrize("text, first, last", [
    ("from january to june", date(2025, 1, 1), date(2025, 6, 30)),
    ("between march and june 2024", date(2024, 3, 1), date(2024, 6, 30)),
    ("from november to february", date(2024, 11, 1), date(2025, 2, 28)),
    ("yesterday", date(2025, 10, 30), date(2025, 10, 30)),
    ("today", REF, REF),
    ("in the first half of the year", date(2025, 1, 1), date(2025, 6, 30)),
    ("second half of 2024", date(2024, 7, 1), date(2024, 12, 31)),
])
def test_periods_people_say(text, first, last):
    period, _ = sp.parse(text, PHRASES, REF, articles=("the",), prepositions=("in", "from"))
    assert (period.first, period.last) == (first, last)
