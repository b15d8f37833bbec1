"""Opening the database: SQLite by default, PostgreSQL in production.

The URL comes from the argument, else ``ENMS_DATABASE_URL``, else an SQLite
file in the user's data directory. Opening upgrades the schema to the newest
migration, so an existing database never needs hand edits.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from .errors import EnmsError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0011"


def default_data_dir() -> Path:
    """The user's data directory for the embedded database and demo files."""
    from platformdirs import user_data_dir
    return Path(os.environ.get("ENMS_DATA_DIR") or user_data_dir("enms"))


def resolve_url(url: str | None = None) -> str:
    """Turn ``--db`` / ``ENMS_DATABASE_URL`` / nothing into a SQLAlchemy URL.

    A plain path is taken as an SQLite file.
    """
    url = url or os.environ.get("ENMS_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(default_data_dir() / "enms.sqlite")
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; the bare scheme means psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record):
    # Let SQLAlchemy's 'begin' event issue BEGIN so DDL is transactional too.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn) -> None:
    read_only = conn.get_execution_options().get("enms_read_only")
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Store:
    """One database: an SQLAlchemy engine plus the facts about its dialect."""

    def __init__(self, url: str | None = None, *, upgrade: bool = True):
        self.url = resolve_url(url)
        try:
            self.engine = self._create_engine(self.url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise EnmsError(f"cannot use database URL {self.url!r}: {exc}") from None
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise EnmsError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        if upgrade:
            self.upgrade()

    @staticmethod
    def _create_engine(url: str) -> sa.Engine:
        if url.startswith("sqlite"):
            path = sa.engine.make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(url, pool_pre_ping=True)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, for SQLite; None otherwise."""
        if self.dialect != "sqlite":
            return None
        return Path(sa.engine.make_url(self.url).database)

    def describe(self) -> str:
        """The URL without its password, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def begin(self):
        """A connection in one write transaction: all of it commits, or none.

        On SQLite the transaction takes the write lock at once (BEGIN
        IMMEDIATE), so a second writer waits for the first instead of failing
        half-way when its read lock cannot be upgraded.
        """
        with self._translate_errors(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self):
        """A connection in one read-only snapshot; never waits for a writer on SQLite (WAL)."""
        with self._translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(enms_read_only=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _translate_errors(self):
        # Driver errors (lock time-outs, lost connections) as one line; the raw
        # DBAPI cursors used for bulk loads raise the driver's own classes.
        try:
            yield
        except sa.exc.OperationalError as exc:
            raise EnmsError(f"database {self.describe()}: {_first_line(exc.orig)}") from None
        except Exception as exc:
            if type(exc).__name__ == "OperationalError" and \
                    type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg"):
                raise EnmsError(f"database {self.describe()}: {_first_line(exc)}") from None
            raise

    def revision(self) -> str | None:
        """The schema's current migration revision, None for an empty database."""
        with self.read() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to ``revision`` (all of them by default)."""
        if revision == "head" and self.revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    def reset(self) -> None:
        """Drop every table, then build the newest schema: an empty database."""
        with self.begin() as conn:
            tables = sa.MetaData()
            tables.reflect(conn)
            # Dependents first, so foreign keys never block a drop.
            for table in reversed(tables.sorted_tables):
                cascade = " CASCADE" if self.is_postgres else ""
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}"{cascade}')
        self.upgrade()

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc) -> str:
    """The driver's message without its DETAIL/HINT lines (one line to the user)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
