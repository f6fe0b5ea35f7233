"""AWS Organizations (awsJson 1.1) over Ostiary's accounts, and its organization policies.
Importing the package registers its operations: the organization (``organization.py``), its accounts
(``accounts.py``), invitations of existing accounts (``handshakes.py``), EnableAllFeatures
(``feature_sets.py``), the root and OUs (``units.py``), policies and policy types (``policies.py``;
what each type may contain: ``policy_types.py``; management policies' inheritance:
``effective_policies.py``), the resource-based delegation policy (``resource_policy.py``; its
enforcement: ``delegation.py``), services' trusted access (``service_access.py``) and their delegated
administrators (``delegated_admins.py``), tags (``tagging.py``); what they share is ``structure.py``
(and ``handshake_records.py`` for handshakes). The policy engine's side of SCPs and RCPs is
``access/service_control.py``."""

from ostiary.organizations import (
    accounts,
    delegated_admins,
    effective_policies,
    feature_sets,
    handshakes,
    organization,
    policies,
    resource_policy,
    service_access,
    tagging,
    units,
)

__all__ = [
    "accounts",
    "delegated_admins",
    "effective_policies",
    "feature_sets",
    "handshakes",
    "organization",
    "policies",
    "resource_policy",
    "service_access",
    "tagging",
    "units",
]
