"""IAM: users, groups, roles, policies and their attachments, identity providers, MFA devices,
instance profiles, login profiles, account settings, SSH keys, certificates, service credentials,
deletion tasks and credential reports.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

iam_users = Table(
    "iam_users",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(64), primary_key=True),  # user names are unique regardless of case
    Column("name", String(64), nullable=False),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Inline policies of users (and, later, groups and roles): the document as given, validated.
iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("principal_type", String(8), primary_key=True),  # user | group | role
    Column("principal_key", String(128), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
)


iam_roles = Table(
    "iam_roles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
)


iam_groups = Table(
    "iam_groups",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("group_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


iam_group_members = Table(
    "iam_group_members",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("group_key", String(128), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Index("ix_iam_group_members_user", "account_id", "user_key"),
)


# Managed policies: customer managed (account_id = the account) and AWS managed (account_id "aws").
iam_policies = Table(
    "iam_policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_iam_policies_account", "account_id"),
)


iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("arn", String(2048), ForeignKey("iam_policies.arn", ondelete="CASCADE"), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("principal_type", String(8), primary_key=True),  # user | group | role
    Column("principal_key", String(128), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Index("ix_iam_attachments_policy", "policy_arn"),
)


iam_oidc_providers = Table(
    "iam_oidc_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(1024), nullable=False),
    Column("client_ids", JSONDoc, nullable=False),
    Column("thumbprints", JSONDoc, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


iam_saml_providers = Table(
    "iam_saml_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("metadata_document", Text, nullable=False),
    Column("valid_until", UTCDateTime(), nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Virtual MFA devices: serial arn:aws:iam::<acct>:mfa<path><name>; the TOTP seed sealed; assigned to
# at most one user (user_key, EnableMFADevice); last_step refuses a code's reuse.
iam_mfa_devices = Table(
    "iam_mfa_devices",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(256), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("path", String(512), nullable=False),
    Column("seed_enc", Text, nullable=False),
    Column("user_key", String(64), nullable=True),
    Column("enabled_at", UTCDateTime(), nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


iam_instance_profiles = Table(
    "iam_instance_profiles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("profile_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("role_key", String(64), nullable=True),  # name_key of its role (at most one)
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Console passwords of IAM users (CreateLoginProfile): hashed (Argon2id), never stored in clear.
iam_login_profiles = Table(
    "iam_login_profiles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("reset_required", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=True),
)


# One row per account that has an alias or a password policy.
iam_account_settings = Table(
    "iam_account_settings",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(63), nullable=True, unique=True),
    Column("password_policy", JSONDoc, nullable=True),
)


iam_ssh_public_keys = Table(
    "iam_ssh_public_keys",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)


iam_signing_certificates = Table(
    "iam_signing_certificates",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("certificate_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=True),  # NULL: the account root's
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)


# Server certificates: the private key sealed under the KEK, never returned.
iam_server_certificates = Table(
    "iam_server_certificates",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("certificate_id", String(128), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("chain", Text, nullable=True),
    Column("private_key_enc", Text, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)


# Service-specific credentials: the password hashed (Argon2id), shown once at creation and reset.
iam_service_specific_credentials = Table(
    "iam_service_specific_credentials",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("credential_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=False),
    Column("service_name", String(128), nullable=False),
    Column("service_user_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
)


# DeleteServiceLinkedRole's tasks (GetServiceLinkedRoleDeletionStatus).
iam_deletion_tasks = Table(
    "iam_deletion_tasks",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(256), primary_key=True),
    Column("role_name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", JSONDoc, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


# GenerateCredentialReport (migration 0021): the account's latest credential report, the CSV as
# generated (GetCredentialReport returns it unchanged until the next generation).
iam_credential_reports = Table(
    "iam_credential_reports",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("content", Text, nullable=False),
    Column("generated_at", UTCDateTime(), nullable=False),
)
