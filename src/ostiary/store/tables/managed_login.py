"""Managed login branding (issue 17, migration 0040): one style per app client
(``managed_login_brandings``: the settings document as the caller sent it, without AWS's defaults)
and its image assets, one per category and color mode (``managed_login_assets``). See
userpools/managed_login.py and docs/hosted-ui.md.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, LargeBinary, String, Table

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["managed_login_assets", "managed_login_brandings"]

managed_login_brandings = Table(
    "managed_login_brandings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    # one style per app client (ManagedLoginBrandingExistsException): the unique key decides
    Column(
        "client_id",
        String(128),
        ForeignKey("user_pool_clients.client_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("use_cognito_provided_values", Boolean, nullable=False),
    Column("settings", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

managed_login_assets = Table(
    "managed_login_assets",
    metadata,
    Column("branding_id", String(36), ForeignKey("managed_login_brandings.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("color_mode", String(8), primary_key=True),
    Column("extension", String(8), nullable=False),
    Column("resource_id", String(40), nullable=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
