"""IAM managed policies (IAM API Reference): CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
SetDefaultPolicyVersion, Attach/Detach{User,Group,Role}Policy, ListAttached{User,Group,Role}Policies,
ListEntitiesForPolicy, TagPolicy, UntagPolicy, ListPolicyTags.

Customer managed policies live in the store with up to five versions; AWS managed policies
(``arn:aws:iam::aws:policy/…``, AWS's whole catalogue) come from ``access/aws_managed.py``. Documents come
back URL-encoded.

A customer managed policy exists only for its own account: every lookup here is scoped by the
calling account, so to another account a policy's ARN is as unknown as an ARN that names nothing
(attach, boundaries, session PolicyArns: NoSuchEntity "does not exist or is not attachable"), and
its document is never read for it (authorizer, simulator) even when an older row points at it. AWS
managed policies are every account's; their usage counts are the calling account's own.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, delete, func, insert, select, update

from ostiary.access import aws_managed
from ostiary.access.policy_sources import attached_arns
from ostiary.audit import recorder as audit
from ostiary.iam import grammar
from ostiary.iam.attachments import attached_name, customer_policy, exists
from ostiary.iam.documents import check_document
from ostiary.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.iam.paging import page
from ostiary.iam.roles import modifiable_role
from ostiary.iam.tagging import check_unique, merge_tags
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

MAX_VERSIONS = 5
MAX_ATTACHED = 10  # managed policies per user, group or role (IAM's default quota)
_ID = string.ascii_uppercase + string.digits


def policy_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def _arn_resource(ctx: RequestContext, params: Params) -> str:
    return str(params.get("PolicyArn") or f"arn:aws:iam::{ctx.account_id}:policy/{params.get('PolicyName', '*')}")


def _no_such(arn: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"Policy {arn} does not exist or is not attachable.")


# arn:partition:service:region:account:resource, with a partition, a service and a resource
_ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+", re.DOTALL)


def check_arn(arn: str) -> None:
    """A policy ARN that cannot be parsed as an ARN at all (a policy's name, say): IAM's
    ValidationError, worded as IAM words it (two spaces included)."""
    if _ARN.fullmatch(arn) is None:
        raise ValidationFailed("Invalid ARN:  Could not be parsed!")


def _attachment_count(conn: Connection, arn: str, account: str) -> int:
    a = t.iam_attachments.c
    n = conn.execute(
        select(func.count()).select_from(t.iam_attachments).where(a.account_id == account, a.policy_arn == arn)
    ).scalar()
    return int(n or 0)


def _aws_usage(conn: Connection, account: str) -> tuple[dict[str, int], dict[str, int]]:
    """How many of ``account``'s entities each AWS managed policy is attached to, and is the
    permissions boundary of: two maps by ARN, counted in a few queries for the whole catalogue."""
    a = t.iam_attachments.c
    prefix = aws_managed.ARN_PREFIX + "%"
    attached = {
        r.policy_arn: int(r.n)
        for r in conn.execute(
            select(a.policy_arn, func.count().label("n"))
            .where(a.account_id == account, a.policy_arn.like(prefix))
            .group_by(a.policy_arn)
        ).all()
    }
    boundaries: dict[str, int] = {}
    for table in (t.iam_users, t.iam_roles):
        rows = conn.execute(
            select(table.c.permissions_boundary, func.count().label("n"))
            .where(table.c.account_id == account, table.c.permissions_boundary.like(prefix))
            .group_by(table.c.permissions_boundary)
        ).all()
        for r in rows:
            boundaries[r.permissions_boundary] = boundaries.get(r.permissions_boundary, 0) + int(r.n)
    return attached, boundaries


def _boundary_count(conn: Connection, arn: str, account: str) -> int:
    total = 0
    for table in (t.iam_users, t.iam_roles):
        n = conn.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.account_id == account, table.c.permissions_boundary == arn)
        ).scalar()
        total += int(n or 0)
    return total


def policy_type(conn: Connection, arn: str, account: str, *, with_tags: bool = True) -> dict[str, Any]:
    """IAM's ``Policy`` shape for an AWS managed policy or ``account``'s customer managed policy, as
    ``account`` sees it (NoSuchEntity if neither)."""
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        return aws.policy_type(_attachment_count(conn, arn, account), _boundary_count(conn, arn, account))
    row = customer_policy(conn, arn, account)
    if row is None:
        raise _no_such(arn)
    out: dict[str, Any] = {
        "PolicyName": row.name,
        "PolicyId": row.policy_id,
        "Arn": row.arn,
        "Path": row.path,
        "DefaultVersionId": row.default_version,
        "AttachmentCount": _attachment_count(conn, arn, account),
        "PermissionsBoundaryUsageCount": _boundary_count(conn, arn, account),
        "IsAttachable": True,
        "CreateDate": utc(row.created_at),
        "UpdateDate": utc(row.updated_at),
    }
    if row.description:
        out["Description"] = row.description
    if with_tags:  # GetPolicy answers Tags: [] for an untagged policy (AWS's recorded responses)
        out["Tags"] = list(row.tags or [])
    return out


# --- policies and versions ----------------------------------------------------------------------


@operation("iam", "CreatePolicy", resource=_arn_resource)
def create_policy(ctx: RequestContext, params: Params) -> Result:
    check_unique(list(params.get("Tags") or []))
    check_document(params["PolicyDocument"], grammar.Kind.MANAGED)
    name, path = params["PolicyName"], params.get("Path") or "/"
    arn = policy_arn(ctx.account_id, path, name)
    with ctx.store.tx() as conn:
        same_name = conn.execute(
            select(t.iam_policies.c.arn).where(
                t.iam_policies.c.account_id == ctx.account_id, func.lower(t.iam_policies.c.name) == name.lower()
            )
        ).first()
        if same_name is not None:
            raise EntityAlreadyExistsException(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            )
        conn.execute(
            insert(t.iam_policies).values(
                arn=arn,
                account_id=ctx.account_id,
                name=name,
                policy_id="ANPA" + "".join(secrets.choice(_ID) for _ in range(17)),
                path=path,
                description=params.get("Description"),
                default_version="v1",
                next_version=2,
                tags=list(params.get("Tags") or []),
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        conn.execute(
            insert(t.iam_policy_versions).values(
                arn=arn, version_id="v1", document=params["PolicyDocument"], created_at=ctx.now
            )
        )
        out = policy_type(conn, arn, ctx.account_id)
    out.pop("Description", None)  # CreatePolicy's answer leaves the description out, as IAM's does
    if not out.get("Tags"):
        out.pop("Tags", None)  # and has Tags only when some were given
    return {"Policy": out}


@operation("iam", "GetPolicy", resource=_arn_resource)
def get_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        return {"Policy": policy_type(conn, params["PolicyArn"], ctx.account_id)}


@operation("iam", "ListPolicies", resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:policy/*", offload=True)
def list_policies(ctx: RequestContext, params: Params) -> Result:
    scope = params.get("Scope") or "All"
    prefix = params.get("PathPrefix") or "/"
    usage = params.get("PolicyUsageFilter")
    with ctx.store.read() as conn:
        policies: list[dict[str, Any]] = []
        if scope in ("All", "AWS"):  # the whole catalogue, with this account's usage counted at once
            attached, boundaries = _aws_usage(conn, ctx.account_id)
            policies += [
                p.policy_type(attached.get(p.arn, 0), boundaries.get(p.arn, 0))
                for p in aws_managed.all_policies()
                if p.path.startswith(prefix)
            ]
        if scope in ("All", "Local"):
            rows = conn.execute(
                select(t.iam_policies.c.arn)
                .where(t.iam_policies.c.account_id == ctx.account_id)
                .order_by(t.iam_policies.c.name)
            ).all()
            policies += [policy_type(conn, r.arn, ctx.account_id, with_tags=False) for r in rows]
    policies = [p for p in policies if p["Path"].startswith(prefix)]
    if params.get("OnlyAttached"):
        policies = [p for p in policies if p["AttachmentCount"] or p["PermissionsBoundaryUsageCount"]]
    if usage == "PermissionsPolicy":
        policies = [p for p in policies if p["AttachmentCount"]]
    elif usage == "PermissionsBoundary":
        policies = [p for p in policies if p["PermissionsBoundaryUsageCount"]]
    for p in policies:
        p.pop("Description", None)  # ListPolicies does not return descriptions
    chunk, extra = page(policies, params)
    return {"Policies": chunk, **extra}


def _own_policy(conn: Connection, ctx: RequestContext, arn: str, missing: str | None = None) -> Any:
    """The caller's own customer managed policy ``arn``; NoSuchEntity (``missing`` its message) when
    there is none, be it absent or another account's."""
    row = customer_policy(conn, arn, ctx.account_id)
    if row is None:
        if arn in aws_managed.BY_ARN:
            raise InvalidInputException(
                f"ARN {arn} is not a customer managed policy: AWS managed policies are read-only."
            )
        raise _no_such(arn) if missing is None else NoSuchEntityException(missing)
    return row


@operation("iam", "DeletePolicy", resource=_arn_resource)
def delete_policy(ctx: RequestContext, params: Params) -> Result:
    arn = params["PolicyArn"]
    with ctx.store.tx() as conn:
        _own_policy(conn, ctx, arn, missing=f"Policy {arn} was not found.")  # DeletePolicy's own wording
        if _attachment_count(conn, arn, ctx.account_id) or _boundary_count(conn, arn, ctx.account_id):
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        versions = conn.execute(
            select(func.count()).select_from(t.iam_policy_versions).where(t.iam_policy_versions.c.arn == arn)
        ).scalar()
        if (versions or 0) > 1:
            raise DeleteConflictException(
                "This policy has more than one version. Before you delete a policy, you "
                "must delete the policy's versions. The default version is deleted with "
                "the policy."
            )
        conn.execute(delete(t.iam_policy_versions).where(t.iam_policy_versions.c.arn == arn))
        conn.execute(delete(t.iam_policies).where(t.iam_policies.c.arn == arn))
    return None


def _version_type(row: Any, default: str) -> dict[str, Any]:
    return {
        "Document": quote(row.document, safe=""),
        "VersionId": row.version_id,
        "IsDefaultVersion": row.version_id == default,
        "CreateDate": utc(row.created_at),
    }


@operation("iam", "CreatePolicyVersion", resource=_arn_resource)
def create_policy_version(ctx: RequestContext, params: Params) -> Result:
    check_document(params["PolicyDocument"], grammar.Kind.MANAGED)
    arn = params["PolicyArn"]
    with ctx.store.tx() as conn:
        row = _own_policy(conn, ctx, arn)
        count = conn.execute(
            select(func.count()).select_from(t.iam_policy_versions).where(t.iam_policy_versions.c.arn == arn)
        ).scalar()
        if (count or 0) >= MAX_VERSIONS:
            raise LimitExceededException(
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, you "
                "must delete an existing version."
            )
        version = f"v{row.next_version}"
        conn.execute(
            insert(t.iam_policy_versions).values(
                arn=arn, version_id=version, document=params["PolicyDocument"], created_at=ctx.now
            )
        )
        values: dict[str, Any] = {"next_version": row.next_version + 1, "updated_at": ctx.now}
        if params.get("SetAsDefault"):
            values["default_version"] = version
        conn.execute(update(t.iam_policies).where(t.iam_policies.c.arn == arn).values(**values))
        audit.record(conn, ctx, params, details={"versionId": version})
    return {
        "PolicyVersion": {
            "VersionId": version,
            "IsDefaultVersion": bool(params.get("SetAsDefault")),
            "CreateDate": ctx.now,
        }
    }


@operation("iam", "GetPolicyVersion", resource=_arn_resource)
def get_policy_version(ctx: RequestContext, params: Params) -> Result:
    arn, version = params["PolicyArn"], params["VersionId"]
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:  # its default version is the one AWS publishes
        if version != aws.default_version:
            raise NoSuchEntityException(f"Policy {arn} version {version} does not exist or is not attachable.")
        return {"PolicyVersion": aws.version_type(document=True)}
    with ctx.store.read() as conn:
        policy_row = customer_policy(conn, arn, ctx.account_id)
        row = conn.execute(
            select(t.iam_policy_versions).where(
                t.iam_policy_versions.c.arn == arn, t.iam_policy_versions.c.version_id == version
            )
        ).first()
    if policy_row is None or row is None:
        raise NoSuchEntityException(f"Policy {arn} version {version} does not exist or is not attachable.")
    return {"PolicyVersion": _version_type(row, policy_row.default_version)}


@operation("iam", "ListPolicyVersions", resource=_arn_resource)
def list_policy_versions(ctx: RequestContext, params: Params) -> Result:
    arn = params["PolicyArn"]
    items: list[dict[str, Any]]
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        items = [aws.version_type(document=False)]
    else:
        with ctx.store.read() as conn:
            policy_row = customer_policy(conn, arn, ctx.account_id)
            if policy_row is None:
                raise _no_such(arn)
            rows = conn.execute(
                select(t.iam_policy_versions)
                .where(t.iam_policy_versions.c.arn == arn)
                .order_by(t.iam_policy_versions.c.created_at.desc())
            ).all()
        items = []
        for r in rows:
            v = _version_type(r, policy_row.default_version)
            v.pop("Document")  # ListPolicyVersions leaves documents out
            items.append(v)
        items.sort(key=lambda v: -int(str(v["VersionId"])[1:]))
    chunk, extra = page(items, params)
    return {"Versions": chunk, **extra}


@operation("iam", "DeletePolicyVersion", resource=_arn_resource)
def delete_policy_version(ctx: RequestContext, params: Params) -> Result:
    arn, version = params["PolicyArn"], params["VersionId"]
    with ctx.store.tx() as conn:
        row = _own_policy(conn, ctx, arn)
        if version == row.default_version:
            raise DeleteConflictException("Cannot delete the default version of a policy.")
        gone = conn.execute(
            delete(t.iam_policy_versions).where(
                t.iam_policy_versions.c.arn == arn, t.iam_policy_versions.c.version_id == version
            )
        ).rowcount
        if not gone:
            raise NoSuchEntityException(f"Policy {arn} version {version} does not exist or is not attachable.")
        audit.record(conn, ctx, params)
    return None


@operation("iam", "SetDefaultPolicyVersion", resource=_arn_resource)
def set_default_policy_version(ctx: RequestContext, params: Params) -> Result:
    arn, version = params["PolicyArn"], params["VersionId"]
    with ctx.store.tx() as conn:
        _own_policy(conn, ctx, arn)
        found = conn.execute(
            select(t.iam_policy_versions.c.version_id).where(
                t.iam_policy_versions.c.arn == arn, t.iam_policy_versions.c.version_id == version
            )
        ).first()
        if found is None:
            raise NoSuchEntityException(f"Policy {arn} version {version} does not exist or is not attachable.")
        conn.execute(
            update(t.iam_policies)
            .where(t.iam_policies.c.arn == arn)
            .values(default_version=version, updated_at=ctx.now)
        )
        audit.record(conn, ctx, params)
    return None


# --- attachments --------------------------------------------------------------------------------


def _principal_key(conn: Connection, ctx: RequestContext, kind: str, name: str) -> tuple[str, str, str]:
    """(stored key, display name, path) of the user, group or role ``name`` (NoSuchEntity if absent)."""
    table = {"user": t.iam_users, "group": t.iam_groups, "role": t.iam_roles}[kind]
    row = conn.execute(
        select(table.c.name_key, table.c.name, table.c.path).where(
            table.c.account_id == ctx.account_id, table.c.name_key == name.lower()
        )
    ).first()
    if row is None:
        raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
    return row.name_key, row.name, row.path


def _not_service_linked(conn: Connection, ctx: RequestContext, kind: str, name: str) -> None:
    if kind == "role":
        modifiable_role(conn, ctx.account_id, name)


def _attach(ctx: RequestContext, kind: str, name: str, arn: str) -> None:
    check_arn(arn)
    with ctx.store.tx() as conn:
        _not_service_linked(conn, ctx, kind, name)
        key, _, _ = _principal_key(conn, ctx, kind, name)
        if not exists(conn, arn, ctx.account_id):
            raise _no_such(arn)
        current = attached_arns(conn, ctx.account_id, kind, key)
        if arn in current:
            return
        if len(current) >= MAX_ATTACHED:
            raise LimitExceededException(f"Cannot exceed quota for PoliciesPerUser: {MAX_ATTACHED}")
        conn.execute(
            insert(t.iam_attachments).values(
                account_id=ctx.account_id, principal_type=kind, principal_key=key, policy_arn=arn
            )
        )
        audit.record(conn, ctx, {f"{kind.capitalize()}Name": name, "PolicyArn": arn})


def _detach(ctx: RequestContext, kind: str, name: str, arn: str) -> None:
    with ctx.store.tx() as conn:
        _not_service_linked(conn, ctx, kind, name)
        key, _, _ = _principal_key(conn, ctx, kind, name)
        a = t.iam_attachments.c
        gone = conn.execute(
            delete(t.iam_attachments).where(
                a.account_id == ctx.account_id, a.principal_type == kind, a.principal_key == key, a.policy_arn == arn
            )
        ).rowcount
        if not gone:
            raise NoSuchEntityException(f"Policy {arn} was not found.")
        audit.record(conn, ctx, {f"{kind.capitalize()}Name": name, "PolicyArn": arn})


def _list_attached(ctx: RequestContext, kind: str, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    with ctx.store.read() as conn:
        key, _, _ = _principal_key(
            conn, ctx, kind, params[{"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]]
        )
        items = []
        for arn in attached_arns(conn, ctx.account_id, kind, key):
            name, path = attached_name(conn, arn, ctx.account_id)
            if path.startswith(prefix):
                items.append({"PolicyName": name, "PolicyArn": arn})
    chunk, extra = page(items, params)
    return {"AttachedPolicies": chunk, **extra}


def _user_arn(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:user/{params.get('UserName', '*')}"


def _group_arn(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:group/{params.get('GroupName', '*')}"


def _role_arn(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:role/{params.get('RoleName', '*')}"


@operation("iam", "AttachUserPolicy", resource=_user_arn)
def attach_user_policy(ctx: RequestContext, params: Params) -> Result:
    _attach(ctx, "user", params["UserName"], params["PolicyArn"])
    return None


@operation("iam", "AttachGroupPolicy", resource=_group_arn)
def attach_group_policy(ctx: RequestContext, params: Params) -> Result:
    _attach(ctx, "group", params["GroupName"], params["PolicyArn"])
    return None


@operation("iam", "AttachRolePolicy", resource=_role_arn)
def attach_role_policy(ctx: RequestContext, params: Params) -> Result:
    _attach(ctx, "role", params["RoleName"], params["PolicyArn"])
    return None


@operation("iam", "DetachUserPolicy", resource=_user_arn)
def detach_user_policy(ctx: RequestContext, params: Params) -> Result:
    _detach(ctx, "user", params["UserName"], params["PolicyArn"])
    return None


@operation("iam", "DetachGroupPolicy", resource=_group_arn)
def detach_group_policy(ctx: RequestContext, params: Params) -> Result:
    _detach(ctx, "group", params["GroupName"], params["PolicyArn"])
    return None


@operation("iam", "DetachRolePolicy", resource=_role_arn)
def detach_role_policy(ctx: RequestContext, params: Params) -> Result:
    _detach(ctx, "role", params["RoleName"], params["PolicyArn"])
    return None


@operation("iam", "ListAttachedUserPolicies", resource=_user_arn)
def list_attached_user_policies(ctx: RequestContext, params: Params) -> Result:
    return _list_attached(ctx, "user", params)


@operation("iam", "ListAttachedGroupPolicies", resource=_group_arn)
def list_attached_group_policies(ctx: RequestContext, params: Params) -> Result:
    return _list_attached(ctx, "group", params)


@operation("iam", "ListAttachedRolePolicies", resource=_role_arn)
def list_attached_role_policies(ctx: RequestContext, params: Params) -> Result:
    return _list_attached(ctx, "role", params)


@operation("iam", "ListEntitiesForPolicy", resource=_arn_resource, offload=True)
def list_entities_for_policy(ctx: RequestContext, params: Params) -> Result:
    arn = params["PolicyArn"]
    entity_filter = params.get("EntityFilter")
    prefix = params.get("PathPrefix") or "/"
    usage = params.get("PolicyUsageFilter")
    out: dict[str, list[dict[str, str]]] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    with ctx.store.read() as conn:
        if not exists(conn, arn, ctx.account_id):
            raise _no_such(arn)
        a = t.iam_attachments.c
        pairs: list[tuple[str, str]] = []
        if usage != "PermissionsBoundary":
            pairs += [
                (r.principal_type, r.principal_key)
                for r in conn.execute(
                    select(a.principal_type, a.principal_key).where(a.account_id == ctx.account_id, a.policy_arn == arn)
                ).all()
            ]
        if usage != "PermissionsPolicy":
            for kind, table in (("user", t.iam_users), ("role", t.iam_roles)):
                pairs += [
                    (kind, r.name_key)
                    for r in conn.execute(
                        select(table.c.name_key).where(
                            table.c.account_id == ctx.account_id, table.c.permissions_boundary == arn
                        )
                    ).all()
                ]
        seen: set[tuple[str, str]] = set()
        for kind, key in sorted(pairs):
            if (kind, key) in seen:
                continue
            seen.add((kind, key))
            if entity_filter in ("User", "Group", "Role") and entity_filter.lower() != kind:
                continue
            try:
                _, name, path = _principal_key(conn, ctx, kind, key)
            except NoSuchEntityException:
                continue
            if not path.startswith(prefix):
                continue
            table = {"user": t.iam_users, "group": t.iam_groups, "role": t.iam_roles}[kind]
            id_col = {"user": "user_id", "group": "group_id", "role": "role_id"}[kind]
            ident = conn.execute(
                select(table.c[id_col]).where(table.c.account_id == ctx.account_id, table.c.name_key == key)
            ).scalar()
            label = {"user": "User", "group": "Group", "role": "Role"}[kind]
            out[f"Policy{label}s"].append({f"{label}Name": name, f"{label}Id": str(ident)})
    return {**out, "IsTruncated": False}


# --- policy tags --------------------------------------------------------------------------------


@operation("iam", "TagPolicy", resource=_arn_resource)
def tag_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _own_policy(conn, ctx, params["PolicyArn"])
        tags = merge_tags(row.tags or [], params["Tags"])
        conn.execute(update(t.iam_policies).where(t.iam_policies.c.arn == row.arn).values(tags=tags))
    return None


@operation("iam", "UntagPolicy", resource=_arn_resource)
def untag_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _own_policy(conn, ctx, params["PolicyArn"])
        drop = {k for k in params["TagKeys"]}
        tags = [tag for tag in (row.tags or []) if tag["Key"] not in drop]
        conn.execute(update(t.iam_policies).where(t.iam_policies.c.arn == row.arn).values(tags=tags))
    return None


@operation("iam", "ListPolicyTags", resource=_arn_resource)
def list_policy_tags(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _own_policy(conn, ctx, params["PolicyArn"])
    chunk, extra = page(list(row.tags or []), params)
    return {"Tags": chunk, **extra}
