"""Tags on user pools: TagResource, UntagResource, ListTagsForResource, and the UserPoolTags
member of CreateUserPool / UpdateUserPool / DescribeUserPool, which are the same tags."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools.errors import InvalidParameterException, ResourceNotFoundException

MAX_TAGS = 50


_READ = select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == bindparam("arn"))


def read(conn: Connection, arn: str) -> dict[str, str]:
    rows = conn.execute(_READ, {"arn": arn}).all()
    return {r.key: r.value for r in rows}


def write(conn: Connection, arn: str, account: str, new: dict[str, str]) -> None:
    """Add or overwrite tags (at most MAX_TAGS in all)."""
    current = read(conn, arn)
    merged = {**current, **new}
    if len(merged) > MAX_TAGS:
        raise InvalidParameterException(f"A resource can have at most {MAX_TAGS} tags.")
    if new:
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(new))))
        conn.execute(
            insert(t.tags),
            [{"resource_arn": arn, "key": k, "value": v, "account_id": account} for k, v in new.items()],
        )


def replace(conn: Connection, arn: str, account: str, new: dict[str, str]) -> None:
    conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))
    write(conn, arn, account, new)


def _pool_arn(conn: Connection, ctx: RequestContext, arn: str) -> str:
    """The ARN must name an existing user pool of the caller's account and region."""
    parts = arn.split(":", 5)
    pool_id = parts[5].removeprefix("userpool/") if len(parts) == 6 and parts[5].startswith("userpool/") else ""
    ok = len(parts) == 6 and parts[2] == "cognito-idp" and parts[3] == ctx.region and parts[4] == ctx.account_id
    row = conn.execute(select(t.user_pools.c.account_id).where(t.user_pools.c.id == pool_id)).first() if ok else None
    if row is None or row.account_id != ctx.account_id:
        raise ResourceNotFoundException(f"Resource {arn} not found.")
    return arn


@operation("cognito-idp", "TagResource")
def tag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        arn = _pool_arn(conn, ctx, params["ResourceArn"])
        write(conn, arn, ctx.account_id, dict(params["Tags"]))
    return {}


@operation("cognito-idp", "UntagResource")
def untag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        arn = _pool_arn(conn, ctx, params["ResourceArn"])
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(params["TagKeys"]))))
    return {}


@operation("cognito-idp", "ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        arn = _pool_arn(conn, ctx, params["ResourceArn"])
        return {"Tags": read(conn, arn)}
