"""Data-quality rules on one series of interval readings: pure functions on numpy arrays.

Nothing here touches a database or a time zone; ``engine.quality`` reads the
readings, calls these functions and stores what they find.

Conventions (as in ``engine.readings``)
---------------------------------------
ts : int64 array [s]
    UTC epoch seconds of the START of each reading's interval, ascending.
duration_s : int64 array [s]
    Length of each interval; a reading covers [ts, ts + duration_s).
value : float array [unit]
    The energy consumed in the interval (meters, native unit of the source)
    or the driver's value; NaN where missing. Missing is never zero (DESIGN
    rule 5): a NaN covers no time.
day_edges : int64 array [s]
    UTC epoch of each local midnight of the scanned days plus the end of the
    last day (n_days + 1 values), so a day may last 23, 24 or 25 hours.
offset_s : int or int64 array [s]
    UTC offset of the site's time zone at each reading, for the local time of
    the week (shifts follow the local clock).

Rules and their sources
-----------------------
- completeness: seconds covered by readings with a value / seconds of the
  local day; samples received vs expected at the nominal interval.
- gaps: runs of time without a value at least one nominal interval long.
- outliers: a Hampel identifier (Hampel 1974; Pearson 2002; Davies and Gather
  1993) applied twice, on the rate value / duration so that 1-minute and
  hourly readings compare (DESIGN rule 4; levels such as temperatures on the
  value itself): against the reading's neighbours
  in time, and against the same local time of the week in the weeks around
  it. Only a reading that stands out from both is flagged, so nights,
  weekends and holidays of zero production (ordinary for their time, or
  ordinary for their neighbours) are not.
- stuck values: one non-zero value repeated over consecutive readings longer
  than chance allows for this series (the chance estimated from the series).
- negative values, and values above a known physical limit (rated power x
  interval length).
- counter resets and rollovers: a drop of the stored register value.
- order: timestamps out of order, duplicated or overlapping.
- score: the share of the day's seconds that carry a value not flagged by a
  rule, weighted by rule (``WEIGHTS``).
"""
from __future__ import annotations

import math

import numpy as np

WEEK_S = 7 * 86400
HOUR_S = 3600
MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): MAD x 1.4826 estimates sigma of normal data

# Default thresholds (justified in docs/methods.md, section 9).
HAMPEL_THRESHOLD = 6.0     # robust z above which a reading is an outlier
HAMPEL_HALF_WINDOW = 6     # neighbours on each side in time ...
HAMPEL_MIN_WINDOW_S = 3600  # ... but at least an hour on each side for short readings
HAMPEL_MAX_HALF_WINDOW = 60  # (at most 60 neighbours: 1-second data gets +-1 minute)
HAMPEL_WEEKS = 4           # weeks on each side for the same local time of week
SCALE_FLOOR_REL = 0.05     # scale never below 5 % of the reference median
MIN_REFERENCE = 3          # reference values needed to judge a reading
STUCK_MIN_REPEATS = 5      # 6 equal readings in a row at least
STUCK_FALSE_ALARMS = 0.01  # expected chance runs per scanned series
STUCK_MAX_REPEAT_SHARE = 0.5  # a series repeating more often than this is not checked
IMPOSSIBLE_MARGIN = 1.25   # rated power x 1.25 (motor efficiency >= 0.8, service factor)

# Share of a flagged reading's seconds that the day score loses.
WEIGHTS = {
    "negative": 1.0, "impossible": 1.0, "stuck": 1.0, "outlier": 1.0,
    "counter_reset": 0.5, "counter_rollover": 0.0,
}
SEVERITIES = ("low", "medium", "high")


# --- time coverage ---------------------------------------------------------------

def _cumulative_cover(start: np.ndarray, end: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Seconds covered by [start_i, end_i) before each instant t [s].

    The intervals must be sorted and must not overlap (stored readings never do).
    """
    t = np.asarray(t, dtype=np.int64)
    if len(start) == 0:
        return np.zeros(len(t), dtype=np.int64)
    total = np.concatenate([[0], np.cumsum(end - start)])
    i = np.searchsorted(start, t, side="right")       # intervals starting at or before t
    last = np.maximum(i - 1, 0)
    beyond = np.where(i > 0, np.maximum(0, end[last] - t), 0)  # part of the last one after t
    return total[i] - beyond


def covered_seconds(ts, duration_s, value, day_edges) -> np.ndarray:
    """Seconds of each day covered by readings with a value [s].

    A reading that crosses midnight counts on each side for its time there.

    Parameters
    ----------
    ts, duration_s : int arrays [s]
    value : float array [unit]; NaN covers nothing
    day_edges : int array [s], n_days + 1 values

    Returns
    -------
    int64 array of n_days covered seconds.
    """
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    start = ts[valid]
    cover = _cumulative_cover(start, start + duration_s[valid], np.asarray(day_edges))
    return np.diff(cover)


def samples_per_day(ts, value, day_edges) -> np.ndarray:
    """Readings with a value that start in each day (count)."""
    ts = np.asarray(ts, dtype=np.int64)
    valid = ~np.isnan(np.asarray(value, dtype=np.float64))
    return np.diff(np.searchsorted(ts[valid], np.asarray(day_edges, dtype=np.int64)))


def nominal_interval(duration_s, declared_s: int | None = None) -> int | None:
    """The series' nominal interval [s]: the declared one, else the most
    common reading length (the smallest among equals), None without readings."""
    if declared_s:
        return int(declared_s)
    duration_s = np.asarray(duration_s, dtype=np.int64)
    if len(duration_s) == 0:
        return None
    values, counts = np.unique(duration_s, return_counts=True)
    return int(values[np.argmax(counts)])


def completeness(ts, duration_s, value, day_edges, interval_s: int | None = None) -> dict:
    """Completeness per day.

    Returns
    -------
    dict of arrays (n_days each): ``day_s`` [s] the day's length,
    ``covered_s`` [s] seconds with a value, ``completeness`` [-] their ratio,
    ``received`` readings with a value starting that day, ``expected``
    readings expected at the nominal interval (day_s / interval_s; NaN when
    the interval is unknown).
    """
    edges = np.asarray(day_edges, dtype=np.int64)
    day_s = np.diff(edges)
    covered = covered_seconds(ts, duration_s, value, edges)
    interval = nominal_interval(duration_s, interval_s)
    expected = day_s / interval if interval else np.full(len(day_s), np.nan)
    return {"day_s": day_s, "covered_s": covered, "completeness": covered / day_s,
            "received": samples_per_day(ts, value, edges), "expected": expected}


def find_gaps(ts, duration_s, value, start: int, stop: int, min_gap_s: int = 1) -> np.ndarray:
    """Runs of time in [start, stop) without a value, at least ``min_gap_s`` long.

    Parameters
    ----------
    start, stop : int [s] the window searched
    min_gap_s : int [s] shortest gap reported (the nominal interval)

    Returns
    -------
    int64 array of shape (n_gaps, 2): gap start and end [s], half-open.
    """
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    t = ts[valid]
    ends = t + duration_s[valid]
    if len(ends):
        ends = np.maximum.accumulate(ends)  # robust to overlaps
    gap_start = np.maximum(np.concatenate([[start], ends]), start)
    gap_end = np.minimum(np.concatenate([t, [stop]]), stop)
    keep = (gap_end - gap_start) >= max(int(min_gap_s), 1)
    return np.column_stack([gap_start[keep], gap_end[keep]]).astype(np.int64)


def _prepared(ts, duration_s, value):
    ts = np.asarray(ts, dtype=np.int64)
    duration_s = np.asarray(duration_s, dtype=np.int64)
    valid = ~np.isnan(np.asarray(value, dtype=np.float64))
    return ts, duration_s, valid


# --- outliers: the Hampel identifier -------------------------------------------------

def rate_per_hour(value, duration_s) -> np.ndarray:
    """Value per hour of interval [unit/h]: readings of any length compare."""
    return np.asarray(value, dtype=np.float64) / np.asarray(duration_s, dtype=np.float64) * HOUR_S


def robust_z(x, reference, *, scale_floor=0.0, rel_floor: float = SCALE_FLOOR_REL,
             min_reference: int = MIN_REFERENCE):
    """Robust z-score of each x against its row of reference values.

    z = |x - median| / max(1.4826 MAD, rel_floor |median|, scale_floor)

    Parameters
    ----------
    x : float array (n,) [unit]
    reference : float array (n, m) [unit], NaN where a reference value is absent
    scale_floor : float or array [unit], lowest scale allowed
    rel_floor : float [-], lowest scale as a share of |median|
    min_reference : rows with fewer reference values get z = NaN

    Returns
    -------
    (z, median, scale, count) arrays of n.

    The median absolute deviation (MAD) is the robust scale of Hampel's
    identifier (Hampel 1974; Pearson 2002): x is an outlier when z exceeds a
    threshold. The floors stop a flat reference (a machine idling at a steady
    load; every value zero) from turning tiny differences into huge z.
    """
    x = np.asarray(x, dtype=np.float64)
    count = np.sum(~np.isnan(reference), axis=1)
    enough = count >= min_reference
    median = np.full(len(x), np.nan)
    mad = np.full(len(x), np.nan)
    if enough.any():
        ref = reference[enough]
        median[enough] = _row_median(ref)
        mad[enough] = _row_median(np.abs(ref - median[enough, None]))
    scale = np.maximum(np.maximum(MAD_TO_SD * mad, rel_floor * np.abs(median)), scale_floor)
    deviation = np.abs(x - median)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, deviation / scale, np.where(deviation > 0, np.inf, 0.0))
    z[~enough] = np.nan
    return z, median, scale, count


def _row_median(a: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (rows hold at least one value).

    np.nanmedian loops in Python over rows that contain NaN; sorting puts NaN
    last, so the median sits at the middle of each row's count.
    """
    ordered = np.sort(a, axis=1)
    count = np.sum(~np.isnan(a), axis=1)
    rows = np.arange(len(a))
    low = ordered[rows, np.maximum((count - 1) // 2, 0)]
    high = ordered[rows, np.maximum(count // 2, 0)]
    return np.where(count > 0, (low + high) / 2.0, np.nan)


CHUNK_ROWS = 20_000  # readings judged at once (bounds memory for 1-second data)


def _windowed_z(r, t, d, keys, half: int, include_center: bool, max_dt, *, scale_floor,
                rel_floor, min_reference):
    """Robust z of each r against the readings within ``half`` positions of it
    that share its key and lie within ``max_dt`` [s] of it (arrays sorted so
    that neighbours are adjacent)."""
    n = len(r)
    offsets = np.arange(-half, half + 1)
    if not include_center:
        offsets = offsets[offsets != 0]
    z = np.empty(n)
    median = np.empty(n)
    for lo in range(0, n, CHUNK_ROWS):
        rows = np.arange(lo, min(lo + CHUNK_ROWS, n))
        pos = rows[:, None] + offsets[None, :]
        ok = (pos >= 0) & (pos < n)
        pos = np.clip(pos, 0, n - 1)
        ok &= np.abs(t[pos] - t[rows, None]) <= np.broadcast_to(max_dt, (n,))[rows, None]
        for key in keys:
            ok &= key[pos] == key[rows, None]
        z[rows], median[rows], _, _ = robust_z(
            r[rows], np.where(ok, r[pos], np.nan), scale_floor=scale_floor,
            rel_floor=rel_floor, min_reference=min_reference)
    return z, median


def hampel_outliers(ts, duration_s, value, offset_s=0, *, threshold: float = HAMPEL_THRESHOLD,
                    half_window: int = HAMPEL_HALF_WINDOW, weeks: int = HAMPEL_WEEKS,
                    season_s: int = WEEK_S, rel_floor: float = SCALE_FLOOR_REL,
                    min_reference: int = MIN_REFERENCE,
                    min_window_s: int = HAMPEL_MIN_WINDOW_S, per_hour: bool = True) -> dict:
    """Outliers by a Hampel identifier in time and in the same local time of week.

    On the rate r = value / duration [unit/h] (amounts: energy, counts), or on
    the value itself with ``per_hour=False`` (levels: temperatures):

    - in time: z_time of r against the median and MAD of its neighbours,
      itself included (the Hampel filter, Pearson 2002): ``half_window``
      readings on each side, or as many as cover ``min_window_s`` when
      readings are short (1-minute data: +-60), at most
      HAMPEL_MAX_HALF_WINDOW; a neighbour counts if it lies within that span
      in time (a gap shortens the window);
    - like with like: z_season of r against the readings of the same length
      at the same local time of the week (``season_s``) in the ``weeks``
      weeks before and after, itself excluded.

    A reading is an outlier when z_time > threshold and z_season > threshold
    (or its season has fewer than ``min_reference`` readings). So a holiday
    (ordinary for its neighbours) or a night of zero load (ordinary for its
    time of week) is not flagged; an isolated spike is. Runs longer than
    ``half_window`` readings are never outliers for the filter in time: a
    level change is not a spike. The scale is never below ``rel_floor`` x
    |median| nor below ``rel_floor`` x the median of the series' non-zero |r|
    (levels: ``rel_floor`` x the series' 5-95 % range), so flat or all-zero
    references do not make every small difference huge.

    Parameters
    ----------
    ts, duration_s : int arrays [s]
    value : float array [unit], NaN missing (never judged, never a reference)
    offset_s : int or int array [s], UTC offset at each reading
    threshold : float [-], robust z limit (default 6; see docs/methods.md 9)
    per_hour : bool, judge value / duration (amounts) or the value (levels)

    Returns
    -------
    dict of arrays over all readings: ``outlier`` (bool), ``z_time``,
    ``z_season`` (NaN where not judged), ``median_time``, ``median_season``
    and ``rate`` [unit/h] (levels: [unit], ``rate`` is then the value).
    """
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    n_all = len(ts)
    offset_s = np.broadcast_to(np.asarray(offset_s, dtype=np.int64), (n_all,))
    out = {"outlier": np.zeros(n_all, dtype=bool),
           "rate": rate_per_hour(value, duration_s) if per_hour
           else np.asarray(value, dtype=np.float64)}
    for key in ("z_time", "z_season", "median_time", "median_season"):
        out[key] = np.full(n_all, np.nan)
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return out
    t, d = ts[idx], duration_s[idx]
    r = out["rate"][idx]
    if per_hour:
        # Amounts: 5 % of the typical non-zero rate (and of each reference median).
        nonzero = np.abs(r[r != 0])
        floor = rel_floor * float(np.median(nonzero)) if len(nonzero) else 0.0
        window_floor = rel_floor
    else:
        # Levels have no natural zero (C or K): 5 % of the series' 5-95 % range.
        low, high = np.percentile(r, [5, 95])
        floor, window_floor = rel_floor * float(high - low), 0.0

    half = int(min(max(half_window, math.ceil(min_window_s / max(int(d.min()), 1))),
                   max(half_window, HAMPEL_MAX_HALF_WINDOW)))
    span = np.maximum(half_window * d, min(min_window_s, half * int(d.min()))) + d
    z_time, med_time = _windowed_z(r, t, d, [], half, True, span, scale_floor=floor,
                                   rel_floor=window_floor, min_reference=half_window + 1)

    phase = (t + offset_s[idx]) % season_s
    order = np.lexsort((t, phase, d))
    z_o, med_o = _windowed_z(r[order], t[order], d[order], [phase[order], d[order]], weeks,
                             False, (weeks + 0.5) * season_s, scale_floor=floor,
                             rel_floor=window_floor, min_reference=min_reference)
    z_season = np.empty(len(idx))
    med_season = np.empty(len(idx))
    z_season[order], med_season[order] = z_o, med_o

    flagged = (z_time > threshold) & (np.isnan(z_season) | (z_season > threshold))
    out["outlier"][idx] = flagged
    out["z_time"][idx], out["median_time"][idx] = z_time, med_time
    out["z_season"][idx], out["median_season"][idx] = z_season, med_season
    return out


# --- stuck values ---------------------------------------------------------------------

def repeat_share(ts, duration_s, value, day_edges=None, zero_is_idle: bool = True) -> float:
    """How often a non-zero reading equals the one before it in this series [-].

    zero_is_idle: leave zeros out (amounts: zero is an idle machine); False
    for levels such as temperatures, where 0 is a value like any other.

    The median of the daily shares when ``day_edges`` are given (so a stuck
    spell of a few days does not raise it), else the share over the series.
    """
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    value = np.asarray(value, dtype=np.float64)
    pair = valid[1:] & valid[:-1] & (ts[1:] == ts[:-1] + duration_s[:-1])
    if zero_is_idle:
        pair &= (value[1:] != 0) & (value[:-1] != 0)
    equal = pair & (value[1:] == value[:-1])
    if not pair.any():
        return 0.0
    if day_edges is None:
        return float(equal.sum() / pair.sum())
    day = np.searchsorted(np.asarray(day_edges, dtype=np.int64), ts[1:], side="right") - 1
    n_days = len(day_edges) - 1
    inside = (day >= 0) & (day < n_days) & pair
    pairs = np.bincount(day[inside], minlength=n_days)
    equals = np.bincount(day[inside & equal], minlength=n_days)
    has = pairs > 0
    if not has.any():
        return float(equal.sum() / pair.sum())
    return float(np.median(equals[has] / pairs[has]))


def stuck_min_repeats(repeat_p: float, n_pairs: int, *, min_repeats: int = STUCK_MIN_REPEATS,
                      false_alarms: float = STUCK_FALSE_ALARMS) -> int | None:
    """Repeats needed before a run is called stuck; None when the series
    repeats too often to tell (share above STUCK_MAX_REPEAT_SHARE).

    With a chance p that a reading equals the one before, a run of r repeats
    occurs by chance about n p^r times in n pairs; r is raised until that is
    below ``false_alarms``.
    """
    if repeat_p > STUCK_MAX_REPEAT_SHARE:
        return None
    if repeat_p <= 0 or n_pairs <= 0:
        return min_repeats
    needed = math.log(false_alarms / n_pairs) / math.log(repeat_p)
    return max(min_repeats, int(math.ceil(needed)))


def stuck_runs(ts, duration_s, value, min_repeats: int = STUCK_MIN_REPEATS,
               zero_is_idle: bool = True) -> list[dict]:
    """Runs where one non-zero value repeats over consecutive, contiguous readings.

    A run is the readings after the first one that carry the same value as
    it: the first is the last value the meter really read. Zero is an idle
    machine, not a frozen register, and is never called stuck (unless
    ``zero_is_idle`` is False: levels such as temperatures).

    Returns
    -------
    list of dicts: ``first`` and ``last`` (indices of the first and last
    repeat), ``origin`` (index of the reading repeated), ``repeats``,
    ``value`` [unit].
    """
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    value = np.asarray(value, dtype=np.float64)
    same = valid[1:] & valid[:-1] & (value[1:] == value[:-1]) \
        & (ts[1:] == ts[:-1] + duration_s[:-1])
    if zero_is_idle:
        same &= value[1:] != 0
    runs = []
    for first, stop in _true_runs(same):
        repeats = stop - first
        if repeats >= min_repeats:
            # same[j] compares reading j + 1 with j: repeats are readings first+1 .. stop.
            runs.append({"origin": int(first), "first": int(first + 1), "last": int(stop),
                         "repeats": int(repeats), "value": float(value[first])})
    return runs


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a boolean array."""
    if len(mask) == 0:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return list(zip(change[::2].tolist(), change[1::2].tolist()))


# --- limits, counters, order ----------------------------------------------------------

def negative_values(value, lower: float = 0.0) -> np.ndarray:
    """True where a value is below ``lower`` [unit] (NaN is never flagged)."""
    value = np.asarray(value, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return value < lower


def impossible_values(value, duration_s, limit_per_hour: float | None,
                      margin: float = IMPOSSIBLE_MARGIN) -> np.ndarray:
    """True where an interval's energy exceeds what the equipment can draw.

    limit = margin x limit_per_hour [unit/h] x duration [h]; for a meter in
    kWh, limit_per_hour is the rated power [kW]. No limit known: nothing flagged.
    """
    value = np.asarray(value, dtype=np.float64)
    if not limit_per_hour:
        return np.zeros(len(value), dtype=bool)
    limit = margin * float(limit_per_hour) * np.asarray(duration_s, dtype=np.float64) / HOUR_S
    with np.errstate(invalid="ignore"):
        return value > limit


def counter_drops(ts, counter_end, counter_max: float | None = None) -> list[dict]:
    """Drops of a cumulative register between consecutive counter readings.

    A drop is a rollover when the meter declares ``counter_max`` (the import
    then adds it: exact, ``engine.ingest._counter_intervals``), else a reset
    (the import counts from zero: the interval's energy may be short).

    Returns
    -------
    list of dicts: ``index`` of the reading after the drop, ``before``,
    ``after`` [unit], ``kind`` 'counter_rollover' or 'counter_reset'.
    """
    counter_end = np.asarray(counter_end, dtype=np.float64)
    have = np.flatnonzero(~np.isnan(counter_end))
    out = []
    for prev, cur in zip(have[:-1], have[1:]):
        if counter_end[cur] < counter_end[prev]:
            out.append({"index": int(cur), "before": float(counter_end[prev]),
                        "after": float(counter_end[cur]),
                        "kind": "counter_rollover" if counter_max else "counter_reset"})
    return out


def order_problems(ts, duration_s) -> dict:
    """Indices of readings out of order, duplicated or overlapping the one before.

    Stored readings cannot have these (primary key (meter, ts), ordered reads,
    overlaps refused at import); the check is for arrays from elsewhere.
    """
    ts = np.asarray(ts, dtype=np.int64)
    duration_s = np.asarray(duration_s, dtype=np.int64)
    step = np.diff(ts)
    return {"out_of_order": np.flatnonzero(step < 0) + 1,
            "duplicate": np.flatnonzero(step == 0) + 1,
            "overlap": np.flatnonzero((step > 0) & (ts[:-1] + duration_s[:-1] > ts[1:])) + 1}


# --- scores ----------------------------------------------------------------------------

def flagged_seconds(ts, duration_s, weight, day_edges) -> np.ndarray:
    """Weighted seconds of each day covered by flagged readings [s].

    weight : float array, 0 for a clean reading, else the largest weight of
    the rules that flag it (``WEIGHTS``).
    """
    ts = np.asarray(ts, dtype=np.int64)
    duration_s = np.asarray(duration_s, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    edges = np.asarray(day_edges, dtype=np.int64)
    hit = np.flatnonzero(weight > 0)
    out = np.zeros(len(edges) - 1)
    for i in hit:  # flagged readings are few
        t0, t1 = ts[i], ts[i] + duration_s[i]
        first = max(int(np.searchsorted(edges, t0, side="right")) - 1, 0)
        last = min(int(np.searchsorted(edges, t1 - 1, side="right")) - 1, len(out) - 1)
        for k in range(first, last + 1):
            part = min(t1, edges[k + 1]) - max(t0, edges[k])
            if part > 0:
                out[k] += weight[i] * part
    return out


def day_scores(covered_s, flagged_s, day_s) -> np.ndarray:
    """Score of each day [0..1] = (covered_s - flagged_s) / day_s
    = completeness x (1 - weighted flagged share of the covered time)."""
    covered_s = np.asarray(covered_s, dtype=np.float64)
    flagged_s = np.minimum(np.asarray(flagged_s, dtype=np.float64), covered_s)
    return np.clip((covered_s - flagged_s) / np.asarray(day_s, dtype=np.float64), 0.0, 1.0)


def period_score(scores, day_s) -> float | None:
    """A period's score: the days' scores weighted by their length [0..1]."""
    scores = np.asarray(scores, dtype=np.float64)
    day_s = np.asarray(day_s, dtype=np.float64)
    if len(scores) == 0 or day_s.sum() <= 0:
        return None
    return float(np.sum(scores * day_s) / day_s.sum())


# --- estimates (never stored as readings) --------------------------------------------------

def linear_fill(ts, duration_s, value, gap_start: int, gap_end: int, interval_s: int,
                max_gap_s: int) -> dict | None:
    """Estimate a short gap by linear interpolation of the rate.

    The rate [unit/h] of the last reading before the gap and of the first
    after it are joined by a straight line in time; each missing interval of
    ``interval_s`` gets that line's value at its midpoint x its length.

    Returns
    -------
    dict with ``ts``, ``duration_s`` [s] and ``value`` [unit] arrays of the
    estimated intervals, ``rule`` 'linear', or None when the gap is longer
    than ``max_gap_s`` [s], is not a whole number of intervals, or lacks a
    reading on either side.
    """
    length = gap_end - gap_start
    if length <= 0 or length > max_gap_s or length % interval_s:
        return None
    ts, duration_s, valid = _prepared(ts, duration_s, value)
    value = np.asarray(value, dtype=np.float64)
    ends = ts + duration_s
    before = np.flatnonzero(valid & (ends == gap_start))
    after = np.flatnonzero(valid & (ts == gap_end))
    if len(before) == 0 or len(after) == 0:
        return None
    b, a = before[-1], after[0]
    t_b = ts[b] + duration_s[b] / 2.0
    t_a = ts[a] + duration_s[a] / 2.0
    r_b = value[b] / duration_s[b] * HOUR_S
    r_a = value[a] / duration_s[a] * HOUR_S
    starts = np.arange(gap_start, gap_end, interval_s, dtype=np.int64)
    mid = starts + interval_s / 2.0
    rate = r_b + (r_a - r_b) * (mid - t_b) / (t_a - t_b)
    return {"ts": starts, "duration_s": np.full(len(starts), interval_s, dtype=np.int64),
            "value": rate * interval_s / HOUR_S, "rule": "linear"}
