"""The data-quality log: a score and the findings per meter or driver and local day.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade():
    op.create_table(
        "data_quality_log",
        sa.Column("kind", sa.String(6), primary_key=True),
        sa.Column("entity_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("completeness", sa.Float, nullable=False),
        sa.Column("covered_s", sa.Integer, nullable=False),
        sa.Column("day_s", sa.Integer, nullable=False),
        sa.Column("flagged_s", sa.Float, nullable=False),
        sa.Column("expected_samples", sa.Float),
        sa.Column("received_samples", sa.Integer, nullable=False),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False))


def downgrade():
    op.drop_table("data_quality_log")
