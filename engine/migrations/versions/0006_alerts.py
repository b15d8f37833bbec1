"""Alerts: one row per condition (kind, subject, key), with evidence, severity,
acknowledgement and notification state.

Revision ID: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("subject_kind", sa.String(6), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("seu_id", sa.Integer, sa.ForeignKey("seus.id")),
        sa.Column("condition_key", sa.String(40), nullable=False),
        sa.Column("period", sa.String(30), nullable=False),
        sa.Column("first", sa.Date, nullable=False),
        sa.Column("last", sa.Date, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("comment", sa.Text),
        sa.Column("notifications", sa.JSON, nullable=False),
        sa.UniqueConstraint("kind", "subject_kind", "subject_id", "condition_key",
                            name="uq_alerts_condition"))
    op.create_index("ix_alerts_status", "alerts", ["status", "created_at"])


def downgrade():
    op.drop_index("ix_alerts_status", "alerts")
    op.drop_table("alerts")
