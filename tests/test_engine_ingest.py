"""Ingestion: counts, idempotence, rejects with line numbers, strict mode,
missing values, counters, interval labels, coarse timestamps, overlapping
resolutions, drivers, and an import killed half-way.

Every test runs on SQLite and on PostgreSQL.
"""
import csv
import select
import signal
import subprocess
import sys
import threading
from datetime import date, datetime

import numpy as np
import pytest

import sqlalchemy as sa

from conftest import fresh_database, open_store
from engine import catalog, ingest, queries, readings
from engine.errors import EnmsError

GAS_HEADER = "timestamp,meter,consumption_m3,flow_rate_m3h,pressure_bar"


def write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def utc(text: str) -> int:
    """Epoch seconds of an ISO time with offset."""
    return int(datetime.fromisoformat(text).timestamp())


def rows(store, table: str, columns: str = "*", where: str = "") -> list[tuple]:
    with store.begin() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {columns} FROM {table} {where} ORDER BY 1, 2").all()]


def count(store, table: str) -> int:
    with store.begin() as conn:
        return conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()


def db_state(store) -> dict:
    """Everything an import refused as a whole must leave as it was."""
    return {t: rows(store, t) for t in (
        "electricity_readings", "natural_gas_readings", "meter_daily", "driver_readings",
        "driver_daily")} | {"batches": count(store, "import_batches")}


def gas_day(day: str, values) -> list[str]:
    """24 hourly gas rows of one local day; None gives an empty cell."""
    return [f"{day} {h:02d}:00,M-Boiler-1-NG,{'' if v is None else v},{'' if v is None else v},2.0"
            for h, v in enumerate(values)]


# --- counts and idempotence ------------------------------------------------------------

def test_import_counts_rows_and_reimport_changes_nothing(store, plant, tmp_path):
    plant(store)
    values = ([round(10 + h * 0.5, 2) for h in range(24)]
              + [round(20 - h * 0.25, 2) for h in range(24)])
    path = write(tmp_path, "gas.csv", [GAS_HEADER] + gas_day("2025-01-06", values[:24])
                 + gas_day("2025-01-07", values[24:]))
    report = ingest.import_readings(store, path, "natural_gas")
    assert (report.rows_read, report.rows_inserted, report.rows_duplicate) == (48, 48, 0)
    assert report.rejects == [] and report.exit_code == 0 and report.rejects_file is None
    assert count(store, "natural_gas_readings") == 48
    stored = rows(store, "natural_gas_readings", "ts, duration_s, consumption_m3, pressure_bar")
    # 2025-01-06 00:00 in Berlin (UTC+1) is 2025-01-05 23:00 UTC; rows are hourly.
    assert stored[0] == (utc("2025-01-05T23:00:00+00:00"), 3600, 10.0, 2.0)
    assert [r[0] for r in stored] == [stored[0][0] + 3600 * i for i in range(48)]
    assert [r[2] for r in stored] == values
    daily = rows(store, "meter_daily", "day, energy, covered_s, day_s")
    assert [(str(d), e, c, s) for d, e, c, s in daily] == [
        ("2025-01-06", pytest.approx(sum(values[:24])), 86400, 86400),
        ("2025-01-07", pytest.approx(sum(values[24:])), 86400, 86400)]

    again = ingest.import_readings(store, path, "natural_gas")
    assert (again.rows_inserted, again.rows_duplicate, again.exit_code) == (0, 48, 0)
    assert again.rejects == []
    assert count(store, "natural_gas_readings") == 48
    assert rows(store, "meter_daily", "day, energy, covered_s, day_s") == daily
    # Both imports are on record, with what each did.
    assert rows(store, "import_batches", "rows_read, rows_inserted, rows_duplicate, "
                "rows_rejected") == [(48, 0, 48, 0), (48, 48, 0, 0)]


# --- rejects ---------------------------------------------------------------------------------

BAD_FILE = [
    "timestamp,meter,consumption_kwh,power_kw",
    "2025-01-01 00:00,M-Compressor-1,10,10",   # 2 good
    "2025-01-01 01:00,M-Compressor-1,11,11",   # 3 good
    "",                                         # 4 blank: still counts as a line
    "yesterday noon,M-Compressor-1,1,1",       # 5 unparseable time
    "2025-01-01 02:00,M-Compressor-9,1,1",     # 6 unknown meter
    "2025-01-01 03:00,M-Compressor-1,twelve,1",  # 7 non-numeric
    "2025-01-01 04:00,M-Compressor-1,-5,1",    # 8 negative interval energy
    "2025-01-01 05:00,M-Compressor-1,7,7",     # 9 same time as 10, other value
    "2025-01-01 05:00,M-Compressor-1,8,8",     # 10
    "2025-03-30 02:30,M-Compressor-1,1,1",     # 11 does not exist in Berlin
    "2025-10-26 02:30,M-Compressor-1,1,1",     # 12 ambiguous in Berlin
    "2025-10-26 02:30+01:00,M-Compressor-1,3,3",  # 13 good: offset settles it
    "2025-01-01 06:00,M-Compressor-1,9,9",     # 14 good
    "2025-01-01 07:00,M-Compressor-1,1e999,1",  # 15 not a finite number
]
BAD_LINES = {
    5: ["unparseable time", "yesterday noon"],
    6: ["unknown", "M-Compressor-9", "M-Compressor-1"],
    7: ["not a number", "twelve"],
    8: ["negative"],
    9: ["same time as line 10", "different value"],
    10: ["same time as line 9", "different value"],
    11: ["2025-03-30 02:30", "does not exist", "Europe/Berlin"],
    12: ["2025-10-26 02:30", "ambiguous", "Europe/Berlin"],
    15: ["not a number"],
}
GOOD_ROWS = [  # (UTC start, energy)
    (utc("2024-12-31T23:00:00+00:00"), 10.0),
    (utc("2025-01-01T00:00:00+00:00"), 11.0),
    (utc("2025-01-01T05:00:00+00:00"), 9.0),
    (utc("2025-10-26T01:30:00+00:00"), 3.0),
]


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_load(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "bad.csv", BAD_FILE)
    report = ingest.import_readings(store, path, "electricity")

    assert [r.line for r in report.rejects] == sorted(BAD_LINES)
    for reject in report.rejects:
        for needle in BAD_LINES[reject.line]:
            assert needle in reject.reason, (reject.line, reject.reason)
    assert report.rows_inserted == len(GOOD_ROWS)
    assert report.exit_code == 3 and report.loaded
    assert rows(store, "electricity_readings", "ts, consumption_kwh") == GOOD_ROWS
    # The good rows reached the daily rollup: 10 + 11 + 9 on 1 January.
    jan1 = queries.meter_series(store, "M-Compressor-1", date(2025, 1, 1), date(2025, 1, 1))[0]
    assert jan1["energy"] == pytest.approx(30.0)
    assert jan1["completeness"] == pytest.approx(3 / 24, abs=1e-6)

    # The rejects file sits next to the input and lists each bad line with its fields.
    assert report.rejects_file == str(path) + ".rejects.csv"
    with open(report.rejects_file, newline="", encoding="utf-8") as handle:
        listed = list(csv.reader(handle))
    assert listed[0][:2] == ["line", "reason"]
    assert [int(r[0]) for r in listed[1:]] == sorted(BAD_LINES)
    by_line = {int(r[0]): r for r in listed[1:]}
    assert by_line[7][2:] == ["2025-01-01 03:00", "M-Compressor-1", "twelve", "1"]
    # The summary names the file and the line, one line per reject.
    summary = ingest.summarize_rejects(report)
    assert summary[0].startswith(f"{path}, line 5: unparseable time")


def test_strict_import_loads_nothing_when_any_row_is_bad(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "bad.csv", BAD_FILE)
    before = db_state(store)
    report = ingest.import_readings(store, path, "electricity", strict=True)
    assert report.exit_code == 2 and not report.loaded
    assert report.rows_inserted == 0
    assert [r.line for r in report.rejects] == sorted(BAD_LINES)
    assert count(store, "electricity_readings") == 0
    assert db_state(store) == before


def test_clash_with_a_stored_value_is_rejected_and_the_stored_value_kept(store, plant, tmp_path):
    plant(store)
    header = "timestamp,meter,consumption_kwh"
    ingest.import_readings(store, write(tmp_path, "a.csv", [
        header, "2025-01-01 00:00,M-Compressor-1,10", "2025-01-01 01:00,M-Compressor-1,11"]),
        "electricity")
    second = write(tmp_path, "b.csv", [
        header,
        "2025-01-01 00:00,M-Compressor-1,10",   # 2 identical: a duplicate, fine
        "2025-01-01 01:00,M-Compressor-1,12",   # 3 another value for a stored time
        "2025-01-01 02:00,M-Compressor-1,13"])  # 4 new
    before = db_state(store)
    strict = ingest.import_readings(store, second, "electricity", strict=True)
    assert strict.exit_code == 2 and [r.line for r in strict.rejects] == [3]
    assert db_state(store) == before          # strict: not even line 4 loaded

    report = ingest.import_readings(store, second, "electricity")
    assert [r.line for r in report.rejects] == [3]
    assert "already stored" in report.rejects[0].reason
    assert (report.rows_inserted, report.rows_duplicate, report.exit_code) == (1, 1, 3)
    assert rows(store, "electricity_readings", "ts, consumption_kwh") == [
        (utc("2024-12-31T23:00:00+00:00"), 10.0),
        (utc("2025-01-01T00:00:00+00:00"), 11.0),   # not replaced by 12
        (utc("2025-01-01T01:00:00+00:00"), 13.0)]
    assert queries.meter_series(store, "M-Compressor-1", date(2025, 1, 1),
                                date(2025, 1, 1))[0]["energy"] == pytest.approx(34.0)


def test_hostile_csv_header_is_refused_and_changes_nothing(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "hostile.csv", [
        "timestamp,meter,consumption_kwh,power_kw); DROP TABLE seus;--",
        "2025-01-01 00:00,M-Compressor-1,1,1"])
    before = db_state(store)
    with pytest.raises(EnmsError, match="not declared"):
        ingest.import_readings(store, path, "electricity")
    assert db_state(store) == before
    assert len(catalog.list_entries(store, "seu")) == 2


def test_missing_or_nat_timestamp_is_a_rejected_line(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "holes.csv", [
        "timestamp,meter,consumption_kwh",
        "2025-01-01 00:00,M-Compressor-1,1",
        ",M-Compressor-1,2",
        "NaT,M-Compressor-1,3",
        "2025-01-01 01:00,M-Compressor-1,4"])
    report = ingest.import_readings(store, path, "electricity")
    assert [r.line for r in report.rejects] == [3, 4]
    assert all("time" in r.reason for r in report.rejects)
    assert report.rows_inserted == 2


def test_each_meter_reads_local_time_of_its_own_site(store, plant, tmp_path):
    plant(store)
    catalog.add_site(store, "Ohio Plant", "America/New_York")
    catalog.add_equipment(store, "Chiller-US", site="Ohio Plant")
    catalog.add_meter(store, "M-Chiller-US", "Chiller-US", "electricity", interval_s=3600)
    path = write(tmp_path, "two_sites.csv", [
        "timestamp,meter,consumption_kwh",
        "2025-01-10 00:00,M-Compressor-1,5",
        "2025-01-10 00:00,M-Chiller-US,7",
        "2025-03-09 02:30,M-Chiller-US,1",      # 4: skipped by DST in New York only
        "2025-03-09 02:30,M-Compressor-1,1",    # 5: fine in Berlin
        "2025-03-30 02:30,M-Chiller-US,1",      # 6: fine in New York
        "2025-03-30 02:30,M-Compressor-1,1"])   # 7: skipped by DST in Berlin only
    report = ingest.import_readings(store, path, "electricity")
    assert [r.line for r in report.rejects] == [4, 7]
    assert "America/New_York" in report.rejects[0].reason
    assert "Europe/Berlin" in report.rejects[1].reason
    stored = dict(rows(store, "electricity_readings", "consumption_kwh, ts",
                       where="WHERE consumption_kwh > 4"))
    assert stored == {5.0: utc("2025-01-10T00:00:00+01:00"), 7.0: utc("2025-01-10T00:00:00-05:00")}
    us = queries.meter_series(store, "M-Chiller-US", date(2025, 1, 9), date(2025, 1, 10))
    assert [d["energy"] for d in us] == [None, 7.0]


# --- missing values --------------------------------------------------------------------------

def test_empty_cell_is_missing_never_zero(store, plant, tmp_path):
    plant(store)
    values = [5.0] * 24
    values[3] = values[4] = None
    path = write(tmp_path, "gas.csv", [GAS_HEADER] + gas_day("2025-02-03", values)
                 + gas_day("2025-02-04", [None] * 24))
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rejects == [] and report.rows_inserted == 48
    stored = rows(store, "natural_gas_readings", "ts, consumption_m3, flow_rate_m3h",
                  where=f"WHERE ts < {utc('2025-02-04T00:00:00+01:00')}")
    assert [r[1] for r in stored] == values     # NULL, not 0.0
    assert [r[2] for r in stored] == values
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 2, 3), date(2025, 2, 5))
    assert days[0]["energy"] == pytest.approx(110.0)           # 22 x 5, not scaled up
    assert days[0]["completeness"] == pytest.approx(22 / 24, abs=1e-6)
    assert days[1]["energy"] is None and days[1]["completeness"] == 0.0   # rows, no values
    assert days[2]["energy"] is None and days[2]["completeness"] == 0.0   # no rows at all
    month = queries.monthly(days, "energy")[0]
    assert month["energy"] is None


# --- counters ---------------------------------------------------------------------------------

def test_counter_readings_become_interval_energy_with_reset_and_rollover(store, plant, tmp_path):
    plant(store)
    catalog.add_meter(store, "M-Counter", "Compressor-1", "electricity", interval_s=3600)
    catalog.add_meter(store, "M-Rollover", "Compressor-1", "electricity", counter_max=1000)
    header = "timestamp,meter,consumption_kwh"
    first = write(tmp_path, "c1.csv", [
        header,
        "2025-01-01 00:00,M-Counter,100",
        "2025-01-01 01:00,M-Counter,110",
        "2025-01-01 02:00,M-Counter,125",
        "2025-01-01 03:00,M-Counter,5",     # reset: counted from zero
        "2025-01-01 04:00,M-Counter,12",
        "2025-01-01 00:00,M-Rollover,980",
        "2025-01-01 01:00,M-Rollover,995",
        "2025-01-01 02:00,M-Rollover,7",    # rolled over at 1000: 5 + 7
        "2025-01-01 03:00,M-Rollover,20"])
    report = ingest.import_readings(store, first, "electricity", counter=True)
    assert report.rejects == [] and report.rows_inserted == 7
    assert any("reset" in note for note in report.notes)
    assert any("rolled over" in note for note in report.notes)
    start = utc("2024-12-31T23:00:00+00:00")   # 2025-01-01 00:00 in Berlin
    stored = rows(store, "electricity_readings", "meter_id, ts, duration_s, consumption_kwh, "
                  "counter_end")
    counter_id, rollover_id = stored[0][0], stored[-1][0]
    assert [r[1:] for r in stored if r[0] == counter_id] == [
        (start, 3600, 10.0, 110.0), (start + 3600, 3600, 15.0, 125.0),
        (start + 7200, 3600, 5.0, 5.0), (start + 10800, 3600, 7.0, 12.0)]
    assert [r[1:] for r in stored if r[0] == rollover_id] == [
        (start, 3600, 15.0, 995.0), (start + 3600, 3600, 12.0, 7.0),
        (start + 7200, 3600, 13.0, 20.0)]

    # The next file continues from the stored last reading (12): 20 - 12 = 8.
    second = write(tmp_path, "c2.csv", [header, "2025-01-01 05:00,M-Counter,20",
                                        "2025-01-01 06:00,M-Counter,31"])
    report = ingest.import_readings(store, second, "electricity", counter=True)
    assert report.rejects == [] and report.rows_inserted == 2
    assert [r[1:4] for r in rows(store, "electricity_readings",
                                 "meter_id, ts, duration_s, consumption_kwh")
            if r[0] == counter_id][-2:] == [(start + 14400, 3600, 8.0), (start + 18000, 3600, 11.0)]
    total = 10 + 15 + 5 + 7 + 8 + 11
    day = queries.meter_series(store, "M-Counter", date(2025, 1, 1), date(2025, 1, 1))[0]
    assert day["energy"] == pytest.approx(total)
    assert day["completeness"] == pytest.approx(6 / 24, abs=1e-6)

    n = count(store, "electricity_readings")
    again = ingest.import_readings(store, second, "electricity", counter=True)
    assert again.rows_inserted == 0 and again.rejects == []
    assert count(store, "electricity_readings") == n


def test_counter_duplicate_with_other_value_is_rejected(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "c.csv", [
        "timestamp,meter,consumption_kwh",
        "2025-01-01 00:00,M-Compressor-1,100",
        "2025-01-01 01:00,M-Compressor-1,110",
        "2025-01-01 01:00,M-Compressor-1,111",
        "2025-01-01 02:00,M-Compressor-1,120"])
    report = ingest.import_readings(store, path, "electricity", counter=True)
    assert sorted(r.line for r in report.rejects) == [3, 4]
    # Neither 110 nor 111 is trusted: 100 -> 120 is one two-hour interval of 20.
    assert rows(store, "electricity_readings", "ts, duration_s, consumption_kwh") == [
        (utc("2024-12-31T23:00:00+00:00"), 7200, 20.0)]


# --- interval labels and coarse timestamps ----------------------------------------------------

def test_end_labelled_readings_shift_back_one_interval(store, plant, tmp_path):
    plant(store)
    lines = ["timestamp,meter,consumption_kwh"]
    lines += [f"2025-01-01 {h:02d}:00,M-Compressor-1,{h}" for h in range(1, 24)]
    lines += ["2025-01-02 00:00,M-Compressor-1,24"]   # the last hour of 1 January
    report = ingest.import_readings(store, write(tmp_path, "end.csv", lines), "electricity",
                                    label="end")
    assert report.rejects == [] and report.rows_inserted == 24
    stored = rows(store, "electricity_readings", "ts, duration_s, consumption_kwh")
    assert stored[0] == (utc("2024-12-31T23:00:00+00:00"), 3600, 1.0)
    assert stored[-1] == (utc("2025-01-01T22:00:00+00:00"), 3600, 24.0)
    days = queries.meter_series(store, "M-Compressor-1", date(2025, 1, 1), date(2025, 1, 2))
    assert days[0]["energy"] == pytest.approx(300.0) and days[0]["completeness"] == 1.0
    assert days[1]["energy"] is None


def test_day_and_month_timestamps_cover_local_days_and_months(store, plant, tmp_path):
    plant(store)
    catalog.add_meter(store, "M-Daily", "Boiler-1", "natural_gas")
    catalog.add_meter(store, "M-Monthly", "Boiler-1", "natural_gas")
    path = write(tmp_path, "coarse.csv", [
        "date,meter,consumption_m3",
        "2025-03-29,M-Daily,96",
        "2025-03-30,M-Daily,92",     # 23-hour day
        "2025-03-31,M-Daily,96",
        "2025-01,M-Monthly,3100",
        "2025-02,M-Monthly,2800",
        "2025-04,M-Monthly,3000"])
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rejects == [] and report.rows_inserted == 6
    stored = rows(store, "natural_gas_readings", "ts, duration_s, consumption_m3")
    assert stored == sorted([
        (utc("2025-03-29T00:00:00+01:00"), 86400, 96.0),
        (utc("2025-03-30T00:00:00+01:00"), 82800, 92.0),
        (utc("2025-03-31T00:00:00+02:00"), 86400, 96.0),
        (utc("2025-01-01T00:00:00+01:00"), 31 * 86400, 3100.0),
        (utc("2025-02-01T00:00:00+01:00"), 28 * 86400, 2800.0),
        (utc("2025-04-01T00:00:00+02:00"), 30 * 86400, 3000.0)])
    dst = queries.meter_series(store, "M-Daily", date(2025, 3, 30), date(2025, 3, 30))[0]
    assert dst == {"day": date(2025, 3, 30), "energy": 92.0, "completeness": 1.0}
    feb = queries.meter_series(store, "M-Monthly", date(2025, 2, 1), date(2025, 2, 28))
    assert all(d["energy"] == pytest.approx(100.0) and d["completeness"] == 1.0 for d in feb)
    months = queries.monthly(queries.meter_series(
        store, "M-Monthly", date(2025, 1, 1), date(2025, 4, 30)), "energy")
    assert [(m["month"], m["energy"]) for m in months] == [
        ("2025-01", pytest.approx(3100.0)), ("2025-02", pytest.approx(2800.0)),
        ("2025-03", None), ("2025-04", pytest.approx(3000.0))]


# --- two resolutions of the same time ----------------------------------------------------------

def minute_rows(day: str, hours: range, value: float) -> list[str]:
    return [f"{day} {h:02d}:{m:02d},M-Boiler-1-NG,{value}" for h in hours for m in range(60)]


def _readings_state(store) -> dict:
    state = db_state(store)
    state.pop("batches")  # a partly rejected import is still recorded
    return state


def test_other_resolution_for_stored_hours_is_rejected_row_by_row(store, plant, tmp_path):
    plant(store)
    hourly = write(tmp_path, "hourly.csv", ["timestamp,meter,consumption_m3"]
                   + [f"2025-01-01 {h:02d}:00,M-Boiler-1-NG,60" for h in range(24)])
    assert ingest.import_readings(store, hourly, "natural_gas").rows_inserted == 24
    before = _readings_state(store)
    minutes = write(tmp_path, "minutes.csv", ["timestamp,meter,consumption_m3"]
                    + minute_rows("2025-01-01", range(24), 1.0))
    report = ingest.import_readings(store, minutes, "natural_gas")
    assert (report.rows_inserted, len(report.rejects), report.exit_code) == (0, 1440, 3)
    reasons = {r.reason for r in report.rejects}
    assert reasons == {ingest.STORED_OVERLAP}
    assert _readings_state(store) == before
    assert queries.meter_series(store, "M-Boiler-1-NG", date(2025, 1, 1),
                                date(2025, 1, 1))[0]["energy"] == pytest.approx(1440.0)


def test_other_resolution_for_some_stored_hours_is_refused(store, plant, tmp_path):
    plant(store)
    hourly = write(tmp_path, "hourly.csv", ["timestamp,meter,consumption_m3"]
                   + [f"2025-01-01 {h:02d}:00,M-Boiler-1-NG,60" for h in range(6)])
    ingest.import_readings(store, hourly, "natural_gas")
    before = _readings_state(store)
    minutes = write(tmp_path, "minutes.csv", ["timestamp,meter,consumption_m3"]
                    + minute_rows("2025-01-01", range(6), 1.0)
                    + minute_rows("2025-01-01", [6], 1.0))
    report = ingest.import_readings(store, minutes, "natural_gas")
    # The seventh hour is new: its 60 minutes load; the six stored hours stay hourly.
    assert (report.rows_inserted, len(report.rejects)) == (60, 360)
    day = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 1, 1), date(2025, 1, 1))[0]
    # Seven hours of gas, 420 m3, whichever resolution: never 360 + 354 + 60.
    assert day["energy"] == pytest.approx(420.0)
    assert day["completeness"] == pytest.approx(7 / 24, abs=1e-6)
    assert _readings_state(store) != before


def test_overlapping_arrays_are_refused_whole(store, plant):
    """The bulk API (demo, live ingest) refuses a batch that would double count."""
    plant(store)
    source = catalog.get_energy_source(store, "natural_gas")
    with store.begin() as conn:
        meter_id = conn.execute(sa.text("SELECT id FROM meters WHERE name = 'M-Boiler-1-NG'")).scalar()
    start = 1735686000  # 2025-01-01 00:00 Europe/Berlin
    hourly = readings.Batch(np.full(2, meter_id), np.array([start, start + 3600]),
                            np.full(2, 3600), {"consumption_m3": np.array([60.0, 60.0])})
    with store.begin() as conn:
        ingest.load_readings(conn, source, hourly)
    before = _readings_state(store)
    minute = readings.Batch(np.full(1, meter_id), np.array([start + 5400]), np.full(1, 60),
                            {"consumption_m3": np.array([1.0])})
    with pytest.raises(EnmsError, match="overlap"), store.begin() as conn:
        ingest.load_readings(conn, source, minute)
    assert _readings_state(store) == before


def test_two_resolutions_inside_one_file_are_rejected(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "mixed.csv", [
        "timestamp,meter,consumption_m3,duration_s",
        "2025-01-01 00:00,M-Boiler-1-NG,60,3600",
        "2025-01-01 00:30,M-Boiler-1-NG,1,60",      # inside the hour above
        "2025-01-01 01:00,M-Boiler-1-NG,60,3600"])
    report = ingest.import_readings(store, path, "natural_gas")
    assert [r.line for r in report.rejects] == [3]
    assert "overlaps the reading at line 2" in report.rejects[0].reason
    assert report.rows_inserted == 2


# --- drivers ------------------------------------------------------------------------------------

def test_driver_import_long_format(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "drivers.csv", [
        "timestamp,driver,value",
        "2025-01-01 00:00,outdoor_temp_c,4.0",
        "2025-01-01 12:00,outdoor_temp_c,8.0",
        "2025-01-01 00:00,production_count,100",
        "2025-01-01 12:00,production_count,140",
        "2025-01-01 12:00,outdoor_temperature,5",    # 6 unknown driver
        "2025-01-01 18:00,heating_degree_days,3",    # 7 derived: computed, not imported
        "2025-01-01 13:00,production_count,many"])   # 8 non-numeric
    strict = ingest.import_drivers(store, path, strict=True)
    assert strict.exit_code == 2 and [r.line for r in strict.rejects] == [6, 7, 8]
    assert count(store, "driver_readings") == 0 and count(store, "driver_daily") == 0

    report = ingest.import_drivers(store, path)
    assert [r.line for r in report.rejects] == [6, 7, 8]
    assert "outdoor_temperature" in report.rejects[0].reason
    assert "outdoor_temp_c" in report.rejects[0].reason    # the known ones are listed
    assert report.rows_inserted == 4 and report.exit_code == 3
    assert count(store, "driver_readings") == 4
    series = {d: queries.driver_series(store, d, date(2025, 1, 1), date(2025, 1, 1))[0]["value"]
              for d in ("outdoor_temp_c", "production_count", "heating_degree_days",
                        "cooling_degree_days")}
    assert series == {"outdoor_temp_c": 6.0, "production_count": 240.0,
                      "heating_degree_days": 12.0, "cooling_degree_days": 0.0}

    again = ingest.import_drivers(store, path)
    assert (again.rows_inserted, again.rows_duplicate) == (0, 4)
    assert count(store, "driver_readings") == 4


def test_driver_import_wide_format_with_a_missing_cell(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "wide.csv", [
        "timestamp,outdoor_temp_c,production_count",
        "2025-01-02 00:00,10,50",
        "2025-01-02 12:00,,70"])
    report = ingest.import_drivers(store, path)
    assert report.rejects == [] and report.rows_inserted == 3
    temp = queries.driver_series(store, "outdoor_temp_c", date(2025, 1, 2), date(2025, 1, 2))[0]
    # Only the first half-day has a temperature: its mean is 10, not (10 + 0) / 2.
    assert temp["value"] == pytest.approx(10.0)
    assert temp["completeness"] == pytest.approx(0.5)
    prod = queries.driver_series(store, "production_count", date(2025, 1, 2), date(2025, 1, 2))[0]
    assert prod["value"] == pytest.approx(120.0) and prod["completeness"] == 1.0
    with store.begin() as conn:
        values = conn.exec_driver_sql("SELECT value FROM driver_readings").scalars().all()
    assert sorted(values) == [10.0, 50.0, 70.0]     # no 0.0 for the empty cell

    unknown = write(tmp_path, "wide2.csv", ["timestamp,outdoor_temp_c,humidity",
                                            "2025-01-03 00:00,1,50"])
    before = db_state(store)
    with pytest.raises(EnmsError, match="humidity"):
        ingest.import_drivers(store, unknown)
    assert db_state(store) == before


# --- a killed import ------------------------------------------------------------------------

BIG_ROWS = 400_000
KILLED_IMPORT = """
import sys
from engine.store import Store
from engine import ingest

def progress(done):
    print("progress", done, flush=True)

store = Store(sys.argv[1])
ingest.import_readings(store, sys.argv[2], "electricity", progress=progress)
print("finished", flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """400,000 one-minute readings of 0.5 kWh (UTC timestamps, about nine months)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    stamps = np.datetime_as_string(np.datetime64("2025-01-01T00:00:00")
                                   + np.arange(BIG_ROWS).astype("timedelta64[m]"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("timestamp,meter,consumption_kwh\n")
        handle.write("".join(f"{t}Z,M-Big,0.5\n" for t in stamps))
    return path


def test_killed_import_leaves_nothing_and_a_rerun_loads_everything(store, db_url, plant, big_csv):
    plant(store)
    catalog.add_meter(store, "M-Big", "Compressor-1", "electricity", interval_s=60)
    store.dispose()
    child = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, db_url, str(big_csv)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 120)
        line = child.stdout.readline() if ready else ""
        child.send_signal(signal.SIGKILL)       # mid-load: the batch is not committed yet
        child.wait(timeout=30)
        errors = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert line.startswith("progress "), f"no progress line before the kill: {line!r} {errors}"
    assert child.returncode == -signal.SIGKILL

    assert count(store, "electricity_readings") == 0
    assert count(store, "meter_daily") == 0
    assert count(store, "import_batches") == 0

    report = ingest.import_readings(store, big_csv, "electricity")
    assert report.rejects == [] and report.rows_inserted == BIG_ROWS
    assert count(store, "electricity_readings") == BIG_ROWS
    with store.begin() as conn:
        total = conn.exec_driver_sql("SELECT SUM(energy) FROM meter_daily").scalar()
    assert total == pytest.approx(BIG_ROWS * 0.5)
    assert count(store, "import_batches") == 1


def test_concurrent_imports_into_new_months_do_not_deadlock(tmp_path, plant):
    # Two imports, each holding rows of one month in its open transaction,
    # both need the next month's partition: neither may fail. PostgreSQL
    # only: SQLite runs one writer at a time, so there is nothing to race.
    with fresh_database("postgresql", tmp_path) as url, open_store(url) as store:
        _race_two_imports_into_a_new_month(store, plant)


def _race_two_imports_into_a_new_month(store, plant):
    plant(store)
    catalog.add_meter(store, "M-Boiler-1-NG-2", "Boiler-1", "natural_gas", interval_s=3600)
    gas = catalog.get_energy_source(store, "natural_gas")
    with store.begin() as conn:
        meter_ids = conn.exec_driver_sql(
            "SELECT id FROM meters WHERE name IN ('M-Boiler-1-NG', 'M-Boiler-1-NG-2') ORDER BY name").scalars().all()
    january, february = utc("2025-01-10T00:00:00+00:00"), utc("2025-02-10T00:00:00+00:00")

    def batch(meter_id, ts):
        return readings.Batch(
            meter_id=np.array([meter_id]), ts=np.array([ts]), duration_s=np.array([3600]),
            values={"consumption_m3": np.array([1.0]), "flow_rate_m3h": np.array([1.0]),
                    "pressure_bar": np.array([np.nan])})

    with store.begin() as conn:                       # January's partition exists
        ingest.load_readings(conn, gas, batch(meter_ids[0], january - 86400))
    barrier = threading.Barrier(2, timeout=30)
    errors, inserted = [], []

    def load(meter_id):
        try:
            with store.begin() as conn:
                inserted.append(ingest.load_readings(conn, gas, batch(meter_id, january))[0])
                barrier.wait()
                inserted.append(ingest.load_readings(conn, gas, batch(meter_id, february))[0])
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(m,)) for m in meter_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and inserted == [1, 1, 1, 1]
    assert len(rows(store, "natural_gas_readings")) == 5
