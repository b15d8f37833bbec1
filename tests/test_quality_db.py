"""Data quality in the database, on SQLite and PostgreSQL: the demo factory's
injected faults are found on the right meters and dates, clean months score
above 0.90, a rerun replaces its log rows, and `enms quality` works.
"""
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, demo_database
from engine import catalog, estimates, ingest, quality, queries, readings, schema
from engine.errors import NotFound

SEED = 7
FIRST, LAST = date(2024, 1, 1), date(2025, 10, 31)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    """The demo factory, scanned once over its whole span: (store, truth, scan, url)."""
    with demo_database(request, tmp_path_factory, SEED) as (store, truth, url):
        yield store, truth, quality.scan(store, FIRST, LAST), url


def entity(result, name):
    return next(e for e in result["entities"] if e["name"] == name)


def findings(result, name, kind):
    return [f for f in entity(result, name)["findings"] if f["kind"] == kind]


def faults(truth, kind):
    return [f for f in truth["data_faults"] if f["type"] == kind]


def log_rows_in_span(store) -> int:
    log = schema.data_quality_log
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(log).where(
            log.c.day >= FIRST, log.c.day <= LAST)).scalar()


# --- every injected fault, on the right meter and dates ---------------------------------------

def test_gaps_found_on_the_right_meters_and_days(demo):
    _, truth, result, _ = demo
    expected = {("M-Boiler-1-NG", "2024-11-04", "2024-11-08"),
                ("M-Autoclave-1-ST", "2025-07-21", "2025-07-25")}
    found = set()
    for fault in faults(truth, "gap"):
        gaps = findings(result, fault["meter"], "gap")
        assert len(gaps) == 1, gaps
        gap = gaps[0]
        assert (gap["start"], gap["end"]) == (fault["start"], fault["end"])
        assert gap["severity"] == "high" and gap["evidence"]["missing_intervals"] == 120
        found.add((fault["meter"], gap["first_day"], gap["last_day"]))
    assert found == expected
    boiler = {d["day"]: d for d in entity(result, "M-Boiler-1-NG")["days"]}
    assert [boiler[f"2024-11-0{k}"]["score"] for k in range(3, 10)] == [1, 0, 0, 0, 0, 0, 1]
    assert boiler["2024-11-05"]["findings"][0]["kind"] == "gap"
    assert boiler["2024-11-05"]["expected_samples"] == 24
    assert boiler["2024-11-05"]["received_samples"] == 0


def test_stuck_meter_found(demo):
    _, truth, result, _ = demo
    fault = faults(truth, "stuck")[0]
    stuck = findings(result, fault["meter"], "stuck")
    assert len(stuck) == 1
    assert (stuck[0]["start"], stuck[0]["end"]) == (fault["start"], fault["end"])
    assert (stuck[0]["first_day"], stuck[0]["last_day"]) == ("2025-05-19", "2025-05-21")
    assert stuck[0]["evidence"]["repeats"] == 72
    days = {d["day"]: d["score"] for d in entity(result, fault["meter"])["days"]}
    assert [days[f"2025-05-{k}"] for k in (18, 19, 20, 21, 22)] == [1, 0, 0, 0, 1]


def test_every_spike_found_as_outlier_and_above_rated_power(demo):
    _, truth, result, _ = demo
    fault = faults(truth, "spike")[0]
    outliers = findings(result, fault["meter"], "outlier")
    assert {f["start"] for f in outliers} == set(fault["timestamps"])
    assert all(f["start_local"][11:16] == "10:00" for f in outliers)
    assert {f["first_day"] for f in outliers} == {
        "2024-06-12", "2024-10-09", "2025-02-19", "2025-05-07", "2025-08-20", "2025-09-17"}
    for f in outliers:
        assert f["evidence"]["z_nearby"] > 20 and f["evidence"]["z_time_of_week"] > 20
    impossible = findings(result, fault["meter"], "impossible")
    assert {f["start"] for f in impossible} == set(fault["timestamps"])
    assert impossible[0]["evidence"]["limit"] == pytest.approx(1.25 * 120)


def test_missing_driver_found_on_the_driver_and_its_degree_days(demo):
    _, truth, result, _ = demo
    fault = faults(truth, "missing_driver")[0]
    for name in (fault["driver"], "heating_degree_days", "cooling_degree_days"):
        missing = findings(result, name, "missing_driver")
        assert len(missing) == 1, (name, missing)
        assert (missing[0]["first_day"], missing[0]["last_day"]) == ("2025-02-10", "2025-02-13")
        assert (missing[0]["start"], missing[0]["end"]) == (fault["start"], fault["end"])
    temp_days = {d["day"]: d for d in entity(result, fault["driver"])["days"]}
    assert temp_days["2025-02-10"]["score"] == 0 and temp_days["2025-02-14"]["score"] == 1


def test_nothing_else_is_flagged(demo):
    _, truth, result, _ = demo
    injected = {(f["meter"], f["type"]) for f in truth["data_faults"] if "meter" in f}
    kind_of = {"gap": "gap", "stuck": "stuck", "outlier": "spike", "impossible": "spike"}
    stray_outliers = 0
    for e in result["entities"]:
        for f in e["findings"]:
            if e["kind"] == "driver":
                assert f["kind"] == "missing_driver" and f["first_day"] == "2025-02-10", f
            elif f["kind"] == "outlier" and (e["name"], "spike") not in injected:
                stray_outliers += 1
            else:
                assert (e["name"], kind_of[f["kind"]]) in injected, f
    # A Hampel rule at z > 6 may flag a genuinely unusual hour now and then:
    # under 1 in 10,000 clean readings (10 meters x 22 months here).
    assert stray_outliers <= 10, stray_outliers


def test_clean_months_score_above_ninety_percent(demo):
    _, truth, result, _ = demo
    faulty = defaultdict(set)   # name -> months with an injected fault
    for f in truth["data_faults"]:
        name = f.get("meter") or f.get("driver")
        stamps = f.get("timestamps") or [f["start"], f["end"]]
        faulty[name] |= {s[:7] for s in stamps}
    faulty["heating_degree_days"] = faulty["cooling_degree_days"] = faulty["outdoor_temp_c"]
    checked = 0
    for e in result["entities"]:
        months = defaultdict(list)
        for d in e["days"]:
            months[d["day"][:7]].append(d)
        for month, days in months.items():
            score = sum(d["score"] * d["day_s"] for d in days) / sum(d["day_s"] for d in days)
            if month not in faulty[e["name"]]:
                assert score > 0.90, (e["name"], month, score)
                checked += 1
    assert checked > 300
    # DST change days are whole days, not 23/24 or 25/24.
    for e in result["entities"]:
        if e["name"] in ("M-HVAC-Main-EL", "production_count"):
            day = {d["day"]: d for d in e["days"]}
            assert day["2025-03-30"]["day_s"] == 82800 and day["2025-03-30"]["score"] == 1
            assert day["2025-10-26"]["day_s"] == 90000 and day["2025-10-26"]["score"] == 1


# --- the log -------------------------------------------------------------------------------------

def test_log_holds_one_row_per_entity_and_day_and_a_rerun_replaces(demo):
    store, _, result, _ = demo
    n_days = (LAST - FIRST).days + 1
    assert log_rows_in_span(store) == len(result["entities"]) * n_days
    with store.read() as conn:
        meter_id = conn.execute(sa.select(schema.meters.c.id).where(
            schema.meters.c.name == "M-Hydraulic-Pump-1-EL")).scalar_one()
        before = conn.execute(sa.select(schema.data_quality_log).where(
            schema.data_quality_log.c.entity_id == meter_id,
            schema.data_quality_log.c.kind == "meter",
            schema.data_quality_log.c.day == date(2025, 5, 20))).mappings().one()
    again = quality.scan(store, date(2025, 5, 1), date(2025, 5, 31))
    assert log_rows_in_span(store) == len(result["entities"]) * n_days
    with store.read() as conn:
        after = conn.execute(sa.select(schema.data_quality_log).where(
            schema.data_quality_log.c.entity_id == meter_id,
            schema.data_quality_log.c.kind == "meter",
            schema.data_quality_log.c.day == date(2025, 5, 20))).mappings().one()
    assert after["scanned_at"] >= before["scanned_at"]
    assert (after["score"], after["findings"]) == (before["score"], before["findings"])
    assert after["findings"][0]["kind"] == "stuck" and after["method"] == quality.METHOD
    # A scan of one month gives the same verdict as the scan of the whole span.
    month = entity(again, "M-Hydraulic-Pump-1-EL")
    assert [f["kind"] for f in month["findings"]] == ["stuck"]
    assert month["score"] == pytest.approx(28 / 31)


def test_period_score_reads_the_log(demo):
    store, _, result, _ = demo
    may = quality.period_score(store, "M-Hydraulic-Pump-1-EL", date(2025, 5, 1), date(2025, 5, 31))
    assert may["score"] == pytest.approx(28 / 31)
    assert may["days_logged"] == 31 and [f["kind"] for f in may["findings"]] == ["stuck"]
    whole = quality.period_score(store, "outdoor_temp_c", FIRST, LAST)
    assert whole["score"] == pytest.approx(entity(result, "outdoor_temp_c")["score"])
    assert whole["kind"] == "driver"
    with pytest.raises(NotFound):
        quality.period_score(store, "M-Nowhere", FIRST, LAST)


def test_unlogged_days_are_scanned_on_request_and_unfinished_days_never(demo):
    store, _, _, _ = demo
    # Before the demo's data: nothing received, so score 0, and now logged.
    early = quality.period_score(store, "M-Conveyor-A-EL", date(2023, 12, 1), date(2023, 12, 31))
    assert early["days_logged"] == 31 and early["score"] == 0
    assert [f["kind"] for f in early["findings"]] == ["gap"]
    # Days that have not ended yet are not scanned.
    now = 1_760_000_000                                 # 2025-10-09T08:53Z
    partial = quality.scan(store, date(2025, 10, 1), date(2025, 10, 31), meters=["M-HVAC-Main-EL"],
                           now=now, write=False)
    assert partial["period"]["scanned_to"] == "2025-10-08"
    assert len(entity(partial, "M-HVAC-Main-EL")["days"]) == 8


# --- small plant: counter resets, negative and impossible values, estimates ------------------------

def test_counter_resets_negative_and_impossible_values(store, plant, tmp_path):
    plant(store)
    catalog.add_meter(store, "M-Counter", "Compressor-1", "electricity", interval_s=3600)
    lines = ["timestamp,meter,consumption_kwh"]
    register = 1000.0
    for h in range(24):
        register = 2.0 if h == 12 else register + 20.0 + h     # reset at noon
        lines.append(f"2025-01-14 {h:02d}:00,M-Counter,{register}")
    path = tmp_path / "counter.csv"
    path.write_text("\n".join(lines) + "\n")
    report = ingest.import_readings(store, path, "electricity", counter=True)
    assert any("counter reset" in n for n in report.notes)
    # Interval rows loaded from arrays (as live ingest does): a negative value
    # and one above the compressor's 55 kW rating.
    source = catalog.get_energy_source(store, "electricity")
    with store.begin() as conn:
        meter_id = conn.execute(sa.select(schema.meters.c.id).where(
            schema.meters.c.name == "M-Compressor-1")).scalar_one()
        start = 1736809200                                         # 2025-01-14 00:00 local
        energy = 30.0 + 0.1 * np.arange(24)
        energy[5], energy[9] = -3.0, 80.0
        ingest.load_readings(conn, source, readings.Batch(
            np.full(24, meter_id), start + 3600 * np.arange(24, dtype=np.int64),
            np.full(24, 3600, dtype=np.int64), {"consumption_kwh": energy,
                                                "power_kw": np.full(24, np.nan)}))
    result = quality.scan(store, date(2025, 1, 14), date(2025, 1, 14),
                          meters=["M-Counter", "M-Compressor-1"])
    counter = entity(result, "M-Counter")
    reset = [f for f in counter["findings"] if f["kind"] == "counter_reset"]
    assert len(reset) == 1 and reset[0]["start_local"] == "2025-01-14T11:00+01:00"
    assert reset[0]["evidence"]["before"] == 1306.0 and reset[0]["evidence"]["after"] == 2.0
    # The first reading only anchors the counter: 23 of 24 hours, the reset
    # interval half-weighted, and the last hour a gap.
    assert counter["days"][0]["score"] == pytest.approx((23 - 0.5) / 24)
    assert [f["kind"] for f in counter["findings"]] == ["counter_reset", "gap"]
    comp = entity(result, "M-Compressor-1")
    # Both stand out from their neighbours too (no earlier weeks to compare with).
    kinds = sorted(f["kind"] for f in comp["findings"])
    assert kinds == ["impossible", "negative", "outlier", "outlier"]
    negative = next(f for f in comp["findings"] if f["kind"] == "negative")
    assert negative["start_local"] == "2025-01-14T05:00+01:00"
    assert negative["evidence"]["min_value"] == -3.0
    assert comp["days"][0]["score"] == pytest.approx(22 / 24)
    # Drivers were not asked for: none scanned.
    assert {e["kind"] for e in result["entities"]} == {"meter"}


def test_short_gaps_get_linear_estimates_that_are_never_stored(store, plant, tmp_path):
    plant(store)
    lines = ["timestamp,meter,consumption_kwh"]
    lines += [f"2025-01-14 {h:02d}:00,M-Compressor-1,{10 + h}" for h in range(24)
              if h not in (3, 4, 15, 16, 17, 18, 19)]
    path = tmp_path / "gappy.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest.import_readings(store, path, "electricity")
    result = quality.estimate_gaps(store, "M-Compressor-1", date(2025, 1, 14), date(2025, 1, 14))
    assert len(result["estimated"]) == 1 and len(result["not_estimated"]) == 1
    gap = result["estimated"][0]
    assert gap["rule"] == "linear" and gap["estimate"] is True
    assert [r["value"] for r in gap["rows"]] == pytest.approx([13.0, 14.0])
    assert all(r["estimate"] for r in gap["rows"])
    assert result["not_estimated"][0]["start_local"] == "2025-01-14T15:00+01:00"
    with store.read() as conn:
        rows = conn.execute(sa.text("SELECT COUNT(*) FROM electricity_readings")).scalar()
    assert rows == 17


def test_gap_days_are_estimated_by_a_named_rule_or_stay_missing(store, plant, tmp_path):
    """A day with only short gaps is completed by the linear rule; a day with a
    long gap and no baseline to estimate it stays missing, never zero."""
    plant(store)
    hours = {14: [h for h in range(24) if h not in (3, 4)],          # 2 hours: linear
             15: [h for h in range(24) if h not in range(15, 20)]}   # 5 hours: too long
    lines = ["timestamp,meter,consumption_kwh"]
    lines += [f"2025-01-{d} {h:02d}:00,M-Compressor-1,{10 + h}" for d, hs in hours.items()
              for h in hs]
    lines += ["2025-01-16 00:00,M-Compressor-1,10"]                   # a reading after day 15
    path = tmp_path / "gappy.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest.import_readings(store, path, "electricity")
    first, last = date(2025, 1, 14), date(2025, 1, 15)
    days = {"M-Compressor-1": queries.meter_series(store, "M-Compressor-1", first, last)}
    seu = {"equipment": "Compressor-1", "source": "electricity", "unit": "kWh"}
    filled = estimates.fill(store, seu, days, first, last)
    assert estimates.gap_days(days) == [first, last]
    assert filled["measured"] == 0  # no day fully metered
    [row] = filled["rows"]
    assert (row["meter"], row["from"], row["to"], row["rule"]) == (
        "M-Compressor-1", first, first, "linear")
    assert row["interpolated"] == pytest.approx(13.0 + 14.0)
    assert row["energy"] == pytest.approx(sum(10 + h for h in range(24)))
    assert filled["estimated"] == pytest.approx(row["energy"])
    assert [m["day"] for m in filled["not_estimated"]] == [last]
    assert filled["with_estimates"] is None  # a missing day is not a zero


def test_order_and_duplicates_are_settled_at_import(store, plant, tmp_path):
    """Stored readings cannot be out of order or duplicated: the import sorts rows
    by time, drops identical repeats, rejects a time given twice with different
    values (engine.ingest._duplicates) and overlapping rows (ingest._overlaps,
    readings.overlapping); the primary key (meter_id, ts) does the rest."""
    plant(store)
    lines = ["timestamp,meter,consumption_kwh",
             "2025-01-14 02:00,M-Compressor-1,12",
             "2025-01-14 00:00,M-Compressor-1,10",          # out of order: fine, sorted
             "2025-01-14 01:00,M-Compressor-1,11",
             "2025-01-14 01:00,M-Compressor-1,11",          # identical repeat: dropped
             "2025-01-14 03:00,M-Compressor-1,13",
             "2025-01-14 03:00,M-Compressor-1,99"]          # same time, other value: rejected
    path = tmp_path / "shuffled.csv"
    path.write_text("\n".join(lines) + "\n")
    report = ingest.import_readings(store, path, "electricity")
    assert report.rows_inserted == 3 and report.rows_duplicate == 1
    assert sorted(r.line for r in report.rejects) == [6, 7]
    result = quality.scan(store, date(2025, 1, 14), date(2025, 1, 14), meters=["M-Compressor-1"])
    kinds = {f["kind"] for f in entity(result, "M-Compressor-1")["findings"]}
    assert kinds == {"gap"}                                  # 03:00 onwards has no reading
    assert entity(result, "M-Compressor-1")["days"][0]["completeness"] == pytest.approx(3 / 24)


# --- the command --------------------------------------------------------------------------------

def enms(url, data_dir, *args):
    env = {**os.environ, "ENMS_DATA_DIR": str(data_dir)}
    env.pop("ENMS_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "engine.cli", "--db", url, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_prints_findings_and_json_parses(demo, tmp_path):
    store, _, _, url = demo
    shown = enms(url, tmp_path, "quality", "--period", "2025-05")
    assert shown.returncode == 0, shown.stderr
    assert "M-Hydraulic-Pump-1-EL" in shown.stdout and "stuck" in shown.stdout
    assert "2025-05-19T00:00+02:00" in shown.stdout
    assert "outlier" in shown.stdout and "data-quality log" in shown.stdout
    listed = enms(url, tmp_path, "quality", "--meter", "M-Boiler-1-NG", "--period", "2024-11",
                  "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [e["name"] for e in data["entities"]] == ["M-Boiler-1-NG"]
    assert [f["kind"] for f in data["entities"][0]["findings"]] == ["gap"]
    assert data["entities"][0]["score"] == pytest.approx(25 / 30)
    unknown = enms(url, tmp_path, "quality", "--driver", "nope", "--period", "2024-11")
    assert unknown.returncode == 2 and "unknown driver 'nope'" in unknown.stderr
