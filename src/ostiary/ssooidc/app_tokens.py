"""CreateTokenWithIAM's sessions and tokens (trusted identity propagation): one directory user's session
with one application (its ARN is the OAuth client), the scopes granted, its opaque access tokens and
rotating refresh tokens (sha256 at rest, as ``tokens.py``'s), and the ID token the instance signs.

These sessions are apart from the portal's (``tokens.py``): an application's token never reaches the
portal API (``sso``), and a portal token is never an application's. A session lives the instance's
session duration; its access tokens an hour at most; a refresh token is spent once, and a spent one
presented again revokes the session (OAuth 2.0 Security BCP §4.14).

The ID token (IAM Identity Center OIDC API Reference, CreateTokenWithIAM; User Guide, "Trusted
identity propagation"): ``iss`` ``https://identitycenter.amazonaws.com/<instance id>``, ``sub`` the
user id, ``aud`` the application, ``aws:identity_store_id``, ``aws:identity_store_arn``,
``aws:instance_arn``, ``aws:instance_account``, ``sts:identity_context`` and ``act`` (who vouched for
the user: a trusted token issuer's ARN for the JWT bearer grant), signed RS256 by the instance's key.
The identity context is an opaque assertion: the user, store, instance and application sealed under the
server's key (``crypto/identity_context``), readable only by Ostiary (STS AssumeRole's ProvidedContexts).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.crypto import identity_context as identity
from ostiary.crypto import jwt
from ostiary.crypto.keys import create_keys
from ostiary.protocol.context import RequestContext
from ostiary.ssoadmin.applications import identity_store_arn
from ostiary.ssoadmin.instances import key_owner
from ostiary.ssooidc import opaque
from ostiary.ssooidc.tokens import ACCESS, ACCESS_PREFIX, ACCESS_WITH_REFRESH, REFRESH, REFRESH_PREFIX, session_seconds
from ostiary.store import tables as t

ACCESS_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
ISSUER = "https://identitycenter.amazonaws.com/"

_s, _k = t.sso_oidc_app_sessions.c, t.sso_oidc_app_tokens.c


@dataclass(frozen=True)
class User:
    """Who a token is for, and through which application."""

    application_arn: str
    instance_arn: str
    account_id: str  # the instance's
    identity_store_id: str
    user_id: str


@dataclass(frozen=True)
class Session:
    """What a live access token stands for."""

    session_id: str
    application_arn: str
    identity_store_id: str
    user_id: str
    scopes: list[str]


class Refreshed(Enum):
    UNKNOWN = "unknown"
    REUSED = "reused"


def ensure_keys(ctx: RequestContext, instance_arn: str) -> None:
    """The instance's signing keys, created (in a transaction of their own) before its first token."""
    owner = key_owner(instance_arn)
    with ctx.store.read() as conn:
        found = conn.execute(
            select(t.signing_keys.c.kid).where(t.signing_keys.c.owner == owner, t.signing_keys.c.status == "active")
        ).first()
    if found is None:
        with ctx.store.tx() as conn:
            create_keys(conn, ctx.box, owner)
        ctx.keys.forget(owner)


def identity_context(ctx: RequestContext, user: User, expires: dt.datetime) -> str:
    """The opaque identity context assertion of ``user`` (``crypto/identity_context``), valid until
    ``expires``: what STS AssumeRole's ProvidedContexts reads back."""
    return identity.seal(
        ctx.box,
        identity.IdentityContext(
            user.user_id,
            user.identity_store_id,
            identity_store_arn(user.account_id, user.identity_store_id),
            user.instance_arn,
            user.application_arn,
            int(expires.timestamp()),
        ),
    )


def _mint(conn: Connection, session_id: str, kind: str, now: dt.datetime, expires: dt.datetime) -> str:
    token = opaque.new(ACCESS_PREFIX if kind == ACCESS else REFRESH_PREFIX, 32)
    conn.execute(
        insert(t.sso_oidc_app_tokens).values(
            token_hash=opaque.digest(token), session_id=session_id, kind=kind, created_at=now, expires_at=expires
        )
    )
    return token


def _answer(
    ctx: RequestContext,
    conn: Connection,
    user: User,
    session_id: str,
    scopes: list[str],
    refresh: bool,
    ends: dt.datetime,
    actor: str | None,
) -> dict[str, Any]:
    now = ctx.now
    access_ends = min(ends, now + ACCESS_WITH_REFRESH)
    context = identity_context(ctx, user, access_ends)
    claims: dict[str, Any] = {
        "iss": ISSUER + user.instance_arn.rsplit("/", 1)[-1],
        "sub": user.user_id,
        "aud": user.application_arn,
        "aws:identity_store_id": user.identity_store_id,
        "aws:identity_store_arn": identity_store_arn(user.account_id, user.identity_store_id),
        "aws:instance_arn": user.instance_arn,
        "aws:instance_account": user.account_id,
        "aws:credential_id": session_id,
        "sts:identity_context": context,
        "auth_time": now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "iat": int(now.timestamp()),
        "exp": int(access_ends.timestamp()),
    }
    if actor:
        claims["act"] = {"sub": actor}
    key = ctx.keys.signing_key(key_owner(user.instance_arn), "id")
    out: dict[str, Any] = {
        "accessToken": _mint(conn, session_id, ACCESS, now, access_ends),
        "tokenType": "Bearer",
        "expiresIn": max(int((access_ends - now).total_seconds()), 1),
        "idToken": jwt.sign(claims, key.kid, key.private),
        "issuedTokenType": ACCESS_TYPE,
        "scope": scopes,
        "awsAdditionalDetails": {"identityContext": context},
    }
    if refresh:
        out["refreshToken"] = _mint(conn, session_id, REFRESH, now, ends)
        out["issuedTokenType"] = REFRESH_TYPE
    return out


def _sweep(conn: Connection, now: dt.datetime) -> None:
    if secrets.randbelow(64) == 0:
        ended = select(_s.session_id).where(_s.expires_at < now - dt.timedelta(days=1))
        conn.execute(delete(t.sso_oidc_app_tokens).where(_k.session_id.in_(ended)))
        conn.execute(delete(t.sso_oidc_app_sessions).where(_s.expires_at < now - dt.timedelta(days=1)))


def issue(
    ctx: RequestContext, conn: Connection, user: User, scopes: list[str], refresh: bool, actor: str | None
) -> dict[str, Any]:
    """A new session of ``user`` with the application and CreateTokenWithIAM's answer."""
    now = ctx.now
    _sweep(conn, now)
    session_id = uuid.uuid4().hex
    ends = now + dt.timedelta(seconds=session_seconds(conn, user.identity_store_id))
    conn.execute(
        insert(t.sso_oidc_app_sessions).values(
            session_id=session_id,
            application_arn=user.application_arn,
            identity_store_id=user.identity_store_id,
            user_id=user.user_id,
            scopes=scopes,
            refresh=refresh,
            created_at=now,
            expires_at=ends,
        )
    )
    return _answer(ctx, conn, user, session_id, scopes, refresh, ends, actor)


def revoke(conn: Connection, session_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(t.sso_oidc_app_sessions)
        .where(_s.session_id == session_id, _s.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    conn.execute(delete(t.sso_oidc_app_tokens).where(_k.session_id == session_id, _k.kind == ACCESS))


def refresh(
    ctx: RequestContext, conn: Connection, user_of: Any, application_arn: str, token: str, requested: list[str] | None
) -> dict[str, Any] | Refreshed:
    """The refresh token grant: the token spent once (the UPDATE's row count decides, across nodes) and
    new tokens of the same session, its scopes narrowed to ``requested`` when given (a scope it does not
    hold is refused by the caller first). ``user_of(identity_store_id, user_id)`` gives the User."""
    if not token or len(token) > opaque.MAX_SECRET:
        return Refreshed.UNKNOWN
    digest = opaque.digest(token)
    row = (
        conn.execute(
            select(
                _k.session_id, _k.expires_at, _k.used_at, _s.application_arn, _s.identity_store_id, _s.user_id,
                _s.scopes, _s.expires_at.label("ends"), _s.revoked_at,
            )
            .select_from(t.sso_oidc_app_tokens.join(t.sso_oidc_app_sessions, _s.session_id == _k.session_id))
            .where(_k.token_hash == digest, _k.kind == REFRESH)
        )
        .mappings()
        .first()
    )  # fmt: skip
    now = ctx.now
    if row is None or row["application_arn"] != application_arn:
        return Refreshed.UNKNOWN
    if row["revoked_at"] is not None or row["ends"] <= now or row["expires_at"] <= now:
        return Refreshed.UNKNOWN
    spent = 0
    if row["used_at"] is None:
        spent = conn.execute(
            update(t.sso_oidc_app_tokens).where(_k.token_hash == digest, _k.used_at.is_(None)).values(used_at=now)
        ).rowcount
    if spent != 1:  # presented again after rotation (or spent by another node at the same moment)
        revoke(conn, row["session_id"], now)
        return Refreshed.REUSED
    conn.execute(
        delete(t.sso_oidc_app_tokens).where(_k.session_id == row["session_id"], _k.kind == ACCESS, _k.expires_at <= now)
    )
    held = list(row["scopes"] or [])
    scopes = [s for s in held if requested is None or s in requested]
    if scopes != held:
        conn.execute(update(t.sso_oidc_app_sessions).where(_s.session_id == row["session_id"]).values(scopes=scopes))
    user = user_of(row["identity_store_id"], row["user_id"])
    return _answer(ctx, conn, user, row["session_id"], scopes, True, row["ends"], None)


def session_scopes(conn: Connection, token: str) -> list[str] | None:
    """The scopes a refresh token's session holds (None: no such refresh token)."""
    if not token or len(token) > opaque.MAX_SECRET:
        return None
    found = conn.execute(
        select(_s.scopes)
        .select_from(t.sso_oidc_app_tokens.join(t.sso_oidc_app_sessions, _s.session_id == _k.session_id))
        .where(_k.token_hash == opaque.digest(token), _k.kind == REFRESH)
    ).first()
    return None if found is None else list(found.scopes or [])


def session_of(conn: Connection, access_token: str, now: dt.datetime) -> Session | None:
    """The live application session an access token belongs to (None: unknown, expired, revoked)."""
    if not access_token or len(access_token) > opaque.MAX_SECRET:
        return None
    row = (
        conn.execute(
            select(_s.session_id, _s.application_arn, _s.identity_store_id, _s.user_id, _s.scopes, _k.expires_at)
            .select_from(t.sso_oidc_app_tokens.join(t.sso_oidc_app_sessions, _s.session_id == _k.session_id))
            .where(_k.token_hash == opaque.digest(access_token), _k.kind == ACCESS, _s.revoked_at.is_(None))
        )
        .mappings()
        .first()
    )
    if row is None or row["expires_at"] <= now:
        return None
    return Session(
        row["session_id"], row["application_arn"], row["identity_store_id"], row["user_id"], list(row["scopes"] or [])
    )
