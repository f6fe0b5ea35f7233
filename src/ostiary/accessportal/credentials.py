"""What a directory user signs in to the access portal with: a password, an authenticator app (TOTP),
one-time passwords an administrator sets, invitations; and the instance's MFA setting.

IAM Identity Center keeps these in its own directory; here they are rows of
``accessportal_credentials`` beside the identity store's user. Passwords are Argon2id (``ctx.passwords``,
as user pools), or the fast HMAC of a password the server generated (a one-time password of >= 128 bits
from ``ostiary sso set-password``); a one-time password must be changed at the next sign-in. The TOTP
secret is sealed under the KEK; a code is accepted once (``totp_last_step``). Invitation links carry a
random token of which only the sha256 is kept; one use, seven days (as AWS's invitation e-mails).

Password rules are IAM Identity Center's: 8 to 64 characters with an upper-case letter, a lower-case
letter, a number and a non-alphanumeric character.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from ostiary.crypto import totp
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox
from ostiary.store import tables as t

MIN_LENGTH = 8
MAX_LENGTH = 64
INVITATION_LIFETIME = dt.timedelta(days=7)
MFA_REQUIRED = "required"
MFA_OPTIONAL = "optional"
MFA_POLICIES = (MFA_REQUIRED, MFA_OPTIONAL)
PASSWORD_RULES = [
    f"{MIN_LENGTH} to {MAX_LENGTH} characters",
    "An uppercase letter",
    "A lowercase letter",
    "A number",
    "A character that is not a letter or a number",
]

_C = t.accessportal_credentials


@dataclass(frozen=True)
class Credentials:
    user_id: str
    identity_store_id: str
    password_hash: str | None
    temporary: bool
    totp_secret: str | None  # base32, opened
    totp_last_step: int | None

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None


def _totp_context(store_id: str, user_id: str, purpose: str) -> str:
    return f"accessportal-totp|{purpose}|{store_id}|{user_id}"


def get(conn: Connection, box: SecretBox, store_id: str, user_id: str) -> Credentials | None:
    row = conn.execute(select(_C).where(_C.c.user_id == user_id, _C.c.identity_store_id == store_id)).mappings().first()
    if row is None:
        return None
    secret = box.open(row["totp_secret"], _totp_context(store_id, user_id, "active")) if row["totp_secret"] else None
    return Credentials(
        user_id=user_id,
        identity_store_id=store_id,
        password_hash=row["password_hash"],
        temporary=bool(row["password_temporary"]),
        totp_secret=secret,
        totp_last_step=row["totp_last_step"],
    )


def _upsert(conn: Connection, store_id: str, user_id: str, now: dt.datetime, **values: Any) -> None:
    done = conn.execute(
        update(_C)
        .where(_C.c.user_id == user_id, _C.c.identity_store_id == store_id)
        .values(updated_at=now, **values)
        .execution_options(preserve_rowcount=True)
    ).rowcount
    if not done:
        defaults: dict[str, Any] = {"password_temporary": False}
        conn.execute(
            insert(_C).values(user_id=user_id, identity_store_id=store_id, updated_at=now, **{**defaults, **values})
        )


# -- passwords ------------------------------------------------------------------------------------------


def password_problem(password: str) -> str | None:
    """Why ``password`` does not meet the rules (a sentence for the page), or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long."
    if not any(c.isupper() for c in password):
        return "The password must contain an uppercase letter."
    if not any(c.islower() for c in password):
        return "The password must contain a lowercase letter."
    if not any(c.isdigit() for c in password):
        return "The password must contain a number."
    if all(c.isalnum() for c in password):
        return "The password must contain a character that is not a letter or a number."
    return None


def generate_password() -> str:
    """A one-time password the server draws: >= 128 bits, meets the rules."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(24))  # 24 x 5.95 bits
    return f"{body[:8]}-{body[8:16]}-{body[16:]}Aa1"


def set_password(
    conn: Connection,
    hasher: PasswordHasher,
    store_id: str,
    user_id: str,
    password: str,
    now: dt.datetime,
    *,
    temporary: bool,
    generated: bool = False,
) -> None:
    """Set the user's password (hash it outside a write transaction when you can: ``hash_for``)."""
    stored = hash_for(hasher, password, generated=generated)
    store_hash(conn, store_id, user_id, stored, now, temporary=temporary)


def hash_for(hasher: PasswordHasher, password: str, *, generated: bool = False) -> str:
    return hasher.hash_generated(password) if generated else hasher.hash(password)


def store_hash(
    conn: Connection, store_id: str, user_id: str, stored: str, now: dt.datetime, *, temporary: bool
) -> None:
    _upsert(conn, store_id, user_id, now, password_hash=stored, password_temporary=temporary, password_set_at=now)


def verify_password(hasher: PasswordHasher, creds: Credentials | None, password: str) -> bool:
    """Whether ``password`` is the user's; without a password (unknown user, none set yet) the same
    Argon2 work is done, so that the answer's time tells nothing."""
    if creds is None or not creds.password_hash:
        hasher.verify_dummy(password)
        return False
    return hasher.verify(creds.password_hash, password)


# -- TOTP -----------------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def begin_totp(conn: Connection, box: SecretBox, store_id: str, user_id: str, now: dt.datetime) -> str:
    """A new secret for the user's authenticator app, kept pending until a code of it is confirmed."""
    secret = new_totp_secret()
    sealed = box.seal(secret, _totp_context(store_id, user_id, "pending"))
    _upsert(conn, store_id, user_id, now, totp_pending=sealed)
    return secret


def pending_totp(conn: Connection, box: SecretBox, store_id: str, user_id: str) -> str | None:
    sealed = conn.execute(
        select(_C.c.totp_pending).where(_C.c.user_id == user_id, _C.c.identity_store_id == store_id)
    ).scalar()
    return box.open(sealed, _totp_context(store_id, user_id, "pending")) if sealed else None


def confirm_totp(conn: Connection, box: SecretBox, store_id: str, user_id: str, code: str, now: dt.datetime) -> bool:
    """Enrol the pending secret if ``code`` is one of its codes."""
    secret = pending_totp(conn, box, store_id, user_id)
    if secret is None:
        return False
    step = totp.totp_match(secret, code, now.timestamp(), None)
    if step is None:
        return False
    sealed = box.seal(secret, _totp_context(store_id, user_id, "active"))
    _upsert(conn, store_id, user_id, now, totp_secret=sealed, totp_pending=None, totp_last_step=step)
    return True


def check_totp(conn: Connection, creds: Credentials, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is a fresh code of the user's app; the step is spent (a conditional update:
    two requests with one code cannot both pass)."""
    if creds.totp_secret is None:
        return False
    step = totp.totp_match(creds.totp_secret, code, now.timestamp(), creds.totp_last_step)
    if step is None:
        return False
    last = _C.c.totp_last_step
    spent = conn.execute(
        update(_C)
        .where(_C.c.user_id == creds.user_id, (last.is_(None)) | (last < step))
        .values(totp_last_step=step, updated_at=now)
        .execution_options(preserve_rowcount=True)
    ).rowcount
    return spent == 1


def remove_totp(conn: Connection, store_id: str, user_id: str, now: dt.datetime) -> None:
    _upsert(conn, store_id, user_id, now, totp_secret=None, totp_pending=None, totp_last_step=None)


# -- the instance's MFA setting ---------------------------------------------------------------------------


def mfa_policy(instance: RowMapping) -> str:
    """``required``: every user signs in with an authenticator app (enrolled at the first sign-in);
    ``optional`` (default): users may enrol one from the portal."""
    value = (instance["settings"] or {}).get("mfa")
    return value if value in MFA_POLICIES else MFA_OPTIONAL


# -- invitations --------------------------------------------------------------------------------------------

_I = t.accessportal_invitations


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(conn: Connection, store_id: str, user_id: str, now: dt.datetime) -> str:
    """A new one-time invitation token (an earlier one of the user stops working)."""
    conn.execute(delete(_I).where(_I.c.user_id == user_id))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(_I).values(
            token_hash=_token_hash(token),
            user_id=user_id,
            identity_store_id=store_id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    return token


def invited_since(conn: Connection, user_id: str, since: dt.datetime) -> bool:
    """Whether the user got an invitation (or reset link) after ``since``."""
    found = conn.execute(select(_I.c.token_hash).where(_I.c.user_id == user_id, _I.c.created_at > since)).first()
    return found is not None


def invitation(conn: Connection, store_id: str, token: str, now: dt.datetime) -> str | None:
    """The user id an unexpired invitation of this store is for, or None."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        select(_I.c.user_id, _I.c.expires_at).where(
            _I.c.token_hash == _token_hash(token), _I.c.identity_store_id == store_id
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return str(row.user_id)


def spend_invitation(conn: Connection, store_id: str, token: str, now: dt.datetime) -> str | None:
    """Use an invitation up (a conditional delete: once only); the user id, or None."""
    user_id = invitation(conn, store_id, token, now)
    if user_id is None:
        return None
    gone = conn.execute(
        delete(_I).where(_I.c.token_hash == _token_hash(token)).execution_options(preserve_rowcount=True)
    ).rowcount
    return user_id if gone == 1 else None
