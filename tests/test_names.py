"""engine/names.py: spoken names against catalog names, never a guess."""
import pytest

from engine import names as nm

EQUIPMENT = ["Autoclave-1", "Boiler-1", "Compressor-1", "Compressor-EU-1", "Conveyor-A",
             "HVAC-EU-North", "HVAC-Main", "Hydraulic-Pump-1", "Injection-Molding-1"]
DRIVERS = {"outdoor_temp_c": ["outdoor temperature", "outside temperature", "outside temp"],
           "production_count": ["production"], "heating_degree_days": [],
           "cooling_degree_days": [], "operating_hours": ["running hours"],
           "parts_product_a": [], "parts_product_b": []}
SOURCES = {"natural_gas": ["gas"], "electricity": ["electric", "power"], "steam": []}
SEUS = [("Boiler-1", "natural_gas"), ("Compressor-1", "electricity"),
        ("Compressor-EU-1", "electricity"), ("HVAC-Main", "electricity"),
        ("HVAC-EU-North", "electricity"), ("Autoclave-1", "steam"),
        ("Hydraulic-Pump-1", "electricity")]


@pytest.mark.parametrize("text, expected", [
    ("The Compressor E U one", "compressor eu 1"),
    ("HVAC-EU-North", "hvac eu north"),
    ("Conveyor-A", "conveyor a"),          # a final 'a' is a name, not an article
    ("boiler1", "boiler 1"),
    ("twenty-four", "24"),
    ("two thousand twenty four", "2024"),
    ("outdoor_temp_c", "outdoor temp c"),
    ("H. V. A. C.", "hvac"),
])
def test_normalise(text, expected):
    assert nm.normalise(text) == expected


def test_digits_to_words_both_ways():
    assert nm.to_words("Boiler-1") == "Boiler one"
    assert nm.normalise(nm.to_words("Compressor-EU-1")) == nm.normalise("Compressor-EU-1")


@pytest.mark.parametrize("spoken, name", [
    ("boiler one", "Boiler-1"), ("the boiler", "Boiler-1"), ("boiler 1", "Boiler-1"),
    ("compressor E U one", "Compressor-EU-1"), ("compressor one", "Compressor-1"),
    ("H vac main", "HVAC-Main"), ("HVAC north", "HVAC-EU-North"),
    ("the hydraulic pump", "Hydraulic-Pump-1"), ("conveyor a", "Conveyor-A"),
    ("injection moulding", "Injection-Molding-1"), ("compresor one", "Compressor-1"),
])
def test_equipment_matches(spoken, name):
    result = nm.resolve(spoken, EQUIPMENT)
    assert isinstance(result, nm.Match), result
    assert result.name == name
    assert result.score >= nm.THRESHOLD


@pytest.mark.parametrize("spoken, options", [
    ("compressor", {"Compressor-1", "Compressor-EU-1"}),
    ("hvac", {"HVAC-Main", "HVAC-EU-North"}),
])
def test_two_close_candidates_are_ambiguous(spoken, options):
    result = nm.resolve(spoken, EQUIPMENT)
    assert isinstance(result, nm.Ambiguous)
    assert set(result.candidates) == options


@pytest.mark.parametrize("spoken", ["chiller", "compressor two", "cooling tower"])
def test_weak_matches_are_no_match_with_suggestions(spoken):
    result = nm.resolve(spoken, EQUIPMENT)
    assert isinstance(result, nm.NoMatch)
    assert result.suggestions and set(result.suggestions) <= set(EQUIPMENT)


def test_a_number_that_does_not_exist_is_not_guessed():
    assert isinstance(nm.resolve("compressor 2", EQUIPMENT), nm.NoMatch)
    assert isinstance(nm.resolve("boiler two", EQUIPMENT), nm.NoMatch)


@pytest.mark.parametrize("spoken, name", [
    ("gas", "natural_gas"), ("natural gas", "natural_gas"), ("electric", "electricity"),
    ("power", "electricity"), ("steam", "steam"),
])
def test_energy_sources(spoken, name):
    assert nm.resolve(spoken, SOURCES).name == name


@pytest.mark.parametrize("spoken, expected", [
    ("outdoor temperature and production count", ["outdoor_temp_c", "production_count"]),
    ("outside temp", ["outdoor_temp_c"]),
    ("production", ["production_count"]),
    ("heating degree days", ["heating_degree_days"]),
    ("running hours, heating degree days", ["operating_hours", "heating_degree_days"]),
    ("outdoor temperature production count", ["outdoor_temp_c", "production_count"]),
])
def test_driver_lists(spoken, expected):
    results = nm.resolve_list(spoken, DRIVERS)
    assert all(isinstance(r, nm.Match) for r in results), results
    assert [r.name for r in results] == expected


def test_driver_units_give_spoken_forms():
    assert "outdoor temp" in nm.spoken_forms("outdoor_temp_c", "C")
    assert nm.spoken_forms("production_count", "units") == ["production count"]


def test_degree_days_alone_is_ambiguous():
    [result] = nm.resolve_list("degree days", DRIVERS)
    assert isinstance(result, nm.Ambiguous)


@pytest.mark.parametrize("spoken, seu", [
    ("natural gas Boiler-1", ("Boiler-1", "natural_gas")),
    ("gas boiler", ("Boiler-1", "natural_gas")),
    ("boiler one", ("Boiler-1", "natural_gas")),     # a single source needs no source
    ("compressor one electricity", ("Compressor-1", "electricity")),
    ("the steam autoclave", ("Autoclave-1", "steam")),
])
def test_seus(spoken, seu):
    result = nm.resolve_seu(spoken, SEUS, source_aliases=SOURCES)
    assert isinstance(result, nm.SeuMatch), result
    assert (result.equipment, result.source) == seu


def test_seu_with_a_source_it_does_not_have():
    result = nm.resolve_seu("steam boiler", SEUS, source_aliases=SOURCES)
    assert isinstance(result, nm.NoMatch)
    assert "steam" in result.reason


def test_equipment_with_two_sources_asks_which():
    seus = SEUS + [("Boiler-1", "electricity")]
    result = nm.resolve_seu("boiler one", seus, source_aliases=SOURCES)
    assert isinstance(result, nm.Ambiguous)
    assert set(result.candidates) == {"Boiler-1 natural_gas", "Boiler-1 electricity"}
    assert nm.resolve_seu("electric boiler", seus, source_aliases=SOURCES).source == "electricity"


def test_aliases_and_other_languages():
    # Candidates carry their aliases; number words follow the language.
    assert nm.resolve("der große kessel", {"Boiler-1": ["großer kessel"]},
                      lang="de", articles=("der", "die", "das")).name == "Boiler-1"
    assert nm.normalise("Kessel eins", lang="de") == "kessel 1"


def test_catalog_names(store, plant):
    plant(store)
    names = nm.catalog_names(store)
    assert names.equipment == ["Boiler-1", "Compressor-1"]
    assert ("Boiler-1", "natural_gas") in names.seus
    assert names.drivers["outdoor_temp_c"] == "C"
    assert names.seu_drivers[("Compressor-1", "electricity")] == ["production_count"]
    assert "outdoor temp" in names.driver_candidates()["outdoor_temp_c"]


# --- another language: German number words, articles and conjunctions --------------------

GERMAN_ARTICLES = ("der", "die", "das", "den", "dem", "des", "ein", "eine")


@pytest.mark.parametrize("text, expected", [
    ("Kessel eins", "kessel 1"),
    ("zweitausendvierundzwanzig", "2024"),          # numbers written as one word
    ("einundzwanzig", "21"),
    ("neunzehnhundertneunundneunzig", "1999"),      # a year said as a year
    ("zwanzig vierundzwanzig", "20 24"),            # two numbers: periods join them
    ("den Kompressor E U eins", "kompressor eu 1"),
    ("Förderband A", "förderband a"),
])
def test_normalise_german(text, expected):
    assert nm.normalise(text, "de-de", GERMAN_ARTICLES) == expected


def test_german_number_words_come_from_num2words_not_english():
    words = nm.number_words("de")
    assert (words["eins"], words["zwölf"], words["einhundert"], words["vierundzwanzig"]) == \
        (1, 12, 100, 24)
    assert "one" not in words and "twenty" not in words
    # English writes numbers in several words: no one-word table is built for it
    assert "twentyfour" not in nm.number_words("en") and "twenty" in nm.number_words("en")


def test_german_names_with_aliases():
    aliases = {"Boiler-1": ["Kessel eins"], "Compressor-1": ["Kompressor eins"],
               "Compressor-EU-1": ["Kompressor E U eins"], "HVAC-Main": ["Lüftung Haupthalle"]}
    kw = {"lang": "de", "articles": GERMAN_ARTICLES}
    assert nm.resolve("den Kessel 1", aliases, **kw).name == "Boiler-1"
    assert nm.resolve("Lüftung Haupthalle", aliases, **kw).name == "HVAC-Main"
    assert set(nm.resolve("der Kompressor", aliases, **kw).candidates) == \
        {"Compressor-1", "Compressor-EU-1"}
    assert isinstance(nm.resolve("Kessel zwei", aliases, **kw), nm.NoMatch)
    sources = {"natural_gas": ["Erdgas"], "electricity": ["Strom"]}
    seu = nm.resolve_seu("Erdgas Kessel eins", [("Boiler-1", "natural_gas")],
                         equipment_aliases=aliases, source_aliases=sources, **kw)
    assert (seu.equipment, seu.source) == ("Boiler-1", "natural_gas")
    drivers = {"outdoor_temp_c": ["Außentemperatur"], "production_count": ["Produktionsmenge"]}
    assert [r.name for r in nm.resolve_list("Außentemperatur und Produktionsmenge", drivers,
                                            conjunctions=("und",), **kw)] == \
        ["outdoor_temp_c", "production_count"]
