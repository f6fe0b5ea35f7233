"""An import job's uploaded CSV in slices (``user_import_slices``: job, sequence number, text), read one
at a time while the job runs, instead of one text in ``user_import_jobs.csv`` that the job held whole
(the server's RSS grew by several times the file's size during an import). A file waiting in a job
moves to its first slice; the ``csv`` column stays, unused (dropping it would rebuild the jobs table on
SQLite, whose cascades would take the jobs' errors with it).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_import_slices",
        sa.Column(
            "job_id",
            sa.String(64),
            sa.ForeignKey("user_import_jobs.job_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO user_import_slices (job_id, seq, text) "
        "SELECT job_id, 0, csv FROM user_import_jobs WHERE csv IS NOT NULL"
    )
    op.execute("UPDATE user_import_jobs SET csv = NULL WHERE csv IS NOT NULL")


def downgrade() -> None:
    op.drop_table("user_import_slices")
