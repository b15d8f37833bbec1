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
from datetime import date
from functools import lru_cache

import numpy as np
import sqlalchemy as sa

from . import degree_days, schema as s
from .localtime import (DAY_S, day_bounds, day_from_number, day_length_s, day_number,
                        local_offsets, offset_segments, offset_sql)

# Rows that cross a day boundary may start up to this long before the window.
LONGEST_READING_S = 45 * DAY_S


class _Accumulator:
    """Per (key, local day): value, covered seconds, samples, for one rule."""

    def __init__(self, rule: str):
        self.rule = rule
        self.cells = defaultdict(lambda: [None, 0, 0])

    def add(self, key, day: int, value, covered_s: int, samples: int) -> None:
        cell = self.cells[(key, day)]
        if value is not None:
            if cell[0] is None:
                cell[0] = value
            elif self.rule in ("sum", "mean"):
                cell[0] += value
            else:
                cell[0] = min(cell[0], value) if self.rule == "min" else max(cell[0], value)
        cell[1] += covered_s
        cell[2] += samples


def _aggregate(conn, table, key_col, value_col, keys, rule, tz, window) -> _Accumulator:
    """Aggregate readings of ``keys`` into local days within ``window`` (UTC s).

    One pass groups every reading by the local day it starts in; the few
    readings that run past their day's end (found by the group's latest end)
    are then moved out and split by time over the days they cover.
    """
    start, end = window
    segments = offset_segments(tz, start - LONGEST_READING_S, end)
    value, key, duration = table.c[value_col], table.c[key_col], table.c.duration_s
    local_day = sa.literal_column(f"((ts + {offset_sql(segments)}) / {DAY_S})")
    measure = {
        "sum": sa.func.sum(value),
        "mean": sa.func.sum(value * duration),  # divided by covered seconds later
        "min": sa.func.min(value),
        "max": sa.func.max(value),
    }[rule]
    acc = _Accumulator(rule)
    query = (sa.select(key, local_day, measure, sa.func.sum(duration).filter(value.is_not(None)),
                       sa.func.count(value), sa.func.max(table.c.ts + duration))
             .where(key.in_(keys), table.c.ts >= start, table.c.ts < end)
             .group_by(key, local_day))
    overrun = []
    for k, day, agg, covered, n, last_end in conn.execute(query):
        acc.add(k, int(day), agg, int(covered or 0), int(n))
        if last_end > _day_end(tz, int(day)):
            overrun.append((k, int(day)))
    crossing = []
    for k, day in overrun:
        day_start, day_end = day_bounds(tz, day_from_number(day))
        rows = conn.execute(sa.select(key, table.c.ts, duration, value).where(
            key == k, table.c.ts >= day_start, table.c.ts < day_end,
            table.c.ts + duration > day_end)).all()
        for row in rows:
            _undo(acc, row, day, rule)
        crossing += rows
    # Readings that start before the window and run into it.
    crossing += conn.execute(sa.select(key, table.c.ts, duration, value).where(
        key.in_(keys), table.c.ts >= start - LONGEST_READING_S, table.c.ts < start,
        table.c.ts + duration > start)).all()
    if crossing:
        _split(acc, crossing, segments, rule)
    return acc


def _undo(acc: _Accumulator, row, day: int, rule: str) -> None:
    """Take a reading out of the day it starts in; ``_split`` adds its parts back."""
    k, _, duration, v = row
    if v is None:
        return
    cell = acc.cells[(k, day)]
    cell[1] -= duration
    cell[2] -= 1
    if rule in ("sum", "mean"):  # min and max are unchanged by the reading's own part
        cell[0] -= v if rule == "sum" else v * duration


@lru_cache(maxsize=4096)
def _day_end(tz: str, day: int) -> int:
    return day_bounds(tz, day_from_number(day))[1]


def _split(acc: _Accumulator, rows, segments, rule: str) -> None:
    """Add readings to every local day they cover, in proportion to the time."""
    data = np.array(rows, dtype=np.float64)
    local_start = data[:, 1] + local_offsets(segments, data[:, 1].astype(np.int64))
    for (k, _, duration, v), t0 in zip(data, local_start):
        t1 = t0 + duration
        for day in range(int(t0 // DAY_S), int((t1 - 1) // DAY_S) + 1):
            part = min(t1, (day + 1) * DAY_S) - max(t0, day * DAY_S)
            if np.isnan(v):
                continue
            share = v * part / duration if rule == "sum" else v * part if rule == "mean" else v
            acc.add(int(k), day, share, int(part), 1)


def _day_window(tz: str, first: date, last: date) -> tuple[int, int]:
    return day_bounds(tz, first)[0], day_bounds(tz, last)[1]


def _write_daily(conn, target, key_col, value_col, acc, keys, first, last, tz) -> int:
    lo, hi = day_number(first), day_number(last)
    conn.execute(target.delete().where(target.c[key_col].in_(keys),
                                       target.c.day >= first, target.c.day <= last))
    rows = []
    for (k, day), (value, covered, samples) in acc.cells.items():
        if not lo <= day <= hi:
            continue
        if acc.rule == "mean" and value is not None:
            value = value / covered if covered else None
        d = day_from_number(day)
        rows.append({key_col: k, "day": d, value_col: value, "covered_s": covered,
                     "day_s": day_length_s(tz, d), "samples": samples})
    if rows:
        conn.execute(target.insert(), rows)
    return len(rows)


def touched_days(tz: str, start_ts: int, end_ts: int) -> tuple[date, date]:
    """The first and last local day that [start_ts, end_ts) touches."""
    segments = offset_segments(tz, start_ts, end_ts)
    edges = np.array([start_ts, max(start_ts, end_ts - 1)], dtype=np.int64)
    days = (edges + local_offsets(segments, edges)) // DAY_S
    return day_from_number(days[0]), day_from_number(days[1])


def refresh_meters(conn, readings_table, energy_column: str, meter_ids, tz: str,
                   first: date, last: date) -> int:
    """Recompute ``meter_daily`` for these meters over local days first..last."""
    keys = [int(m) for m in meter_ids]
    acc = _aggregate(conn, readings_table, "meter_id", energy_column, keys, "sum", tz,
                     _day_window(tz, first, last))
    return _write_daily(conn, s.meter_daily, "meter_id", "energy", acc, keys, first, last, tz)


def refresh_drivers(conn, driver_rows: list[dict], tz: str, first: date, last: date) -> int:
    """Recompute ``driver_daily`` for measured drivers and the drivers derived from them."""
    written = 0
    window = _day_window(tz, first, last)
    for rule in {d["rollup"] for d in driver_rows}:
        keys = [d["id"] for d in driver_rows if d["rollup"] == rule]
        acc = _aggregate(conn, s.driver_readings, "driver_id", "value", keys, rule, tz, window)
        written += _write_daily(conn, s.driver_daily, "driver_id", "value", acc, keys,
                                first, last, tz)
    parents = [d["id"] for d in driver_rows]
    derived = conn.execute(sa.select(s.drivers).where(
        s.drivers.c.derived_from_id.in_(parents))).mappings().all()
    for child in derived:
        written += _refresh_degree_days(conn, child, first, last)
    return written


def _refresh_degree_days(conn, child, first: date, last: date) -> int:
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

def meter_days(conn, meter_ids, first: date, last: date) -> list[dict]:
    """Daily rows of meters: day, energy (NULL if nothing), completeness."""
    rows = conn.execute(
        sa.select(s.meter_daily, s.meters.c.name.label("meter"))
        .join(s.meters, s.meters.c.id == s.meter_daily.c.meter_id)
        .where(s.meter_daily.c.meter_id.in_(list(meter_ids)),
               s.meter_daily.c.day >= first, s.meter_daily.c.day <= last)
        .order_by(s.meters.c.name, s.meter_daily.c.day)).mappings().all()
    return [_with_completeness(r) for r in rows]


def driver_days(conn, driver_ids, first: date, last: date) -> list[dict]:
    rows = conn.execute(
        sa.select(s.driver_daily, s.drivers.c.name.label("driver"))
        .join(s.drivers, s.drivers.c.id == s.driver_daily.c.driver_id)
        .where(s.driver_daily.c.driver_id.in_(list(driver_ids)),
               s.driver_daily.c.day >= first, s.driver_daily.c.day <= last)
        .order_by(s.drivers.c.name, s.driver_daily.c.day)).mappings().all()
    return [_with_completeness(r) for r in rows]


def _with_completeness(row) -> dict:
    row = dict(row)
    row["completeness"] = round(row["covered_s"] / row["day_s"], 6) if row["day_s"] else 0.0
    return row


def sum_meter_days(rows: list[dict], days: list[date]) -> list[dict]:
    """Combine several meters' days (an SEU with more than one meter).

    A day's energy is the sum over meters; its completeness is the lowest of
    the meters', and a day any meter lacks entirely has no energy (NULL).
    """
    by_day = defaultdict(list)
    meters = {r["meter"] for r in rows}
    for r in rows:
        by_day[r["day"]].append(r)
    result = []
    for day in days:
        parts = by_day.get(day, [])
        complete = len(parts) == len(meters) and meters and all(p["energy"] is not None for p in parts)
        result.append({
            "day": day,
            "energy": sum(p["energy"] for p in parts) if complete else None,
            "completeness": min((p["completeness"] for p in parts), default=0.0)
            if len(parts) == len(meters) else 0.0,
        })
    return result
