"""Catalog aliases: other names people use for an entry, per language
("Kessel eins" for Boiler-1, "Erdgas" for natural_gas, "outside temp" for
outdoor_temp_c), used when spoken or typed names are resolved.

Revision ID: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade():
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(10), nullable=False),
        sa.UniqueConstraint("kind", "alias", "lang", name="uq_aliases_kind_alias_lang"))
    op.create_index("ix_aliases_entity", "aliases", ["kind", "entity_id"])


def downgrade():
    op.drop_index("ix_aliases_entity", "aliases")
    op.drop_table("aliases")
