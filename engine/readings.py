"""Readings storage: one table per energy source, bulk loads, duplicates.

Each energy source has a table ``<source>_readings`` keyed by (meter_id, ts)
with ``duration_s``, ``counter_end`` (the register value at the end of the
interval, for counter meters) and the columns the source declares. On
PostgreSQL the table is partitioned by month of ``ts`` and loaded with binary
COPY (through a staging table when rows of the span are stored); on SQLite
rows go in with executemany. Either way ``INSERT ... ON CONFLICT DO NOTHING``
makes a reload of the same rows a no-op, and a row that repeats a stored
(meter, ts) with another value is reported, never silently replaced.
"""
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from . import schema as s
from .identifiers import sql_identifier
from .localtime import month_starts

FIXED_COLUMNS = ("meter_id", "ts", "duration_s", "counter_end")
CHUNK_ROWS = 50_000
# The catalog table of each kind of key a readings table is keyed by.
_KEY_TABLES = {"meter_id": s.meters, "driver_id": s.drivers}


def table_name(source: str) -> str:
    return sql_identifier(source, "energy source name") + "_readings"


def table(source: str, column_names: list[str]) -> sa.Table:
    """The SQLAlchemy table of a source's readings."""
    return sa.Table(
        table_name(source), sa.MetaData(),
        sa.Column("meter_id", sa.Integer, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("counter_end", sa.Float),
        *[sa.Column(sql_identifier(c, "column name"), sa.Float) for c in column_names],
        sa.PrimaryKeyConstraint("meter_id", "ts"),
        postgresql_partition_by="RANGE (ts)",
    )


def create_table(conn, source: str, columns: list[dict]) -> None:
    table(source, [c["name"] for c in columns]).create(conn)


def add_column(conn, source: str, column: str) -> None:
    # Both names are validated identifiers; DDL cannot take bound parameters.
    conn.exec_driver_sql(f"ALTER TABLE {table_name(source)} "
                         f"ADD COLUMN {sql_identifier(column, 'column name')} DOUBLE PRECISION")


def ensure_partitions(conn, source: str, start_ts: int, end_ts: int) -> None:
    """Create the monthly partitions that rows in [start_ts, end_ts] need (PostgreSQL).

    A missing month is made as a plain table and then ATTACHed: ATTACH
    PARTITION takes only a SHARE UPDATE EXCLUSIVE lock on the parent, which
    does not wait for other transactions inserting into it, where CREATE
    TABLE ... PARTITION OF takes ACCESS EXCLUSIVE and deadlocked two imports
    that had each written rows and then both needed a new month. An advisory
    lock per source makes the check-and-create one step at a time.
    """
    name = table_name(source)
    bounds = month_starts(int(start_ts), int(end_ts))
    needed = {f"{name}_p" + np.datetime64(low, "s").astype("datetime64[M]").astype(str)
              .replace("-", ""): (int(low), int(high)) for low, high in zip(bounds, bounds[1:])}
    if not set(needed) - _partitions(conn, name):
        return
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:space, hashtext(:name))"),
                 {"space": PARTITION_LOCK_SPACE, "name": name})
    for part in sorted(set(needed) - _partitions(conn, name)):
        low, high = needed[part]
        conn.exec_driver_sql(f"CREATE TABLE {part} (LIKE {name} INCLUDING DEFAULTS)")
        conn.exec_driver_sql(f"ALTER TABLE {name} ATTACH PARTITION {part} "
                             f"FOR VALUES FROM ({low}) TO ({high})")


PARTITION_LOCK_SPACE = 3   # advisory lock key space (rollups use 1 and 2)


def _partitions(conn, parent: str) -> set[str]:
    return set(conn.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:parent)"), {"parent": parent}).scalars())


@dataclass
class Batch:
    """Rows for one readings table, as arrays of equal length.

    values: column name -> float array [native unit], NaN where missing.
    """
    meter_id: np.ndarray
    ts: np.ndarray
    duration_s: np.ndarray
    values: dict
    counter_end: np.ndarray | None = None

    def __len__(self):
        return len(self.ts)

    def columns(self) -> list[tuple[str, np.ndarray]]:
        counter = self.counter_end if self.counter_end is not None else np.full(len(self), np.nan)
        return [("meter_id", self.meter_id), ("ts", self.ts), ("duration_s", self.duration_s),
                ("counter_end", counter), *self.values.items()]

    def take(self, index) -> "Batch":
        return Batch(self.meter_id[index], self.ts[index], self.duration_s[index],
                     {k: v[index] for k, v in self.values.items()},
                     None if self.counter_end is None else self.counter_end[index])


def _as_python_rows(columns, start: int, stop: int):
    """Row tuples for the DB driver; NaN becomes None (NULL), never 0."""
    lists = []
    for _, array in columns:
        part = array[start:stop]
        values = part.tolist()
        if part.dtype.kind == "f":
            for i in np.flatnonzero(np.isnan(part)):
                values[i] = None
        lists.append(values)
    return zip(*lists)


def _pg_type(column: sa.Column) -> str:
    if isinstance(column.type, sa.BigInteger):
        return "int8"
    return "int4" if isinstance(column.type, sa.Integer) else "float8"


def insert(conn, target: sa.Table, columns: list, key: str = "meter_id", progress=None) -> int:
    """Insert the rows not stored yet; returns how many were new.

    columns: [(name, array)] of equal length, ``key`` and ``ts`` among them.
    progress: optional callable(rows_done) called after each chunk.
    """
    total = len(columns[0][1])
    if total == 0:
        return 0
    names = ", ".join(name for name, _ in columns)
    raw = conn.connection.driver_connection
    conflict = f"ON CONFLICT ({key}, ts) DO NOTHING"
    if conn.dialect.name == "postgresql":
        return _insert_postgres(conn, raw, target, columns, names, conflict, progress)
    placeholders = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {target.name} ({names}) VALUES ({placeholders}) {conflict}"
    before = raw.total_changes
    cursor = raw.cursor()
    for start in range(0, total, CHUNK_ROWS):
        cursor.executemany(sql, _as_python_rows(columns, start, start + CHUNK_ROWS))
        if progress:
            progress(min(start + CHUNK_ROWS, total))
    return raw.total_changes - before


def _insert_postgres(conn, raw, target, columns, names, conflict, progress) -> int:
    ts = dict(columns)["ts"]
    key = columns[0]
    if target.dialect_options["postgresql"]["partition_by"]:
        ensure_partitions(conn, target.name[:-len("_readings")], int(ts.min()), int(ts.max()))
    types = [_pg_type(target.c[name]) for name, _ in columns]
    with raw.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {target.name} WHERE {key[0]} = ANY(%s) AND ts BETWEEN %s AND %s LIMIT 1",
            (np.unique(key[1]).tolist(), int(ts.min()), int(ts.max())))
        if cursor.fetchone() is None:
            # Nothing stored in this range: COPY straight into the table; the
            # primary key still refuses a clash from a concurrent import.
            _copy(cursor, target.name, columns, names, types, progress)
            return len(ts)
        stage = f"enms_stage_{target.name}"
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                       f"(LIKE {target.name} INCLUDING DEFAULTS) ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {stage}")
        _copy(cursor, stage, columns, names, types, progress)
        cursor.execute(f"INSERT INTO {target.name} ({names}) SELECT {names} FROM {stage} {conflict}")
        return cursor.rowcount


_BINARY_TYPES = {"int4": ">i4", "int8": ">i8", "float8": ">f8"}
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_COPY_TRAILER = b"\xff\xff"


def _copy(cursor, table_name, columns, names, types, progress) -> None:
    """Binary COPY, packed by numpy. Rows are grouped by which of their cells
    are NULL (NaN): in the binary format a NULL cell is a length of -1 with
    no value, so each group is one fixed-width record array."""
    total = len(columns[0][1])
    nulls = np.zeros((total, len(columns)), dtype=bool)
    for j, (_, array) in enumerate(columns):
        if array.dtype.kind == "f":
            nulls[:, j] = np.isnan(array)
    patterns, group = np.unique(nulls, axis=0, return_inverse=True)
    group = group.ravel()
    sql = f"COPY {table_name} ({names}) FROM STDIN (FORMAT BINARY)"
    done = 0
    with cursor.copy(sql) as copy:
        copy.write(_COPY_HEADER)
        for g, pattern in enumerate(patterns):
            dtype = [("fields", ">i2")]
            for i, pg_type in enumerate(types):
                dtype.append((f"len{i}", ">i4"))
                if not pattern[i]:
                    dtype.append((f"val{i}", _BINARY_TYPES[pg_type]))
            rows_of_group = np.flatnonzero(group == g)
            for start in range(0, len(rows_of_group), CHUNK_ROWS * 4):
                rows = rows_of_group[start:start + CHUNK_ROWS * 4]
                packed = np.empty(len(rows), dtype=dtype)
                packed["fields"] = len(columns)
                for i, (pg_type, (_, array)) in enumerate(zip(types, columns)):
                    if pattern[i]:
                        packed[f"len{i}"] = -1
                    else:
                        packed[f"len{i}"] = int(_BINARY_TYPES[pg_type][-1])
                        packed[f"val{i}"] = array[rows]
                copy.write(packed.tobytes())
                done += len(rows)
                if progress:
                    progress(done)
        copy.write(_COPY_TRAILER)


def _fetch(conn, query, dtype) -> np.ndarray:
    """A query's rows as a 2-D array (plain tuples: numpy is slow on Row objects)."""
    return np.array([tuple(row) for row in conn.execute(query)], dtype=dtype)


def _keys(meter_id, ts):
    # ts < 2**34 s (year 2514); meter ids < 2**29.
    return (meter_id.astype(np.int64) << 34) | ts.astype(np.int64)


def find_conflicts(conn, target: sa.Table, columns: list, key: str = "meter_id") -> np.ndarray:
    """Indices of rows whose (key, ts) is stored with other values.

    Called only when some rows were not inserted (a reload, or a clash).
    """
    arrays = dict(columns)
    query = sa.select(*[target.c[name] for name, _ in columns]).where(
        target.c[key].in_(np.unique(arrays[key]).tolist()),
        target.c.ts >= int(arrays["ts"].min()), target.c.ts <= int(arrays["ts"].max()))
    stored = _fetch(conn, query, np.float64)  # NULL -> nan
    if not len(stored):
        return np.array([], dtype=np.int64)
    stored = stored.T
    names = [name for name, _ in columns]
    stored_keys = _keys(stored[names.index(key)].astype(np.int64),
                        stored[names.index("ts")].astype(np.int64))
    order = np.argsort(stored_keys)
    row_keys = _keys(arrays[key], arrays["ts"])
    match = order[np.clip(np.searchsorted(stored_keys[order], row_keys), 0, len(order) - 1)]
    found = stored_keys[match] == row_keys
    differs = np.zeros(len(row_keys), dtype=bool)
    for i, name in enumerate(names):
        if name in (key, "ts"):
            continue
        mine, theirs = arrays[name].astype(np.float64), stored[i][match]
        differs |= ~((mine == theirs) | (np.isnan(mine) & np.isnan(theirs)))
    return np.flatnonzero(found & differs)


def overlapping(conn, target: sa.Table, key_ids, ts, duration_s, key: str = "meter_id") -> np.ndarray:
    """Indices of new rows whose interval overlaps a stored one (or another new one).

    Two readings of the same meter covering the same time would count its
    energy twice. Stored rows never overlap each other, so besides the stored
    rows inside the new rows' span only the last one before it can reach in.
    A row repeating a stored one's time and length is a reload (duplicate or
    clash of values, judged by ``find_conflicts``), not an overlap.
    """
    key_ids = np.asarray(key_ids, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.int64)
    duration_s = np.asarray(duration_s, dtype=np.int64)
    if len(ts) == 0:
        return np.array([], dtype=np.int64)
    keys = np.unique(key_ids).tolist()
    first, last_end = int(ts.min()), int((ts + duration_s).max())
    k, t, d = target.c[key], target.c.ts, target.c.duration_s
    inside = sa.select(k, t, d).where(k.in_(keys), t >= first, t < last_end)
    # Each key's last row before the span, in the same query: driven by the
    # catalog's rows of the keys, a correlated max(ts) is one backward step
    # of the (key, ts) index per key (a GROUP BY would read all history).
    catalog = _KEY_TABLES[key]
    last_ts = (sa.select(sa.func.max(t)).where(k == catalog.c.id, t < first)
               .scalar_subquery())
    before = (sa.select(catalog.c.id.label("key_id"), last_ts.label("last_ts"))
              .where(catalog.c.id.in_(keys)).subquery())
    previous = sa.select(k, t, d).join(before, sa.and_(k == before.c.key_id,
                                                       t == before.c.last_ts))
    old = _fetch(conn, sa.union_all(inside, previous), np.int64).reshape(-1, 3)
    # A new row equal in time and length to a stored one is a reload, not an overlap.
    reload = np.zeros(len(ts), dtype=bool)
    if len(old):
        old_keys = _keys(old[:, 0], old[:, 1])
        order = np.argsort(old_keys)
        at = order[np.clip(np.searchsorted(old_keys[order], _keys(key_ids, ts)), 0, len(old) - 1)]
        reload = (old_keys[at] == _keys(key_ids, ts)) & (old[at, 2] == duration_s)
    is_new = np.concatenate([np.zeros(len(old), dtype=bool), ~reload])
    all_keys = np.concatenate([old[:, 0], key_ids])
    all_ts = np.concatenate([old[:, 1], ts])
    all_end = all_ts + np.concatenate([old[:, 2], duration_s])
    order = np.lexsort((all_ts, all_keys))
    k_sorted, t_sorted, e_sorted = all_keys[order], all_ts[order], all_end[order]
    group = np.cumsum(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
    # Latest end among the earlier rows of the same key: a running maximum,
    # kept apart per key by lifting each key's ends above the previous key's.
    lifted = group * (1 << 36) + e_sorted
    earlier_end = np.r_[0, np.maximum.accumulate(lifted)[:-1]]
    starts_inside = group * (1 << 36) + t_sorted < earlier_end
    next_inside = np.r_[(k_sorted[1:] == k_sorted[:-1]) & (t_sorted[1:] < e_sorted[:-1]), False]
    hit = (starts_inside | next_inside) & is_new[order]
    return np.sort(order[hit] - len(old))
