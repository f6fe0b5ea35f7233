"""Group memberships: CreateGroupMembership, DescribeGroupMembership, DeleteGroupMembership,
ListGroupMemberships, ListGroupMembershipsForMember, IsMemberInGroups. A member is a user
(``MemberId.UserId``); Identity Center groups do not contain groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ostiary.audit import recorder as audit
from ostiary.identitystore import records, stores
from ostiary.identitystore.users import actor
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.store import tables as t


def member_user(params: Params) -> str:
    return str(params["MemberId"]["UserId"]).rpartition("/")[2]


@operation("identitystore", "CreateGroupMembership", resource=stores.resource)
def create_group_membership(ctx: RequestContext, params: Params) -> Result:
    group_id = params["GroupId"].rpartition("/")[2]
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        membership_id = records.add_member(conn, store_id, group_id, member_user(params), actor(ctx), ctx.now)
        audit.record(conn, ctx, params, resource=("AWS::IdentityStore::GroupMembership", membership_id))
    return {
        "IdentityStoreId": store_id,
        "MembershipId": membership_id,
        "MembershipArn": records.membership_arn(membership_id),
    }


@operation("identitystore", "DescribeGroupMembership", resource=stores.resource)
def describe_group_membership(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.membership(conn, store_id, params["MembershipId"].rpartition("/")[2])
    return records.membership_shape(row)


@operation("identitystore", "DeleteGroupMembership", resource=stores.resource)
def delete_group_membership(ctx: RequestContext, params: Params) -> Result:
    """A membership that does not exist is no error (AWS)."""
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        membership_id = params["MembershipId"].rpartition("/")[2]
        if records.remove_membership(conn, store_id, membership_id):
            audit.record(conn, ctx, params, resource=("AWS::IdentityStore::GroupMembership", membership_id))
    return {}


def _list(ctx: RequestContext, params: Params, column: str, value: str) -> Result:
    m = t.identitystore_memberships
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        if column == "group_id":
            records.get_group(conn, store_id, value)
        else:
            records.get_user(conn, store_id, value)
        query = select(m).where(m.c.identity_store_id == store_id, m.c[column] == value)
        if after:
            query = query.where(m.c.membership_id > str(after[0]))
        rows = conn.execute(query.order_by(m.c.membership_id).limit(limit + 1)).mappings().all()
    out: dict[str, Any] = {"GroupMemberships": [records.membership_shape(r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1]["membership_id"]])
    return out


@operation("identitystore", "ListGroupMemberships", resource=stores.resource)
def list_group_memberships(ctx: RequestContext, params: Params) -> Result:
    return _list(ctx, params, "group_id", params["GroupId"].rpartition("/")[2])


@operation("identitystore", "ListGroupMembershipsForMember", resource=stores.resource)
def list_group_memberships_for_member(ctx: RequestContext, params: Params) -> Result:
    return _list(ctx, params, "user_id", member_user(params))


@operation("identitystore", "IsMemberInGroups", resource=stores.resource)
def is_member_in_groups(ctx: RequestContext, params: Params) -> Result:
    """Whether the user is a member of each group (groups of the store that do not exist: false)."""
    m = t.identitystore_memberships
    user_id = member_user(params)
    group_ids = [str(g).rpartition("/")[2] for g in params["GroupIds"]]
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        records.get_user(conn, store_id, user_id)
        member_of = {
            r[0]
            for r in conn.execute(
                select(m.c.group_id).where(
                    m.c.identity_store_id == store_id, m.c.user_id == user_id, m.c.group_id.in_(group_ids)
                )
            )
        }
    return {
        "Results": [
            {"GroupId": g, "MemberId": {"UserId": user_id}, "MembershipExists": g in member_of} for g in group_ids
        ]
    }
