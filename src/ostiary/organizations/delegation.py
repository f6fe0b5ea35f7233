"""The organization's resource-based delegation policy, as the policy engine decides it (AWS
Organizations User Guide, "Delegated administrator for AWS Organizations"); no operations here
(PutResourcePolicy and the others are ``resource_policy.py``).

A member account's principal may call an Organizations operation that the management account alone
may call otherwise when the organization's resource policy allows it: the policy is evaluated by
``access.policy`` as a resource-based policy, with the caller as the principal (a Principal naming
its account's root, its user, or its role for a role session), the action ``organizations:<Operation>``,
the resource acted on and the request's condition keys (``organizations:PolicyType`` for the policy
operations). An explicit deny in it denies; nothing else allows. The caller's own identity policies
(and its SCPs) were already evaluated by the dispatcher, so both sides must allow, as for any call
across accounts.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, select

from ostiary.access import authz, policy
from ostiary.access.principals import PrincipalKind
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t

# what the delegation policy may allow (the rest stays the management account's): every operation
# that reads the organization, and the management of policies and of tags
READS = frozenset(
    {
        "DescribeAccount",
        "DescribeCreateAccountStatus",
        "DescribeEffectivePolicy",
        "DescribeHandshake",
        "DescribeOrganization",
        "DescribeOrganizationalUnit",
        "DescribePolicy",
        "DescribeResourcePolicy",
        "ListAWSServiceAccessForOrganization",
        "ListAccounts",
        "ListAccountsForParent",
        "ListAccountsWithInvalidEffectivePolicy",
        "ListChildren",
        "ListCreateAccountStatus",
        "ListDelegatedAdministrators",
        "ListDelegatedServicesForAccount",
        "ListEffectivePolicyValidationErrors",
        "ListHandshakesForOrganization",
        "ListOrganizationalUnitsForParent",
        "ListParents",
        "ListPolicies",
        "ListPoliciesForTarget",
        "ListRoots",
        "ListTagsForResource",
        "ListTargetsForPolicy",
    }
)
WRITES = frozenset(
    {
        "AttachPolicy",
        "CreatePolicy",
        "DeletePolicy",
        "DetachPolicy",
        "DisablePolicyType",
        "EnablePolicyType",
        "TagResource",
        "UntagResource",
        "UpdatePolicy",
    }
)
DELEGABLE = READS | WRITES


def load(conn: Connection, org_id: str) -> policy.Policy | None:
    row = conn.execute(
        select(t.org_resource_policies.c.content).where(t.org_resource_policies.c.org_id == org_id)
    ).first()
    if row is None:
        return None
    try:
        return policy.parse(row.content, resource_policy=True)
    except policy.MalformedPolicy:
        return None  # validated when stored; a document that no longer parses allows nothing


def allows(
    conn: Connection,
    ctx: RequestContext,
    org_id: str,
    resources: tuple[str, ...] = ("*",),
    keys: dict[str, list[str]] | None = None,
) -> bool:
    """Whether the organization's resource policy allows the caller this operation on every one of
    ``resources``."""
    if ctx.operation not in DELEGABLE or ctx.principal is None:
        return False
    document = load(conn, org_id)
    if document is None:
        return False
    found = authz.caller_policies(ctx.store, ctx.principal)
    if ctx.principal.kind is PrincipalKind.ROOT:
        found = dataclasses.replace(found, identity=authz.root_identity())
    action = f"organizations:{ctx.operation}"
    for resource in resources:
        request_keys = authz.request_keys(
            ctx.principal, found, source_ip=ctx.source_ip, now=ctx.now, secure=False, region=ctx.region
        )
        request_keys.update(keys or {})
        request = authz.request_context(ctx.principal, action, resource, request_keys, found)
        outcome, _ = policy.resource_policy_outcome(document, request)
        if outcome is not policy.Outcome.ALLOW:
            return False
    return True
