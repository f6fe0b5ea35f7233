"""IAM groups (IAM API Reference): CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup,
AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser, Put/Get/List/DeleteGroupPolicy.

A group's inline and attached policies apply to its members (access/authz.py)."""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access.policy_sources import attached_arns, groups_of
from ostiary.audit import recorder as audit
from ostiary.iam import inline
from ostiary.iam.documents import check_document
from ostiary.iam.entities import get_user, user_type
from ostiary.iam.errors import DeleteConflictException, EntityAlreadyExistsException, NoSuchEntityException
from ostiary.iam.paging import page
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_ID = string.ascii_uppercase + string.digits


def group_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:group{path}{name}"


def _resource(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:group{params.get('Path') or '/'}{params.get('GroupName', '*')}"


def _group_type(row: Row[Any]) -> dict[str, Any]:
    return {
        "Path": row.path,
        "GroupName": row.name,
        "GroupId": row.group_id,
        "Arn": group_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
    }


def get_group(conn: Connection, account: str, name: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_groups).where(t.iam_groups.c.account_id == account, t.iam_groups.c.name_key == name.lower())
    ).first()
    if row is None:
        raise NoSuchEntityException(f"The group with name {name} cannot be found.")
    return row


@operation("iam", "CreateGroup", resource=_resource)
def create_group(ctx: RequestContext, params: Params) -> Result:
    name = params["GroupName"]
    with ctx.store.tx() as conn:
        exists = conn.execute(
            select(t.iam_groups.c.name).where(
                t.iam_groups.c.account_id == ctx.account_id, t.iam_groups.c.name_key == name.lower()
            )
        ).first()
        if exists is not None:
            raise EntityAlreadyExistsException(f"Group with name {name} already exists.")
        conn.execute(
            insert(t.iam_groups).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                group_id="AGPA" + "".join(secrets.choice(_ID) for _ in range(17)),
                path=params.get("Path") or "/",
                created_at=ctx.now,
            )
        )
        return {"Group": _group_type(get_group(conn, ctx.account_id, name))}


@operation("iam", "GetGroup", resource=_resource)
def get_group_op(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        m = t.iam_group_members.c
        users = conn.execute(
            select(t.iam_users)
            .select_from(
                t.iam_users.join(
                    t.iam_group_members,
                    (m.account_id == t.iam_users.c.account_id) & (m.user_key == t.iam_users.c.name_key),
                )
            )
            .where(m.account_id == ctx.account_id, m.group_key == group.name_key)
            .order_by(t.iam_users.c.name_key)
        ).all()
    items = []
    for u in users:
        item = user_type(u)
        item.pop("Tags", None)
        items.append(item)
    chunk, extra = page(items, params)
    return {"Group": _group_type(group), "Users": chunk, **extra}


@operation("iam", "ListGroups", resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:group/*", offload=True)
def list_groups(ctx: RequestContext, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_groups).where(t.iam_groups.c.account_id == ctx.account_id).order_by(t.iam_groups.c.name_key)
        ).all()
    chunk, extra = page([_group_type(r) for r in rows if r.path.startswith(prefix)], params)
    return {"Groups": chunk, **extra}


@operation("iam", "UpdateGroup", resource=_resource)
def update_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        values: dict[str, Any] = {}
        new_name = params.get("NewGroupName")
        if new_name and new_name.lower() != group.name_key:
            clash = conn.execute(
                select(t.iam_groups.c.name).where(
                    t.iam_groups.c.account_id == ctx.account_id, t.iam_groups.c.name_key == new_name.lower()
                )
            ).first()
            if clash is not None:
                raise EntityAlreadyExistsException(f"Group with name {new_name} already exists.")
        if new_name:
            values.update(name=new_name, name_key=new_name.lower())
        if params.get("NewPath"):
            values["path"] = params["NewPath"]
        if not values:
            return None
        conn.execute(
            update(t.iam_groups)
            .where(t.iam_groups.c.account_id == ctx.account_id, t.iam_groups.c.name_key == group.name_key)
            .values(**values)
        )
        if new_name and new_name.lower() != group.name_key:
            key = new_name.lower()
            for table, col in (
                (t.iam_group_members, t.iam_group_members.c.group_key),
                (t.iam_inline_policies, t.iam_inline_policies.c.principal_key),
                (t.iam_attachments, t.iam_attachments.c.principal_key),
            ):
                where = [table.c.account_id == ctx.account_id, col == group.name_key]
                if "principal_type" in table.c:
                    where.append(table.c.principal_type == "group")
                conn.execute(update(table).where(*where).values({col.name: key}))
    return None


@operation("iam", "DeleteGroup", resource=_resource)
def delete_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        m = t.iam_group_members.c
        members = conn.execute(
            select(func.count())
            .select_from(t.iam_group_members)
            .where(m.account_id == ctx.account_id, m.group_key == group.name_key)
        ).scalar()
        if members:
            raise DeleteConflictException("Cannot delete entity, must remove users from group first.")
        if inline.names(conn, ctx.account_id, "group", group.name_key):
            raise DeleteConflictException("Cannot delete entity, must delete policies first.")
        if attached_arns(conn, ctx.account_id, "group", group.name_key):
            raise DeleteConflictException("Cannot delete entity, must detach all policies first.")
        conn.execute(
            delete(t.iam_groups).where(
                t.iam_groups.c.account_id == ctx.account_id, t.iam_groups.c.name_key == group.name_key
            )
        )
    return None


@operation("iam", "AddUserToGroup", resource=_resource)
def add_user_to_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        user = get_user(conn, ctx.account_id, params["UserName"])
        if group.name_key in groups_of(conn, ctx.account_id, user.name_key):
            return None
        conn.execute(
            insert(t.iam_group_members).values(
                account_id=ctx.account_id, group_key=group.name_key, user_key=user.name_key
            )
        )
    return None


@operation("iam", "RemoveUserFromGroup", resource=_resource)
def remove_user_from_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        user = get_user(conn, ctx.account_id, params["UserName"])
        m = t.iam_group_members.c
        gone = conn.execute(
            delete(t.iam_group_members).where(
                m.account_id == ctx.account_id, m.group_key == group.name_key, m.user_key == user.name_key
            )
        ).rowcount
        if not gone:
            raise NoSuchEntityException(f"The user with name {user.name} cannot be found.")
    return None


@operation(
    "iam",
    "ListGroupsForUser",
    resource=lambda ctx, params: f"arn:aws:iam::{ctx.account_id}:user/{params.get('UserName', '*')}",
)
def list_groups_for_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        user = get_user(conn, ctx.account_id, params["UserName"])
        keys = groups_of(conn, ctx.account_id, user.name_key)
        rows = [get_group(conn, ctx.account_id, k) for k in sorted(keys)]
    chunk, extra = page([_group_type(r) for r in rows], params)
    return {"Groups": chunk, **extra}


@operation("iam", "PutGroupPolicy", resource=_resource)
def put_group_policy(ctx: RequestContext, params: Params) -> Result:
    check_document(params["PolicyDocument"])
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        inline.put(conn, ctx.account_id, "group", group.name_key, params["PolicyName"], params["PolicyDocument"])
        audit.record(conn, ctx, params)
    return None


@operation("iam", "GetGroupPolicy", resource=_resource)
def get_group_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        document = inline.get(conn, ctx.account_id, "group", group.name_key, params["PolicyName"])
    if document is None:
        raise NoSuchEntityException(f"The group policy with name {params['PolicyName']} cannot be found.")
    return {"GroupName": group.name, "PolicyName": params["PolicyName"], "PolicyDocument": quote(document, safe="")}


@operation("iam", "ListGroupPolicies", resource=_resource)
def list_group_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        names = inline.names(conn, ctx.account_id, "group", group.name_key)
    chunk, extra = page(names, params)
    return {"PolicyNames": chunk, **extra}


@operation("iam", "DeleteGroupPolicy", resource=_resource)
def delete_group_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        group = get_group(conn, ctx.account_id, params["GroupName"])
        if not inline.remove(conn, ctx.account_id, "group", group.name_key, params["PolicyName"]):
            raise NoSuchEntityException(f"The group policy with name {params['PolicyName']} cannot be found.")
        audit.record(conn, ctx, params)
    return None
