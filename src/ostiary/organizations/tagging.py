"""Tags of an organization's resources: TagResource, UntagResource, ListTagsForResource (AWS
Organizations API Reference). A resource is a member account, the root, an OU, a customer managed
policy or the resource policy, named by its id; tags are kept in ``tags`` by the resource's ARN. AWS allows 50 tags a
resource."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ostiary.organizations import structure as s
from ostiary.organizations.errors import ConstraintViolationException, InvalidInputException, TargetNotFoundException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

MAX_TAGS = 50
TARGET_NOT_FOUND = "We can't find a root, OU, account, or policy with the TargetId that you specified."


def resource_arn(conn: Connection, org: s.Org, resource_id: str) -> str:
    """The ARN of a taggable resource of ``org`` by its id; TargetNotFoundException otherwise."""
    if resource_id.startswith("p-"):
        row = conn.execute(
            select(t.org_policies.c.policy_type).where(
                t.org_policies.c.policy_id == resource_id, t.org_policies.c.org_id == org.org_id
            )
        ).first()
        if row is None:
            raise TargetNotFoundException(TARGET_NOT_FOUND)
        return s.policy_arn(org.mgmt, org.org_id, row.policy_type, resource_id)
    if resource_id.startswith("rp-"):
        rp = t.org_resource_policies.c
        found = conn.execute(select(rp.policy_id).where(rp.policy_id == resource_id, rp.org_id == org.org_id)).first()
        if found is None:
            raise TargetNotFoundException(TARGET_NOT_FOUND)
        return s.arn_of_id(org, resource_id)
    kind = s.node_kind(conn, org, resource_id)
    if kind is None:
        raise TargetNotFoundException(TARGET_NOT_FOUND)
    return s.node_arn(org, kind, resource_id)


def write(conn: Connection, org: s.Org, arn: str, tags: list[dict[str, Any]]) -> None:
    """Add or overwrite ``tags`` on the resource ``arn`` (at most 50 in all)."""
    keys = [str(tag["Key"]) for tag in tags]
    if len(set(keys)) != len(keys):
        raise InvalidInputException("You provided a duplicate tag key.", Reason="DUPLICATE_TAG_KEY")
    if any(key.lower().startswith("aws:") for key in keys):
        raise InvalidInputException(
            "You can't use the aws: prefix in a tag key.", Reason="INVALID_SYSTEM_TAGS_PARAMETER"
        )
    tt = t.tags.c
    existing = set(conn.execute(select(tt.key).where(tt.resource_arn == arn)).scalars())
    if len(existing | set(keys)) > MAX_TAGS:
        raise ConstraintViolationException(
            "You have exceeded the allowed number of tags for a resource.", Reason="MAX_TAG_LIMIT_EXCEEDED"
        )
    for tag in tags:
        key, value = str(tag["Key"]), str(tag.get("Value", ""))
        if key in existing:
            conn.execute(update(t.tags).where(tt.resource_arn == arn, tt.key == key).values(value=value))
        else:
            conn.execute(insert(t.tags).values(resource_arn=arn, key=key, value=value, account_id=org.mgmt))


def drop(conn: Connection, arn: str) -> None:
    """Forget a deleted (or departed) resource's tags."""
    conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))


def count(conn: Connection, arn: str) -> int:
    return int(conn.execute(select(func.count()).where(t.tags.c.resource_arn == arn)).scalar() or 0)


@operation("organizations", "TagResource", resource=s.resource("ResourceId"))
def tag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.member(conn, ctx)
        s.manage(conn, ctx, org, (s.arn_of(conn, org, params["ResourceId"]),))
        arn = resource_arn(conn, org, params["ResourceId"])
        write(conn, org, arn, params["Tags"])
    return {}


@operation("organizations", "UntagResource", resource=s.resource("ResourceId"))
def untag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.member(conn, ctx)
        s.manage(conn, ctx, org, (s.arn_of(conn, org, params["ResourceId"]),))
        arn = resource_arn(conn, org, params["ResourceId"])
        keys = [str(k) for k in params["TagKeys"]]
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(keys)))
    return {}


@operation("organizations", "ListTagsForResource", resource=s.resource("ResourceId"))
def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx, params["ResourceId"])
        arn = resource_arn(conn, org, params["ResourceId"])
        rows = conn.execute(
            select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == arn).order_by(t.tags.c.key)
        ).all()
    chunk, token = s.page([{"Key": r.key, "Value": r.value} for r in rows], params, lambda tag: str(tag["Key"]))
    return s.paged({}, "Tags", chunk, token)
