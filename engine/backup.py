"""Backup and restore: one file per backup, with a manifest that proves its content.

A backup is a zip file of two members:

- ``manifest.json``: format and format version, when and from which database
  kind it was made, the schema revision, the payload's size and SHA-256, and
  per table its row count and a checksum of its rows;
- the payload: ``database.sqlite``, a copy made with SQLite's online backup
  API (a consistent snapshot while the system keeps writing, without stopping
  it), or ``database.pgdump``, ``pg_dump --format=custom`` of PostgreSQL taken
  in the same exported snapshot the manifest was computed in.

Restore refuses a damaged file (zip CRCs, payload SHA-256) before touching the
database, refuses a database that holds data unless forced, replaces
everything, checks every table's rows against the manifest, and then upgrades
an older schema to the newest migration.

Table checksums: the sum modulo 2^128 of the SHA-256 of each row (its values
as canonical JSON), so they do not depend on the order a database returns
rows in; with the row count they detect a lost, added or changed row.

Example::

    manifest = backup(store, "enms-2025-03-01.enmsbak")
    restore(Store("restored.sqlite"), "enms-2025-03-01.enmsbak")
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from . import audit
from .errors import EnmsError
from .store import HEAD_REVISION

FORMAT = "enms-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOADS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
METHODS = {"sqlite": "sqlite online backup API", "postgresql": "pg_dump --format=custom"}
_CHUNK_BYTES = 1 << 20
_CHECKSUM_MODULUS = 1 << 128
# Holds the schema revision, which restore checks and upgrades itself.
_BOOKKEEPING = {"alembic_version"}


# --- checksums ---------------------------------------------------------------------------

def _canonical(value):
    # Driver values JSON cannot write: times as ISO text, decimals and the like as text.
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return str(value)


# One encoder for every row: building one per call would double the time taken.
_ROW_TEXT = json.JSONEncoder(default=_canonical, sort_keys=True).encode


def _tables(conn) -> list[str]:
    """The database's tables, a partitioned table once (its partitions are its rows)."""
    names = set(sa.inspect(conn).get_table_names())
    if conn.dialect.name == "postgresql":
        names -= set(conn.exec_driver_sql(
            "SELECT relname FROM pg_class WHERE relispartition "
            "AND relnamespace = current_schema()::regnamespace").scalars())
    return sorted(names)


def table_checksums(conn) -> dict[str, dict]:
    """Every table's row count and row checksum, {table: {"rows", "checksum"}}.

    Reads the driver's own values (no type conversion), so a checksum compares
    a database with its restored copy on the same kind of database.
    """
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":
        # Times come back in the session's zone: the same text wherever it runs.
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
    out = {}
    for name in _tables(conn):
        total, rows = 0, 0
        result = conn.execution_options(stream_results=True).exec_driver_sql(
            f"SELECT * FROM {quote(name)}")
        for row in result:
            digest = hashlib.sha256(_ROW_TEXT(tuple(row)).encode()).digest()
            total += int.from_bytes(digest[:16], "big")
            rows += 1
        out[name] = {"rows": rows, "checksum": f"{total % _CHECKSUM_MODULUS:032x}"}
    return out


def _revision(conn) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL client programs ---------------------------------------------------------------

def _pg_program(name: str) -> str:
    program = shutil.which(name)
    if program is None:
        raise EnmsError(f"{name} not found: install the PostgreSQL client programs of the "
                        "server's major version or newer (e.g. apt install postgresql-client)")
    return program


def _pg_run(store, program: str, *args: str) -> None:
    """Run pg_dump or pg_restore on the store's database; the password goes by environment."""
    url = sa.engine.make_url(store.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dbname = url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    done = subprocess.run([_pg_program(program), *args, f"--dbname={dbname}"], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()] or ["no message"]
        raise EnmsError(f"{program} failed on {store.describe()}: {lines[-1].strip()}")


# --- backup ------------------------------------------------------------------------------------

def _sqlite_snapshot(store, directory: Path) -> tuple[Path, dict, str | None]:
    """Copy the live database with the online backup API; checksums from the copy."""
    copy = directory / PAYLOADS["sqlite"]
    source = sqlite3.connect(store.sqlite_path)
    target = sqlite3.connect(copy)
    try:
        # pages=-1 (the default): one step under one read transaction, so the copy is
        # the database at one moment however much another connection writes meanwhile.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            return copy, table_checksums(conn), _revision(conn)
    finally:
        engine.dispose()


def _postgres_snapshot(store, directory: Path) -> tuple[Path, dict, str | None]:
    """pg_dump in a snapshot this transaction exports, so dump and checksums agree."""
    dump = directory / PAYLOADS["postgresql"]
    with store.read() as conn:
        # One snapshot for the whole transaction (not one per statement).
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        _pg_run(store, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                f"--snapshot={snapshot}", f"--file={dump}")
        return dump, table_checksums(conn), _revision(conn)


def backup(store, out) -> dict:
    """Write a backup of the whole database to ``out`` (a new file); returns its manifest.

    Runs while the system runs: writers are not stopped, and the backup is the
    database at one moment.
    """
    out = Path(out)
    if out.exists():
        raise EnmsError(f"{out} exists already: choose a new file name (backups are never "
                        "overwritten)")
    if not out.parent.is_dir():
        raise EnmsError(f"{out.parent} is not a directory")
    try:
        # Beside the target: the finished file is renamed into place, never copied.
        with tempfile.TemporaryDirectory(prefix="enms-backup-", dir=out.parent) as work:
            return _write(store, out, Path(work))
    except OSError as exc:  # permissions, a full disk
        raise EnmsError(f"cannot write the backup {out}: {exc.strerror or exc}") from None


def _write(store, out: Path, work: Path) -> dict:
    snapshot = _sqlite_snapshot if store.dialect == "sqlite" else _postgres_snapshot
    payload, tables, revision = snapshot(store, work)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "database": store.dialect, "method": METHODS[store.dialect],
        "schema_revision": revision,
        "payload": {"name": payload.name, "bytes": payload.stat().st_size,
                    "sha256": _sha256(payload)},
        "tables": tables,
    }
    partial = work / "backup.zip"
    # A pg_dump custom archive is compressed already; an SQLite file is not.
    compression = zipfile.ZIP_DEFLATED if store.dialect == "sqlite" else zipfile.ZIP_STORED
    with zipfile.ZipFile(partial, "w", compression=compression) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        archive.write(payload, payload.name)
    # Complete or absent: a backup file never exists half-written.
    os.replace(partial, out)
    return manifest


# --- reading a backup file -----------------------------------------------------------------------

def _damaged(path: Path, why: str) -> EnmsError:
    return EnmsError(f"{path}: not a usable EnMS backup ({why})")


def read_manifest(path) -> dict:
    """The manifest of a backup file, after checking the file is one."""
    path = Path(path)
    if not path.is_file():
        raise EnmsError(f"{path}: no such backup file")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
    except zipfile.BadZipFile as exc:
        raise _damaged(path, f"damaged or truncated: {exc}") from None
    except KeyError:
        raise _damaged(path, f"no {MANIFEST}") from None
    except (ValueError, OSError, zlib.error) as exc:  # JSON, deflate and read errors
        raise _damaged(path, f"unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(path, f"{MANIFEST} is not an {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise EnmsError(f"{path}: backup format version {manifest.get('format_version')}; "
                        f"this EnMS reads version {FORMAT_VERSION}")
    missing = [k for k in ("database", "schema_revision", "payload", "tables") if k not in manifest]
    if missing:
        raise _damaged(path, f"manifest lacks {', '.join(missing)}")
    return manifest


def _extract_payload(path: Path, manifest: dict, directory: Path) -> Path:
    """The payload in ``directory``, checked against the manifest's size and SHA-256."""
    name = manifest["payload"]["name"]
    if name != PAYLOADS.get(manifest["database"]):
        raise _damaged(path, f"unexpected payload {name!r}")
    target = directory / name
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(path) as archive, archive.open(name) as source, \
                open(target, "wb") as handle:
            while chunk := source.read(_CHUNK_BYTES):
                digest.update(chunk)
                handle.write(chunk)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as exc:
        raise _damaged(path, f"payload unreadable: {exc}") from None
    if digest.hexdigest() != manifest["payload"]["sha256"] or \
            target.stat().st_size != manifest["payload"]["bytes"]:
        raise _damaged(path, "the payload does not match the manifest's SHA-256")
    return target


# --- restore ------------------------------------------------------------------------------------

def _rows_held(conn) -> dict[str, int]:
    """Rows per table that holds any (the schema's bookkeeping aside)."""
    quote = conn.dialect.identifier_preparer.quote
    held = {}
    for name in _tables(conn):
        if name not in _BOOKKEEPING:
            held[name] = conn.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar()
    return {name: n for name, n in held.items() if n}


def _sqlite_restore(store, payload: Path) -> None:
    store.dispose()  # no pooled connection keeps the old content
    source = sqlite3.connect(payload)
    target = sqlite3.connect(store.sqlite_path, timeout=30)
    try:
        source.backup(target)  # replaces every page of the target in one step
    except sqlite3.Error as exc:
        raise EnmsError(f"restoring into {store.describe()}: {exc}") from None
    finally:
        target.close()
        source.close()


def _postgres_restore(store, payload: Path) -> None:
    # Everything goes first: the tables (with their sequences, triggers and
    # partitions) and the schema's own functions (not those of extensions).
    with store.begin() as conn:
        quote = conn.dialect.identifier_preparer.quote
        for name in sa.inspect(conn).get_table_names():
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
        functions = conn.exec_driver_sql("""
            SELECT p.oid::regprocedure::text FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
            WHERE n.nspname = current_schema() AND d.objid IS NULL""").scalars().all()
        for function in functions:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    store.dispose()
    _pg_run(store, "pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", str(payload))


def restore(store, path, force: bool = False, actor: str | None = None) -> dict:
    """Replace the database's content with a backup; returns the manifest.

    Refuses a database holding data unless ``force``; refuses a damaged file,
    one of another database kind or of a newer schema before changing
    anything. After restoring, every table's rows are checked against the
    manifest, the schema is upgraded to the newest migration, and the restore
    is appended to the (restored) audit trail: who restored which backup.
    """
    path = Path(path)
    manifest = read_manifest(path)
    kind = manifest["database"]
    if kind != store.dialect:
        raise EnmsError(f"{path} is a backup of {kind}; {store.describe()} is {store.dialect} "
                        f"(restore it into a {kind} database)")
    revision = manifest["schema_revision"]
    if revision is not None and revision > HEAD_REVISION:
        raise EnmsError(f"{path} has schema revision {revision}, newer than this EnMS knows "
                        f"({HEAD_REVISION}): upgrade EnMS first")
    with store.read() as conn:
        held = _rows_held(conn)
    if held and not force:
        raise EnmsError(f"{store.describe()} is not empty ({sum(held.values())} rows in "
                        f"{len(held)} tables): restore with --force to replace all of it")
    # The payload is as large as the database: SQLite's goes beside the database file.
    near = store.sqlite_path.parent if kind == "sqlite" else None
    with tempfile.TemporaryDirectory(prefix="enms-restore-", dir=near) as work:
        payload = _extract_payload(path, manifest, Path(work))
        (_sqlite_restore if kind == "sqlite" else _postgres_restore)(store, payload)
    with store.read() as conn:
        found = table_checksums(conn)
    differ = sorted(name for name in set(found) | set(manifest["tables"])
                    if found.get(name) != manifest["tables"].get(name))
    if differ:
        raise EnmsError(f"restored content differs from the manifest of {path} in "
                        f"{len(differ)} tables ({', '.join(differ[:5])}): do not use this "
                        "database; restore again from another backup")
    store.upgrade()
    with store.begin() as conn:
        audit.record(conn, actor, "database.restore", "backup", path.name,
                     before={"rows_replaced": sum(held.values())},
                     after={"created_at": manifest["created_at"],
                            "schema_revision": revision,
                            "sha256": manifest["payload"]["sha256"],
                            "rows": sum(t["rows"] for t in manifest["tables"].values())})
    return manifest
