"""Sign-in sessions and their tokens: what CreateToken issues, the portal API (``sso``) checks, the web
portal keeps in its cookie, and Logout revokes.

A session is one directory user of one identity store, signed in through one sso-oidc client (or the web
portal: client NULL), until the instance's session duration ends (AWS's "session duration" of the
access portal, default 8 hours; ``settings["session_duration_seconds"]`` of the instance). Its access
tokens live an hour when the session also has refresh tokens, else the whole session; refresh tokens
rotate: each is spent once, and a spent one presented again revokes the session (OAuth 2.0 Security
BCP §4.14, refresh token reuse detection). Tokens are opaque (256 bits), kept only as sha256 and looked
up by it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from ostiary.ssooidc import opaque
from ostiary.ssooidc.clients import ACCOUNT_ACCESS, REFRESH_GRANT, allows
from ostiary.store import tables as t

DEFAULT_SESSION_SECONDS = 8 * 3600
ACCESS_WITH_REFRESH = dt.timedelta(hours=1)
ACCESS = "ACCESS"
REFRESH = "REFRESH"
ACCESS_PREFIX = "aoa"  # AWS's access tokens begin so, its refresh tokens ``aor``
REFRESH_PREFIX = "aor"

_s, _k = t.sso_oidc_sessions.c, t.sso_oidc_tokens.c


@dataclass(frozen=True)
class Session:
    """What an access token stands for."""

    session_id: str
    identity_store_id: str
    user_id: str
    client_id: str | None
    scopes: list[str]
    expires_at: dt.datetime  # the access token's expiry


class Refreshed(Enum):
    UNKNOWN = "unknown"  # never issued, expired, of another client, or its session ended
    REUSED = "reused"  # spent already: the session is revoked now


def session_seconds(conn: Connection, identity_store_id: str) -> int:
    settings = conn.execute(
        select(t.sso_instances.c.settings).where(t.sso_instances.c.identity_store_id == identity_store_id)
    ).scalar()
    value = (settings or {}).get("session_duration_seconds")
    return int(value) if isinstance(value, int) and 900 <= value <= 90 * 86400 else DEFAULT_SESSION_SECONDS


def _sweep(conn: Connection, now: dt.datetime) -> None:
    if secrets.randbelow(64) == 0:
        ended = select(_s.session_id).where(_s.expires_at < now - dt.timedelta(days=1))
        conn.execute(delete(t.sso_oidc_tokens).where(_k.session_id.in_(ended)))
        conn.execute(delete(t.sso_oidc_sessions).where(_s.expires_at < now - dt.timedelta(days=1)))


def _new_session(
    conn: Connection, identity_store_id: str, user_id: str, client_id: str | None, scopes: list[str], now: dt.datetime
) -> tuple[str, dt.datetime]:
    _sweep(conn, now)
    session_id = uuid.uuid4().hex
    expires = now + dt.timedelta(seconds=session_seconds(conn, identity_store_id))
    conn.execute(
        insert(t.sso_oidc_sessions).values(
            session_id=session_id,
            identity_store_id=identity_store_id,
            user_id=user_id,
            client_id=client_id,
            scopes=scopes,
            created_at=now,
            expires_at=expires,
        )
    )
    return session_id, expires


def _mint(conn: Connection, session_id: str, kind: str, now: dt.datetime, expires: dt.datetime) -> str:
    token = opaque.new(ACCESS_PREFIX if kind == ACCESS else REFRESH_PREFIX, 32)
    conn.execute(
        insert(t.sso_oidc_tokens).values(
            token_hash=opaque.digest(token), session_id=session_id, kind=kind, created_at=now, expires_at=expires
        )
    )
    return token


def mint_session(conn: Connection, identity_store_id: str, user_id: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """The web portal's sign-in: a new session and its access token (scope ``sso:account:access``, for
    the instance's session duration); returns (token, expiry)."""
    session_id, expires = _new_session(conn, identity_store_id, user_id, None, [ACCOUNT_ACCESS], now)
    return _mint(conn, session_id, ACCESS, now, expires), expires


def _tokens(conn: Connection, session_id: str, refresh: bool, now: dt.datetime, ends: dt.datetime) -> dict[str, Any]:
    access_ends = min(ends, now + ACCESS_WITH_REFRESH) if refresh else ends
    out: dict[str, Any] = {
        "accessToken": _mint(conn, session_id, ACCESS, now, access_ends),
        "tokenType": "Bearer",
        "expiresIn": max(int((access_ends - now).total_seconds()), 1),
    }
    if refresh:
        out["refreshToken"] = _mint(conn, session_id, REFRESH, now, ends)
    return out


def issue(
    conn: Connection, client: RowMapping, identity_store_id: str, user_id: str, scopes: list[str], now: dt.datetime
) -> dict[str, Any]:
    """CreateToken's output for a user who approved ``client``: a new session, its access token and,
    when ``scopes`` (the client's registered or the authorization's) include ``sso:account:access`` and
    the client may refresh, a refresh token. No scopes at all is the legacy flow (botocore's and
    aws-sso-util's device clients register none): its token reaches the portal API, for the whole
    session, without a refresh token, as AWS's did."""
    refresh = ACCOUNT_ACCESS in scopes and allows(client, REFRESH_GRANT)
    scopes = scopes or [ACCOUNT_ACCESS]
    session_id, ends = _new_session(conn, identity_store_id, user_id, client["client_id"], scopes, now)
    return _tokens(conn, session_id, refresh, now, ends)


def refresh(
    conn: Connection, client: RowMapping, refresh_token: str, now: dt.datetime
) -> tuple[dict[str, Any], str, str] | Refreshed:
    """The refresh token grant: the token spent (exactly once, across nodes: the UPDATE's row count) and
    a new access and refresh token of the same session; a spent token presented again revokes the
    session (the caller raises after the transaction commits, so the revocation stays). Returns
    (CreateToken's output, identity store id, user id)."""
    if not refresh_token or len(refresh_token) > opaque.MAX_SECRET:
        return Refreshed.UNKNOWN
    digest = opaque.digest(refresh_token)
    row = (
        conn.execute(
            select(
                _k.session_id,
                _k.expires_at,
                _k.used_at,
                _s.client_id,
                _s.identity_store_id,
                _s.user_id,
                _s.expires_at.label("ends"),
                _s.revoked_at,
            )
            .select_from(t.sso_oidc_tokens.join(t.sso_oidc_sessions, _s.session_id == _k.session_id))
            .where(_k.token_hash == digest, _k.kind == REFRESH)
        )
        .mappings()
        .first()
    )
    if row is None or row["client_id"] != client["client_id"]:
        return Refreshed.UNKNOWN
    if row["revoked_at"] is not None or row["ends"] <= now or row["expires_at"] <= now:
        return Refreshed.UNKNOWN
    if row["used_at"] is not None:
        revoke(conn, row["session_id"], now)
        return Refreshed.REUSED
    spent = conn.execute(
        update(t.sso_oidc_tokens).where(_k.token_hash == digest, _k.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if spent != 1:  # another node spent it at the same moment: a reuse all the same
        revoke(conn, row["session_id"], now)
        return Refreshed.REUSED
    # access tokens of the session past their time are of no more use (spent refresh tokens stay until
    # the session ends: their reuse must still be recognized)
    conn.execute(
        delete(t.sso_oidc_tokens).where(_k.session_id == row["session_id"], _k.kind == ACCESS, _k.expires_at <= now)
    )
    return _tokens(conn, row["session_id"], True, now, row["ends"]), row["identity_store_id"], row["user_id"]


_SESSION_OF = (
    select(_s.session_id, _s.identity_store_id, _s.user_id, _s.client_id, _s.scopes, _k.expires_at)
    .select_from(t.sso_oidc_tokens.join(t.sso_oidc_sessions, _s.session_id == _k.session_id))
    .where(_k.kind == ACCESS, _s.revoked_at.is_(None))
)


def session_of(conn: Connection, access_token: str, now: dt.datetime) -> Session | None:
    """The live session an access token belongs to, or None (unknown, expired, revoked)."""
    if not access_token or len(access_token) > opaque.MAX_SECRET:
        return None
    row = conn.execute(_SESSION_OF.where(_k.token_hash == opaque.digest(access_token))).mappings().first()
    if row is None or row["expires_at"] <= now:
        return None
    return Session(
        row["session_id"],
        row["identity_store_id"],
        row["user_id"],
        row["client_id"],
        list(row["scopes"] or []),
        row["expires_at"],
    )


def revoke(conn: Connection, session_id: str, now: dt.datetime) -> None:
    """End a session: marked revoked (its refresh tokens then refused) and its tokens deleted."""
    conn.execute(
        update(t.sso_oidc_sessions).where(_s.session_id == session_id, _s.revoked_at.is_(None)).values(revoked_at=now)
    )
    conn.execute(delete(t.sso_oidc_tokens).where(and_(_k.session_id == session_id, _k.kind == ACCESS)))


def revoke_session(conn: Connection, access_token: str) -> None:
    """The portal's sign-out and the API's Logout: the session of ``access_token`` ends (a token that is
    unknown or already revoked changes nothing)."""
    if not access_token or len(access_token) > opaque.MAX_SECRET:
        return
    session_id = conn.execute(
        select(_k.session_id).where(_k.token_hash == opaque.digest(access_token), _k.kind == ACCESS)
    ).scalar()
    if session_id is not None:
        revoke(conn, session_id, dt.datetime.now(dt.UTC))
