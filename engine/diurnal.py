"""Within-day profiles of the baseline period: how much of a day's energy, of a
summed driver and of a mean driver's day is known by a clock hour.

Pure functions on numpy arrays of reference days (rows) by local clock hour
(24 columns), for the live check of today so far (``engine.realtime``,
docs/methods.md section 14). The method is our own: ISO 50006's
normalisation of the baseline to the part of the day, with the part-day
shares and the diurnal curve of a mean driver taken from the baseline days
most like today (the same weekday and, for a weather-driven model, the
nearest temperature so far), and their day-to-day spread over those days as
the uncertainty of the estimate.
"""
from __future__ import annotations

import numpy as np

from .localtime import DAY_S, day_from_number, day_length_s, local_offsets, offset_segments

HOUR_S = 3600


def day_matrix(tz: str, hour_ts, value, covered_s, start: int, end: int):
    """Hourly aggregates over [start, end) as local days by clock hour.

    Parameters
    ----------
    tz : the site's IANA time zone.
    hour_ts : UTC hour starts [s] (``rollups.hourly``'s ``hour_ts``).
    value : the hour's aggregate [unit]; NaN when missing.
    covered_s : seconds of the hour with data [s].
    start, end : local-midnight bounds [s] of the days read.

    Returns
    -------
    (day numbers [days since 1970-01-01], values [days, 24]): NaN for an
    hour not wholly covered; days of another length than 24 h (clock
    changes) are left out, their clock hours do not line up with others'.
    """
    hour_ts = np.asarray(hour_ts, dtype=np.int64)
    value, covered_s = np.asarray(value, dtype=float), np.asarray(covered_s, dtype=float)
    segments = offset_segments(tz, start, end)
    local = hour_ts + local_offsets(segments, hour_ts)
    day, hour = local // DAY_S, (local % DAY_S) // HOUR_S
    first = (start + local_offsets(segments, np.array([start]))[0]) // DAY_S
    last = (end - 1 + local_offsets(segments, np.array([end - 1]))[0]) // DAY_S
    days = np.arange(first, last + 1)
    days = days[[day_length_s(tz, day_from_number(d)) == DAY_S for d in days]]
    out = np.full((len(days), 24), np.nan)
    keep = np.isin(day, days) & (covered_s >= HOUR_S)
    out[np.searchsorted(days, day[keep]), hour[keep]] = value[keep]
    return days, out


def nearest(key_today: float, keys, count: int) -> np.ndarray:
    """Indices [-] of the ``count`` keys nearest ``key_today`` (earliest first on ties)."""
    return np.argsort(np.abs(np.asarray(keys, dtype=float) - key_today), kind="stable")[:count]


def day_of_year_distance(day_numbers, day_number: int) -> np.ndarray:
    """Days [d] between the times of year of ``day_numbers`` and ``day_number``
    [days since 1970-01-01], the year around (31 December and 1 January are
    about one day apart; a mean year of 365.25 days)."""
    gap = np.abs(np.asarray(day_numbers, dtype=float) - day_number) % 365.25
    return np.minimum(gap, 365.25 - gap)


def sum_share(days, hours: int) -> tuple[float, float]:
    """The share [-] of a summed quantity (energy, production) that the
    reference days had in their first ``hours`` clock hours: the ratio of the
    sums over the days (a day weighs by its total), and the standard
    deviation [-] of the days' own shares (days with a zero total left out;
    NaN from fewer than two)."""
    days = np.asarray(days, dtype=float)
    so_far, total = days[:, :hours].sum(axis=1), days.sum(axis=1)
    share = so_far.sum() / total.sum() if total.sum() > 0 else np.nan
    own = so_far[total > 0] / total[total > 0]
    return float(share), float(np.std(own, ddof=1)) if len(own) > 1 else np.nan


def mean_estimate(mean_so_far: float, days, hours: int) -> tuple[float, float]:
    """A mean driver's whole-day mean [unit] from its mean over the first
    ``hours`` clock hours, corrected by the reference days' diurnal curve
    (mean departure of each clock hour from its day's mean: nights are
    colder than the day), and the root-mean-square error [unit] of the same
    estimate on the reference days themselves.

    >>> days = np.tile(np.cos(2 * np.pi * (np.arange(24) - 15) / 24), (3, 1)) + [[0], [5], [10]]
    >>> estimate, error = mean_estimate(days[0, :10].mean(), days, 10)
    >>> round(estimate, 9), round(error, 9)
    (0.0, 0.0)
    """
    days = np.asarray(days, dtype=float)
    curve = (days - days.mean(axis=1, keepdims=True)).mean(axis=0)
    shift = curve[:hours].mean()
    errors = days[:, :hours].mean(axis=1) - shift - days.mean(axis=1)
    return float(mean_so_far - shift), float(np.sqrt(np.mean(errors ** 2)))
