"""App client secret rotation: the secrets besides the primary one (AddUserPoolClientSecret).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("user_pool_clients") as batch:
        batch.add_column(sa.Column("secret_rotation", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_pool_clients") as batch:
        batch.drop_column("secret_rotation")
