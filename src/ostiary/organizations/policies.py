"""Organization policies (service control policies): CreatePolicy, DescribePolicy, UpdatePolicy,
DeletePolicy, ListPolicies, AttachPolicy, DetachPolicy, ListPoliciesForTarget, ListTargetsForPolicy,
EnablePolicyType, DisablePolicyType (AWS Organizations API Reference).

Ostiary enforces one policy type, SERVICE_CONTROL_POLICY (the policy engine evaluates SCPs:
``access.service_control``); the model's other types govern services Ostiary does not serve, so they
are not available (PolicyTypeNotAvailableForOrganizationException). As AWS: an SCP is an IAM policy
without principals, at most 5,120 characters; the AWS managed ``FullAWSAccess`` (``p-FullAWSAccess``)
cannot be changed or deleted; enabling the type attaches it to the root, every OU and every account;
a target keeps at least one SCP and has at most five; disabling the type detaches every SCP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.access import policy, service_control
from ostiary.audit import recorder as audit
from ostiary.iam import grammar
from ostiary.organizations import structure as s
from ostiary.organizations import tagging
from ostiary.organizations.errors import (
    ConstraintViolationException,
    DuplicatePolicyAttachmentException,
    DuplicatePolicyException,
    InvalidInputException,
    MalformedPolicyDocumentException,
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

MAX_CONTENT = 5120  # characters of an SCP
MAX_PER_TARGET = 5  # SCPs attached to one root, OU or account
FULL = service_control.FULL_AWS_ACCESS_ID
POLICY_NOT_FOUND = "We can't find a policy with the PolicyId that you specified."
DUPLICATE_POLICY = "A policy with the same name already exists."
NOT_AVAILABLE = "You can't use the specified policy type with the feature set currently enabled for this organization."
NOT_ENABLED = "This operation can be performed only for enabled policy types."
IMMUTABLE = "You specified a policy that is managed by AWS and can't be modified."


def _summary(org: s.Org, policy_id: str, kind: str, name: str, description: str) -> dict[str, Any]:
    return {
        "Id": policy_id,
        "Arn": s.policy_arn(org.mgmt, org.org_id, kind, policy_id),
        "Name": name,
        "Description": description,
        "Type": kind,
        "AwsManaged": policy_id == FULL,
    }


_FULL_ROW = (FULL, s.SCP, service_control.FULL_AWS_ACCESS_NAME, service_control.FULL_AWS_ACCESS_DESCRIPTION)


def _policy(conn: Connection, org: s.Org, policy_id: str) -> tuple[dict[str, Any], str]:
    """(PolicySummary, Content) of one of ``org``'s policies, AWS managed ones included."""
    if policy_id == FULL:
        return _summary(org, *_FULL_ROW), service_control.FULL_AWS_ACCESS_CONTENT
    p = t.org_policies.c
    row = conn.execute(select(t.org_policies).where(p.policy_id == policy_id, p.org_id == org.org_id)).first()
    if row is None:
        raise PolicyNotFoundException(POLICY_NOT_FOUND)
    return _summary(org, row.policy_id, row.policy_type, row.name, row.description), row.content


def _available(org: s.Org, kind: str) -> None:
    if kind not in s.AVAILABLE_POLICY_TYPES or org.feature_set != "ALL":
        raise PolicyTypeNotAvailableForOrganizationException(NOT_AVAILABLE)


def _check_content(content: str) -> None:
    if len(content) > MAX_CONTENT:
        raise ConstraintViolationException(
            "You attempted to create a policy that is larger than the maximum size.",
            Reason="POLICY_CONTENT_LIMIT_EXCEEDED",
        )
    try:
        grammar.validate(content, grammar.Kind.MANAGED)
    except policy.MalformedPolicy as err:
        raise MalformedPolicyDocumentException(
            f"The provided policy document doesn't meet the requirements of the specified policy type. {err}"
        ) from None


@operation("organizations", "CreatePolicy")
def create_policy(ctx: RequestContext, params: Params) -> Result:
    kind, content = params["Type"], params["Content"]
    try:
        with ctx.store.tx() as conn:
            org = s.management(conn, ctx)
            _available(org, kind)
            _check_content(content)
            p = t.org_policies.c
            taken = conn.execute(
                select(p.policy_id).where(p.org_id == org.org_id, p.policy_type == kind, p.name == params["Name"])
            ).first()
            if taken is not None or params["Name"] == service_control.FULL_AWS_ACCESS_NAME:
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
        org = s.reader(conn, ctx)
        summary, content = _policy(conn, org, params["PolicyId"])
    return {"Policy": {"PolicySummary": summary, "Content": content}}


@operation("organizations", "UpdatePolicy", resource=s.resource("PolicyId"))
def update_policy(ctx: RequestContext, params: Params) -> Result:
    try:
        with ctx.store.tx() as conn:
            org = s.management(conn, ctx)
            summary, _ = _policy(conn, org, params["PolicyId"])
            if summary["AwsManaged"]:
                raise InvalidInputException(IMMUTABLE, Reason="IMMUTABLE_POLICY")
            values: dict[str, Any] = {}
            if params.get("Name") is not None and params["Name"] != summary["Name"]:
                p = t.org_policies.c
                taken = conn.execute(
                    select(p.policy_id).where(
                        p.org_id == org.org_id, p.policy_type == summary["Type"], p.name == params["Name"]
                    )
                ).first()
                if taken is not None or params["Name"] == service_control.FULL_AWS_ACCESS_NAME:
                    raise DuplicatePolicyException(DUPLICATE_POLICY)
                values["name"] = params["Name"]
            if params.get("Description") is not None:
                values["description"] = params["Description"]
            if params.get("Content") is not None:
                _check_content(params["Content"])
                values["content"] = params["Content"]
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
        org = s.management(conn, ctx)
        summary, _ = _policy(conn, org, params["PolicyId"])
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
    if kind == s.SCP and (ids is None or FULL in ids):
        out.append(_summary(org, *_FULL_ROW))
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


@operation("organizations", "AttachPolicy", resource=s.resource("PolicyId"))
def attach_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        summary, _ = _policy(conn, org, params["PolicyId"])
        target = params["TargetId"]
        _target(conn, org, target)
        if summary["Type"] not in org.policy_types:
            raise PolicyTypeNotEnabledException(NOT_ENABLED)
        current = _attached(conn, org, target, summary["Type"])
        if summary["Id"] in current:
            raise DuplicatePolicyAttachmentException(
                "A policy with the same type is already attached to the target you specified."
            )
        if len(current) >= MAX_PER_TARGET:
            raise ConstraintViolationException(
                "You attempted to attach a policy to an entity that would cause the entity to exceed the maximum "
                "number of policies of that type.",
                Reason="MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            )
        conn.execute(
            insert(t.org_policy_attachments).values(
                org_id=org.org_id, policy_id=summary["Id"], target_id=target, policy_type=summary["Type"]
            )
        )
        s.changed(conn)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "DetachPolicy", resource=s.resource("PolicyId"))
def detach_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        summary, _ = _policy(conn, org, params["PolicyId"])
        target = params["TargetId"]
        _target(conn, org, target)
        current = _attached(conn, org, target, summary["Type"])
        if summary["Id"] not in current:
            raise PolicyNotAttachedException("Could not find the policy attached to the target you specified.")
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
        org = s.reader(conn, ctx)
        _target(conn, org, params["TargetId"])
        kind = params["Filter"]
        items = _summaries(conn, org, kind, set(_attached(conn, org, params["TargetId"], kind)))
    chunk, token = s.page(items, params, lambda summary: str(summary["Id"]))
    return s.paged({}, "Policies", chunk, token)


@operation("organizations", "ListTargetsForPolicy", resource=s.resource("PolicyId"))
def list_targets_for_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
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


@operation("organizations", "EnablePolicyType", resource=s.resource("RootId"))
def enable_policy_type(ctx: RequestContext, params: Params) -> Result:
    kind = params["PolicyType"]
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        _root(org, params["RootId"])
        _available(org, kind)
        if kind in org.policy_types:
            raise PolicyTypeAlreadyEnabledException("The specified policy type is already enabled.")
        conn.execute(
            update(t.org_organizations)
            .where(t.org_organizations.c.org_id == org.org_id)
            .values(policy_types=[*org.policy_types, kind])
        )
        if kind == s.SCP:  # FullAWSAccess on the root, every OU and every account
            targets = [org.root_id]
            targets += conn.execute(select(t.org_units.c.ou_id).where(t.org_units.c.org_id == org.org_id)).scalars()
            targets += conn.execute(
                select(t.org_accounts.c.account_id).where(t.org_accounts.c.org_id == org.org_id)
            ).scalars()
            for target in targets:
                conn.execute(
                    insert(t.org_policy_attachments).values(
                        org_id=org.org_id, policy_id=FULL, target_id=target, policy_type=kind
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
        org = s.management(conn, ctx)
        _root(org, params["RootId"])
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
