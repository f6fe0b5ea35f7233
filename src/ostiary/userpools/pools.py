"""User pool lifecycle: CreateUserPool, DescribeUserPool, UpdateUserPool, DeleteUserPool,
ListUserPools, AddCustomAttributes (Cognito API Reference).

The pool's configuration is stored as the UserPoolType document (minus identity and timestamps).
UpdateUserPool follows AWS's documented behaviour: every updatable setting that the request
omits returns to its default.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import string
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.engine import Row

from ostiary.caching import TtlCache
from ostiary.crypto.keys import create_keys
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import domains, paging, pool_state, schema, tags
from ostiary.userpools.errors import InvalidParameterException, ResourceNotFoundException
from ostiary.userpools.lookup import forget_views
from ostiary.userpools.passwords import DEFAULT_POLICY

_ID_ALPHABET = string.ascii_letters + string.digits

# Settings UpdateUserPool may change; omitted ones return to these defaults.
UPDATABLE_DEFAULTS: dict[str, Any] = {
    "Policies": {"PasswordPolicy": dict(DEFAULT_POLICY), "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]}},
    "DeletionProtection": "INACTIVE",
    "LambdaConfig": {},
    "AutoVerifiedAttributes": None,
    "SmsVerificationMessage": None,
    "EmailVerificationMessage": None,
    "EmailVerificationSubject": None,
    "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"},
    "SmsAuthenticationMessage": None,
    "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": []},
    "MfaConfiguration": "OFF",
    "DeviceConfiguration": None,
    "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
    "SmsConfiguration": None,
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7},
    "UserPoolAddOns": None,
    "AccountRecoverySetting": None,
    "UserPoolTier": "ESSENTIALS",
    "KeyConfiguration": None,
    "IssuerConfiguration": None,
    "AcrConfiguration": None,
    "DcrConfiguration": None,
}
# Set at creation only.
CREATE_ONLY = ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration")


def pool_arn(region: str, account: str, pool_id: str) -> str:
    return f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool_id}"


def new_pool_id(region: str) -> str:
    return f"{region}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


def _merge_policies(given: dict[str, Any] | None) -> dict[str, Any]:
    policies: dict[str, Any] = copy.deepcopy(UPDATABLE_DEFAULTS["Policies"])
    if given:
        if "PasswordPolicy" in given:
            pw = dict(given["PasswordPolicy"])
            pw.setdefault("TemporaryPasswordValidityDays", 7)
            for flag in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"):
                pw.setdefault(flag, False)
            pw.setdefault("MinimumLength", 8)
            policies["PasswordPolicy"] = pw
        if "SignInPolicy" in given:
            factors = list((given["SignInPolicy"] or {}).get("AllowedFirstAuthFactors") or ["PASSWORD"])
            if "PASSWORD" not in factors:
                raise InvalidParameterException("AllowedFirstAuthFactors must include PASSWORD.")
            if "SOFTWARE_TOKEN" in factors:
                raise InvalidParameterException("SOFTWARE_TOKEN is not supported as a first authentication factor.")
            policies["SignInPolicy"] = {"AllowedFirstAuthFactors": list(dict.fromkeys(factors))}
    return policies


def _settings(params: Params, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The stored configuration for a Create (previous=None) or an Update request."""
    cfg: dict[str, Any] = {}
    for key, default in UPDATABLE_DEFAULTS.items():
        value = params.get(key)
        if value is None:
            value = copy.deepcopy(default)
        if value is not None:
            cfg[key] = value
    cfg["Policies"] = _merge_policies(params.get("Policies"))
    if previous is not None:
        for key in CREATE_ONLY:
            if key in previous:
                cfg[key] = previous[key]
        cfg["SchemaAttributes"] = previous["SchemaAttributes"]
        for key in ("MfaSettings",):
            if key in previous:
                cfg[key] = previous[key]
    else:
        for key in CREATE_ONLY:
            if params.get(key) is not None:
                cfg[key] = params[key]
        cfg["SchemaAttributes"] = schema.build_schema(params.get("Schema"))
    _sync_messages(cfg)
    _check(cfg)
    acuc = dict(cfg.get("AdminCreateUserConfig") or {})
    acuc.setdefault("AllowAdminCreateUserOnly", False)
    acuc.setdefault(
        "UnusedAccountValidityDays", cfg["Policies"]["PasswordPolicy"].get("TemporaryPasswordValidityDays", 7)
    )
    cfg["AdminCreateUserConfig"] = acuc
    return cfg


def _sync_messages(cfg: dict[str, Any]) -> None:
    """Keep the legacy message fields and VerificationMessageTemplate consistent, as AWS does."""
    vmt = dict(cfg.get("VerificationMessageTemplate") or {})
    vmt.setdefault("DefaultEmailOption", "CONFIRM_WITH_CODE")
    pairs = (
        ("EmailVerificationMessage", "EmailMessage"),
        ("EmailVerificationSubject", "EmailSubject"),
        ("SmsVerificationMessage", "SmsMessage"),
    )
    for legacy, field in pairs:
        if cfg.get(legacy) and not vmt.get(field):
            vmt[field] = cfg[legacy]
        elif vmt.get(field) and not cfg.get(legacy):
            cfg[legacy] = vmt[field]
        elif cfg.get(legacy) and vmt.get(field) and cfg[legacy] != vmt[field]:
            raise InvalidParameterException(f"{legacy} and VerificationMessageTemplate.{field} must be the same.")
    cfg["VerificationMessageTemplate"] = vmt


def _check(cfg: dict[str, Any]) -> None:
    if cfg.get("UsernameAttributes") and cfg.get("AliasAttributes"):
        raise InvalidParameterException(
            "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool."
        )
    vmt = cfg["VerificationMessageTemplate"]
    link = vmt.get("EmailMessageByLink")
    if vmt.get("DefaultEmailOption") == "CONFIRM_WITH_LINK" and link and "{##" not in link:
        raise InvalidParameterException("EmailMessageByLink must contain {##Verify Email##}.")
    if cfg.get("MfaConfiguration") in ("ON", "OPTIONAL"):
        mfa = cfg.get("MfaSettings") or {}
        enabled = bool(cfg.get("SmsConfiguration")) or bool(mfa.get("SoftwareTokenMfaConfiguration", {}).get("Enabled"))
        enabled = enabled or bool(mfa.get("EmailMfaConfiguration"))
        if not enabled:
            raise InvalidParameterException(
                "SMS configuration and SMS authentication message are required when MFA is enabled, or enable "
                "software token MFA with SetUserPoolMfaConfig."
            )
    keep = (cfg.get("UserAttributeUpdateSettings") or {}).get("AttributesRequireVerificationBeforeUpdate") or []
    for name in keep:
        if name not in (cfg.get("AutoVerifiedAttributes") or []):
            raise InvalidParameterException(
                f"AttributesRequireVerificationBeforeUpdate: {name} must also be in AutoVerifiedAttributes."
            )
    pw = cfg["Policies"]["PasswordPolicy"]
    if not 6 <= int(pw.get("MinimumLength", 8)) <= 99:
        raise InvalidParameterException("Password minimum length must be between 6 and 99.")


# --------------------------------------------------------------------------------------------


_SELECT_POOL = select(t.user_pools).where(t.user_pools.c.id == bindparam("pool_id"))
_COUNT_USERS = select(func.count()).select_from(t.users).where(t.users.c.user_pool_id == bindparam("pool_id"))
_counts: TtlCache[str, int] = TtlCache("user_counts", ttl=30)  # cache_user_count_seconds


def estimated_users(conn: Connection, pool_id: str) -> int:
    """EstimatedNumberOfUsers: a count refreshed at most every 30 s per process (AWS calls it an estimate)."""
    return _counts.get_or_load(pool_id, lambda: int(conn.execute(_COUNT_USERS, {"pool_id": pool_id}).scalar() or 0))


def _row(conn: Connection, ctx: RequestContext, pool_id: str) -> Row[Any]:
    row = conn.execute(_SELECT_POOL, {"pool_id": pool_id}).first()
    if (
        row is None
        or row.account_id != ctx.account_id
        or (row.region != ctx.region and ctx.region not in pool_state.of(conn, pool_id, ctx.now).replicas)
    ):
        raise ResourceNotFoundException(f"User pool {pool_id} does not exist.")
    return row


def user_pool_type(conn: Connection, row: Row[Any]) -> dict[str, Any]:
    cfg = dict(row.config)
    cfg.pop("MfaSettings", None)
    out: dict[str, Any] = {
        "Id": row.id,
        "Name": row.name,
        **cfg,
        "LastModifiedDate": utc(row.updated_at),
        "CreationDate": utc(row.created_at),
        "EstimatedNumberOfUsers": estimated_users(conn, row.id),
        "Arn": pool_arn(row.region, row.account_id, row.id),
    }
    pool_tags = tags.read(conn, out["Arn"])
    if pool_tags:
        out["UserPoolTags"] = pool_tags
    # Domain (the prefix) and CustomDomain: see domains.py
    out.update(domains.pool_domain_fields(conn, row.id))
    return out


@operation("cognito-idp", "CreateUserPool")
def create_user_pool(ctx: RequestContext, params: Params) -> Result:
    cfg = _settings(params, None)
    now = ctx.now
    with ctx.store.tx() as conn:
        pool_id = new_pool_id(ctx.region)
        while conn.execute(select(t.user_pools.c.id).where(t.user_pools.c.id == pool_id)).first() is not None:
            pool_id = new_pool_id(ctx.region)
        conn.execute(
            insert(t.user_pools).values(
                id=pool_id,
                account_id=ctx.account_id,
                region=ctx.region,
                name=params["PoolName"],
                created_at=now,
                updated_at=now,
                config=cfg,
            )
        )
        create_keys(conn, ctx.box, pool_id)
        if params.get("UserPoolTags"):
            tags.write(conn, pool_arn(ctx.region, ctx.account_id, pool_id), ctx.account_id, params["UserPoolTags"])
        row = _row(conn, ctx, pool_id)
        return {"UserPool": user_pool_type(conn, row)}


@operation("cognito-idp", "DescribeUserPool")
def describe_user_pool(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _row(conn, ctx, params["UserPoolId"])
        out = user_pool_type(conn, row)
        if ctx.region != row.region:  # in a replica's Region (userpools/replicas.py): the replica's ARN and tags
            out["Arn"] = pool_arn(ctx.region, row.account_id, row.id)
            out.pop("UserPoolTags", None)
            replica_tags = tags.read(conn, out["Arn"])
            if replica_tags:
                out["UserPoolTags"] = replica_tags
        return {"UserPool": out}


@operation("cognito-idp", "UpdateUserPool")
def update_user_pool(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _row(conn, ctx, params["UserPoolId"])
        previous = dict(row.config)
        cfg = _settings(params, previous)
        values: dict[str, Any] = {"config": cfg, "updated_at": ctx.now}
        if params.get("PoolName"):
            values["name"] = params["PoolName"]
        conn.execute(update(t.user_pools).where(t.user_pools.c.id == row.id).values(**values))
        forget_views()
        if params.get("UserPoolTags") is not None:
            arn = pool_arn(row.region, row.account_id, row.id)
            tags.replace(conn, arn, row.account_id, params["UserPoolTags"])
    return {}


@operation("cognito-idp", "DeleteUserPool")
def delete_user_pool(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _row(conn, ctx, params["UserPoolId"])
        if row.config.get("DeletionProtection") == "ACTIVE":
            raise InvalidParameterException(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            )
        tags.replace(conn, pool_arn(row.region, row.account_id, row.id), row.account_id, {})
        conn.execute(delete(t.signing_keys).where(t.signing_keys.c.owner.in_([row.id, f"saml-sp:{row.id}"])))
        conn.execute(delete(t.user_pools).where(t.user_pools.c.id == row.id))
        forget_views()
    ctx.keys.forget(params["UserPoolId"])
    return None


@operation("cognito-idp", "ListUserPools")
def list_user_pools(ctx: RequestContext, params: Params) -> Result:
    limit = int(params["MaxResults"])
    after = paging.decode(params.get("NextToken"))
    p = t.user_pools.c
    with ctx.store.read() as conn:
        query = (
            select(t.user_pools)
            .where(p.account_id == ctx.account_id, p.region == ctx.region)
            .order_by(p.created_at, p.id)
            .limit(limit + 1)
        )
        if after:
            query = query.where(tuple_(p.created_at, p.id) > tuple_(dt.datetime.fromisoformat(after[0]), after[1]))
        rows = conn.execute(query).all()
    pools = [
        {
            "Id": r.id,
            "Name": r.name,
            "LambdaConfig": r.config.get("LambdaConfig") or {},
            "LastModifiedDate": utc(r.updated_at),
            "CreationDate": utc(r.created_at),
        }
        for r in rows[:limit]
    ]
    out: dict[str, Any] = {"UserPools": pools}
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([utc(last.created_at).isoformat(), last.id])
    return out


@operation("cognito-idp", "AddCustomAttributes")
def add_custom_attributes(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _row(conn, ctx, params["UserPoolId"])
        cfg = dict(row.config)
        cfg["SchemaAttributes"] = schema.add_custom(list(cfg["SchemaAttributes"]), params["CustomAttributes"])
        conn.execute(update(t.user_pools).where(t.user_pools.c.id == row.id).values(config=cfg, updated_at=ctx.now))
        forget_views()
    return {}
