"""Authorization codes (RFC 6749 §4.1.2): issued once the user is signed in, redeemed once at the
token endpoint; a replayed code revokes the tokens of its first redemption (RFC 9700 §4.5.3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select

from ostiary.oauth.authorize_request import AuthorizeRequest
from ostiary.protocol.context import Runtime
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import tokens

CODE_SECONDS = 300


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


_TAKE_CODE = select(t.oauth_codes).where(t.oauth_codes.c.code_hash == bindparam("h"))


def new_code(runtime: Runtime, request: AuthorizeRequest, user_id: str, auth_time: dt.datetime) -> str:
    code = str(uuid.uuid4())  # Cognito's codes are UUIDs
    now = dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        if secrets.randbelow(64) == 0:
            conn.execute(delete(t.oauth_codes).where(t.oauth_codes.c.expires_at < now))
        conn.execute(
            insert(t.oauth_codes).values(
                code_hash=digest(code),
                user_pool_id=request.pool.id,
                client_id=request.client.code_owner,  # a CIMD client's codes are its own
                user_id=user_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                auth_time=auth_time,
                expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
                sso_session_id=request.sso_session_id,
            )
        )
    return code


@dataclass(frozen=True)
class CodeGrant:
    pool_id: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: dt.datetime
    expires_at: dt.datetime
    sso_session_id: str | None = None


def code_lineage_id(runtime: Runtime, code: str) -> str:
    """The id of the refresh-token lineage a code's redemption starts: derived from the code under a
    key of the KEK, so a replay of the code (which is gone by then) still finds the tokens of its
    first redemption, and neither the lineage id (``origin_jti`` in the tokens) nor the store
    reveals the code."""
    mac = hmac.new(runtime.box.mac_key("oauth code lineage"), code.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


def take_code(runtime: Runtime, code: str) -> CodeGrant | None:
    """Redeem a code: it is deleted whatever happens next (single use). A code that is not (or no
    longer) there may be a replay: the tokens of its first redemption are revoked (RFC 6749 §4.1.2,
    RFC 9700 §4.5.3), and None is returned."""
    with runtime.store.tx() as conn:
        row = conn.execute(_TAKE_CODE, {"h": digest(code)}).first()
        taken = row is not None and (
            conn.execute(delete(t.oauth_codes).where(t.oauth_codes.c.code_hash == row.code_hash)).rowcount == 1
        )
        if not taken:
            tokens.revoke_lineage(conn, code_lineage_id(runtime, code), dt.datetime.now(dt.UTC))
            return None
    assert row is not None
    return CodeGrant(
        pool_id=row.user_pool_id,
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        scopes=list(row.scopes),
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        auth_time=utc(row.auth_time),
        expires_at=utc(row.expires_at),
        sso_session_id=row.sso_session_id,
    )
