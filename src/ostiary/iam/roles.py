"""IAM roles (IAM API Reference): CreateRole, GetRole, ListRoles, DeleteRole, UpdateRole,
UpdateRoleDescription, UpdateAssumeRolePolicy, PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy.

Trust policies are resource policies (they must name a Principal); documents come back URL-encoded.
"""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access import policy
from ostiary.access.policy_sources import attached_arns
from ostiary.audit import recorder as audit
from ostiary.iam import grammar, inline
from ostiary.iam.attachments import detach_all
from ostiary.iam.documents import check_boundary, check_document, set_boundary
from ostiary.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    MalformedPolicyDocumentException,
    NoSuchEntityException,
    UnmodifiableEntityException,
)
from ostiary.iam.membership import profiles_of_role
from ostiary.iam.paging import page
from ostiary.iam.tagging import check_unique
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_ID = string.ascii_uppercase + string.digits
DEFAULT_MAX_SESSION = 3600


def role_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def _resource(ctx: RequestContext, params: Params) -> str:
    # CreateRole's Path is part of the ARN it is authorized against; other operations get it from
    # the role itself (access.authz.with_path)
    return f"arn:aws:iam::{ctx.account_id}:role{params.get('Path') or '/'}{params.get('RoleName', '*')}"


def check_trust(document: str) -> None:
    """A trust policy is a resource policy that names its principals (iam/grammar, Kind.TRUST):
    NotPrincipal is not allowed in it (IAM User Guide, NotPrincipal: "You cannot use the NotPrincipal
    element in ... an IAM role trust policy"), refused with IAM's grammar error for a prohibited field."""
    try:
        grammar.validate(document, grammar.Kind.TRUST)
    except policy.MalformedPolicy as err:
        raise MalformedPolicyDocumentException(str(err)) from None


def boundary_type(arn: str) -> dict[str, str]:
    """An AttachedPermissionsBoundary as IAM answers it: its type is ``Policy`` (the model's enum says
    ``PermissionsBoundaryPolicy``, but AWS answers and documents ``Policy``: awsdocs/iam-user-guide#82)."""
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def role_type(row: Row[Any], with_extras: bool = True, *, created: bool = False) -> dict[str, Any]:
    """IAM's Role shape. ``with_extras``: with the permissions boundary and tags (GetRole, CreateRole;
    ListRoles leaves them out). ``created``: CreateRole's answer, which has no MaxSessionDuration."""
    out: dict[str, Any] = {
        "Path": row.path,
        "RoleName": row.name,
        "RoleId": row.role_id,
        "Arn": role_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
        "AssumeRolePolicyDocument": quote(row.trust_policy, safe=""),
    }
    if not created:
        out["MaxSessionDuration"] = row.max_session_duration
    if row.description:
        out["Description"] = row.description
    if with_extras and row.permissions_boundary:
        out["PermissionsBoundary"] = boundary_type(row.permissions_boundary)
    if with_extras and row.tags:
        out["Tags"] = row.tags
    return out


def get_role(conn: Connection, account: str, name: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_roles).where(t.iam_roles.c.account_id == account, t.iam_roles.c.name_key == name.lower())
    ).first()
    if row is None:
        raise NoSuchEntityException(f"The role with name {name} cannot be found.")
    return row


def role_policies(conn: Connection, account: str, name_key: str) -> list[str]:
    return inline.names(conn, account, "role", name_key)


def new_role_id() -> str:
    return "AROA" + "".join(secrets.choice(_ID) for _ in range(17))


def insert_role(
    conn: Connection,
    account: str,
    name: str,
    *,
    path: str,
    trust_policy: str,
    max_session_duration: int,
    now: Any,
    description: str | None = None,
    permissions_boundary: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> None:
    """Write a new role (its name must be free): CreateRole, and the roles IAM Identity Center
    provisions (ssoadmin/provisioning.py)."""
    conn.execute(
        insert(t.iam_roles).values(
            account_id=account,
            name_key=name.lower(),
            name=name,
            role_id=new_role_id(),
            path=path,
            trust_policy=trust_policy,
            description=description,
            max_session_duration=max_session_duration,
            tags=list(tags or []),
            created_at=now,
            permissions_boundary=permissions_boundary,
        )
    )


def reset_role(
    conn: Connection,
    account: str,
    name_key: str,
    *,
    trust_policy: str,
    max_session_duration: int,
    permissions_boundary: str | None,
) -> None:
    """Rewrite a role's trust, session length and boundary and remove its inline policies and
    attachments, keeping the role itself (its id: sessions of it stay valid) — IAM Identity Center's
    re-provisioning, which then writes the policies again."""
    for policy_name in inline.names(conn, account, "role", name_key):
        inline.remove(conn, account, "role", name_key, policy_name)
    detach_all(conn, account, "role", name_key)
    conn.execute(
        update(t.iam_roles)
        .where(t.iam_roles.c.account_id == account, t.iam_roles.c.name_key == name_key)
        .values(
            trust_policy=trust_policy,
            max_session_duration=max_session_duration,
            permissions_boundary=permissions_boundary,
        )
    )


def drop_role(conn: Connection, account: str, name_key: str) -> None:
    """Delete a role with its inline policies and attachments (a role IAM Identity Center provisioned,
    when its last assignment in the account goes)."""
    for policy_name in inline.names(conn, account, "role", name_key):
        inline.remove(conn, account, "role", name_key, policy_name)
    detach_all(conn, account, "role", name_key)
    conn.execute(delete(t.iam_roles).where(t.iam_roles.c.account_id == account, t.iam_roles.c.name_key == name_key))


# roles only AWS changes: service-linked roles (DeleteServiceLinkedRole) and the roles IAM Identity
# Center provisions ("/aws-reserved/sso.amazonaws.com/", changed through sso-admin)
PROTECTED_PATHS = ("/aws-service-role/", "/aws-reserved/")


def modifiable_role(conn: Connection, account: str, name: str) -> Row[Any]:
    """The role, unless it is a service-linked role (only AWS, here DeleteServiceLinkedRole, changes
    those) or a role IAM Identity Center provisioned (changed through its permission set)."""
    row = get_role(conn, account, name)
    if row.path.startswith(PROTECTED_PATHS):
        raise UnmodifiableEntityException(
            f"Cannot perform the operation on the protected role '{row.name}' - this role is only modifiable by AWS"
        )
    return row


@operation("iam", "CreateRole", resource=_resource)
def create_role(ctx: RequestContext, params: Params) -> Result:
    check_unique(list(params.get("Tags") or []))
    check_trust(params["AssumeRolePolicyDocument"])
    name = params["RoleName"]
    with ctx.store.tx() as conn:
        exists = conn.execute(
            select(t.iam_roles.c.name).where(
                t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == name.lower()
            )
        ).first()
        if exists is not None:
            raise EntityAlreadyExistsException(f"Role with name {name} already exists.")
        if params.get("PermissionsBoundary"):
            check_boundary(conn, params["PermissionsBoundary"], ctx.account_id)
        insert_role(
            conn,
            ctx.account_id,
            name,
            path=params.get("Path") or "/",
            trust_policy=params["AssumeRolePolicyDocument"],
            max_session_duration=int(params.get("MaxSessionDuration") or DEFAULT_MAX_SESSION),
            now=ctx.now,
            description=params.get("Description"),
            permissions_boundary=params.get("PermissionsBoundary"),
            tags=list(params.get("Tags") or []),
        )
        audit.record(conn, ctx, params)
        return {"Role": role_type(get_role(conn, ctx.account_id, name), created=True)}


@operation("iam", "GetRole", resource=_resource)
def get_role_op(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        out = role_type(get_role(conn, ctx.account_id, params["RoleName"]))
    # when the role was last used is not tracked: an empty RoleLastUsed, as IAM answers for a role
    # that has not been used (within its 400-day tracking period)
    out["RoleLastUsed"] = {}
    return {"Role": out}


@operation("iam", "ListRoles", resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:role/*", offload=True)
def list_roles(ctx: RequestContext, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_roles).where(t.iam_roles.c.account_id == ctx.account_id).order_by(t.iam_roles.c.name_key)
        ).all()
    roles = [role_type(r, with_extras=False) for r in rows if r.path.startswith(prefix)]
    chunk, extra = page(roles, params)
    return {"Roles": chunk, **extra}


@operation("iam", "UpdateRole", resource=_resource)
def update_role(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_role(conn, ctx.account_id, params["RoleName"])
        values: dict[str, Any] = {}
        if "Description" in params:
            values["description"] = params["Description"]
        if "MaxSessionDuration" in params:
            values["max_session_duration"] = int(params["MaxSessionDuration"])
        if values:
            conn.execute(
                update(t.iam_roles)
                .where(t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == row.name_key)
                .values(**values)
            )
    return {}


@operation("iam", "UpdateRoleDescription", resource=_resource)
def update_role_description(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_role(conn, ctx.account_id, params["RoleName"])
        conn.execute(
            update(t.iam_roles)
            .where(t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == row.name_key)
            .values(description=params["Description"])
        )
        return {"Role": role_type(get_role(conn, ctx.account_id, row.name))}


@operation("iam", "UpdateAssumeRolePolicy", resource=_resource)
def update_assume_role_policy(ctx: RequestContext, params: Params) -> Result:
    check_trust(params["PolicyDocument"])
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])
        conn.execute(
            update(t.iam_roles)
            .where(t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == row.name_key)
            .values(trust_policy=params["PolicyDocument"])
        )
        audit.record(conn, ctx, params)
    return None


@operation("iam", "DeleteRole", resource=_resource)
def delete_role(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])  # DeleteServiceLinkedRole deletes those
        if role_policies(conn, ctx.account_id, row.name_key):
            raise DeleteConflictException("Cannot delete entity, must delete policies first.")
        if attached_arns(conn, ctx.account_id, "role", row.name_key):
            raise DeleteConflictException("Cannot delete entity, must detach all policies first.")
        if profiles_of_role(conn, ctx.account_id, row.name_key):
            raise DeleteConflictException("Cannot delete entity, must remove roles from instance profile first.")
        conn.execute(
            delete(t.iam_roles).where(
                t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == row.name_key
            )
        )
        audit.record(conn, ctx, params)
    return None


@operation("iam", "PutRolePolicy", resource=_resource)
def put_role_policy(ctx: RequestContext, params: Params) -> Result:
    check_document(params["PolicyDocument"])
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])
        inline.put(conn, ctx.account_id, "role", row.name_key, params["PolicyName"], params["PolicyDocument"])
        audit.record(conn, ctx, params)
    return None


@operation("iam", "GetRolePolicy", resource=_resource)
def get_role_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = get_role(conn, ctx.account_id, params["RoleName"])
        document = inline.get(conn, ctx.account_id, "role", row.name_key, params["PolicyName"])
    if document is None:
        raise NoSuchEntityException(f"The role policy with name {params['PolicyName']} cannot be found.")
    return {"RoleName": row.name, "PolicyName": params["PolicyName"], "PolicyDocument": quote(document, safe="")}


@operation("iam", "ListRolePolicies", resource=_resource)
def list_role_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = get_role(conn, ctx.account_id, params["RoleName"])
        names = inline.names(conn, ctx.account_id, "role", row.name_key)
    chunk, extra = page(names, params)
    return {"PolicyNames": chunk, **extra}


@operation("iam", "DeleteRolePolicy", resource=_resource)
def delete_role_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])
        if not inline.remove(conn, ctx.account_id, "role", row.name_key, params["PolicyName"]):
            raise NoSuchEntityException(f"The role policy with name {params['PolicyName']} cannot be found.")
        audit.record(conn, ctx, params)
    return None


@operation("iam", "PutRolePermissionsBoundary", resource=_resource)
def put_role_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])
        set_boundary(conn, t.iam_roles, ctx.account_id, row.name_key, params["PermissionsBoundary"])
    return None


@operation("iam", "DeleteRolePermissionsBoundary", resource=_resource)
def delete_role_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = modifiable_role(conn, ctx.account_id, params["RoleName"])
        set_boundary(conn, t.iam_roles, ctx.account_id, row.name_key, None)
    return None
