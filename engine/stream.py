"""Live readings from a message stream: topics, payloads, mappings, batches.

The topic scheme (docs/user-guide.md, "Live data over MQTT")::

    enms/<site>/meter/<meter>     {"ts": "2025-06-02T08:00:00+02:00", "duration_s": 60,
                                   "consumption_kwh": 1.25, "power_kw": 75.0}
    enms/<site>/driver/<driver>   {"ts": "2025-06-02T08:00:00+02:00", "duration_s": 3600,
                                   "value": 21.5}

A payload is one JSON object or a list of them (a bulk message). ``ts`` marks
the START of the interval; it is ISO 8601, best with its UTC offset (without
one it is the site's local time, as in a CSV file). ``duration_s`` may be
left out where the meter declares its interval. The other keys of a meter
message are the columns its energy source declares. A counter meter sends
``counter`` (its register at ``ts``) instead of the energy column: the
interval since its previous register, as in a ``--counter`` CSV file.

Plants that already publish their own topics give a mapping file (TOML)
with one ``[[route]]`` per topic pattern: which meter or driver, which
payload key holds which column, a scale factor to the native unit, and the
timestamp format (``load_mapping``).

Every reading is validated exactly like a row of a CSV file
(``ingest.check_readings`` / ``ingest.check_driver_rows``) and written by
the same load path (``ingest.load_readings`` / ``load_driver_values``): a
redelivered message is a duplicate, never counted twice, so at-least-once
delivery is safe. A batch is handled column by column: the JSON numbers of
all its messages become one float array per column, never text cells and
back. Nothing here speaks MQTT; engine/cli/listen.py does.
"""
from __future__ import annotations

import logging
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import sqlalchemy as sa

from . import catalog, ingest, readings, schema as s
from .errors import EnmsError

log = logging.getLogger("enms.stream")

TS_FORMATS = ("iso", "epoch_s", "epoch_ms")
KINDS = ("meter", "driver")
BATCH_MESSAGES = 5000     # a batch is written when it holds this many messages ...
BATCH_AGE_S = 1.0         # ... or its oldest message waited this long
MAX_PENDING = 50_000      # messages held at most while the database is away
RETRY_FIRST_S = 0.5       # database retries: 0.5 s, 1 s, 2 s, ... 30 s
RETRY_MAX_S = 30.0


class MessageError(ValueError):
    """A message that cannot become readings: malformed, or for no route."""


@dataclass(frozen=True)
class Route:
    """How messages on a topic pattern become meter or driver readings.

    topic: MQTT topic levels; ``{site}``, ``{meter}`` or ``{driver}`` captures
    one level, ``+`` matches one, ``#`` the rest. name: a fixed meter or
    driver (else the ``{meter}``/``{driver}`` level). fields: payload key ->
    column (a driver's column is ``value``); empty means the keys are the
    column names and an unknown key is an error. scale: column -> factor to
    the native unit (e.g. 0.001 for Wh to kWh). duration_s: the interval
    length [s] when the payload has no ``duration`` key.
    """
    topic: str
    kind: str
    name: str | None = None
    fields: dict = field(default_factory=dict)
    scale: dict = field(default_factory=dict)
    ts_key: str = "ts"
    ts_format: str = "iso"
    duration_key: str = "duration_s"
    duration_s: float | None = None

    @property
    def subscription(self) -> str:
        """The MQTT topic filter of the route."""
        return "/".join("+" if _capture(p) else p for p in self.topic.split("/"))

    def match(self, topic: str) -> dict | None:
        """The captured levels of a topic, or None when it is not this route's."""
        got, pattern, levels = {}, self.topic.split("/"), topic.split("/")
        for i, part in enumerate(pattern):
            if part == "#":
                return got
            if i >= len(levels):
                return None
            if _capture(part):
                got[_capture(part)] = levels[i]
            elif part not in ("+", levels[i]):
                return None
        return got if len(levels) == len(pattern) else None


def _capture(level: str) -> str | None:
    return level[1:-1] if level.startswith("{") and level.endswith("}") else None


DEFAULT_ROUTES = (Route("enms/{site}/meter/{meter}", "meter"),
                  Route("enms/{site}/driver/{driver}", "driver"))


def load_mapping(path) -> list[Route]:
    """Routes from a TOML mapping file::

        [[route]]
        topic = "press-shop/{meter}/energy"  # or a fixed meter: meter = "M-Press-1"
        kind = "meter"
        timestamp = "t"                      # payload key of the start (default ts)
        timestamp_format = "epoch_s"         # iso (default), epoch_s, epoch_ms
        duration_s = 900                     # when the payload has no duration_s
        fields = {kwh = "consumption_kwh"}   # payload key -> column (default: all, as named)
        scale = {}                           # column -> factor to the native unit

    (docs/user-guide.md, section 16, has a fuller example.)
    A bad file is one EnmsError naming the file and the route.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnmsError(f"{path}: no such mapping file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnmsError(f"{path}: not a TOML mapping file ({exc})") from None
    entries = data.get("route")
    if not isinstance(entries, list) or not entries:
        raise EnmsError(f"{path}: no [[route]] entries")
    return [_route(entry, f"{path}, route {i + 1}") for i, entry in enumerate(entries)]


_ROUTE_KEYS = {"topic", "kind", "meter", "driver", "fields", "scale", "timestamp",
               "timestamp_format", "duration", "duration_s"}


def _route(entry: dict, where: str) -> Route:
    unknown = sorted(set(entry) - _ROUTE_KEYS)
    if unknown:
        raise EnmsError(f"{where}: unknown key(s) {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(_ROUTE_KEYS))})")
    topic, kind = entry.get("topic"), entry.get("kind")
    if not isinstance(topic, str) or not topic:
        raise EnmsError(f"{where}: 'topic' is required")
    if kind not in KINDS:
        raise EnmsError(f"{where}: 'kind' must be meter or driver, not {kind!r}")
    name = entry.get(kind)
    if name is None and f"{{{kind}}}" not in topic.split("/"):
        raise EnmsError(f"{where}: give {kind} = NAME or a {{{kind}}} level in the topic")
    fields, scale = entry.get("fields", {}), entry.get("scale", {})
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise EnmsError(f"{where}: 'fields' maps payload keys to column names")
    if kind == "driver" and set(fields.values()) - {"value"}:
        raise EnmsError(f"{where}: a driver route maps one payload key to 'value'")
    if not isinstance(scale, dict) or not all(
            isinstance(v, (int, float)) and math.isfinite(v) and v != 0 for v in scale.values()):
        raise EnmsError(f"{where}: 'scale' maps column names to non-zero numbers")
    ts_format = entry.get("timestamp_format", "iso")
    if ts_format not in TS_FORMATS:
        raise EnmsError(f"{where}: timestamp_format must be one of {', '.join(TS_FORMATS)}")
    duration_s = entry.get("duration_s")
    if duration_s is not None and not (isinstance(duration_s, (int, float)) and duration_s > 0):
        raise EnmsError(f"{where}: duration_s must be a number of seconds > 0")
    return Route(topic, kind, name, dict(fields), dict(scale), entry.get("timestamp", "ts"),
                 ts_format, entry.get("duration", "duration_s"), duration_s)


# --- messages to columns -------------------------------------------------------------

@dataclass
class Readings:
    """The readings of one message, column by column (no object per reading).

    times: each reading's start as ISO 8601 text (as in a CSV cell).
    duration_s, values[column]: the JSON values, one per reading (None where
    null or left out). scale: column -> factor to the native unit. absent:
    column -> bool per reading, True where the reading leaves the column
    out; only for messages whose readings do not all carry the same keys.
    """
    kind: str
    name: str
    site: str | None
    times: list
    duration_s: list
    values: dict
    scale: dict = field(default_factory=dict)
    absent: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.times)

    def column(self, name: str) -> list:
        """The JSON values of a column, or of ``duration_s``; None where not given."""
        if name == "duration_s":
            return self.duration_s
        return self.values.get(name, [None] * len(self))


def parse_message(topic: str, payload: bytes, routes=DEFAULT_ROUTES) -> Readings:
    """The readings of one message; MessageError says what is wrong with it."""
    for route in routes:
        got = route.match(topic)
        if got is not None:
            break
    else:
        raise MessageError(f"topic {topic!r} matches no route")
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"payload is not JSON ({exc})") from None
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(item, dict) for item in items):
        raise MessageError("payload must be a JSON object or a list of objects")
    name = route.name or got.get(route.kind)
    if not name:
        raise MessageError(f"topic {topic!r}: no {route.kind} name")
    first = items[0].keys()
    uniform = all(item.keys() == first for item in items)
    # Payload key -> column, for the keys that carry values.
    skip = {route.ts_key, route.duration_key}
    keys = first if uniform else dict.fromkeys(key for item in items for key in item)
    columns = {key: route.fields.get(key) if route.fields else key for key in keys
               if key not in skip}
    columns = {key: column for key, column in columns.items() if column is not None}
    for index, item in enumerate(items[:1] if uniform else items):
        where = f"reading {index + 1} of {len(items)}: " if len(items) > 1 else ""
        if route.ts_key not in item:
            raise MessageError(f"{where}no {route.ts_key!r} (the interval's start time)")
        if not any(key in columns for key in item):
            raise MessageError(f"{where}no values (keys: {', '.join(sorted(item)) or 'none'})")
    times = _times(route, [item[route.ts_key] for item in items])
    duration_s = [item.get(route.duration_key, route.duration_s) for item in items]
    values = {column: [item.get(key) for item in items] for key, column in columns.items()}
    absent = {} if uniform else {column: np.array([key not in item for item in items])
                                 for key, column in columns.items()}
    return Readings(route.kind, name, got.get("site"), times, duration_s, values,
                    {c: f for c, f in route.scale.items() if c in values}, absent)


_EPOCH_RANGE_S = (-62135596800, 253402300800)   # years 1 to 9999, as ISO 8601 text takes


def _times(route: Route, values: list) -> list[str]:
    """The start times as ISO 8601 text: as sent, or from epoch numbers."""
    def where(index: int) -> str:
        return f"reading {index + 1} of {len(values)}: " if len(values) > 1 else ""

    if route.ts_format == "iso":
        if set(map(type, values)) != {str}:
            i = next(i for i, v in enumerate(values) if not isinstance(v, str))
            raise MessageError(f"{where(i)}time {values[i]!r} is not ISO 8601 text")
        return values
    numbers = [isinstance(v, (int, float)) and not isinstance(v, bool) for v in values]
    seconds = np.array([v if ok else np.nan for v, ok in zip(values, numbers)], dtype=float)
    if route.ts_format == "epoch_ms":
        seconds /= 1000
    if not np.isfinite(seconds).all():
        i = int(np.flatnonzero(~np.isfinite(seconds))[0])
        raise MessageError(f"{where(i)}time {values[i]!r} is not a number ({route.ts_format})")
    outside = (seconds < _EPOCH_RANGE_S[0]) | (seconds >= _EPOCH_RANGE_S[1])
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise MessageError(f"{where(i)}time {values[i]!r} is out of range ({route.ts_format})")
    utc = np.floor(seconds).astype(np.int64).astype("datetime64[s]")
    return [f"{t}Z" for t in np.datetime_as_string(utc)]


def _numbers(values: list, column: str, errors: dict) -> np.ndarray:
    """JSON values as floats, NaN for null (missing is not zero). Anything
    but a number is read as the text of a CSV cell: numeric text counts, the
    rest is an error in ``errors`` (row -> reason)."""
    if set(map(type, values)) <= {float, int, type(None)}:
        try:
            numbers = np.array(values, dtype=float)
        except OverflowError:   # an integer beyond a float
            pass
        else:
            for i in np.flatnonzero(np.isinf(numbers)).tolist():
                errors.setdefault(i, f"{column}: not a number: {values[i]!r}")
            return np.where(np.isinf(numbers), np.nan, numbers)
    return ingest.parse_numbers([_text(v) for v in values], column, errors)


def _text(value) -> str:
    """A JSON value as a CSV cell: null is an empty (missing) cell, never 0."""
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)


def _column(items: list, column: str, errors: dict) -> np.ndarray:
    """One column of (message index, Readings) pairs as floats in the native
    unit (the route's scale applied), NaN where missing."""
    values = [v for _, r in items for v in r.column(column)]
    numbers = _numbers(values, column, errors)
    factors = [r.scale.get(column, 1.0) for _, r in items]
    if any(f != 1.0 for f in factors):
        numbers *= np.repeat(factors, [len(r) for _, r in items])
    return numbers


# --- writing a batch ------------------------------------------------------------------

@dataclass
class Written:
    """What writing a batch did.

    inserted, duplicate: readings. rejected: (message index, reason) per
    reading refused by validation. loaded: per energy source, the meter
    ids, start ts [s], duration [s] and energy [native unit] written, for
    real-time checks. notes: on counter readings (anchors, resets, rollovers).
    """
    inserted: int = 0
    duplicate: int = 0
    rejected: list = field(default_factory=list)
    loaded: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def write(conn, messages: list[tuple[int, Readings]], anchors: dict | None = None) -> Written:
    """Validate and write (message index, readings) pairs in the caller's transaction.

    anchors: counter readings not stored (meter id -> (time [s], register)),
    which the first counter reading of a meter without stored ones pairs
    with; updated with each meter's newest counter reading.
    """
    out = Written()
    meters = [(i, r) for i, r in messages if r.kind == "meter"]
    drivers = [(i, r) for i, r in messages if r.kind == "driver"]
    if meters:
        _write_meters(conn, meters, out, anchors)
    if drivers:
        _write_drivers(conn, drivers, out)
    return out


def _meter_sources(conn, names) -> dict:
    """Meter name -> (its energy source with columns, its site name)."""
    rows = conn.execute(
        sa.select(s.meters.c.name, s.energy_sources.c.id, s.energy_sources.c.name.label("source"),
                  s.sites.c.name.label("site"))
        .join(s.energy_sources, s.energy_sources.c.id == s.meters.c.source_id)
        .join(s.equipment, s.equipment.c.id == s.meters.c.equipment_id)
        .join(s.sites, s.sites.c.id == s.equipment.c.site_id)
        .where(s.meters.c.name.in_(sorted(set(names))))).all()
    sources = {}
    out = {}
    for name, source_id, source, site in rows:
        if source_id not in sources:
            columns = catalog.source_columns(conn, source_id)
            sources[source_id] = {"id": source_id, "name": source, "columns": columns,
                                  "energy_column": next(c["name"] for c in columns
                                                        if c["kind"] == "energy")}
        out[name] = (sources[source_id], site)
    return out


def _carries(r: Readings, column: str, k: int) -> bool:
    """Whether reading ``k`` of a message gives ``column`` (null counts as given)."""
    return column in r.values and not (column in r.absent and r.absent[column][k])


def _write_meters(conn, meters, out: Written, anchors: dict | None) -> None:
    known = _meter_sources(conn, {r.name for _, r in meters})
    by_source = {}
    for i, r in meters:
        if r.name not in known:
            out.rejected += [(i, f"unknown meter {r.name!r}")] * len(r)
            continue
        src, site = known[r.name]
        if r.site is not None and r.site != site:
            out.rejected += [(i, f"meter {r.name!r} belongs to site {site!r}, "
                                 f"not {r.site!r}")] * len(r)
            continue
        by_source.setdefault(src["id"], (src, []))[1].append((i, r))
    for src, items in by_source.values():
        _write_source(conn, src, items, out, anchors)


COUNTER = "counter"   # payload column of a counter reading: the register [native unit] at ts


def _write_source(conn, src: dict, items: list, out: Written, anchors: dict | None) -> None:
    """The readings of one energy source's meters, validated as CSV rows and
    loaded; counter readings become intervals as in a ``--counter`` CSV file."""
    declared = {c["name"] for c in src["columns"]}
    energy = src["energy_column"]
    errors, offset, counted = {}, 0, []
    for _, r in items:
        extra = sorted(set(r.values) - declared - {COUNTER})
        counted.append(_carries_all(r, COUNTER))
        if extra or COUNTER in r.values or energy not in r.values or energy in r.absent:
            for k in range(len(r)):
                given = [c for c in extra if _carries(r, c, k)]
                if given:
                    errors[offset + k] = (f"column(s) {', '.join(given)} not declared by energy "
                                          f"source {src['name']!r} (its columns: "
                                          f"{', '.join(sorted(declared))})")
                elif counted[-1][k] and _carries(r, energy, k):
                    errors[offset + k] = (f"both {energy!r} and {COUNTER!r}: give the energy "
                                          "of an interval or a counter reading")
                elif counted[-1][k] and r.values[COUNTER][k] is None:
                    errors[offset + k] = f"{COUNTER}: null (a missing reading is not stored)"
                elif not counted[-1][k] and not _carries(r, energy, k):
                    errors[offset + k] = (f"no {energy!r} (the energy of source "
                                          f"{src['name']!r})")
        offset += len(r)
    number_errors = {}
    values = {c["name"]: _column(items, c["name"], number_errors) for c in src["columns"]}
    duration_s = _column(items, "duration_s", number_errors)
    names = [r.name for _, r in items for _ in range(len(r))]
    times = [t for _, r in items for t in r.times]
    counted = np.concatenate(counted)
    if not counted.any():
        batch, kept, repeats = ingest.check_readings(conn, src, names, times, values, duration_s,
                                                     errors, number_errors)
    else:
        register = _column(items, COUNTER, number_errors)
        labels = [f"message {i + 1}" for i, r in items for _ in range(len(r))]
        parts = []
        for rows in (np.flatnonzero(~counted), np.flatnonzero(counted)):
            if not len(rows):
                continue
            part_errors = {j: errors[r] for j, r in enumerate(rows.tolist()) if r in errors}
            part = ingest.check_readings(
                conn, src, [names[r] for r in rows], [times[r] for r in rows],
                {c: (register if counted[rows[0]] and c == energy else v)[rows]
                 for c, v in values.items()}, duration_s[rows], part_errors,
                {j: number_errors[r] for j, r in enumerate(rows.tolist()) if r in number_errors},
                counter=bool(counted[rows[0]]), notes=out.notes,
                labels=[labels[r] for r in rows], anchors=anchors)
            for j, reason in part_errors.items():
                errors[int(rows[j])] = ingest.renumber_lines(reason, rows)
            parts.append((part[0], rows[part[1]], part[2]))
        batch, kept, repeats = _joined(conn, src, parts, errors)
    inserted, conflicts = ingest.load_readings(conn, src, batch)
    for j in conflicts:
        errors.setdefault(int(kept[j]), "a different value is already stored for this time")
    _settle(out, items, errors, inserted, len(batch) - inserted - len(conflicts) + repeats)
    out.loaded[src["name"]] = (batch.meter_id, batch.ts, batch.duration_s, batch.values[energy])


def _carries_all(r: Readings, column: str) -> np.ndarray:
    """Per reading of a message: whether it gives ``column``."""
    return np.array([_carries(r, column, k) for k in range(len(r))]) if column in r.absent \
        else np.full(len(r), column in r.values)


def _joined(conn, src: dict, parts: list, errors: dict):
    """The interval and counter readings of a batch as one, without the
    counter intervals that overlap a stored reading or an interval reading
    of the batch (both would count the same time)."""
    batches = [b for b, _, _ in parts]
    batch = readings.Batch(
        np.concatenate([b.meter_id for b in batches]), np.concatenate([b.ts for b in batches]),
        np.concatenate([b.duration_s for b in batches]),
        {c: np.concatenate([b.values[c] for b in batches]) for c in batches[0].values},
        np.concatenate([np.full(len(b), np.nan) if b.counter_end is None else b.counter_end
                        for b in batches]))
    kept = np.concatenate([rows for _, rows, _ in parts])
    target = readings.table(src["name"], [c["name"] for c in src["columns"]])
    clash = readings.overlapping(conn, target, batch.meter_id, batch.ts, batch.duration_s)
    for j in clash.tolist():
        errors.setdefault(int(kept[j]), ingest.STORED_OVERLAP)
    keep = np.ones(len(batch), dtype=bool)
    keep[clash] = False
    return batch.take(keep), kept[keep], sum(repeats for _, _, repeats in parts)


def _write_drivers(conn, drivers, out: Written) -> None:
    """Driver values (a few a minute, not worth columns of their own): as CSV
    rows ``timestamp,driver,value,duration_s`` through the CSV validation."""
    errors, offset = {}, 0
    for _, r in drivers:
        extra = sorted(set(r.values) - {"value"})
        for k in range(len(r)) if extra else ():
            given = [c for c in extra if _carries(r, c, k)]
            if given:
                errors[offset + k] = (f"field(s) {', '.join(given)} are not a driver's "
                                      "(a driver message carries 'value')")
        offset += len(r)
    value = _column(drivers, "value", errors)
    duration_s = _column(drivers, "duration_s", errors)
    for k in np.flatnonzero(np.isnan(value)).tolist():
        # A CSV's empty cell is skipped; a message with nothing in it is worth a line.
        errors.setdefault(k, "no 'value' (null or left out: a missing value is not stored)")
    header = ["timestamp", "driver", "value", "duration_s"]
    rows = [[t, r.name] for _, r in drivers for t in r.times]
    for row, v, d in zip(rows, value.tolist(), duration_s.tolist()):
        row += ["" if math.isnan(v) else repr(v), "" if math.isnan(d) else repr(d)]
    good = ingest.check_driver_rows(conn, header, rows, errors, where="driver messages")
    inserted, conflicts = ingest.load_driver_values(conn, good.driver_id, good.ts,
                                                    good.duration_s, good.value)
    for j in conflicts:
        errors.setdefault(int(good.row[j]), "a different value is already stored for this time")
    _settle(out, drivers, errors, inserted,
            len(good.ts) - inserted - len(conflicts) + good.repeats)


def _settle(out: Written, items, errors: dict, inserted: int, duplicate: int) -> None:
    """Count a batch's readings; errors: reading (in message order) -> reason."""
    message = [i for i, r in items for _ in range(len(r))]
    labels = [f"message {i + 1}" for i in message]
    out.inserted += inserted
    out.duplicate += duplicate
    out.rejected += [(message[k], ingest.resolve_lines(reason, labels))
                     for k, reason in sorted(errors.items())]


# --- batching -------------------------------------------------------------------------

@dataclass
class Message:
    """A received message: its topic, payload, arrival time [s] and a token
    the transport needs to acknowledge it once written."""
    topic: str
    payload: bytes
    received_s: float
    token: object = None
    parsed: Readings | MessageError | None = None

    def parse(self, routes) -> Readings | MessageError:
        """The message's readings, or what is wrong with it; parsed once (a
        listener parses on arrival, while the previous batch is written)."""
        if self.parsed is None:
            try:
                self.parsed = parse_message(self.topic, self.payload, routes)
            except MessageError as exc:
                self.parsed = exc
        return self.parsed


class Batcher:
    """Messages held until written: a batch is due at ``max_messages`` or
    when its oldest message has waited ``max_age_s``. A batch that fails to
    write stays at the front, in order, for the next try."""

    def __init__(self, max_messages: int = BATCH_MESSAGES, max_age_s: float = BATCH_AGE_S):
        self.max_messages = max_messages
        self.max_age_s = max_age_s
        self.pending: list[Message] = []

    def add(self, message: Message) -> None:
        self.pending.append(message)

    def due(self, now_s: float) -> bool:
        return bool(self.pending) and (len(self.pending) >= self.max_messages
                                       or now_s - self.pending[0].received_s >= self.max_age_s)

    def next_batch(self) -> list[Message]:
        return self.pending[:self.max_messages]

    def done(self, count: int) -> None:
        """The first ``count`` messages are written (or refused for good)."""
        del self.pending[:count]


class Backoff:
    """Retry delays [s]: first, 2 x first, ... up to most; ``reset`` after a success."""

    def __init__(self, first_s: float = RETRY_FIRST_S, most_s: float = RETRY_MAX_S):
        self.first_s, self.most_s = first_s, most_s
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return min(self.most_s, self.first_s * 2 ** (self.failures - 1))

    def reset(self) -> None:
        self.failures = 0


@dataclass
class Stats:
    """Counters of a listener since it started (readings unless said)."""
    messages: int = 0
    inserted: int = 0
    duplicate: int = 0
    rejected: int = 0
    malformed: int = 0      # messages that are not readings at all
    batches: int = 0
    write_failures: int = 0
    last_lag_s: float | None = None   # arrival to commit, of the batch's oldest message
    max_lag_s: float = 0.0
    alerts: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def flush(store, messages: list[Message], routes, stats: Stats, monitor=None,
          now=time.time, anchors: dict | None = None):
    """Parse and write one batch in one transaction; update ``stats``.

    Malformed messages and refused readings are logged (one line each) and
    counted, never raised; so are the notes on counter readings. A database
    error propagates with nothing written, so the caller keeps the batch and
    tries again. anchors: as for ``write``, kept by the caller from batch to
    batch and updated only when the batch is committed. Returns what was
    written (``Written``) and the alerts the monitor raised.
    """
    parsed, malformed = [], []
    for i, message in enumerate(messages):
        got = message.parse(routes)
        if isinstance(got, MessageError):
            malformed.append((i, str(got)))
        else:
            parsed.append((i, got))
    pending = None if anchors is None else dict(anchors)
    with store.begin() as conn:
        written = write(conn, parsed, pending)
    if anchors is not None:
        anchors.update(pending)
    stats.batches += 1
    stats.messages += len(messages)
    stats.malformed += len(malformed)
    stats.inserted += written.inserted
    stats.duplicate += written.duplicate
    stats.rejected += len(written.rejected)
    for i, reason in malformed:
        log.warning("malformed topic=%s reason=%s", messages[i].topic, reason)
    for i, reason in written.rejected:
        log.warning("rejected topic=%s reason=%s", messages[i].topic, reason)
    for note in written.notes:
        log.info("counter %s", note)
    stats.last_lag_s = now() - messages[0].received_s
    stats.max_lag_s = max(stats.max_lag_s, stats.last_lag_s)
    raised = []
    if monitor is not None:
        try:
            raised = monitor.observe(store, written)
        except (EnmsError, sa.exc.SQLAlchemyError) as exc:
            # The readings are stored (and must not be written again); the
            # checks wait for the next batch.
            log.warning("real-time checks skipped (%s)", " ".join(str(exc).split())[:300])
    stats.alerts += len(raised)
    return written, raised
