"""App clients: CreateUserPoolClient, DescribeUserPoolClient, UpdateUserPoolClient,
DeleteUserPoolClient, ListUserPoolClients (Cognito API Reference).

Client secrets are sealed with the KEK, not hashed: SECRET_HASH is an HMAC keyed with the secret
and DescribeUserPoolClient returns it, so the server must be able to read it back.
UpdateUserPoolClient, as AWS documents, returns every omitted setting to its default.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import paging
from ostiary.userpools.claims import UNIT_SECONDS
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    InvalidOAuthFlowException,
    InvalidParameterException,
    LimitExceededException,
    ResourceNotFoundException,
    ScopeDoesNotExistException,
)
from ostiary.userpools.identity_providers import provider_names
from ostiary.userpools.lookup import CLIENT_SECRET_CONTEXT, forget_views, pool_for_caller
from ostiary.userpools.resource_servers import custom_scopes
from ostiary.userpools.signin.context import LEGACY_FLOWS

_ID_ALPHABET = string.ascii_lowercase + string.digits
DEFAULT_FLOWS = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]
STANDARD_SCOPES = {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}
SETTINGS = (
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "DefaultRedirectURI",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "AnalyticsConfiguration",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData",
    "AuthSessionValidity",
    "RefreshTokenRotation",
)
# (min seconds, max seconds, human range) per token
VALIDITY_LIMITS = {
    "AccessToken": (300, 86400, "5 minutes and 1 day"),
    "IdToken": (300, 86400, "5 minutes and 1 day"),
    "RefreshToken": (3600, 3650 * 86400, "60 minutes and 10 years"),
}


def new_client_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def new_client_secret() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(51))


def _seconds(value: int, unit: str) -> int:
    return value * UNIT_SECONDS[unit]


def _settings(conn: Connection, pool: PoolView, params: Params) -> dict[str, Any]:
    """Validated client settings with AWS's defaults for whatever the request omits."""
    cfg: dict[str, Any] = {k: params[k] for k in SETTINGS if params.get(k) is not None}
    # Without TokenValidityUnits AWS reads a given access/ID validity in hours; Ostiary then reports
    # the units it used, and defaults to 60 minutes / 60 minutes / 30 days.
    units = {
        "AccessToken": "hours" if "AccessTokenValidity" in cfg else "minutes",
        "IdToken": "hours" if "IdTokenValidity" in cfg else "minutes",
        "RefreshToken": "days",
    }
    units.update(cfg.get("TokenValidityUnits") or {})
    cfg["TokenValidityUnits"] = units
    cfg.setdefault("AccessTokenValidity", _default_in(3600, units["AccessToken"]))
    cfg.setdefault("IdTokenValidity", _default_in(3600, units["IdToken"]))
    cfg.setdefault("RefreshTokenValidity", _default_in(30 * 86400, units["RefreshToken"]))
    seconds = {}
    for token, key in (
        ("AccessToken", "AccessTokenValidity"),
        ("IdToken", "IdTokenValidity"),
        ("RefreshToken", "RefreshTokenValidity"),
    ):
        lo, hi, text = VALIDITY_LIMITS[token]
        seconds[token] = _seconds(int(cfg[key]), units[token])
        if not lo <= seconds[token] <= hi:
            raise InvalidParameterException(f"{key} must be between {text}.")
    if seconds["RefreshToken"] < max(seconds["AccessToken"], seconds["IdToken"]):
        raise InvalidParameterException(
            "RefreshTokenValidity must be greater than AccessTokenValidity and IdTokenValidity."
        )

    flows = cfg.get("ExplicitAuthFlows")
    if flows is None:
        cfg["ExplicitAuthFlows"] = list(DEFAULT_FLOWS)
    else:
        legacy = [f for f in flows if f in LEGACY_FLOWS]
        if legacy and len(legacy) != len(flows):
            raise InvalidParameterException("ExplicitAuthFlows can not contain both legacy and ALLOW_ values.")
    cfg.setdefault("AllowedOAuthFlowsUserPoolClient", False)
    cfg.setdefault("EnableTokenRevocation", True)
    cfg.setdefault("EnablePropagateAdditionalUserContextData", False)
    cfg.setdefault("AuthSessionValidity", 3)
    # "Defaults to LEGACY" (CreateUserPoolClient in the model; Developer Guide, "Managing user existence
    # error responses": only the console preselects ENABLED). An update that omits it resets it, as
    # UpdateUserPoolClient resets every omitted setting.
    cfg.setdefault("PreventUserExistenceErrors", "LEGACY")
    _check_attributes(pool, cfg)
    _check_oauth(conn, pool, cfg, params)
    return cfg


def _default_in(seconds: int, unit: str) -> int:
    return max(1, seconds // UNIT_SECONDS[unit])


def _check_attributes(pool: PoolView, cfg: dict[str, Any]) -> None:
    known = set(pool.schema) | {"email_verified", "phone_number_verified"}
    for key, what in (("ReadAttributes", "read"), ("WriteAttributes", "write")):
        names = cfg.get(key)
        if names is None:
            continue
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidParameterException(f"Invalid {what} attributes specified while creating a client")
        if what == "write" and any(n in ("sub", "identities") or n.startswith("dev:") for n in names):
            raise InvalidParameterException("Invalid write attributes specified while creating a client")


def _check_url(url: str, what: str) -> None:
    """A redirect URI (CreateUserPoolClient, CallbackURLs): absolute, no fragment, HTTPS except
    ``http://localhost``, ``http://127.0.0.1`` and ``http://[::1]`` (any port), or an app scheme
    such as ``myapp://example``."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.fragment:
        raise InvalidParameterException(f"{what} must not contain a fragment: {url}")
    if not parts.scheme or (parts.scheme == "http" and not local):
        raise InvalidParameterException(f"{what} must be HTTPS or http://localhost: {url}")
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise InvalidParameterException(f"{what} must be an absolute URI: {url}")


def _check_scopes(conn: Connection, pool: PoolView, scopes: list[str]) -> None:
    """Standard scopes, or ``<resource server identifier>/<scope name>`` defined in the pool now
    (resource_servers.py); a scope removed later stays on the client, as in AWS."""
    custom: set[str] | None = None
    for scope in scopes:
        if scope in STANDARD_SCOPES:
            continue
        if custom is None:
            custom = custom_scopes(conn, pool.id)
        if scope not in custom:
            raise ScopeDoesNotExistException(f"Invalid scope requested: {scope}")


def _check_oauth(conn: Connection, pool: PoolView, cfg: dict[str, Any], params: Params) -> None:
    """OAuth settings of an app client, by the CreateUserPoolClient reference and the Developer
    Guide ("App client settings", "Scopes, M2M, and APIs with resource servers")."""
    for url in cfg.get("CallbackURLs") or []:
        _check_url(url, "CallbackURLs")
    for url in cfg.get("LogoutURLs") or []:
        _check_url(url, "LogoutURLs")
    default = cfg.get("DefaultRedirectURI")
    if default:
        _check_url(default, "DefaultRedirectURI")
        if default not in (cfg.get("CallbackURLs") or []):
            raise InvalidParameterException("DefaultRedirectURI must be one of the CallbackURLs.")
    providers = cfg.get("SupportedIdentityProviders") or []
    known: set[str] | None = None
    for provider in providers:
        if provider == "COGNITO":
            continue
        if known is None:
            known = provider_names(conn, pool.id)
        if provider not in known:
            raise InvalidParameterException(f"The provider {provider} does not exist for User Pool {pool.id}")
    flows = cfg.get("AllowedOAuthFlows") or []
    if len(set(flows)) != len(flows):
        raise InvalidParameterException("AllowedOAuthFlows must not contain duplicates.")
    scopes = cfg.get("AllowedOAuthScopes") or []
    _check_scopes(conn, pool, scopes)
    if not cfg.get("AllowedOAuthFlowsUserPoolClient"):
        return
    if not flows or not scopes:
        raise InvalidOAuthFlowException(
            "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed to use OAuth flows."
        )
    if "client_credentials" in flows:
        if len(flows) > 1:
            raise InvalidOAuthFlowException(
                "client_credentials flow can not be selected along with code flow or implicit flow."
            )
        if not params.get("_has_secret"):
            raise InvalidOAuthFlowException(
                "client_credentials flow can not be selected if client does not have a client secret."
            )
        if any(s in STANDARD_SCOPES for s in scopes):
            raise InvalidOAuthFlowException("client_credentials flow can only be used with custom scopes.")
    elif not cfg.get("CallbackURLs"):
        raise InvalidOAuthFlowException("CallbackURLs must be set when code or implicit flow is allowed.")
    if "openid" not in scopes and any(s in scopes for s in ("email", "phone", "profile")):
        raise InvalidOAuthFlowException("The openid scope is required when requesting email, phone or profile.")


def client_type(row: Row[Any], secret: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserPoolId": row.user_pool_id,
        "ClientName": row.name,
        "ClientId": row.client_id,
        "LastModifiedDate": utc(row.updated_at),
        "CreationDate": utc(row.created_at),
        **row.config,
    }
    if secret is not None:
        out["ClientSecret"] = secret
    return out


def _row(conn: Connection, pool: PoolView, client_id: str) -> Row[Any]:
    row = conn.execute(select(t.user_pool_clients).where(t.user_pool_clients.c.client_id == client_id)).first()
    if row is None or row.user_pool_id != pool.id:
        raise ResourceNotFoundException(f"User pool client {client_id} does not exist.")
    return row


def _secret(ctx: RequestContext, row: Row[Any]) -> str | None:
    return ctx.box.open(row.secret_enc, CLIENT_SECRET_CONTEXT + row.client_id) if row.secret_enc else None


@operation("cognito-idp", "CreateUserPoolClient")
def create_user_pool_client(ctx: RequestContext, params: Params) -> Result:
    secret = params.get("ClientSecret") or (new_client_secret() if params.get("GenerateSecret") else None)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        cfg = _settings(conn, pool, {**params, "_has_secret": secret is not None})
        client_id = new_client_id()
        conn.execute(
            insert(t.user_pool_clients).values(
                client_id=client_id,
                user_pool_id=pool.id,
                name=params["ClientName"],
                secret_enc=ctx.box.seal(secret, CLIENT_SECRET_CONTEXT + client_id) if secret else None,
                created_at=ctx.now,
                updated_at=ctx.now,
                config=cfg,
            )
        )
        row = _row(conn, pool, client_id)
    return {"UserPoolClient": client_type(row, secret)}


@operation("cognito-idp", "DescribeUserPoolClient")
def describe_user_pool_client(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
    return {"UserPoolClient": client_type(row, _secret(ctx, row))}


@operation("cognito-idp", "UpdateUserPoolClient")
def update_user_pool_client(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
        secret = _secret(ctx, row)
        cfg = _settings(conn, pool, {**params, "_has_secret": secret is not None})
        conn.execute(
            update(t.user_pool_clients)
            .where(t.user_pool_clients.c.client_id == row.client_id)
            .values(config=cfg, name=params.get("ClientName") or row.name, updated_at=ctx.now)
        )
        forget_views()
        row = _row(conn, pool, params["ClientId"])
    return {"UserPoolClient": client_type(row, secret)}


@operation("cognito-idp", "DeleteUserPoolClient")
def delete_user_pool_client(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
        conn.execute(delete(t.user_pool_clients).where(t.user_pool_clients.c.client_id == row.client_id))
        forget_views()
        conn.execute(
            delete(t.ui_customizations).where(
                t.ui_customizations.c.user_pool_id == pool.id, t.ui_customizations.c.client_id == row.client_id
            )
        )
        conn.execute(delete(t.oauth_codes).where(t.oauth_codes.c.client_id == row.client_id))
    return None


@operation("cognito-idp", "ListUserPoolClients")
def list_user_pool_clients(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("MaxResults") or 60)
    after = paging.decode(params.get("NextToken"))
    c = t.user_pool_clients.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        query = select(t.user_pool_clients).where(c.user_pool_id == pool.id).order_by(c.created_at, c.client_id)
        if after:
            query = query.where(
                tuple_(c.created_at, c.client_id) > tuple_(dt.datetime.fromisoformat(after[0]), after[1])
            )
        rows = conn.execute(query.limit(limit + 1)).all()
    out: dict[str, Any] = {
        "UserPoolClients": [
            {"ClientId": r.client_id, "UserPoolId": r.user_pool_id, "ClientName": r.name} for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([utc(last.created_at).isoformat(), last.client_id])
    return out


# --- secret rotation: AddUserPoolClientSecret, ListUserPoolClientSecrets, DeleteUserPoolClientSecret

MAX_SECRETS = 2  # "Supports up to 2 active secrets per app client"


def _secret_id(client_id: str, created: dt.datetime) -> str:
    """``<client-id>--<epoch-create-time>`` (milliseconds, so two secrets of one second differ)."""
    return f"{client_id}--{int(created.timestamp() * 1000)}"


def _secret_entries(row: Row[Any]) -> list[dict[str, Any]]:
    """The client's secrets, primary first: {"id", "sealed", "created"} (created: datetime)."""
    if not row.secret_enc:
        return []
    rotation = row.secret_rotation or {}
    created = utc(row.created_at)
    if rotation.get("primary_created"):
        created = dt.datetime.fromisoformat(rotation["primary_created"])
    primary = {"id": rotation.get("primary_id") or _secret_id(row.client_id, created), "sealed": row.secret_enc}
    entries = [{**primary, "created": created}]
    for extra in rotation.get("extra") or []:
        entries.append(
            {"id": extra["id"], "sealed": extra["sealed"], "created": dt.datetime.fromisoformat(extra["created"])}
        )
    return entries


def _save_entries(conn: Connection, row: Row[Any], entries: list[dict[str, Any]], now: dt.datetime) -> None:
    primary, extra = entries[0], entries[1:]
    rotation = {
        "primary_id": primary["id"],
        "primary_created": primary["created"].isoformat(),
        "extra": [{"id": e["id"], "sealed": e["sealed"], "created": e["created"].isoformat()} for e in extra],
    }
    conn.execute(
        update(t.user_pool_clients)
        .where(t.user_pool_clients.c.client_id == row.client_id)
        .values(secret_enc=primary["sealed"], secret_rotation=rotation, updated_at=now)
    )
    forget_views()


def _descriptor(entry: dict[str, Any], value: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ClientSecretId": entry["id"], "ClientSecretCreateDate": entry["created"]}
    if value is not None:
        out["ClientSecretValue"] = value
    return out


@operation("cognito-idp", "AddUserPoolClientSecret")
def add_user_pool_client_secret(ctx: RequestContext, params: Params) -> Result:
    """A second secret for a confidential client, for rotation without downtime: both work until one
    is deleted. A secret given by the caller is never returned; a generated one is, once."""
    given = params.get("ClientSecret")
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
        entries = _secret_entries(row)
        if not entries:
            raise InvalidParameterException(
                "The app client has no client secret: only confidential clients rotate secrets."
            )
        if len(entries) >= MAX_SECRETS:
            raise LimitExceededException(f"An app client can have at most {MAX_SECRETS} client secrets.")
        value = given or new_client_secret()
        now = ctx.now
        if any(e["created"] >= now for e in entries):  # keep ids unique and in order
            now = max(e["created"] for e in entries) + dt.timedelta(milliseconds=1)
        entry = {
            "id": _secret_id(row.client_id, now),
            "sealed": ctx.box.seal(value, CLIENT_SECRET_CONTEXT + row.client_id),
            "created": now,
        }
        _save_entries(conn, row, [*entries, entry], ctx.now)
    return {"ClientSecretDescriptor": _descriptor(entry, None if given else value)}


@operation("cognito-idp", "ListUserPoolClientSecrets")
def list_user_pool_client_secrets(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
    return {"ClientSecrets": [_descriptor(e) for e in _secret_entries(row)]}


@operation("cognito-idp", "DeleteUserPoolClientSecret")
def delete_user_pool_client_secret(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["ClientId"])
        entries = _secret_entries(row)
        remaining = [e for e in entries if e["id"] != params["ClientSecretId"]]
        if len(remaining) == len(entries):
            raise ResourceNotFoundException(f"Client secret {params['ClientSecretId']} does not exist.")
        if not remaining:
            raise InvalidParameterException("The last client secret of an app client cannot be deleted.")
        _save_entries(conn, row, remaining, ctx.now)
    return {}
