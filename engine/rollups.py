"""Daily rollups of meters and drivers, kept current at import.

A reading covers [ts, ts + duration_s). Energy is integrated per interval:
a day's energy is the sum of the readings inside it, and a reading that
crosses midnight is split in proportion to the time on each side, so 1-second
and hourly readings of the same energy give the same daily total
(DESIGN rule 4). ``covered_s`` counts the seconds that carry a value;
completeness = covered_s / day_s. Nothing received means NULL, never 0.

Drivers roll up by their own rule (DESIGN rule 3): sum (production), mean
(time-weighted, for temperatures), min or max. Degree days derive from the
daily mean outdoor air temperature (DESIGN rule 6):
HDD = max(0, base - Tmean), CDD = max(0, Tmean - base).
"""
from collections import defaultdict
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import sqlalchemy as sa

from . import degree_days, schema as s
from .localtime import (DAY_S, day_bounds, day_from_number, day_number, local_offsets,
                        offset_segments, offset_sql)

# Rows that cross a day boundary may start up to this long before the window.
LONGEST_READING_S = 45 * DAY_S


class DayBins:
    """Local calendar days of a time zone, numbered from 1970-01-01."""
    length_s = DAY_S

    def __init__(self, tz: str, window: tuple[int, int]):
        self.tz = tz
        self.segments = offset_segments(tz, window[0] - LONGEST_READING_S, window[1])

    def sql(self) -> str:
        return f"((ts + {offset_sql(self.segments)}) / {DAY_S})"

    def index(self, ts: np.ndarray) -> np.ndarray:
        return (ts + local_offsets(self.segments, ts)) // DAY_S

    def bounds(self, number: int) -> tuple[int, int]:
        return _day_bounds(self.tz, number)


class HourBins:
    """UTC hours, numbered from the epoch (local hours repeat when clocks go back)."""
    length_s = 3600

    def sql(self) -> str:
        return "(ts / 3600)"

    def index(self, ts: np.ndarray) -> np.ndarray:
        return ts // 3600

    def bounds(self, number: int) -> tuple[int, int]:
        return number * 3600, (number + 1) * 3600


@lru_cache(maxsize=8192)
def _day_bounds(tz: str, number: int) -> tuple[int, int]:
    return day_bounds(tz, day_from_number(number))


class _Accumulator:
    """Per (key, bin): value, covered seconds, samples, for one roll-up rule."""

    def __init__(self, rule: str):
        self.rule = rule
        self.cells = defaultdict(lambda: [None, 0, 0])

    def add(self, key, number: int, value, covered_s: int, samples: int) -> None:
        cell = self.cells[(key, number)]
        if value is not None:
            if cell[0] is None:
                cell[0] = value
            elif self.rule in ("sum", "mean"):
                cell[0] += value
            else:
                cell[0] = min(cell[0], value) if self.rule == "min" else max(cell[0], value)
        cell[1] += covered_s
        cell[2] += samples

    def remove(self, key, number: int, duration_s: int, value) -> None:
        """Take a reading out of the bin it starts in; ``_split`` adds its parts back."""
        if value is None:
            return
        cell = self.cells[(key, number)]
        cell[1] -= duration_s
        cell[2] -= 1
        if self.rule in ("sum", "mean"):  # min and max keep the reading's own part
            cell[0] -= value if self.rule == "sum" else value * duration_s

    def finished(self, number_range: tuple[int, int]):
        """(key, bin, value, covered_s, samples) inside the range; means divided out."""
        lo, hi = number_range
        for (key, number), (value, covered, samples) in self.cells.items():
            if lo <= number <= hi:
                if self.rule == "mean" and value is not None:
                    value = value / covered if covered else None
                yield key, number, value, covered, samples


def _aggregate(conn, table, key_col, value_col, keys, rule, bins, window) -> _Accumulator:
    """Aggregate readings of ``keys`` into ``bins`` within ``window`` (UTC s).

    One pass in SQL groups every reading by the bin it starts in; the few
    readings that run past their bin's end (seen from the group's latest end)
    are then taken out and split by time over the bins they cover.
    """
    start, end = window
    value, key, duration = table.c[value_col], table.c[key_col], table.c.duration_s
    number = sa.literal_column(bins.sql())
    measure = {
        "sum": sa.func.sum(value),
        "mean": sa.func.sum(value * duration),  # divided by covered seconds at the end
        "min": sa.func.min(value),
        "max": sa.func.max(value),
    }[rule]
    acc = _Accumulator(rule)
    query = (sa.select(key, number, measure, sa.func.sum(duration).filter(value.is_not(None)),
                       sa.func.count(value), sa.func.max(table.c.ts + duration))
             .where(key.in_(keys), table.c.ts >= start, table.c.ts < end)
             .group_by(key, number))
    overrun = []
    for k, n, agg, covered, samples, last_end in conn.execute(query):
        acc.add(k, int(n), agg, int(covered or 0), int(samples))
        if last_end > bins.bounds(int(n))[1]:
            overrun.append((k, int(n)))
    crossing = []
    for k, n in overrun:
        bin_start, bin_end = bins.bounds(n)
        rows = conn.execute(sa.select(key, table.c.ts, duration, value).where(
            key == k, table.c.ts >= bin_start, table.c.ts < bin_end,
            table.c.ts + duration > bin_end)).all()
        for row in rows:
            acc.remove(k, n, row[2], row[3])
        crossing += rows
    # Readings that start before the window and run into it.
    crossing += conn.execute(sa.select(key, table.c.ts, duration, value).where(
        key.in_(keys), table.c.ts >= start - LONGEST_READING_S, table.c.ts < start,
        table.c.ts + duration > start)).all()
    _split(acc, crossing, bins)
    return acc


def _split(acc: _Accumulator, rows, bins) -> None:
    """Add readings to every bin they cover, in proportion to the time in each."""
    for k, t0, duration, v in rows:
        if v is None:
            continue
        t1 = t0 + duration
        first, last = bins.index(np.array([t0, t1 - 1], dtype=np.int64))
        for n in range(int(first), int(last) + 1):
            bin_start, bin_end = bins.bounds(n)
            part = min(t1, bin_end) - max(t0, bin_start)
            share = v * part / duration if acc.rule == "sum" else v * part if acc.rule == "mean" else v
            acc.add(k, n, share, int(part), 1)


def _day_window(tz: str, first: date, last: date) -> tuple[int, int]:
    return day_bounds(tz, first)[0], day_bounds(tz, last)[1]


def _daily(conn, table, key_col, value_col, keys, rule, tz, first, last, target, target_value):
    """Recompute one daily rollup table for ``keys`` over local days first..last."""
    window = _day_window(tz, first, last)
    acc = _aggregate(conn, table, key_col, value_col, keys, rule, DayBins(tz, window), window)
    conn.execute(target.delete().where(target.c[key_col].in_(keys),
                                       target.c.day >= first, target.c.day <= last))
    rows = []
    for k, number, value, covered, samples in acc.finished((day_number(first), day_number(last))):
        day_start, day_end = _day_bounds(tz, number)
        rows.append({key_col: k, "day": day_from_number(number), target_value: value,
                     "covered_s": covered, "day_s": day_end - day_start, "samples": samples})
    if rows:
        conn.execute(target.insert(), rows)
    return len(rows)


def touched_days(tz: str, start_ts: int, end_ts: int) -> tuple[date, date]:
    """The first and last local day that [start_ts, end_ts) touches."""
    bins = DayBins(tz, (start_ts, end_ts))
    first, last = bins.index(np.array([start_ts, max(start_ts, end_ts - 1)], dtype=np.int64))
    return day_from_number(first), day_from_number(last)


def _serialise(conn, target, keys) -> None:
    """On PostgreSQL, wait for any other transaction refreshing these keys' days.

    Each statement there sees what has committed when it starts (READ
    COMMITTED): two concurrent imports touching one meter's day would each
    sum only their own new readings, then both insert the day (a unique
    violation, or a stale total). The lock makes the second wait for the
    first to commit, then aggregate both. SQLite writers are serial already.
    """
    if conn.dialect.name == "postgresql":
        for key in sorted({int(k) for k in keys}):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :key)"),
                         {"space": _LOCK_SPACES[target.name], "key": key})


_LOCK_SPACES = {"meter_daily": 1, "driver_daily": 2}


def refresh_meters(conn, readings_table, energy_column: str, meter_ids, tz: str,
                   first: date, last: date) -> int:
    """Recompute ``meter_daily`` for these meters over local days first..last."""
    _serialise(conn, s.meter_daily, meter_ids)
    return _daily(conn, readings_table, "meter_id", energy_column, [int(m) for m in meter_ids],
                  "sum", tz, first, last, s.meter_daily, "energy")


def refresh_drivers(conn, driver_rows: list[dict], tz: str, first: date, last: date) -> int:
    """Recompute ``driver_daily`` for measured drivers and the drivers derived from them."""
    _serialise(conn, s.driver_daily, [d["id"] for d in driver_rows])
    written = 0
    for rule in {d["rollup"] for d in driver_rows}:
        keys = [d["id"] for d in driver_rows if d["rollup"] == rule]
        written += _daily(conn, s.driver_readings, "driver_id", "value", keys, rule, tz,
                          first, last, s.driver_daily, "value")
    parents = [d["id"] for d in driver_rows]
    derived = conn.execute(sa.select(s.drivers).where(
        s.drivers.c.derived_from_id.in_(parents))).mappings().all()
    for child in derived:
        written += refresh_degree_days(conn, child, first, last)
    return written


def hourly(conn, table, key_col, value_col, keys, rule, start_ts: int, end_ts: int) -> list[dict]:
    """Hourly aggregates straight from the readings (UTC hours in [start_ts, end_ts)).

    Hours are not stored: a day's hours are one indexed range query away.
    """
    acc = _aggregate(conn, table, key_col, value_col, list(keys), rule, HourBins(),
                     (start_ts, end_ts))
    rows = [{key_col: k, "hour_ts": number * 3600, "value": value, "covered_s": covered,
             "completeness": covered / 3600, "samples": samples}
            for k, number, value, covered, samples in
            acc.finished((start_ts // 3600, (end_ts - 1) // 3600))]
    return sorted(rows, key=lambda r: (r[key_col], r["hour_ts"]))


def refresh_degree_days(conn, child, first: date, last: date) -> int:
    """Recompute a degree-day driver's days from its temperature's daily means."""
    parent_days = conn.execute(sa.select(s.driver_daily).where(
        s.driver_daily.c.driver_id == child["derived_from_id"],
        s.driver_daily.c.day >= first, s.driver_daily.c.day <= last)).mappings().all()
    conn.execute(s.driver_daily.delete().where(
        s.driver_daily.c.driver_id == child["id"],
        s.driver_daily.c.day >= first, s.driver_daily.c.day <= last))
    if not parent_days:
        return 0
    mean_temp_c = np.array([np.nan if r["value"] is None else r["value"] for r in parent_days])
    fn = degree_days.heating if child["derivation"] == "hdd" else degree_days.cooling
    values = fn(mean_temp_c, child["base_temp_c"])
    conn.execute(s.driver_daily.insert(), [
        {**dict(r), "driver_id": child["id"], "value": None if np.isnan(v) else float(v)}
        for r, v in zip(parent_days, values)])
    return len(parent_days)


# --- reading the rollups -----------------------------------------------------

class DaySeries(NamedTuple):
    """Daily values of one or more series over consecutive days, as arrays.

    value: per day [the series' unit]; NaN where nothing was received (missing,
    never 0). completeness: covered_s / day_s rounded to 6 decimals, 0 where the
    day has no stored row."""
    value: np.ndarray
    completeness: np.ndarray


def stored_days(conn, daily, key_col: str, value_col: str, ids, first: date,
                last: date) -> DaySeries:
    """The stored daily rows of ``ids`` (meters or drivers) over every day first..last
    in one query, as arrays of shape (len(ids), days) in the order of ``ids``."""
    ids = list(ids)
    n_days = (last - first).days + 1
    value = np.full((len(ids), n_days), np.nan)
    completeness = np.zeros((len(ids), n_days))
    if not ids:
        return DaySeries(value, completeness)
    result = conn.execute(
        sa.select(daily.c[key_col], daily.c.day, daily.c[value_col], daily.c.covered_s,
                  daily.c.day_s)
        .where(daily.c[key_col].in_(ids), daily.c.day >= first, daily.c.day <= last))
    # The driver's rows as they come, without a Row object and a date per row
    # (half the time of a year of days): the day is ISO text on SQLite, a date
    # from psycopg; both are looked up in ``offset``.
    rows = result.cursor.fetchall()
    result.close()
    if rows:
        keys, days, values, covered_s, day_s = zip(*rows)
        position = {key: i for i, key in enumerate(ids)}
        offset = {}
        for i in range(n_days):
            day = first + timedelta(days=i)
            offset[day] = offset[day.isoformat()] = i
        at = ([position[k] for k in keys], [offset[d] for d in days])
        value[at] = np.array(values, dtype=float)  # NULL -> NaN
        covered_s, day_s = np.array(covered_s, dtype=float), np.array(day_s, dtype=float)
        completeness[at] = _rounded(np.divide(covered_s, day_s, out=np.zeros_like(covered_s),
                                              where=day_s > 0))
    return DaySeries(value, completeness)


def _rounded(x: np.ndarray) -> np.ndarray:
    """``round(v, 6)`` of each value, as Python rounds it: numpy's multiply-and-rint
    differs only where x * 1e6 lies within rounding error of a half, redone here."""
    out = np.round(x, 6)
    tie = np.flatnonzero(np.abs(x * 1e6 % 1 - 0.5) < 1e-6)
    out[tie] = [round(float(v), 6) for v in x[tie]]
    return out


def sum_meters(days: DaySeries) -> DaySeries:
    """Combine several meters' days (an SEU with more than one meter), in the
    order given.

    A day's energy is the sum over meters; its completeness is the lowest of
    the meters', and a day any meter lacks has no energy (NaN), never a part.
    """
    energy = days.value[0].copy()
    for meter in days.value[1:]:   # one meter after another, as a running sum adds them
        energy += meter
    return DaySeries(energy, days.completeness.min(axis=0))
