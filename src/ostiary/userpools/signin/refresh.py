"""Refresh and revocation: REFRESH_TOKEN_AUTH / REFRESH_TOKEN (InitiateAuth), GetTokensFromRefreshToken
(with refresh token rotation), RevokeToken (RFC 7009), GlobalSignOut and AdminUserGlobalSignOut, and
the refresh of /oauth2/token (Cognito API Reference for each operation; Developer Guide, "Refresh
tokens", "Revoking tokens").
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.userpools import directory, session_tracking, tokens, triggers
from ostiary.userpools.claims import SignInEvent
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    InvalidParameterException,
    NotAuthorizedException,
    UnauthorizedException,
    UnsupportedOperationException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import ClientView, client_and_pool, pool_for_caller
from ostiary.userpools.signin.context import AuthFlow, check_secret_hash_for, flow_allowed


def refresh_tokens(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    token: str,
    secret_hash: str | None,
    now: dt.datetime,
    rotate: bool,
    client_authenticated: bool = False,
) -> dict[str, Any]:
    # a plain refresh only reads; only rotation writes (and so takes the write lock)
    with ctx.store.tx() if rotate else ctx.store.read() as conn:
        found = tokens.find_lineage_and_user(conn, pool, token)
        if found is None or found[0].client_id != client.id:
            raise NotAuthorizedException("Invalid Refresh Token")
        lineage, user = found
        if not client_authenticated and (secret_hash is not None or client.secret is not None):
            check_secret_hash_for(client, [user.username, user.id], secret_hash)
        if lineage.revoked:
            raise NotAuthorizedException("Refresh Token has been revoked")
        if lineage.expires_at < now:
            raise NotAuthorizedException("Refresh Token has expired")
        if not lineage.current:
            grace = int((client.config.get("RefreshTokenRotation") or {}).get("RetryGracePeriodSeconds") or 0)
            if not rotate or grace <= 0:
                raise NotAuthorizedException("Invalid Refresh Token")
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        event = SignInEvent(
            origin_jti=lineage.id,
            auth_time=int(lineage.auth_time.timestamp()),
            event_id=secrets.token_hex(16),
        )
        cfg = client.as_token_config()
        result = tokens.mint(
            ctx.keys,
            ctx.settings,
            pool,
            cfg,
            user,
            event,
            now,
            device_key=lineage.device_key,
            scopes=lineage.scopes,
            with_id_token=lineage.scopes is None or "openid" in lineage.scopes,
            source="TokenGeneration_RefreshTokens",
            client_metadata=ctx.client_metadata,
        )
        if rotate:
            rotated = tokens.rotate_refresh_token(conn, lineage, token, cfg, now)
            if rotated is None:  # a concurrent refresh rotated this token first: it is spent
                raise NotAuthorizedException("Invalid Refresh Token")
            result["RefreshToken"] = rotated
        session_tracking.refreshed(ctx, conn, pool.id, lineage.id, in_tx=rotate)
    return result


def refresh(ctx: RequestContext, pool: PoolView, client: ClientView, token: str, now: dt.datetime) -> dict[str, Any]:
    """A refresh for /oauth2/token (the client authenticated itself; rotation as the client says)."""
    return refresh_tokens(
        ctx, pool, client, token, None, now, rotate=rotation_enabled(client), client_authenticated=True
    )


def rotation_enabled(client: ClientView) -> bool:
    return (client.config.get("RefreshTokenRotation") or {}).get("Feature") == "ENABLED"


def _client_secret_ok(client: ClientView, given: str | None) -> None:
    if client.secret is None:
        return
    if not given or not any(secrets.compare_digest(given.encode(), s.encode()) for s in client.secrets()):
        raise NotAuthorizedException(f"Unable to verify secret hash for client {client.id}")


@operation("cognito-idp", "GetTokensFromRefreshToken", offload=triggers.offload)
@triggers.with_client_metadata
def get_tokens_from_refresh_token(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    _client_secret_ok(client, params.get("ClientSecret"))
    if not flow_allowed(client, AuthFlow.REFRESH_TOKEN_AUTH):
        raise InvalidParameterException("REFRESH_TOKEN_AUTH flow not enabled for this client")
    secretless = ClientView(client.id, client.pool_id, client.name, client.config, None)
    result = refresh_tokens(
        ctx, pool, secretless, params["RefreshToken"], None, ctx.now, rotate=rotation_enabled(client)
    )
    return {"AuthenticationResult": result}


@operation("cognito-idp", "RevokeToken")
def revoke_token(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    _client_secret_ok(client, params.get("ClientSecret"))
    if client.config.get("EnableTokenRevocation") is False:
        raise UnsupportedOperationException("Token revocation is not enabled for this app client.")
    with ctx.store.tx() as conn:
        lineage = tokens.find_lineage(conn, pool.id, params["Token"])
        if lineage is None:
            return {}  # RFC 7009 §2.2: an invalid token is not an error
        if lineage.client_id != client.id:
            raise UnauthorizedException("The token was not issued to this client.")
        tokens.revoke_lineage(conn, lineage.id, ctx.now)
        audit.record(conn, ctx, params, pool_id=pool.id, sub=lineage.user_id, details={"clientId": client.id})
    return {}


@operation("cognito-idp", "GlobalSignOut")
def global_sign_out(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        access = tokens.check_access_token(conn, ctx.keys, ctx.settings, params["AccessToken"], ctx.now)
        tokens.revoke_user(conn, access.user_id, ctx.now)
        audit.record(conn, ctx, pool_id=access.pool_id, username=access.username, sub=access.user_id)
    return {}


@operation("cognito-idp", "AdminUserGlobalSignOut")
def admin_user_global_sign_out(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = directory.find(conn, pool, params["Username"])
        if user is None:
            raise UserNotFoundException("User does not exist.")
        tokens.revoke_user(conn, user.id, ctx.now)
        audit.record(conn, ctx, params, user=user)
    return {}
