"""User session tracking: per-pool and per-client session configuration; public session ids, last
activity and origins on refresh-token lineages and SSO sessions; the SSO session of an
authorization code.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_pool_session_config",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tracking", sa.String(16), nullable=False),
        sa.Column("max_per_user", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_pool_client_session_config",
        sa.Column(
            "client_id",
            sa.String(128),
            sa.ForeignKey("user_pool_clients.client_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sso_max_minutes", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("session_id", sa.String(28), nullable=True))
        batch.add_column(sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_ip", sa.String(128), nullable=True))
        batch.add_column(sa.Column("origin_sso", sa.String(28), nullable=True))
    with op.batch_alter_table("sso_sessions") as batch:
        batch.add_column(sa.Column("session_id", sa.String(28), nullable=True))
        batch.add_column(sa.Column("client_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("oauth_codes") as batch:
        batch.add_column(sa.Column("sso_session_id", sa.String(28), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_codes") as batch:
        batch.drop_column("sso_session_id")
    with op.batch_alter_table("sso_sessions") as batch:
        for name in ("last_active_at", "client_id", "session_id"):
            batch.drop_column(name)
    with op.batch_alter_table("refresh_tokens") as batch:
        for name in ("origin_sso", "last_ip", "last_active_at", "session_id"):
            batch.drop_column(name)
    op.drop_table("user_pool_client_session_config")
    op.drop_table("user_pool_session_config")
