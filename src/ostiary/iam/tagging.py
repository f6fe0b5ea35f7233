"""Tags of IAM users and roles (IAM API Reference): TagUser, UntagUser, ListUserTags, TagRole,
UntagRole, ListRoleTags. Tags become ``aws:PrincipalTag/<key>`` of the user's and the role's
sessions (access/authz.py). At most 50 tags an entity; keys are unique regardless of case: a request
naming a key twice is refused on every create and tag path (``check_unique``), a key tagged again
in another case replaces the earlier one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, update

from ostiary.iam.errors import InvalidInputException, LimitExceededException, NoSuchEntityException
from ostiary.iam.paging import page
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

MAX_TAGS = 50


DUPLICATE_KEYS = "Duplicate tag keys found. Please note that Tag keys are case insensitive."


def check_unique(tags: list[dict[str, str]]) -> None:
    """A request's tags name each key once, regardless of case (IAM: InvalidInput)."""
    keys = [tag["Key"].lower() for tag in tags]
    if len(set(keys)) != len(keys):
        raise InvalidInputException(DUPLICATE_KEYS)


def merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """``current`` with ``new`` added or replacing same-key tags (keys compared case-insensitively;
    ``new`` naming a key twice is refused)."""
    check_unique(new)
    merged = {tag["Key"].lower(): tag for tag in current}
    for tag in new:
        merged[tag["Key"].lower()] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
    if len(merged) > MAX_TAGS:
        raise LimitExceededException(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return list(merged.values())


def _row(ctx: RequestContext, conn: Any, table: Table, kind: str, name: str) -> Any:
    row = conn.execute(
        select(table.c.name_key, table.c.tags).where(
            table.c.account_id == ctx.account_id, table.c.name_key == name.lower()
        )
    ).first()
    if row is None:
        raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
    return row


def _tag(ctx: RequestContext, table: Table, kind: str, name: str, tags: list[dict[str, str]]) -> None:
    with ctx.store.tx() as conn:
        row = _row(ctx, conn, table, kind, name)
        conn.execute(
            update(table)
            .where(table.c.account_id == ctx.account_id, table.c.name_key == row.name_key)
            .values(tags=merge_tags(list(row.tags or []), tags))
        )


def _untag(ctx: RequestContext, table: Table, kind: str, name: str, keys: list[str]) -> None:
    drop = {k.lower() for k in keys}
    with ctx.store.tx() as conn:
        row = _row(ctx, conn, table, kind, name)
        conn.execute(
            update(table)
            .where(table.c.account_id == ctx.account_id, table.c.name_key == row.name_key)
            .values(tags=[tag for tag in (row.tags or []) if tag["Key"].lower() not in drop])
        )


def _list(ctx: RequestContext, table: Table, kind: str, name: str, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _row(ctx, conn, table, kind, name)
    chunk, extra = page(list(row.tags or []), params)
    return {"Tags": chunk, **extra}


def _user(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:user/{params.get('UserName', '*')}"


def _role(ctx: RequestContext, params: Params) -> str:
    return f"arn:aws:iam::{ctx.account_id}:role/{params.get('RoleName', '*')}"


@operation("iam", "TagUser", resource=_user)
def tag_user(ctx: RequestContext, params: Params) -> Result:
    _tag(ctx, t.iam_users, "user", params["UserName"], params["Tags"])
    return None


@operation("iam", "UntagUser", resource=_user)
def untag_user(ctx: RequestContext, params: Params) -> Result:
    _untag(ctx, t.iam_users, "user", params["UserName"], params["TagKeys"])
    return None


@operation("iam", "ListUserTags", resource=_user)
def list_user_tags(ctx: RequestContext, params: Params) -> Result:
    return _list(ctx, t.iam_users, "user", params["UserName"], params)


@operation("iam", "TagRole", resource=_role)
def tag_role(ctx: RequestContext, params: Params) -> Result:
    _tag(ctx, t.iam_roles, "role", params["RoleName"], params["Tags"])
    return None


@operation("iam", "UntagRole", resource=_role)
def untag_role(ctx: RequestContext, params: Params) -> Result:
    _untag(ctx, t.iam_roles, "role", params["RoleName"], params["TagKeys"])
    return None


@operation("iam", "ListRoleTags", resource=_role)
def list_role_tags(ctx: RequestContext, params: Params) -> Result:
    return _list(ctx, t.iam_roles, "role", params["RoleName"], params)
