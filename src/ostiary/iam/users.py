"""IAM users, their access keys and inline policies (IAM API Reference): CreateUser, GetUser,
ListUsers, UpdateUser, DeleteUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed, PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy.

UpdateUser renames a user and everything that refers to it (access keys, inline and attached
policies, group memberships, login profile, MFA devices, GetSessionToken sessions) in one
transaction. The last use of an access key is recorded by access/access_keys.py.

Policy documents are validated by the policy engine (MalformedPolicyDocument) and returned
URL-encoded, as IAM returns them (boto3 decodes them).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access.policy_sources import attached_arns, groups_of
from ostiary.access.principals import PrincipalKind
from ostiary.audit import recorder as audit
from ostiary.crypto.secrets import new_access_key_id, new_secret_access_key
from ostiary.iam import inline
from ostiary.iam.documents import check_boundary, check_document, set_boundary
from ostiary.iam.entities import (
    MAX_KEYS_PER_USER,
    caller_name,
    has_login_profile,
    has_service_credentials,
    user_resource,
    user_type,
)
from ostiary.iam.entities import get_user as get_user_row
from ostiary.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.iam.paging import page
from ostiary.iam.tagging import check_unique
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_ID = string.ascii_uppercase + string.digits


@operation("iam", "CreateUser", resource=user_resource)
def create_user(ctx: RequestContext, params: Params) -> Result:
    name = params["UserName"]
    check_unique(list(params.get("Tags") or []))
    with ctx.store.tx() as conn:
        exists = conn.execute(
            select(t.iam_users.c.name).where(
                t.iam_users.c.account_id == ctx.account_id, t.iam_users.c.name_key == name.lower()
            )
        ).first()
        if exists is not None:
            raise EntityAlreadyExistsException(f"User with name {name} already exists.")
        if params.get("PermissionsBoundary"):
            check_boundary(conn, params["PermissionsBoundary"], ctx.account_id)
        conn.execute(
            insert(t.iam_users).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                user_id="AIDA" + "".join(secrets.choice(_ID) for _ in range(17)),
                path=params.get("Path") or "/",
                permissions_boundary=params.get("PermissionsBoundary"),
                tags=list(params.get("Tags") or []),
                created_at=ctx.now,
            )
        )
        return {"User": user_type(get_user_row(conn, ctx.account_id, name))}


@operation("iam", "GetUser", resource=user_resource)
def get_user(ctx: RequestContext, params: Params) -> Result:
    name = caller_name(ctx, params)
    if name is None:
        assert ctx.principal is not None
        if ctx.principal.kind is not PrincipalKind.ROOT:  # a role or federated session names no user
            raise ValidationFailed("Must specify userName when calling with non-User credentials")
        # the account root asking about itself
        return {"User": {"UserId": ctx.account_id, "Arn": ctx.principal.arn, "CreateDate": ctx.now}}
    with ctx.store.read() as conn:
        return {"User": user_type(get_user_row(conn, ctx.account_id, name))}


@operation("iam", "ListUsers", resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:user/*", offload=True)
def list_users(ctx: RequestContext, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_users).where(t.iam_users.c.account_id == ctx.account_id).order_by(t.iam_users.c.name_key)
        ).all()
    users = [user_type(r) for r in rows if r.path.startswith(prefix)]
    for u in users:  # ListUsers returns neither (IAM API Reference, ListUsers)
        u.pop("Tags", None)
        u.pop("PermissionsBoundary", None)
    chunk, extra = page(users, params)
    return {"Users": chunk, **extra}


@operation("iam", "DeleteUser", resource=user_resource)
def delete_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        keys = conn.execute(
            select(func.count())
            .select_from(t.access_keys)
            .where(
                t.access_keys.c.account_id == ctx.account_id,
                t.access_keys.c.principal_type == "user",
                t.access_keys.c.principal_name == row.name,
            )
        ).scalar()
        if keys:
            raise DeleteConflictException("Cannot delete entity, must delete access keys first.")
        if inline.names(conn, ctx.account_id, "user", row.name_key):
            raise DeleteConflictException("Cannot delete entity, must delete policies first.")
        if attached_arns(conn, ctx.account_id, "user", row.name_key):
            raise DeleteConflictException("Cannot delete entity, must detach all policies first.")
        if groups_of(conn, ctx.account_id, row.name_key):
            raise DeleteConflictException("Cannot delete entity, must remove users from group first.")
        if has_login_profile(conn, ctx.account_id, row.name_key):
            raise DeleteConflictException("Cannot delete entity, must delete login profile first.")
        if has_service_credentials(conn, ctx.account_id, row.name_key):
            # IAM's recorded wording for a user that still holds service-specific credentials
            raise DeleteConflictException("Cannot delete entity, must remove referenced objects first.")
        assigned = conn.execute(
            select(t.iam_mfa_devices.c.name_key).where(
                t.iam_mfa_devices.c.account_id == ctx.account_id, t.iam_mfa_devices.c.user_key == row.name_key
            )
        ).first()
        if assigned is not None:
            raise DeleteConflictException("Cannot delete entity, must delete MFA device first.")
        # AWS's wording: "delete certificates" for signing certificates, the generic one for SSH keys
        for table, what in (
            (t.iam_signing_certificates, "delete certificates"),
            (t.iam_ssh_public_keys, "remove referenced objects"),
        ):
            if conn.execute(
                select(table.c.user_key).where(table.c.account_id == ctx.account_id, table.c.user_key == row.name_key)
            ).first():
                raise DeleteConflictException(f"Cannot delete entity, must {what} first.")
        conn.execute(
            delete(t.iam_users).where(
                t.iam_users.c.account_id == ctx.account_id, t.iam_users.c.name_key == row.name_key
            )
        )
    return None


@operation("iam", "UpdateUser", resource=user_resource)
def update_user(ctx: RequestContext, params: Params) -> Result:
    new_name = params.get("NewUserName")
    new_path = params.get("NewPath")
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        name = new_name or row.name
        path = new_path or row.path
        if name == row.name and path == row.path:
            return None
        key = name.lower()
        if key != row.name_key:
            taken = conn.execute(
                select(t.iam_users.c.name).where(
                    t.iam_users.c.account_id == ctx.account_id, t.iam_users.c.name_key == key
                )
            ).first()
            if taken is not None:
                raise EntityAlreadyExistsException(f"User with name {name} already exists.")
        _rename(conn, ctx.account_id, row, name, path)
    return None


def _rename(conn: Connection, acct: str, row: Row[Any], name: str, path: str) -> None:
    """Rename/move a user and every row that names it, in the caller's transaction."""
    key = name.lower()
    conn.execute(
        update(t.iam_users)
        .where(t.iam_users.c.account_id == acct, t.iam_users.c.name_key == row.name_key)
        .values(name_key=key, name=name, path=path)
    )
    k = t.access_keys.c
    conn.execute(
        update(t.access_keys)
        .where(k.account_id == acct, k.principal_type == "user", k.principal_name == row.name)
        .values(principal_name=name)
    )
    s = t.sts_sessions.c  # GetSessionToken credentials of the user stay the user's
    conn.execute(
        update(t.sts_sessions)
        .where(s.account_id == acct, s.kind == "user", s.role_id == row.user_id)
        .values(role_name=name, role_path=path)
    )
    if key == row.name_key:
        return
    for table, kind_col, key_col in (
        (t.iam_inline_policies, "principal_type", "principal_key"),
        (t.iam_attachments, "principal_type", "principal_key"),
    ):
        conn.execute(
            update(table)
            .where(table.c.account_id == acct, table.c[kind_col] == "user", table.c[key_col] == row.name_key)
            .values({key_col: key})
        )
    for table in (
        t.iam_group_members,
        t.iam_login_profiles,
        t.iam_mfa_devices,
        t.iam_ssh_public_keys,
        t.iam_signing_certificates,
        t.iam_service_specific_credentials,
    ):
        conn.execute(
            update(table).where(table.c.account_id == acct, table.c.user_key == row.name_key).values(user_key=key)
        )


# --- access keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyOwner:
    """Whose access keys a call is about: an IAM user, or the account root (its own keys, which
    IAM names by the account id as it names the root's signing certificates)."""

    kind: str  # access_keys.principal_type: "user" | "root"
    name: str  # access_keys.principal_name ("root" for the root)
    shown: str  # the UserName of the response


def _key_owner(conn: Connection, ctx: RequestContext, params: Params) -> _KeyOwner:
    """The named user; without UserName, the calling IAM user or the calling account root. Role
    and federated sessions must name the user (IAM API Reference, ListAccessKeys)."""
    p = ctx.principal
    if not params.get("UserName") and p is not None and p.kind is PrincipalKind.ROOT:
        return _KeyOwner("root", "root", ctx.account_id)
    name = caller_name(ctx, params)
    if name is None:
        raise ValidationFailed("Must specify userName when calling with non-User credentials")
    user = str(get_user_row(conn, ctx.account_id, name).name)
    return _KeyOwner("user", user, user)


@operation("iam", "CreateAccessKey", resource=user_resource)
def create_access_key(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        owner = _key_owner(conn, ctx, params)
        if len(_keys_of(conn, ctx.account_id, owner)) >= MAX_KEYS_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")
        akid, secret = new_access_key_id(), new_secret_access_key()
        conn.execute(
            insert(t.access_keys).values(
                access_key_id=akid,
                account_id=ctx.account_id,
                secret_enc=ctx.box.seal(secret, akid),
                principal_type=owner.kind,
                principal_name=owner.name,
                status="Active",
                created_at=ctx.now,
            )
        )
        audit.record(conn, ctx, params, resource=("AWS::IAM::AccessKey", akid), details={"userName": owner.shown})
    return {
        "AccessKey": {
            "UserName": owner.shown,
            "AccessKeyId": akid,
            "Status": "Active",
            "SecretAccessKey": secret,
            "CreateDate": ctx.now,
        }
    }


def _keys_of(conn: Connection, account: str, owner: _KeyOwner) -> list[Row[Any]]:
    k = t.access_keys.c
    return list(
        conn.execute(
            select(t.access_keys)
            .where(k.account_id == account, k.principal_type == owner.kind, k.principal_name == owner.name)
            .order_by(k.created_at, k.access_key_id)
        ).all()
    )


@operation("iam", "ListAccessKeys", resource=user_resource)
def list_access_keys(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        owner = _key_owner(conn, ctx, params)
        rows = _keys_of(conn, ctx.account_id, owner)
    items = [
        {"UserName": owner.shown, "AccessKeyId": r.access_key_id, "Status": r.status, "CreateDate": utc(r.created_at)}
        for r in rows
    ]
    chunk, extra = page(items, params)
    return {"AccessKeyMetadata": chunk, **extra}


def _key(conn: Connection, ctx: RequestContext, params: Params) -> str:
    owner = _key_owner(conn, ctx, params)
    if not any(r.access_key_id == params["AccessKeyId"] for r in _keys_of(conn, ctx.account_id, owner)):
        raise NoSuchEntityException(f"The Access Key with id {params['AccessKeyId']} cannot be found.")
    return str(params["AccessKeyId"])


@operation("iam", "UpdateAccessKey", resource=user_resource)
def update_access_key(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        akid = _key(conn, ctx, params)
        conn.execute(update(t.access_keys).where(t.access_keys.c.access_key_id == akid).values(status=params["Status"]))
        audit.record(conn, ctx, params, resource=("AWS::IAM::AccessKey", akid))
    return None


@operation("iam", "DeleteAccessKey", resource=user_resource)
def delete_access_key(ctx: RequestContext, params: Params) -> Result:
    """Deleting the key that signs this very call is allowed (as in IAM); it stops working once the
    credential caches have forgotten it (access/access_keys.py)."""
    with ctx.store.tx() as conn:
        akid = _key(conn, ctx, params)
        conn.execute(delete(t.access_keys).where(t.access_keys.c.access_key_id == akid))
        audit.record(conn, ctx, params, resource=("AWS::IAM::AccessKey", akid))
    return None


def _last_used_resource(ctx: RequestContext, params: Params) -> str:
    """The user that owns the key (IAM authorizes GetAccessKeyLastUsed on the user resource)."""
    with ctx.store.read() as conn:
        row = conn.execute(
            select(t.access_keys.c.principal_type, t.access_keys.c.principal_name).where(
                t.access_keys.c.access_key_id == params.get("AccessKeyId", ""),
                t.access_keys.c.account_id == ctx.account_id,
            )
        ).first()
    if row is None or row.principal_type != "user":
        return f"arn:aws:iam::{ctx.account_id}:user/*"
    return f"arn:aws:iam::{ctx.account_id}:user/{row.principal_name}"


@operation("iam", "GetAccessKeyLastUsed", resource=_last_used_resource)
def get_access_key_last_used(ctx: RequestContext, params: Params) -> Result:
    akid = params["AccessKeyId"]
    with ctx.store.read() as conn:
        row = conn.execute(
            select(t.access_keys).where(
                t.access_keys.c.access_key_id == akid, t.access_keys.c.account_id == ctx.account_id
            )
        ).first()
    if row is None:
        raise NoSuchEntityException(f"The Access Key with id {akid} cannot be found.")
    used: dict[str, Any] = {"ServiceName": "N/A", "Region": "N/A"}
    if row.last_used_at is not None:
        used = {
            "LastUsedDate": utc(row.last_used_at),
            "ServiceName": row.last_used_service or "N/A",
            "Region": row.last_used_region or "N/A",
        }
    out: dict[str, Any] = {"AccessKeyLastUsed": used}
    if row.principal_type == "user":
        out["UserName"] = row.principal_name
    return out


# --- inline policies ---------------------------------------------------------------------------


@operation("iam", "PutUserPolicy", resource=user_resource)
def put_user_policy(ctx: RequestContext, params: Params) -> Result:
    check_document(params["PolicyDocument"])
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        inline.put(conn, ctx.account_id, "user", row.name_key, params["PolicyName"], params["PolicyDocument"])
        audit.record(conn, ctx, params)
    return None


@operation("iam", "GetUserPolicy", resource=user_resource)
def get_user_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        document = inline.get(conn, ctx.account_id, "user", row.name_key, params["PolicyName"])
    if document is None:
        raise NoSuchEntityException(f"The user policy with name {params['PolicyName']} cannot be found.")
    return {"UserName": row.name, "PolicyName": params["PolicyName"], "PolicyDocument": quote(document, safe="")}


@operation("iam", "ListUserPolicies", resource=user_resource)
def list_user_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        names = inline.names(conn, ctx.account_id, "user", row.name_key)
    chunk, extra = page(names, params)
    return {"PolicyNames": chunk, **extra}


@operation("iam", "DeleteUserPolicy", resource=user_resource)
def delete_user_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        if not inline.remove(conn, ctx.account_id, "user", row.name_key, params["PolicyName"]):
            raise NoSuchEntityException(f"The user policy with name {params['PolicyName']} cannot be found.")
        audit.record(conn, ctx, params)
    return None


# --- permissions boundaries ---------------------------------------------------------------------


@operation("iam", "PutUserPermissionsBoundary", resource=user_resource)
def put_user_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        set_boundary(conn, t.iam_users, ctx.account_id, row.name_key, params["PermissionsBoundary"])
    return None


@operation("iam", "DeleteUserPermissionsBoundary", resource=user_resource)
def delete_user_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = get_user_row(conn, ctx.account_id, params["UserName"])
        set_boundary(conn, t.iam_users, ctx.account_id, row.name_key, None)
    return None
