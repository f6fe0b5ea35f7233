"""IAM Identity Center: its instances (sso-admin) and each instance's identity store (identitystore):
the workforce directory's users, groups and group memberships.

An instance owns exactly one identity store (``d-`` followed by ten hex digits); deleting the instance
deletes its directory. A user's and a group's attributes are kept as the model's document (everything
but the ids and the audit fields), with the unique names in key columns compared case-insensitively.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = [
    "identitystore_external_ids",
    "identitystore_groups",
    "identitystore_memberships",
    "identitystore_users",
    "scim_tokens",
    "sso_instances",
]

sso_instances = Table(
    "sso_instances",
    metadata,
    Column("instance_arn", String(128), primary_key=True),  # arn:aws:sso:::instance/ssoins-<16 hex>
    Column("identity_store_id", String(16), nullable=False, unique=True),  # d-<10 hex>
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=True),
    Column("status", String(32), nullable=False),  # ACTIVE | DELETE_IN_PROGRESS …
    Column("client_token", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # settings of the instance that sso-admin's operations do not model (identity source, portal)
    Column("settings", JSONDoc, nullable=True),
)

identitystore_users = Table(
    "identitystore_users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_name", String(128), nullable=False),
    Column("user_name_key", String(128), nullable=False),  # casefolded: UserName is unique ignoring case
    Column("document", JSONDoc, nullable=False),  # the User shape but ids and audit fields
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(256), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(256), nullable=True),
    # 0029: Revision (grows with every change; UpdateUser/DeleteUser's condition, SCIM's ETag) and the
    # casefolded first e-mail address, GetUserId's ``emails.value`` (not unique, as AWS's)
    Column("revision", Integer, nullable=False, server_default="1"),
    Column("email_key", String(1024), nullable=True),
    UniqueConstraint("identity_store_id", "user_name_key", name="uq_identitystore_users_name"),
    Index("ix_identitystore_users_email", "identity_store_id", "email_key"),
)

identitystore_groups = Table(
    "identitystore_groups",
    metadata,
    Column("group_id", String(64), primary_key=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("display_name", String(1024), nullable=False),
    Column("display_name_key", String(1024), nullable=False),  # casefolded, unique per store
    Column("document", JSONDoc, nullable=False),  # the Group shape but ids and audit fields
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(256), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(256), nullable=True),
    Column("revision", Integer, nullable=False, server_default="1"),  # 0029, as the users'
    UniqueConstraint("identity_store_id", "display_name_key", name="uq_identitystore_groups_name"),
)

identitystore_memberships = Table(
    "identitystore_memberships",
    metadata,
    Column("membership_id", String(64), primary_key=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("group_id", String(64), ForeignKey("identitystore_groups.group_id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(64), ForeignKey("identitystore_users.user_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(256), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(256), nullable=True),
    UniqueConstraint("group_id", "user_id", name="uq_identitystore_memberships"),
    Index("ix_identitystore_memberships_user", "user_id"),
)

# 0029: the ExternalIds of users and groups (issuer + id, unique per store and resource type: GetUserId
# and GetGroupId by ExternalId, SCIM's externalId); a row belongs to a user or to a group
identitystore_external_ids = Table(
    "identitystore_external_ids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("resource_type", String(8), nullable=False),  # USER | GROUP
    Column("user_id", String(64), ForeignKey("identitystore_users.user_id", ondelete="CASCADE"), nullable=True),
    Column("group_id", String(64), ForeignKey("identitystore_groups.group_id", ondelete="CASCADE"), nullable=True),
    Column("issuer", String(256), nullable=False),
    Column("external_id", String(256), nullable=False),
    Column("position", Integer, nullable=False),  # order of the resource's ExternalIds list
    UniqueConstraint(
        "identity_store_id", "resource_type", "issuer", "external_id", name="uq_identitystore_external_ids"
    ),
    Index("ix_identitystore_external_ids_user", "user_id"),
    Index("ix_identitystore_external_ids_group", "group_id"),
)

# 0029: SCIM bearer tokens of an identity store (AWS: at most two per instance, a year of life); only
# the token's sha256 is kept
scim_tokens = Table(
    "scim_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the bearer token
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Index("ix_scim_tokens_store", "identity_store_id"),
)
