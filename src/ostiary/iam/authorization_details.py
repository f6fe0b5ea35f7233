"""GetAccountAuthorizationDetails (IAM API Reference): the account's users, groups, roles and managed
policies with their inline policies, attachments, memberships and policy versions, in one paged
snapshot. Documents are URL-encoded as IAM returns them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select

from ostiary.access import aws_managed
from ostiary.access.policy_sources import attached_arns, groups_of
from ostiary.iam import attachments, inline, managed
from ostiary.iam.entities import user_type
from ostiary.iam.groups import group_arn
from ostiary.iam.paging import page
from ostiary.iam.roles import role_type
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc


def _policy_list(conn: Connection, account: str, kind: str, key: str) -> list[dict[str, str]]:
    out = []
    for name in inline.names(conn, account, kind, key):
        document = inline.get(conn, account, kind, key, name)
        if document is not None:
            out.append({"PolicyName": name, "PolicyDocument": quote(document, safe="")})
    return out


def _attached(conn: Connection, account: str, kind: str, key: str) -> list[dict[str, str]]:
    out = []
    for arn in attached_arns(conn, account, kind, key):
        name, _ = attachments.attached_name(conn, arn, account)
        out.append({"PolicyName": name, "PolicyArn": arn})
    return out


def _users(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_users).where(t.iam_users.c.account_id == account).order_by(t.iam_users.c.name_key)
    ).all()
    out = []
    for row in rows:
        base = user_type(row)
        group_names = []
        for key in sorted(groups_of(conn, account, row.name_key)):
            g = conn.execute(
                select(t.iam_groups.c.name).where(t.iam_groups.c.account_id == account, t.iam_groups.c.name_key == key)
            ).first()
            if g is not None:
                group_names.append(g.name)
        detail: dict[str, Any] = {
            "Path": base["Path"],
            "UserName": base["UserName"],
            "UserId": base["UserId"],
            "Arn": base["Arn"],
            "CreateDate": base["CreateDate"],
            "UserPolicyList": _policy_list(conn, account, "user", row.name_key),
            "GroupList": group_names,
            "AttachedManagedPolicies": _attached(conn, account, "user", row.name_key),
        }
        for extra in ("PermissionsBoundary", "Tags"):
            if extra in base:
                detail[extra] = base[extra]
        out.append(detail)
    return out


def _groups(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_groups).where(t.iam_groups.c.account_id == account).order_by(t.iam_groups.c.name_key)
    ).all()
    return [
        {
            "Path": row.path,
            "GroupName": row.name,
            "GroupId": row.group_id,
            "Arn": group_arn(account, row.path, row.name),
            "CreateDate": utc(row.created_at),
            "GroupPolicyList": _policy_list(conn, account, "group", row.name_key),
            "AttachedManagedPolicies": _attached(conn, account, "group", row.name_key),
        }
        for row in rows
    ]


def _instance_profiles(conn: Connection, account: str, role_row: Any) -> list[dict[str, Any]]:
    p = t.iam_instance_profiles.c
    rows = conn.execute(
        select(t.iam_instance_profiles)
        .where(p.account_id == account, p.role_key == role_row.name_key)
        .order_by(p.name_key)
    ).all()
    out = []
    for row in rows:
        profile: dict[str, Any] = {
            "Path": row.path,
            "InstanceProfileName": row.name,
            "InstanceProfileId": row.profile_id,
            "Arn": f"arn:aws:iam::{account}:instance-profile{row.path}{row.name}",
            "CreateDate": utc(row.created_at),
            "Roles": [role_type(role_row, with_extras=False)],
        }
        if row.tags:
            profile["Tags"] = row.tags
        out.append(profile)
    return out


def _roles(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_roles).where(t.iam_roles.c.account_id == account).order_by(t.iam_roles.c.name_key)
    ).all()
    out = []
    for row in rows:
        base = role_type(row)
        detail: dict[str, Any] = {
            "Path": base["Path"],
            "RoleName": base["RoleName"],
            "RoleId": base["RoleId"],
            "Arn": base["Arn"],
            "CreateDate": base["CreateDate"],
            "AssumeRolePolicyDocument": base["AssumeRolePolicyDocument"],
            "InstanceProfileList": _instance_profiles(conn, account, row),
            "RolePolicyList": _policy_list(conn, account, "role", row.name_key),
            "AttachedManagedPolicies": _attached(conn, account, "role", row.name_key),
        }
        for extra in ("PermissionsBoundary", "Tags"):
            if extra in base:
                detail[extra] = base[extra]
        out.append(detail)
    return out


def _managed_detail(conn: Connection, arn: str, account: str) -> dict[str, Any]:
    detail = managed.policy_type(conn, arn, account, with_tags=False)
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        versions = [aws.version_type(document=True)]
    else:
        v = t.iam_policy_versions.c
        rows = conn.execute(select(t.iam_policy_versions).where(v.arn == arn)).all()
        versions = [
            {
                "Document": quote(r.document, safe=""),
                "VersionId": r.version_id,
                "IsDefaultVersion": r.version_id == detail["DefaultVersionId"],
                "CreateDate": utc(r.created_at),
            }
            for r in sorted(rows, key=lambda r: -int(str(r.version_id)[1:]))
        ]
    detail["PolicyVersionList"] = versions
    return detail


def _policies(conn: Connection, account: str, local: bool, aws: bool) -> list[dict[str, Any]]:
    out = []
    if local:
        rows = conn.execute(
            select(t.iam_policies.c.arn).where(t.iam_policies.c.account_id == account).order_by(t.iam_policies.c.name)
        ).all()
        out += [_managed_detail(conn, r.arn, account) for r in rows]
    if aws:  # the AWS managed policies this account uses (attached, or a permissions boundary)
        a = t.iam_attachments.c
        used = set(conn.execute(select(a.policy_arn).where(a.account_id == account)).scalars())
        for table in (t.iam_users, t.iam_roles):
            used |= set(
                conn.execute(
                    select(table.c.permissions_boundary).where(
                        table.c.account_id == account, table.c.permissions_boundary.is_not(None)
                    )
                ).scalars()
            )
        for p in aws_managed.all_policies():
            if p.arn in used:
                out.append(_managed_detail(conn, p.arn, account))
    return out


_LISTS = (
    ("User", "UserDetailList"),
    ("Group", "GroupDetailList"),
    ("Role", "RoleDetailList"),
    ("Policy", "Policies"),
)


@operation("iam", "GetAccountAuthorizationDetails", resource=lambda ctx, params: "*", offload=True)
def get_account_authorization_details(ctx: RequestContext, params: Params) -> Result:
    wanted = set(params.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
    items: list[tuple[str, dict[str, Any]]] = []
    with ctx.store.read() as conn:
        if "User" in wanted:
            items += [("User", u) for u in _users(conn, ctx.account_id)]
        if "Group" in wanted:
            items += [("Group", g) for g in _groups(conn, ctx.account_id)]
        if "Role" in wanted:
            items += [("Role", r) for r in _roles(conn, ctx.account_id)]
        local, aws = "LocalManagedPolicy" in wanted, "AWSManagedPolicy" in wanted
        if local or aws:
            items += [("Policy", p) for p in _policies(conn, ctx.account_id, local, aws)]
    chunk, extra = page(items, params)
    out: dict[str, Any] = {name: [item for kind, item in chunk if kind == k] for k, name in _LISTS}
    return {**out, **extra}
