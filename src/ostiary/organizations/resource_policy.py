"""The organization's resource-based delegation policy: PutResourcePolicy, DescribeResourcePolicy,
DeleteResourcePolicy (AWS Organizations API Reference; User Guide, "Delegated administrator for AWS
Organizations").

The management account of an organization with all features keeps one resource policy (id ``rp-…``,
ARN ``arn:aws:organizations::<management account>:resourcepolicy/o-…/rp-…``); the management account
and delegated administrators may describe it. Its enforcement is ``delegation.py``.

A document is refused (InvalidInputException with AWS's reasons) unless it is a resource policy of the
IAM grammar (INVALID_RESOURCE_POLICY_JSON) whose every statement

- names in Principal only AWS principals of accounts in the organization: an account id, its root
  (``arn:aws:iam::<account>:root``), or a user or role of it (INVALID_PRINCIPAL: ``"*"``, services,
  federated principals, NotPrincipal and any account outside the organization are refused);
- names in Action only ``organizations:`` actions that can be delegated, the reads of the organization
  and the management of policies and tags (``delegation.DELEGABLE``), wildcards included when no write
  they match is outside that set (``organizations:List*`` is accepted, ``organizations:*`` is not)
  (UNSUPPORTED_ACTION_IN_RESOURCE_POLICY; NotAction is refused);
- names in Resource ``*`` or ARNs of this organization's resources (or of AWS managed policies)
  (UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY);
- conditions on ``organizations:PolicyType`` only with policy types of the model
  (UNSUPPORTED_POLICY_TYPE_IN_RESOURCE_POLICY).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.access import policy
from ostiary.audit import recorder as audit
from ostiary.organizations import delegation, tagging
from ostiary.organizations import policy_types as types
from ostiary.organizations import structure as s
from ostiary.organizations.errors import InvalidInputException, ResourcePolicyNotFoundException
from ostiary.protocol import models
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

NOT_FOUND = "We can't find a resource policy request with the parameter that you specified."
_ACCOUNT = re.compile(r"\d{12}")
_IAM_PRINCIPAL = re.compile(r"arn:aws:iam::(\d{12}):(root|user/.+|role/.+)")


def _summary(org: s.Org, policy_id: str) -> dict[str, Any]:
    return {"Id": policy_id, "Arn": s.arn_of_id(org, policy_id)}


def _row(conn: Connection, org: s.Org) -> Any:
    rp = t.org_resource_policies.c
    row = conn.execute(select(t.org_resource_policies).where(rp.org_id == org.org_id)).first()
    if row is None:
        raise ResourcePolicyNotFoundException(NOT_FOUND)
    return row


def _invalid(message: str, reason: str) -> InvalidInputException:
    return InvalidInputException(message, Reason=reason)


def _members(conn: Connection, org: s.Org) -> set[str]:
    a = t.org_accounts.c
    return {str(v) for v in conn.execute(select(a.account_id).where(a.org_id == org.org_id)).scalars()}


def check(conn: Connection, org: s.Org, content: str) -> None:
    """Refuse a delegation policy AWS would refuse (the module's docstring)."""
    try:
        document = policy.parse(content, resource_policy=True)
    except policy.MalformedPolicy as err:
        raise _invalid(f"The provided policy document is not valid: {err}", "INVALID_RESOURCE_POLICY_JSON") from None
    members = _members(conn, org)
    for stmt in document.statements:
        _check_principals(stmt, members)
        _check_actions(stmt)
        _check_resources(stmt, org)
        for operator, entries in stmt.conditions.items():
            for key, values in entries.items():
                if key.lower() == "organizations:policytype" and any(v not in types.ALL_TYPES for v in values):
                    raise _invalid(
                        f"The condition {operator} names a policy type that doesn't exist.",
                        "UNSUPPORTED_POLICY_TYPE_IN_RESOURCE_POLICY",
                    )


def _check_principals(stmt: policy.Statement, members: set[str]) -> None:
    bad = "The resource policy can name only principals of the organization's accounts."
    if stmt.not_principals is not None or stmt.principals is None or set(stmt.principals) != {"AWS"}:
        raise _invalid(bad, "INVALID_PRINCIPAL")
    for principal in stmt.principals["AWS"]:
        match = _IAM_PRINCIPAL.fullmatch(principal)
        account = principal if _ACCOUNT.fullmatch(principal) else (match.group(1) if match else None)
        if account is None or account not in members:
            raise _invalid(f"{bad} {principal} is not one.", "INVALID_PRINCIPAL")


def _check_actions(stmt: policy.Statement) -> None:
    if stmt.actions is None:
        raise _invalid(
            "The resource policy must list its actions (no NotAction).", "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY"
        )
    for pattern in stmt.actions:
        if not pattern.lower().startswith("organizations:"):
            raise _invalid(f"The action {pattern} can't be delegated.", "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY")
        matched = {name for name in _operations() if policy.action_matches((pattern,), f"organizations:{name}")}
        # a wildcard may also match reads that cannot be delegated (DescribeResponsibilityTransfer…):
        # they stay refused when called; a write that cannot be delegated refuses the document
        refused = {name for name in matched - delegation.DELEGABLE if not name.startswith(("Describe", "List"))}
        if not matched & delegation.DELEGABLE or refused:
            raise _invalid(f"The action {pattern} can't be delegated.", "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY")


def _operations() -> list[str]:
    return list(models.service_model("organizations").operation_names)


def _check_resources(stmt: policy.Statement, org: s.Org) -> None:
    if stmt.resources is None:
        raise _invalid("The resource policy must list its resources.", "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY")
    ours = f"arn:aws:organizations::{org.mgmt}:"
    for resource in stmt.resources:
        if resource == "*" or resource.startswith("arn:aws:organizations::aws:policy/"):
            continue
        if not resource.startswith(ours) or f"/{org.org_id}" not in resource:
            raise _invalid(
                f"The resource {resource} is not a resource of this organization.",
                "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY",
            )


@operation("organizations", "PutResourcePolicy")
def put_resource_policy(ctx: RequestContext, params: Params) -> Result:
    content = params["Content"]
    with ctx.store.tx() as conn:
        org = s.require_all_features(s.management(conn, ctx))
        check(conn, org, content)
        rp = t.org_resource_policies.c
        row = conn.execute(select(t.org_resource_policies).where(rp.org_id == org.org_id)).first()
        if row is None:
            policy_id = "rp-" + s.new_policy_id().removeprefix("p-")
            conn.execute(
                insert(t.org_resource_policies).values(
                    org_id=org.org_id, policy_id=policy_id, content=content, updated_at=ctx.now
                )
            )
            if params.get("Tags"):
                tagging.write(conn, org, s.arn_of_id(org, policy_id), params["Tags"])
        else:
            if params.get("Tags"):  # AWS: tags apply to the policy's creation only
                raise _invalid(
                    "You can specify tags only when you create the resource policy.", "INVALID_SYSTEM_TAGS_PARAMETER"
                )
            policy_id = str(row.policy_id)
            conn.execute(
                update(t.org_resource_policies)
                .where(rp.org_id == org.org_id)
                .values(content=content, updated_at=ctx.now)
            )
        audit.record(conn, ctx, params, resource=("AWS::Organizations::ResourcePolicy", policy_id))
    return {"ResourcePolicy": {"ResourcePolicySummary": _summary(org, policy_id), "Content": content}}


@operation("organizations", "DescribeResourcePolicy")
def describe_resource_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        row = _row(conn, org)
    return {"ResourcePolicy": {"ResourcePolicySummary": _summary(org, row.policy_id), "Content": row.content}}


@operation("organizations", "DeleteResourcePolicy")
def delete_resource_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _row(conn, org)
        tagging.drop(conn, s.arn_of_id(org, row.policy_id))
        conn.execute(delete(t.org_resource_policies).where(t.org_resource_policies.c.org_id == org.org_id))
        audit.record(conn, ctx, params, resource=("AWS::Organizations::ResourcePolicy", row.policy_id))
    return {}
