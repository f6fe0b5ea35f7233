"""SQLAlchemy Core tables, one module per service area, all in one ``metadata``. Every change here needs an
Alembic migration (a test compares them). ``from ostiary.store import tables as t; t.users`` reads any
table from here: base (metadata, column types), common, userpools, oauth, identitypools, iam, sts.
"""

from __future__ import annotations

# Issue 14's areas (IAM Identity Center, Organizations): each module lists its tables in __all__.
from ostiary.store.tables import accessportal as _accessportal
from ostiary.store.tables import cimd as _cimd
from ostiary.store.tables import cognitosync as _cognitosync
from ostiary.store.tables import gateway as _gateway
from ostiary.store.tables import identitystore as _identitystore
from ostiary.store.tables import log_delivery as _log_delivery
from ostiary.store.tables import managed_login as _managed_login
from ostiary.store.tables import organizations as _organizations
from ostiary.store.tables import quotas as _quotas
from ostiary.store.tables import recovery as _recovery
from ostiary.store.tables import replicas as _replicas
from ostiary.store.tables import risk as _risk
from ostiary.store.tables import samlidp as _samlidp
from ostiary.store.tables import ssoadmin as _ssoadmin
from ostiary.store.tables import ssooidc as _ssooidc
from ostiary.store.tables.accessportal import *  # noqa: F403
from ostiary.store.tables.base import (
    JSONDoc,
    UTCDateTime,
    metadata,
)
from ostiary.store.tables.cimd import *  # noqa: F403
from ostiary.store.tables.cognitosync import *  # noqa: F403
from ostiary.store.tables.common import (
    access_keys,
    accounts,
    audit_events,
    counters,
    outbox,
    signing_keys,
    single_use_markers,
    tags,
)
from ostiary.store.tables.gateway import *  # noqa: F403
from ostiary.store.tables.iam import (
    iam_account_settings,
    iam_attachments,
    iam_credential_reports,
    iam_deletion_tasks,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_instance_profiles,
    iam_login_profiles,
    iam_mfa_devices,
    iam_oidc_providers,
    iam_policies,
    iam_policy_versions,
    iam_roles,
    iam_saml_providers,
    iam_server_certificates,
    iam_service_specific_credentials,
    iam_signing_certificates,
    iam_ssh_public_keys,
    iam_users,
)
from ostiary.store.tables.identitypools import (
    identities,
    identity_logins,
    identity_pools,
)
from ostiary.store.tables.identitystore import *  # noqa: F403
from ostiary.store.tables.log_delivery import *  # noqa: F403
from ostiary.store.tables.managed_login import *  # noqa: F403
from ostiary.store.tables.oauth import (
    oauth_codes,
    resource_servers,
    sso_sessions,
    ui_customizations,
    user_pool_domains,
)
from ostiary.store.tables.organizations import *  # noqa: F403
from ostiary.store.tables.quotas import *  # noqa: F403
from ostiary.store.tables.recovery import *  # noqa: F403
from ostiary.store.tables.replicas import *  # noqa: F403
from ostiary.store.tables.risk import *  # noqa: F403
from ostiary.store.tables.samlidp import *  # noqa: F403
from ostiary.store.tables.ssoadmin import *  # noqa: F403
from ostiary.store.tables.ssooidc import *  # noqa: F403
from ostiary.store.tables.sts import (
    sts_sessions,
)
from ostiary.store.tables.userpools import (
    SEARCH_ATTRIBUTES,
    SEARCH_KEY_LEN,
    auth_sessions,
    code_limits,
    codes,
    devices,
    external_identities,
    group_members,
    groups,
    refresh_tokens,
    user_auth_events,
    user_import_errors,
    user_import_jobs,
    user_import_slices,
    user_pool_client_session_config,
    user_pool_clients,
    user_pool_identity_providers,
    user_pool_risk_configurations,
    user_pool_session_config,
    user_pool_terms,
    user_pools,
    username_search_key,
    users,
    webauthn_credentials,
)

__all__ = [
    "SEARCH_ATTRIBUTES",
    "SEARCH_KEY_LEN",
    "JSONDoc",
    "UTCDateTime",
    "access_keys",
    "accounts",
    "audit_events",
    "auth_sessions",
    "code_limits",
    "codes",
    "counters",
    "devices",
    "external_identities",
    "group_members",
    "groups",
    "iam_account_settings",
    "iam_attachments",
    "iam_credential_reports",
    "iam_deletion_tasks",
    "iam_group_members",
    "iam_groups",
    "iam_inline_policies",
    "iam_instance_profiles",
    "iam_login_profiles",
    "iam_mfa_devices",
    "iam_oidc_providers",
    "iam_policies",
    "iam_policy_versions",
    "iam_roles",
    "iam_saml_providers",
    "iam_server_certificates",
    "iam_service_specific_credentials",
    "iam_signing_certificates",
    "iam_ssh_public_keys",
    "iam_users",
    "identities",
    "identity_logins",
    "identity_pools",
    "metadata",
    "oauth_codes",
    "outbox",
    "refresh_tokens",
    "resource_servers",
    "signing_keys",
    "single_use_markers",
    "sso_sessions",
    "sts_sessions",
    "tags",
    "ui_customizations",
    "user_auth_events",
    "user_import_errors",
    "user_import_jobs",
    "user_import_slices",
    "user_pool_client_session_config",
    "user_pool_clients",
    "user_pool_domains",
    "user_pool_identity_providers",
    "user_pool_risk_configurations",
    "user_pool_session_config",
    "user_pool_terms",
    "user_pools",
    "username_search_key",
    "users",
    "webauthn_credentials",
    *_accessportal.__all__,
    *_cognitosync.__all__,
    *_cimd.__all__,
    *_quotas.__all__,
    *_recovery.__all__,
    *_replicas.__all__,
    *_gateway.__all__,
    *_identitystore.__all__,
    *_samlidp.__all__,
    *_organizations.__all__,
    *_log_delivery.__all__,
    *_managed_login.__all__,
    *_risk.__all__,
    *_ssoadmin.__all__,
    *_ssooidc.__all__,
]
