"""The S3 front's bucket policies (issue 15): ``s3front_bucket_policies``, one document per bucket
the front serves.

Revision ID: 0036
Revises: 0035
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3front_bucket_policies",
        sa.Column("bucket", sa.String(63), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(2048), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s3front_bucket_policies")
