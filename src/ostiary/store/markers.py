"""Single-use markers that belong to no user pool (user pools keep theirs in auth_sessions): a row
per spent thing, keyed by an HMAC the caller computes under a key of its own, until it expires.

``spend`` inserts the marker and says whether it was fresh; a second insert of the same marker, by
this process or another on the same database, finds it there (INSERT … ON CONFLICT DO NOTHING and
its row count), so exactly one caller wins.

``spend_auth_session_marker`` does the same in auth_sessions, for the markers user pools keep there
(the SRP SECRET_BLOCK of ``userpools.signin.srp_flow``, the federation state and nonce of
``oauth.federation``): the dialect-specific insert lives here, not in those services.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ostiary.store import tables as t

_MARK_SQLITE = (
    sqlite_insert(t.single_use_markers)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
)
_MARK_PG = (
    pg_insert(t.single_use_markers)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
)


def spend(conn: Connection, is_sqlite: bool, marker: str, purpose: str, expires_at: dt.datetime) -> bool:
    """Record ``marker`` (an HMAC hex digest) as spent until ``expires_at``; False when it already was."""
    now = dt.datetime.now(dt.UTC)
    if secrets.randbelow(64) == 0:  # now and then, sweep markers past their time
        conn.execute(delete(t.single_use_markers).where(t.single_use_markers.c.expires_at < now))
    values = {"id": marker, "purpose": purpose, "expires_at": expires_at}
    return bool(conn.execute(_MARK_SQLITE if is_sqlite else _MARK_PG, values).rowcount == 1)


# rowcount of an INSERT is reported only when asked for (preserve_rowcount; PostgreSQL says -1 otherwise)
_MARK_SESSION_SQLITE = (
    sqlite_insert(t.auth_sessions)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
)
_MARK_SESSION_PG = (
    pg_insert(t.auth_sessions).on_conflict_do_nothing(index_elements=["id"]).execution_options(preserve_rowcount=True)
)


def spend_auth_session_marker(conn: Connection, is_sqlite: bool, values: dict[str, Any]) -> bool:
    """Insert a single-use marker row into auth_sessions; False when it exists already (spent)."""
    return bool(conn.execute(_MARK_SESSION_SQLITE if is_sqlite else _MARK_SESSION_PG, values).rowcount == 1)
