"""CreateToken: the token endpoint (``POST /token``) of sso-oidc, for the device code, authorization
code (PKCE) and refresh token grants. The client authenticates with its secret; each grant's
single-use thing (device code, authorization code, refresh token) is spent in the database, and an
answer that changed state (a poll time, a spent code, a revoked session) is committed before the
error is raised.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssooidc import clients, codes, device, tokens
from ostiary.ssooidc.errors import (
    AccessDeniedException,
    AuthorizationPendingException,
    ExpiredTokenException,
    InvalidGrantException,
    InvalidRequestException,
    InvalidScopeException,
    OidcError,
    SlowDownException,
    UnauthorizedClientException,
    UnsupportedGrantTypeException,
)
from ostiary.store import tables as t


def _poll_error(outcome: device.Poll) -> OidcError:
    if outcome is device.Poll.PENDING:
        return AuthorizationPendingException("Authorization is still pending")
    if outcome is device.Poll.SLOW_DOWN:
        return SlowDownException("Client is polling too fast")
    if outcome is device.Poll.EXPIRED:
        return ExpiredTokenException("Device code has expired")
    if outcome is device.Poll.DENIED:
        return AccessDeniedException("Authorization was denied")
    return InvalidGrantException("Invalid device code provided")


def _scopes(params: Params) -> list[str] | None:
    scope = params.get("scope")
    if scope is None:
        return None
    if len(scope) > clients.MAX_LIST or any(not isinstance(s, str) or len(s) > 256 for s in scope):
        raise InvalidScopeException("Invalid scopes")
    return list(scope)


def _record(
    conn: Connection, ctx: RequestContext, client: Any, grant: str, identity_store_id: str, user_id: str
) -> None:
    """The CloudTrail event of a token issued (a sign-in of a CLI or SDK): the instance owner's, named
    by the directory user; no token in it."""
    row = conn.execute(
        select(t.sso_instances.c.account_id, t.identitystore_users.c.user_name)
        .select_from(
            t.sso_instances.outerjoin(
                t.identitystore_users,
                (t.identitystore_users.c.identity_store_id == t.sso_instances.c.identity_store_id)
                & (t.identitystore_users.c.user_id == user_id),
            )
        )
        .where(t.sso_instances.c.identity_store_id == identity_store_id)
    ).first()
    audit.record(
        conn,
        ctx,
        event=audit.Event.CREATE_TOKEN,
        account_id=row.account_id if row is not None else None,
        username=(row.user_name if row is not None else None) or user_id,
        resource=("AWS::SSO::Instance", identity_store_id),
        details={
            "clientId": client["client_id"],
            "clientName": client["client_name"],
            "grantType": grant,
            "identityStoreId": identity_store_id,
            "userId": user_id,
        },
    )


@operation("sso-oidc", "CreateToken", authorize=False)
def create_token(ctx: RequestContext, params: Params) -> Result:
    grant = params["grantType"]
    if grant not in clients.GRANT_TYPES:
        raise UnsupportedGrantTypeException("Unsupported grant type")
    requested = _scopes(params)
    now = ctx.now
    error: OidcError | None = None
    out: dict[str, Any] | None = None
    with ctx.store.tx() as conn:
        client = clients.authenticate(conn, params["clientId"], params["clientSecret"], now)
        if not clients.allows(client, grant):
            raise UnauthorizedClientException("Client is not authorized to use this grant type")
        if grant == clients.DEVICE_GRANT:
            polled = device.poll(conn, client["client_id"], params.get("deviceCode") or "", now)
            if isinstance(polled, device.Poll):
                error = _poll_error(polled)
            else:
                scopes = list(client["scopes"] or [])
                out = tokens.issue(conn, client, polled.identity_store_id, polled.user_id, scopes, now)
                _record(conn, ctx, client, grant, polled.identity_store_id, polled.user_id)
        elif grant == clients.AUTH_CODE_GRANT:
            if not params.get("code"):
                raise InvalidRequestException("Missing authorization code")
            redeemed = codes.redeem(
                conn, client, params["code"], params.get("redirectUri"), params.get("codeVerifier"), now
            )
            if isinstance(redeemed, str):
                error = InvalidGrantException(redeemed)
            elif requested is not None and not set(requested) <= set(redeemed.scopes):
                error = InvalidScopeException("Invalid scopes")
            else:
                out = tokens.issue(conn, client, redeemed.identity_store_id, redeemed.user_id, redeemed.scopes, now)
                _record(conn, ctx, client, grant, redeemed.identity_store_id, redeemed.user_id)
        else:
            if not params.get("refreshToken"):
                raise InvalidRequestException("Missing refresh token")
            refreshed = tokens.refresh(conn, client, params["refreshToken"], now)
            if isinstance(refreshed, tokens.Refreshed):
                error = InvalidGrantException("Invalid refresh token provided")
            else:
                out, store_id, user_id = refreshed
                _record(conn, ctx, client, grant, store_id, user_id)
    if error is not None:
        raise error
    return out
