"""Tags of IAM Identity Center's resources (sso-admin): TagResource, UntagResource,
ListTagsForResource, for instances, permission sets, applications and trusted token issuers (the
shared ``tags`` table).

A resource is the caller's when its instance is: another account's resource, or an ARN that names
nothing, is not found. AWS's quota is 50 tags per resource; a key given again replaces its value.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.ssoadmin.errors import ResourceNotFoundException, ServiceQuotaExceededException, ValidationException
from ostiary.store import tables as t

MAX_TAGS = 50


def _owner(conn: Connection, arn: str) -> str | None:
    """The account that owns the instance, permission set, application or trusted token issuer ``arn``
    (None: no such)."""
    resource = arn.split(":", 5)[-1]
    if resource.startswith("instance/"):
        query = select(t.sso_instances.c.account_id).where(t.sso_instances.c.instance_arn == arn)
    elif resource.startswith("permissionSet/"):
        query = (
            select(t.sso_instances.c.account_id)
            .select_from(
                t.sso_permission_sets.join(
                    t.sso_instances, t.sso_instances.c.instance_arn == t.sso_permission_sets.c.instance_arn
                )
            )
            .where(t.sso_permission_sets.c.permission_set_arn == arn)
        )
    elif resource.startswith("application/"):
        query = select(t.sso_applications.c.account_id).where(t.sso_applications.c.application_arn == arn)
    elif resource.startswith("trustedTokenIssuer/"):
        c = t.sso_trusted_token_issuers.c
        query = select(c.account_id).where(c.issuer_arn == arn)
    else:
        return None
    found = conn.execute(query).first()
    return None if found is None else str(found.account_id)


def _resource(conn: Connection, ctx: RequestContext, arn: str) -> str:
    if _owner(conn, arn) != ctx.account_id:
        raise ResourceNotFoundException(f"Resource {arn} does not exist.")
    return arn


@operation("sso-admin", "TagResource", resource=lambda ctx, p: str(p["ResourceArn"]))
def tag_resource(ctx: RequestContext, params: Params) -> Result:
    tags = list(params["Tags"])
    if len({tag["Key"] for tag in tags}) != len(tags):
        raise ValidationException("Duplicate tag keys are not allowed.")
    with ctx.store.tx() as conn:
        arn = _resource(conn, ctx, params["ResourceArn"])
        current = set(conn.execute(select(t.tags.c.key).where(t.tags.c.resource_arn == arn)).scalars())
        if len(current | {tag["Key"] for tag in tags}) > MAX_TAGS:
            raise ServiceQuotaExceededException(f"A resource can have at most {MAX_TAGS} tags.")
        for tag in tags:
            if tag["Key"] in current:
                conn.execute(
                    update(t.tags)
                    .where(t.tags.c.resource_arn == arn, t.tags.c.key == tag["Key"])
                    .values(value=tag["Value"])
                )
            else:
                conn.execute(
                    insert(t.tags).values(
                        resource_arn=arn, account_id=ctx.account_id, key=tag["Key"], value=tag["Value"]
                    )
                )
    return {}


@operation("sso-admin", "UntagResource", resource=lambda ctx, p: str(p["ResourceArn"]))
def untag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        arn = _resource(conn, ctx, params["ResourceArn"])
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(params["TagKeys"]))))
    return {}


@operation("sso-admin", "ListTagsForResource", resource=lambda ctx, p: str(p["ResourceArn"]))
def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        arn = _resource(conn, ctx, params["ResourceArn"])
        query = select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == arn)
        if after:
            query = query.where(t.tags.c.key > str(after[0]))
        rows = conn.execute(query.order_by(t.tags.c.key).limit(MAX_TAGS + 1)).all()
    out: dict[str, Any] = {"Tags": [{"Key": r.key, "Value": r.value} for r in rows[:MAX_TAGS]]}
    if len(rows) > MAX_TAGS:
        out["NextToken"] = paging.encode([rows[MAX_TAGS - 1].key])
    return out
