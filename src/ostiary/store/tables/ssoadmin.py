"""IAM Identity Center's administration (sso-admin, issue 14): permission sets, account assignments,
what is provisioned where, the status of each asynchronous request, applications and their
assignments, and the instance's attributes for access control (migration 0030); the instance's
additional Regions, applications' session configuration, access scopes, authentication methods and
grants, and trusted token issuers (trusted identity propagation, migration 0034).

A permission set keeps its policies in its own row (AWS allows at most 20 managed policies and 20
customer managed references per set, read whole when provisioning); ``revision`` grows with every
change, and a provisioned account remembers the revision it received, so an account whose role is
older than the set is ``LATEST_PERMISSION_SET_NOT_PROVISIONED`` until ProvisionPermissionSet.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = [
    "sso_access_control",
    "sso_account_assignments",
    "sso_application_assignments",
    "sso_application_auth_methods",
    "sso_application_grants",
    "sso_application_scopes",
    "sso_application_settings",
    "sso_applications",
    "sso_instance_regions",
    "sso_operations",
    "sso_permission_sets",
    "sso_provisioned",
    "sso_trusted_token_issuers",
]


def _instance_fk() -> ForeignKey:
    return ForeignKey("sso_instances.instance_arn", ondelete="CASCADE")


sso_permission_sets = Table(
    "sso_permission_sets",
    metadata,
    Column("permission_set_arn", String(256), primary_key=True),  # arn:aws:sso:::permissionSet/ssoins-…/ps-…
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("name", String(32), nullable=False),
    Column("description", String(700), nullable=True),
    Column("session_duration", String(100), nullable=False),  # ISO 8601, PT1H by default
    Column("relay_state", String(240), nullable=True),
    Column("inline_policy", Text, nullable=True),
    Column("managed_policies", JSONDoc, nullable=False),  # [AWS managed policy ARN]
    Column("customer_policies", JSONDoc, nullable=False),  # [{"Name": …, "Path": …}]
    Column("permissions_boundary", JSONDoc, nullable=True),  # the PermissionsBoundary shape
    Column("revision", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("instance_arn", "name", name="uq_sso_permission_sets_name"),
)

sso_account_assignments = Table(
    "sso_account_assignments",
    metadata,
    Column(
        "permission_set_arn",
        String(256),
        ForeignKey("sso_permission_sets.permission_set_arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("account_id", String(12), primary_key=True),  # the target account
    Column("principal_type", String(8), primary_key=True),  # USER | GROUP
    Column("principal_id", String(64), primary_key=True),
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sso_account_assignments_principal", "principal_id"),
    Index("ix_sso_account_assignments_account", "instance_arn", "account_id"),
)

# a permission set provisioned into an account: the role it became there
sso_provisioned = Table(
    "sso_provisioned",
    metadata,
    Column(
        "permission_set_arn",
        String(256),
        ForeignKey("sso_permission_sets.permission_set_arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("account_id", String(12), primary_key=True),
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("role_name", String(64), nullable=False),  # AWSReservedSSO_<name>_<16 hex>
    Column("role_path", String(512), nullable=False),
    Column("revision", Integer, nullable=False),  # the permission set's revision the role holds
    Column("provisioned_at", UTCDateTime(), nullable=False),
    Index("ix_sso_provisioned_account", "instance_arn", "account_id"),
)

# every CreateAccountAssignment, DeleteAccountAssignment and ProvisionPermissionSet request, done
# synchronously: its status is final when the call answers
sso_operations = Table(
    "sso_operations",
    metadata,
    Column("request_id", String(36), primary_key=True),  # a UUID
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("kind", String(16), nullable=False),  # CREATE | DELETE (assignments) | PROVISION
    Column("status", String(16), nullable=False),  # SUCCEEDED | FAILED
    Column("failure_reason", String(1024), nullable=True),
    Column("permission_set_arn", String(256), nullable=False),
    Column("target_id", String(12), nullable=True),
    Column("target_type", String(32), nullable=True),
    Column("principal_type", String(8), nullable=True),
    Column("principal_id", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sso_operations_instance", "instance_arn", "kind", "created_at"),
)

sso_applications = Table(
    "sso_applications",
    metadata,
    Column("application_arn", String(256), primary_key=True),  # arn:aws:sso::<acct>:application/ssoins-…/apl-…
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("account_id", String(12), nullable=False),  # the instance owner's account (ApplicationAccount)
    Column("provider_arn", String(256), nullable=False),
    Column("name", String(100), nullable=False),
    Column("description", String(128), nullable=True),
    Column("status", String(16), nullable=False),  # ENABLED | DISABLED
    Column("portal_options", JSONDoc, nullable=False),  # the PortalOptions shape
    Column("assignment_required", Boolean, nullable=False),
    Column("client_token", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sso_applications_instance", "instance_arn"),
)

sso_application_assignments = Table(
    "sso_application_assignments",
    metadata,
    Column(
        "application_arn",
        String(256),
        ForeignKey("sso_applications.application_arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("principal_type", String(8), primary_key=True),
    Column("principal_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sso_application_assignments_principal", "principal_id"),
)

# the instance's attributes for access control (ABAC): the InstanceAccessControlAttributeConfiguration
sso_access_control = Table(
    "sso_access_control",
    metadata,
    Column("instance_arn", String(128), _instance_fk(), primary_key=True),
    Column("attributes", JSONDoc, nullable=False),  # [AccessControlAttribute]
    Column("updated_at", UTCDateTime(), nullable=False),
)


# --- trusted identity propagation (migration 0034) ----------------------------------------------


def _application_fk() -> ForeignKey:
    return ForeignKey("sso_applications.application_arn", ondelete="CASCADE")


# Regions added to an instance (AddRegion); the primary Region (the server's) has no row
sso_instance_regions = Table(
    "sso_instance_regions",
    metadata,
    Column("instance_arn", String(128), _instance_fk(), primary_key=True),
    Column("region_name", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # ACTIVE (the workflow is done in the transaction)
    Column("added_at", UTCDateTime(), nullable=False),
)

# an application's session configuration (PutApplicationSessionConfiguration)
sso_application_settings = Table(
    "sso_application_settings",
    metadata,
    Column("application_arn", String(256), _application_fk(), primary_key=True),
    Column("user_background_sessions", String(8), nullable=False),  # ENABLED | DISABLED
    Column("updated_at", UTCDateTime(), nullable=False),
)

sso_application_scopes = Table(
    "sso_application_scopes",
    metadata,
    Column("application_arn", String(256), _application_fk(), primary_key=True),
    Column("scope", String(160), primary_key=True),
    Column("targets", JSONDoc, nullable=False),  # [application or instance ARN]; [] = none given
    Column("updated_at", UTCDateTime(), nullable=False),
)

# the IAM authentication method: its ActorPolicy, a resource-based policy document (validated by IAM's
# grammar when put; evaluated by the policy engine when CreateTokenWithIAM is called)
sso_application_auth_methods = Table(
    "sso_application_auth_methods",
    metadata,
    Column("application_arn", String(256), _application_fk(), primary_key=True),
    Column("method_type", String(8), primary_key=True),  # IAM
    Column("actor_policy", Text, nullable=False),  # the document as JSON text
    Column("updated_at", UTCDateTime(), nullable=False),
)

sso_application_grants = Table(
    "sso_application_grants",
    metadata,
    Column("application_arn", String(256), _application_fk(), primary_key=True),
    Column("grant_type", String(64), primary_key=True),
    Column("grant", JSONDoc, nullable=False),  # the Grant union's member, as given
    Column("updated_at", UTCDateTime(), nullable=False),
)

sso_trusted_token_issuers = Table(
    "sso_trusted_token_issuers",
    metadata,
    Column("issuer_arn", String(256), primary_key=True),  # arn:aws:sso::<acct>:trustedTokenIssuer/ssoins-…/tti-<uuid>
    Column("instance_arn", String(128), _instance_fk(), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("name", String(255), nullable=False),
    Column("issuer_type", String(16), nullable=False),  # OIDC_JWT
    Column("issuer_url", String(512), nullable=False),
    Column("claim_attribute_path", String(255), nullable=False),
    Column("identity_store_attribute_path", String(255), nullable=False),
    Column("jwks_retrieval_option", String(32), nullable=False),  # OPEN_ID_DISCOVERY
    Column("client_token", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("instance_arn", "issuer_url", name="uq_sso_trusted_token_issuers_url"),
    UniqueConstraint("instance_arn", "name", name="uq_sso_trusted_token_issuers_name"),
)
