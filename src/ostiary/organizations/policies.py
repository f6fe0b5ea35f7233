"""Organization policies: CreatePolicy, DescribePolicy, UpdatePolicy, DeletePolicy, ListPolicies,
AttachPolicy, DetachPolicy, ListPoliciesForTarget, ListTargetsForPolicy, EnablePolicyType,
DisablePolicyType (AWS Organizations API Reference).

Every policy type of the model is available to an organization with all features (``policy_types.py``
says what each may contain). Service control policies bind the principals of member accounts (the
policy engine evaluates them: ``access.service_control``); resource control policies bind member
accounts' roles when they are assumed through STS (``sts.sessions``). Management policies are
inherited into an account's effective policy (``effective_policies.py``). As
AWS: the AWS managed ``FullAWSAccess`` SCP (``p-FullAWSAccess``) and ``RCPFullAWSAccess`` RCP
(``p-RCPFullAWSAccess``) cannot be changed or deleted; enabling one of those two types attaches its AWS
managed policy to the root, every OU and every account; a target keeps at least one SCP, can never lose
``RCPFullAWSAccess``, and has at most five SCPs, five RCPs and per-type quotas of the others; disabling a
type detaches every policy of it.

The management account manages policies; a member account may too when the organization's resource
policy allows it (``structure.manage``, condition key ``organizations:PolicyType``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.access import service_control
from ostiary.audit import recorder as audit
from ostiary.organizations import policy_types as types
from ostiary.organizations import structure as s
from ostiary.organizations import tagging
from ostiary.organizations.errors import (
    ConstraintViolationException,
    DuplicatePolicyAttachmentException,
    DuplicatePolicyException,
    InvalidInputException,
    PolicyInUseException,
    PolicyNotAttachedException,
    PolicyNotFoundException,
    PolicyTypeAlreadyEnabledException,
    PolicyTypeNotAvailableForOrganizationException,
    PolicyTypeNotEnabledException,
    RootNotFoundException,
    TargetNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

FULL = service_control.FULL_AWS_ACCESS_ID
RCP_FULL = service_control.RCP_FULL_AWS_ACCESS_ID
POLICY_NOT_FOUND = "We can't find a policy with the PolicyId that you specified."
DUPLICATE_POLICY = "A policy with the same name already exists."
NOT_AVAILABLE = "You can't use the specified policy type with the feature set currently enabled for this organization."
NOT_ENABLED = "This operation can be performed only for enabled policy types."
IMMUTABLE = "You specified a policy that is managed by AWS and can't be modified."

# the AWS managed policies: (id, type, name, description, content)
_MANAGED = {
    FULL: (
        FULL,
        s.SCP,
        service_control.FULL_AWS_ACCESS_NAME,
        service_control.FULL_AWS_ACCESS_DESCRIPTION,
        service_control.FULL_AWS_ACCESS_CONTENT,
    ),
    RCP_FULL: (
        RCP_FULL,
        s.RCP,
        service_control.RCP_FULL_AWS_ACCESS_NAME,
        service_control.RCP_FULL_AWS_ACCESS_DESCRIPTION,
        service_control.RCP_FULL_AWS_ACCESS_CONTENT,
    ),
}
_MANAGED_NAMES = {row[2] for row in _MANAGED.values()}


def _summary(org: s.Org, policy_id: str, kind: str, name: str, description: str) -> dict[str, Any]:
    return {
        "Id": policy_id,
        "Arn": s.policy_arn(org.mgmt, org.org_id, kind, policy_id),
        "Name": name,
        "Description": description,
        "Type": kind,
        "AwsManaged": policy_id in _MANAGED,
    }


def _policy(conn: Connection, org: s.Org, policy_id: str) -> tuple[dict[str, Any], str]:
    """(PolicySummary, Content) of one of ``org``'s policies, AWS managed ones included."""
    if policy_id in _MANAGED:
        pid, kind, name, description, content = _MANAGED[policy_id]
        return _summary(org, pid, kind, name, description), content
    p = t.org_policies.c
    row = conn.execute(select(t.org_policies).where(p.policy_id == policy_id, p.org_id == org.org_id)).first()
    if row is None:
        raise PolicyNotFoundException(POLICY_NOT_FOUND)
    return _summary(org, row.policy_id, row.policy_type, row.name, row.description), row.content


def _available(org: s.Org, kind: str) -> None:
    if kind not in types.ALL_TYPES or org.feature_set != "ALL":
        raise PolicyTypeNotAvailableForOrganizationException(NOT_AVAILABLE)


def _type_key(kind: str) -> dict[str, list[str]]:
    return {"organizations:PolicyType": [kind]}


def _name_taken(conn: Connection, org: s.Org, kind: str, name: str) -> bool:
    p = t.org_policies.c
    taken = conn.execute(
        select(p.policy_id).where(p.org_id == org.org_id, p.policy_type == kind, p.name == name)
    ).first()
    return taken is not None or name in _MANAGED_NAMES


@operation("organizations", "CreatePolicy")
def create_policy(ctx: RequestContext, params: Params) -> Result:
    kind, content = params["Type"], params["Content"]
    try:
        with ctx.store.tx() as conn:
            org = s.member(conn, ctx)
            # a policy of this type not made yet: its ARN with the id a wildcard
            s.manage(conn, ctx, org, (s.policy_arn(org.mgmt, org.org_id, kind, "*"),), _type_key(kind))
            _available(org, kind)
            types.check(kind, content)
            if _name_taken(conn, org, kind, params["Name"]):
                raise DuplicatePolicyException(DUPLICATE_POLICY)
            policy_id = s.new_policy_id()
            conn.execute(
                insert(t.org_policies).values(
                    policy_id=policy_id,
                    org_id=org.org_id,
                    policy_type=kind,
                    name=params["Name"],
                    description=params["Description"],
                    content=content,
                    updated_at=ctx.now,
                )
            )
            if params.get("Tags"):
                tagging.write(conn, org, s.policy_arn(org.mgmt, org.org_id, kind, policy_id), params["Tags"])
            summary, stored = _policy(conn, org, policy_id)
    except IntegrityError:
        raise DuplicatePolicyException(DUPLICATE_POLICY) from None
    return {"Policy": {"PolicySummary": summary, "Content": stored}}


@operation("organizations", "DescribePolicy", resource=s.resource("PolicyId"))
def describe_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx, params["PolicyId"])
        summary, content = _policy(conn, org, params["PolicyId"])
    return {"Policy": {"PolicySummary": summary, "Content": content}}


def _managed_policy(conn: Connection, ctx: RequestContext, policy_id: str) -> tuple[s.Org, dict[str, Any]]:
    """The caller's organization and one of its policies the caller may change."""
    org = s.member(conn, ctx)
    s.manage(conn, ctx, org, (s.arn_of(conn, org, policy_id),), _type_key(s.policy_type_of(conn, org, policy_id)))
    summary, _ = _policy(conn, org, policy_id)
    return org, summary


@operation("organizations", "UpdatePolicy", resource=s.resource("PolicyId"))
def update_policy(ctx: RequestContext, params: Params) -> Result:
    try:
        with ctx.store.tx() as conn:
            org, summary = _managed_policy(conn, ctx, params["PolicyId"])
            if summary["AwsManaged"]:
                raise InvalidInputException(IMMUTABLE, Reason="IMMUTABLE_POLICY")
            values: dict[str, Any] = {}
            if params.get("Name") is not None and params["Name"] != summary["Name"]:
                if _name_taken(conn, org, summary["Type"], params["Name"]):
                    raise DuplicatePolicyException(DUPLICATE_POLICY)
                values["name"] = params["Name"]
            if params.get("Description") is not None:
                values["description"] = params["Description"]
            if params.get("Content") is not None:
                types.check(summary["Type"], params["Content"])
                values["content"] = params["Content"]
                values["updated_at"] = ctx.now
            if values:
                conn.execute(update(t.org_policies).where(t.org_policies.c.policy_id == summary["Id"]).values(**values))
                s.changed(conn)
            audit.record(conn, ctx, params)
            summary, content = _policy(conn, org, summary["Id"])
    except IntegrityError:
        raise DuplicatePolicyException(DUPLICATE_POLICY) from None
    return {"Policy": {"PolicySummary": summary, "Content": content}}


@operation("organizations", "DeletePolicy", resource=s.resource("PolicyId"))
def delete_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org, summary = _managed_policy(conn, ctx, params["PolicyId"])
        if summary["AwsManaged"]:
            raise InvalidInputException(IMMUTABLE, Reason="IMMUTABLE_POLICY")
        pa = t.org_policy_attachments.c
        if conn.execute(select(pa.target_id).where(pa.org_id == org.org_id, pa.policy_id == summary["Id"])).first():
            raise PolicyInUseException(
                "The policy is attached to one or more entities. You must detach it from all roots, OUs, and "
                "accounts before performing this operation."
            )
        tagging.drop(conn, summary["Arn"])
        conn.execute(delete(t.org_policies).where(t.org_policies.c.policy_id == summary["Id"]))
    return {}


def _summaries(conn: Connection, org: s.Org, kind: str, ids: set[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for policy_id, (_, managed_kind, name, description, _) in _MANAGED.items():
        if managed_kind == kind and (ids is None or policy_id in ids):
            out.append(_summary(org, policy_id, kind, name, description))
    p = t.org_policies.c
    query = select(t.org_policies).where(p.org_id == org.org_id, p.policy_type == kind)
    if ids is not None:
        query = query.where(p.policy_id.in_(ids))
    out += [_summary(org, r.policy_id, r.policy_type, r.name, r.description) for r in conn.execute(query)]
    return sorted(out, key=lambda summary: str(summary["Id"]))


@operation("organizations", "ListPolicies")
def list_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        items = _summaries(conn, org, params["Filter"])
    chunk, token = s.page(items, params, lambda summary: str(summary["Id"]))
    return s.paged({}, "Policies", chunk, token)


def _target(conn: Connection, org: s.Org, target_id: str) -> str:
    kind = s.node_kind(conn, org, target_id)
    if kind is None:
        raise TargetNotFoundException(tagging.TARGET_NOT_FOUND)
    return kind


def _attached(conn: Connection, org: s.Org, target_id: str, kind: str) -> list[str]:
    pa = t.org_policy_attachments.c
    return [
        str(v)
        for v in conn.execute(
            select(pa.policy_id).where(pa.org_id == org.org_id, pa.target_id == target_id, pa.policy_type == kind)
        ).scalars()
    ]


def _attachment(conn: Connection, ctx: RequestContext, params: Params) -> tuple[s.Org, dict[str, Any], str]:
    """AttachPolicy's and DetachPolicy's organization, policy and target, when the caller may change
    both the policy's and the target's attachments."""
    org = s.member(conn, ctx)
    policy_id, target = params["PolicyId"], params["TargetId"]
    kind = s.policy_type_of(conn, org, policy_id) if policy_id not in _MANAGED else _MANAGED[policy_id][1]
    s.manage(conn, ctx, org, (s.arn_of(conn, org, policy_id), s.arn_of_id(org, target)), _type_key(kind))
    summary, _ = _policy(conn, org, policy_id)
    _target(conn, org, target)
    return org, summary, target


@operation("organizations", "AttachPolicy", resource=s.resource("PolicyId"))
def attach_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org, summary, target = _attachment(conn, ctx, params)
        if summary["Type"] not in org.policy_types:
            raise PolicyTypeNotEnabledException(NOT_ENABLED)
        current = _attached(conn, org, target, summary["Type"])
        if summary["Id"] in current:
            raise DuplicatePolicyAttachmentException(
                "A policy with the same type is already attached to the target you specified."
            )
        if len(current) >= types.max_attached(summary["Type"]):
            raise ConstraintViolationException(
                "You attempted to attach a policy to an entity that would cause the entity to exceed the maximum "
                "number of policies of that type.",
                Reason="MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            )
        conn.execute(
            insert(t.org_policy_attachments).values(
                org_id=org.org_id,
                policy_id=summary["Id"],
                target_id=target,
                policy_type=summary["Type"],
                attached_at=ctx.now,
            )
        )
        s.changed(conn)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "DetachPolicy", resource=s.resource("PolicyId"))
def detach_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org, summary, target = _attachment(conn, ctx, params)
        current = _attached(conn, org, target, summary["Type"])
        if summary["Id"] not in current:
            raise PolicyNotAttachedException("Could not find the policy attached to the target you specified.")
        if summary["Id"] == RCP_FULL:
            raise InvalidInputException(
                "You can't detach the AWS managed RCPFullAWSAccess policy.", Reason="NON_DETACHABLE_POLICY"
            )
        if summary["Type"] == s.SCP and len(current) == 1:
            raise ConstraintViolationException(
                "You attempted to detach a policy from an entity that would cause the entity to have fewer than "
                "the minimum number of policies of a certain type required.",
                Reason="MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            )
        pa = t.org_policy_attachments.c
        conn.execute(
            delete(t.org_policy_attachments).where(
                pa.org_id == org.org_id, pa.policy_id == summary["Id"], pa.target_id == target
            )
        )
        s.changed(conn)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "ListPoliciesForTarget", resource=s.resource("TargetId"))
def list_policies_for_target(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx, params["TargetId"])
        _target(conn, org, params["TargetId"])
        kind = params["Filter"]
        items = _summaries(conn, org, kind, set(_attached(conn, org, params["TargetId"], kind)))
    chunk, token = s.page(items, params, lambda summary: str(summary["Id"]))
    return s.paged({}, "Policies", chunk, token)


@operation("organizations", "ListTargetsForPolicy", resource=s.resource("PolicyId"))
def list_targets_for_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx, params["PolicyId"])
        summary, _ = _policy(conn, org, params["PolicyId"])
        pa = t.org_policy_attachments.c
        targets = conn.execute(
            select(pa.target_id).where(pa.org_id == org.org_id, pa.policy_id == summary["Id"]).order_by(pa.target_id)
        ).scalars()
        items = [_target_summary(conn, org, str(target)) for target in targets]
    chunk, token = s.page(items, params, lambda target: str(target["TargetId"]))
    return s.paged({}, "Targets", chunk, token)


def _target_summary(conn: Connection, org: s.Org, target_id: str) -> dict[str, Any]:
    if target_id == org.root_id:
        kind, name = s.ROOT, "Root"
    elif target_id.startswith("ou-"):
        kind = s.OU
        name = str(conn.execute(select(t.org_units.c.name).where(t.org_units.c.ou_id == target_id)).scalar() or "")
    else:
        kind, name = s.ACCOUNT, s.account_name(conn, target_id)
    return {"TargetId": target_id, "Arn": s.node_arn(org, kind, target_id), "Name": name, "Type": kind}


def _root(org: s.Org, root_id: str) -> None:
    if root_id != org.root_id:
        raise RootNotFoundException("We can't find a root with the RootId that you specified.")


def _type_change(conn: Connection, ctx: RequestContext, params: Params) -> s.Org:
    org = s.member(conn, ctx)
    s.manage(conn, ctx, org, (s.root_arn(org.mgmt, org.org_id, params["RootId"]),), _type_key(params["PolicyType"]))
    _root(org, params["RootId"])
    return org


@operation("organizations", "EnablePolicyType", resource=s.resource("RootId"))
def enable_policy_type(ctx: RequestContext, params: Params) -> Result:
    kind = params["PolicyType"]
    with ctx.store.tx() as conn:
        org = _type_change(conn, ctx, params)
        _available(org, kind)
        if kind in org.policy_types:
            raise PolicyTypeAlreadyEnabledException("The specified policy type is already enabled.")
        conn.execute(
            update(t.org_organizations)
            .where(t.org_organizations.c.org_id == org.org_id)
            .values(policy_types=[*org.policy_types, kind])
        )
        default = s.DEFAULT_POLICIES.get(kind)
        if default is not None:  # FullAWSAccess / RCPFullAWSAccess on the root, every OU and every account
            targets = [org.root_id]
            targets += conn.execute(select(t.org_units.c.ou_id).where(t.org_units.c.org_id == org.org_id)).scalars()
            targets += conn.execute(
                select(t.org_accounts.c.account_id).where(t.org_accounts.c.org_id == org.org_id)
            ).scalars()
            for target in targets:
                conn.execute(
                    insert(t.org_policy_attachments).values(
                        org_id=org.org_id, policy_id=default, target_id=target, policy_type=kind, attached_at=ctx.now
                    )
                )
        s.changed(conn)
        org = s.member(conn, ctx)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Root", org.root_id))
    return {"Root": org.root_shape()}


@operation("organizations", "DisablePolicyType", resource=s.resource("RootId"))
def disable_policy_type(ctx: RequestContext, params: Params) -> Result:
    kind = params["PolicyType"]
    with ctx.store.tx() as conn:
        org = _type_change(conn, ctx, params)
        if kind not in org.policy_types:
            raise PolicyTypeNotEnabledException(NOT_ENABLED)
        conn.execute(
            update(t.org_organizations)
            .where(t.org_organizations.c.org_id == org.org_id)
            .values(policy_types=[k for k in org.policy_types if k != kind])
        )
        pa = t.org_policy_attachments.c
        conn.execute(delete(t.org_policy_attachments).where(pa.org_id == org.org_id, pa.policy_type == kind))
        s.changed(conn)
        org = s.member(conn, ctx)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Root", org.root_id))
    return {"Root": org.root_shape()}
