"""The shift-handover briefing: what the next shift needs to know.

``build(store, shift="last")`` returns, for one shift of the site (its local
shift start times, default 06:00, 14:00 and 22:00):

- per SEU the shift's actual energy (from the readings, hour by hour) against
  its expected energy, the largest deviations in kWh first;
- the open alerts (``engine.alerts``);
- the CUSUM alarms of the latest alert evaluation (``engine.alerts`` raises
  them from the reports' tabular CUSUM, ``engine.reports``);
- the data-quality findings of the data-quality log that overlap the shift,
  and the meters with hours missing in it.

Expected energy of a shift (docs/methods.md, "Expected energy of a shift"):
the day's expected energy from the SEU's daily baseline, times the share of
that weekday's energy that fell in the shift's local hours during the
baseline period (ISO 50006 normalises the baseline to the reporting period;
the within-day profile of the baseline period carries the day to the shift).

Missing is never zero: a shift whose energy is incomplete has no actual
energy (``None``, with its completeness), and a day without a usable expected
energy (drivers or energy incomplete) leaves the shift's expected energy
``None`` with the reason.

When the asked time lies beyond the data (the newest meter day ends before
it), the briefing is about the last shift that ended within the data and
says how far behind the data are (``stale``, ``behind_h``).

Speed: the per-SEU figures are a handful of small indexed queries (the
shift's hours per energy source, the day's rollups, the log, the alerts).
The two costly parts are memoised per process: the baseline period's hourly
profile (keyed by the baseline version) and the day's expected energy
(keyed by the baseline version and the day's rollup and data-quality rows,
so new or corrected data recompute it).
"""
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from . import alerts, baselines, catalog, readings, rollups, schema as s
from .errors import EnmsError
from .localtime import (DAY_S, day_bounds, day_from_number, day_length_s, day_number,
                        local_offsets, offset_segments)

DEFAULT_SHIFT_STARTS = ("06:00", "14:00", "22:00")
SHIFTS = ("last", "current")
HOUR_S = 3600
# A shift's energy counts when this share of it was metered (as a baseline's day).
ENERGY_COMPLETENESS_MIN = baselines.ENERGY_COMPLETENESS_MIN
# CUSUM alarms of evaluations of the shift's month or the month before count as current.
ALARM_MONTHS = 2
_MEMO_MAX = 512
_profiles: dict = {}
_expected_days: dict = {}


# --- shift times (pure) ------------------------------------------------------------------

def parse_shift_starts(value=None) -> tuple[time, ...]:
    """Shift start times from 'HH:MM,HH:MM,...' or a sequence of 'HH:MM' [site-local clock].

    None gives ``DEFAULT_SHIFT_STARTS``. Sorted; at least one; no repeats.
    """
    if value is None:
        value = DEFAULT_SHIFT_STARTS
    parts = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    starts = []
    for part in parts:
        text = str(part).strip()
        try:
            hour, _, minute = text.partition(":")
            starts.append(time(int(hour), int(minute or 0)))
        except ValueError:
            raise EnmsError(f"shift start {text!r} is not a time of day (use HH:MM, "
                            "e.g. 06:00,14:00,22:00)", code="bad_shift_time",
                            params={"value": text}) from None
    if not starts:
        raise EnmsError("no shift start times given (e.g. 06:00,14:00,22:00)",
                        code="bad_shift_time", params={"value": ""})
    if len(set(starts)) != len(starts):
        raise EnmsError(f"shift start times repeat: {value}", code="bad_shift_time",
                        params={"value": str(value)})
    return tuple(sorted(starts))


def _local_start(day: date, start: time, zone: ZoneInfo) -> datetime:
    # A start the clocks skip (spring forward) falls at the same UTC instant as
    # the wall time an hour later; a repeated one (autumn) is its first pass.
    return datetime.combine(day, start, tzinfo=zone)


def shift_starts_around(instant: datetime, tz: str, starts) -> list[datetime]:
    """Every shift start from two local days before ``instant`` to two after, aware, in order."""
    zone = ZoneInfo(tz)
    local_day = instant.astimezone(zone).date()
    found = {_local_start(local_day + timedelta(days=k), t, zone).astimezone(timezone.utc)
             for k in range(-2, 3) for t in starts}
    return sorted(found)


def shift_containing(instant: datetime, tz: str, starts) -> tuple[datetime, datetime]:
    """(start, end) of the shift under way at ``instant`` (aware UTC datetimes)."""
    edges = shift_starts_around(instant, tz, starts)
    i = max(k for k, e in enumerate(edges) if e <= instant)
    return edges[i], edges[i + 1]


def shift_ended_by(instant: datetime, tz: str, starts) -> tuple[datetime, datetime]:
    """(start, end) of the latest shift that ended at or before ``instant``."""
    edges = shift_starts_around(instant, tz, starts)
    i = max(k for k, e in enumerate(edges) if e <= instant)
    return edges[i - 1], edges[i]


def next_shift_change(instant: datetime, tz: str, starts) -> datetime:
    """The first shift start after ``instant`` (aware UTC): when a briefing is due."""
    return next(e for e in shift_starts_around(instant, tz, starts) if e > instant)


# --- what the database holds ---------------------------------------------------------------

def site_timezone(store, site: str | None = None) -> str:
    """The IANA time zone of the site (the only one unless named)."""
    with store.read() as conn:
        return catalog.site_row(conn, site)["timezone"]


def site_seus(conn, site: str) -> list[dict]:
    """Every SEU of the site with its meters, source and active baseline (one query)."""
    eq, src, m, b = s.equipment, s.energy_sources, s.meters, s.baselines
    rows = conn.execute(
        sa.select(s.seus.c.id, eq.c.name.label("equipment"), src.c.name.label("source"),
                  src.c.id.label("source_id"), src.c.unit, src.c.kwh_per_unit,
                  m.c.id.label("meter_id"), m.c.name.label("meter"),
                  b.c.id.label("baseline_id"), b.c.version, b.c.period_start, b.c.period_end)
        .join(eq, eq.c.id == s.seus.c.equipment_id)
        .join(src, src.c.id == s.seus.c.source_id)
        .join(s.sites, s.sites.c.id == eq.c.site_id)
        .outerjoin(m, (m.c.equipment_id == eq.c.id) & (m.c.source_id == src.c.id))
        .outerjoin(b, (b.c.seu_id == s.seus.c.id) & (b.c.status == "active"))
        .where(s.sites.c.name == site)
        .order_by(eq.c.name, src.c.name, m.c.name)).mappings().all()
    out = {}
    for r in rows:
        seu = out.setdefault(r["id"], {**dict(r), "meters": {}})
        if r["meter_id"] is not None:
            seu["meters"][r["meter_id"]] = r["meter"]
    return list(out.values())


def energy_tables(conn, source_ids) -> dict:
    """source id -> (readings table, energy column), one query."""
    rows = conn.execute(sa.select(s.energy_sources.c.id, s.energy_sources.c.name,
                                  s.source_columns.c.name.label("column"),
                                  s.source_columns.c.kind)
                        .join(s.source_columns,
                              s.source_columns.c.source_id == s.energy_sources.c.id)
                        .where(s.energy_sources.c.id.in_(list(source_ids)))
                        .order_by(s.source_columns.c.position)).all()
    columns, energy, names = defaultdict(list), {}, {}
    for source_id, name, column, kind in rows:
        columns[source_id].append(column)
        names[source_id] = name
        if kind == "energy":
            energy[source_id] = column
    return {i: (_table(names[i], tuple(columns[i])), energy[i]) for i in names}


@lru_cache(maxsize=64)
def _table(source: str, columns: tuple) -> sa.Table:
    # One Table object per layout, so SQLAlchemy's statement cache recognises the
    # queries (a new Table each time compiles every query afresh: ~3 ms each).
    return readings.table(source, list(columns))


def meter_energy(conn, seus: list[dict], tables: dict, start: int, end: int) -> dict:
    """meter id -> (energy [native unit] or None, covered [s]) over [start, end)."""
    out = {}
    by_source = defaultdict(list)
    for seu in seus:
        by_source[seu["source_id"]] += list(seu["meters"])
    for source_id, meter_ids in by_source.items():
        table, column = tables[source_id]
        energy, covered = defaultdict(float), defaultdict(int)
        seen = set()
        for row in rollups.hourly(conn, table, "meter_id", column, meter_ids, "sum", start, end):
            if row["value"] is not None:
                energy[row["meter_id"]] += row["value"]
                seen.add(row["meter_id"])
            covered[row["meter_id"]] += row["covered_s"]
        for meter_id in meter_ids:
            out[meter_id] = (energy[meter_id] if meter_id in seen else None, covered[meter_id])
    return out


# --- expected energy of a shift ----------------------------------------------------------

def baseline_stamps(conn, seus: list[dict]) -> dict:
    """meter id -> (energy sum, covered seconds, days) of its daily rollup, and its
    data-quality log rows and last scan, over the baseline periods: a correction
    or a new scan of baseline-period data changes it (two queries)."""
    periods = [(as_date(seu["period_start"]), as_date(seu["period_end"]))
               for seu in seus if seu["baseline_id"] is not None]
    meter_ids = [m for seu in seus if seu["baseline_id"] is not None for m in seu["meters"]]
    if not periods or not meter_ids:
        return {}
    md = s.meter_daily
    rows = conn.execute(sa.select(md.c.meter_id, sa.func.sum(md.c.energy),
                                  sa.func.sum(md.c.covered_s), sa.func.count())
                        .where(md.c.meter_id.in_(meter_ids),
                               md.c.day >= min(p[0] for p in periods),
                               md.c.day <= max(p[1] for p in periods))
                        .group_by(md.c.meter_id)).all()
    log = s.data_quality_log
    scans = dict((r[0], tuple(map(str, r[1:]))) for r in conn.execute(
        sa.select(log.c.entity_id, sa.func.count(), sa.func.max(log.c.scanned_at))
        .where(log.c.kind == "meter", log.c.entity_id.in_(meter_ids),
               log.c.day >= min(p[0] for p in periods), log.c.day <= max(p[1] for p in periods))
        .group_by(log.c.entity_id)))
    return {r[0]: (*r[1:], scans.get(r[0])) for r in rows}


def _flagged_days(conn, seu: dict, first: date, last: date) -> list[int]:
    """Day numbers on which the data-quality log flags a reading of the SEU's meters."""
    log = s.data_quality_log
    rows = conn.execute(sa.select(log.c.day, log.c.findings).where(
        log.c.kind == "meter", log.c.entity_id.in_(list(seu["meters"])),
        log.c.day >= first, log.c.day <= last)).all()
    return sorted({day_number(as_date(day)) for day, found in rows
                   if any(f["kind"] in baselines.DATA_QUALITY_EXCLUDES for f in found or [])})


def profile(conn, store, seu: dict, tables: dict, tz: str, stamps: dict) -> dict:
    """Share of each weekday's energy per local clock hour in the baseline period.

    Returns {"shares": array [7, 24] (rows sum to 1, NaN for a weekday without
    a usable day), "days": days used per weekday}. A local day counts when
    every meter of the SEU covered every second of it (missing is not zero)
    and the data-quality log flags none of its readings as a baseline would
    leave them out (``baselines.DATA_QUALITY_EXCLUDES``: a spike would bend
    its hour); hours are where the readings' energy fell (``rollups.hourly``).
    """
    key = (store.url, seu["baseline_id"], tz, tuple((m, stamps.get(m)) for m in seu["meters"]))
    if key in _profiles:
        return _profiles[key]
    first, last = as_date(seu["period_start"]), as_date(seu["period_end"])
    start, end = day_bounds(tz, first)[0], day_bounds(tz, last)[1]
    table, column = tables[seu["source_id"]]
    rows = rollups.hourly(conn, table, "meter_id", column, list(seu["meters"]), "sum", start, end)
    hour_ts = np.array([r["hour_ts"] for r in rows], dtype=np.int64)
    value = np.array([np.nan if r["value"] is None else r["value"] for r in rows])
    covered = np.array([r["covered_s"] for r in rows], dtype=np.float64)
    local = hour_ts + local_offsets(offset_segments(tz, start, end), hour_ts)
    day, hour = local // DAY_S, (local % DAY_S) // HOUR_S
    days = np.unique(day)
    # A day counts when its metered seconds equal its length times the meters.
    need = np.array([day_length_s(tz, day_from_number(d)) for d in days]) * len(seu["meters"])
    index = np.searchsorted(days, day)
    metered = np.bincount(index, weights=np.where(np.isnan(value), 0.0, covered),
                          minlength=len(days))
    usable = np.isclose(metered, need) & ~np.isin(days, _flagged_days(conn, seu, first, last))
    complete = usable[index] & ~np.isnan(value)
    weekday = (day + 3) % 7        # 1970-01-01 was a Thursday (Monday = 0)
    energy = np.zeros((7, 24))
    np.add.at(energy, (weekday[complete], hour[complete]), value[complete])
    totals = energy.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, energy / totals, np.nan)
    used = np.zeros(7, dtype=int)
    np.add.at(used, (days[usable] + 3) % 7, 1)
    result = {"shares": shares, "days": used.tolist()}
    if len(_profiles) >= _MEMO_MAX:
        _profiles.clear()
    _profiles[key] = result
    return result


@lru_cache(maxsize=256)
def _day_hours(tz: str, day: date) -> tuple:
    """The UTC hour starts of a local day, their clock hours, and how often each
    clock hour occurs that day (2 for the hour the clocks repeat)."""
    lo, hi = day_bounds(tz, day)
    hour_ts = np.arange(lo, hi, HOUR_S, dtype=np.int64)
    local = hour_ts + local_offsets(offset_segments(tz, lo, hi), hour_ts)
    label = (local % DAY_S) // HOUR_S
    return hour_ts, label, np.bincount(label, minlength=24)[label]


def share(profile: dict, tz: str, day: date, start: int, end: int) -> float:
    """The share of ``day``'s expected energy that falls in [start, end) [fraction].

    Each hour of the day weighs its clock hour's share of the weekday profile;
    a clock hour the day has twice (clocks go back) splits its share, and the
    weights are scaled to sum to one over the hours the day has (a 23-hour
    day lacks one), so a day's shifts always add up to the whole day.
    """
    hour_ts, label, repeats = _day_hours(tz, day)
    weight = profile["shares"][day.weekday(), label] / repeats
    # A partial hour (a shift starting at :30) counts in proportion to its time inside.
    inside = np.clip(np.minimum(hour_ts + HOUR_S, end) - np.maximum(hour_ts, start), 0, HOUR_S)
    return float((weight * inside / HOUR_S).sum() / weight.sum())


def _rollup_stamp(conn, seus: list[dict], first: date, last: date, logged: tuple) -> tuple:
    """The rollup rows the days' expected energy depends on, with ``logged`` (the
    data-quality log's stamp of the days, ``_quality``): new data change it."""
    meter_ids = [m for seu in seus for m in seu["meters"]]
    md, dd = s.meter_daily, s.driver_daily
    meters = conn.execute(sa.select(md.c.meter_id, md.c.day, md.c.energy, md.c.covered_s).where(
        md.c.meter_id.in_(meter_ids), md.c.day >= first, md.c.day <= last)
        .order_by(md.c.meter_id, md.c.day)).all()
    drivers = conn.execute(sa.select(dd.c.driver_id, dd.c.day, dd.c.value, dd.c.covered_s).where(
        dd.c.driver_id.in_(sa.select(s.drivers.c.id).scalar_subquery()),   # the key's index
        dd.c.day >= first, dd.c.day <= last).order_by(dd.c.driver_id, dd.c.day)).all()
    return tuple(map(tuple, meters)), tuple(map(tuple, drivers)), logged


def _day_expected(store, seu: dict, first: date, last: date, stamp: tuple) -> dict:
    """day -> (expected, lower, upper) [native unit] from the baseline; {} with the
    reason under "why" when no day is usable."""
    key = (store.url, seu["baseline_id"], first, last, stamp)
    if key in _expected_days:
        return _expected_days[key]
    try:
        result = baselines.expected(store, seu["equipment"], seu["source"], first, last,
                                    seu["version"])
        out = {r["start"]: (r["expected"], r["lower"], r["upper"]) for r in result["rows"]}
        out["why"] = "; ".join(f"{x['interval']}: {x['reason']}" for x in result["excluded"])
    except EnmsError as exc:
        out = {"why": str(exc)}
    if len(_expected_days) >= _MEMO_MAX:
        _expected_days.clear()
    _expected_days[key] = out
    return out


def _seu_figures(conn, store, seu: dict, tables, tz, start, end, energy, stamp,
                 stamps) -> dict:
    name = catalog.seu_name(seu["equipment"], seu["source"])
    kwh = seu["kwh_per_unit"]
    shift_s = end - start
    row = {"seu": name, "equipment": seu["equipment"], "source": seu["source"],
           "unit": seu["unit"], "actual": None, "expected": None, "lower": None, "upper": None,
           "deviation": None, "deviation_pct": None, "actual_kwh": None, "expected_kwh": None,
           "deviation_kwh": None, "outside_range": None, "completeness": 0.0,
           "baseline_version": seu["version"], "missing": None}
    if not seu["meters"]:
        row["missing"] = "no meter"
        return row
    parts = [energy[m] for m in seu["meters"]]
    row["completeness"] = min(1.0, min(covered for _, covered in parts) / shift_s)
    if all(value is not None for value, _ in parts) and \
            row["completeness"] >= ENERGY_COMPLETENESS_MIN:
        row["actual"] = sum(value for value, _ in parts)
        row["actual_kwh"] = row["actual"] * kwh
    else:
        row["missing"] = f"energy {100 * row['completeness']:.0f} % metered"
    if seu["baseline_id"] is None:
        row["missing"] = row["missing"] or "no active baseline"
        return row
    days = _local_days(tz, start, end)
    if days[0] <= as_date(seu["period_end"]):
        row["missing"] = row["missing"] or "the shift is not after the baseline period"
        return row
    weekday_profile = profile(conn, store, seu, tables, tz, stamps)
    per_day = _day_expected(store, seu, days[0], days[-1], stamp)
    total = np.zeros(3)
    for day in days:
        part = share(weekday_profile, tz, day, start, end)
        if day not in per_day or not np.isfinite(part):
            why = per_day.get("why") or f"no expected energy on {day}"
            if not np.isfinite(part):
                why = f"no complete {day:%A} in the baseline period"
            row["missing"] = row["missing"] or why
            return row
        total += np.array(per_day[day]) * part
    row["expected"], row["lower"], row["upper"] = map(float, total)
    row["expected_kwh"] = row["expected"] * kwh
    if row["actual"] is not None:
        row["deviation"] = row["actual"] - row["expected"]
        row["deviation_kwh"] = row["deviation"] * kwh
        row["deviation_pct"] = 100 * row["deviation"] / row["expected"] if row["expected"] \
            else None
        row["outside_range"] = not (row["lower"] <= row["actual"] <= row["upper"])
    return row


def as_date(value) -> date:
    """A date, or the date that an ISO text (or a datetime) starts with: a
    date column as either database returns it."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _local_days(tz: str, start: int, end: int) -> list[date]:
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(start, zone).date()
    last = datetime.fromtimestamp(end - 1, zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- alerts, alarms, data quality ----------------------------------------------------------

def _alerts(store, shift_last: date) -> tuple[list[dict], list[dict]]:
    """(open alerts, CUSUM alarms): one listing of every alert."""
    found = alerts.list_alerts(store, status="all")
    open_ = [{k: v for k, v in a.items() if k != "notifications"}
             for a in found if a["status"] == "open"]
    month = shift_last.replace(day=1)
    for _ in range(ALARM_MONTHS - 1):
        month = (month - timedelta(days=1)).replace(day=1)
    latest = {}
    for a in found:
        if a["kind"] != "cusum_alarm" or not (month <= a["last"] and a["first"] <= shift_last):
            continue
        if a["seu"] not in latest or a["last"] > latest[a["seu"]]["last"]:
            latest[a["seu"]] = a
    alarms = []
    for seu, a in sorted(latest.items()):
        evidence = a["evidence"] or {}
        first_alarm = evidence.get("first_alarm") or {}
        alarms.append({"seu": seu, "direction": "up" if evidence.get("direction") == "above"
                       else "down", "since": first_alarm.get("week_of"),
                       "period": a["period"], "alert_id": a["id"], "status": a["status"],
                       "cusum_to_date": evidence.get("cusum_to_date"),
                       "cusum_since": evidence.get("cusum_since")})
    return open_, alarms


def _quality(conn, first: date, last: date, start: int, end: int) -> dict:
    """Findings of the data-quality log that overlap [start, end), and the entities
    whose days are not in the log yet (not scanned: unknown, not clean)."""
    log = s.data_quality_log
    names = {"meter": dict(conn.execute(sa.select(s.meters.c.id, s.meters.c.name)).all()),
             "driver": dict(conn.execute(sa.select(s.drivers.c.id, s.drivers.c.name)).all())}
    rows = conn.execute(sa.select(log.c.kind, log.c.entity_id, log.c.day, log.c.findings,
                                  log.c.scanned_at)
                        .where(log.c.day >= first, log.c.day <= last)).all()
    lo = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    hi = datetime.fromtimestamp(end, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    findings, logged = {}, defaultdict(set)
    for kind, entity_id, day, found, _ in rows:
        logged[(kind, entity_id)].add(as_date(day))
        for f in found or []:
            if f["start"] < hi and f["end"] > lo:   # ISO UTC text sorts as time
                findings.setdefault((kind, entity_id, f["kind"], f["start"]), {
                    "entity": kind, "name": names[kind].get(entity_id),
                    **{k: v for k, v in f.items() if not k.startswith("_")}})
    wanted = (last - first).days + 1
    not_scanned = sorted(name for kind, table in names.items() for i, name in table.items()
                         if len(logged.get((kind, i), ())) < wanted)
    order = {"high": 0, "medium": 1, "low": 2}
    return {"findings": sorted(findings.values(),
                               key=lambda f: (order.get(f["severity"], 3), f["start"])),
            "not_scanned": not_scanned,
            "stamp": (len(rows), max((str(r[4]) for r in rows), default=None))}


# --- the briefing -------------------------------------------------------------------------

def _aware(at) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise EnmsError(f"--at {at!r} is not an ISO time (e.g. 2025-10-31T22:00)",
                            code="bad_time", params={"value": at}) from None
    return at


def build(store, shift: str = "last", at=None, site: str | None = None,
          shift_starts=None) -> dict:
    """The briefing of the last (or current) shift at ``at`` (default: now).

    at: aware datetime, ISO text, or naive (site-local clock). shift_starts:
    'HH:MM,...' or a sequence (default ``DEFAULT_SHIFT_STARTS``), site-local.
    Energies in each SEU's native unit and in kWh.
    """
    if shift not in SHIFTS:
        raise EnmsError(f"unknown shift {shift!r} (use last or current)", code="bad_shift",
                        params={"value": shift})
    starts = parse_shift_starts(shift_starts)
    at = _aware(at)
    with store.read() as conn:
        place = catalog.site_row(conn, site)   # the only site unless named
        tz = place["timezone"]
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(tz))
        at = at.astimezone(timezone.utc)
        seus = site_seus(conn, place["name"])
    last_day = alerts.data_horizon(store)
    if last_day is None:
        raise EnmsError("no meter data yet: import readings first (enms import readings)",
                        code="no_data")
    data_end = datetime.fromtimestamp(day_bounds(tz, last_day)[1], timezone.utc)
    stale = at >= data_end
    if stale:   # the newest data end before the asked time: the last shift within them
        lo, hi = shift_ended_by(data_end, tz, starts)
    elif shift == "current":
        lo, hi = shift_containing(at, tz, starts)
    else:
        lo, hi = shift_ended_by(at, tz, starts)
    start, end = int(lo.timestamp()), int(hi.timestamp())
    until = end
    if shift == "current" and not stale:   # so far: up to the last full hour
        until = max(start, min(end, int(at.timestamp()) // HOUR_S * HOUR_S))
        if until == start:
            raise EnmsError("the current shift started less than an hour ago: ask for the "
                            "last shift", code="shift_too_young")
    days = _local_days(tz, start, until)
    with store.read() as conn:
        tables = energy_tables(conn, {seu["source_id"] for seu in seus})
        energy = meter_energy(conn, seus, tables, start, until)
        data = _quality(conn, days[0], days[-1], start, until)
        stamp = _rollup_stamp(conn, seus, days[0], days[-1], data.pop("stamp"))
        stamps = baseline_stamps(conn, seus)
        rows = [_seu_figures(conn, store, seu, tables, tz, start, until, energy, stamp, stamps)
                for seu in seus]
    open_alerts, alarms = _alerts(store, days[-1])
    compared = [r for r in rows if r["deviation_kwh"] is not None]
    compared.sort(key=lambda r: -abs(r["deviation_kwh"]))
    zone = ZoneInfo(tz)
    missing_meters = sorted(name for seu in seus for m, name in seu["meters"].items()
                            if energy[m][1] < until - start)
    return {
        "site": place["name"], "timezone": tz,
        "shift": {"which": "last" if stale else shift, "asked": shift,
                  "start": lo.astimezone(zone).isoformat(),
                  "end": hi.astimezone(zone).isoformat(),
                  "until": datetime.fromtimestamp(until, zone).isoformat(),
                  "hours": (until - start) / HOUR_S, "in_progress": until < end,
                  "starts": [t.strftime("%H:%M") for t in starts]},
        "asked_at": at.astimezone(zone).isoformat(),
        "data_end": data_end.astimezone(zone).isoformat(),
        "stale": stale, "behind_h": (at - data_end).total_seconds() / HOUR_S if stale else None,
        "seus": compared + [r for r in rows if r["deviation_kwh"] is None],
        "alerts": open_alerts, "cusum_alarms": alarms,
        "data_quality": {**data, "missing_meters": missing_meters},
        "method": "expected = the day's baseline expected energy x the share of that weekday's "
                  "energy in the shift's local hours over the baseline period "
                  "(docs/methods.md, 'Expected energy of a shift')",
    }
