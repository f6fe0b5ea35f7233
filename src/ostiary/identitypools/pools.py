"""Identity pool lifecycle (Amazon Cognito Federated Identities API Reference): CreateIdentityPool,
DescribeIdentityPool, UpdateIdentityPool, DeleteIdentityPool, ListIdentityPools,
SetIdentityPoolRoles, GetIdentityPoolRoles, SetPrincipalTagAttributeMap,
GetPrincipalTagAttributeMap, TagResource, UntagResource, ListTagsForResource.

A pool's configuration is stored as its IdentityPool document (without id, name and tags); tags
share the ``tags`` table with user pools (keyed by the identity pool's ARN).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update

from ostiary.caching import TtlCache
from ostiary.config import Settings
from ostiary.identitypools import openid
from ostiary.identitypools.errors import (
    InvalidParameterException,
    ResourceNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import after_commit
from ostiary.store.raw import RawSelect
from ostiary.userpools import paging

# SupportedLoginProviders keys Cognito accepts (public providers).
PUBLIC_PROVIDERS = (
    "graph.facebook.com",
    "accounts.google.com",
    "www.amazon.com",
    "appleid.apple.com",
    "api.twitter.com",
    "www.digits.com",
)
USER_POOL_PROVIDER = re.compile(r"^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/(([a-z0-9-]+)_[0-9A-Za-z]+)$")
USER_POOL_ID = re.compile(r"^[a-z0-9-]+_[0-9A-Za-z]+$")
CONFIG_KEYS = (
    "AllowUnauthenticatedIdentities",
    "AllowClassicFlow",
    "SupportedLoginProviders",
    "DeveloperProviderName",
    "OpenIdConnectProviderARNs",
    "CognitoIdentityProviders",
    "SamlProviderARNs",
)
MAX_TAGS = 50
MAX_RULES = 25
# SetPrincipalTagAttributeMap UseDefaults (Cognito Developer Guide, "Using attributes for access
# control"): user pools, OIDC, Google and Apple map aud and sub; Facebook app_id and id; Amazon
# app_id and user_id; SAML the name identifier and name claims.
DEFAULT_TAG_MAPS: dict[str, dict[str, str]] = {
    "graph.facebook.com": {"client": "app_id", "username": "id"},
    "www.amazon.com": {"client": "app_id", "username": "user_id"},
    "saml": {
        "client": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
        "username": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    },
    "*": {"client": "aud", "username": "sub"},
}


def canonical_user_pool_provider(user_pool_id: str) -> str:
    """The one name a user pool provider is known by inside Ostiary (linked logins, ``amr``)."""
    return f"cognito-idp.{user_pool_id.split('_', 1)[0]}.amazonaws.com/{user_pool_id}"


def _without_scheme(url: str) -> str:
    return url.split("://", 1)[-1]


def issuer_names(settings: Settings, user_pool_id: str) -> set[str]:
    """A user pool's issuer as served, without its scheme, which is how Amplify names the provider
    in ``Logins``: ``<public URL host/path>/<poolId>`` and, with ``issuer_style = "aws"``, the
    cognito-idp name (both accepted whichever style is set)."""
    return {
        _without_scheme(settings.pool_issuer(user_pool_id)),
        _without_scheme(f"{settings.effective_public_url}/{user_pool_id}"),
    }


def user_pool_of(settings: Settings, name: str) -> str | None:
    """The user pool id a provider name designates: ``cognito-idp.<region>.amazonaws.com/<poolId>``
    or the pool's issuer as served without its scheme; None for any other name."""
    m = USER_POOL_PROVIDER.match(name)
    if m is not None:
        return m.group(2)
    _, sep, pool_id = name.rpartition("/")
    if sep and USER_POOL_ID.match(pool_id) and name in issuer_names(settings, pool_id):
        return pool_id
    return None


def canonical_provider(settings: Settings, name: str) -> str:
    """A provider name with user pool providers in their canonical (cognito-idp) form."""
    user_pool_id = user_pool_of(settings, name)
    return name if user_pool_id is None else canonical_user_pool_provider(user_pool_id)


def same_provider(settings: Settings, a: str, b: str) -> bool:
    return a == b or canonical_provider(settings, a) == canonical_provider(settings, b)


def default_tag_map(provider: str) -> dict[str, str]:
    if provider.startswith("arn:") and ":saml-provider/" in provider:
        return dict(DEFAULT_TAG_MAPS["saml"])
    return dict(DEFAULT_TAG_MAPS.get(provider, DEFAULT_TAG_MAPS["*"]))


def pool_arn(region: str, account: str, pool_id: str) -> str:
    return f"arn:aws:cognito-identity:{region}:{account}:identitypool/{pool_id}"


@dataclass(frozen=True)
class IdentityPool:
    """A stored identity pool."""

    id: str
    account_id: str
    region: str
    name: str
    config: dict[str, Any]
    roles: dict[str, str]
    role_mappings: dict[str, Any]
    tag_maps: dict[str, Any]

    @property
    def arn(self) -> str:
        return pool_arn(self.region, self.account_id, self.id)

    @property
    def allow_unauthenticated(self) -> bool:
        return bool(self.config.get("AllowUnauthenticatedIdentities"))

    @property
    def allow_classic_flow(self) -> bool:
        return bool(self.config.get("AllowClassicFlow"))

    @property
    def developer_provider(self) -> str | None:
        name = self.config.get("DeveloperProviderName")
        return str(name) if name else None

    def user_pool_clients(self, user_pool_id: str) -> dict[str, bool]:
        """{client id: ServerSideTokenCheck} configured for a user pool, whichever name the
        configuration gives it (both names end in ``/<poolId>``, checked when configured)."""
        return {
            str(p["ClientId"]): bool(p.get("ServerSideTokenCheck"))
            for p in self.config.get("CognitoIdentityProviders") or []
            if str(p.get("ProviderName") or "").rpartition("/")[2] == user_pool_id and p.get("ClientId")
        }

    def principal_tag_map(self, provider: str, *aliases: str) -> dict[str, str] | None:
        """{tag key: claim} for a provider (set under its name or one of its ``aliases``), or None
        when attributes for access control are off."""
        entry = next((self.tag_maps[n] for n in (provider, *aliases) if self.tag_maps.get(n)), None)
        if not entry:
            return None
        if entry.get("UseDefaults"):
            return default_tag_map(provider)
        return dict(entry.get("PrincipalTags") or {}) or None


_BY_ID = RawSelect(select(t.identity_pools).where(t.identity_pools.c.id == bindparam("pool_id")))  # store.raw


def load(conn: Connection, pool_id: str) -> IdentityPool | None:
    row = _BY_ID.first(conn, {"pool_id": pool_id})
    return None if row is None else from_row(row)


# GetId (unsigned, the busiest read) keeps pools for ``cache_pool_seconds`` (2 s), as user pools are
# kept (userpools/lookup.py): a change made through this process is seen at once (every write here
# calls ``forget`` once it commits), another process sees it within that time. Pools that do not
# exist are not kept (a new pool is never refused for the cache's sake). Read-modify-write paths
# (``for_caller``) and GetCredentialsForIdentity read the row itself.
_CACHE: TtlCache[str, IdentityPool] = TtlCache("identity_pools", ttl=2)


def load_cached(conn: Connection, pool_id: str) -> IdentityPool | None:
    found = _CACHE.get(pool_id)
    if found is None:
        found = load(conn, pool_id)
        if found is not None:
            _CACHE.set(pool_id, found)
    return found


def forget() -> None:
    """Drop the kept pools (after a write to one)."""
    _CACHE.clear()


def from_row(row: Any) -> IdentityPool:
    """An IdentityPool from a row holding the identity_pools columns."""
    return IdentityPool(
        id=row.id,
        account_id=row.account_id,
        region=row.region,
        name=row.name,
        config=dict(row.config),
        roles=dict(row.roles or {}),
        role_mappings=dict(row.role_mappings or {}),
        tag_maps=dict(row.tag_maps or {}),
    )


def not_found(pool_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"IdentityPool '{pool_id}' not found.")


def for_caller(conn: Connection, ctx: RequestContext, pool_id: str) -> IdentityPool:
    """The caller's identity pool (same account and region), else ResourceNotFoundException."""
    pool = load(conn, pool_id)
    if pool is None or pool.account_id != ctx.account_id or pool.region != ctx.region:
        raise not_found(pool_id)
    return pool


def _check_arns(conn: Connection, account: str, arns: list[str], table: Any, what: str) -> None:
    for arn in arns:
        row = conn.execute(select(table.c.account_id).where(table.c.arn == arn)).first()
        if row is None or row.account_id != account:
            raise InvalidParameterException(f"Invalid {what} ARN: {arn}")


def _config(conn: Connection, ctx: RequestContext, params: Params, previous: dict[str, Any] | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "AllowUnauthenticatedIdentities": bool(params["AllowUnauthenticatedIdentities"]),
        "AllowClassicFlow": bool(params.get("AllowClassicFlow", False)),
        "SupportedLoginProviders": dict(params.get("SupportedLoginProviders") or {}),
        "OpenIdConnectProviderARNs": list(params.get("OpenIdConnectProviderARNs") or []),
        "CognitoIdentityProviders": [],
        "SamlProviderARNs": list(params.get("SamlProviderARNs") or []),
    }
    for name in cfg["SupportedLoginProviders"]:
        if name not in PUBLIC_PROVIDERS:
            raise InvalidParameterException(f"Invalid login provider: {name}")
    seen: set[tuple[str, str]] = set()
    for p in params.get("CognitoIdentityProviders") or []:
        name, client = p.get("ProviderName"), p.get("ClientId")
        # cognito-idp.<region>.amazonaws.com/<poolId>, or the pool's issuer without its scheme (Amplify's name)
        user_pool_id = user_pool_of(ctx.settings, name) if name else None
        if not name or not client or user_pool_id is None:
            raise InvalidParameterException(f"Invalid Cognito Identity Provider: {name}")
        if (user_pool_id, client) in seen:
            raise InvalidParameterException(f"Duplicate Cognito Identity Provider: {name} {client}")
        seen.add((user_pool_id, client))
        cfg["CognitoIdentityProviders"].append(
            {"ProviderName": name, "ClientId": client, "ServerSideTokenCheck": bool(p.get("ServerSideTokenCheck"))}
        )
    _check_arns(conn, ctx.account_id, cfg["OpenIdConnectProviderARNs"], t.iam_oidc_providers, "OpenIdConnectProvider")
    _check_arns(conn, ctx.account_id, cfg["SamlProviderARNs"], t.iam_saml_providers, "SAML provider")
    developer = params.get("DeveloperProviderName")
    old_developer = (previous or {}).get("DeveloperProviderName")
    if old_developer and developer and developer != old_developer:
        raise InvalidParameterException("Developer provider name cannot be changed once set.")
    developer = developer or old_developer
    if developer:
        if developer in PUBLIC_PROVIDERS or developer.startswith("cognito-"):
            raise InvalidParameterException(f"Invalid DeveloperProviderName: {developer}")
        cfg["DeveloperProviderName"] = developer
    return cfg


def _tags(conn: Connection, arn: str) -> dict[str, str]:
    rows = conn.execute(select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == arn)).all()
    return {r.key: r.value for r in rows}


def _write_tags(conn: Connection, arn: str, account: str, new: dict[str, str], replace: bool = False) -> None:
    if replace:
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))
    merged = {**({} if replace else _tags(conn, arn)), **new}
    if len(merged) > MAX_TAGS:
        raise InvalidParameterException(f"An identity pool can have at most {MAX_TAGS} tags.")
    if new:
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(new))))
        conn.execute(
            insert(t.tags), [{"resource_arn": arn, "key": k, "value": v, "account_id": account} for k, v in new.items()]
        )


def describe(conn: Connection, pool: IdentityPool) -> dict[str, Any]:
    """The IdentityPool shape."""
    out: dict[str, Any] = {"IdentityPoolId": pool.id, "IdentityPoolName": pool.name}
    for key in CONFIG_KEYS:
        if key in pool.config:
            out[key] = pool.config[key]
    out["IdentityPoolTags"] = _tags(conn, pool.arn)
    return out


@operation("cognito-identity", "CreateIdentityPool")
def create_identity_pool(ctx: RequestContext, params: Params) -> Result:
    """CreateIdentityPool. The first pool of an install also creates the OpenID issuer's keys."""
    pool_id = f"{ctx.region}:{uuid.uuid4()}"
    with ctx.store.tx() as conn:
        cfg = _config(conn, ctx, params, None)
        conn.execute(
            insert(t.identity_pools).values(
                id=pool_id,
                account_id=ctx.account_id,
                region=ctx.region,
                name=params["IdentityPoolName"],
                config=cfg,
                roles={},
                role_mappings={},
                tag_maps={},
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        _write_tags(
            conn, pool_arn(ctx.region, ctx.account_id, pool_id), ctx.account_id, params.get("IdentityPoolTags") or {}
        )
        openid.ensure_keys(conn, ctx.box)
        after_commit(conn, forget)
        pool = load(conn, pool_id)
        assert pool is not None
        return describe(conn, pool)


@operation("cognito-identity", "DescribeIdentityPool")
def describe_identity_pool(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        return describe(conn, for_caller(conn, ctx, params["IdentityPoolId"]))


@operation("cognito-identity", "UpdateIdentityPool")
def update_identity_pool(ctx: RequestContext, params: Params) -> Result:
    """UpdateIdentityPool: the request is the whole new IdentityPool (omitted settings are cleared;
    the developer provider name, once set, stays). Tags are replaced only when given."""
    with ctx.store.tx() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
        cfg = _config(conn, ctx, params, pool.config)
        conn.execute(
            update(t.identity_pools)
            .where(t.identity_pools.c.id == pool.id)
            .values(name=params["IdentityPoolName"], config=cfg, updated_at=ctx.now)
        )
        if "IdentityPoolTags" in params:
            _write_tags(conn, pool.arn, ctx.account_id, params["IdentityPoolTags"] or {}, replace=True)
        after_commit(conn, forget)
        fresh = load(conn, pool.id)
        assert fresh is not None
        return describe(conn, fresh)


@operation("cognito-identity", "DeleteIdentityPool")
def delete_identity_pool(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
        conn.execute(delete(t.identity_logins).where(t.identity_logins.c.identity_pool_id == pool.id))
        conn.execute(delete(t.identities).where(t.identities.c.identity_pool_id == pool.id))
        conn.execute(delete(t.identity_pools).where(t.identity_pools.c.id == pool.id))
        after_commit(conn, forget)
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == pool.arn))
    return None


@operation("cognito-identity", "ListIdentityPools")
def list_identity_pools(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    query = (
        select(t.identity_pools.c.id, t.identity_pools.c.name, t.identity_pools.c.created_at)
        .where(t.identity_pools.c.account_id == ctx.account_id, t.identity_pools.c.region == ctx.region)
        .order_by(t.identity_pools.c.created_at, t.identity_pools.c.id)
        .limit(int(params["MaxResults"]) + 1)
    )
    if after is not None:
        query = query.where(
            tuple_(t.identity_pools.c.created_at, t.identity_pools.c.id)
            > tuple_(bindparam("c", _ts(after[0])), after[1])
        )
    with ctx.store.read() as conn:
        rows = conn.execute(query).all()
    limit = int(params["MaxResults"])
    out: dict[str, Any] = {
        "IdentityPools": [{"IdentityPoolId": r.id, "IdentityPoolName": r.name} for r in rows[:limit]]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([last.created_at.isoformat(), last.id])
    return out


def _ts(value: Any) -> Any:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidParameterException("Invalid NextToken.") from None


# -- roles ------------------------------------------------------------------------------------------


def _check_role_arn(arn: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise InvalidParameterException(f"Invalid role ARN: {arn}")


def _check_mappings(settings: Settings, pool: IdentityPool, mappings: dict[str, Any]) -> None:
    for provider, mapping in mappings.items():
        kind = mapping.get("Type")
        name, _, client = provider.rpartition(":")
        user_pool_id = user_pool_of(settings, name) if name else None
        user_pool_key = provider.startswith("cognito-idp.") or user_pool_id is not None
        if user_pool_key and (user_pool_id is None or client not in pool.user_pool_clients(user_pool_id)):
            raise InvalidParameterException(
                f"Role mapping key {provider} must be a configured Cognito user pool provider "
                "in the form <ProviderName>:<ClientId>."
            )
        if not mapping.get("AmbiguousRoleResolution"):
            raise InvalidParameterException("AmbiguousRoleResolution must be specified for Token and Rules types.")
        if kind == "Rules":
            rules = (mapping.get("RulesConfiguration") or {}).get("Rules") or []
            if not rules:
                raise InvalidParameterException("RulesConfiguration is required for the Rules role mapping type.")
            if len(rules) > MAX_RULES:
                raise InvalidParameterException(f"At most {MAX_RULES} rules may be specified per identity provider.")
            for rule in rules:
                _check_role_arn(rule["RoleARN"])
        elif mapping.get("RulesConfiguration"):
            raise InvalidParameterException("RulesConfiguration is only allowed for the Rules role mapping type.")


@operation("cognito-identity", "SetIdentityPoolRoles")
def set_identity_pool_roles(ctx: RequestContext, params: Params) -> Result:
    roles = dict(params["Roles"])
    mappings = dict(params.get("RoleMappings") or {})
    for arn in roles.values():
        _check_role_arn(arn)
    with ctx.store.tx() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
        _check_mappings(ctx.settings, pool, mappings)
        conn.execute(
            update(t.identity_pools)
            .where(t.identity_pools.c.id == pool.id)
            .values(roles=roles, role_mappings=mappings, updated_at=ctx.now)
        )
        after_commit(conn, forget)
    return None


@operation("cognito-identity", "GetIdentityPoolRoles")
def get_identity_pool_roles(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
    out: dict[str, Any] = {"IdentityPoolId": pool.id, "Roles": pool.roles}
    if pool.role_mappings:
        out["RoleMappings"] = pool.role_mappings
    return out


# -- attributes for access control ----------------------------------------------------------------


def _tag_entry(settings: Settings, pool: IdentityPool, provider: str) -> dict[str, Any]:
    """The attribute map set for a provider (a user pool's: under either of its names)."""
    if provider in pool.tag_maps:
        return dict(pool.tag_maps[provider] or {})
    for name, entry in pool.tag_maps.items():
        if same_provider(settings, name, provider):
            return dict(entry or {})
    return {}


def _tag_map_response(settings: Settings, pool: IdentityPool, provider: str) -> dict[str, Any]:
    entry = _tag_entry(settings, pool, provider)
    use_defaults = bool(entry.get("UseDefaults"))
    tags = default_tag_map(provider) if use_defaults else dict(entry.get("PrincipalTags") or {})
    out: dict[str, Any] = {"IdentityPoolId": pool.id, "IdentityProviderName": provider, "UseDefaults": use_defaults}
    if tags:
        out["PrincipalTags"] = tags
    return out


def _known_provider(settings: Settings, pool: IdentityPool, provider: str) -> bool:
    cfg = pool.config
    if provider in (cfg.get("SupportedLoginProviders") or {}):
        return True
    user_pool_id = user_pool_of(settings, provider)
    if user_pool_id is not None and pool.user_pool_clients(user_pool_id):
        return True
    if provider in (cfg.get("SamlProviderARNs") or []):
        return True
    return any(
        arn.split(":oidc-provider/", 1)[-1] == provider or arn == provider
        for arn in cfg.get("OpenIdConnectProviderARNs") or []
    )


@operation("cognito-identity", "SetPrincipalTagAttributeMap")
def set_principal_tag_attribute_map(ctx: RequestContext, params: Params) -> Result:
    provider = params["IdentityProviderName"]
    entry = {
        "UseDefaults": bool(params.get("UseDefaults", False)),
        "PrincipalTags": dict(params.get("PrincipalTags") or {}),
    }
    with ctx.store.tx() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
        if not _known_provider(ctx.settings, pool, provider):
            raise InvalidParameterException(f"Identity provider {provider} is not configured for this identity pool.")
        # one map per provider: setting a user pool's under one name replaces the one under the other
        maps = {k: v for k, v in pool.tag_maps.items() if not same_provider(ctx.settings, k, provider)}
        maps[provider] = entry
        conn.execute(
            update(t.identity_pools).where(t.identity_pools.c.id == pool.id).values(tag_maps=maps, updated_at=ctx.now)
        )
        after_commit(conn, forget)
        fresh = load(conn, pool.id)
        assert fresh is not None
    return _tag_map_response(ctx.settings, fresh, provider)


@operation("cognito-identity", "GetPrincipalTagAttributeMap")
def get_principal_tag_attribute_map(ctx: RequestContext, params: Params) -> Result:
    provider = params["IdentityProviderName"]
    with ctx.store.read() as conn:
        pool = for_caller(conn, ctx, params["IdentityPoolId"])
    if not _known_provider(ctx.settings, pool, provider):
        raise ResourceNotFoundException(f"Identity provider {provider} is not configured for this identity pool.")
    return _tag_map_response(ctx.settings, pool, provider)


# -- tags ---------------------------------------------------------------------------------------------


def _tagged_pool(conn: Connection, ctx: RequestContext, arn: str) -> str:
    parts = arn.split(":", 5)
    ok = len(parts) == 6 and parts[2] == "cognito-identity" and parts[5].startswith("identitypool/")
    pool = load(conn, parts[5].removeprefix("identitypool/")) if ok else None
    if pool is None or pool.account_id != ctx.account_id or pool.arn != arn:
        raise ResourceNotFoundException(f"Resource {arn} not found.")
    return arn


@operation("cognito-identity", "TagResource")
def tag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        arn = _tagged_pool(conn, ctx, params["ResourceArn"])
        _write_tags(conn, arn, ctx.account_id, dict(params["Tags"]))
    return {}


@operation("cognito-identity", "UntagResource")
def untag_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        arn = _tagged_pool(conn, ctx, params["ResourceArn"])
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn, t.tags.c.key.in_(list(params["TagKeys"]))))
    return {}


@operation("cognito-identity", "ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        arn = _tagged_pool(conn, ctx, params["ResourceArn"])
        return {"Tags": _tags(conn, arn)}
