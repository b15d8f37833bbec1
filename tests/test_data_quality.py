"""Data-quality rules on synthetic series: each rule finds what it should and stays
quiet on clean data, including nights and weekends of zero load and DST days.

Pure functions only (engine.data_quality); no database.
"""
from datetime import date, timedelta

import numpy as np
import pytest

from engine import data_quality as dq
from engine.localtime import day_bounds, local_offsets, offset_segments

TZ = "Europe/Berlin"
H = 3600


def day_edges(first: date, n_days: int) -> np.ndarray:
    days = [first + timedelta(days=i) for i in range(n_days)]
    return np.array([day_bounds(TZ, d)[0] for d in days] + [day_bounds(TZ, days[-1])[1]],
                    dtype=np.int64)


def hourly(first: date, n_days: int):
    """Hourly UTC grid over whole local days: ts, duration_s, offsets, local hour, weekday."""
    edges = day_edges(first, n_days)
    ts = np.arange(edges[0], edges[-1], H, dtype=np.int64)
    offsets = local_offsets(offset_segments(TZ, int(ts[0]), int(ts[-1]) + 1), ts)
    local = ts + offsets
    hour = (local // H) % 24
    weekday = ((local // 86400) + 3) % 7          # 1970-01-01 was a Thursday; 0 = Monday
    return ts, np.full(len(ts), H, dtype=np.int64), offsets, hour, weekday, edges


def plant_load(seed: int = 1, first: date = date(2025, 3, 3), n_days: int = 56,
               holidays=(date(2025, 4, 18), date(2025, 4, 21))):
    """Two shifts 06-22 on weekdays, nothing (exact zero) at night, on weekends and
    holidays; 50 kWh/h +- 3 % when running. Spans the spring DST change."""
    ts, dur, offsets, hour, weekday, edges = hourly(first, n_days)
    rng = np.random.default_rng(seed)
    local_day = np.searchsorted(edges, ts, side="right") - 1
    day_dates = np.array([first + timedelta(days=int(k)) for k in local_day])
    running = (weekday < 5) & (hour >= 6) & (hour < 22) & ~np.isin(day_dates, holidays)
    value = np.where(running, 50.0 * (1 + rng.normal(0, 0.03, len(ts))), 0.0)
    return ts, dur, value, offsets, edges


# --- completeness and gaps ------------------------------------------------------------

def test_completeness_counts_seconds_of_real_local_days():
    # 2025-03-30 (23 h) and 2025-10-26 (25 h) in Berlin, each with its full hourly rows.
    for day, hours in ((date(2025, 3, 30), 23), (date(2025, 10, 26), 25), (date(2025, 1, 7), 24)):
        ts, dur, _, _, _, edges = hourly(day, 1)
        assert len(ts) == hours
        comp = dq.completeness(ts, dur, np.ones(hours), edges, interval_s=H)
        assert comp["day_s"][0] == hours * H
        assert comp["completeness"][0] == 1.0
        assert comp["received"][0] == comp["expected"][0] == hours


def test_missing_values_cover_nothing_and_midnight_crossing_readings_split():
    edges = day_edges(date(2025, 1, 7), 2)
    # A 2-hour reading from 23:00 to 01:00 local, then one NaN hour.
    ts = np.array([edges[1] - H, edges[1] + H], dtype=np.int64)
    dur = np.array([2 * H, H], dtype=np.int64)
    comp = dq.completeness(ts, dur, np.array([4.0, np.nan]), edges, interval_s=H)
    assert comp["covered_s"].tolist() == [H, H]
    assert comp["received"].tolist() == [1, 0]


def test_completeness_does_not_depend_on_resolution():
    edges = day_edges(date(2025, 1, 7), 1)
    for step in (60, 900, H):
        ts = np.arange(edges[0], edges[1], step, dtype=np.int64)
        value = np.ones(len(ts))
        value[: 2 * H // step] = np.nan           # the first two hours missing
        comp = dq.completeness(ts, np.full(len(ts), step), value, edges, interval_s=step)
        assert comp["completeness"][0] == pytest.approx(22 / 24)
        assert comp["expected"][0] == 86400 / step


def test_gaps_found_with_their_bounds_and_none_on_clean_data():
    ts, dur, value, _, edges = plant_load()
    assert len(dq.find_gaps(ts, dur, value, edges[0], edges[-1], H)) == 0
    holed = value.copy()
    holed[100:124] = np.nan                       # one day of NaN ...
    keep = np.ones(len(ts), dtype=bool)
    keep[500:503] = False                          # ... and three absent rows
    gaps = dq.find_gaps(ts[keep], dur[keep], holed[keep], edges[0], edges[-1], H)
    assert gaps.tolist() == [[ts[100], ts[124]], [ts[500], ts[503]]]
    # The window's edges count: nothing before the first reading is a gap too.
    assert dq.find_gaps(ts[5:], dur[5:], value[5:], edges[0], edges[-1], H).tolist() == [
        [edges[0], ts[5]]]
    # Shorter than the nominal interval: not reported.
    assert len(dq.find_gaps(ts[keep], dur[keep], holed[keep], edges[0], edges[-1], 4 * H)) == 1


def test_nominal_interval_declared_or_most_common():
    assert dq.nominal_interval(np.array([60, 60, 3600]), None) == 60
    assert dq.nominal_interval(np.array([60, 60, 3600]), 900) == 900
    assert dq.nominal_interval(np.array([], dtype=np.int64), None) is None


# --- outliers ---------------------------------------------------------------------------

def test_hampel_quiet_on_clean_load_with_zero_nights_weekends_holidays_and_dst():
    for seed in range(5):
        ts, dur, value, offsets, _ = plant_load(seed)
        found = dq.hampel_outliers(ts, dur, value, offsets)
        assert not found["outlier"].any(), ts[found["outlier"]]


def test_hampel_finds_spikes_by_day_and_by_night():
    ts, dur, value, offsets, _ = plant_load()
    hour = ((ts + offsets) // H) % 24
    weekday = (((ts + offsets) // 86400) + 3) % 7
    day_spike = np.flatnonzero((hour == 10) & (weekday == 2))[3]     # a Wednesday 10:00
    night_spike = np.flatnonzero((hour == 3) & (weekday == 5))[2]    # a Saturday 03:00
    spiked = value.copy()
    spiked[day_spike] *= 6
    spiked[night_spike] = 40.0
    found = dq.hampel_outliers(ts, dur, spiked, offsets)
    assert np.flatnonzero(found["outlier"]).tolist() == sorted([day_spike, night_spike])
    assert found["z_time"][day_spike] > 20 and found["z_season"][day_spike] > 20
    assert found["median_time"][day_spike] == pytest.approx(50, rel=0.05)


def test_hampel_leaves_level_changes_and_extra_shifts_alone():
    ts, dur, value, offsets, _ = plant_load()
    hour = ((ts + offsets) // H) % 24
    changed = value.copy()
    # A Saturday shift 06-14 (8 hours of load where the weeks around have none) ...
    saturday = np.flatnonzero((((ts + offsets) // 86400 + 3) % 7 == 5) & (hour >= 6) & (hour < 14))
    changed[saturday[8:16]] = 50.0
    # ... and the load stepping up by 20 % for the last three weeks.
    changed[-21 * 24:] *= 1.2
    assert not dq.hampel_outliers(ts, dur, changed, offsets)["outlier"].any()


def test_hampel_compares_minute_and_hourly_readings_by_rate():
    # One week of 1-minute readings between hourly weeks: same load per hour.
    ts, dur, value, offsets, _ = plant_load(n_days=35)
    week = (ts >= ts[0] + 14 * 86400) & (ts < ts[0] + 21 * 86400)
    rng = np.random.default_rng(3)
    minute_ts = (ts[week][:, None] + 60 * np.arange(60)).ravel()
    weights = rng.lognormal(0, 0.1, (week.sum(), 60))
    weights /= weights.sum(axis=1, keepdims=True)
    minute_value = (value[week][:, None] * weights).ravel()
    all_ts = np.concatenate([ts[~week], minute_ts])
    order = np.argsort(all_ts)
    all_ts = all_ts[order]
    all_dur = np.concatenate([dur[~week], np.full(len(minute_ts), 60)])[order]
    all_value = np.concatenate([value[~week], minute_value])[order]
    all_offsets = local_offsets(offset_segments(TZ, int(all_ts[0]), int(all_ts[-1]) + 1), all_ts)
    assert not dq.hampel_outliers(all_ts, all_dur, all_value, all_offsets)["outlier"].any()
    spike = np.flatnonzero((all_dur == 60) & (all_value > 0.5))[1000]
    all_value[spike] *= 8
    found = dq.hampel_outliers(all_ts, all_dur, all_value, all_offsets)
    assert np.flatnonzero(found["outlier"]).tolist() == [spike]


def test_levels_are_judged_as_values_not_per_hour():
    # An outdoor temperature: hourly for three weeks, then 15-minute readings.
    ts, dur, offsets, hour, _, _ = hourly(date(2025, 1, 6), 35)
    rng = np.random.default_rng(4)
    temp = 2 + 4 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 0.3, len(ts))
    late = ts >= ts[0] + 21 * 86400
    q_ts = (ts[late][:, None] + 900 * np.arange(4)).ravel()
    all_ts = np.concatenate([ts[~late], q_ts])
    all_dur = np.concatenate([dur[~late], np.full(len(q_ts), 900)])
    all_temp = np.concatenate([temp[~late], np.repeat(temp[late], 4)
                               + rng.normal(0, 0.1, len(q_ts))])
    all_off = local_offsets(offset_segments(TZ, int(all_ts[0]), int(all_ts[-1]) + 1), all_ts)
    assert not dq.hampel_outliers(all_ts, all_dur, all_temp, all_off, per_hour=False)["outlier"].any()
    glitch = len(all_ts) - 200
    all_temp[glitch] = 45.0
    found = dq.hampel_outliers(all_ts, all_dur, all_temp, all_off, per_hour=False)
    assert np.flatnonzero(found["outlier"]).tolist() == [glitch]
    # A thermometer frozen at 0.0 C is stuck; an idle machine at 0 kWh is not.
    frozen = np.zeros(10)
    frozen[:3] = [1.5, 0.7, 0.2]
    t10 = np.arange(10, dtype=np.int64) * H
    assert dq.stuck_runs(t10, np.full(10, H), frozen, 5) == []
    assert dq.stuck_runs(t10, np.full(10, H), frozen, 5, zero_is_idle=False)[0]["repeats"] == 6


def test_hampel_ignores_missing_values():
    ts, dur, value, offsets, _ = plant_load()
    value[200:260] = np.nan
    found = dq.hampel_outliers(ts, dur, value, offsets)
    assert not found["outlier"].any()
    assert np.isnan(found["z_time"][200:260]).all()


def test_robust_z_floors_keep_flat_references_finite():
    z, median, scale, count = dq.robust_z(np.array([0.0, 0.5, 10.0]), np.zeros((3, 7)),
                                          scale_floor=2.5)
    assert median.tolist() == [0, 0, 0] and scale.tolist() == [2.5] * 3
    assert z.tolist() == [0.0, 0.2, 4.0]
    z, *_ = dq.robust_z(np.array([1.0]), np.array([[1.0, np.nan, np.nan]]))
    assert np.isnan(z[0])                         # too few reference values to judge


# --- stuck values ----------------------------------------------------------------------------

def test_stuck_run_found_from_the_first_repeat():
    ts, dur, value, _, edges = plant_load()
    stuck = value.copy()
    start = int(np.flatnonzero(value > 0)[200])          # a running hour
    stuck[start + 1:start + 73] = stuck[start]           # 72 repeats of the last good value
    # The chance of a repeat is the median of the daily shares: the stuck days
    # themselves do not make the series look repetitive.
    p = dq.repeat_share(ts, dur, stuck, edges)
    assert p == 0.0 and dq.repeat_share(ts, dur, stuck) > 0.05
    needed = dq.stuck_min_repeats(p, len(ts) - 1)
    assert needed == dq.STUCK_MIN_REPEATS
    runs = dq.stuck_runs(ts, dur, stuck, needed)
    assert runs == [{"origin": start, "first": start + 1, "last": start + 72, "repeats": 72,
                     "value": stuck[start]}]


def test_zero_runs_and_clean_data_are_not_stuck():
    ts, dur, value, _, _ = plant_load()
    assert dq.stuck_runs(ts, dur, value) == []        # 60-hour weekend zeros included


def test_stuck_needs_contiguous_readings():
    ts = np.array([0, 3600, 7200, 14400, 18000, 21600, 25200], dtype=np.int64)
    dur = np.full(7, 3600)
    value = np.full(7, 5.0)
    assert dq.stuck_runs(ts, dur, value, 3) == [
        {"origin": 3, "first": 4, "last": 6, "repeats": 3, "value": 5.0}]


def test_a_series_that_repeats_by_nature_is_not_checked():
    # 0/1 operating hours or a coarse register: most readings equal the one before.
    value = np.array(([1.0] * 16 + [0.0] * 8) * 30)
    ts = np.arange(len(value), dtype=np.int64) * H
    p = dq.repeat_share(ts, np.full(len(ts), H), value)
    assert p == 1.0 and dq.stuck_min_repeats(p, len(ts)) is None
    # A quantised meter repeating now and then needs longer runs.
    assert dq.stuck_min_repeats(0.2, 700) == 7         # 700 x 0.2^7 = 0.009 < 0.01
    assert dq.stuck_min_repeats(0.0, 700) == dq.STUCK_MIN_REPEATS


# --- limits, counters, order ------------------------------------------------------------------

def test_negative_and_impossible_values():
    value = np.array([1.0, -0.5, np.nan, 70.0, 68.0])
    dur = np.array([3600, 3600, 3600, 3600, 1800])
    assert dq.negative_values(value).tolist() == [False, True, False, False, False]
    # 55 kW for an hour at most 68.75 kWh; for half an hour 34.4.
    assert dq.impossible_values(value, dur, 55.0).tolist() == [False, False, False, True, True]
    assert not dq.impossible_values(value, dur, None).any()
    ts, dur, clean, _, _ = plant_load()
    assert not dq.negative_values(clean).any()
    assert not dq.impossible_values(clean, dur, 55.0).any()


def test_counter_drops_are_resets_or_rollovers():
    ts = np.arange(5, dtype=np.int64) * H
    counter = np.array([990.0, 995.0, 3.0, np.nan, 8.0])
    assert dq.counter_drops(ts, counter) == [
        {"index": 2, "before": 995.0, "after": 3.0, "kind": "counter_reset"}]
    assert dq.counter_drops(ts, counter, 1000.0)[0]["kind"] == "counter_rollover"
    assert dq.counter_drops(ts, np.array([1.0, 2.0, 2.0, 5.0, 9.0])) == []


def test_order_problems():
    ts = np.array([0, 3600, 3600, 5400, 1800, 9000], dtype=np.int64)
    dur = np.full(6, 3600)
    found = dq.order_problems(ts, dur)
    assert found["duplicate"].tolist() == [2]
    assert found["overlap"].tolist() == [3]            # 5400 starts inside 3600..7200
    assert found["out_of_order"].tolist() == [4]
    clean = dq.order_problems(np.arange(10, dtype=np.int64) * H, np.full(10, H))
    assert all(len(v) == 0 for v in clean.values())


# --- scores --------------------------------------------------------------------------------------

def test_day_score_is_completeness_times_unflagged_share():
    edges = day_edges(date(2025, 1, 7), 2)
    ts = np.arange(edges[0], edges[-1], H, dtype=np.int64)
    dur = np.full(len(ts), H)
    value = np.ones(len(ts))
    value[:6] = np.nan                                   # day 1: 18 of 24 hours
    weight = np.zeros(len(ts))
    weight[10] = dq.WEIGHTS["outlier"]                  # one flagged hour on day 1
    weight[30] = dq.WEIGHTS["counter_reset"]            # half a flagged hour on day 2
    comp = dq.completeness(ts, dur, value, edges, H)
    flagged = dq.flagged_seconds(ts, dur, weight, edges)
    assert flagged.tolist() == [3600, 1800]
    scores = dq.day_scores(comp["covered_s"], flagged, comp["day_s"])
    assert scores == pytest.approx([17 / 24, 1 - 0.5 / 24])
    assert scores[0] == pytest.approx(comp["completeness"][0] * (1 - 1 / 18))
    assert dq.period_score(scores, comp["day_s"]) == pytest.approx((17 + 23.5) / 48)


def test_flagged_reading_across_midnight_counts_on_both_days():
    edges = day_edges(date(2025, 1, 7), 2)
    flagged = dq.flagged_seconds(np.array([edges[1] - 1800]), np.array([3600]), np.array([1.0]),
                                 edges)
    assert flagged.tolist() == [1800, 1800]


def test_period_score_weights_days_by_length():
    # The 23-hour DST day weighs less than a 24-hour one.
    assert dq.period_score([0.0, 1.0], [82800, 86400]) == pytest.approx(86400 / 169200)
    assert dq.period_score([], []) is None


# --- estimates -------------------------------------------------------------------------------------

def test_linear_fill_of_a_short_gap_on_a_ramp_is_exact():
    ts = np.arange(10, dtype=np.int64) * H
    dur = np.full(10, H)
    value = 10.0 + 2.0 * np.arange(10)                    # rate rising 2 kWh/h per hour
    keep = np.ones(10, dtype=bool)
    keep[4:7] = False
    fill = dq.linear_fill(ts[keep], dur[keep], value[keep], 4 * H, 7 * H, H, 3 * H)
    assert fill["rule"] == "linear"
    assert fill["ts"].tolist() == [4 * H, 5 * H, 6 * H]
    assert fill["value"] == pytest.approx(value[4:7])
    assert dq.linear_fill(ts[keep], dur[keep], value[keep], 4 * H, 7 * H, H, 2 * H) is None
    assert dq.linear_fill(ts[5:], dur[5:], value[5:], 0, 5 * H, H, 6 * H) is None  # nothing before
