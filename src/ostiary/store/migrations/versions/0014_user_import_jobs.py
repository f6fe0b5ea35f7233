"""User import jobs (CreateUserImportJob, the CSV uploaded to the job's pre-signed URL).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_import_jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cloudwatch_logs_role_arn", sa.String(2048), nullable=False),
        sa.Column("csv", sa.Text, nullable=True),
        sa.Column("imported", sa.BigInteger, nullable=False),
        sa.Column("skipped", sa.BigInteger, nullable=False),
        sa.Column("failed", sa.BigInteger, nullable=False),
        sa.Column("message", sa.String(1024), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_import_jobs_pool", "user_import_jobs", ["user_pool_id", "created_at"])


def downgrade() -> None:
    op.drop_table("user_import_jobs")
