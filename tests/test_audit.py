"""The audit trail on SQLite and PostgreSQL: every kind of change appends one
record (who, what, before, after, why) in the change's own transaction, a
failed change leaves none, and the table refuses UPDATE and DELETE.
"""
import getpass
import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, build_plant, fresh_database, open_store
from engine import alerts, audit, baselines, catalog, ingest, readings, reports, schema
from engine.cli.main import main
from engine.errors import EnmsError, NotFound

HOUR = 3600
CLI_ACTOR = f"cli:{getpass.getuser()}"
COMPRESSOR = ("Compressor-1", "electricity")


def _new(store, since_id: int) -> list[dict]:
    return [r for r in audit.log(store) if r["id"] > since_id]


def _last_id(store) -> int:
    rows = audit.log(store, limit=1)
    return rows[-1]["id"] if rows else 0


# --- catalog ----------------------------------------------------------------------------

def test_catalog_changes_are_recorded_with_before_and_after(store, plant):
    plant(store)
    (added,) = audit.log(store, action="catalog.add", entity="M-Compressor-1")
    assert (added["actor"], added["entity_kind"], added["before"]) == (CLI_ACTOR, "meter", None)
    # Referenced entries by name, not by row id.
    assert added["after"] == {"name": "M-Compressor-1", "equipment": "Compressor-1",
                              "source": "electricity", "interval_s": 3600, "counter_max": None,
                              "description": ""}
    (seu,) = audit.log(store, action="catalog.add", entity="Boiler-1 natural_gas")
    assert seu["after"]["drivers"] == ["outdoor_temp_c", "heating_degree_days"]

    mark = _last_id(store)
    catalog.update_entry(store, "meter", "M-Compressor-1", {"interval_s": "900"},
                         actor="e.engineer")
    catalog.set_seu_drivers(store, "Boiler-1", "natural_gas", ["heating_degree_days"],
                            actor="e.engineer")
    update, drivers = _new(store, mark)
    assert (update["actor"], update["action"], update["entity_kind"], update["entity"]) == \
        ("e.engineer", "catalog.update", "meter", "M-Compressor-1")
    assert (update["before"], update["after"]) == ({"interval_s": 3600}, {"interval_s": 900})
    assert (drivers["action"], drivers["before"], drivers["after"]) == (
        "catalog.set_drivers", {"drivers": ["heating_degree_days", "outdoor_temp_c"]},
        {"drivers": ["heating_degree_days"]})


def test_a_failed_catalog_change_leaves_no_record(store, plant):
    plant(store)
    mark = _last_id(store)
    # Fails after the old drivers were deleted in the same transaction: all of it rolls back.
    with pytest.raises(NotFound):
        catalog.set_seu_drivers(store, "Boiler-1", "natural_gas",
                                ["heating_degree_days", "no_such_driver"], actor="e.engineer")
    with pytest.raises(EnmsError, match="already exists"):
        catalog.add_meter(store, "M-Compressor-1", "Compressor-1", "electricity")
    assert _new(store, mark) == []
    assert catalog.get_seu(store, "Boiler-1", "natural_gas")["drivers"] == \
        ["heating_degree_days", "outdoor_temp_c"]


def test_aliases_added_and_removed_are_recorded_and_a_refused_one_is_not(store, plant):
    plant(store)
    mark = _last_id(store)
    catalog.add_alias(store, "equipment", "Boiler-1", "Kessel eins", "de-de", actor="e.engineer")
    with pytest.raises(EnmsError, match="already an alias"):
        catalog.add_alias(store, "equipment", "Compressor-1", "Kessel 1", "de-de")
    catalog.remove_alias(store, "equipment", "Boiler-1", "Kessel eins", "de-de", actor="admin")
    added, removed = _new(store, mark)
    assert (added["actor"], added["action"], added["entity_kind"], added["entity"],
            added["before"], added["after"]) == (
        "e.engineer", "catalog.add_alias", "equipment", "Boiler-1", None,
        {"alias": "Kessel eins", "lang": "de-de"})
    assert (removed["actor"], removed["action"], removed["before"], removed["after"]) == (
        "admin", "catalog.remove_alias", {"alias": "Kessel eins", "lang": "de-de"}, None)


# --- imports ------------------------------------------------------------------------------

def test_an_import_is_one_record_with_its_counts_and_a_refused_one_none(store, plant, tmp_path):
    plant(store)
    path = tmp_path / "compressor.csv"
    path.write_text("timestamp,meter,consumption_kwh,power_kw\n"
                    "2025-01-01 00:00,M-Compressor-1,10,10\n"
                    "2025-01-01 01:00,M-Compressor-1,11,11\n"
                    "2025-01-01 01:00,M-Compressor-1,11,11\n"
                    "2025-01-01 02:00,M-Compressor-1,abc,12\n")
    mark = _last_id(store)
    done = ingest.import_readings(store, path, "electricity", actor="meter-gateway")
    (rec,) = _new(store, mark)
    assert (rec["actor"], rec["action"], rec["entity_kind"], rec["entity"]) == \
        ("meter-gateway", "import.readings", "file", "compressor.csv")
    assert {k: rec["after"][k] for k in ("rows_read", "rows_inserted", "rows_duplicate",
                                         "rows_rejected", "source")} == \
        {"rows_read": 4, "rows_inserted": 2, "rows_duplicate": 1, "rows_rejected": 1,
         "source": "electricity"}
    assert (done.rows_inserted, done.rows_duplicate, len(done.rejects)) == (2, 1, 1)
    assert rec["after"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (rec["after"]["first_ts"], rec["after"]["last_ts"]) == \
        ("2024-12-31T23:00:00Z", "2025-01-01T00:00:00Z")

    mark = rec["id"]
    refused = ingest.import_readings(store, path, "electricity", strict=True)
    assert not refused.loaded and _new(store, mark) == []


# --- baselines, reports, alerts on one plant with a year of data ---------------------------

START = int(np.datetime64("2023-12-31T23:00:00", "s").astype(np.int64))  # 2024-01-01 local
STOP = int(np.datetime64("2025-02-28T23:00:00", "s").astype(np.int64))   # 2025-03-01 local
GAP = (int(np.datetime64("2025-02-09T23:00:00", "s").astype(np.int64)),  # 2025-02-10 local
       int(np.datetime64("2025-02-12T23:00:00", "s").astype(np.int64)))


def load_compressor_year(store) -> None:
    """Hourly compressor energy that follows its production (R2 near 0.9 per day),
    from 2024-01-01 to 2025-02-28 with a three-day meter gap in February 2025.
    The boiler's meter has no readings at all (the data-quality scan must cope)."""
    rng = np.random.default_rng(11)
    ts = np.arange(START, STOP, HOUR, dtype=np.int64)
    daily_level = rng.uniform(40, 160, len(ts) // 24 + 1)
    production = np.round(daily_level[np.arange(len(ts)) // 24] + rng.normal(0, 5, len(ts)))
    energy = 3 + 0.08 * production + rng.normal(0, 0.8, len(ts))
    metered = (ts < GAP[0]) | (ts >= GAP[1])
    with store.begin() as conn:
        meter = conn.execute(sa.select(schema.meters.c.id).where(
            schema.meters.c.name == "M-Compressor-1")).scalar()
        driver = conn.execute(sa.select(schema.drivers.c.id).where(
            schema.drivers.c.name == "production_count")).scalar()
        n = int(metered.sum())
        ingest.load_readings(conn, catalog.get_energy_source(store, "electricity"), readings.Batch(
            np.full(n, meter, dtype=np.int64), ts[metered], np.full(n, HOUR, dtype=np.int64),
            {"consumption_kwh": energy[metered], "power_kw": energy[metered]}))
        ingest.load_driver_values(conn, np.full(len(ts), driver), ts, np.full(len(ts), HOUR),
                                  production)


@pytest.fixture(scope="module", params=BACKENDS)
def year(request, tmp_path_factory):
    with fresh_database(request.param, tmp_path_factory.mktemp("audit")) as url, \
            open_store(url) as store:
        build_plant(store)
        load_compressor_year(store)
        yield store


def test_baseline_versions_and_adjustments_are_recorded(year):
    store = year
    mark = _last_id(store)
    first = baselines.train(store, *COMPRESSOR, date(2024, 1, 1), date(2024, 12, 31),
                            drivers=["production_count"], trained_by="e.engineer")
    candidate = baselines.train(store, *COMPRESSOR, date(2024, 1, 1), date(2024, 6, 30),
                                drivers=["production_count"])
    trained, second = _new(store, mark)
    assert (trained["actor"], trained["action"], trained["entity_kind"], trained["entity"],
            trained["reason"], trained["before"]) == (
        "e.engineer", "baseline.train", "baseline", "Compressor-1 electricity",
        "initial baseline", None)
    assert {k: trained["after"][k] for k in ("version", "status", "formula", "period")} == \
        {"version": 1, "status": "active", "formula": first["formula"],
         "period": first["period"]}
    assert trained["after"]["r2"] == pytest.approx(first["r2"])
    # A candidate replaces nothing, and training it is recorded under the default actor.
    assert (second["actor"], second["before"], second["after"]["status"],
            second["after"]["version"]) == (CLI_ACTOR, None, "candidate", candidate["version"])

    mark = second["id"]
    adopted = baselines.adjust(store, *COMPRESSOR, version=2, reason="new compressor controller",
                               adjustment_type="equipment_upgrade", adjusted_by="e.engineer",
                               approved_by="p.manager")
    (adjust,) = _new(store, mark)
    assert (adjust["actor"], adjust["action"], adjust["reason"]) == \
        ("e.engineer", "baseline.adjust", "new compressor controller")
    assert (adjust["before"]["version"], adjust["before"]["status"]) == (1, "active")
    assert {k: adjust["after"][k] for k in ("version", "status", "formula", "adjustment_type",
                                            "approved_by")} == \
        {"version": adopted["version"], "status": "active", "formula": candidate["formula"],
         "adjustment_type": "equipment_upgrade", "approved_by": "p.manager"}

    # A refused adjustment (version 1 is superseded, not a candidate) leaves no record.
    mark = adjust["id"]
    with pytest.raises(EnmsError, match="only a candidate"):
        baselines.adjust(store, *COMPRESSOR, version=1, reason="back", adjustment_type="other")
    assert _new(store, mark) == []

    baselines.adjust(store, *COMPRESSOR, static_add=12.5, reason="new dryer",
                     adjustment_type="static_factor", adjusted_by="e.engineer")
    retrained = baselines.adjust(store, *COMPRESSOR, reason="back to the full year",
                                 adjustment_type="data_correction", adjusted_by="e.engineer",
                                 retrain={"first": date(2024, 1, 1), "last": date(2024, 12, 31),
                                          "drivers": ["production_count"]})
    static, retrain = _new(store, mark)  # a retrain is one adjustment, not a train as well
    assert (static["before"]["static_adjustment"], static["after"]["static_adjustment"]) == \
        (None, {"add": 12.5, "scale": 1.0})
    assert (retrain["action"], retrain["reason"], retrain["before"]["version"],
            retrain["after"]["version"], retrain["after"]["period"]) == (
        "baseline.adjust", "back to the full year", static["after"]["version"],
        retrained["version"], retrained["period"])


def test_a_report_run_is_one_record_and_a_refused_report_none(year):
    store = year
    if not baselines.history(store, *COMPRESSOR):
        baselines.train(store, *COMPRESSOR, date(2024, 1, 1), date(2024, 12, 31),
                        drivers=["production_count"])
    mark = _last_id(store)
    done = reports.run(store, 2025, (1, 2), generated_by="p.manager")
    one = reports.generate(store, *COMPRESSOR, date(2025, 1, 1), date(2025, 1, 31))
    run, single = _new(store, mark)
    assert done["reports"], done["skipped"]
    assert (run["actor"], run["action"], run["entity_kind"]) == \
        ("p.manager", "report.generate", "report")
    assert run["after"]["reports"] == len(done["reports"])
    assert run["after"]["periods"] == sorted({r["period"] for r in done["reports"]})
    assert run["after"]["seus"] == ["Compressor-1 electricity"]
    assert (single["actor"], single["entity"], single["after"]["reports"],
            single["after"]["replaced"]) == (CLI_ACTOR, f"Compressor-1 electricity {one['period']}",
                                             1, 1)
    with pytest.raises(EnmsError):  # inside the baseline period
        reports.generate(store, *COMPRESSOR, date(2024, 3, 1), date(2024, 3, 31))
    assert _new(store, single["id"]) == []


def test_an_alert_acknowledgement_is_recorded_once(year):
    store = year
    found = alerts.evaluate(store, date(2025, 2, 1), date(2025, 2, 28), notifiers=[])
    alert = (found["new"] + found["updated"])[0]
    mark = _last_id(store)
    alerts.acknowledge(store, alert["id"], "p.manager", "meter M-Compressor-1 was replaced")
    with pytest.raises(EnmsError, match="already acknowledged"):
        alerts.acknowledge(store, alert["id"], "someone.else", "me too")
    (rec,) = _new(store, mark)
    assert (rec["actor"], rec["action"], rec["entity_kind"], rec["entity"], rec["reason"],
            rec["before"], rec["after"]) == (
        "p.manager", "alert.acknowledge", "alert", str(alert["id"]),
        "meter M-Compressor-1 was replaced", {"status": "open"}, {"status": "acknowledged"})


# --- the table itself ------------------------------------------------------------------------

def test_the_audit_log_refuses_update_and_delete(store):
    with store.begin() as conn:
        audit.record(conn, "e.engineer", "catalog.update", "meter", "M-1",
                     before={"interval_s": 3600}, after={"interval_s": 900}, reason="new logger")
    statements = ["UPDATE audit_log SET actor = 'someone.else'", "DELETE FROM audit_log"]
    if store.is_postgres:
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.begin() as conn:
                conn.exec_driver_sql(statement)
    (kept,) = audit.log(store)
    assert (kept["actor"], kept["before"], kept["reason"]) == \
        ("e.engineer", {"interval_s": 3600}, "new logger")


def test_the_log_filters_by_day_actor_action_and_entity(store):
    with store.begin() as conn:
        for actor, action, entity in (("a", "baseline.train", "B-1 gas"),
                                      ("b", "baseline.adjust", "B-1 gas"),
                                      ("a", "catalog.update", "M-1"),
                                      ("a", "baselines.x", "M-2")):
            audit.record(conn, actor, action, "x", entity)
    today = datetime.now(timezone.utc).date()
    assert len(audit.log(store, since=today - timedelta(days=1), until=today + timedelta(days=1))) == 4
    assert audit.log(store, until=today - timedelta(days=2)) == []
    assert audit.log(store, since=today + timedelta(days=2)) == []
    assert [r["action"] for r in audit.log(store, action="baseline")] == \
        ["baseline.train", "baseline.adjust"]  # an area, not a prefix of 'baselines'
    assert [r["entity"] for r in audit.log(store, actor="a", entity="M-1")] == ["M-1"]
    assert [r["action"] for r in audit.log(store, limit=2)] == ["catalog.update", "baselines.x"]


def test_enms_audit_log_prints_and_filters(db_url, plant, capsys):
    with open_store(db_url) as store:
        plant(store)
        catalog.update_entry(store, "meter", "M-Boiler-1-NG", {"description": "basement"},
                             actor="e.engineer")
    capsys.readouterr()
    assert main(["--db", db_url, "audit", "log", "--actor", "e.engineer", "--json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert (rec["action"], rec["entity"], rec["before"], rec["after"]) == (
        "catalog.update", "M-Boiler-1-NG", {"description": ""}, {"description": "basement"})
    assert main(["--db", db_url, "audit", "log", "--action", "catalog.update"]) == 0
    text = capsys.readouterr().out
    assert "e.engineer" in text and "description:  -> basement" in text
    with pytest.raises(SystemExit) as exit_:
        main(["--db", db_url, "audit", "log", "--since", "2025-13-01"])
    assert exit_.value.code == 2
    assert "not a date (YYYY-MM-DD): '2025-13-01'" in capsys.readouterr().err
