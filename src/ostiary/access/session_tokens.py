"""Self-contained session tokens of role sessions (AWS's design: the token carries the session).

A role session (AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML, identity pools'
GetCredentialsForIdentity) is not stored: its session token *is* the session, sealed by the service.
Issuing writes no row and a signed call opens the token (``open_token``); nothing but the deployment's
KEK can make or read one. GetSessionToken and GetFederationToken sessions, and role sessions issued
before this format (or too large for it, ``seal`` answers None), keep their ``sts_sessions`` rows;
``Session.from_row`` gives the same facts for them, so every reader (SigV4 resolution, authorization,
role chaining, Cognito Sync) reads one shape whatever the session's origin.

Format (version 1), base64 (standard alphabet, as AWS's tokens) of::

    b"OS\\x01" | nonce (12 bytes) | AES-256-GCM(payload), associated data b"OS\\x01" + access key id

The 3-byte header makes every version-1 token start with ``T1MB``; the associated data binds the
token to its access key id (a token presented with another key id does not open) and to its version.
The payload is one flag byte (0: orjson, 1: zlib of orjson, whichever is shorter) and the session's
facts with short keys (empty ones omitted), the secret access key among them. The key is
``SecretBox.aead("sts session tokens")``: derived from the KEK for this purpose alone.

A token longer than ``MAX_TOKEN_CHARS`` is neither issued (the session gets a row instead: a rare
session with large SAML attributes) nor opened (refused before any decoding).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag

from ostiary.crypto.secrets import SecretBox

HEADER = b"OS\x01"  # "OS" + format version 1
PREFIX = base64.b64encode(HEADER).decode("ascii")  # "T1MB": how a version-1 token is recognised
PURPOSE = "sts session tokens"  # the KEK-derived key's purpose (SecretBox.aead)
MAX_TOKEN_CHARS = 4096  # issued and accepted; larger sessions keep a row
_NONCE = 12
_TAG = 16
_PLAIN = 0
_ZLIB = 1
_MIN_RAW = len(HEADER) + _NONCE + _TAG + 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, eq=False)
class Session:
    """The facts of a session that readers need (never its secret): the same whether they came from a
    self-contained token or from an ``sts_sessions`` row (``self_contained`` says which)."""

    access_key_id: str
    account_id: str
    kind: str  # assumed-role | user | root | federated-user
    role_name: str  # for user/federated-user sessions: the IAM user's name (or "root")
    role_path: str
    role_id: str  # the role's (or the user's) unique id
    session_name: str
    issued_at: dt.datetime  # aws:TokenIssueTime
    expires_at: dt.datetime
    session_policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    session_tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    federation: dict[str, Any] | None = None
    mfa_auth_time: dt.datetime | None = None
    self_contained: bool = False

    @classmethod
    def from_row(cls, row: Any) -> Session:
        """The facts of an ``sts_sessions`` row (GetSessionToken, GetFederationToken, older role sessions)."""
        return cls(
            access_key_id=row.access_key_id,
            account_id=row.account_id,
            kind=row.kind,
            role_name=row.role_name,
            role_path=row.role_path,
            role_id=row.role_id,
            session_name=row.session_name,
            issued_at=_aware(row.created_at),
            expires_at=_aware(row.expires_at),
            session_policy=row.session_policy,
            policy_arns=tuple(row.policy_arns or ()),
            session_tags=dict(row.session_tags or {}),
            transitive_tag_keys=tuple(row.transitive_tag_keys or ()),
            source_identity=row.source_identity,
            federation=row.federation,
            mfa_auth_time=_aware(row.mfa_auth_time) if row.mfa_auth_time is not None else None,
        )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _micros(value: dt.datetime) -> int:
    return (_aware(value) - _EPOCH) // dt.timedelta(microseconds=1)


def _from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


def is_self_contained(token: str | None) -> bool:
    """Whether ``token`` has the version-1 prefix (an older random token has it with odds 2^-24: the
    resolution falls back to the row when such a token does not open)."""
    return token is not None and token.startswith(PREFIX)


# --- access key ids carrying their account (AWS's layout) -------------------------------------------

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_session_key_id(account_id: str) -> str:
    """``ASIA`` + 16 base32 characters (80 bits) encoding the account as AWS does: of the first 48 bits,
    bits 46…7 are the 12-digit account id (40 bits), the top bit and the low 7 bits random, then 32
    random bits: 40 random bits in all. A key id is an identifier, not a credential (the secret and
    the token are); two sessions drawing the same key id would still each need their own secret."""
    account = int(account_id)
    rand = int.from_bytes(os.urandom(5), "big")  # 40 bits
    head = ((rand >> 39) & 1) << 47 | account << 7 | (rand >> 32) & 0x7F
    value = head << 32 | rand & 0xFFFFFFFF
    return "ASIA" + "".join(_B32[(value >> (75 - 5 * i)) & 31] for i in range(16))


def account_of_key_id(akid: str) -> str | None:
    """The account a key id in AWS's layout encodes (any ``ASIA``/``AKIA`` + 16 base32 characters),
    or None when it is not in that shape or the value is not a 12-digit account id."""
    body = akid[4:]
    if len(akid) != 20 or len(body) != 16:
        return None
    value = 0
    for ch in body:
        index = _B32.find(ch)
        if index < 0:
            return None
        value = value << 5 | index
    account = (value >> 32 >> 7) & ((1 << 40) - 1)
    return f"{account:012d}" if account < 10**12 else None


# --- sealing and opening ------------------------------------------------------------------------------


def _pack(secret: str, s: Session) -> bytes:
    facts: dict[str, Any] = {
        "k": secret,
        "a": s.account_id,
        "r": s.role_name,
        "p": s.role_path,
        "i": s.role_id,
        "n": s.session_name,
        "t": _micros(s.issued_at),
        "e": _micros(s.expires_at),
    }
    optional: dict[str, Any] = {
        "sp": s.session_policy,
        "pa": list(s.policy_arns),
        "tg": s.session_tags,
        "tt": list(s.transitive_tag_keys),
        "si": s.source_identity,
        "f": s.federation,
        "m": _micros(s.mfa_auth_time) if s.mfa_auth_time is not None else None,
    }
    facts.update({k: v for k, v in optional.items() if v})
    plain = orjson.dumps(facts)
    packed = zlib.compress(plain, 6)
    return bytes([_ZLIB]) + packed if len(packed) < len(plain) else bytes([_PLAIN]) + plain


def seal(box: SecretBox, secret: str, session: Session) -> str | None:
    """The session token of a new role session (``session.kind`` assumed-role), or None when it would
    exceed MAX_TOKEN_CHARS (the caller then stores a row, as before)."""
    nonce = os.urandom(_NONCE)
    aad = HEADER + session.access_key_id.encode("ascii")
    sealed = box.aead(PURPOSE).encrypt(nonce, _pack(secret, session), aad)
    token = base64.b64encode(HEADER + nonce + sealed).decode("ascii")
    return token if len(token) <= MAX_TOKEN_CHARS else None


def open_token(box: SecretBox, akid: str, token: str) -> tuple[str, Session] | None:
    """The secret and facts a version-1 token carries, or None when it is not one this deployment sealed
    for ``akid`` (another format or version, altered, truncated, oversized, another KEK, another key
    id). Expiry is the caller's to check (SigV4 answers ExpiredToken, as for a stored session)."""
    if len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX) or not akid.isascii():
        return None
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _MIN_RAW or raw[: len(HEADER)] != HEADER:
        return None
    nonce = raw[len(HEADER) : len(HEADER) + _NONCE]
    try:
        payload = box.aead(PURPOSE).decrypt(nonce, raw[len(HEADER) + _NONCE :], HEADER + akid.encode("ascii"))
    except InvalidTag:
        return None
    try:  # sealed by this deployment: malformed contents would be a bug, refused all the same
        body = payload[1:]
        if payload[0] == _ZLIB:
            decompressor = zlib.decompressobj()
            body = decompressor.decompress(body, 8 * MAX_TOKEN_CHARS)
        facts = orjson.loads(body)
        session = Session(
            access_key_id=akid,
            account_id=facts["a"],
            kind="assumed-role",
            role_name=facts["r"],
            role_path=facts["p"],
            role_id=facts["i"],
            session_name=facts["n"],
            issued_at=_from_micros(facts["t"]),
            expires_at=_from_micros(facts["e"]),
            session_policy=facts.get("sp"),
            policy_arns=tuple(facts.get("pa") or ()),
            session_tags=dict(facts.get("tg") or {}),
            transitive_tag_keys=tuple(facts.get("tt") or ()),
            source_identity=facts.get("si"),
            federation=facts.get("f"),
            mfa_auth_time=_from_micros(facts["m"]) if facts.get("m") is not None else None,
            self_contained=True,
        )
        return str(facts["k"]), session
    except (KeyError, TypeError, ValueError, zlib.error, orjson.JSONDecodeError):
        return None
