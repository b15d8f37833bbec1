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
message are the columns its energy source declares.

Plants that already publish their own topics give a mapping file (TOML)
with one ``[[route]]`` per topic pattern: which meter or driver, which
payload key holds which column, a scale factor to the native unit, and the
timestamp format (``load_mapping``).

Every reading is validated exactly like a row of a CSV file
(``ingest.check_reading_rows`` / ``ingest.check_driver_rows``) and written by
the same load path (``ingest.load_readings`` / ``load_driver_values``): a
redelivered message is a duplicate, never counted twice, so at-least-once
delivery is safe. Nothing here speaks MQTT; engine/cli/listen.py does.
"""
from __future__ import annotations

import json
import logging
import math
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from . import catalog, ingest, schema as s
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


# --- messages to rows ---------------------------------------------------------------

@dataclass
class Reading:
    """One reading of a message, as the text cells of a CSV row.

    cells: column -> text (``timestamp``, ``duration_s`` and the values).
    """
    kind: str
    name: str
    site: str | None
    cells: dict


def parse_message(topic: str, payload: bytes, routes=DEFAULT_ROUTES) -> list[Reading]:
    """The readings of one message; MessageError says what is wrong with it."""
    for route in routes:
        got = route.match(topic)
        if got is not None:
            break
    else:
        raise MessageError(f"topic {topic!r} matches no route")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"payload is not JSON ({exc})") from None
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(item, dict) for item in items):
        raise MessageError("payload must be a JSON object or a list of objects")
    name = route.name or got.get(route.kind)
    if not name:
        raise MessageError(f"topic {topic!r}: no {route.kind} name")
    return [Reading(route.kind, name, got.get("site"), _cells(route, item, i, len(items)))
            for i, item in enumerate(items)]


def _cells(route: Route, item: dict, index: int, count: int) -> dict:
    where = f"reading {index + 1} of {count}: " if count > 1 else ""
    if route.ts_key not in item:
        raise MessageError(f"{where}no {route.ts_key!r} (the interval's start time)")
    cells = {"timestamp": _timestamp(item[route.ts_key], route.ts_format, where)}
    duration = item.get(route.duration_key, route.duration_s)
    if duration is not None:
        cells["duration_s"] = _text(duration)
    skip = {route.ts_key, route.duration_key}
    for key, value in item.items():
        if key in skip:
            continue
        column = route.fields.get(key) if route.fields else key
        if column is None:
            continue  # a mapped route takes only the keys it names
        factor = route.scale.get(column, 1.0)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        cells[column] = _text(value * factor if is_number else value)
    if len(cells) == 1 + ("duration_s" in cells):
        raise MessageError(f"{where}no values (keys: {', '.join(sorted(item)) or 'none'})")
    return cells


def _text(value) -> str:
    """A JSON value as a CSV cell: null is an empty (missing) cell, never 0."""
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)


def _timestamp(value, ts_format: str, where: str) -> str:
    if ts_format == "iso":
        if not isinstance(value, str):
            raise MessageError(f"{where}time {value!r} is not ISO 8601 text")
        return value
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise MessageError(f"{where}time {value!r} is not a number ({ts_format})")
    seconds = value / 1000 if ts_format == "epoch_ms" else value
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        raise MessageError(f"{where}time {value!r} is out of range ({ts_format})") from None


# --- writing a batch ------------------------------------------------------------------

@dataclass
class Written:
    """What writing a batch did.

    inserted, duplicate: readings. rejected: (message index, reason) per
    reading refused by validation. loaded: per energy source, the meter
    ids, start ts [s], duration [s] and energy [native unit] written, for
    real-time checks.
    """
    inserted: int = 0
    duplicate: int = 0
    rejected: list = field(default_factory=list)
    loaded: dict = field(default_factory=dict)


def write(conn, readings: list[tuple[int, Reading]]) -> Written:
    """Validate and write (message index, reading) pairs in the caller's transaction."""
    out = Written()
    meters = [(i, r) for i, r in readings if r.kind == "meter"]
    drivers = [(i, r) for i, r in readings if r.kind == "driver"]
    if meters:
        _write_meters(conn, meters, out)
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


def _write_meters(conn, meters, out: Written) -> None:
    known = _meter_sources(conn, [r.name for _, r in meters])
    by_source = {}
    for i, r in meters:
        if r.name not in known:
            out.rejected.append((i, f"unknown meter {r.name!r}"))
            continue
        src, site = known[r.name]
        if r.site is not None and r.site != site:
            out.rejected.append((i, f"meter {r.name!r} belongs to site {site!r}, not {r.site!r}"))
            continue
        declared = {c["name"] for c in src["columns"]}
        extra = sorted(set(r.cells) - declared - {"timestamp", "duration_s"})
        if extra:
            out.rejected.append((i, f"column(s) {', '.join(extra)} not declared by energy "
                                    f"source {src['name']!r} (its columns: "
                                    f"{', '.join(sorted(declared))})"))
            continue
        if src["energy_column"] not in r.cells:
            out.rejected.append((i, f"no {src['energy_column']!r} (the energy of source "
                                    f"{src['name']!r})"))
            continue
        by_source.setdefault(src["id"], (src, []))[1].append((i, r))
    for src, items in by_source.values():
        columns = [c["name"] for c in src["columns"]]
        header = ["timestamp", "meter", "duration_s", *columns]
        rows = [[r.cells["timestamp"], r.name, r.cells.get("duration_s", ""),
                 *[r.cells.get(c, "") for c in columns]] for _, r in items]
        errors = {}
        batch, kept, repeats = ingest.check_reading_rows(conn, src, header, rows, errors)
        inserted, conflicts = ingest.load_readings(conn, src, batch)
        for j in conflicts:
            errors.setdefault(int(kept[j]), "a different value is already stored for this time")
        _settle(out, items, errors, inserted, len(batch) - inserted - len(conflicts) + repeats)
        energy = batch.values[src["energy_column"]]
        out.loaded[src["name"]] = (batch.meter_id, batch.ts, batch.duration_s, energy)


DRIVER_FIELDS = {"timestamp", "duration_s", "value"}


def _write_drivers(conn, drivers, out: Written) -> None:
    header = ["timestamp", "driver", "value", "duration_s"]
    rows = [[r.cells["timestamp"], r.name, r.cells.get("value", ""), r.cells.get("duration_s", "")]
            for _, r in drivers]
    errors = {}
    for i, (_, r) in enumerate(drivers):
        extra = sorted(set(r.cells) - DRIVER_FIELDS)
        if extra:
            errors[i] = (f"field(s) {', '.join(extra)} are not a driver's "
                         "(a driver message carries 'value')")
        elif not r.cells.get("value"):
            # A CSV's empty cell is skipped; a message with nothing in it is worth a line.
            errors[i] = "no 'value' (null or left out: a missing value is not stored)"
    good = ingest.check_driver_rows(conn, header, rows, errors, where="driver messages")
    inserted, conflicts = ingest.load_driver_values(conn, good.driver_id, good.ts,
                                                    good.duration_s, good.value)
    for j in conflicts:
        errors.setdefault(int(good.row[j]), "a different value is already stored for this time")
    _settle(out, drivers, errors, inserted,
            len(good.ts) - inserted - len(conflicts) + good.repeats)


def _settle(out: Written, items, errors: dict, inserted: int, duplicate: int) -> None:
    labels = [f"message {i + 1}" for i, _ in items]
    out.inserted += inserted
    out.duplicate += duplicate
    out.rejected += [(items[k][0], ingest.resolve_lines(reason, labels))
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
          now=time.time):
    """Parse and write one batch in one transaction; update ``stats``.

    Malformed messages and refused readings are logged (one line each) and
    counted, never raised. A database error propagates with nothing
    written, so the caller keeps the batch and tries again. Returns what was
    written (``Written``) and the alerts the monitor raised.
    """
    parsed, malformed = [], []
    for i, message in enumerate(messages):
        try:
            parsed += [(i, r) for r in parse_message(message.topic, message.payload, routes)]
        except MessageError as exc:
            malformed.append((i, str(exc)))
    with store.begin() as conn:
        written = write(conn, parsed)
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
