"""IAM users as other modules see them: the row, its ARN and response shape, the user a call is
about, and whether something still refers to a user (DeleteUser refuses while it does). Queries
only, no operations (the operations are in iam/users.py and its neighbours)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from ostiary.access.principals import PrincipalKind
from ostiary.iam.errors import NoSuchEntityException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params
from ostiary.store import tables as t
from ostiary.store.db import utc

MAX_KEYS_PER_USER = 2  # IAM's AccessKeysPerUser quota


def user_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user{path}{name}"


def user_resource(ctx: RequestContext, params: Params) -> str:
    """The ARN IAM authorizes user operations against (path-less when the user does not exist yet)."""
    name = params.get("UserName") or (ctx.principal.arn.rsplit("/", 1)[-1] if ctx.principal else "")
    return f"arn:aws:iam::{ctx.account_id}:user{params.get('Path') or '/'}{name}"


def user_type(row: Row[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row.path,
        "UserName": row.name,
        "UserId": row.user_id,
        "Arn": user_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
    }
    if row.permissions_boundary:
        out["PermissionsBoundary"] = {  # IAM answers Policy, whatever the model's enum says (iam/roles.py)
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": row.permissions_boundary,
        }
    if row.tags:
        out["Tags"] = row.tags
    return out


def get_user(conn: Connection, account: str, name: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_users).where(t.iam_users.c.account_id == account, t.iam_users.c.name_key == name.lower())
    ).first()
    if row is None:
        raise NoSuchEntityException(f"The user with name {name} cannot be found.")
    return row


def caller_name(ctx: RequestContext, params: Params) -> str | None:
    """UserName, or without it the calling IAM user's name (None for the root and sessions)."""
    if params.get("UserName"):
        return str(params["UserName"])
    p = ctx.principal
    if p is not None and p.kind is PrincipalKind.USER:
        return p.arn.rsplit("/", 1)[-1]
    return None


def has_login_profile(conn: Connection, acct: str, user_key: str) -> bool:
    lp = t.iam_login_profiles.c
    return conn.execute(select(lp.user_key).where(lp.account_id == acct, lp.user_key == user_key)).first() is not None


def has_service_credentials(conn: Connection, account: str, user_key: str) -> bool:
    """Whether a user holds service-specific credentials (DeleteUser refuses while it does)."""
    c = t.iam_service_specific_credentials.c
    found = conn.execute(
        select(c.credential_id).where(c.account_id == account, c.user_key == user_key).limit(1)
    ).first()
    return found is not None
