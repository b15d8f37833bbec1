"""The energy policy (ISO 50001 5.2): the text the plant writes once, kept in
versions. A change is a new row; no row is ever updated, so the policy in
force on any date can be shown to an auditor.

Revision ID: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade():
    op.create_table(
        "energy_policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("approved_on", sa.Date),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False))


def downgrade():
    op.drop_table("energy_policy")
