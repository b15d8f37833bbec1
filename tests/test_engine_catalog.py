"""The catalog: nothing about one plant in code, names that reach SQL validated.

Every test runs on SQLite and on PostgreSQL (the ``store`` fixture).
"""
import pytest
import sqlalchemy as sa

from engine import catalog, ingest
from engine.errors import EnmsError, InvalidName, NotFound

HOSTILE_NAMES = [
    "x; DROP TABLE seus",
    "outdoor_temp_c)--",
    "robert'); drop table drivers;--",
    "natural gas",
    "Electricity",     # upper case: identifiers are lower-case only
    "1st_source",      # must start with a letter
    "a" * 41,          # too long once '_readings' is appended
    "",
]


def snapshot(store) -> dict:
    """Everything a refused catalog call must leave untouched."""
    inspector = sa.inspect(store.engine)
    tables = sorted(inspector.get_table_names())
    columns = {t: sorted(c["name"] for c in inspector.get_columns(t))
               for t in tables if t.endswith("_readings")}
    return {"tables": tables, "columns": columns, "counts": catalog.counts(store),
            "drivers": catalog.list_entries(store, "driver"),
            "seus": [s["name"] for s in catalog.list_entries(store, "seu")]}


def readings_columns(store, table: str) -> dict:
    return {c["name"]: c for c in sa.inspect(store.engine).get_columns(table)}


# --- energy sources and their readings tables -------------------------------------

def test_energy_source_creates_its_readings_table_with_declared_columns(store, plant):
    plant(store)
    gas = readings_columns(store, "natural_gas_readings")
    assert set(gas) == {"meter_id", "ts", "duration_s", "counter_end",
                        "consumption_m3", "flow_rate_m3h", "pressure_bar"}
    assert set(readings_columns(store, "electricity_readings")) == {
        "meter_id", "ts", "duration_s", "counter_end", "consumption_kwh", "power_kw"}
    # A reading is unique per (meter, timestamp).
    pk = sa.inspect(store.engine).get_pk_constraint("natural_gas_readings")
    assert pk["constrained_columns"] == ["meter_id", "ts"]

    # A source added at run time gets its own table with its own columns.
    catalog.add_energy_source(store, "steam", "kg", 0.75, [
        {"name": "flow_rate_kg_h", "unit": "kg/h", "kind": "measure"},
        {"name": "consumption_kg", "unit": "kg", "kind": "energy"},
        {"name": "pressure_bar", "unit": "bar", "kind": "measure"},
        {"name": "temp_c", "unit": "C", "kind": "measure"}])
    assert set(readings_columns(store, "steam_readings")) == {
        "meter_id", "ts", "duration_s", "counter_end",
        "flow_rate_kg_h", "consumption_kg", "pressure_bar", "temp_c"}
    steam = catalog.get_entry(store, "energy source", "steam")
    assert steam["energy_column"] == "consumption_kg"
    assert steam["readings_table"] == "steam_readings"
    assert steam["kwh_per_unit"] == pytest.approx(0.75)
    assert [c["name"] for c in steam["columns"]] == [
        "flow_rate_kg_h", "consumption_kg", "pressure_bar", "temp_c"]
    assert [e["name"] for e in catalog.list_entries(store, "energy source")] == [
        "electricity", "natural_gas", "steam"]


def test_added_measurement_column_reaches_the_table_and_imports(store, plant, tmp_path):
    plant(store)
    catalog.add_source_column(store, "natural_gas", "temp_c", "C")
    assert "temp_c" in readings_columns(store, "natural_gas_readings")
    path = tmp_path / "gas.csv"
    path.write_text("timestamp,meter,consumption_m3,temp_c\n"
                    "2025-01-01 00:00,M-Boiler-1-NG,4.0,61.5\n"
                    "2025-01-01 01:00,M-Boiler-1-NG,5.0,62.5\n")
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rows_inserted == 2 and not report.rejects
    with store.begin() as conn:
        temps = conn.exec_driver_sql(
            "SELECT temp_c FROM natural_gas_readings ORDER BY ts").scalars().all()
    assert temps == [61.5, 62.5]


@pytest.mark.parametrize("bad_columns, why", [
    ([{"name": "flow_kg_h", "kind": "measure"}], "no energy column"),
    ([{"name": "a_kg", "kind": "energy"}, {"name": "b_kg", "kind": "energy"}],
     "two energy columns"),
    ([{"name": "ts", "kind": "energy"}], "reserved column"),
    ([{"name": "kg", "kind": "energy"}, {"name": "kg", "kind": "measure"}], "repeated column"),
    ([{"name": "kg", "kind": "power"}], "unknown kind"),
])
def test_malformed_source_declarations_are_refused(store, plant, bad_columns, why):
    plant(store)
    before = snapshot(store)
    with pytest.raises(EnmsError):
        catalog.add_energy_source(store, "steam", "kg", 0.75, bad_columns)
    assert snapshot(store) == before, why


def test_existing_source_and_bad_factors_are_refused(store, plant):
    plant(store)
    before = snapshot(store)
    energy = [{"name": "consumption_kwh", "kind": "energy"}]
    with pytest.raises(EnmsError, match="already exists"):
        catalog.add_energy_source(store, "electricity", "kWh", 1.0, energy)
    with pytest.raises(EnmsError):
        catalog.add_energy_source(store, "steam", "kg", 0.0, energy)   # factor must be > 0
    with pytest.raises(EnmsError):
        catalog.add_energy_source(store, "steam", "kg", -1.0, energy)
    with pytest.raises(EnmsError, match="time zone"):
        catalog.add_site(store, "Other Plant", "Europe/Atlantis")
    assert snapshot(store) == before


# --- names that reach SQL ----------------------------------------------------------

def test_hostile_identifiers_are_refused_and_change_nothing(store, plant):
    plant(store)
    before = snapshot(store)
    energy = {"name": "consumption_kg", "unit": "kg", "kind": "energy"}
    for name in HOSTILE_NAMES:
        with pytest.raises(InvalidName):
            catalog.add_energy_source(store, name, "kg", 0.75, [energy])
        with pytest.raises(InvalidName):
            catalog.add_energy_source(store, "steam", "kg", 0.75,
                                      [energy, {"name": name, "unit": "", "kind": "measure"}])
        with pytest.raises(InvalidName):
            catalog.add_source_column(store, "natural_gas", name, "bar")
        with pytest.raises(InvalidName):
            catalog.add_driver(store, name, "C", rollup="mean")
    assert snapshot(store) == before
    # InvalidName is an EnmsError, so every interface reports it as one line.
    assert issubclass(InvalidName, EnmsError)


def test_display_names_with_sql_characters_are_plain_data(store, plant):
    """Equipment and meter names never become identifiers: any text is stored verbatim."""
    plant(store)
    name = "Boiler-2'; DROP TABLE seus;--"
    catalog.add_equipment(store, name, type="boiler")
    catalog.add_meter(store, 'M "2"; DELETE FROM meters', name, "natural_gas")
    catalog.add_seu(store, name, "natural_gas")
    assert catalog.get_entry(store, "equipment", name)["name"] == name
    seu = catalog.get_seu(store, name, "natural_gas")
    assert seu["meters"] == ['M "2"; DELETE FROM meters']
    assert len(catalog.list_entries(store, "seu")) == 3
    assert len(catalog.list_entries(store, "meter")) == 3


# --- unknown names ------------------------------------------------------------------

def test_unknown_names_give_not_found_listing_the_known_ones(store, plant, tmp_path):
    plant(store)
    before = snapshot(store)
    with pytest.raises(NotFound) as err:
        catalog.get_entry(store, "meter", "M-Boiler-2")
    assert "M-Boiler-2" in str(err.value)
    assert "M-Boiler-1-NG" in str(err.value) and "M-Compressor-1" in str(err.value)

    with pytest.raises(NotFound) as err:
        catalog.add_meter(store, "M-X", "Boiler-9", "natural_gas")
    assert "Boiler-1" in str(err.value) and "Compressor-1" in str(err.value)

    with pytest.raises(NotFound) as err:
        catalog.add_seu(store, "Boiler-1", "steam")
    assert "electricity" in str(err.value) and "natural_gas" in str(err.value)

    with pytest.raises(NotFound) as err:
        catalog.get_seu(store, "Boiler-1", "electricity")
    assert "Boiler-1 natural_gas" in str(err.value)
    assert "Compressor-1 electricity" in str(err.value)

    with pytest.raises(NotFound) as err:
        catalog.add_seu(store, "Boiler-1", "electricity", drivers=["outdoor_temp"])
    assert "outdoor_temp_c" in str(err.value) and "production_count" in str(err.value)

    with pytest.raises(NotFound) as err:
        catalog.get_entry(store, "energy source", "gas")
    assert "natural_gas" in str(err.value)

    path = tmp_path / "steam.csv"
    path.write_text("timestamp,meter,consumption_kg\n2025-01-01 00:00,M-S,1\n")
    with pytest.raises(NotFound, match="natural_gas"):
        ingest.import_readings(store, path, "steam")
    # A failed add_seu with an unknown driver must not leave a half-made SEU.
    assert snapshot(store) == before


def test_unknown_catalog_kind_is_an_error_not_a_crash(store, plant):
    plant(store)
    with pytest.raises(EnmsError, match="seu"):
        catalog.list_entries(store, "boilers")


# --- SEUs ------------------------------------------------------------------------------

def test_seu_is_one_equipment_on_one_source(store, plant):
    plant(store)
    seu = catalog.get_seu(store, "Boiler-1", "natural_gas")
    assert seu["name"] == "Boiler-1 natural_gas"
    assert (seu["equipment"], seu["source"], seu["unit"]) == ("Boiler-1", "natural_gas", "m3")
    assert seu["drivers"] == ["heating_degree_days", "outdoor_temp_c"]
    assert seu["meters"] == ["M-Boiler-1-NG"]
    # The electricity meter of the compressor is not part of the boiler's gas SEU,
    # nor is a second source of the same equipment.
    assert catalog.get_seu(store, "Compressor-1", "electricity")["meters"] == ["M-Compressor-1"]

    with pytest.raises(EnmsError, match="already exists"):
        catalog.add_seu(store, "Boiler-1", "natural_gas", drivers=["production_count"])
    assert [s["name"] for s in catalog.list_entries(store, "seu")] == [
        "Boiler-1 natural_gas", "Compressor-1 electricity"]
    # The refused duplicate did not touch the existing SEU's drivers.
    assert catalog.get_seu(store, "Boiler-1", "natural_gas")["drivers"] == [
        "heating_degree_days", "outdoor_temp_c"]

    # The same equipment on another source is another SEU, with its own meters.
    catalog.add_meter(store, "M-Boiler-1-EL", "Boiler-1", "electricity")
    other = catalog.add_seu(store, "Boiler-1", "electricity")
    assert other["meters"] == ["M-Boiler-1-EL"]
    assert catalog.get_seu(store, "Boiler-1", "natural_gas")["meters"] == ["M-Boiler-1-NG"]


def test_seu_drivers_can_be_replaced(store, plant):
    plant(store)
    seu = catalog.set_seu_drivers(store, "Boiler-1", "natural_gas",
                                  ["production_count", "heating_degree_days"])
    assert seu["drivers"] == ["heating_degree_days", "production_count"]


# --- drivers --------------------------------------------------------------------------

def test_degree_day_driver_derives_from_a_mean_temperature(store, plant):
    plant(store)
    hdd = catalog.get_entry(store, "driver", "heating_degree_days")
    assert (hdd["kind"], hdd["derivation"], hdd["base_temp_c"]) == ("derived", "hdd", 18.0)
    assert hdd["rollup"] == "sum"   # degree days add up over days
    temp = catalog.get_entry(store, "driver", "outdoor_temp_c")
    assert (temp["kind"], temp["rollup"]) == ("measured", "mean")
    assert catalog.get_entry(store, "driver", "production_count")["rollup"] == "sum"

    before = snapshot(store)
    with pytest.raises(EnmsError, match="mean"):   # a SUM driver is no temperature
        catalog.add_driver(store, "hdd_prod", "K d", derived_from="production_count",
                           derivation="hdd", base_temp_c=18)
    with pytest.raises(EnmsError):                  # nor is another derived driver
        catalog.add_driver(store, "hdd_of_hdd", "K d", derived_from="heating_degree_days",
                           derivation="hdd", base_temp_c=18)
    with pytest.raises(EnmsError, match="base"):
        catalog.add_driver(store, "hdd_15", "K d", derived_from="outdoor_temp_c",
                           derivation="hdd")
    with pytest.raises(EnmsError):
        catalog.add_driver(store, "hdd_15", "K d", derived_from="outdoor_temp_c",
                           derivation="degree_hours", base_temp_c=15)
    with pytest.raises(NotFound, match="outdoor_temp_c"):
        catalog.add_driver(store, "hdd_15", "K d", derived_from="outside_temp",
                           derivation="hdd", base_temp_c=15)
    with pytest.raises(EnmsError, match="rollup"):
        catalog.add_driver(store, "shifts", "1", rollup="avg")
    with pytest.raises(EnmsError, match="already exists"):
        catalog.add_driver(store, "outdoor_temp_c", "C", rollup="mean")
    assert snapshot(store) == before

    # A second balance point is allowed and keeps its own base.
    hdd15 = catalog.add_driver(store, "hdd_15", "K d", derived_from="outdoor_temp_c",
                               derivation="hdd", base_temp_c=15.5)
    assert hdd15["base_temp_c"] == 15.5


def test_product_driver_counts_one_product(store, plant):
    plant(store)
    catalog.add_product(store, "widget_a", "pcs")
    driver = catalog.add_driver(store, "production_widget_a", "pcs", rollup="sum",
                                product="widget_a")
    assert driver["product"] == "widget_a"
    with pytest.raises(NotFound, match="widget_a"):
        catalog.add_driver(store, "production_widget_b", "pcs", product="widget_b")


def test_equipment_names_who_is_responsible_and_it_can_change(store, plant):
    # The energy review's SEU matrix names a responsible person per equipment;
    # unknown stays None (not recorded), never a made-up name.
    plant(store)
    catalog.add_equipment(store, "Chiller-2", "chiller", 80.0)
    assert catalog.get_entry(store, "equipment", "Chiller-2")["responsible"] is None
    catalog.update_entry(store, "equipment", "Chiller-2", {"responsible": "Facilities manager"})
    listed = {e["name"]: e for e in catalog.list_entries(store, "equipment")}
    assert listed["Chiller-2"]["responsible"] == "Facilities manager"
