"""Provisioned request-rate limits: GetProvisionedLimit, UpdateProvisionedLimit, and their enforcement
(docs/limits.md).

AWS's rates are per account and Region, per category (``quota_categories``), shared by every user
pool there. A category's limit is its default (free) rate unless UpdateProvisionedLimit raised it; only
adjustable categories can be raised, to a value between the default and the account's maximum (AWS's
Service Quotas ceiling; here the setting ``provisioned_limit_max_factor`` times the default).

Enforcement is off unless the setting ``provisioned_limits`` is on; then ``enforce`` runs before
every cognito-idp operation the dispatcher invokes (app.py hands it in; nothing runs when off). Each
request counts in a fixed one-second window per account, Region and category, in the shared
``counters`` table with one atomic upsert (store/windows.py), so every worker and every node on one
database counts the same requests. A request over its limit is answered as Cognito answers it:
``TooManyRequestsException`` ("Rate exceeded", HTTP 400), before the operation runs. The window
counts every attempt, throttled ones included.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, select

from ostiary.caching import TtlCache
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store import windows
from ostiary.store.upserts import insert_ignore
from ostiary.userpools import quota_categories as qc
from ostiary.userpools.errors import (
    InvalidParameterException,
    ServiceQuotaExceededException,
    TooManyRequestsException,
)
from ostiary.userpools.lookup import client_by_id, pool_by_id

LIMIT_CLASS = "API_CATEGORY"
RATE_EXCEEDED = "Rate exceeded"

# (account, region) → {category: provisioned RPS} of the categories UpdateProvisionedLimit raised
_provisioned: TtlCache[tuple[str, str], dict[str, int]] = TtlCache("provisioned_limits", ttl=5)


def _category(definition: dict[str, Any]) -> qc.Category:
    attributes = definition.get("Attributes") or {}
    name = attributes.get("Category")
    if set(attributes) != {"Category"} or name not in qc.CATEGORIES:
        raise InvalidParameterException(
            "LimitDefinition.Attributes must name one Category: one of " + ", ".join(qc.CATEGORIES) + "."
        )
    return qc.CATEGORIES[name]


def _raised(conn: Connection, account: str, region: str) -> dict[str, int]:
    def load() -> dict[str, int]:
        c = t.provisioned_limits.c
        rows = conn.execute(select(c.category, c.value).where(c.account_id == account, c.region == region))
        return {row.category: int(row.value) for row in rows}

    return _provisioned.get_or_load((account, region), load)


def _limit(category: qc.Category, value: int) -> dict[str, Any]:
    return {
        "Limit": {
            "LimitDefinition": {"LimitClass": LIMIT_CLASS, "Attributes": {"Category": category.name}},
            "ProvisionedLimitValue": value,
            "FreeLimitValue": category.default_rps,
        }
    }


@operation("cognito-idp", "GetProvisionedLimit")
def get_provisioned_limit(ctx: RequestContext, params: Params) -> Result:
    category = _category(params["LimitDefinition"])
    with ctx.store.read() as conn:
        value = _raised(conn, ctx.account_id, ctx.region).get(category.name, category.default_rps)
    return _limit(category, value)


@operation("cognito-idp", "UpdateProvisionedLimit")
def update_provisioned_limit(ctx: RequestContext, params: Params) -> Result:
    category = _category(params["LimitDefinition"])
    requested = int(params["RequestedLimitValue"])
    if not category.adjustable:
        raise InvalidParameterException(f"The {category.name} category is not adjustable.")
    ceiling = category.default_rps * max(1, ctx.runtime.settings.provisioned_limit_max_factor)
    if requested < category.default_rps:
        raise InvalidParameterException(
            f"RequestedLimitValue must be at least the default limit of {category.name}, {category.default_rps}."
        )
    if requested > ceiling:
        raise ServiceQuotaExceededException(
            f"RequestedLimitValue {requested} exceeds the account-level maximum limit of {category.name}, {ceiling}."
        )
    key = {"account_id": ctx.account_id, "region": ctx.region, "category": category.name}
    with ctx.store.tx() as conn:
        c = t.provisioned_limits.c
        insert_ignore(conn, t.provisioned_limits, list(key), [{**key, "value": requested, "updated_at": ctx.now}])
        conn.execute(
            t.provisioned_limits.update()
            .where(c.account_id == key["account_id"], c.region == key["region"], c.category == key["category"])
            .values(value=requested, updated_at=ctx.now)
        )
    _provisioned.pop((ctx.account_id, ctx.region))
    return _limit(category, requested)


# -- enforcement ------------------------------------------------------------------------------------


def _token_client(token: object) -> str | None:
    """The ``client_id`` claim of an access token, unverified: only to find whose rate the request
    counts against (the operation verifies the token itself)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        return None
    body = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        return None
    client = claims.get("client_id") if isinstance(claims, dict) else None
    return client if isinstance(client, str) and 0 < len(client) <= 128 else None


def _owner(ctx: RequestContext, conn: Connection, params: Params) -> tuple[str, str | None] | None:
    """The account a request counts against and the user pool it names, if any."""
    pool_id = params.get("UserPoolId") if isinstance(params.get("UserPoolId"), str) else None
    if ctx.principal is not None:
        return ctx.principal.account_id, pool_id
    client_id = params.get("ClientId")
    if not isinstance(client_id, str):
        client_id = _token_client(params.get("AccessToken"))
    client = client_by_id(conn, ctx.runtime.box, client_id) if client_id else None
    pool = pool_by_id(conn, client.pool_id) if client is not None else None
    if pool is None:
        return None  # nothing to count against: the operation answers its own error
    return pool.account_id, pool.id


def enforce(ctx: RequestContext, params: Params) -> None:
    """Count this request against its category's rate; TooManyRequestsException when over it."""
    if ctx.service != "cognito-idp":
        return
    name = qc.OPERATIONS.get(ctx.operation)
    if name is None:
        return
    category = qc.CATEGORIES[name]
    store = ctx.runtime.store
    with store.read() as conn:
        owner = _owner(ctx, conn, params)
        if owner is None:
            return
        account, pool_id = owner
        limit = _raised(conn, account, ctx.region).get(name, category.default_rps)
    window = window_start(ctx.now)
    base = f"rate:{account}:{ctx.region}:"
    over = False
    with store.tx() as conn:
        windows.relax_durability(conn)
        counted = True
        if ctx.operation in qc.CHALLENGE_OPERATIONS:
            # their own bucket of 3x the category first; beyond it, they count against the category
            counted = windows.count(conn, base + "challenges", window) > qc.CHALLENGE_FACTOR * limit
        if counted:
            over = windows.count(conn, base + name, window) > limit
        if name in qc.PER_POOL_OPERATION and pool_id is not None:
            key = f"rate-pool:{pool_id}:{ctx.operation}"
            over = windows.count(conn, key, window) > qc.PER_POOL_OPERATION_RPS or over
    if over:
        raise TooManyRequestsException(RATE_EXCEEDED)


def window_start(now: dt.datetime) -> dt.datetime:
    """The one-second window ``now`` falls in."""
    return now.replace(microsecond=0)
