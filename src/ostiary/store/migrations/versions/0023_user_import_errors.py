"""Per-row errors of user import jobs (the lines AWS writes to the job's CloudWatch Logs stream):
one row per CSV line that could not be imported, so that DescribeUserImportJob's counts and
``ostiary users import`` can show them.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_import_errors",
        sa.Column(
            "job_id",
            sa.String(64),
            sa.ForeignKey("user_import_jobs.job_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("line_number", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.String(128), nullable=True),
        sa.Column("message", sa.String(1024), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_import_errors")
