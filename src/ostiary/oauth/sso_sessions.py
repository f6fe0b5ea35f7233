"""Single-sign-on sessions of the hosted pages: the ``cognito`` cookie (one hour) that lets another
client of the same domain sign the user in without the password.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select

from ostiary.oauth.authorize_request import AuthorizeRequest
from ostiary.oauth.codes import digest
from ostiary.protocol.context import Runtime
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import session_tracking

SSO_SECONDS = 3600
SSO_COOKIE = "cognito"

_SSO = select(t.sso_sessions).where(t.sso_sessions.c.id_hash == bindparam("h"))


@dataclass(frozen=True)
class SsoSession:
    user_id: str
    auth_time: dt.datetime


def start_sso(
    runtime: Runtime,
    pool_id: str,
    user_id: str,
    request: AuthorizeRequest | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A new SSO session of a user who signed in at ``now``; where the pool tracks sessions, it gets
    a session id (kept in ``request`` for the tokens issued through it)."""
    value = secrets.token_urlsafe(32)
    now = now or dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        if secrets.randbelow(64) == 0:
            conn.execute(delete(t.sso_sessions).where(t.sso_sessions.c.expires_at < now))
        session_id = session_tracking.new_sso_id(conn, pool_id)
        conn.execute(
            insert(t.sso_sessions).values(
                id_hash=digest(value),
                user_pool_id=pool_id,
                user_id=user_id,
                auth_time=now,
                expires_at=now + dt.timedelta(seconds=SSO_SECONDS),
                created_at=now,
                session_id=session_id,
                client_id=request.client.id if request is not None and session_id else None,
            )
        )
    if request is not None:
        request.sso_session_id = session_id
    return value


def find_sso(
    runtime: Runtime, pool_id: str, value: str | None, request: AuthorizeRequest | None = None
) -> SsoSession | None:
    """The SSO session of a cookie; with ``request``, only if its client may reuse the session
    silently (session_tracking.sso_reusable), and the session's id is kept in ``request``."""
    if not value:
        return None
    now = dt.datetime.now(dt.UTC)
    with runtime.store.read() as conn:
        row = conn.execute(_SSO, {"h": digest(value)}).first()
        if row is None or row.user_pool_id != pool_id or utc(row.expires_at) <= now:
            return None
        if request is not None:
            if not session_tracking.sso_reusable(conn, pool_id, request.client.id, utc(row.auth_time), now):
                return None
            request.sso_session_id = row.session_id
    return SsoSession(row.user_id, utc(row.auth_time))


def end_sso(runtime: Runtime, value: str | None) -> None:
    if not value:
        return
    with runtime.store.tx() as conn:
        conn.execute(delete(t.sso_sessions).where(t.sso_sessions.c.id_hash == digest(value)))
