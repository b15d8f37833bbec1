"""Daily rollups: granularity never changes the answer, local days (DST), missing
data stays missing, each driver rolls up by its own rule, degree days from the
daily mean temperature.

Every test runs on SQLite and on PostgreSQL.
"""
from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import BACKENDS, build_plant, fresh_database, open_store
from engine import catalog, ingest, queries
from engine.errors import EnmsError

DAY1, DAY2 = date(2025, 1, 14), date(2025, 1, 15)
RESOLUTIONS = {"M-1s": 1, "M-1min": 60, "M-15min": 900, "M-1h": 3600}


def write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def daily_rows(store, meter: str) -> list[tuple]:
    """(day as text, energy, covered_s, day_s, samples) of one meter, by day."""
    with store.begin() as conn:
        return [(str(r[0]), *r[1:]) for r in conn.execute(sa.text(
            "SELECT d.day, d.energy, d.covered_s, d.day_s, d.samples FROM meter_daily d "
            "JOIN meters m ON m.id = d.meter_id WHERE m.name = :meter ORDER BY d.day"),
            {"meter": meter}).all()]


# --- granularity ---------------------------------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def granular(request, tmp_path_factory):
    """The same two days of compressor energy imported at 1 s, 1 min, 15 min and 1 h.

    Yields (store, true daily totals [kWh] of DAY1 and DAY2).
    """
    directory = tmp_path_factory.mktemp(f"granular-{request.param}")
    with fresh_database(request.param, directory) as url, open_store(url) as store:
        build_plant(store)
        for meter in RESOLUTIONS:
            catalog.add_meter(store, meter, "Compressor-1", "electricity")
        seconds = 2 * 86400
        rng = np.random.default_rng(50001)
        power_kw = np.clip(30 + 20 * np.sin(np.arange(seconds) * 2 * np.pi / 86400)
                           + rng.normal(0, 3, seconds), 0, None)
        energy = power_kw / 3600                       # kWh in each second
        local = np.datetime64("2025-01-14T00:00:00") + np.arange(seconds).astype("timedelta64[s]")
        for meter, step in RESOLUTIONS.items():
            per_step = energy.reshape(-1, step).sum(axis=1)
            stamps = np.datetime_as_string(local[::step])
            path = directory / f"{meter}.csv"
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("timestamp,meter,consumption_kwh\n")
                handle.write("".join(f"{t},{meter},{v!r}\n"
                                     for t, v in zip(stamps, per_step.tolist())))
            report = ingest.import_readings(store, path, "electricity")
            assert report.rejects == [] and report.rows_inserted == seconds // step
        yield store, [energy[:86400].sum(), energy[86400:].sum()]


def test_same_energy_at_any_resolution_gives_the_same_daily_totals(granular):
    store, truth = granular
    for meter in RESOLUTIONS:
        days = queries.meter_series(store, meter, DAY1, DAY2 + timedelta(days=1))
        assert [d["energy"] for d in days[:2]] == pytest.approx(truth, rel=1e-6), meter
        assert [d["completeness"] for d in days] == [1.0, 1.0, 0.0], meter
        assert days[2]["energy"] is None
    one_second = [d["energy"] for d in queries.meter_series(store, "M-1s", DAY1, DAY2)]
    hourly = [d["energy"] for d in queries.meter_series(store, "M-1h", DAY1, DAY2)]
    assert one_second == pytest.approx(hourly, rel=1e-6)


def test_daily_rollup_counts_samples_and_covered_seconds(granular):
    store, _ = granular
    for meter, step in RESOLUTIONS.items():
        rows = daily_rows(store, meter)
        assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
            ("2025-01-14", 86400, 86400, 86400 // step),
            ("2025-01-15", 86400, 86400, 86400 // step)], meter


def test_hourly_aggregates_do_not_depend_on_resolution(granular):
    store, _ = granular
    hourly = queries.meter_hours(store, "M-1h", DAY1, DAY1)
    assert len(hourly) == 24 and hourly[0]["hour"].startswith("2025-01-14T00:00")
    for meter in ("M-1s", "M-1min", "M-15min"):
        hours = queries.meter_hours(store, meter, DAY1, DAY1)
        assert [h["hour"] for h in hours] == [h["hour"] for h in hourly]
        assert [h["energy"] for h in hours] == pytest.approx(
            [h["energy"] for h in hourly], rel=1e-9), meter
        assert all(h["completeness"] == 1.0 for h in hours), meter


# --- readings across local midnight ------------------------------------------------------

def test_reading_across_midnight_is_split_by_time(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "long.csv", [
        "timestamp,meter,consumption_m3,duration_s",
        "2025-01-14 23:00,M-Boiler-1-NG,10,7200",      # 23:00-01:00: half on each day
        "2025-01-20 12:00,M-Boiler-1-NG,72,259200"])   # three days from noon
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rejects == []
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 1, 14), date(2025, 1, 15))
    assert [d["energy"] for d in days] == [pytest.approx(5.0), pytest.approx(5.0)]
    assert [d["completeness"] for d in days] == pytest.approx([1 / 24, 1 / 24], abs=1e-6)
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 1, 19), date(2025, 1, 24))
    assert [d["energy"] for d in days] == [None, pytest.approx(12.0), pytest.approx(24.0),
                                           pytest.approx(24.0), pytest.approx(12.0), None]
    assert [d["completeness"] for d in days] == pytest.approx([0, 0.5, 1, 1, 0.5, 0])


# --- local days and daylight saving ----------------------------------------------------

def dst_hours() -> list[str]:
    """Hourly local times of 29-31 March and 25-27 October 2025 in Berlin."""
    lines = []
    for day in ("2025-03-29", "2025-03-30", "2025-03-31",
                "2025-10-25", "2025-10-26", "2025-10-27"):
        for h in range(24):
            if day == "2025-03-30" and h == 2:
                continue                                  # 02:00-03:00 does not exist
            if day == "2025-10-26" and h == 2:
                lines += [f"{day} 02:00+02:00", f"{day} 02:00+01:00"]   # happens twice
                continue
            lines.append(f"{day} {h:02d}:00")
    return lines


def test_dst_days_have_23_and_25_hours_and_hourly_data_is_complete(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "dst.csv", ["timestamp,meter,consumption_m3"]
                 + [f"{t},M-Boiler-1-NG,1" for t in dst_hours()])
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rejects == [] and report.rows_inserted == 6 * 24
    rows = {r[0]: r[1:4] for r in daily_rows(store, "M-Boiler-1-NG")}
    assert rows == {
        "2025-03-29": (24.0, 86400, 86400), "2025-03-30": (23.0, 82800, 82800),
        "2025-03-31": (24.0, 86400, 86400), "2025-10-25": (24.0, 86400, 86400),
        "2025-10-26": (25.0, 90000, 90000), "2025-10-27": (24.0, 86400, 86400)}
    for first in (date(2025, 3, 29), date(2025, 10, 25)):
        days = queries.meter_series(store, "M-Boiler-1-NG", first, first + timedelta(days=2))
        assert [d["completeness"] for d in days] == [1.0, 1.0, 1.0]
    # The hours of those days: 23 and 25 of them, each with its one reading.
    spring = queries.meter_hours(store, "M-Boiler-1-NG", date(2025, 3, 30), date(2025, 3, 30))
    autumn = queries.meter_hours(store, "M-Boiler-1-NG", date(2025, 10, 26), date(2025, 10, 26))
    assert (len(spring), len(autumn)) == (23, 25)
    assert all(h["energy"] == 1.0 and h["completeness"] == 1.0 for h in spring + autumn)


def test_daily_reading_of_a_25_hour_day_stays_in_that_day(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "daily.csv", ["date,meter,consumption_m3",
                                         "2025-10-25,M-Boiler-1-NG,24",
                                         "2025-10-26,M-Boiler-1-NG,25",
                                         "2025-10-27,M-Boiler-1-NG,24"])
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rows_inserted == 3
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 10, 25), date(2025, 10, 27))
    assert [d["energy"] for d in days] == [24.0, 25.0, 24.0]
    assert [d["completeness"] for d in days] == [1.0, 1.0, 1.0]


def test_monthly_reading_of_a_month_with_a_dst_change(store, plant, tmp_path):
    plant(store)
    path = write(tmp_path, "monthly.csv", ["date,meter,consumption_m3",
                                           "2025-03,M-Boiler-1-NG,743"])   # 743 hours
    report = ingest.import_readings(store, path, "natural_gas")
    assert report.rows_inserted == 1
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 3, 1), date(2025, 3, 31))
    assert all(d["completeness"] == 1.0 for d in days)
    assert days[29]["energy"] == pytest.approx(23.0)        # 1 m3 per hour
    assert days[30]["energy"] == pytest.approx(24.0)
    assert queries.monthly(days, "energy")[0]["energy"] == pytest.approx(743.0)


# --- missing data ------------------------------------------------------------------------------

def test_missing_hours_lower_completeness_and_missing_days_stay_none(store, plant, tmp_path):
    plant(store)
    lines = ["timestamp,meter,consumption_m3"]
    for day in range(1, 29):                               # February 2025: 28 days
        if day == 10:
            continue                                        # a day with no data at all
        hours = range(20) if day == 5 else range(24)        # 5 Feb: four hours missing
        lines += [f"2025-02-{day:02d} {h:02d}:00,M-Boiler-1-NG,2" for h in hours]
    lines += [f"2025-03-{day:02d} {h:02d}:00,M-Boiler-1-NG,2"
              for day in range(1, 32) for h in range(24)
              if not (day == 30 and h == 2)]                # March complete (23-hour day)
    report = ingest.import_readings(store, write(tmp_path, "gaps.csv", lines), "natural_gas")
    assert report.rejects == []
    days = queries.meter_series(store, "M-Boiler-1-NG", date(2025, 2, 1), date(2025, 3, 31))
    by_day = {d["day"]: d for d in days}
    assert by_day[date(2025, 2, 5)]["energy"] == pytest.approx(40.0)     # not scaled to 48
    assert by_day[date(2025, 2, 5)]["completeness"] == pytest.approx(20 / 24, abs=1e-6)
    assert by_day[date(2025, 2, 10)]["energy"] is None                    # never 0
    assert by_day[date(2025, 2, 10)]["completeness"] == 0.0
    assert by_day[date(2025, 2, 11)] == {"day": date(2025, 2, 11), "energy": 48.0,
                                         "completeness": 1.0}
    months = queries.monthly(days, "energy")
    assert months[0]["month"] == "2025-02" and months[0]["energy"] is None
    assert months[0]["completeness"] == pytest.approx((26 + 20 / 24) / 28, abs=1e-6)
    assert months[1] == {"month": "2025-03", "energy": pytest.approx(2 * 743),
                         "completeness": 1.0}
    seu = queries.seu_series(store, "Boiler-1", "natural_gas", date(2025, 2, 9), date(2025, 2, 11))
    assert [d["energy"] for d in seu] == [48.0, None, 48.0]


def test_seu_energy_sums_its_meters_and_a_day_one_meter_lacks_is_missing(store, plant, tmp_path):
    plant(store)
    catalog.add_meter(store, "M-Boiler-1-NG-2", "Boiler-1", "natural_gas")
    lines = ["timestamp,meter,consumption_m3"]
    lines += [f"2025-01-0{d} {h:02d}:00,M-Boiler-1-NG,1" for d in (1, 2) for h in range(24)]
    lines += [f"2025-01-01 {h:02d}:00,M-Boiler-1-NG-2,0.5" for h in range(24)]
    ingest.import_readings(store, write(tmp_path, "two.csv", lines), "natural_gas")
    seu = queries.seu_series(store, "Boiler-1", "natural_gas", date(2025, 1, 1), date(2025, 1, 2))
    assert seu[0]["energy"] == pytest.approx(36.0) and seu[0]["completeness"] == 1.0
    assert seu[1]["energy"] is None           # the second meter has nothing on 2 January
    # The compressor's electricity is not part of the boiler's gas SEU.
    with pytest.raises(EnmsError):
        queries.seu_series(store, "Boiler-1", "electricity", date(2025, 1, 1), date(2025, 1, 2))


# --- drivers ------------------------------------------------------------------------------------

def test_each_driver_rolls_up_by_its_own_rule(store, plant, tmp_path):
    plant(store)
    catalog.add_driver(store, "supply_temp_max_c", "C", rollup="max")
    catalog.add_driver(store, "supply_temp_min_c", "C", rollup="min")
    path = write(tmp_path, "drivers.csv", [
        "timestamp,driver,value,duration_s",
        "2025-01-08 00:00,outdoor_temp_c,10,64800",     # 18 h at 10 C
        "2025-01-08 18:00,outdoor_temp_c,30,21600",     # 6 h at 30 C
        "2025-01-08 00:00,production_count,100,43200",
        "2025-01-08 12:00,production_count,60,43200",
        "2025-01-08 00:00,supply_temp_max_c,70,43200",
        "2025-01-08 12:00,supply_temp_max_c,85,43200",
        "2025-01-08 00:00,supply_temp_min_c,70,43200",
        "2025-01-08 12:00,supply_temp_min_c,85,43200"])
    report = ingest.import_drivers(store, path)
    assert report.rejects == []

    def value(driver):
        return queries.driver_series(store, driver, date(2025, 1, 8), date(2025, 1, 8))[0]["value"]
    assert value("outdoor_temp_c") == pytest.approx(15.0)    # time-weighted, not (10+30)/2
    assert value("production_count") == pytest.approx(160.0)
    assert value("supply_temp_max_c") == 85.0
    assert value("supply_temp_min_c") == 70.0
    assert value("heating_degree_days") == pytest.approx(3.0)   # 18 - 15


def test_degree_days_come_from_the_daily_mean_temperature(store, plant, tmp_path):
    plant(store)
    catalog.add_driver(store, "hdd_15", "K d", derived_from="outdoor_temp_c",
                       derivation="hdd", base_temp_c=15.5)
    lines = ["timestamp,driver,value"]
    # 10 January: 10 C and 30 C in turn, mean 20 C. Hour by hour it would be
    # 12 h x 8 K heating = 4 K d of HDD; from the daily mean it is 0 HDD and 2 CDD.
    lines += [f"2025-01-10 {h:02d}:00,outdoor_temp_c,{10 if h % 2 else 30}" for h in range(24)]
    # 11 January: 2 C then 14 C, mean 8 C: 10 HDD (base 18), 7.5 HDD (base 15.5).
    lines += [f"2025-01-11 {h:02d}:00,outdoor_temp_c,{2 if h < 12 else 14}" for h in range(24)]
    # 12 January: no temperature at all.  13 January: 0 C.
    lines += [f"2025-01-13 {h:02d}:00,outdoor_temp_c,0" for h in range(24)]
    report = ingest.import_drivers(store, write(tmp_path, "temp.csv", lines))
    assert report.rejects == []

    def series(driver):
        return [d["value"] for d in queries.driver_series(store, driver, date(2025, 1, 10),
                                                            date(2025, 1, 13))]
    assert series("outdoor_temp_c") == pytest.approx([20.0, 8.0, None, 0.0])
    assert series("heating_degree_days") == pytest.approx([0.0, 10.0, None, 18.0])
    assert series("cooling_degree_days") == pytest.approx([2.0, 0.0, None, 0.0])
    assert series("hdd_15") == pytest.approx([0.0, 7.5, None, 15.5])
    hdd = queries.driver_series(store, "heating_degree_days", date(2025, 1, 10), date(2025, 1, 13))
    assert hdd[2]["value"] is None and hdd[2]["completeness"] == 0.0      # missing, not 0
    assert queries.monthly(hdd, "value")[0]["value"] is None

    # Degree days are kept current when the missing day arrives later.
    late = write(tmp_path, "late.csv", ["timestamp,driver,value"]
                 + [f"2025-01-12 {h:02d}:00,outdoor_temp_c,6" for h in range(24)])
    assert ingest.import_drivers(store, late).rows_inserted == 24
    assert series("heating_degree_days") == pytest.approx([0.0, 10.0, 12.0, 18.0])
    assert series("cooling_degree_days") == pytest.approx([2.0, 0.0, 0.0, 0.0])
