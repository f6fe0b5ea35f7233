"""sso-admin (IAM Identity Center's administration API, awsJson 1.1): one module per area.

``instances.py`` (Create/Describe/List/Update/DeleteInstance), ``permission_sets.py`` (permission
sets and their policies), ``assignments.py`` (account assignments, their statuses, and
``access_for_user``, what the portal reads), ``provisioning.py`` (ProvisionPermissionSet and the IAM
roles it writes in each account), ``targets.py`` (which accounts an instance may provision into),
``applications.py`` (applications, their assignments, and ``user_may_use`` for the SAML IdP),
``tagging.py`` (tags of instances, permission sets and applications), ``access_control.py``
(attributes for access control, and ``session_tags`` for the portal's role sessions); trusted identity
propagation: ``application_config.py`` (session configuration, access scopes, authentication methods
and their ActorPolicy), ``application_grants.py`` (OAuth grants), ``trusted_token_issuers.py``;
the errors every Identity Center JSON service shares are ``errors.py``, their NextToken paging
``paging.py``. Importing the package registers its operations.
"""

from __future__ import annotations

from ostiary.ssoadmin import (
    access_control,
    application_config,
    application_grants,
    applications,
    assignments,
    instances,
    permission_sets,
    provisioning,
    tagging,
    trusted_token_issuers,
)

__all__ = [
    "access_control",
    "application_config",
    "application_grants",
    "applications",
    "assignments",
    "instances",
    "permission_sets",
    "provisioning",
    "tagging",
    "trusted_token_issuers",
]
