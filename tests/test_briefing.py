"""The shift-handover briefing (engine.briefing, `enms briefing`) on the demo plant.

Shift windows are checked in the site's zone across both clock changes; the
shift's figures against independent paths: a whole-day "shift" equals the
day's rollup and the baseline's expected day, and a shift's expected energy
equals the day's expected times the weekday profile of the baseline year
computed here from the hourly series (queries.seu_hours).
"""
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine import baselines, briefing, quality, queries
from engine.errors import EnmsError
from conftest import BACKENDS, demo_database

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory) as (store, _truth, url):
        from engine.demo import train_demo_baselines
        train_demo_baselines(store)
        yield store, url


def _utc(text):
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def test_shift_windows_in_the_site_zone_across_clock_changes():
    starts = briefing.parse_shift_starts(None)
    # The night shift of the autumn change lasts nine hours, the spring one seven.
    lo, hi = briefing.shift_ended_by(_utc("2025-10-26T06:00+01:00"), "Europe/Berlin", starts)
    assert (hi - lo) == timedelta(hours=9)
    lo, hi = briefing.shift_ended_by(_utc("2025-03-30T06:00+02:00"), "Europe/Berlin", starts)
    assert (hi - lo) == timedelta(hours=7)
    # Next briefing: 06:00 local on the day of each change.
    assert briefing.next_shift_change(_utc("2025-10-26T00:30+02:00"), "Europe/Berlin", starts) \
        == datetime(2025, 10, 26, 5, tzinfo=timezone.utc)
    assert briefing.next_shift_change(_utc("2025-03-30T00:30+01:00"), "Europe/Berlin", starts) \
        == datetime(2025, 3, 30, 4, tzinfo=timezone.utc)
    assert briefing.shift_containing(_utc("2025-06-01T14:00+02:00"), "Europe/Berlin", starts) \
        == (_utc("2025-06-01T14:00+02:00"), _utc("2025-06-01T22:00+02:00"))
    assert briefing.parse_shift_starts("19:00, 7:00") == tuple(
        datetime.strptime(t, "%H:%M").time() for t in ("07:00", "19:00"))
    for bad in ("25:00", "noon", "06:00,06:00", ""):
        with pytest.raises(EnmsError):
            briefing.parse_shift_starts(bad)


def test_a_whole_day_shift_is_the_day_report(demo):
    store, _ = demo
    day = date(2025, 10, 26)   # 25 hours
    b = briefing.build(store, "last", at="2025-10-27T00:00", shift_starts="00:00")
    assert b["shift"]["hours"] == 25 and not b["stale"]
    for row in b["seus"]:
        actual = queries.seu_series(store, row["equipment"], row["source"], day, day)[0]
        expected = baselines.expected(store, row["equipment"], row["source"], day, day)
        assert row["actual"] == pytest.approx(actual["energy"], rel=1e-9)
        assert row["expected"] == pytest.approx(expected["rows"][0]["expected"], rel=1e-9)
        assert row["deviation"] == pytest.approx(row["actual"] - row["expected"])


def _profile_share(store, equipment, meter, weekday, hours, skip_flagged=True):
    """The baseline year's share of a weekday's energy in these clock hours, from
    the hourly series, over complete days (and days the log does not flag)."""
    hours_2024 = queries.seu_hours(store, equipment, "electricity", date(2024, 1, 1),
                                   date(2024, 12, 31))
    flagged = {r["day"] for r in quality.log_days(store, meter, date(2024, 1, 1),
                                                  date(2024, 12, 31), "meter")
               if any(f["kind"] in baselines.DATA_QUALITY_EXCLUDES for f in r["findings"])}
    by_day = {}
    for h in hours_2024:
        stamp = datetime.fromisoformat(h["hour"])
        by_day.setdefault(stamp.date(), []).append((stamp.hour, h["energy"], h["completeness"]))
    in_shift = total = 0.0
    for day, items in by_day.items():
        if day.weekday() != weekday or any(e is None or c < 1 for _, e, c in items) or \
                (skip_flagged and day in flagged):
            continue
        total += sum(e for _, e, _ in items)
        in_shift += sum(e for hour, e, _ in items if hour in hours)
    return in_shift / total


@pytest.mark.parametrize("equipment, meter, at", [
    ("Compressor-1", "M-Compressor-1-EL", "2025-10-31T22:30"),            # Friday 14-22
    ("Injection-Molding-1", "M-Injection-Molding-1-EL", "2025-10-29T14:00"),  # Wednesday 6-14
])
def test_shift_expected_is_the_day_times_the_weekday_profile(demo, equipment, meter, at):
    store, _ = demo
    b = briefing.build(store, "last", at=at)
    start = datetime.fromisoformat(b["shift"]["start"])
    row = next(r for r in b["seus"] if r["equipment"] == equipment)
    hours = range(start.hour, start.hour + 8)
    share = _profile_share(store, equipment, meter, start.weekday(), hours)
    day_expected = baselines.expected(store, equipment, "electricity", start.date(),
                                      start.date())["rows"][0]["expected"]
    assert row["expected"] == pytest.approx(day_expected * share, rel=1e-9)
    if equipment == "Injection-Molding-1":
        # Its 2024 spikes (Wednesdays, 10:00) are left out of the profile.
        assert share != pytest.approx(_profile_share(store, equipment, meter, 2, hours,
                                                     skip_flagged=False), rel=1e-4)
    # Largest deviation in kWh first.
    compared = [abs(r["deviation_kwh"]) for r in b["seus"] if r["deviation_kwh"] is not None]
    assert compared == sorted(compared, reverse=True)


def test_current_shift_so_far(demo):
    store, _ = demo
    b = briefing.build(store, "current", at="2025-10-31T18:30")
    shift = b["shift"]
    assert (shift["start"], shift["until"], shift["end"]) == (
        "2025-10-31T14:00:00+01:00", "2025-10-31T18:00:00+01:00", "2025-10-31T22:00:00+01:00")
    assert shift["in_progress"] and shift["hours"] == 4
    hours = queries.seu_hours(store, "HVAC-Main", "electricity", date(2025, 10, 31),
                              date(2025, 10, 31))
    so_far = sum(h["energy"] for h in hours if "T14:00" <= h["hour"][10:16] < "T18:00")
    row = next(r for r in b["seus"] if r["equipment"] == "HVAC-Main")
    assert row["actual"] == pytest.approx(so_far, rel=1e-9)
    with pytest.raises(EnmsError, match="less than an hour"):
        briefing.build(store, "current", at="2025-10-31T14:20")


def test_beyond_the_data_the_last_shift_with_data_and_how_stale(demo):
    store, _ = demo
    b = briefing.build(store, "current", at="2026-11-24T12:00+01:00")
    assert b["stale"] and b["shift"]["start"] == "2025-10-31T14:00:00+01:00"
    assert (b["shift"]["which"], b["shift"]["asked"]) == ("last", "current")
    assert b["data_end"] == "2025-11-01T00:00:00+01:00"
    assert b["behind_h"] == pytest.approx(
        (_utc("2026-11-24T12:00+01:00") - _utc("2025-11-01T00:00+01:00")).total_seconds() / 3600)


def test_missing_energy_is_missing_not_zero(demo):
    store, _ = demo
    b = briefing.build(store, "last", at="2025-07-22T14:00")   # the steam meter's gap
    row = next(r for r in b["seus"] if r["equipment"] == "Autoclave-1")
    assert row["actual"] is None and row["deviation_kwh"] is None and row["completeness"] == 0
    assert "metered" in row["missing"]
    assert b["seus"][-1] is row                      # after every compared SEU
    assert b["data_quality"]["missing_meters"] == ["M-Autoclave-1-ST"]


def test_findings_in_the_shift(demo):
    store, _ = demo
    b = briefing.build(store, "last", at="2025-09-17T14:00")   # a spike at 10:00
    kinds = {(f["name"], f["kind"]) for f in b["data_quality"]["findings"]}
    assert ("M-Injection-Molding-1-EL", "outlier") in kinds
    assert not briefing.build(store, "last", at="2025-09-17T22:00")["data_quality"]["findings"]


def test_cli_json_and_errors(demo):
    _, url = demo
    run = [sys.executable, "-m", "engine.cli", "--db", url, "briefing"]
    done = subprocess.run(run + ["--json", "--at", "2025-10-31T22:00"], capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout)
    assert result["shift"]["end"] == "2025-10-31T22:00:00+01:00" and len(result["seus"]) == 9
    text = subprocess.run(run + ["--at", "2025-10-31T22:00"], capture_output=True, text=True)
    assert text.returncode == 0 and "Compressor-EU-1 electricity" in text.stdout
    for bad in (["--at", "yesterday"], ["--shift-starts", "6pm"]):
        failed = subprocess.run(run + bad, capture_output=True, text=True)
        assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
        assert failed.stderr.startswith("enms: error:")


def test_new_data_recompute_the_memoised_figures(tmp_path, monkeypatch):
    """A warm process answers from its memo; a change of the shift day's data (an
    hour of readings lost, its rollup refreshed) is seen at once."""
    import sqlalchemy as sa
    from engine import Store, catalog, readings, rollups, schema as s
    from engine.demo import build_demo, train_demo_baselines
    monkeypatch.setenv("ENMS_DATA_DIR", str(tmp_path))
    store = Store(str(tmp_path / "enms.sqlite"))
    try:
        build_demo(store)
        train_demo_baselines(store)
        before = briefing.build(store, "last", at="2025-10-31T22:00")
        row = next(r for r in before["seus"] if r["equipment"] == "HVAC-Main")
        assert row["actual"] is not None and row["expected"] is not None
        source = catalog.get_energy_source(store, "electricity")
        table = readings.table("electricity", [c["name"] for c in source["columns"]])
        lost = int(datetime(2025, 10, 31, 15, tzinfo=BERLIN).timestamp())
        with store.begin() as conn:
            meter_id = conn.execute(sa.select(s.meters.c.id).where(
                s.meters.c.name == "M-HVAC-Main-EL")).scalar_one()
            conn.execute(table.delete().where(table.c.meter_id == meter_id,
                                              table.c.ts == lost))
            rollups.refresh_meters(conn, table, source["energy_column"], [meter_id],
                                   "Europe/Berlin", date(2025, 10, 31), date(2025, 10, 31))
        after = briefing.build(store, "last", at="2025-10-31T22:00")
        row = next(r for r in after["seus"] if r["equipment"] == "HVAC-Main")
        assert row["actual"] is None and row["completeness"] == pytest.approx(7 / 8)
        assert row["expected"] is None        # the day's energy is incomplete now
        assert after["data_quality"]["missing_meters"] == ["M-HVAC-Main-EL"]
        others = {r["seu"]: r["expected"] for r in after["seus"] if r["equipment"] != "HVAC-Main"}
        assert others == {r["seu"]: r["expected"] for r in before["seus"]
                          if r["equipment"] != "HVAC-Main"}
    finally:
        store.dispose()
