"""Catalog aliases (engine.catalog, migration 0007): other names of an entry per
language, refused when they would make a spoken name ambiguous, and used by
name resolution (engine.names) in the utterance's language only. On SQLite and
PostgreSQL (the ``store`` fixture)."""
import json
import subprocess
import sys

import pytest

from engine import catalog
from engine import names as nm
from engine.errors import EnmsError, NotFound


@pytest.fixture
def plant_store(store, plant):
    plant(store)
    return store


def test_add_list_remove(plant_store):
    added = catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel eins", "de_DE")
    assert added == {"kind": "equipment", "name": "Boiler-1", "alias": "Kessel eins",
                     "lang": "de-de"}
    catalog.add_alias(plant_store, "source", "natural_gas", "Erdgas", "de-de")
    catalog.add_alias(plant_store, "driver", "outdoor_temp_c", "Außentemperatur", "de-de")
    catalog.add_alias(plant_store, "source", "natural_gas", "gas")   # en-us by default
    assert [(r["kind"], r["name"], r["alias"]) for r in
            catalog.list_aliases(plant_store, lang="de-de")] == [
        ("driver", "outdoor_temp_c", "Außentemperatur"), ("equipment", "Boiler-1", "Kessel eins"),
        ("source", "natural_gas", "Erdgas")]
    assert [r["alias"] for r in catalog.list_aliases(plant_store, "source", "natural_gas")] == \
        ["Erdgas", "gas"]   # by language (de-de before en-us), then alias
    catalog.remove_alias(plant_store, "source", "natural_gas", "Erdgas", "de-de")
    assert [r["alias"] for r in catalog.list_aliases(plant_store, "source")] == ["gas"]


def test_the_entry_must_exist(plant_store):
    with pytest.raises(NotFound, match="unknown equipment 'Boiler-9'") as info:
        catalog.add_alias(plant_store, "equipment", "Boiler-9", "Kessel neun", "de-de")
    assert info.value.code == "unknown_equipment"
    assert info.value.params["known"] == ["Boiler-1", "Compressor-1"]
    with pytest.raises(EnmsError, match="aliases are for"):
        catalog.add_alias(plant_store, "meter", "M-Boiler-1-NG", "Gaszähler", "de-de")


@pytest.mark.parametrize("kind, name, alias, lang, why", [
    # the same as another entry's name, written or said differently
    ("equipment", "Compressor-1", "boiler one", "en-us", "sounds like the equipment 'Boiler-1'"),
    ("driver", "production_count", "Outdoor-Temp-C", "en-us", "sounds like the driver"),
    # another entry's alias in the same language, digits for number words
    ("equipment", "Compressor-1", "Kessel 1", "de-de", "already an alias of equipment 'Boiler-1'"),
    ("equipment", "Compressor-1", "kessel  EINS", "de-de", "already an alias"),
    # an alias of another kind counts too: 'Gas' could not say which is meant
    ("equipment", "Compressor-1", "Erdgas", "de-de", "already an alias of energy source"),
    # the entry's own alias again
    ("equipment", "Boiler-1", "Kessel 1", "de-de", "already has the alias 'Kessel eins'"),
])
def test_collisions_are_refused(plant_store, kind, name, alias, lang, why):
    catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel eins", "de-de")
    catalog.add_alias(plant_store, "source", "natural_gas", "Erdgas", "de-de")
    with pytest.raises(EnmsError, match=why):
        catalog.add_alias(plant_store, kind, name, alias, lang)
    assert len(catalog.list_aliases(plant_store)) == 2


def test_the_same_alias_in_another_language_is_another_alias(plant_store):
    catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel eins", "de-de")
    # 'Kessel eins' is no German alias of Compressor-1, but Dutch may use it
    catalog.add_alias(plant_store, "equipment", "Compressor-1", "Kessel eins", "nl-nl")
    assert len(catalog.list_aliases(plant_store, name=None)) == 2


def test_remove_a_missing_alias_lists_the_entrys_aliases(plant_store):
    catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel eins", "de-de")
    with pytest.raises(NotFound, match=r"no alias 'Kessel zwei' in de-de \(its aliases: Kessel eins\)"):
        catalog.remove_alias(plant_store, "equipment", "Boiler-1", "Kessel zwei", "de-de")


def test_bad_input_is_one_clear_error(plant_store):
    with pytest.raises(EnmsError, match="needs a word or number"):
        catalog.add_alias(plant_store, "equipment", "Boiler-1", " - ", "de-de")
    with pytest.raises(EnmsError, match="not a language tag"):
        catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel", "de de!")


def test_resolution_uses_the_aliases_of_the_utterances_language(plant_store):
    catalog.add_alias(plant_store, "equipment", "Boiler-1", "Kessel eins", "de-de")
    catalog.add_alias(plant_store, "source", "natural_gas", "Erdgas", "de-de")
    catalog.add_alias(plant_store, "driver", "outdoor_temp_c", "Außentemperatur", "de-de")
    names = nm.catalog_names(plant_store)
    german = names.aliases_for("de-DE")
    assert german == {"Boiler-1": ["Kessel eins"], "natural_gas": ["Erdgas"],
                      "outdoor_temp_c": ["Außentemperatur"]}
    assert names.aliases_for("de-at") == german     # one language, another region
    assert names.aliases_for("en-us") == {}
    seu = nm.resolve_seu("Erdgas Kessel eins", names.seus, equipment_aliases=german,
                         source_aliases=german, lang="de")
    assert (seu.equipment, seu.source) == ("Boiler-1", "natural_gas")
    # digits for the number word, and a German compound number
    assert nm.resolve("Kessel 1", german | {"Compressor-1": []}, lang="de").name == "Boiler-1"
    drivers = nm.resolve_list("Außentemperatur und Produktion",
                              names.driver_candidates(german | {"production_count":
                                                                ["Produktion"]}, "de"),
                              conjunctions=["und"], lang="de")
    assert [r.name for r in drivers] == ["outdoor_temp_c", "production_count"]
    # the German alias is not an English name
    english = nm.resolve("Kessel eins", {e: names.aliases_for("en-us").get(e, [])
                                         for e in names.equipment}, lang="en")
    assert isinstance(english, nm.NoMatch)


def test_cli_alias_commands(tmp_path, plant):
    from engine import Store
    url = str(tmp_path / "enms.sqlite")
    store = Store(url)
    plant(store)
    store.dispose()

    def enms(*args):
        return subprocess.run([sys.executable, "-m", "engine.cli", "--db", url, "catalog",
                               "alias", *args], capture_output=True, text=True, timeout=60)

    done = enms("add", "equipment", "Boiler-1", "Kessel eins", "--lang", "de-de")
    assert done.returncode == 0, done.stderr
    listed = enms("list", "--lang", "de-de", "--json")
    assert json.loads(listed.stdout) == [{"kind": "equipment", "name": "Boiler-1",
                                          "alias": "Kessel eins", "lang": "de-de"}]
    clash = enms("add", "equipment", "Compressor-1", "kessel 1", "--lang", "de-de")
    assert clash.returncode == 2
    assert clash.stderr.strip() == ("enms: error: alias 'kessel 1' (de-de) is already an "
                                    "alias of equipment 'Boiler-1'")
    missing = enms("remove", "equipment", "Boiler-9", "x")
    assert missing.returncode == 2 and "unknown equipment 'Boiler-9'" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert enms("remove", "equipment", "Boiler-1", "Kessel eins", "--lang", "de-de").returncode == 0
    assert json.loads(enms("list", "--json").stdout) == []
