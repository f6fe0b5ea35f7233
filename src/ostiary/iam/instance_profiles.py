"""IAM instance profiles (IAM API Reference): CreateInstanceProfile, GetInstanceProfile,
DeleteInstanceProfile, ListInstanceProfiles, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole, TagInstanceProfile, UntagInstanceProfile, ListInstanceProfileTags.

An instance profile holds at most one role (LimitExceeded for a second); it cannot be deleted while
it holds one (DeleteConflict), and neither can its role (roles.py). Ostiary runs no instances: the
profiles are stored and returned for tools (Terraform, CloudFormation-like scripts) that manage them.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.iam import tagging
from ostiary.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.iam.paging import page
from ostiary.iam.roles import get_role, role_type
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_ID = string.ascii_uppercase + string.digits
_P = t.iam_instance_profiles.c


def profile_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:instance-profile{path}{name}"


def _resource(ctx: RequestContext, params: Params) -> str:
    return (
        f"arn:aws:iam::{ctx.account_id}:instance-profile{params.get('Path') or '/'}"
        f"{params.get('InstanceProfileName', '*')}"
    )


def _no_such(name: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"Instance Profile {name} cannot be found.")


def _get(conn: Connection, account: str, name: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_instance_profiles).where(_P.account_id == account, _P.name_key == name.lower())
    ).first()
    if row is None:
        raise _no_such(name)
    return row


def _profile_type(conn: Connection, row: Row[Any], *, with_tags: bool = True) -> dict[str, Any]:
    roles: list[dict[str, Any]] = []
    if row.role_key is not None:
        role = conn.execute(
            select(t.iam_roles).where(
                t.iam_roles.c.account_id == row.account_id, t.iam_roles.c.name_key == row.role_key
            )
        ).first()
        if role is not None:
            roles.append(role_type(role, with_extras=False))
    out: dict[str, Any] = {
        "Path": row.path,
        "InstanceProfileName": row.name,
        "InstanceProfileId": row.profile_id,
        "Arn": profile_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
        "Roles": roles,
    }
    if with_tags and row.tags:
        out["Tags"] = row.tags
    return out


@operation("iam", "CreateInstanceProfile", resource=_resource)
def create_instance_profile(ctx: RequestContext, params: Params) -> Result:
    name = params["InstanceProfileName"]
    tags = tagging.merge_tags([], list(params.get("Tags") or []))
    with ctx.store.tx() as conn:
        exists = conn.execute(
            select(_P.name).where(_P.account_id == ctx.account_id, _P.name_key == name.lower())
        ).first()
        if exists is not None:
            raise EntityAlreadyExistsException(f"Instance Profile {name} already exists.")
        conn.execute(
            insert(t.iam_instance_profiles).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                profile_id="AIPA" + "".join(secrets.choice(_ID) for _ in range(17)),
                path=params.get("Path") or "/",
                role_key=None,
                tags=tags,
                created_at=ctx.now,
            )
        )
        return {"InstanceProfile": _profile_type(conn, _get(conn, ctx.account_id, name))}


@operation("iam", "GetInstanceProfile", resource=_resource)
def get_instance_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _get(conn, ctx.account_id, params["InstanceProfileName"])
        return {"InstanceProfile": _profile_type(conn, row)}


@operation("iam", "DeleteInstanceProfile", resource=_resource)
def delete_instance_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _get(conn, ctx.account_id, params["InstanceProfileName"])
        if row.role_key is not None:
            raise DeleteConflictException("Cannot delete entity, must remove roles from instance profile first.")
        conn.execute(
            delete(t.iam_instance_profiles).where(_P.account_id == ctx.account_id, _P.name_key == row.name_key)
        )
    return None


@operation(
    "iam", "ListInstanceProfiles", resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:instance-profile/*"
)
def list_instance_profiles(ctx: RequestContext, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_instance_profiles).where(_P.account_id == ctx.account_id).order_by(_P.name_key)
        ).all()
        # listing operations return no tags (IAM API Reference, ListInstanceProfiles)
        items = [_profile_type(conn, r, with_tags=False) for r in rows if r.path.startswith(prefix)]
    chunk, extra = page(items, params)
    return {"InstanceProfiles": chunk, **extra}


@operation("iam", "AddRoleToInstanceProfile", resource=_resource)
def add_role_to_instance_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _get(conn, ctx.account_id, params["InstanceProfileName"])
        role = get_role(conn, ctx.account_id, params["RoleName"])
        if row.role_key is not None:
            raise LimitExceededException("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
        # the role must not have changed hands meanwhile: set it only where no role is set yet
        done = conn.execute(
            update(t.iam_instance_profiles)
            .where(_P.account_id == ctx.account_id, _P.name_key == row.name_key, _P.role_key.is_(None))
            .values(role_key=role.name_key)
        ).rowcount
        if not done:
            raise LimitExceededException("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    return None


@operation("iam", "RemoveRoleFromInstanceProfile", resource=_resource)
def remove_role_from_instance_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _get(conn, ctx.account_id, params["InstanceProfileName"])
        role = get_role(conn, ctx.account_id, params["RoleName"])
        if row.role_key != role.name_key:
            raise NoSuchEntityException(
                f"The role with name {role.name} cannot be found in instance profile {row.name}."
            )
        conn.execute(
            update(t.iam_instance_profiles)
            .where(_P.account_id == ctx.account_id, _P.name_key == row.name_key)
            .values(role_key=None)
        )
    return None


@operation(
    "iam",
    "ListInstanceProfilesForRole",
    resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:role/{params.get('RoleName', '*')}",
)
def list_instance_profiles_for_role(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        role = get_role(conn, ctx.account_id, params["RoleName"])
        rows = conn.execute(
            select(t.iam_instance_profiles)
            .where(_P.account_id == ctx.account_id, _P.role_key == role.name_key)
            .order_by(_P.name_key)
        ).all()
        items = [_profile_type(conn, r, with_tags=False) for r in rows]
    chunk, extra = page(items, params)
    return {"InstanceProfiles": chunk, **extra}


def _tag_call(name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NoSuchEntityException:
        raise _no_such(name) from None


@operation("iam", "TagInstanceProfile", resource=_resource)
def tag_instance_profile(ctx: RequestContext, params: Params) -> Result:
    name = params["InstanceProfileName"]
    _tag_call(name, tagging._tag, ctx, t.iam_instance_profiles, "instance profile", name, params["Tags"])
    return None


@operation("iam", "UntagInstanceProfile", resource=_resource)
def untag_instance_profile(ctx: RequestContext, params: Params) -> Result:
    name = params["InstanceProfileName"]
    _tag_call(name, tagging._untag, ctx, t.iam_instance_profiles, "instance profile", name, params["TagKeys"])
    return None


@operation("iam", "ListInstanceProfileTags", resource=_resource)
def list_instance_profile_tags(ctx: RequestContext, params: Params) -> Result:
    name = params["InstanceProfileName"]
    result: Result = _tag_call(name, tagging._list, ctx, t.iam_instance_profiles, "instance profile", name, params)
    return result
