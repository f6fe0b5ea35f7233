"""Challenge sessions: the ``Session`` of RespondToAuthChallenge, kept as auth_sessions rows, single
use, bound to the pool and the app client, valid for the client's AuthSessionValidity (API
Reference: RespondToAuthChallenge, Session; CreateUserPoolClient, AuthSessionValidity).

Also the sign-up session (API Reference: SignUp, ConfirmSignUp and InitiateAuth's Session), which
SignUp and ConfirmSignUp hand out for USER_AUTH's sign-in after sign-up (``choice.sign_up_sign_in``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.signin.context import SESSION_EXPIRED, AuthFlow, flow_allowed


def session_validity(client: ClientView) -> dt.timedelta:
    return dt.timedelta(minutes=int(client.config.get("AuthSessionValidity") or 3))


def new_session(
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    username: str,
    challenge: str,
    state: dict[str, Any],
    now: dt.datetime,
) -> str:
    session_id = secrets.token_urlsafe(48)
    if secrets.randbelow(64) == 0:  # now and then, sweep challenge sessions nobody answered
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.expires_at < now))
    conn.execute(
        insert(t.auth_sessions).values(
            id=session_id,
            user_pool_id=pool.id,
            client_id=client.id,
            username=username,
            challenge=challenge,
            state=state,
            expires_at=now + session_validity(client),
        )
    )
    return session_id


@dataclass
class Session:
    id: str
    username: str
    challenge: str
    state: dict[str, Any]


def take_session(
    conn: Connection, pool: PoolView, client: ClientView, session_id: str, challenge: str, now: dt.datetime
) -> Session:
    """A challenge session, used once: it is deleted whether or not the answer is right. Of two
    requests taking the same session at once (on two processes), the one whose delete finds the row
    gone is refused: the second delete waits for the first transaction and then deletes nothing."""
    row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).first()
    if row is None or row.user_pool_id != pool.id or row.client_id != client.id:
        raise NotAuthorizedException(SESSION_EXPIRED)
    if conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).rowcount != 1:
        raise NotAuthorizedException(SESSION_EXPIRED)  # taken by a concurrent request
    if utc(row.expires_at) < now:
        raise NotAuthorizedException(SESSION_EXPIRED)
    if row.challenge != challenge:
        raise InvalidParameterException(f"Invalid challenge name: expected {row.challenge}")
    return Session(row.id, row.username, row.challenge, dict(row.state))


# Sign-up then sign-in (API Reference: SignUp, ConfirmSignUp and InitiateAuth's Session): SignUp and
# ConfirmSignUp answer clients that allow USER_AUTH with a session that InitiateAuth (USER_AUTH,
# USERNAME and the Session) takes as the first factor: SignUp's stands for the password just chosen,
# ConfirmSignUp's for the confirmation code. Kept as auth_sessions rows of this kind, bound to the
# user and the client, single use, valid for the client's AuthSessionValidity; MFA applies after it.
SIGN_UP_SESSION = "SIGN_UP"


def sign_up_session(conn: Connection, pool: PoolView, client: ClientView, user: User, now: dt.datetime) -> str | None:
    """A sign-in session for a user who just signed up or confirmed (None unless the client allows USER_AUTH)."""
    if not flow_allowed(client, AuthFlow.USER_AUTH):
        return None
    return new_session(conn, pool, client, user.username, SIGN_UP_SESSION, {"user_id": user.id}, now)


def spend_sign_up_session(conn: Connection, pool: PoolView, client: ClientView, user: User, session_id: str) -> None:
    """Drop SignUp's session once ConfirmSignUp has given the user a new one."""
    conn.execute(
        delete(t.auth_sessions).where(
            t.auth_sessions.c.id == session_id,
            t.auth_sessions.c.user_pool_id == pool.id,
            t.auth_sessions.c.client_id == client.id,
            t.auth_sessions.c.challenge == SIGN_UP_SESSION,
            t.auth_sessions.c.username == user.username,
        )
    )
