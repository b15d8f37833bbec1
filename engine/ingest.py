"""Importing readings and driver values from CSV, and bulk loads from arrays.

Readings CSV (one energy source per file)::

    timestamp,meter,consumption_m3,flow_rate_m3h,pressure_bar
    2025-01-01 00:00,M-Boiler-1-NG,41.2,41.2,2.1

Drivers CSV, long (``timestamp,driver,value``) or wide
(``timestamp,outdoor_temp_c,production_count``).

Timestamps: ``YYYY-MM-DD HH:MM[:SS]`` in the site's local time, or with an
explicit UTC offset / ``Z``; ``YYYY-MM-DD`` is a whole local day and
``YYYY-MM`` a whole local month. A timestamp marks the START of its interval
unless ``label='end'``. The interval length is the ``duration_s`` column if
present, else the day or month, else the meter's declared interval, else the
typical spacing of that meter's rows in the file.

Counter files (``counter=True``) carry cumulative register values in the
energy column; consecutive readings become interval energies, a drop is a
rollover (meter's ``counter_max``) or a reset to zero.

A file loads in one transaction with its rollups: all good rows or, on a
crash, nothing. Rejected rows are listed with line and reason and written to
``<file>.rejects.csv``; ``strict=True`` rejects the whole file instead.
"""
import csv
import hashlib
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from . import audit, readings, rollups, schema as s
from .catalog import get_energy_source
from .errors import EnmsError
from .localtime import DAY_S, local_offsets, offset_segments, utc_iso

TIME_HEADERS = ("timestamp", "time", "datetime", "ts", "date")
MAX_REJECTS_LISTED = 20
STORED_OVERLAP = ("overlaps a stored reading of another resolution "
                  "(both would count the same time twice)")


class _StrictRollback(Exception):
    """Raised inside the import transaction to undo it (strict mode)."""


@dataclass
class Reject:
    line: int
    reason: str
    fields: list = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did; ``exit_code`` 0 clean, 3 rows rejected, 2 nothing loaded."""
    file: str
    kind: str
    rows_read: int = 0
    rows_inserted: int = 0
    rows_duplicate: int = 0
    rejects: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    rejects_file: str | None = None
    loaded: bool = True
    first_ts: str | None = None
    last_ts: str | None = None

    @property
    def exit_code(self) -> int:
        if not self.loaded:
            return 2
        return 3 if self.rejects else 0

    def as_dict(self) -> dict:
        return {
            "file": self.file, "kind": self.kind, "rows_read": self.rows_read,
            "rows_inserted": self.rows_inserted, "rows_duplicate": self.rows_duplicate,
            "rows_rejected": len(self.rejects), "loaded": self.loaded,
            "first_ts": self.first_ts, "last_ts": self.last_ts,
            "rejects_file": self.rejects_file, "notes": self.notes,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.rejects],
        }


# --- reading the file --------------------------------------------------------

def _read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise EnmsError(f"{path}: the file is empty (a header line is needed)")
            rows, lines = [], []
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
    except FileNotFoundError:
        raise EnmsError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EnmsError(f"{path}: not a readable CSV file ({exc})") from None
    return [h.strip().lower() for h in header], rows, lines


def _time_column(path, header) -> int:
    for name in TIME_HEADERS:
        if name in header:
            return header.index(name)
    raise EnmsError(f"{path}, line 1: no time column (expected one of {', '.join(TIME_HEADERS)})")


@dataclass
class _Times:
    """Parsed timestamps: UTC start [s], natural duration [s] or 0, or an error."""
    ts: np.ndarray
    natural_s: np.ndarray
    errors: dict


def _parse_times(texts: list[str], tz: str) -> _Times:
    """Parse timestamps; naive ones are site-local and checked against DST."""
    n = len(texts)
    texts = [t.strip() for t in texts]
    errors = {}
    local = np.zeros(n, dtype=np.int64)
    aware = np.zeros(n, dtype=bool)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy only warns about offsets
            parsed = np.array(texts, dtype="datetime64[s]")
        if np.isnat(parsed).any():  # numpy reads '' and 'NaT' as not-a-time
            raise ValueError("missing times")
        local = parsed.astype(np.int64)
    except (ValueError, UserWarning, DeprecationWarning):
        local, aware = _parse_offset_times(texts)
        for i in np.flatnonzero(~aware).tolist():
            text = texts[i]
            try:
                local[i], aware[i] = _parse_one_time(text)
            except ValueError:
                errors[i] = f"unparseable time {text!r}"
        if errors and len(errors) < n:
            # Rejected rows get a harmless stand-in so the zone look-up spans real times.
            local[list(errors)] = local[_ok(errors, n)].min()
    lengths = np.array([len(t) for t in texts])
    is_month, is_day = lengths == 7, lengths == 10
    utc = _local_to_utc(local, tz, errors, aware, texts)
    natural = np.zeros(n, dtype=np.int64)
    if is_day.any() or is_month.any():
        # A day or month ends at the next local midnight / first of month.
        ends = local.astype("datetime64[s]")
        ends = np.where(is_month, (ends.astype("datetime64[M]") + 1).astype("datetime64[s]"),
                        ends + np.timedelta64(DAY_S, "s")).astype(np.int64)
        end_utc = _local_to_utc(ends, tz, {}, np.zeros(n, dtype=bool), texts)
        natural = np.where(is_day | is_month, end_utc - utc, 0)
    return _Times(utc, natural, errors)


def _parse_offset_times(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(UTC epoch seconds, parsed) of the times ending in a UTC offset ('+01:00',
    '-05:00' or 'Z') at numpy speed: the times of one text length are cut
    into their local part and offset together (a live batch has one or two
    lengths). Rows it cannot read are left to ``_parse_one_time``."""
    n = len(texts)
    epoch, done = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    lengths = np.array([len(t) for t in texts])
    for width in np.unique(lengths[lengths >= 17]).tolist():   # 'YYYY-MM-DDTHH:MMZ'
        rows = np.flatnonzero(lengths == width)
        chars = np.array([texts[i] for i in rows], dtype=f"<U{width}").view("<U1")
        chars = chars.reshape(-1, width)
        zulu = chars[:, -1] == "Z"
        signed = np.isin(chars[:, -6], ("+", "-")) & (chars[:, -3] == ":")
        for mask, cut in ((zulu, 1), (signed, 6)):
            part = chars[mask]
            body = np.ascontiguousarray(part[:, :width - cut]).view(f"<U{width - cut}").ravel()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    local = np.array(body, dtype="datetime64[s]")
                hh_mm = part[:, [-5, -4, -2, -1]].astype(np.int64) if cut == 6 \
                    else np.zeros((len(part), 4), dtype=np.int64)
            except (ValueError, UserWarning, DeprecationWarning):
                continue
            sign = np.where(part[:, -6] == "-", -1, 1) if cut == 6 else 1
            offset_s = sign * ((hh_mm[:, 0] * 10 + hh_mm[:, 1]) * 3600
                               + (hh_mm[:, 2] * 10 + hh_mm[:, 3]) * 60)
            good = ~np.isnat(local)
            index = rows[mask][good]
            epoch[index] = local[good].astype(np.int64) - offset_s[good] if cut == 6 \
                else local[good].astype(np.int64)
            done[index] = True
    return epoch, done


def _parse_one_time(text: str) -> tuple[int, bool]:
    """(epoch seconds, has an explicit offset) of one ISO 8601 time or date."""
    if text.endswith("Z") or "+" in text[10:] or "-" in text[10:]:
        parsed = datetime.fromisoformat(text)
        return int(parsed.timestamp()), parsed.tzinfo is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = np.datetime64(text, "s")
    if np.isnat(value):
        raise ValueError(text)
    return int(value.astype(np.int64)), False


def _local_to_utc(local, tz, errors, aware, texts) -> np.ndarray:
    """Site-local epoch seconds to UTC; flags times DST skips or repeats."""
    if len(local) == 0:
        return local
    segments = offset_segments(tz, int(local.min()) - 2 * DAY_S, int(local.max()) + 2 * DAY_S)
    candidates = sorted({o for _, o in segments})
    valid = np.zeros((len(candidates), len(local)), dtype=bool)
    for k, offset in enumerate(candidates):
        valid[k] = local_offsets(segments, local - offset) == offset
    count = valid.sum(axis=0)
    chosen = np.array(candidates)[np.argmax(valid, axis=0)]
    for i in np.flatnonzero((count != 1) & ~aware):
        if i not in errors:
            what = "does not exist" if count[i] == 0 else "is ambiguous"
            errors[int(i)] = (f"time {texts[i]!r} {what} in {tz} (daylight-saving change); "
                              "give a UTC offset such as +01:00")
    return np.where(aware, local, local - chosen)


def parse_numbers(texts: list[str], column: str, errors: dict) -> np.ndarray:
    """Floats from text cells; empty cells are missing (NaN), never 0. A cell
    that is not a finite number is an error in ``errors`` (row -> reason)."""
    values = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        text = text.strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            errors.setdefault(i, f"{column}: not a number: {text!r}")
            continue
        values[i] = value
    return values


# --- intervals -----------------------------------------------------------------

def _durations(keys, ts, natural_s, explicit_s, declared_s: dict, ok) -> tuple[np.ndarray, dict]:
    """Interval length of each row [s], and errors for rows where none can be told."""
    duration = np.where(explicit_s > 0, explicit_s, natural_s).astype(np.int64)
    errors = {}
    for key in np.unique(keys[ok & (duration <= 0)]):
        rows = np.flatnonzero(ok & (keys == key))
        need = rows[duration[rows] <= 0]
        if len(need) == 0:
            continue
        if declared_s.get(int(key)):
            duration[need] = declared_s[int(key)]
            continue
        spacing = np.diff(np.unique(ts[rows]))
        if len(spacing) == 0:
            for i in need:
                errors[int(i)] = "cannot tell the interval of a single reading: add a duration_s column"
            continue
        # The most common spacing (the smallest among equals): gaps do not
        # stretch the interval of the readings around them.
        values, counts = np.unique(spacing, return_counts=True)
        duration[need] = int(values[np.argmax(counts)])
    return duration, errors


def _overlaps(keys, ts, duration, ok) -> dict:
    """Rows that overlap the previous reading of the same key in the file."""
    index = np.flatnonzero(ok)
    order = index[np.lexsort((ts[index], keys[index]))]
    prev, cur = order[:-1], order[1:]
    hit = (keys[prev] == keys[cur]) & (ts[prev] + duration[prev] > ts[cur]) & (ts[prev] != ts[cur])
    return {int(c): (f"overlaps the reading at line {{line:{int(p)}}} "
                     "(two resolutions for the same time would count energy twice)")
            for p, c in zip(prev[hit], cur[hit])}


def _duplicates(keys, ts, values: list[np.ndarray], ok) -> tuple[np.ndarray, dict, int]:
    """Rows repeating (key, ts) in the file: identical repeats are dropped
    (and counted), differing ones are all rejected (which one is right is unknown).

    Returns (rows to keep, errors, number of identical repeats).
    """
    keep = ok.copy()
    errors = {}
    repeats = 0
    index = np.flatnonzero(ok)
    order = index[np.lexsort((ts[index], keys[index]))]
    same_key = (keys[order][1:] == keys[order][:-1]) & (ts[order][1:] == ts[order][:-1])
    for j in np.flatnonzero(same_key):
        first, second = order[j], order[j + 1]
        identical = all((v[first] == v[second]) or (np.isnan(v[first]) and np.isnan(v[second]))
                        for v in values)
        keep[second] = False
        repeats += identical
        if not identical:
            errors[int(first)] = f"same time as line {{line:{second}}} with a different value"
            errors[int(second)] = f"same time as line {{line:{first}}} with a different value"
    return keep, errors, repeats


# --- counters --------------------------------------------------------------------

def _counter_intervals(conn, target, meter_ids, ts, counter, meters: list, notes, labels,
                       anchors: dict | None = None):
    """Turn cumulative register readings into interval rows.

    Returns (row index of each interval's end reading, start ts, duration,
    energy, counter_end, readings at or before the meter's last known one:
    replays that add nothing). Each meter's first reading pairs with the last
    stored reading before it or, with none stored, with its reading in
    ``anchors`` (meter id -> (time [s], register), readings that were not
    stored, e.g. a listener's first of each meter), if any. ``anchors`` is
    updated with each meter's newest reading. labels: each row's name in
    notes ("line 4").
    """
    counter_max = {m["id"]: m["counter_max"] for m in meters}
    names = {m["id"]: m["name"] for m in meters}
    anchors = {} if anchors is None else anchors
    out, replays = [], 0
    for meter in np.unique(meter_ids[meter_ids >= 0]):
        rows = np.flatnonzero((meter_ids == meter) & ~np.isnan(counter))
        rows = rows[np.argsort(ts[rows])]
        if len(rows) == 0:
            continue
        prior = conn.execute(
            sa.select(target.c.ts, target.c.duration_s, target.c.counter_end)
            .where(target.c.meter_id == int(meter), target.c.ts < int(ts[rows[0]]),
                   target.c.counter_end.is_not(None))
            .order_by(target.c.ts.desc()).limit(1)).first()
        prev_ts = prev_value = None
        if prior is not None:
            prev_ts, prev_value = prior.ts + prior.duration_s, prior.counter_end
        elif anchors.get(int(meter), (ts[rows[0]],))[0] < ts[rows[0]]:
            prev_ts, prev_value = anchors[int(meter)]
        else:
            notes.append(f"meter {names[int(meter)]!r}: the first reading "
                         f"({labels[rows[0]]}) only anchors the counter")
        for i in rows:
            if prev_ts is not None and ts[i] <= prev_ts:
                replays += 1
                continue
            if prev_ts is not None:
                delta = counter[i] - prev_value
                if delta < 0:
                    top = counter_max.get(int(meter))
                    if top:
                        delta = counter[i] + top - prev_value
                        notes.append(f"{labels[i]}: counter rolled over at {top:,.10g}")
                    else:
                        delta = counter[i]
                        notes.append(f"{labels[i]}: counter reset (dropped from "
                                     f"{prev_value:,.10g} to {counter[i]:,.10g}); counted from zero")
                out.append((i, prev_ts, ts[i] - prev_ts, delta, counter[i]))
            prev_ts, prev_value = ts[i], counter[i]
        anchors[int(meter)] = (int(prev_ts), float(prev_value))
    if not out:
        return (np.array([], dtype=np.int64),) * 3 + (np.array([]),) * 2 + (replays,)
    idx, start, dur, energy, end = map(np.array, zip(*out))
    return (idx.astype(np.int64), start.astype(np.int64), dur.astype(np.int64), energy, end,
            replays)


# --- loading arrays (used by CSV import, the demo and live ingest) ----------------

def load_readings(conn, source: dict, batch: readings.Batch, progress=None) -> tuple[int, np.ndarray]:
    """Insert a batch into a source's readings table and refresh the daily rollups.

    Returns (rows inserted, indices of rows that clash with stored values).
    Raises EnmsError when the rows overlap stored readings of another
    resolution, which would count energy twice.
    """
    target = readings.table(source["name"], [c["name"] for c in source["columns"]])
    clash = readings.overlapping(conn, target, batch.meter_id, batch.ts, batch.duration_s)
    if len(clash):
        name = conn.execute(sa.select(s.meters.c.name).where(
            s.meters.c.id == int(batch.meter_id[clash[0]]))).scalar()
        raise EnmsError(f"meter {name!r}: {len(clash)} reading(s) overlap other readings of the "
                        f"same time, first at {utc_iso(batch.ts[clash[0]])} (two resolutions "
                        "would count energy twice); nothing imported")
    columns = batch.columns()
    inserted = readings.insert(conn, target, columns, progress=progress)
    conflicts = np.array([], dtype=np.int64)
    if inserted < len(batch):
        conflicts = readings.find_conflicts(conn, target, columns)
    _refresh_meter_rollups(conn, target, source["energy_column"], batch.meter_id,
                           batch.ts, batch.duration_s)
    return inserted, conflicts


def _site_timezones(conn, meter_ids) -> dict:
    rows = conn.execute(
        sa.select(s.meters.c.id, s.sites.c.timezone)
        .join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id)
        .join(s.sites, s.sites.c.id == s.equipment.c.site_id)
        .where(s.meters.c.id.in_([int(m) for m in meter_ids])))
    return {r.id: r.timezone for r in rows}


def _refresh_meter_rollups(conn, target, energy_column, meter_ids, ts, duration_s) -> None:
    if len(ts) == 0:
        return
    zones = _site_timezones(conn, np.unique(meter_ids))
    for tz in set(zones.values()):
        ids = [m for m, z in zones.items() if z == tz]
        mask = np.isin(meter_ids, ids)
        first, last = rollups.touched_days(tz, int(ts[mask].min()),
                                           int((ts[mask] + duration_s[mask]).max()))
        rollups.refresh_meters(conn, target, energy_column, ids, tz, first, last)


def load_driver_values(conn, driver_ids, ts, duration_s, values, progress=None):
    """Insert driver readings and refresh their daily rollups (and degree days)."""
    columns = [("driver_id", np.asarray(driver_ids, dtype=np.int64)),
               ("ts", np.asarray(ts, dtype=np.int64)),
               ("duration_s", np.asarray(duration_s, dtype=np.int64)),
               ("value", np.asarray(values, dtype=np.float64))]
    clash = readings.overlapping(conn, s.driver_readings, columns[0][1], columns[1][1],
                                 columns[2][1], key="driver_id")
    if len(clash):
        raise EnmsError(f"{len(clash)} driver reading(s) overlap other readings of the same "
                        f"driver, first at {utc_iso(columns[1][1][clash[0]])}; nothing imported")
    inserted = readings.insert(conn, s.driver_readings, columns, key="driver_id", progress=progress)
    conflicts = np.array([], dtype=np.int64)
    if inserted < len(ts):
        conflicts = readings.find_conflicts(conn, s.driver_readings, columns, key="driver_id")
    if len(ts):
        ids = [int(i) for i in np.unique(columns[0][1])]
        rows = conn.execute(sa.select(s.drivers).where(s.drivers.c.id.in_(ids))).mappings().all()
        tz = _single_timezone(conn)
        end = columns[1][1] + columns[2][1]
        first, last = rollups.touched_days(tz, int(columns[1][1].min()), int(end.max()))
        rollups.refresh_drivers(conn, [dict(r) for r in rows], tz, first, last)
    return inserted, conflicts


def _single_timezone(conn) -> str:
    # Drivers are plant-wide; their days are those of the (first) site.
    tz = conn.execute(sa.select(s.sites.c.timezone).order_by(s.sites.c.id)).scalar()
    if tz is None:
        raise EnmsError("no site yet: add one first (enms catalog add site NAME --timezone ZONE)")
    return tz


# --- CSV imports ---------------------------------------------------------------------

def _lookup(conn, table, names, what, extra=None) -> tuple[np.ndarray, dict]:
    """Ids for names (-1 where unknown) and a reason per unknown name."""
    query = sa.select(table.c.name, table.c.id)
    if extra is not None:
        query = query.where(extra)
    known = dict(conn.execute(query).all())
    ids = np.array([known.get(n.strip(), -1) for n in names], dtype=np.int64)
    listing = ", ".join(sorted(known)) or "none"
    reasons = {n: f"unknown {what} {n.strip()!r} (known: {listing})"
               for n in set(names) if n.strip() not in known}
    return ids, reasons


def _finish(report: ImportReport, rows, lines, errors: dict) -> None:
    """Turn row-index errors into rejects with line numbers."""
    for i in sorted(errors):
        report.rejects.append(Reject(lines[i], resolve_lines(errors[i], lines), rows[i]))


def resolve_lines(reason: str, lines) -> str:
    """A row's reason with each '{line:K}' (another row, by index) as ``lines[K]``."""
    while "{line:" in reason:
        start = reason.index("{line:")
        end = reason.index("}", start)
        reason = reason[:start] + str(lines[int(reason[start + 6:end])]) + reason[end + 1:]
    return reason


def _write_rejects(report: ImportReport, path: Path, header) -> None:
    if not report.rejects:
        return
    target = path.with_name(path.name + ".rejects.csv")
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason", *header])
        for r in report.rejects:
            writer.writerow([r.line, r.reason, *r.fields])
    report.rejects_file = str(target)


def _record_batch(conn, report: ImportReport, path: Path, source: str | None,
                  actor: str | None) -> None:
    """The batch in import_batches and, with the same counts, in the audit trail."""
    actor = actor or audit.default_actor()
    batch = {"kind": report.kind, "source": source, "file_name": str(path),
             "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
             "rows_read": report.rows_read, "rows_inserted": report.rows_inserted,
             "rows_duplicate": report.rows_duplicate, "rows_rejected": len(report.rejects)}
    conn.execute(s.import_batches.insert().values(
        **batch, imported_by=actor, imported_at=datetime.now(timezone.utc)))
    audit.record(conn, actor, f"import.{report.kind}", "file", path.name,
                 after={**batch, "first_ts": report.first_ts, "last_ts": report.last_ts})


def _column(rows, index) -> list[str]:
    return [r[index] if index < len(r) else "" for r in rows]


def _duration_column(header, rows, errors: dict) -> np.ndarray:
    """The duration_s column [s], NaN where it is empty or absent."""
    if "duration_s" not in header:
        return np.full(len(rows), np.nan)
    return parse_numbers(_column(rows, header.index("duration_s")), "duration_s", errors)


def _explicit_durations(seconds: np.ndarray, errors: dict) -> np.ndarray:
    """Given interval lengths [s] as integers, 0 where the interval is to be inferred (NaN)."""
    _merge(errors, {i: "duration_s must be > 0"
                    for i in np.flatnonzero(~np.isnan(seconds) & (seconds <= 0))})
    return np.where(np.isnan(seconds) | (seconds <= 0), 0, seconds).astype(np.int64)


def _ok(errors: dict, n: int) -> np.ndarray:
    """True for rows without an error so far."""
    ok = np.ones(n, dtype=bool)
    if errors:
        ok[np.fromiter(errors, dtype=np.int64)] = False
    return ok


def _merge(errors: dict, new: dict) -> None:
    """Add errors for rows that have none yet (the first reason found is kept)."""
    for i, message in new.items():
        errors.setdefault(int(i), message)


def _check_header(path, header, time_i, src) -> None:
    if "meter" not in header:
        raise EnmsError(f"{path}, line 1: no 'meter' column")
    declared = {c["name"] for c in src["columns"]}
    unknown = [h for h in header if h not in declared and h not in
               (header[time_i], "meter", "duration_s")]
    if unknown:
        raise EnmsError(f"{path}, line 1: column(s) {', '.join(unknown)} not declared by energy "
                        f"source {src['name']!r} (its columns: {', '.join(sorted(declared))})")
    if src["energy_column"] not in header:
        raise EnmsError(f"{path}, line 1: no {src['energy_column']!r} column "
                        f"(the energy of source {src['name']!r})")


def _parse_times_by_zone(conn, texts: list[str], meter_ids: np.ndarray) -> _Times:
    """Parse each row's time in the zone of its meter's site."""
    zones = _site_timezones(conn, np.unique(meter_ids[meter_ids >= 0]))
    default = _single_timezone(conn)
    row_zone = np.array([zones.get(int(m), default) for m in meter_ids], dtype=object)
    ts = np.zeros(len(texts), dtype=np.int64)
    natural = np.zeros(len(texts), dtype=np.int64)
    errors = {}
    for tz in set(row_zone):
        index = np.flatnonzero(row_zone == tz)
        part = _parse_times([texts[i] for i in index], tz)
        ts[index], natural[index] = part.ts, part.natural_s
        errors.update({int(index[i]): message for i, message in part.errors.items()})
    return _Times(ts, natural, errors)


def check_reading_rows(conn, src: dict, header: list[str], rows: list[list[str]], errors: dict,
                       *, counter: bool = False, label: str = "start", notes: list | None = None,
                       lines=None) -> tuple[readings.Batch, np.ndarray, int]:
    """Validate rows of one energy source's readings, as text cells under ``header``.

    The rules of a CSV row (module docstring): known meter, parseable time in
    its site's zone, numbers, a length for every interval, no negative
    energy, no overlap with the file's other rows or stored readings. Reasons
    go into ``errors`` (row index -> text; '{line:K}' names row K).

    Returns (the good rows as a batch, their row indices, identical repeats dropped).
    """
    number_errors = {}
    values = {c["name"]: parse_numbers(_column(rows, header.index(c["name"])), c["name"],
                                       number_errors)
              for c in src["columns"] if c["name"] in header}
    duration_s = _duration_column(header, rows, number_errors)
    lines = range(1, len(rows) + 1) if lines is None else lines
    return check_readings(conn, src, _column(rows, header.index("meter")),
                          _column(rows, _time_column("rows", header)), values, duration_s,
                          errors, number_errors, counter=counter, label=label, notes=notes,
                          labels=[f"line {line}" for line in lines] if counter else None)


def check_readings(conn, src: dict, meter_names: list[str], times: list[str], values: dict,
                   duration_s: np.ndarray, errors: dict, number_errors: dict, *,
                   counter: bool = False, label: str = "start", notes: list | None = None,
                   labels: list[str] | None = None, anchors: dict | None = None,
                   ) -> tuple[readings.Batch, np.ndarray, int]:
    """Validate readings of one energy source given column by column: the
    rules of a CSV row, for ``check_reading_rows`` and for live ingest
    (``engine.stream``, which reads numbers from JSON without text).

    meter_names, times: one text per row (times as in a CSV file). values:
    column -> float array [native unit], NaN where missing. duration_s: the
    given interval lengths [s], NaN where not given. number_errors: reasons
    of cells that were not numbers (row -> text), ranked after the meter and
    time of a row, as in a CSV file. counter: values[energy] holds register
    readings, each ``times`` the moment it was read; labels: each row's name
    in the notes on counters ("line 4"); anchors: as for
    ``_counter_intervals``. The rest as for ``check_reading_rows``.
    """
    n = len(times)
    notes = [] if notes is None else notes
    labels = [f"row {i + 1}" for i in range(n)] if labels is None else labels
    energy, source = src["energy_column"], src["name"]
    meter_rows = conn.execute(sa.select(s.meters).where(
        s.meters.c.source_id == src["id"])).mappings().all()
    meter_ids, unknown_meter = _lookup(conn, s.meters, meter_names, f"{source} meter",
                                       s.meters.c.source_id == src["id"])
    _merge(errors, {i: unknown_meter[meter_names[i]] for i in np.flatnonzero(meter_ids < 0)})
    times = _parse_times_by_zone(conn, times, meter_ids)
    _merge(errors, times.errors)
    _merge(errors, number_errors)
    explicit = _explicit_durations(duration_s, errors)
    if not counter:
        _merge(errors, {i: f"{energy}: negative interval energy {values[energy][i]:g}"
                        for i in np.flatnonzero(values[energy] < 0)})
    target = readings.table(source, [c["name"] for c in src["columns"]])
    if counter:
        keep, dup_errors, repeats = _duplicates(meter_ids, times.ts, list(values.values()),
                                                _ok(errors, n))
        _merge(errors, dup_errors)
        keep &= _ok(errors, n)
        batch_rows, start, duration, energy_delta, counter_end, replays = _counter_intervals(
            conn, target, np.where(keep, meter_ids, -1), times.ts,
            np.where(keep, values[energy], np.nan), meter_rows, notes, labels, anchors)
        batch = readings.Batch(
            meter_ids[batch_rows], start, duration,
            {c: (energy_delta if c == energy else v[batch_rows]) for c, v in values.items()},
            counter_end)
        repeats += replays
    else:
        interval = {m["id"]: m["interval_s"] for m in meter_rows}
        duration, dur_errors = _durations(meter_ids, times.ts, times.natural_s, explicit,
                                          interval, _ok(errors, n))
        _merge(errors, dur_errors)
        ts = times.ts - duration if label == "end" else times.ts
        keep, dup_errors, repeats = _duplicates(meter_ids, ts, list(values.values()),
                                                _ok(errors, n))
        _merge(errors, dup_errors)
        _merge(errors, _overlaps(meter_ids, ts, duration, keep))
        batch_rows = np.flatnonzero(keep & _ok(errors, n))
        clash = batch_rows[readings.overlapping(conn, target, meter_ids[batch_rows],
                                                ts[batch_rows], duration[batch_rows])]
        _merge(errors, {i: STORED_OVERLAP for i in clash})
        batch_rows = np.setdiff1d(batch_rows, clash)
        batch = readings.Batch(meter_ids[batch_rows], ts[batch_rows], duration[batch_rows],
                               {c: v[batch_rows] for c, v in values.items()})
    return batch, batch_rows, repeats


def import_readings(store, path, source: str, *, strict: bool = False, counter: bool = False,
                    label: str = "start", progress=None, actor: str | None = None) -> ImportReport:
    """Import a readings CSV of one energy source (see the module docstring).

    actor: who imports, for the batch record and the audit trail (default
    ``audit.default_actor()``).
    """
    path = Path(path)
    src = get_energy_source(store, source)
    header, rows, lines = _read_csv(path)
    report = ImportReport(str(path), "readings", rows_read=len(rows))
    time_i = _time_column(path, header)
    _check_header(path, header, time_i, src)
    errors = {i: f"expected {len(header)} fields, found {len(row)}"
              for i, row in enumerate(rows) if len(row) != len(header)}
    try:
        with store.begin() as conn:
            batch, batch_rows, repeats = check_reading_rows(conn, src, header, rows, errors,
                                                            counter=counter, label=label,
                                                            notes=report.notes, lines=lines)
            report.rows_duplicate += repeats
            if strict and errors:
                _finish(report, rows, lines, errors)
                report.loaded = False
                return report
            inserted, conflicts = load_readings(conn, src, batch, progress)
            _settle(report, conn, path, rows, lines, errors, batch_rows, inserted,
                    conflicts, len(batch), strict, source, batch.ts, actor)
    except _StrictRollback:
        pass
    if report.loaded:
        _write_rejects(report, path, header)
    return report


def _settle(report, conn, path, rows, lines, errors, batch_rows, inserted, conflicts,
            batch_size, strict, source, ts, actor) -> None:
    """Count what happened, list clashes with stored values, record the batch."""
    for j in conflicts:
        errors.setdefault(int(batch_rows[j]),
                          "a different value is already stored for this time")
    report.rows_inserted = inserted
    report.rows_duplicate += batch_size - inserted - len(conflicts)
    _finish(report, rows, lines, errors)
    if len(ts):
        report.first_ts, report.last_ts = utc_iso(ts.min()), utc_iso(ts.max())
    if strict and report.rejects:
        report.loaded = False
        report.rows_inserted = 0
        raise _StrictRollback
    _record_batch(conn, report, path, source, actor)


@dataclass
class DriverRows:
    """The good driver values of some rows: arrays of equal length, ``row`` the
    row each came from; ``repeats`` identical repeats dropped."""
    driver_id: np.ndarray
    ts: np.ndarray
    duration_s: np.ndarray
    value: np.ndarray
    row: np.ndarray
    repeats: int


def check_driver_rows(conn, header: list[str], rows: list[list[str]], errors: dict, *,
                      label: str = "start", where="rows") -> DriverRows:
    """Validate driver rows, long (timestamp,driver,value) or wide, as text cells.

    The rules of a CSV row, as for ``check_reading_rows``; reasons go into
    ``errors``. where: the file (or stream) named in a header error.
    """
    n = len(rows)
    time_i = _time_column(where, header)
    tz = _single_timezone(conn)
    measured = s.drivers.c.kind == "measured"
    times = _parse_times(_column(rows, time_i), tz)
    _merge(errors, times.errors)
    explicit = _explicit_durations(_duration_column(header, rows, errors), errors)
    if "driver" in header and "value" in header:
        names = _column(rows, header.index("driver"))
        ids, unknown = _lookup(conn, s.drivers, names, "measured driver", measured)
        _merge(errors, {i: unknown[names[i]] for i in np.flatnonzero(ids < 0)})
        value = parse_numbers(_column(rows, header.index("value")), "value", errors)
        row_of = np.arange(n)
    else:
        wide = [h for h in header if h not in (header[time_i], "duration_s")]
        known, unknown = _lookup(conn, s.drivers, wide, "measured driver", measured)
        if (known < 0).any():
            raise EnmsError(f"{where}, line 1: " + "; ".join(unknown.values()))
        parsed = [parse_numbers(_column(rows, header.index(h)), h, errors) for h in wide]
        ids = np.repeat(known, n)
        value = np.concatenate(parsed) if parsed else np.array([])
        row_of = np.tile(np.arange(n), len(wide))

    def ok_entries():
        return _ok(errors, n)[row_of] & (ids >= 0)

    def as_row_errors(entry_errors: dict) -> dict:
        # Entry indices (cells) back to file rows, in keys and in '{line:K}'.
        return {int(row_of[k]): renumber_lines(m, row_of) for k, m in entry_errors.items()}

    duration, dur_errors = _durations(ids, times.ts[row_of], times.natural_s[row_of],
                                      explicit[row_of], {}, ok_entries())
    _merge(errors, as_row_errors(dur_errors))
    ts = times.ts[row_of] - (duration if label == "end" else 0)
    keep, dup_errors, repeats = _duplicates(ids, ts, [value], ok_entries())
    _merge(errors, as_row_errors(dup_errors))
    _merge(errors, as_row_errors(_overlaps(ids, ts, duration, keep)))
    keep &= ok_entries() & ~np.isnan(value)  # an empty cell is no reading, not a zero
    kept = np.flatnonzero(keep)
    clash = kept[readings.overlapping(conn, s.driver_readings, ids[kept], ts[kept],
                                      duration[kept], key="driver_id")]
    _merge(errors, {int(row_of[k]): STORED_OVERLAP for k in clash})
    keep[clash] = False
    sel = np.flatnonzero(keep)
    return DriverRows(ids[sel], ts[sel], duration[sel], value[sel], row_of[sel], repeats)


def import_drivers(store, path, *, strict: bool = False, label: str = "start",
                   progress=None, actor: str | None = None) -> ImportReport:
    """Import driver values, long (timestamp,driver,value) or wide (timestamp,<driver>...).

    In a wide file each cell is one reading; errors still name the file line.
    actor: as for ``import_readings``.
    """
    path = Path(path)
    header, rows, lines = _read_csv(path)
    report = ImportReport(str(path), "drivers", rows_read=len(rows))
    _time_column(path, header)
    errors = {i: f"expected {len(header)} fields, found {len(row)}"
              for i, row in enumerate(rows) if len(row) != len(header)}
    try:
        with store.begin() as conn:
            good = check_driver_rows(conn, header, rows, errors, label=label, where=path)
            report.rows_duplicate += good.repeats
            if strict and errors:
                _finish(report, rows, lines, errors)
                report.loaded = False
                return report
            inserted, conflicts = load_driver_values(conn, good.driver_id, good.ts,
                                                     good.duration_s, good.value, progress)
            _settle(report, conn, path, rows, lines, errors, good.row, inserted,
                    conflicts, len(good.ts), strict, None, good.ts, actor)
    except _StrictRollback:
        pass
    if report.loaded:
        _write_rejects(report, path, header)
    return report


def renumber_lines(message: str, row_of) -> str:
    """Rewrite each '{line:K}' as '{line:row_of[K]}' (K an entry or a part's row)."""
    parts = message.split("{line:")
    for j in range(1, len(parts)):
        index, rest = parts[j].split("}", 1)
        parts[j] = f"{row_of[int(index)]}}}{rest}"
    return "{line:".join(parts)


def summarize_rejects(report: ImportReport, limit: int = MAX_REJECTS_LISTED) -> list[str]:
    """One line per rejected row (the first ``limit``), then a count of the rest."""
    out = [f"{report.file}, line {r.line}: {r.reason}" for r in report.rejects[:limit]]
    if len(report.rejects) > limit:
        reasons = Counter(r.reason.split(":")[0] for r in report.rejects[limit:])
        out.append(f"... and {len(report.rejects) - limit} more ("
                   + ", ".join(f"{k}: {v}" for k, v in reasons.most_common(3)) + ")")
    return out
