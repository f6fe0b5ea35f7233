"""Audit events (ostiary.audit; CloudTrail LookupEvents, `ostiary events`): one row per
security-relevant state change, written in the same transaction as the change.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_name", sa.String(64), nullable=False),
        sa.Column("event_source", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("principal_arn", sa.String(2048), nullable=True),
        sa.Column("access_key_id", sa.String(128), nullable=True),
        sa.Column("user_pool_id", sa.String(64), nullable=True),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("user_sub", sa.String(36), nullable=True),
        sa.Column("resource_type", sa.String(64), nullable=True),
        sa.Column("resource_name", sa.String(2048), nullable=True),
        sa.Column("source_ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(1024), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("error_message", sa.String(1024), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("details", JSONDoc, nullable=False),
    )
    op.create_index("ix_audit_events_time", "audit_events", ["event_time"])
    op.create_index("ix_audit_events_name", "audit_events", ["event_name", "event_time"])
    op.create_index("ix_audit_events_username", "audit_events", ["username", "event_time"])
    op.create_index("ix_audit_events_pool", "audit_events", ["user_pool_id", "event_time"])
    op.create_index("ix_audit_events_principal", "audit_events", ["principal_arn", "event_time"])
    op.create_index("ix_audit_events_access_key", "audit_events", ["access_key_id", "event_time"])
    op.create_index("ix_audit_events_resource", "audit_events", ["resource_name", "event_time"])


def downgrade() -> None:
    op.drop_table("audit_events")
