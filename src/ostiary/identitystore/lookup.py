"""Ids by alternate identifiers: GetUserId (``userName``, ``emails.value``, or an ExternalId),
GetGroupId (``displayName`` or an ExternalId), GetGroupMembershipId."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ostiary.identitystore import directory, records, stores
from ostiary.identitystore.memberships import member_user
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin.errors import ResourceNotFoundException, ValidationException
from ostiary.store import tables as t


def _unique_value(attr: dict[str, Any]) -> tuple[str, str]:
    path = str(attr["AttributePath"])
    value = attr.get("AttributeValue")
    if value is None or value == "":
        raise ValidationException("attribute value cannot be empty or null for attribute path")
    if not isinstance(value, str):
        raise ValidationException(f"The attribute value for {path} must be a string")
    return path, value


def _by_external_id(conn: Connection, store_id: str, kind: str, alternate: dict[str, Any]) -> str | None:
    ext = alternate["ExternalId"]
    return records.by_external_id(conn, store_id, kind, str(ext["Issuer"]), str(ext["Id"]))


def _alternate(params: Params) -> dict[str, Any]:
    alternate: dict[str, Any] = params["AlternateIdentifier"]
    if len(alternate) != 1:
        raise ValidationException("AlternateIdentifier must have exactly one of ExternalId, UniqueAttribute")
    return alternate


@operation("identitystore", "GetUserId", resource=stores.resource)
def get_user_id(ctx: RequestContext, params: Params) -> Result:
    alternate = _alternate(params)
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        if "ExternalId" in alternate:
            user_id = _by_external_id(conn, store_id, records.USER, alternate)
        else:
            path, value = _unique_value(alternate["UniqueAttribute"])
            if path.casefold() == "username":
                row = directory.user_by_name(conn, store_id, value)
                user_id = row["user_id"] if row else None
            elif path.casefold() == "emails.value":
                u = t.identitystore_users
                user_id = conn.execute(
                    select(u.c.user_id)
                    .where(u.c.identity_store_id == store_id, u.c.email_key == value.casefold())
                    .order_by(u.c.created_at, u.c.user_id)
                    .limit(1)
                ).scalar()
            else:
                raise ValidationException(f"The attribute {path} is not a unique attribute")
    if not user_id:
        raise ResourceNotFoundException("USER not found.", ResourceType="USER")
    return {"IdentityStoreId": store_id, "UserId": user_id, "UserArn": records.user_arn(user_id)}


@operation("identitystore", "GetGroupId", resource=stores.resource)
def get_group_id(ctx: RequestContext, params: Params) -> Result:
    alternate = _alternate(params)
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        if "ExternalId" in alternate:
            group_id = _by_external_id(conn, store_id, records.GROUP, alternate)
        else:
            path, value = _unique_value(alternate["UniqueAttribute"])
            if path.casefold() != "displayname":
                raise ValidationException(f"The attribute {path} is not a unique attribute")
            row = records.group_by_name(conn, store_id, value)
            group_id = row["group_id"] if row else None
    if not group_id:
        raise ResourceNotFoundException("GROUP not found.", ResourceType="GROUP")
    return {"IdentityStoreId": store_id, "GroupId": group_id, "GroupArn": records.group_arn(group_id)}


@operation("identitystore", "GetGroupMembershipId", resource=stores.resource)
def get_group_membership_id(ctx: RequestContext, params: Params) -> Result:
    group_id = params["GroupId"].rpartition("/")[2]
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.membership_of(conn, store_id, group_id, member_user(params))
    if row is None:
        raise ResourceNotFoundException("GROUP_MEMBERSHIP not found.", ResourceType="GROUP_MEMBERSHIP")
    return {
        "IdentityStoreId": store_id,
        "MembershipId": row["membership_id"],
        "MembershipArn": records.membership_arn(row["membership_id"]),
    }
