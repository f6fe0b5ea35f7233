"""IAM: virtual MFA devices, instance profiles, login profiles, account settings (alias, password
policy), access keys' last use, MFA facts of STS sessions.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def _account() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "iam_mfa_devices",
        _account(),
        sa.Column("name_key", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("seed_enc", sa.Text, nullable=False),
        sa.Column("user_key", sa.String(64), nullable=True),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_instance_profiles",
        _account(),
        sa.Column("name_key", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("profile_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("role_key", sa.String(64), nullable=True),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_login_profiles",
        _account(),
        sa.Column("user_key", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("reset_required", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "iam_account_settings",
        _account(),
        sa.Column("alias", sa.String(63), nullable=True, unique=True),
        sa.Column("password_policy", JSONDoc, nullable=True),
    )
    with op.batch_alter_table("access_keys") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_service", sa.String(64), nullable=True))
        batch.add_column(sa.Column("last_used_region", sa.String(32), nullable=True))
    with op.batch_alter_table("sts_sessions") as batch:
        batch.add_column(sa.Column("mfa_auth_time", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sts_sessions") as batch:
        batch.drop_column("mfa_auth_time")
    with op.batch_alter_table("access_keys") as batch:
        batch.drop_column("last_used_region")
        batch.drop_column("last_used_service")
        batch.drop_column("last_used_at")
    op.drop_table("iam_account_settings")
    op.drop_table("iam_login_profiles")
    op.drop_table("iam_instance_profiles")
    op.drop_table("iam_mfa_devices")
