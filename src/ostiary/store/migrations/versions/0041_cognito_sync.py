"""Cognito Sync (issue 17): datasets and records of identities, push devices and subscriptions, an
identity pool's sync configuration (store/tables/cognitosync.py).

Revision ID: 0041
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_datasets",
        sa.Column("identity_id", sa.String(64), sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("identity_pool_id", sa.String(64), nullable=False),
        sa.Column("sync_count", sa.BigInteger(), nullable=False),
        sa.Column("num_records", sa.BigInteger(), nullable=False),
        sa.Column("data_storage", sa.BigInteger(), nullable=False),
        sa.Column("last_modified_by", sa.String(256), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("merged", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sync_datasets_pool", "sync_datasets", ["identity_pool_id"])
    op.create_table(
        "sync_records",
        sa.Column("identity_id", sa.String(64), sa.ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_name", sa.String(128), primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("sync_count", sa.BigInteger(), nullable=False),
        sa.Column("last_modified_by", sa.String(256), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("device_updated_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sync_records_count", "sync_records", ["identity_id", "dataset_name", "sync_count", "key_hash"])
    op.create_table(
        "sync_pool_config",
        sa.Column(
            "identity_pool_id",
            sa.String(64),
            sa.ForeignKey("identity_pools.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("push_sync", JSONDoc, nullable=True),
        sa.Column("cognito_streams", JSONDoc, nullable=True),
        sa.Column("events", JSONDoc, nullable=False),
        sa.Column("bulk_status", sa.String(16), nullable=True),
        sa.Column("bulk_started_at", UTCDateTime(), nullable=True),
        sa.Column("bulk_completed_at", UTCDateTime(), nullable=True),
        sa.Column("bulk_failure", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sync_devices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("identity_id", sa.String(64), sa.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("identity_pool_id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sync_devices_token", "sync_devices", ["identity_id", "token_hash"], unique=True)
    op.create_table(
        "sync_subscriptions",
        sa.Column("device_id", sa.String(64), sa.ForeignKey("sync_devices.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_name", sa.String(128), primary_key=True),
        sa.Column("identity_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sync_subscriptions_dataset", "sync_subscriptions", ["identity_id", "dataset_name"])


def downgrade() -> None:
    op.drop_table("sync_subscriptions")
    op.drop_table("sync_devices")
    op.drop_table("sync_pool_config")
    op.drop_table("sync_records")
    op.drop_table("sync_datasets")
