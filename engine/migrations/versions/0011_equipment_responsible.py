"""Who is responsible for a piece of equipment (and so for its SEUs): the
SEU identification matrix of the energy review names that person
(ISO 50001 6.3 d and 7.2).

Revision ID: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade():
    with op.batch_alter_table("equipment") as batch:
        batch.add_column(sa.Column("responsible", sa.String(200)))


def downgrade():
    with op.batch_alter_table("equipment") as batch:
        batch.drop_column("responsible")
