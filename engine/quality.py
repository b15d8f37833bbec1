"""Data quality in the database: scan meters and drivers, score them, keep a log.

``scan(store, first, last)`` reads each meter's and driver's raw readings
over the local days first..last (one query each, with a few weeks of context
around the period for the outlier and stuck-value rules), applies the rules of
``engine.data_quality``, and writes one row per meter or driver and day to
``data_quality_log``: the day's score, completeness and every finding that
touches it. A rerun replaces the rows of the days it covers (one transaction),
so the log never holds two rows for a day.

Days belong to the site's time zone (a meter's site; drivers use the first
site's, as at import). Only days that have ended are scanned.

``period_score`` reads the log for one meter or driver (scanning days not in
it yet); ``estimate_gaps`` proposes linear estimates for short gaps, which are
returned marked as estimates and never written to the readings.
"""
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from . import catalog, data_quality as dq, readings, schema as s
from .errors import EnmsError, NotFound
from .localtime import DAY_S, day_bounds, local_offsets, offset_segments, utc_iso
from .rollups import LONGEST_READING_S

METHOD = "dq-1"  # rule-set version stored with every log row
# Readings read around the period: the outlier rule's weeks on each side
# (plus one), and before it the longest reading that can reach into it.
CONTEXT_AFTER_S = (dq.HAMPEL_WEEKS + 1) * dq.WEEK_S
CONTEXT_BEFORE_S = max(CONTEXT_AFTER_S, LONGEST_READING_S)
SHORT_GAP_S = 1800     # a gap this long makes a day unusable for a baseline (98 % rule)
LONG_GAP_S = DAY_S
ESTIMATE_MAX_INTERVALS = 3  # linear estimates only for gaps of up to 3 intervals
READ_ROWS = 250_000  # readings read per query in a scan (bounds memory: meters per chunk)

RULES = {
    "method": METHOD,
    "outlier": {"rule": "Hampel identifier on the rate, in time and at the same local time of week",
                "threshold_z": dq.HAMPEL_THRESHOLD, "half_window": dq.HAMPEL_HALF_WINDOW,
                "min_window_s": dq.HAMPEL_MIN_WINDOW_S, "weeks": dq.HAMPEL_WEEKS,
                "scale_floor_rel": dq.SCALE_FLOOR_REL},
    "stuck": {"min_repeats": dq.STUCK_MIN_REPEATS, "false_alarms": dq.STUCK_FALSE_ALARMS,
              "max_repeat_share": dq.STUCK_MAX_REPEAT_SHARE},
    "impossible": {"margin": dq.IMPOSSIBLE_MARGIN, "applies_to": "meters in kWh with rated power"},
    "gap": {"min_gap": "one nominal interval", "medium_s": SHORT_GAP_S, "high_s": LONG_GAP_S},
    "weights": dict(dq.WEIGHTS),
    "score": "day: (covered_s - weighted flagged_s) / day_s; period: day scores weighted by day_s",
}


# --- time helpers -----------------------------------------------------------------

class _Days:
    """The local days first..last of a time zone: edges and labels."""

    def __init__(self, tz: str, first: date, last: date):
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        self.edges = np.array([day_bounds(tz, d)[0] for d in self.days]
                              + [day_bounds(tz, last)[1]], dtype=np.int64)
        self.start, self.stop = int(self.edges[0]), int(self.edges[-1])

    def local(self, ts: int) -> str:
        return datetime.fromtimestamp(int(ts), self.zone).isoformat(timespec="minutes")

    def day_of(self, ts: int) -> date:
        return datetime.fromtimestamp(int(ts), self.zone).date()

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Indices of the first and last day that [start, end) touches (clipped)."""
        first = int(np.searchsorted(self.edges, start, side="right")) - 1
        last = int(np.searchsorted(self.edges, max(start, end - 1), side="right")) - 1
        return max(first, 0), min(last, len(self.days) - 1)


def _complete_days(tz: str, last: date, now: float | None) -> date:
    """The last day to scan: ``last``, or the last local day that has ended."""
    now = time.time() if now is None else now
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    return min(last, today - timedelta(days=1))


def _hours(seconds: float) -> str:
    if seconds >= DAY_S:
        return f"{seconds / DAY_S:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


# --- what is scanned ----------------------------------------------------------------

def _meter_targets(conn, names) -> list[dict]:
    query = (sa.select(s.meters.c.id, s.meters.c.name, s.meters.c.interval_s,
                       s.meters.c.counter_max, s.meters.c.source_id,
                       s.equipment.c.rated_power_kw, s.energy_sources.c.name.label("source"),
                       s.energy_sources.c.unit, s.energy_sources.c.kwh_per_unit,
                       s.sites.c.timezone)
             .join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id)
             .join(s.energy_sources, s.energy_sources.c.id == s.meters.c.source_id)
             .join(s.sites, s.sites.c.id == s.equipment.c.site_id)
             .order_by(s.meters.c.name))
    if names is not None:
        for name in names:
            catalog.entry_row(conn, "meter", name)  # NotFound lists the known names
        query = query.where(s.meters.c.name.in_(list(names)))
    out, tables = [], {}
    for row in conn.execute(query).mappings():
        meter = dict(row)
        if meter["source_id"] not in tables:
            columns = catalog.source_columns(conn, meter["source_id"])
            tables[meter["source_id"]] = (
                next(c["name"] for c in columns if c["kind"] == "energy"),
                readings.table(meter["source"], [c["name"] for c in columns]))
        meter["energy_column"], meter["table"] = tables[meter["source_id"]]
        out.append(meter)
    return out


def _driver_targets(conn, names) -> list[dict]:
    query = sa.select(s.drivers).order_by(s.drivers.c.name)
    if names is not None:
        for name in names:
            catalog.entry_row(conn, "driver", name)
        query = query.where(s.drivers.c.name.in_(list(names)))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    parents = dict(conn.execute(sa.select(s.drivers.c.id, s.drivers.c.name)).all())
    for row in rows:
        row["parent"] = parents.get(row["derived_from_id"])
    return rows


def _site_timezone(conn) -> str:
    tz = conn.execute(sa.select(s.sites.c.timezone).order_by(s.sites.c.id)).scalar()
    if tz is None:
        raise EnmsError("no site yet: add one first (enms catalog add site NAME --timezone ZONE)")
    return tz


def _read(conn, table: sa.Table, key: str, ids: list[int], lo: int, hi: int,
          value_columns: list[str]) -> dict:
    """The readings of ``ids`` in [lo, hi) as arrays sorted by key and time:
    ``key``, ``ts``, ``duration_s`` (int64) and each of ``value_columns``
    (float, NULL -> NaN), in one query.

    PostgreSQL: one row per key holding each column as a binary array
    (``_pg_arrays``). SQLite: the rows as the driver returns them (plain
    tuples, no Row objects); ts and durations pass through float64, exact
    below 2^53. Sorted here, not in SQL: PostgreSQL would sort the
    partitions' rows beyond work_mem on disk.
    """
    if conn.dialect.name == "postgresql":
        return _pg_arrays(conn, table, key, ids, lo, hi, value_columns)
    c = table.c
    result = conn.execute(sa.select(c[key], c.ts, c.duration_s, *[c[v] for v in value_columns])
                          .where(c[key].in_(ids), c.ts >= lo, c.ts < hi))
    rows = result.cursor.fetchall()
    result.close()
    data = np.array(rows, dtype=np.float64).reshape(len(rows), 3 + len(value_columns))
    data = data[np.lexsort((data[:, 1], data[:, 0]))]
    out = {name: data[:, i].astype(np.int64) for i, name in enumerate((key, "ts", "duration_s"))}
    out.update({v: data[:, 3 + i] for i, v in enumerate(value_columns)})
    return out


def _pg_arrays(conn, table: sa.Table, key: str, ids, lo, hi, value_columns) -> dict:
    """``_read`` on PostgreSQL: per key, each column as ``array_send(array_agg(...))``,
    NULL sent as NaN, unpacked by numpy without a Python object per value
    (the rows as tuples took three times as long). A group's aggregates take
    its rows in one order; they are sorted by time here (ORDER BY in the
    aggregate sorts on the server, slower).

    The binary array (PostgreSQL's array_send): a 20-byte header for one
    dimension, then per element a 4-byte length and the big-endian value."""
    c = table.c
    nan = sa.literal_column("'NaN'")
    columns = [(key, None, None), ("ts", c.ts, ">i8"), ("duration_s", c.duration_s, ">i4")] + \
        [(v, sa.func.coalesce(c[v], nan), ">f8") for v in value_columns]
    rows = conn.execute(
        sa.select(c[key], *[sa.func.array_send(sa.func.array_agg(col)) for _, col, _ in columns[1:]])
        .where(c[key].in_(ids), c.ts >= lo, c.ts < hi).group_by(c[key])).all()
    parts = {name: [] for name, _, _ in columns}
    for row in rows:
        n = None
        for (name, _, kind), blob in zip(columns[1:], row[1:]):
            values = np.frombuffer(blob, np.dtype([("len", ">i4"), ("v", kind)]), offset=20)["v"]
            parts[name].append(values)
            n = len(values)
        parts[key].append(np.full(n, row[0], dtype=np.int64))
    out = {name: (np.concatenate(parts[name]) if rows else np.array([]))
           .astype(np.float64 if kind == ">f8" else np.int64) for name, _, kind in columns}
    order = np.lexsort((out["ts"], out[key]))
    return {name: array[order] for name, array in out.items()}


def _series(data: dict, value_column: str, start: int = 0, stop: int | None = None,
            counter: bool = False) -> dict:
    """One entity's series from the arrays of ``_read`` (rows start..stop)."""
    return {"ts": data["ts"][start:stop], "duration_s": data["duration_s"][start:stop],
            "counter_end": data["counter_end"][start:stop] if counter else None,
            "value": data[value_column][start:stop]}


def _meter_series(conn, meters: list[dict], lo: int, hi: int) -> list[dict]:
    """The readings of meters of one source over [lo, hi), in one query."""
    energy = meters[0]["energy_column"]
    ids = [m["id"] for m in meters]
    data = _read(conn, meters[0]["table"], "meter_id", ids, lo, hi, ["counter_end", energy])
    starts = np.searchsorted(data["meter_id"], ids, side="left").tolist()
    stops = np.searchsorted(data["meter_id"], ids, side="right").tolist()
    return [_series(data, energy, a, b, counter=True) for a, b in zip(starts, stops)]


def _driver_series(conn, driver: dict, lo: int, hi: int) -> dict:
    return _series(_read(conn, s.driver_readings, "driver_id", [driver["id"]], lo, hi,
                         ["value"]), "value")


# --- one series ---------------------------------------------------------------------

class _Findings:
    """Findings of one meter or driver, in the form stored and shown."""

    def __init__(self, entity: str, name: str, unit: str, days: _Days):
        self.entity, self.name, self.unit, self.days = entity, name, unit, days
        self.items = []

    def add(self, kind: str, severity: str, start: int, end: int, message: str,
            evidence: dict) -> None:
        first, last = self.days.span(start, end)
        self.items.append({
            "kind": kind, "entity": self.entity, "name": self.name, "severity": severity,
            "start": utc_iso(start), "end": utc_iso(end),
            "start_local": self.days.local(start), "end_local": self.days.local(end),
            "first_day": self.days.day_of(start).isoformat(),
            "last_day": self.days.day_of(max(start, end - 1)).isoformat(),
            "message": message, "evidence": _plain(evidence),
            "_days": (first, last)})


def _plain(value):
    """numpy scalars to Python numbers, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, float):
        return None if value != value else round(value, 6)
    return value


def _runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    return [(a, b - 1) for a, b in dq._true_runs(mask)]


def _assess(series: dict, days: _Days, findings: _Findings, *, interval_s=None,
            lower=None, limit_per_hour=None, rated_power_kw=None, counter_max=None,
            driver: bool = False, amount: bool = True) -> dict:
    """Every rule on one series; returns the per-day arrays.

    amount: the values are amounts per interval (energy, counts: judged per
    hour, zero is idle); False for levels (temperatures: judged as they are).
    """
    ts, dur, value = series["ts"], series["duration_s"], series["value"]
    lo, hi = days.start, days.stop
    inside = (ts >= lo) & (ts < hi)
    comp = dq.completeness(ts, dur, value, days.edges, interval_s)
    nominal = dq.nominal_interval(dur[inside] if inside.any() else dur, interval_s) or 3600
    if not interval_s:
        comp["expected"] = np.diff(days.edges) / nominal
    unit = findings.unit

    # Gaps, over the context read, so a gap's true start and end are seen.
    ctx_lo = int(min(lo, ts.min())) if len(ts) else lo
    ctx_hi = int(max(hi, (ts + dur).max())) if len(ts) else hi
    for g0, g1 in dq.find_gaps(ts, dur, value, ctx_lo, ctx_hi, nominal):
        if g1 <= lo or g0 >= hi:
            continue
        # No reading before (after) it in what was read: the gap is shown from
        # the period's start (to its end); its true start is further back.
        open_start, open_end = bool(g0 <= ctx_lo), bool(g1 >= ctx_hi)
        g0, g1 = (max(int(g0), lo) if open_start else int(g0)), \
            (min(int(g1), hi) if open_end else int(g1))
        missing = g1 - g0
        severity = "high" if missing >= LONG_GAP_S else "medium" if missing >= SHORT_GAP_S else "low"
        # A driver gap that empties a whole local day is a missing driver: the
        # day has no value for a baseline.
        whole_days = int(np.sum((days.edges[:-1] >= g0) & (days.edges[1:] <= g1)))
        kind = "missing_driver" if driver and whole_days else "gap"
        findings.add(kind, severity, g0, g1,
                     f"no {'values' if driver else 'readings'} for {_hours(missing)} "
                     f"({missing / nominal:g} intervals of {_hours(nominal)})",
                     {"missing_s": missing, "missing_intervals": missing / nominal,
                      "interval_s": nominal, "whole_days": whole_days,
                      "no_reading_before": open_start, "no_reading_after": open_end})

    weight = np.zeros(len(ts))

    def flag(mask, kind):
        np.maximum(weight, np.where(mask, dq.WEIGHTS[kind], 0.0), out=weight)

    # Outliers (Hampel, in time and at the same local time of week).
    if len(ts):
        offsets = local_offsets(offset_segments(days.tz, int(ts.min()), int(ts.max()) + 1), ts)
        h = dq.hampel_outliers(ts, dur, value, offsets, per_hour=amount)
        hit = h["outlier"] & inside
        flag(hit, "outlier")
        for i in np.flatnonzero(hit):
            findings.add("outlier", "medium", int(ts[i]), int(ts[i] + dur[i]),
                         (f"{value[i]:,.4g} {unit} in {_hours(dur[i])}: {h['rate'][i]:,.4g} {unit}/h"
                          if amount else f"{value[i]:,.4g} {unit}")
                         + f" against {h['median_time'][i]:,.4g} nearby and "
                         f"{h['median_season'][i]:,.4g} at this time of week",
                         {"value": value[i], "judged": "per hour" if amount else "value",
                          "rate_per_h": h["rate"][i] if amount else None,
                          "median_nearby": h["median_time"][i], "z_nearby": h["z_time"][i],
                          "median_time_of_week": h["median_season"][i],
                          "z_time_of_week": h["z_season"][i], "threshold": dq.HAMPEL_THRESHOLD})

    # Stuck values: the chance of a repeat estimated from this series itself.
    ctx_edges = np.arange(ctx_lo, ctx_hi + DAY_S, DAY_S, dtype=np.int64)
    repeat_p = dq.repeat_share(ts, dur, value, ctx_edges, zero_is_idle=amount)
    valid = ~np.isnan(value)
    n_pairs = int(np.sum(valid[1:] & valid[:-1] & inside[1:])) if len(ts) else 0
    needed = dq.stuck_min_repeats(repeat_p, n_pairs)
    stuck_check = {"repeat_share": round(repeat_p, 6), "min_repeats": needed}
    if needed is not None:
        for run in dq.stuck_runs(ts, dur, value, needed, zero_is_idle=amount):
            a, b = run["first"], run["last"]
            if ts[b] + dur[b] <= lo or ts[a] >= hi:
                continue
            mask = np.zeros(len(ts), dtype=bool)
            mask[a:b + 1] = True
            flag(mask, "stuck")
            findings.add("stuck", "high", int(ts[a]), int(ts[b] + dur[b]),
                         f"the value {run['value']:,.6g} {unit} repeats {run['repeats']} times "
                         f"({_hours(ts[b] + dur[b] - ts[a])})",
                         {"value": run["value"], "repeats": run["repeats"],
                          "first_seen": utc_iso(int(ts[run["origin"]])),
                          "repeat_share": repeat_p, "min_repeats": needed})

    # Negative and impossible values, as runs of consecutive readings.
    if lower is not None:
        neg = dq.negative_values(value, lower) & inside
        flag(neg, "negative")
        for a, b in _runs_of(neg):
            findings.add("negative", "high", int(ts[a]), int(ts[b] + dur[b]),
                         f"{b - a + 1} negative value(s), lowest {np.nanmin(value[a:b + 1]):,.4g} {unit}",
                         {"count": b - a + 1, "min_value": np.nanmin(value[a:b + 1])})
    if limit_per_hour:
        bad = dq.impossible_values(value, dur, limit_per_hour) & inside
        flag(bad, "impossible")
        for a, b in _runs_of(bad):
            top = int(a + np.nanargmax(value[a:b + 1]))
            limit = dq.IMPOSSIBLE_MARGIN * limit_per_hour * dur[top] / dq.HOUR_S
            findings.add("impossible", "high", int(ts[a]), int(ts[b] + dur[b]),
                         f"{b - a + 1} reading(s) above rated power: up to {value[top]:,.4g} {unit} "
                         f"in {_hours(dur[top])}, limit {limit:,.4g}",
                         {"count": b - a + 1, "max_value": value[top], "limit": limit,
                          "rated_power_kw": rated_power_kw, "margin": dq.IMPOSSIBLE_MARGIN})

    # Counter resets and rollovers (noted at import too, engine.ingest).
    if series.get("counter_end") is not None and len(ts):
        for drop in dq.counter_drops(ts, series["counter_end"], counter_max):
            i = drop["index"]
            if not inside[i]:
                continue
            mask = np.zeros(len(ts), dtype=bool)
            mask[i] = True
            flag(mask, drop["kind"])
            what = "rolled over" if drop["kind"] == "counter_rollover" else "reset"
            findings.add(drop["kind"], "low" if what == "rolled over" else "medium",
                         int(ts[i]), int(ts[i] + dur[i]),
                         f"register {what}: {drop['before']:,.10g} -> {drop['after']:,.10g}",
                         {"before": drop["before"], "after": drop["after"],
                          "counter_max": counter_max})

    # Order: impossible in storage (primary key, ordered reads, overlaps refused).
    for kind, index in dq.order_problems(ts, dur).items():
        for i in index:
            findings.add(kind, "high", int(ts[i]), int(ts[i] + dur[i]),
                         f"timestamp {kind.replace('_', ' ')}", {})

    flagged = dq.flagged_seconds(ts, dur, weight, days.edges)
    return {"comp": comp, "flagged_s": flagged, "nominal_s": nominal, "stuck_check": stuck_check}


def _assess_derived(conn, driver: dict, days: _Days, findings: _Findings) -> dict:
    """A derived driver (degree days) has daily values only: present or missing."""
    rows = conn.execute(sa.select(s.driver_daily.c.day, s.driver_daily.c.value,
                                  s.driver_daily.c.covered_s).where(
        s.driver_daily.c.driver_id == driver["id"], s.driver_daily.c.day >= days.days[0],
        s.driver_daily.c.day <= days.days[-1])).all()
    by_day = {r.day: r for r in rows}
    day_s = np.diff(days.edges)
    covered = np.array([by_day[d].covered_s if d in by_day and by_day[d].value is not None else 0
                        for d in days.days], dtype=np.int64)
    covered = np.minimum(covered, day_s)
    for a, b in _runs_of(covered == 0):
        start, end = int(days.edges[a]), int(days.edges[b + 1])
        findings.add("missing_driver", "high", start, end,
                     f"no value on {b - a + 1} day(s) (derived from {driver['parent']}, "
                     "which has none)",
                     {"days": b - a + 1, "derived_from": driver["parent"]})
    comp = {"day_s": day_s, "covered_s": covered, "completeness": covered / day_s,
            "received": (covered > 0).astype(np.int64), "expected": np.ones(len(day_s))}
    return {"comp": comp, "flagged_s": np.zeros(len(day_s)), "nominal_s": DAY_S,
            "stuck_check": None}


# --- the scan -----------------------------------------------------------------------

def scan(store, first: date, last: date, meters=None, drivers=None, *, now: float | None = None,
         write: bool = True) -> dict:
    """Scan meters and drivers over the local days first..last and log the result.

    meters, drivers: lists of names. Both None: every meter and driver; one
    of them given: only the entries named (the other kind not at all).
    now: the current time [UTC epoch s]; days that have not ended are not scanned.
    write: store the result in data_quality_log (replacing those days' rows).

    Returns a dict: the period, the rules used, and per meter/driver its
    period score and completeness, findings and day rows.
    """
    started = time.perf_counter()
    if last < first:
        raise EnmsError(f"the period ends ({last}) before it starts ({first})")
    if meters is None and drivers is None:
        meter_names = driver_names = None
    else:
        meter_names, driver_names = list(meters or []), list(drivers or [])
    results = []
    with store.read() as conn:
        meter_rows = _meter_targets(conn, meter_names) if meter_names != [] else []
        driver_rows = _driver_targets(conn, driver_names) if driver_names != [] else []
        driver_tz = _site_timezone(conn) if driver_rows else None
        results.extend(_scan_meters(conn, meter_rows, first, last, now))
        for driver in driver_rows:
            results.append(_scan_driver(conn, driver, driver_tz, first, last, now))
    results = [r for r in results if r is not None]
    if write and results:
        _write_log(store, results)
    for r in results:
        for f in r["findings"]:
            f.pop("_days", None)
        r.pop("id", None)
    scanned_to = max((r["last_day"] for r in results), default=None)
    return {"period": {"first": first.isoformat(), "last": last.isoformat(),
                       "scanned_to": scanned_to},
            "rules": RULES, "entities": results,
            "summary": _summary(results),
            "runtime_s": round(time.perf_counter() - started, 3)}


def _summary(results: list[dict]) -> dict:
    counts = {}
    for r in results:
        for f in r["findings"]:
            counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    scores = [r["score"] for r in results if r["score"] is not None]
    return {"entities": len(results), "findings": counts,
            "lowest_score": min(scores) if scores else None}


def _scan_meters(conn, meters: list[dict], first: date, last: date, now) -> list[dict | None]:
    """Scan meters, in the order given, reading the meters of one source and
    time zone in chunks of about READ_ROWS readings, one query per chunk."""
    out = [None] * len(meters)
    groups = {}
    for i, meter in enumerate(meters):
        groups.setdefault((meter["source_id"], meter["timezone"]), []).append(i)
    for (_, tz), index in groups.items():
        end = _complete_days(tz, last, now)
        if end < first:
            continue
        days = _Days(tz, first, end)
        lo, hi = days.start - CONTEXT_BEFORE_S, days.stop + CONTEXT_AFTER_S
        while index:
            chunk, rows = [], 0
            while index and (not chunk or rows < READ_ROWS):
                chunk.append(index.pop(0))
                rows += (hi - lo) // (meters[chunk[-1]]["interval_s"] or 60)
            for i, series in zip(chunk, _meter_series(conn, [meters[i] for i in chunk], lo, hi)):
                out[i] = _scan_meter(meters[i], days, series)
    return out


def _scan_meter(meter: dict, days: _Days, series: dict) -> dict:
    findings = _Findings("meter", meter["name"], meter["unit"], days)
    # Rated power bounds the energy only where it is measured directly in kWh.
    direct = (meter["unit"] or "").strip().lower() == "kwh" and meter["rated_power_kw"]
    limit = meter["rated_power_kw"] / meter["kwh_per_unit"] if direct else None
    result = _assess(series, days, findings, interval_s=meter["interval_s"], lower=0.0,
                     limit_per_hour=limit, rated_power_kw=meter["rated_power_kw"],
                     counter_max=meter["counter_max"])
    return _entity("meter", meter["id"], meter["name"], meter["unit"], days, findings, result,
                   {"source": meter["source"], "interval_s": meter["interval_s"],
                    "rated_power_kw": meter["rated_power_kw"],
                    "impossible_limit_per_h": limit})


def _scan_driver(conn, driver: dict, tz: str, first: date, last: date, now) -> dict | None:
    last = _complete_days(tz, last, now)
    if last < first:
        return None
    days = _Days(tz, first, last)
    findings = _Findings("driver", driver["name"], driver["unit"], days)
    if driver["kind"] == "derived":
        result = _assess_derived(conn, driver, days, findings)
    else:
        series = _driver_series(conn, driver, days.start - CONTEXT_BEFORE_S,
                                days.stop + CONTEXT_AFTER_S)
        # Summed drivers are quantities (parts, hours) and cannot be negative;
        # averaged ones (temperatures) can.
        amount = driver["rollup"] == "sum"
        result = _assess(series, days, findings, lower=0.0 if amount else None, driver=True,
                         amount=amount)
    return _entity("driver", driver["id"], driver["name"], driver["unit"], days, findings, result,
                   {"rollup": driver["rollup"], "derived_from": driver["parent"]})


def _entity(kind, entity_id, name, unit, days: _Days, findings: _Findings, result, info) -> dict:
    comp = result["comp"]
    scores = dq.day_scores(comp["covered_s"], result["flagged_s"], comp["day_s"])
    per_day = [[] for _ in days.days]
    order = {"high": 0, "medium": 1, "low": 2}
    findings.items.sort(key=lambda f: (f["start"], order[f["severity"]]))
    for f in findings.items:
        a, b = f["_days"]
        for k in range(a, b + 1):
            per_day[k].append({k2: v for k2, v in f.items() if k2 != "_days"})
    day_rows = []
    for k, day in enumerate(days.days):
        expected = comp["expected"][k]
        day_rows.append({
            "day": day.isoformat(), "score": round(float(scores[k]), 6),
            "completeness": round(float(comp["completeness"][k]), 6),
            "covered_s": int(comp["covered_s"][k]), "day_s": int(comp["day_s"][k]),
            "flagged_s": round(float(result["flagged_s"][k]), 3),
            "expected_samples": None if np.isnan(expected) else round(float(expected), 6),
            "received_samples": int(comp["received"][k]), "findings": per_day[k]})
    total_s = comp["day_s"].sum()
    return {"kind": kind, "id": entity_id, "name": name, "unit": unit, **info,
            "first_day": days.days[0].isoformat(), "last_day": days.days[-1].isoformat(),
            "score": dq.period_score(scores, comp["day_s"]),
            "completeness": float(comp["covered_s"].sum() / total_s) if total_s else None,
            "days": day_rows, "findings": findings.items,
            "nominal_interval_s": result["nominal_s"], "stuck_check": result["stuck_check"]}


def _write_log(store, results: list[dict]) -> None:
    """Replace the log rows of the scanned days, all entities in one transaction:
    one DELETE per kind and period for up to 500 entities, one executemany
    of every new row."""
    log = s.data_quality_log
    scanned_at = datetime.now(timezone.utc)
    periods = {}
    for r in results:
        periods.setdefault((r["kind"], r["first_day"], r["last_day"]), []).append(r["id"])
    with store.begin() as conn:
        for (kind, first, last), ids in periods.items():
            for k in range(0, len(ids), 500):
                conn.execute(log.delete().where(
                    log.c.kind == kind, log.c.entity_id.in_(ids[k:k + 500]),
                    log.c.day >= date.fromisoformat(first), log.c.day <= date.fromisoformat(last)))
        conn.execute(log.insert(), [
            {"kind": r["kind"], "entity_id": r["id"], "day": date.fromisoformat(d["day"]),
             "score": d["score"], "completeness": d["completeness"],
             "covered_s": d["covered_s"], "day_s": d["day_s"], "flagged_s": d["flagged_s"],
             "expected_samples": d["expected_samples"],
             "received_samples": d["received_samples"], "findings": d["findings"],
             "method": METHOD, "scanned_at": scanned_at} for r in results for d in r["days"]])


# --- reading the log ------------------------------------------------------------------

def _resolve(conn, name: str, kind: str | None) -> tuple[str, dict]:
    kinds = [kind] if kind else ["meter", "driver"]
    for k in kinds:
        try:
            return k, catalog.entry_row(conn, k, name)
        except NotFound:
            if kind:
                raise
    raise NotFound(f"no meter or driver called {name!r}")


def log_days(store, name: str, first: date, last: date, kind: str | None = None) -> list[dict]:
    """The stored log rows of one meter or driver over first..last, by day."""
    log = s.data_quality_log
    with store.read() as conn:
        kind, row = _resolve(conn, name, kind)
        rows = conn.execute(sa.select(log).where(
            log.c.kind == kind, log.c.entity_id == row["id"], log.c.day >= first,
            log.c.day <= last).order_by(log.c.day)).mappings().all()
    return [dict(r) for r in rows]


def period_score(store, meter_or_driver: str, first: date, last: date, *,
                 kind: str | None = None, scan_missing: bool = True,
                 now: float | None = None) -> dict:
    """The data-quality score of one meter or driver over local days first..last.

    score = sum(day score x day length) / sum(day length) over the days in the
    log (docs/methods.md section 9). Days not in the log yet are scanned first
    (and logged) unless ``scan_missing`` is False. kind: 'meter' or 'driver'
    when a name is both.
    """
    with store.read() as conn:
        kind, _ = _resolve(conn, meter_or_driver, kind)
    rows = log_days(store, meter_or_driver, first, last, kind)
    wanted = (last - first).days + 1
    if len(rows) < wanted and scan_missing:
        scan(store, first, last, **{f"{kind}s": [meter_or_driver]}, now=now)
        rows = log_days(store, meter_or_driver, first, last, kind)
    return summarise_log(kind, meter_or_driver, rows, first, last)


def summarise_log(kind: str, name: str, rows: list[dict], first: date, last: date) -> dict:
    """A period's score, completeness and findings from its data-quality log
    rows (already read): the formula of ``period_score``."""
    day_s = np.array([r["day_s"] for r in rows], dtype=np.float64)
    scores = np.array([r["score"] for r in rows], dtype=np.float64)
    covered = sum(r["covered_s"] for r in rows)
    findings = {}
    for r in rows:
        for f in r["findings"]:
            findings.setdefault((f["kind"], f["start"]), f)
    return {"kind": kind, "name": name, "first": first.isoformat(), "last": last.isoformat(),
            "score": dq.period_score(scores, day_s),
            "completeness": covered / day_s.sum() if day_s.sum() else None,
            "days": (last - first).days + 1, "days_logged": len(rows),
            "findings": sorted(findings.values(), key=lambda f: f["start"]),
            "method": rows[0]["method"] if rows else METHOD}


# --- estimates for short gaps (never written to the readings) --------------------------

def estimate_gaps(store, meter: str, first: date, last: date,
                  max_intervals: int = ESTIMATE_MAX_INTERVALS) -> dict:
    """Linear estimates for the short gaps of a meter over local days first..last.

    A gap of up to ``max_intervals`` nominal intervals, with a reading on
    each side, is estimated by linear interpolation of the rate between those
    two readings (``data_quality.linear_fill``). Longer gaps are listed as not
    estimated: they need a model-based rule. Nothing is written; every
    estimate is marked ``estimate: True`` with its rule.
    """
    with store.read() as conn:
        rows = _meter_targets(conn, [meter])
        target = rows[0]
        days = _Days(target["timezone"], first, last)
        series = _meter_series(conn, [target], days.start - CONTEXT_BEFORE_S,
                               days.stop + CONTEXT_AFTER_S)[0]
    nominal = dq.nominal_interval(series["duration_s"], target["interval_s"]) or 3600
    estimated, left = [], []
    for g0, g1 in dq.find_gaps(series["ts"], series["duration_s"], series["value"],
                               days.start, days.stop, nominal):
        fill = dq.linear_fill(series["ts"], series["duration_s"], series["value"], int(g0),
                              int(g1), nominal, max_intervals * nominal)
        gap = {"start": utc_iso(g0), "end": utc_iso(g1), "start_local": days.local(g0),
               "end_local": days.local(g1), "missing_s": int(g1 - g0)}
        if fill is None:
            left.append({**gap, "reason": f"longer than {max_intervals} intervals or no reading "
                                          "on both sides: needs a model-based estimate"})
            continue
        estimated.append({**gap, "rule": "linear", "estimate": True, "unit": target["unit"],
                          "total": float(fill["value"].sum()),
                          "rows": [{"ts": utc_iso(t), "duration_s": int(d), "value": float(v),
                                    "estimate": True}
                                   for t, d, v in zip(fill["ts"], fill["duration_s"],
                                                      fill["value"])]})
    return {"meter": meter, "first": first.isoformat(), "last": last.isoformat(),
            "interval_s": nominal, "max_gap_s": max_intervals * nominal,
            "estimated": estimated, "not_estimated": left}
