"""AWS Organizations (issue 14, migration 0028): an organization over Ostiary accounts, its root and
organizational units, its member accounts, CreateAccount's requests, the invitations (handshakes)
it sends to accounts, the AWS services it gives trusted access and their delegated administrators,
and its policies (service control policies) with their attachments to the root, OUs and accounts.

An account belongs to at most one organization (``org_accounts.account_id`` is the key); the
management account is a member too. Ids are AWS's (``o-``, ``r-``, ``ou-``, ``p-``, ``car-``). The
AWS managed ``p-FullAWSAccess`` has no row in ``org_policies``: it is the same everywhere, so an
attachment naming it names no row. Tags of organizations resources are in ``tags`` by their ARNs.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = [
    "org_accounts",
    "org_create_account_requests",
    "org_delegated_admins",
    "org_handshakes",
    "org_organizations",
    "org_policies",
    "org_policy_attachments",
    "org_resource_policies",
    "org_service_access",
    "org_units",
]

org_organizations = Table(
    "org_organizations",
    metadata,
    Column("org_id", String(34), primary_key=True),  # o-<10 lowercase alnum>
    Column(
        "management_account_id",
        String(12),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("feature_set", String(32), nullable=False),  # ALL | CONSOLIDATED_BILLING
    Column("root_id", String(34), nullable=False, unique=True),  # r-<4 lowercase alnum>
    Column("policy_types", JSONDoc, nullable=False),  # the policy types enabled in the root: ["SERVICE_CONTROL_POLICY"]
    Column("created_at", UTCDateTime(), nullable=False),
)

org_units = Table(
    "org_units",
    metadata,
    Column("ou_id", String(68), primary_key=True),  # ou-<root's 4>-<8 lowercase alnum>
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", String(68), nullable=False),  # the root's id or an OU's
    Column("name", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "parent_id", "name", name="uq_org_units_name"),
)

org_accounts = Table(
    "org_accounts",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", String(68), nullable=False),
    Column("email", String(64), nullable=True),  # CreateAccount's Email (Ostiary's accounts have none otherwise)
    Column("email_key", String(64), nullable=True),  # lowercased: an address names one account
    Column("joined_method", String(16), nullable=False),  # CREATED | INVITED
    Column("joined_at", UTCDateTime(), nullable=False),
    Column("status", String(24), nullable=False),  # ACTIVE | SUSPENDED | PENDING_CLOSURE
    UniqueConstraint("org_id", "email_key", name="uq_org_accounts_email"),
    Index("ix_org_accounts_parent", "org_id", "parent_id"),
)

org_create_account_requests = Table(
    "org_create_account_requests",
    metadata,
    Column("request_id", String(40), primary_key=True),  # car-<32 lowercase alnum>
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("account_name", String(50), nullable=False),
    Column("account_id", String(12), nullable=True),
    Column("state", String(16), nullable=False),  # SUCCEEDED | FAILED (IN_PROGRESS is never stored)
    Column("failure_reason", String(64), nullable=True),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Index("ix_org_create_account_requests_org", "org_id", "requested_at"),
)

org_policies = Table(
    "org_policies",
    metadata,
    Column("policy_id", String(130), primary_key=True),  # p-<8 lowercase alnum>
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("policy_type", String(40), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", String(512), nullable=False),
    Column("content", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=True),  # 0035: created or last changed (effective policies)
    UniqueConstraint("org_id", "policy_type", "name", name="uq_org_policies_name"),
)

org_policy_attachments = Table(
    "org_policy_attachments",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", String(130), primary_key=True),  # an org_policies row, or p-FullAWSAccess
    Column("target_id", String(100), primary_key=True),  # a root, an OU or an account
    Column("policy_type", String(40), nullable=False),
    Column("attached_at", UTCDateTime(), nullable=True),  # 0035 (effective policies' LastUpdatedTimestamp)
    Index("ix_org_policy_attachments_target", "org_id", "target_id"),
)

# InviteAccountToOrganization's handshakes: the organization invites one account (by id); the account
# accepts or declines, the management account cancels; OPEN ones expire after 15 days. EnableAllFeatures
# (0035) makes one ENABLE_ALL_FEATURES handshake for the management account, one for each invited member
# (``parent_handshake_id`` names the first) and, once every member approved, APPROVE_ALL_FEATURES
org_handshakes = Table(
    "org_handshakes",
    metadata,
    Column("handshake_id", String(34), primary_key=True),  # h-<10 lowercase alnum>
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("action", String(32), nullable=False),  # INVITE | ENABLE_ALL_FEATURES | APPROVE_ALL_FEATURES
    Column("target_account_id", String(12), nullable=False),
    Column("notes", String(1024), nullable=True),
    Column("tags", JSONDoc, nullable=False),  # the tags the account gets when it joins
    Column("state", String(16), nullable=False),  # OPEN | ACCEPTED | DECLINED | CANCELED (EXPIRED: by the time)
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("parent_handshake_id", String(34), nullable=True),  # 0035: a member's ENABLE_ALL_FEATURES
    Index("ix_org_handshakes_target", "target_account_id"),
    Index("ix_org_handshakes_org", "org_id"),
)

# EnableAWSServiceAccess: the service principals given trusted access to the organization
org_service_access = Table(
    "org_service_access",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("service_principal", String(128), primary_key=True),
    Column("enabled_at", UTCDateTime(), nullable=False),
)

# RegisterDelegatedAdministrator: a member account that administers a service for the organization
# (and may read the organization's structure and policies)
org_delegated_admins = Table(
    "org_delegated_admins",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("service_principal", String(128), primary_key=True),
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), nullable=False),
    Column("enabled_at", UTCDateTime(), nullable=False),
    Index("ix_org_delegated_admins_org", "org_id", "service_principal"),
)

# PutResourcePolicy (0035): the organization's one resource-based delegation policy, which lets member
# accounts' principals call the Organizations operations it allows
org_resource_policies = Table(
    "org_resource_policies",
    metadata,
    Column("org_id", String(34), ForeignKey("org_organizations.org_id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", String(34), nullable=False, unique=True),  # rp-<8 lowercase alnum>
    Column("content", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
