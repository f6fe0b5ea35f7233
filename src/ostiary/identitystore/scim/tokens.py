"""SCIM bearer tokens of an identity store. As AWS: an administrator generates them (``ostiary scim
token create``), at most two per instance, each valid one year, shown once. Only the token's sha256
is stored; a presented token is looked up by its hash and the hashes compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ostiary.store import tables as t

MAX_TOKENS = 2
LIFETIME = dt.timedelta(days=365)
MAX_TOKEN_LENGTH = 512  # a longer Authorization value is refused before hashing
_PREFIX = "ostscim_"

scim_tokens = t.scim_tokens


class TokenLimit(Exception):
    """The store has MAX_TOKENS tokens already."""


@dataclass(frozen=True)
class Created:
    token_id: str
    token: str  # shown once
    expires_at: dt.datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, store_id: str, now: dt.datetime) -> Created:
    count = conn.execute(
        select(func.count()).select_from(scim_tokens).where(scim_tokens.c.identity_store_id == store_id)
    ).scalar_one()
    if count >= MAX_TOKENS:
        raise TokenLimit(f"The identity store {store_id} has {MAX_TOKENS} SCIM tokens already: delete one first")
    token = _PREFIX + secrets.token_urlsafe(48)
    token_id = secrets.token_hex(16)
    expires = now + LIFETIME
    conn.execute(
        insert(scim_tokens).values(
            token_id=token_id,
            identity_store_id=store_id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=expires,
            last_used_at=None,
        )
    )
    return Created(token_id, token, expires)


def listing(conn: Connection, store_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(scim_tokens.c.token_id, scim_tokens.c.created_at, scim_tokens.c.expires_at, scim_tokens.c.last_used_at)
        .where(scim_tokens.c.identity_store_id == store_id)
        .order_by(scim_tokens.c.created_at)
    ).mappings()
    return [dict(r) for r in rows]


def remove(conn: Connection, store_id: str, token_id: str) -> bool:
    result = conn.execute(
        delete(scim_tokens).where(scim_tokens.c.identity_store_id == store_id, scim_tokens.c.token_id == token_id)
    )
    return bool(result.rowcount)


def authenticate(conn: Connection, store_id: str, token: str, now: dt.datetime) -> str | None:
    """The id of the valid token of this store that ``token`` is, or None (unknown, expired, another
    store's). Its last use is recorded at most once a minute."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = _hash(token)
    row = (
        conn.execute(
            select(
                scim_tokens.c.token_id, scim_tokens.c.token_hash, scim_tokens.c.expires_at, scim_tokens.c.last_used_at
            ).where(scim_tokens.c.token_hash == digest, scim_tokens.c.identity_store_id == store_id)
        )
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest) or row["expires_at"] <= now:
        return None
    last = row["last_used_at"]
    if last is None or now - last > dt.timedelta(minutes=1):
        conn.execute(update(scim_tokens).where(scim_tokens.c.token_id == row["token_id"]).values(last_used_at=now))
    return str(row["token_id"])
