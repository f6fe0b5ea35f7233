"""A role session stored as Ostiary stored them before self-contained session tokens: an
``sts_sessions`` row with a random ``ASIA`` key id, the secret sealed and the token's SHA-256. Such
sessions keep working until they expire; tests insert them to prove it (and what they may do)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import Connection

from ostiary.crypto.secrets import SecretBox, new_secret_access_key
from ostiary.store import tables as t
from tests.conftest import ACCOUNT_ID


def insert_stored_role_session(
    conn: Connection, box: SecretBox, *, role_name: str, role_id: str, token: str, session_name: str, **extra: Any
) -> tuple[str, str]:
    """Insert the row (``extra``: more of its columns, e.g. session_tags, policy_arns); its (key id, secret)."""
    akid = "ASIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = new_secret_access_key()
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        t.sts_sessions.insert().values(
            access_key_id=akid,
            account_id=ACCOUNT_ID,
            secret_enc=box.seal(secret, akid),
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            role_name=role_name,
            role_path="/",
            role_id=role_id,
            session_name=session_name,
            expires_at=now + dt.timedelta(hours=1),
            created_at=now,
            kind="assumed-role",
            **extra,
        )
    )
    return akid, secret
