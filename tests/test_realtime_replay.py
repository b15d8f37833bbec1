"""Today so far against the baseline for weather-driven SEUs (engine.realtime,
engine.diurnal): the demo factory's reporting period replayed day by day at
10:00, 14:00 and 20:00 local, compared with the same check at the day's end."""
from datetime import date, timedelta

import numpy as np
import pytest

from conftest import demo_database
from engine import diurnal, realtime
from engine.demo_plant import DEGRADATION, SITE_NAME
from engine.localtime import day_bounds, day_number

TZ = "Europe/Berlin"
NORTH, MAIN = "HVAC-EU-North electricity", "HVAC-Main electricity"
LOOKS = (10, 14, 20)


@pytest.fixture(scope="module", params=["sqlite"])
def demo(request, tmp_path_factory):
    with demo_database(request, tmp_path_factory, trained=True) as (store, _, _):
        yield store


def replay(store, first: date, last: date, every: int) -> tuple[dict, dict]:
    """Every ``every``-th day of [first, last]: SEU -> {day: (local hour, alert
    condition)} of the live check at LOOKS (the day's first) and of the check
    at the day's end (hour 24)."""
    live, day_end = {}, {}
    monitor, at_end = realtime.Monitor([]), realtime.Monitor([])
    day = first
    while day <= last:
        start, end = day_bounds(TZ, day)
        for hour in LOOKS:
            for c in monitor.site_today(store, SITE_NAME, TZ, day, start, start + hour * 3600):
                live.setdefault(c["subject"], {}).setdefault(day, (hour, c))
        for c in at_end.site_today(store, SITE_NAME, TZ, day, start, end):
            day_end.setdefault(c["subject"], {})[day] = (24, c)
        day += timedelta(days=every)
    return live, day_end


def test_mean_estimate_removes_the_night_and_says_its_error():
    hour = np.arange(24)
    curve = 4.0 * np.cos(2 * np.pi * (hour - 15) / 24)       # coldest at 03:00
    days = curve + np.array([[2.0], [8.0], [14.0]])           # three day means [C]
    today = curve + 5.0
    mean_so_far = today[:10].mean()                          # midnight to 10:00
    assert mean_so_far < 5.0 - 2.0                           # the morning is colder than the day
    estimate, error = diurnal.mean_estimate(mean_so_far, days, 10)
    assert estimate == pytest.approx(5.0) and error == pytest.approx(0.0, abs=1e-12)
    # reference days whose curves differ (a mild morning) say how far off it may be
    mild = days.copy()
    mild[0, :10] += 3.0
    assert diurnal.mean_estimate(mean_so_far, mild, 10)[1] > 0.5


def test_sum_share_is_a_ratio_of_sums_with_the_days_spread():
    days = np.zeros((2, 24))
    days[0, 6:22] = 1.0          # a two-shift day: 16 h
    days[1, 6:14] = 2.0          # a one-shift day: 8 h, the same total
    share, sd = diurnal.sum_share(days, 10)
    assert share == pytest.approx((4 + 8) / 32) and sd == pytest.approx(np.std([0.25, 0.5],
                                                                              ddof=1))
    assert np.isnan(diurnal.sum_share(np.zeros((3, 24)), 10)[0])   # nothing to carry


def test_day_of_year_distance_wraps_the_year():
    new_year = day_number(date(2025, 1, 1))
    assert diurnal.day_of_year_distance([day_number(date(2024, 12, 31))], new_year)[0] < 1.5
    assert diurnal.day_of_year_distance([day_number(date(2024, 7, 2))], new_year)[0] > 180


@pytest.fixture(scope="module")
def replayed(demo):
    """Every third day of the reporting period (101 days), looked at live and at the end."""
    return replay(demo, date(2025, 1, 1), date(2025, 10, 31), 3)


def test_weather_driven_seus_are_checked_live_without_more_false_alerts(replayed):
    # No effect is injected on HVAC-Main, nor on HVAC-EU-North before its coils
    # foul: every alert there is false. Three live looks a day may raise no more
    # of them than the check of the same days at their end.
    live, day_end = replayed
    clean = {MAIN: date(2025, 10, 31), NORTH: DEGRADATION["start"] - timedelta(days=1)}
    counts = {seu: tuple(len([d for d in found.get(seu, {}) if d <= last])
                         for found in (live, day_end)) for seu, last in clean.items()}
    assert all(n_live <= n_end for n_live, n_end in counts.values()), counts
    # a live alert says what it compared: an expectation inside its own interval,
    # from the full number of reference days
    for seu in clean:
        for _, c in live.get(seu, {}).values():
            ev = c["evidence"]
            assert ev["reference_days"] == realtime.REFERENCE_DAYS
            assert ev["lower"] < ev["expected"] < ev["upper"] and 0 < ev["share_of_day"] < 1


def test_heat_pump_fouling_is_seen_live_once_it_is_large(replayed):
    # September-October: the coils' fouling adds 7 to 12 % to the day's energy
    # (about +30 to +55 kWh, near the half-width of one day's 95 % interval).
    live, day_end = replayed
    seen = {d: x for d, x in live.get(NORTH, {}).items() if d >= date(2025, 9, 1)}
    at_end = {d for d in day_end.get(NORTH, {}) if d >= date(2025, 9, 1)}
    assert len(seen) >= 4, seen.keys()
    assert all(c["severity"] == "warning" for _, c in seen.values())   # above the baseline
    assert set(seen) <= at_end           # days the day's end confirms ...
    assert min(hour for hour, _ in seen.values()) <= 14               # ... some by 14:00
