"""Baseline versions: one row per trained or adjusted model, never edited.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seu_id", sa.Integer, sa.ForeignKey("seus.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("model_kind", sa.String(12), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("formula", sa.Text, nullable=False),
        sa.Column("r2", sa.Float, nullable=False),
        sa.Column("adj_r2", sa.Float, nullable=False),
        sa.Column("cv_rmse_pct", sa.Float, nullable=False),
        sa.Column("trained_by", sa.String(200), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("baselines.id")),
        sa.Column("adjustment_type", sa.String(20)),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("seu_id", "version"))


def downgrade():
    op.drop_table("baselines")
