"""User session tracking: GetUserPoolSessionConfiguration, SetUserPoolSessionConfiguration,
GetUserPoolClientSessionConfiguration, SetUserPoolClientSessionConfiguration, ListUserSessions,
RevokeUserSession, AdminListUserSessions, AdminRevokeUserSession (Cognito API Reference).

Tracking is opt-in per pool (DISABLED unless SetUserPoolSessionConfiguration turns it on); while it
is off, sign-in and refresh record nothing (the pool's setting is read from a per-process cache, so
they run no extra query). While it is on:

- a token session is a refresh-token lineage (``refresh_tokens``) with a public ``session_id``
  ("tkn" + 25 lowercase letters and digits); each refresh records its time and IP address; a new
  lineage first evicts (revokes) the user's least recently active ones beyond ``MaxPerUser``;
- an SSO session is a hosted-UI session (``sso_sessions``) with a ``session_id`` ("sso" + 25); a
  lineage issued by the code exchange (or implicit flow) of an SSO session keeps it as its origin;
  each app client reuses an SSO session silently for ``SSOSession.MaxValidityMinutes`` after the
  sign-in (default 60).

Sessions started while tracking was off have no session id and are not listed. The settings'
cache and the hooks sign-in, tokens and the hosted UI call are in session_tracking.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, paging, tokens
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    FeatureUnavailableInTierException,
    InvalidParameterException,
    OperationNotEnabledException,
    ResourceNotFoundException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import client_in_pool, pool_for_caller
from ostiary.userpools.session_tracking import (
    CLIENT_CONFIG,
    DEFAULT_MAX_PER_USER,
    DEFAULT_SSO_MINUTES,
    POOL_CONFIG,
    forget,
)
from ostiary.userpools.tokens import signed_in

MAX_SSO_MINUTES = 129600
PAGE = 125  # AdminListUserSessions: "a single page of up to 125 sessions"
SESSION_ID = re.compile(r"^(tkn|sso)[a-z0-9]{25}$")
NOT_ENABLED = "Session tracking is not enabled for this user pool."

_RT = t.refresh_tokens.c
_SSO = t.sso_sessions.c


# --------------------------------------------------------------------------------------------
# configuration operations


def _pool_config(conn: Connection, pool_id: str) -> dict[str, Any]:
    row = conn.execute(POOL_CONFIG, {"pool_id": pool_id}).first()
    return {
        "UserPoolId": pool_id,
        "UserSessionTracking": row.tracking if row is not None else "DISABLED",
        "TokenSession": {"MaxPerUser": int(row.max_per_user) if row is not None else DEFAULT_MAX_PER_USER},
    }


def _check_tier(pool: PoolView) -> None:
    if pool.config.get("UserPoolTier") == "LITE":
        raise FeatureUnavailableInTierException(
            "Session management is not available in the LITE feature plan; use ESSENTIALS or PLUS."
        )


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidParameterException(f"{name} must be an integer from {low} to {high}.")
    return value


@operation("cognito-idp", "GetUserPoolSessionConfiguration")
def get_user_pool_session_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return _pool_config(conn, pool.id)


@operation("cognito-idp", "SetUserPoolSessionConfiguration")
def set_user_pool_session_configuration(ctx: RequestContext, params: Params) -> Result:
    tracking = params["UserSessionTracking"]
    if tracking not in ("ENABLED", "DISABLED"):
        raise InvalidParameterException("UserSessionTracking must be ENABLED or DISABLED.")
    max_per_user = _int((params.get("TokenSession") or {}).get("MaxPerUser"), "TokenSession.MaxPerUser", 1, 100)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _check_tier(pool)
        c = t.user_pool_session_config.c
        conn.execute(delete(t.user_pool_session_config).where(c.user_pool_id == pool.id))
        conn.execute(
            insert(t.user_pool_session_config).values(
                user_pool_id=pool.id, tracking=tracking, max_per_user=max_per_user, updated_at=ctx.now
            )
        )
    forget()
    return {"UserPoolId": pool.id, "UserSessionTracking": tracking, "TokenSession": {"MaxPerUser": max_per_user}}


@operation("cognito-idp", "GetUserPoolClientSessionConfiguration")
def get_user_pool_client_session_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        minutes = conn.execute(CLIENT_CONFIG, {"client_id": client.id}).scalar()
    return {
        "UserPoolId": pool.id,
        "ClientId": client.id,
        "SSOSession": {"MaxValidityMinutes": DEFAULT_SSO_MINUTES if minutes is None else int(minutes)},
    }


@operation("cognito-idp", "SetUserPoolClientSessionConfiguration")
def set_user_pool_client_session_configuration(ctx: RequestContext, params: Params) -> Result:
    minutes = _int(
        (params.get("SSOSession") or {}).get("MaxValidityMinutes"), "SSOSession.MaxValidityMinutes", 0, MAX_SSO_MINUTES
    )
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        _check_tier(pool)
        if not _tracking_on(conn, pool.id):
            raise OperationNotEnabledException(NOT_ENABLED)
        c = t.user_pool_client_session_config.c
        conn.execute(delete(t.user_pool_client_session_config).where(c.client_id == client.id))
        conn.execute(
            insert(t.user_pool_client_session_config).values(
                client_id=client.id, user_pool_id=pool.id, sso_max_minutes=minutes, updated_at=ctx.now
            )
        )
    forget()
    return {"UserPoolId": pool.id, "ClientId": client.id, "SSOSession": {"MaxValidityMinutes": minutes}}


def _tracking_on(conn: Connection, pool_id: str) -> bool:
    """The stored setting, read now (not the cached one): for the operations that need it on."""
    row = conn.execute(POOL_CONFIG, {"pool_id": pool_id}).first()
    return row is not None and row.tracking == "ENABLED"


# --------------------------------------------------------------------------------------------
# listing and revoking


def _token_session(row: Row[Any], current: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SessionId": row.session_id,
        "SessionType": "TOKEN",
        "ClientId": row.client_id,
        "CreateDate": utc(row.created_at),
        "LastActiveDate": utc(row.last_active_at or row.created_at),
    }
    if row.last_ip:
        out["LastIPAddress"] = row.last_ip
    if row.origin_sso:
        out["OriginSessionId"] = row.origin_sso
    out["IsCurrentSession"] = current is not None and row.id == current
    return out


def _sso_session(row: Row[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"SessionId": row.session_id, "SessionType": "SSO"}
    if row.client_id:
        out["ClientId"] = row.client_id
    out["CreateDate"] = utc(row.created_at)
    out["LastActiveDate"] = utc(row.last_active_at or row.auth_time)
    out["IsCurrentSession"] = False
    return out


def _list(
    conn: Connection, pool_id: str, user_id: str, now: dt.datetime, current: str | None, token: str | None
) -> Result:
    lineages = conn.execute(
        select(t.refresh_tokens).where(
            _RT.user_id == user_id,
            _RT.user_pool_id == pool_id,
            _RT.session_id.is_not(None),
            _RT.revoked_at.is_(None),
            _RT.expires_at > now,
        )
    ).all()
    ssos = conn.execute(
        select(t.sso_sessions).where(
            _SSO.user_id == user_id,
            _SSO.user_pool_id == pool_id,
            _SSO.session_id.is_not(None),
            _SSO.expires_at > now,
        )
    ).all()
    found = [_token_session(r, current) for r in lineages] + [_sso_session(r) for r in ssos]
    found.sort(key=lambda s: (s["CreateDate"], s["SessionId"]), reverse=True)
    page, next_token = paging.slice_after(found, lambda s: str(s["SessionId"]), token, PAGE)
    out: dict[str, Any] = {"Sessions": page}
    if next_token:
        out["NextToken"] = next_token
    return out


def _revoke(
    conn: Connection,
    pool_id: str,
    user_id: str,
    params: Params,
    now: dt.datetime,
    current: str | None,
) -> None:
    session_id = str(params["SessionId"])
    if not SESSION_ID.match(session_id):
        raise InvalidParameterException("SessionId must be tkn or sso followed by 25 lowercase letters and digits.")
    linked = params.get("RevokeAssociatedSessions") or "NONE"
    if linked not in ("NONE", "LINKED"):
        raise InvalidParameterException("RevokeAssociatedSessions must be NONE or LINKED.")
    if session_id.startswith("tkn"):
        row = conn.execute(
            select(_RT.id, _RT.origin_sso).where(
                _RT.user_id == user_id,
                _RT.user_pool_id == pool_id,
                _RT.session_id == session_id,
                _RT.revoked_at.is_(None),
                _RT.expires_at > now,
            )
        ).first()
        if row is None:
            raise ResourceNotFoundException("Session not found.")
        if current is not None and row.id == current:
            raise InvalidParameterException("The session of the access token in the request cannot be revoked.")
        tokens.revoke_lineage(conn, row.id, now)
        if linked == "LINKED" and row.origin_sso:
            conn.execute(delete(t.sso_sessions).where(_SSO.user_id == user_id, _SSO.session_id == row.origin_sso))
        return
    sso = conn.execute(
        select(_SSO.id_hash).where(
            _SSO.user_id == user_id,
            _SSO.user_pool_id == pool_id,
            _SSO.session_id == session_id,
            _SSO.expires_at > now,
        )
    ).first()
    if sso is None:
        raise ResourceNotFoundException("Session not found.")
    conn.execute(delete(t.sso_sessions).where(_SSO.id_hash == sso.id_hash))
    if linked == "LINKED":
        conn.execute(
            update(t.refresh_tokens)
            .where(_RT.user_id == user_id, _RT.origin_sso == session_id, _RT.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def _admin_user(ctx: RequestContext, conn: Connection, params: Params) -> tuple[PoolView, directory.User]:
    pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    if not _tracking_on(conn, pool.id):
        raise OperationNotEnabledException(NOT_ENABLED)
    user = directory.find(conn, pool, params["Username"])
    if user is None:
        raise UserNotFoundException("User does not exist.")
    return pool, user


def _token_user(ctx: RequestContext, conn: Connection, token: str) -> tuple[PoolView, directory.User, str | None]:
    """The pool, user and current lineage (the token's origin_jti) of an access token."""
    pool, user, access = signed_in(ctx, conn, token, full=False)
    if not _tracking_on(conn, pool.id):
        raise OperationNotEnabledException(NOT_ENABLED)
    origin = access.claims.get("origin_jti")
    return pool, user, str(origin) if origin else None


@operation("cognito-idp", "AdminListUserSessions")
def admin_list_user_sessions(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool, user = _admin_user(ctx, conn, params)
        return _list(conn, pool.id, user.id, ctx.now, None, params.get("NextToken"))


@operation("cognito-idp", "ListUserSessions")
def list_user_sessions(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool, user, current = _token_user(ctx, conn, params["AccessToken"])
        return _list(conn, pool.id, user.id, ctx.now, current, params.get("NextToken"))


@operation("cognito-idp", "AdminRevokeUserSession")
def admin_revoke_user_session(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool, user = _admin_user(ctx, conn, params)
        _revoke(conn, pool.id, user.id, params, ctx.now, None)
    return {}


@operation("cognito-idp", "RevokeUserSession")
def revoke_user_session(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool, user, current = _token_user(ctx, conn, params["AccessToken"])
        _revoke(conn, pool.id, user.id, params, ctx.now, current)
    return {}
