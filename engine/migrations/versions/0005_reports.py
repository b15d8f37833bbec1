"""Stored period reports: one current report per SEU and period, older ones kept.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seu_id", sa.Integer, sa.ForeignKey("seus.id"), nullable=False),
        sa.Column("period", sa.String(30), nullable=False),
        sa.Column("first", sa.Date, nullable=False),
        sa.Column("last", sa.Date, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("significant", sa.Boolean, nullable=False),
        sa.Column("deviation_pct", sa.Float),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("generated_by", sa.String(200), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_reports_seu_period", "reports", ["seu_id", "period", "status"])


def downgrade():
    op.drop_index("ix_reports_seu_period", "reports")
    op.drop_table("reports")
