"""The first schema: catalog, driver readings and daily rollups.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("timezone", sa.String(64), nullable=False))
    op.create_table(
        "energy_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("kwh_per_unit", sa.Float, nullable=False),
        sa.Column("co2_kg_per_unit", sa.Float, nullable=False),
        sa.Column("tariff_per_unit", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text, nullable=False))
    op.create_table(
        "source_columns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("energy_sources.id"), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("source_id", "name"))
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("rated_power_kw", sa.Float),
        sa.Column("description", sa.Text, nullable=False))
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("equipment_id", sa.Integer, sa.ForeignKey("equipment.id"), nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("energy_sources.id"), nullable=False),
        sa.Column("interval_s", sa.Integer),
        sa.Column("counter_max", sa.Float),
        sa.Column("description", sa.Text, nullable=False))
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False))
    op.create_table(
        "drivers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("rollup", sa.String(4), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("derived_from_id", sa.Integer, sa.ForeignKey("drivers.id")),
        sa.Column("derivation", sa.String(10)),
        sa.Column("base_temp_c", sa.Float),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id")),
        sa.Column("description", sa.Text, nullable=False))
    op.create_table(
        "seus",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("equipment_id", sa.Integer, sa.ForeignKey("equipment.id"), nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("energy_sources.id"), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.UniqueConstraint("equipment_id", "source_id"))
    op.create_table(
        "seu_drivers",
        sa.Column("seu_id", sa.Integer, sa.ForeignKey("seus.id"), primary_key=True),
        sa.Column("driver_id", sa.Integer, sa.ForeignKey("drivers.id"), primary_key=True))
    op.create_table(
        "driver_readings",
        sa.Column("driver_id", sa.Integer, sa.ForeignKey("drivers.id"), primary_key=True),
        sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("value", sa.Float))
    for name, key, value in (("meter_daily", "meter_id", "energy"),
                             ("driver_daily", "driver_id", "value")):
        op.create_table(
            name,
            sa.Column(key, sa.Integer, sa.ForeignKey(key[:-3] + "s.id"), primary_key=True),
            sa.Column("day", sa.Date, primary_key=True),
            sa.Column(value, sa.Float),
            sa.Column("covered_s", sa.Integer, nullable=False),
            sa.Column("day_s", sa.Integer, nullable=False),
            sa.Column("samples", sa.Integer, nullable=False))


def downgrade():
    for name in ("driver_daily", "meter_daily", "driver_readings", "seu_drivers",
                 "seus", "drivers", "products", "meters", "equipment",
                 "source_columns", "energy_sources", "sites"):
        op.drop_table(name)
