"""USER_SRP_AUTH → PASSWORD_VERIFIER: Secure Remote Password sign-in (Cognito Developer Guide,
"User pool authentication flow", SRP; API Reference: InitiateAuth SRP_A, RespondToAuthChallenge
PASSWORD_VERIFIER; RFC 5054 for the protocol, ``ostiary.userpools.srp`` for the arithmetic).

The challenge state travels sealed in the SECRET_BLOCK (nothing is written at InitiateAuth), and is
spent once, by a marker in the store (``ostiary.store.markers``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, delete

from ostiary.crypto.secrets import SecretBox
from ostiary.store import markers
from ostiary.store import tables as t
from ostiary.userpools import directory, existence, lockout, srp, threat_protection
from ostiary.userpools.directory import User
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.signin.challenge_sessions import session_validity
from ostiary.userpools.signin.context import INCORRECT, SESSION_EXPIRED, SignIn, check_secret_hash_for, require
from ostiary.userpools.signin.password import after_password, find_for_signin, gate, pre_authentication

# The PASSWORD_VERIFIER challenge state (b, B, A, v, the user, the deadline) travels in the
# SECRET_BLOCK, sealed with the server's AES-GCM key and bound to the pool and client: InitiateAuth
# writes nothing. The block is single-use: the transaction that ends the attempt (tokens or a
# recorded failure) inserts a marker keyed by an HMAC of the block (one the client cannot compute,
# so no other flow can touch it), and a second insert of the same marker refuses the replay. The
# marker outlives the block's deadline by SRP_MARKER_MARGIN (clock differences between processes).
SRP_BLOCK_CONTEXT = "srp-challenge:"


SRP_MARKER_CHALLENGE = "PASSWORD_VERIFIER_USED"


SRP_MARKER_MARGIN = dt.timedelta(minutes=10)


_INT_BYTES = 384  # 3072 bits


@dataclass(frozen=True)
class SrpState:
    user_id: str
    user_id_for_srp: str
    fake: bool
    device_key: str | None
    expires: dt.datetime
    custom: list[dict[str, Any]] | None
    b: int
    big_b: int
    verifier: int
    big_a: int


def seal_srp_state(box: SecretBox, pool_id: str, client_id: str, st: SrpState) -> bytes:
    # fixed-width values where a real and an unknown user differ (the flag, a UUID either way, whole
    # seconds), so that the SECRET_BLOCK's length does not tell them apart
    head = orjson.dumps(
        {
            "u": st.user_id,
            "n": st.user_id_for_srp,
            "f": int(st.fake),
            "d": st.device_key,
            "e": int(st.expires.timestamp()),
            "c": st.custom,
        }
    )
    a = st.big_a.to_bytes(max(_INT_BYTES, (st.big_a.bit_length() + 7) // 8), "big")
    plain = b"".join(
        (
            len(head).to_bytes(4, "big"),
            head,
            st.b.to_bytes(srp.SERVER_EXPONENT_BITS // 8, "big"),
            st.big_b.to_bytes(_INT_BYTES, "big"),
            st.verifier.to_bytes(_INT_BYTES, "big"),
            a,
        )
    )
    return box.seal_bytes(plain, f"{SRP_BLOCK_CONTEXT}{pool_id}:{client_id}")


def open_srp_state(box: SecretBox, pool_id: str, client_id: str, block: bytes) -> SrpState | None:
    """The sealed state of a SECRET_BLOCK issued for this pool and client; None when it is not one."""
    try:
        plain = box.open_bytes(block, f"{SRP_BLOCK_CONTEXT}{pool_id}:{client_id}")
    except ValueError:
        return None
    size = int.from_bytes(plain[:4], "big")
    head = orjson.loads(plain[4 : 4 + size])
    at = 4 + size
    exp_bytes = srp.SERVER_EXPONENT_BITS // 8
    b = int.from_bytes(plain[at : at + exp_bytes], "big")
    at += exp_bytes
    big_b = int.from_bytes(plain[at : at + _INT_BYTES], "big")
    verifier = int.from_bytes(plain[at + _INT_BYTES : at + 2 * _INT_BYTES], "big")
    big_a = int.from_bytes(plain[at + 2 * _INT_BYTES :], "big")
    return SrpState(
        user_id=head["u"],
        user_id_for_srp=head["n"],
        fake=bool(head["f"]),
        device_key=head["d"],
        expires=dt.datetime.fromtimestamp(head["e"], dt.UTC),
        custom=head["c"],
        b=b,
        big_b=big_b,
        verifier=verifier,
        big_a=big_a,
    )


def _consume_srp(s: SignIn, conn: Connection, block: bytes, st: SrpState) -> None:
    """Mark a SECRET_BLOCK used, in the transaction that ends the attempt; NotAuthorizedException
    when it was used before (the transaction is then rolled back)."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    marker = hmac.new(ctx.box.mac_key("srp-secret-block"), block, hashlib.sha256).hexdigest()
    if secrets.randbelow(64) == 0:  # now and then, sweep challenge sessions and markers past their time
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.expires_at < now))
    values = {
        "id": marker,
        "user_pool_id": pool.id,
        "client_id": client.id,
        "username": st.user_id_for_srp[:128],
        "challenge": SRP_MARKER_CHALLENGE,
        "state": {},
        "expires_at": max(st.expires, now) + SRP_MARKER_MARGIN,
    }
    if not markers.spend_auth_session_marker(conn, ctx.store.is_sqlite, values):
        raise NotAuthorizedException(SESSION_EXPIRED)


def srp_start(s: SignIn, auth: dict[str, str], custom: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The PASSWORD_VERIFIER challenge (``custom``: the rounds of a CUSTOM_AUTH flow that started
    with SRP). Reads only: the state is sealed into the SECRET_BLOCK."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(auth, "USERNAME", "SRP_A")
    username = auth["USERNAME"]
    try:
        big_a = srp.parse_hex(auth["SRP_A"])
    except srp.SrpError:
        raise InvalidParameterException("SRP_A is not a valid hexadecimal value") from None
    if big_a % srp.N == 0:
        raise NotAuthorizedException(INCORRECT)
    with ctx.store.read() as conn:
        user = find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        counted = lockout.subject(ctx.box, pool, user, username)
        check = lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now)
    if check.locked:
        raise lockout.refused(ctx, pool, user, check)
    pre_authentication(ctx, pool, client, user, auth)
    # An unknown user (or one without a password) gets a challenge no proof can answer, made like a
    # real one (RFC 5054 §2.5.1.3): a salt and verifier derived from the name under a server key, so
    # stable per pool and name, and the phantom id; derived for every user, to do the same work.
    phantom_salt, phantom_verifier = existence.srp_material(ctx.box, pool, username)
    if user is not None and user.srp_verifier and user.srp_salt:
        salt, verifier, fake = user.srp_salt, srp.open_verifier(ctx.box, pool.id, user.srp_verifier), False
        user_id_for_srp, user_id = user.username, user.id
    else:
        salt, verifier, fake = phantom_salt, phantom_verifier, True
        user_id_for_srp = user.username if user is not None else existence.user_id_for_srp(ctx.box, pool, username)
        user_id = counted
    eph = srp.server_ephemeral(verifier)
    state = SrpState(
        user_id=user_id,
        user_id_for_srp=user_id_for_srp,
        fake=fake,
        device_key=auth.get("DEVICE_KEY"),
        expires=now + session_validity(client),
        custom=custom,
        b=eph.b,
        big_b=eph.B,
        verifier=verifier,
        big_a=big_a,
    )
    secret_block = base64.b64encode(seal_srp_state(ctx.box, pool.id, client.id, state)).decode()
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": salt,
            "SECRET_BLOCK": secret_block,
            "SRP_B": format(eph.B, "x"),
            "USERNAME": user_id_for_srp,
            "USER_ID_FOR_SRP": user_id_for_srp,
        },
    }


class ResumeCustom(Protocol):
    """``custom.custom_next``: back to DefineAuthChallenge after the SRP round of a CUSTOM_AUTH flow
    (passed in by the caller: custom.py starts SRP through this module, so this one cannot import it)."""

    def __call__(self, s: SignIn, conn: Connection, who: User, rounds: list[dict[str, Any]]) -> dict[str, Any]: ...


def srp_verify(s: SignIn, answers: dict[str, str], resume_custom: ResumeCustom) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "USERNAME")
    try:
        secret_block = base64.b64decode(answers["PASSWORD_CLAIM_SECRET_BLOCK"], validate=True)
    except (binascii.Error, ValueError):
        raise NotAuthorizedException(INCORRECT) from None
    st = open_srp_state(ctx.box, pool.id, client.id, secret_block)
    if st is None or st.expires < now:
        raise NotAuthorizedException(SESSION_EXPIRED)
    try:
        check_secret_hash_for(client, [answers["USERNAME"], st.user_id_for_srp], answers.get("SECRET_HASH"))
    except NotAuthorizedException:
        with ctx.store.tx() as conn:  # the block is spent all the same
            _consume_srp(s, conn, secret_block, st)
        raise
    ok = False
    if srp.parse_timestamp(answers["TIMESTAMP"]) is not None:
        try:  # the same work for an unknown user (its phantom verifier) as for a real one
            key = srp.server_session_key(st.big_a, st.big_b, st.b, st.verifier)
            ok = srp.verify_claim(
                key,
                pool.srp_group,
                st.user_id_for_srp,
                secret_block,
                answers["TIMESTAMP"],
                answers["PASSWORD_CLAIM_SIGNATURE"],
            )
        except srp.SrpError:
            ok = False
    ok = ok and not st.fake
    with ctx.store.tx() as conn:
        _consume_srp(s, conn, secret_block, st)
        user = directory.get_by_id(conn, pool, st.user_id) if st.user_id else None
        if not ok or user is None:
            # a user's failures, or an unknown name's under its phantom id (st.user_id either way)
            lockout.failed(ctx, conn, pool, user, st.user_id or None, NotAuthorizedException(INCORRECT))
            threat_protection.record_sign_in(ctx, conn, pool, user, None)
        else:
            if lockout.is_locked(conn, pool.id, user.id, ctx.source_ip, now).locked:
                raise NotAuthorizedException("Password attempts exceeded")
            if st.custom is not None:  # CUSTOM_AUTH with SRP first: back to DefineAuthChallenge
                gate(pool, user, now)
                rounds = [
                    *st.custom,
                    {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True, "challengeMetadata": None},
                ]
                return resume_custom(s, conn, user, rounds)
            device_key = answers.get("DEVICE_KEY") or st.device_key
            result = after_password(s, conn, user, device_key=device_key)
            threat_protection.record_sign_in(ctx, conn, pool, user, result)
            return result
    raise NotAuthorizedException(INCORRECT)
