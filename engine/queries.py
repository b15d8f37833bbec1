"""Read-side functions: daily and monthly series, and what the database holds.

Series come from the daily rollup tables (kept current at import), never from
raw readings, so a year of one SEU is one small query.
"""
import math
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa

from . import catalog, readings, rollups, schema as s
from .errors import EnmsError
from .localtime import day_bounds


def _check_period(first: date, last: date) -> None:
    if last < first:
        raise EnmsError(f"the period ends ({last}) before it starts ({first})")


def _days(first: date, last: date) -> list[date]:
    _check_period(first, last)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _rows(series: rollups.DaySeries, key: str, first: date, last: date) -> list[dict]:
    """One row per day of the period from a 1-D ``series``; missing days None."""
    return [{"day": d, key: None if math.isnan(v) else v, "completeness": c}
            for d, v, c in zip(_days(first, last), series.value.tolist(),
                               series.completeness.tolist())]


def meter_series(store, meter: str, first: date, last: date) -> list[dict]:
    """Daily energy of one meter [native unit] with completeness; NULL days kept."""
    _check_period(first, last)
    with store.read() as conn:
        row = catalog.entry_row(conn, "meter", meter)
        days = rollups.stored_days(conn, s.meter_daily, "meter_id", "energy", [row["id"]],
                                   first, last)
    return _rows(rollups.DaySeries(days.value[0], days.completeness[0]), "energy", first, last)


def seu_series(store, equipment: str, source: str, first: date, last: date,
               seu: dict | None = None) -> list[dict]:
    """Daily energy of an SEU: the sum of its meters [native unit].

    seu: its catalog entry (``catalog.get_seu``), when the caller has it.
    """
    seu = seu or catalog.get_seu(store, equipment, source)
    _check_metered(seu)
    with store.read() as conn:
        daily = Daily(conn, first, last, seu["meters"], [], {})
    return _rows(daily.seu_energy(seu), "energy", first, last)


def _check_metered(seu: dict) -> None:
    if not seu["meters"]:
        raise EnmsError(f"SEU {seu['name']!r} has no meter yet")


class Daily:
    """The stored daily values of many meters and drivers over [first, last]
    (``rollups.stored_days``: NaN where missing), and what the data-quality log
    holds of them (``quality_findings``; ``checked``: {'meter' | 'driver':
    names}), read at once on an open connection: one query per kind, each
    series once however many SEUs share it.

    meters, drivers: {name: ``rollups.DaySeries``} of one series each; an
    unknown meter has no entry, an unknown driver raises NotFound."""

    def __init__(self, conn, first: date, last: date, meters: list[str], drivers: list[str],
                 checked: dict):
        self.first, self.last, self.days = first, last, _days(first, last)
        ids = {"meter": _ids(conn, s.meters, meters), "driver": _ids(conn, s.drivers, drivers)}
        # By name, as the meters of an SEU are added up (``seu_energy``).
        self.meters = _series(conn, s.meter_daily, "meter_id", "energy", ids["meter"], first,
                              last)
        self.drivers = _driver_series(conn, drivers, ids["driver"], first, last)
        self.findings = {kind: quality_findings(conn, kind, names, first, last, {
            ids[kind][n]: n for n in names if n in ids[kind]}) for kind, names in checked.items()}

    def seu_energy(self, seu: dict) -> rollups.DaySeries:
        """Daily energy of an SEU: its meters added up in the order of their names
        (``rollups.sum_meters``); a day any meter lacks is missing."""
        _check_metered(seu)
        parts = [days for name, days in self.meters.items() if name in seu["meters"]]
        if len(parts) < len(set(seu["meters"])):  # a meter not read: missing every day
            parts.append(rollups.DaySeries(np.full(len(self.days), np.nan),
                                           np.zeros(len(self.days))))
        return rollups.sum_meters(rollups.DaySeries(np.array([p.value for p in parts]),
                                                    np.array([p.completeness for p in parts])))


def _series(conn, daily, key_col: str, value_col: str, ids: dict, first: date,
            last: date) -> dict:
    """{name: ``rollups.DaySeries``} of the meters or drivers ``ids`` ({name: id},
    ``_ids``), in that order, from one query."""
    _check_period(first, last)
    days = rollups.stored_days(conn, daily, key_col, value_col, ids.values(), first, last)
    return {name: rollups.DaySeries(days.value[i], days.completeness[i])
            for i, name in enumerate(ids)}


def _driver_series(conn, drivers: list[str], ids: dict, first: date, last: date) -> dict:
    """``_series`` of drivers ({name: id}: ``_ids`` of them), {name:
    ``rollups.DaySeries``} in the order asked; an unknown driver raises NotFound,
    listing the known ones."""
    found = _series(conn, s.driver_daily, "driver_id", "value", ids, first, last)
    for name in drivers:
        if name not in found:
            catalog.entry_row(conn, "driver", name)  # NotFound, listing the known drivers
    return {name: found[name] for name in drivers}


def driver_series(store, driver: str, first: date, last: date) -> list[dict]:
    """Daily values of a driver by its own roll-up rule; NULL where missing."""
    return drivers_series(store, [driver], first, last)[driver]


def drivers_series(store, drivers: list[str], first: date, last: date) -> dict[str, list[dict]]:
    """``driver_series`` of several drivers in one query: {name: daily rows}."""
    with store.read() as conn:
        found = _driver_series(conn, drivers, _ids(conn, s.drivers, drivers), first, last)
    return {name: _rows(days, "value", first, last) for name, days in found.items()}


def quality_logs(conn, kind: str, names: list[str], first: date, last: date) -> dict:
    """Data-quality log rows ('meter' or 'driver' ``kind``) of several entries over
    first..last in one query: {name: rows by day}, each with the day and what
    ``quality.summarise_log`` reads of it; an entry without rows is absent."""
    if not names:
        return {}
    ids = _log_ids(conn, kind, names)
    log = s.data_quality_log
    found = defaultdict(list)
    for row in conn.execute(sa.select(
            log.c.entity_id, log.c.day, log.c.score, log.c.covered_s, log.c.day_s,
            log.c.findings, log.c.method).where(
            log.c.kind == kind, log.c.entity_id.in_(list(ids)), log.c.day >= first,
            log.c.day <= last).order_by(log.c.entity_id, log.c.day)).mappings():
        found[ids[row["entity_id"]]].append(dict(row))
    return dict(found)


def quality_findings(conn, kind: str, names: list[str], first: date, last: date,
                     ids: dict | None = None) -> dict:
    """What the data-quality log holds of several meters or drivers over first..last:
    {name: (days logged, [(day, findings), ...] of the days with findings)}, in two
    small queries (most days have none: their findings are not read).
    ids: {id: name} of the names, when the caller has them."""
    out = {name: (0, []) for name in names}
    if not names:
        return out
    ids = _log_ids(conn, kind, names) if ids is None else ids
    log = s.data_quality_log
    window = (log.c.kind == kind, log.c.entity_id.in_(list(ids)), log.c.day >= first,
              log.c.day <= last)
    for entity, logged in conn.execute(sa.select(log.c.entity_id, sa.func.count())
                                       .where(*window).group_by(log.c.entity_id)):
        out[ids[entity]] = (logged, [])
    # Skips only the empty list as the JSON type writes it; any other text is read.
    for entity, day, findings in conn.execute(
            sa.select(log.c.entity_id, log.c.day, log.c.findings)
            .where(*window, sa.cast(log.c.findings, sa.Text) != "[]")
            .order_by(log.c.entity_id, log.c.day)):
        out[ids[entity]][1].append((day, findings))
    return out


def _log_ids(conn, kind: str, names) -> dict[int, str]:
    """{id: name} of the meters or drivers named."""
    table = {"meter": s.meters, "driver": s.drivers}[kind]
    return {i: n for n, i in _ids(conn, table, names).items()}


def _ids(conn, table, names) -> dict[str, int]:
    """{name: id} of the catalog rows named (unknown names left out), in the
    database's order of the names."""
    if not names:
        return {}
    return dict(conn.execute(sa.select(table.c.name, table.c.id).where(
        table.c.name.in_(list(names))).order_by(table.c.name)).all())


def monthly(series: list[dict], key: str, rule: str = "sum") -> list[dict]:
    """Roll daily rows up to calendar months.

    A month's value is NULL when any day of it is missing (a partial sum
    would read as a saving); completeness is the mean of the days'.
    """
    months = defaultdict(list)
    for row in series:
        months[row["day"].strftime("%Y-%m")].append(row)
    out = []
    for month, rows in months.items():
        values = [r[key] for r in rows]
        value = None
        if all(v is not None for v in values):
            value = {"sum": sum, "mean": lambda v: sum(v) / len(v), "min": min, "max": max}[rule](values)
        out.append({"month": month, key: value,
                    "completeness": sum(r["completeness"] for r in rows) / len(rows)})
    return out


def summary(store) -> dict:
    """What the database holds: catalog counts, readings per table, date range."""
    result = {"database": store.describe(), "catalog": catalog.counts(store), "readings": {}}
    with store.read() as conn:
        sources = conn.execute(sa.select(s.energy_sources.c.id, s.energy_sources.c.name)).all()
        for source_id, name in sources:
            cols = [c["name"] for c in catalog.source_columns(conn, source_id)]
            table = readings.table(name, cols)
            count, lo, hi = conn.execute(sa.select(
                sa.func.count(), sa.func.min(table.c.ts), sa.func.max(table.c.ts))).one()
            result["readings"][table.name] = {"rows": count, "first_ts": lo, "last_ts": hi}
        count, lo, hi = conn.execute(sa.select(
            sa.func.count(), sa.func.min(s.driver_readings.c.ts),
            sa.func.max(s.driver_readings.c.ts))).one()
        result["readings"]["driver_readings"] = {"rows": count, "first_ts": lo, "last_ts": hi}
        for t in (s.meter_daily, s.driver_daily):
            count, lo, hi = conn.execute(sa.select(
                sa.func.count(), sa.func.min(t.c.day), sa.func.max(t.c.day))).one()
            result["readings"][t.name] = {"rows": count, "first_day": lo, "last_day": hi}
    return result


def last_day(store) -> date | None:
    """The newest local day with meter data: max(day) of the daily rollup
    (one indexed aggregate, not a count of the readings); None when empty."""
    with store.read() as conn:
        day = conn.execute(sa.select(sa.func.max(s.meter_daily.c.day))).scalar()
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return day


# --- hours (computed from the readings on request) ------------------------------

def _site_tz(conn) -> str:
    return conn.execute(sa.select(s.sites.c.timezone).order_by(s.sites.c.id)).scalar() or "UTC"


def _hour_rows(conn, table, key_col, value_col, keys, rule, tz, first, last, key_name):
    """Every UTC hour of the local days first..last, labelled in local time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    start, end = day_bounds(tz, first)[0], day_bounds(tz, last)[1]
    found = {r["hour_ts"]: r for r in rollups.hourly(conn, table, key_col, value_col, keys,
                                                     rule, start, end)}
    zone = ZoneInfo(tz)
    out = []
    for hour_ts in range(start, end, 3600):
        row = found.get(hour_ts)
        out.append({"hour": datetime.fromtimestamp(hour_ts, zone).isoformat(timespec="minutes"),
                    key_name: row["value"] if row else None,
                    "completeness": round(row["completeness"], 6) if row else 0.0})
    return out


def meter_hours(store, meter: str, first: date, last: date) -> list[dict]:
    """Hourly energy of a meter [native unit] over local days first..last."""
    with store.read() as conn:
        row = catalog.entry_row(conn, "meter", meter)
        src = conn.execute(sa.select(s.energy_sources.c.name).where(
            s.energy_sources.c.id == row["source_id"])).scalar_one()
        source = catalog.get_energy_source(store, src)
        table = readings.table(src, [c["name"] for c in source["columns"]])
        return _hour_rows(conn, table, "meter_id", source["energy_column"], [row["id"]], "sum",
                          _site_tz(conn), first, last, "energy")


def seu_hours(store, equipment: str, source: str, first: date, last: date) -> list[dict]:
    """Hourly energy of an SEU: the sum of its meters; missing if any meter is."""
    seu = catalog.get_seu(store, equipment, source)
    if not seu["meters"]:
        raise EnmsError(f"SEU {seu['name']!r} has no meter yet")
    per_meter = [meter_hours(store, m, first, last) for m in seu["meters"]]
    out = []
    for hours in zip(*per_meter):
        values = [h["energy"] for h in hours]
        out.append({"hour": hours[0]["hour"],
                    "energy": None if None in values else sum(values),
                    "completeness": min(h["completeness"] for h in hours)})
    return out


def driver_hours(store, driver: str, first: date, last: date) -> list[dict]:
    """Hourly values of a measured driver by its roll-up rule."""
    with store.read() as conn:
        row = catalog.entry_row(conn, "driver", driver)
        if row["kind"] != "measured":
            raise EnmsError(f"driver {driver!r} is derived per day; it has no hourly values")
        return _hour_rows(conn, s.driver_readings, "driver_id", "value", [row["id"]],
                          row["rollup"], _site_tz(conn), first, last, "value")
