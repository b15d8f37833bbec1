"""The catalog and rollup tables, as SQLAlchemy Core metadata.

Queries use these definitions; the database itself is created and upgraded
only by the Alembic migrations in ``engine/migrations`` (which must match).
Readings tables are not here: each energy source declares its own columns at
run time (see ``engine.readings``).

Times: ``ts`` columns hold the START of an interval in UTC epoch seconds and
``duration_s`` its length, so a reading covers [ts, ts + duration_s).
"""
from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer,
    MetaData, String, Table, Text, UniqueConstraint,
)

metadata = MetaData()

sites = Table(
    "sites", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
)

energy_sources = Table(
    "energy_sources", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("unit", String(20), nullable=False),
    Column("kwh_per_unit", Float, nullable=False),
    Column("co2_kg_per_unit", Float, nullable=False),
    Column("tariff_per_unit", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

source_columns = Table(
    "source_columns", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("energy_sources.id"), nullable=False),
    Column("name", String(40), nullable=False),
    Column("unit", String(20), nullable=False),
    # 'energy': consumption per interval in the source's unit (one per source);
    # 'measure': anything else the meter reports (flow, pressure, power).
    Column("kind", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("source_id", "name"),
)

equipment = Table(
    "equipment", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("type", String(100), nullable=False, default=""),
    Column("rated_power_kw", Float),
    Column("description", Text, nullable=False, default=""),
    Column("responsible", String(200)),   # migration 0011; NULL: not recorded
)

meters = Table(
    "meters", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    Column("source_id", Integer, ForeignKey("energy_sources.id"), nullable=False),
    # Nominal reading interval [s]; None when irregular.
    Column("interval_s", Integer),
    # Counter value at which a cumulative register rolls over to zero.
    Column("counter_max", Float),
    Column("description", Text, nullable=False, default=""),
)

products = Table(
    "products", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("unit", String(20), nullable=False, default="units"),
    Column("description", Text, nullable=False, default=""),
)

drivers = Table(
    "drivers", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("unit", String(20), nullable=False),
    # How readings roll up to a day: sum, mean, min or max.
    Column("rollup", String(4), nullable=False),
    # 'measured' (has readings) or 'derived' (computed from another driver).
    Column("kind", String(10), nullable=False),
    Column("derived_from_id", Integer, ForeignKey("drivers.id")),
    Column("derivation", String(10)),  # 'hdd' or 'cdd'
    Column("base_temp_c", Float),
    Column("product_id", Integer, ForeignKey("products.id")),
    Column("description", Text, nullable=False, default=""),
)

seus = Table(
    "seus", metadata,
    Column("id", Integer, primary_key=True),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    Column("source_id", Integer, ForeignKey("energy_sources.id"), nullable=False),
    Column("description", Text, nullable=False, default=""),
    UniqueConstraint("equipment_id", "source_id"),
)

seu_drivers = Table(
    "seu_drivers", metadata,
    Column("seu_id", Integer, ForeignKey("seus.id"), primary_key=True),
    Column("driver_id", Integer, ForeignKey("drivers.id"), primary_key=True),
)

driver_readings = Table(
    "driver_readings", metadata,
    Column("driver_id", Integer, ForeignKey("drivers.id"), primary_key=True),
    Column("ts", BigInteger, primary_key=True, autoincrement=False),
    Column("duration_s", Integer, nullable=False),
    Column("value", Float),
)

# Daily rollups, kept current at import. A day is a local day of the site.
# 'value' is NULL when nothing was received; never 0 for missing.
meter_daily = Table(
    "meter_daily", metadata,
    Column("meter_id", Integer, ForeignKey("meters.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("energy", Float),        # native unit of the meter's source
    Column("covered_s", Integer, nullable=False),  # seconds with a value
    Column("day_s", Integer, nullable=False),      # length of the local day
    Column("samples", Integer, nullable=False),
)

driver_daily = Table(
    "driver_daily", metadata,
    Column("driver_id", Integer, ForeignKey("drivers.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("value", Float),
    Column("covered_s", Integer, nullable=False),
    Column("day_s", Integer, nullable=False),
    Column("samples", Integer, nullable=False),
)

# Added by migration 0002: one row per import, for the audit trail.
import_batches = Table(
    "import_batches", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),   # 'readings' | 'drivers'
    Column("source", String(40)),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_inserted", Integer, nullable=False),
    Column("rows_duplicate", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

# Added by migration 0003: baseline versions. A row is never edited except
# its status (active -> superseded) when a documented adjustment replaces it.
baselines = Table(
    "baselines", metadata,
    Column("id", Integer, primary_key=True),
    Column("seu_id", Integer, ForeignKey("seus.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(12), nullable=False),      # active | candidate | superseded
    Column("model_kind", String(12), nullable=False),  # linear | 3p_heating | ... | 5p
    Column("interval", String(8), nullable=False),     # day | week | month
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("spec", JSON, nullable=False),     # drivers and roll-up rules; prediction reuses it
    Column("result", JSON, nullable=False),   # statistics, validity, ranking, excluded days
    Column("formula", Text, nullable=False),
    Column("r2", Float, nullable=False),
    Column("adj_r2", Float, nullable=False),
    Column("cv_rmse_pct", Float, nullable=False),
    Column("trained_by", String(200), nullable=False),
    Column("trained_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("parent_id", Integer, ForeignKey("baselines.id")),
    Column("adjustment_type", String(20)),
    Column("approved_by", String(200)),
    Column("activated_at", DateTime(timezone=True)),
    UniqueConstraint("seu_id", "version"),
)

# Added by migration 0004: the data-quality log, one row per meter or driver
# and local day. A scan replaces the rows of the days it covers, never adds a
# second row for a day. 'findings' holds every finding that touches the day.
data_quality_log = Table(
    "data_quality_log", metadata,
    Column("kind", String(6), primary_key=True),        # meter | driver
    Column("entity_id", Integer, primary_key=True, autoincrement=False),  # meters.id / drivers.id
    Column("day", Date, primary_key=True),
    Column("score", Float, nullable=False),             # 0..1, docs/methods.md section 9
    Column("completeness", Float, nullable=False),      # covered_s / day_s
    Column("covered_s", Integer, nullable=False),
    Column("day_s", Integer, nullable=False),
    Column("flagged_s", Float, nullable=False),         # weighted seconds of flagged readings
    Column("expected_samples", Float),                  # day_s / nominal interval; NULL if unknown
    Column("received_samples", Integer, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("method", String(20), nullable=False),       # rule-set version, e.g. dq-1
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

# Added by migration 0005: stored period reports. One 'current' report per SEU
# and period; regenerating under the same baseline version replaces it, under
# another version the old one becomes 'superseded' and stays.
reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("seu_id", Integer, ForeignKey("seus.id"), nullable=False),
    Column("period", String(30), nullable=False),
    Column("first", Date, nullable=False),
    Column("last", Date, nullable=False),
    Column("status", String(12), nullable=False),   # current | superseded
    Column("baseline_version", Integer, nullable=False),
    Column("significant", Boolean, nullable=False),
    Column("deviation_pct", Float),
    Column("content", JSON, nullable=False),
    Column("generated_by", String(200), nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Index("ix_reports_seu_period", "seu_id", "period", "status"),
)

# Added by migration 0006: alerts raised from period reports and the
# data-quality scan, and their acknowledgement (the deviation investigation
# log, ISO 50001 6.6 and 10.1). One row per condition (kind, subject, key) for
# good: re-evaluating updates its evidence, never adds a second row.
alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(30), nullable=False),          # significant_deviation | cusum_alarm | ...
    Column("subject_kind", String(6), nullable=False),   # seu | meter | driver
    Column("subject_id", Integer, nullable=False, autoincrement=False),  # seus/meters/drivers.id
    Column("subject", String(200), nullable=False),      # its name, for messages
    Column("seu_id", Integer, ForeignKey("seus.id")),    # the SEU concerned, when there is one
    Column("condition_key", String(40), nullable=False),  # the month, or a gap's start (UTC)
    Column("period", String(30), nullable=False),
    Column("first", Date, nullable=False),
    Column("last", Date, nullable=False),
    Column("severity", String(8), nullable=False),       # info | warning | critical
    Column("status", String(12), nullable=False),        # open | acknowledged
    Column("message", Text, nullable=False),
    Column("evidence", JSON, nullable=False),            # the numbers that raised it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),    # evidence last changed
    Column("last_seen_at", DateTime(timezone=True), nullable=False),  # last found by an evaluation
    Column("acknowledged_by", String(200)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("comment", Text),
    Column("notifications", JSON, nullable=False),       # per notifier: sent_at or error
    UniqueConstraint("kind", "subject_kind", "subject_id", "condition_key",
                     name="uq_alerts_condition"),
    Index("ix_alerts_status", "status", "created_at"),
)

# Added by migration 0007: other names of catalog entries, per language
# (kind: equipment | source | driver | product | site; entity_id: that table's id).
aliases = Table(
    "aliases", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(12), nullable=False),
    Column("entity_id", Integer, nullable=False, autoincrement=False),
    Column("alias", String(200), nullable=False),
    Column("lang", String(10), nullable=False),            # e.g. en-us, de-de
    UniqueConstraint("kind", "alias", "lang", name="uq_aliases_kind_alias_lang"),
    Index("ix_aliases_entity", "kind", "entity_id"),
)

# Added by migration 0008: users of the HTTP API (people and devices) and
# their API keys. Passwords and keys are stored only as hashes.
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),     # admin | energy_engineer | plant_manager | auditor | executive
    Column("password_hash", String(255)),           # NULL: a device that signs in by API key only
    Column("site_id", Integer, ForeignKey("sites.id")),  # NULL: every site
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),   # shown, to find the key
    Column("key_hash", String(255), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Added by migration 0009: the append-only audit trail (DESIGN.md rule 9).
# Triggers refuse UPDATE and DELETE on it.
audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),          # user name, or cli:<os user>, voice:<device>
    Column("action", String(60), nullable=False),          # e.g. baseline.adjust, catalog.add
    Column("entity_kind", String(30), nullable=False),
    Column("entity", String(300), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("reason", Text),
)

# Added by migration 0010: the energy policy (ISO 50001 5.2), one row per
# version; a change adds a version, none is updated.
energy_policy = Table(
    "energy_policy", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(200), nullable=False),
)
