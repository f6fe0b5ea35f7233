"""Sign-in: InitiateAuth, RespondToAuthChallenge, their Admin variants, GetTokensFromRefreshToken,
RevokeToken, GlobalSignOut and AdminUserGlobalSignOut.

Flows and messages follow the Cognito API Reference (InitiateAuth, RespondToAuthChallenge) and
NOTES-cognito.md §2.2-2.5: USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH / ADMIN_NO_SRP_AUTH,
USER_SRP_AUTH → PASSWORD_VERIFIER, REFRESH_TOKEN_AUTH / REFRESH_TOKEN, NEW_PASSWORD_REQUIRED.
Password checks and SRP arithmetic are CPU-heavy: these operations run off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ostiary.crypto.secrets import SecretBox
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import (
    code_limits,
    devices,
    directory,
    existence,
    lockout,
    messages,
    mfa,
    passkeys,
    session_tracking,
    srp,
    threat_protection,
    tokens,
    triggers,
)
from ostiary.userpools import passwords as policy
from ostiary.userpools.claims import SignInEvent
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    CodeMismatchException,
    ExpiredCodeException,
    InvalidLambdaResponseException,
    InvalidParameterException,
    InvalidPasswordException,
    LimitExceededException,
    NotAuthorizedException,
    PasswordResetRequiredException,
    UnauthorizedException,
    UnsupportedOperationException,
    UserNotConfirmedException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import ClientView, client_and_pool, client_in_pool, pool_for_caller
from ostiary.userpools.secret_hash import check as check_secret_hash

INCORRECT = "Incorrect username or password."
SESSION_EXPIRED = "Invalid session for the user, session is expired."

# AuthFlow -> client ExplicitAuthFlows values that allow it (ALLOW_* and their legacy names)
FLOW_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "USER_PASSWORD_AUTH": ("ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"),
    "USER_SRP_AUTH": ("ALLOW_USER_SRP_AUTH",),
    "REFRESH_TOKEN_AUTH": ("ALLOW_REFRESH_TOKEN_AUTH",),
    "REFRESH_TOKEN": ("ALLOW_REFRESH_TOKEN_AUTH",),
    "ADMIN_USER_PASSWORD_AUTH": ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
    "ADMIN_NO_SRP_AUTH": ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
    "CUSTOM_AUTH": ("ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"),
    "USER_AUTH": ("ALLOW_USER_AUTH",),
}
LEGACY_FLOWS = frozenset({"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"})


def flow_allowed(client: ClientView, flow: str) -> bool:
    enabled = client.flows()
    if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "USER_SRP_AUTH") and (not enabled or enabled <= LEGACY_FLOWS):
        return True  # legacy clients (no ALLOW_* values) always allow SRP and refresh
    return any(p in enabled for p in FLOW_PERMISSIONS.get(flow, ()))


# --------------------------------------------------------------------------------------------
# helpers


def _require(params: dict[str, str], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise InvalidParameterException(f"Missing required parameter {name}")


def check_secret_hash_for(client: ClientView, usernames: list[str], given: str | None) -> None:
    """SECRET_HASH of a client with a secret, computed with any of ``usernames`` (what the caller typed,
    the canonical username, or the sub); NotAuthorizedException with Cognito's messages otherwise."""
    if client.secret is None:
        return
    if not given:
        raise NotAuthorizedException(f"Client {client.id} is configured with secret but SECRET_HASH was not received")
    if not any(check_secret_hash(secret, u, client.id, given) for secret in client.secrets() for u in usernames if u):
        raise NotAuthorizedException(f"Unable to verify secret hash for client {client.id}")


def _session_validity(client: ClientView) -> dt.timedelta:
    return dt.timedelta(minutes=int(client.config.get("AuthSessionValidity") or 3))


def _new_session(
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
            expires_at=now + _session_validity(client),
        )
    )
    return session_id


@dataclass
class _Session:
    id: str
    username: str
    challenge: str
    state: dict[str, Any]


def _take_session(
    conn: Connection, pool: PoolView, client: ClientView, session_id: str, challenge: str, now: dt.datetime
) -> _Session:
    """A challenge session, used once: it is deleted whether or not the answer is right."""
    row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).first()
    if row is None or row.user_pool_id != pool.id or row.client_id != client.id:
        raise NotAuthorizedException(SESSION_EXPIRED)
    conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
    if utc(row.expires_at) < now:
        raise NotAuthorizedException(SESSION_EXPIRED)
    if row.challenge != challenge:
        raise InvalidParameterException(f"Invalid challenge name: expected {row.challenge}")
    return _Session(row.id, row.username, row.challenge, dict(row.state))


# Sign-up then sign-in (API Reference: SignUp, ConfirmSignUp and InitiateAuth's Session): SignUp and
# ConfirmSignUp answer clients that allow USER_AUTH with a session that InitiateAuth (USER_AUTH,
# USERNAME and the Session) takes as the first factor: SignUp's stands for the password just chosen,
# ConfirmSignUp's for the confirmation code. Kept as auth_sessions rows of this kind, bound to the
# user and the client, single use, valid for the client's AuthSessionValidity; MFA applies after it.
SIGN_UP_SESSION = "SIGN_UP"


def sign_up_session(conn: Connection, pool: PoolView, client: ClientView, user: User, now: dt.datetime) -> str | None:
    """A sign-in session for a user who just signed up or confirmed (None unless the client allows USER_AUTH)."""
    if not flow_allowed(client, "USER_AUTH"):
        return None
    return _new_session(conn, pool, client, user.username, SIGN_UP_SESSION, {"user_id": user.id}, now)


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


def _sign_up_sign_in(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    user: User | None,
    session_id: str,
    auth: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    """InitiateAuth USER_AUTH with a sign-up session: the session is its user's first factor."""
    with ctx.store.tx() as conn:
        row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).first()
        bound = (
            row is not None
            and row.challenge == SIGN_UP_SESSION
            and row.user_pool_id == pool.id
            and row.client_id == client.id
            and user is not None
            and row.state.get("user_id") == user.id
        )
        if not bound:  # someone else's, another client's, another kind: refused, and left as it was
            raise NotAuthorizedException(SESSION_EXPIRED)
        assert row is not None and user is not None
        if utc(row.expires_at) < now:
            conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
            expired = True
        else:
            expired = False
            _gate(pool, user, now)  # not confirmed yet (SignUp's session): kept for after the confirmation
            taken = conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).rowcount
            if taken != 1:  # single use: a concurrent request took it first
                raise NotAuthorizedException(SESSION_EXPIRED)
    if expired:
        raise NotAuthorizedException(SESSION_EXPIRED)
    pre_authentication(ctx, pool, client, user, auth)
    with ctx.store.tx() as conn:
        return _mfa_or_finish(ctx, conn, pool, client, user, now)


def _gate(pool: PoolView, user: User, now: dt.datetime) -> None:
    """Status checks made once the password is known to be right."""
    if not user.enabled:
        raise NotAuthorizedException("User is disabled.")
    if user.status == "UNCONFIRMED":
        raise UserNotConfirmedException("User is not confirmed.")
    if user.status == "RESET_REQUIRED":
        raise PasswordResetRequiredException("Password reset required for the user")
    if user.status == "FORCE_CHANGE_PASSWORD":
        days = int((pool.config.get("AdminCreateUserConfig") or {}).get("UnusedAccountValidityDays") or 7)
        days = int(pool.password_policy.get("TemporaryPasswordValidityDays") or days)
        issued = user.password_updated_at or user.created_at
        if now > issued + dt.timedelta(days=days):
            raise NotAuthorizedException("Temporary password has expired and must be reset by an administrator.")


def _success(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    now: dt.datetime,
    device_key: str | None = None,
) -> dict[str, Any]:
    """Tokens; signed in through a device, they carry its key; otherwise, when the pool tracks
    devices, NewDeviceMetadata for the client to confirm."""
    lockout.record_success(conn, pool.id, user.id)
    post_authentication(ctx, pool, client, user, new_device=not device_key and devices.tracking(pool) is not None)
    user.groups = directory.groups_of(conn, pool.id, user.id)
    cfg = client.as_token_config()
    event, refresh = tokens.start_lineage(conn, pool, user, cfg, now, device_key=device_key, ip=ctx.source_ip)
    source = triggers.token_source_or(
        "TokenGeneration_AuthenticateDevice" if device_key else "TokenGeneration_Authentication"
    )
    result = tokens.mint(ctx.keys, ctx.settings, pool, cfg, user, event, now, device_key=device_key, source=source)
    result["RefreshToken"] = refresh
    if device_key:
        devices.touch(conn, device_key, now)
    elif devices.tracking(pool) is not None:
        result["NewDeviceMetadata"] = devices.new_device(conn, pool, user, now, ctx.source_ip)
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


# What ends a successful sign-in: tokens for the API (``_success``); the hosted UI passes its own
# (a single-sign-on session, tokens later at /oauth2/token).
# Called as finish(ctx, conn, pool, client, user, now[, device_key=…]).
Finisher = Callable[..., dict[str, Any]]


def _after_password(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    now: dt.datetime,
    finish: Finisher = _success,
    device_key: str | None = None,
) -> dict[str, Any]:
    _gate(pool, user, now)
    if user.status == "FORCE_CHANGE_PASSWORD":
        lockout.record_success(conn, pool.id, user.id)
        visible = {k: v for k, v in user.attributes.items() if not k.startswith("dev:")}
        visible.pop("email_verified", None)
        visible.pop("phone_number_verified", None)
        required = [
            f"userAttributes.{name}"
            for name, attr in pool.schema.items()
            if attr.get("Required") and name != "sub" and not user.attributes.get(name)
        ]
        session = _new_session(conn, pool, client, user.username, "NEW_PASSWORD_REQUIRED", {"user_id": user.id}, now)
        return {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": user.username,
                "requiredAttributes": json.dumps(required),
                "userAttributes": json.dumps(visible),
            },
        }
    if device_key and devices.tracking(pool) is not None:
        device = devices.find(conn, pool, device_key)
        if device is not None and device.user_id == user.id and device.confirmed and device.verifier:
            # a known device proves itself with its own SRP before MFA is considered
            state = {"user_id": user.id, "device_key": device.key}
            session = _new_session(conn, pool, client, user.username, "DEVICE_SRP_AUTH", state, now)
            return {"ChallengeName": "DEVICE_SRP_AUTH", "Session": session, "ChallengeParameters": {}}
    return _mfa_or_finish(ctx, conn, pool, client, user, now, finish)


def _find_for_signin(
    ctx: RequestContext, conn: Connection, pool: PoolView, client: ClientView, username: str
) -> User | None:
    user = directory.find(conn, pool, username)
    if user is None and not client.prevent_user_existence_errors:
        raise UserNotFoundException("User does not exist.")
    return user


def _password_signin(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    auth: dict[str, str],
    now: dt.datetime,
    *,
    finish: Finisher = _success,
    hosted: bool = False,
) -> dict[str, Any]:
    """A password sign-in; ``hosted``: from the hosted UI (no SECRET_HASH: the client's secret is
    checked at the token endpoint instead)."""
    _require(auth, "USERNAME", "PASSWORD")
    username, password = auth["USERNAME"], auth["PASSWORD"]
    migrated = False
    with ctx.store.read() as conn:
        known = directory.find(conn, pool, username)
    if known is None and triggers.configured(pool, "UserMigration"):
        if not hosted:
            check_secret_hash_for(client, [username], auth.get("SECRET_HASH"))
        known = _migrate(ctx, pool, client, username, password, auth, now)
        migrated = known is not None
    with ctx.store.read() as conn:
        user = known if migrated else _find_for_signin(ctx, conn, pool, client, username)
        if not hosted:
            check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        # an unknown name (user existence errors prevented) is counted and locked as a user is
        counted = lockout.subject(ctx.box, pool, user, username)
        if lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now):
            raise NotAuthorizedException("Password attempts exceeded")
    pre_authentication(ctx, pool, client, user, auth)
    if migrated:
        ok = True  # the migration function has just checked the password
    elif user is None or user.password_hash is None:
        ctx.passwords.verify_dummy(password)  # the same Argon2 work as a real user's check
        ok = False
    else:
        ok = ctx.passwords.verify(user.password_hash, password)
    with ctx.store.tx() as conn:
        if not ok:
            lockout.record_failure(conn, pool.id, counted, ctx.source_ip, now)
            threat_protection.record_sign_in(ctx, conn, pool, user, None)
        else:
            assert user is not None
            result = _after_password(ctx, conn, pool, client, user, now, finish, auth.get("DEVICE_KEY"))
            threat_protection.record_sign_in(ctx, conn, pool, user, result)
            return result
    raise NotAuthorizedException(INCORRECT)


def pre_authentication(
    ctx: RequestContext, pool: PoolView, client: ClientView, user: User | None, auth: dict[str, str]
) -> None:
    """The PreAuthentication trigger (it denies the sign-in by failing); once per request. An unknown
    user reaches it only when the client prevents user existence errors (``userNotFound``)."""
    threat_protection.screen(ctx, pool, client, user)  # ENFORCED threat protection: always-block addresses
    if not triggers.first_in_request("PreAuthentication"):
        return
    triggers.run(
        ctx.settings,
        pool,
        "PreAuthentication",
        "PreAuthentication_Authentication",
        user.username if user is not None else auth["USERNAME"],
        client.id,
        {
            "userAttributes": triggers.user_attributes(user) if user is not None else {},
            "validationData": triggers.validation_data(),
            "userNotFound": user is None,
        },
    )


def post_authentication(ctx: RequestContext, pool: PoolView, client: ClientView, user: User, new_device: bool) -> None:
    """The PostAuthentication trigger, before tokens are issued (a failure ends the sign-in)."""
    triggers.run(
        ctx.settings,
        pool,
        "PostAuthentication",
        "PostAuthentication_Authentication",
        user.username,
        client.id,
        {
            "userAttributes": triggers.user_attributes(user),
            "newDeviceUsed": new_device,
            "clientMetadata": triggers.client_metadata(),
        },
    )


def _migrate(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    username: str,
    password: str,
    auth: dict[str, str],
    now: dt.datetime,
) -> User | None:
    """UserMigration_Authentication: a user the pool does not know, looked up by the pool's migration
    function with the password; created with the attributes and status it answers."""
    from ostiary.userpools import attributes as attrs
    from ostiary.userpools.users import password_material, resolve_new_username

    response = triggers.run(
        ctx.settings,
        pool,
        "UserMigration",
        "UserMigration_Authentication",
        username,
        client.id,
        {"password": password, "validationData": triggers.validation_data(), "clientMetadata": {}},
    )
    if not response or not isinstance(response.get("userAttributes"), dict):
        return None
    values = attrs.normalize({str(k): str(v) for k, v in response["userAttributes"].items()})
    values.pop("sub", None)
    values.pop("cognito:user_status", None)
    attrs.check_values(pool, values, admin=True, creating=True)
    status = str(response.get("finalUserStatus") or "CONFIRMED")
    if status not in ("CONFIRMED", "RESET_REQUIRED"):
        raise InvalidLambdaResponseException("finalUserStatus must be CONFIRMED or RESET_REQUIRED")
    new_name = resolve_new_username(pool, username, values)
    material = password_material(ctx, pool, new_name, password)
    with ctx.store.tx() as conn:
        if directory.find(conn, pool, username) is not None:
            return None  # created meanwhile by another request: sign in normally
        user = directory.insert_user(conn, pool, username=new_name, status=status, attributes=values, now=now)
        directory.set_fields(conn, user, now, **material)
    if status == "RESET_REQUIRED":
        raise PasswordResetRequiredException("Password reset required for the user")
    return user


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
# rowcount of an INSERT is reported only when asked for (preserve_rowcount; PostgreSQL says -1 otherwise)
_MARK_SQLITE = (
    sqlite_insert(t.auth_sessions)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
)
_MARK_PG = (
    pg_insert(t.auth_sessions).on_conflict_do_nothing(index_elements=["id"]).execution_options(preserve_rowcount=True)
)


def insert_marker(conn: Connection, is_sqlite: bool, values: dict[str, Any]) -> bool:
    """Insert a single-use marker row into auth_sessions; False when it exists already (spent)."""
    return bool(conn.execute(_MARK_SQLITE if is_sqlite else _MARK_PG, values).rowcount == 1)


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


def _consume_srp(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    block: bytes,
    st: SrpState,
    now: dt.datetime,
) -> None:
    """Mark a SECRET_BLOCK used, in the transaction that ends the attempt; NotAuthorizedException
    when it was used before (the transaction is then rolled back)."""
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
    if not insert_marker(conn, ctx.store.is_sqlite, values):
        raise NotAuthorizedException(SESSION_EXPIRED)


def _srp_start(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    auth: dict[str, str],
    now: dt.datetime,
    custom: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The PASSWORD_VERIFIER challenge (``custom``: the rounds of a CUSTOM_AUTH flow that started
    with SRP). Reads only: the state is sealed into the SECRET_BLOCK."""
    _require(auth, "USERNAME", "SRP_A")
    username = auth["USERNAME"]
    try:
        big_a = srp.parse_hex(auth["SRP_A"])
    except srp.SrpError:
        raise InvalidParameterException("SRP_A is not a valid hexadecimal value") from None
    if big_a % srp.N == 0:
        raise NotAuthorizedException(INCORRECT)
    with ctx.store.read() as conn:
        user = _find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        counted = lockout.subject(ctx.box, pool, user, username)
        if lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now):
            raise NotAuthorizedException("Password attempts exceeded")
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
        expires=now + _session_validity(client),
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


def _srp_verify(
    ctx: RequestContext, pool: PoolView, client: ClientView, answers: dict[str, str], now: dt.datetime
) -> dict[str, Any]:
    _require(answers, "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "USERNAME")
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
            _consume_srp(ctx, conn, pool, client, secret_block, st, now)
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
        _consume_srp(ctx, conn, pool, client, secret_block, st, now)
        user = directory.get_by_id(conn, pool, st.user_id) if st.user_id else None
        if not ok or user is None:
            # a user's failures, or an unknown name's under its phantom id (st.user_id either way)
            lockout.record_failure(conn, pool.id, st.user_id or None, ctx.source_ip, now)
            threat_protection.record_sign_in(ctx, conn, pool, user, None)
        else:
            if lockout.is_locked(conn, pool.id, user.id, ctx.source_ip, now):
                raise NotAuthorizedException("Password attempts exceeded")
            if st.custom is not None:  # CUSTOM_AUTH with SRP first: back to DefineAuthChallenge
                _gate(pool, user, now)
                rounds = [
                    *st.custom,
                    {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True, "challengeMetadata": None},
                ]
                return _custom_next(ctx, conn, pool, client, user, rounds, now)
            device_key = answers.get("DEVICE_KEY") or st.device_key
            result = _after_password(ctx, conn, pool, client, user, now, device_key=device_key)
            threat_protection.record_sign_in(ctx, conn, pool, user, result)
            return result
    raise NotAuthorizedException(INCORRECT)


def _new_password(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    session_id: str,
    answers: dict[str, str],
    now: dt.datetime,
    *,
    finish: Finisher = _success,
    hosted: bool = False,
) -> dict[str, Any]:
    _require(answers, "NEW_PASSWORD", "USERNAME")
    new_password = answers["NEW_PASSWORD"]
    problem = policy.policy_problem(new_password, pool.password_policy)
    if problem:
        raise InvalidPasswordException(problem)
    salt, verifier = None, None
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id, "NEW_PASSWORD_REQUIRED", now)
        user = directory.get_by_id(conn, pool, session.state["user_id"])
        if user is None:
            raise NotAuthorizedException(SESSION_EXPIRED)
        if not hosted:
            check_secret_hash_for(client, [answers["USERNAME"], user.username], answers.get("SECRET_HASH"))
    hashed = ctx.passwords.hash(new_password)
    salt, verifier = srp.make_verifier(pool.srp_group, user.username, new_password)
    updates = {k.removeprefix("userAttributes."): v for k, v in answers.items() if k.startswith("userAttributes.")}
    schema = pool.schema
    for name in updates:
        attr = schema.get(name)
        if attr is None:
            raise InvalidParameterException(f"{name}: Attribute does not exist in the schema.")
        if not attr.get("Mutable", True) and user.attributes.get(name):
            raise InvalidParameterException(f"Cannot modify the non-mutable attribute {name}")
    attributes = {**user.attributes, **updates}
    missing = [n for n, a in schema.items() if a.get("Required") and n != "sub" and not attributes.get(n)]
    if missing:
        raise InvalidParameterException(
            f"Missing required attribute {missing[0]}"
            if len(missing) == 1
            else "Missing required attributes: " + ", ".join(missing)
        )
    with ctx.store.tx() as conn:
        directory.set_fields(
            conn,
            user,
            now,
            password_hash=hashed,
            srp_salt=salt,
            srp_verifier=srp.seal_verifier(ctx.box, pool.id, verifier),
            password_updated_at=now,
            status="CONFIRMED",
        )
        if updates:
            directory.save_attributes(conn, user, attributes, now)
        with triggers.token_source("TokenGeneration_NewPasswordChallenge"):
            result = _mfa_or_finish(ctx, conn, pool, client, user, now, finish)
        threat_protection.record_challenge(ctx, conn, pool, user, None, result)
        return result


def _refresh(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    token: str,
    secret_hash: str | None,
    now: dt.datetime,
    rotate: bool,
    client_authenticated: bool = False,
) -> dict[str, Any]:
    # a plain refresh only reads; only rotation writes (and so takes the write lock)
    with ctx.store.tx() if rotate else ctx.store.read() as conn:
        found = tokens.find_lineage_and_user(conn, pool, token)
        if found is None or found[0].client_id != client.id:
            raise NotAuthorizedException("Invalid Refresh Token")
        lineage, user = found
        if not client_authenticated and (secret_hash is not None or client.secret is not None):
            check_secret_hash_for(client, [user.username, user.id], secret_hash)
        if lineage.revoked:
            raise NotAuthorizedException("Refresh Token has been revoked")
        if lineage.expires_at < now:
            raise NotAuthorizedException("Refresh Token has expired")
        if not lineage.current:
            grace = int((client.config.get("RefreshTokenRotation") or {}).get("RetryGracePeriodSeconds") or 0)
            if not rotate or grace <= 0:
                raise NotAuthorizedException("Invalid Refresh Token")
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        event = SignInEvent(
            origin_jti=lineage.id,
            auth_time=int(lineage.auth_time.timestamp()),
            event_id=secrets.token_hex(16),
        )
        cfg = client.as_token_config()
        result = tokens.mint(
            ctx.keys,
            ctx.settings,
            pool,
            cfg,
            user,
            event,
            now,
            device_key=lineage.device_key,
            scopes=lineage.scopes,
            with_id_token=lineage.scopes is None or "openid" in lineage.scopes,
            source="TokenGeneration_RefreshTokens",
        )
        if rotate:
            result["RefreshToken"] = tokens.rotate_refresh_token(conn, lineage, cfg, now)
        session_tracking.refreshed(ctx, conn, pool.id, lineage.id, in_tx=rotate)
    return result


def hosted_password_sign_in(
    ctx: RequestContext, pool: PoolView, client: ClientView, username: str, password: str, finish: Finisher
) -> dict[str, Any]:
    """The hosted UI's sign-in: the same checks as USER_PASSWORD_AUTH (lockout, statuses, user
    existence errors as the client says), ended by ``finish`` or a NEW_PASSWORD_REQUIRED challenge."""
    return _password_signin(
        ctx, pool, client, {"USERNAME": username, "PASSWORD": password}, ctx.now, finish=finish, hosted=True
    )


def hosted_new_password(
    ctx: RequestContext, pool: PoolView, client: ClientView, session_id: str, answers: dict[str, str], finish: Finisher
) -> dict[str, Any]:
    """The hosted UI's answer to NEW_PASSWORD_REQUIRED (same rules as RespondToAuthChallenge)."""
    return _new_password(ctx, pool, client, session_id, answers, ctx.now, finish=finish, hosted=True)


def refresh(ctx: RequestContext, pool: PoolView, client: ClientView, token: str, now: dt.datetime) -> dict[str, Any]:
    """A refresh for /oauth2/token (the client authenticated itself; rotation as the client says)."""
    return _refresh(ctx, pool, client, token, None, now, rotate=_rotation_enabled(client), client_authenticated=True)


def _rotation_enabled(client: ClientView) -> bool:
    return (client.config.get("RefreshTokenRotation") or {}).get("Feature") == "ENABLED"


# --------------------------------------------------------------------------------------------
# operations


def _initiate(ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, admin: bool) -> Result:
    flow = params["AuthFlow"]
    auth: dict[str, str] = dict(params.get("AuthParameters") or {})
    now = ctx.now
    admin_flows = ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH")
    if flow in admin_flows and not admin:
        raise InvalidParameterException("Initiate Auth method not supported.")
    if flow == "USER_PASSWORD_AUTH" and admin:
        raise InvalidParameterException("Initiate Auth method not supported.")
    if not flow_allowed(client, flow):
        raise InvalidParameterException(f"{flow} flow not enabled for this client")
    if flow == "USER_AUTH":
        return _user_auth_start(ctx, pool, client, auth, now, params.get("Session"))
    if flow == "CUSTOM_AUTH":
        return _custom_start(ctx, pool, client, auth, now)
    if flow in ("USER_PASSWORD_AUTH", *admin_flows):
        return _password_signin(ctx, pool, client, auth, now)
    if flow == "USER_SRP_AUTH":
        return _srp_start(ctx, pool, client, auth, now)
    _require(auth, "REFRESH_TOKEN")
    result = _refresh(ctx, pool, client, auth["REFRESH_TOKEN"], auth.get("SECRET_HASH"), now, rotate=False)
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


def _respond(
    ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, finish: Finisher = _success
) -> Result:
    name = params["ChallengeName"]
    answers: dict[str, str] = dict(params.get("ChallengeResponses") or {})
    session = params.get("Session")
    if name == "PASSWORD_VERIFIER":  # the SRP state travels in the SECRET_BLOCK, not a session
        return _srp_verify(ctx, pool, client, answers, ctx.now)
    if name == "DEVICE_PASSWORD_VERIFIER":
        return _device_srp_verify(ctx, pool, client, session, answers, ctx.now)
    if name not in _SESSION_CHALLENGES:
        raise InvalidParameterException(f"Ostiary does not support the {name} challenge yet.")
    if not session:
        raise InvalidParameterException("Missing required parameter Session")
    if name == "NEW_PASSWORD_REQUIRED":
        return _new_password(ctx, pool, client, session, answers, ctx.now)
    if name in MFA_CHALLENGES or name == "SMS_OTP":
        return _answer_mfa(ctx, pool, client, name, session, answers, finish)
    if name == "CUSTOM_CHALLENGE":
        return _custom_answer(ctx, pool, client, session, answers, ctx.now)
    if name in ("SELECT_CHALLENGE", "PASSWORD", "PASSWORD_SRP"):
        return _select_challenge(ctx, pool, client, name, session, answers, ctx.now)
    if name == "WEB_AUTHN":
        return _webauthn_answer(ctx, pool, client, session, answers, finish)
    return _device_srp_start(ctx, pool, client, session, answers, ctx.now)  # DEVICE_SRP_AUTH


# --------------------------------------------------------------------------------------------
# MFA (Cognito Developer Guide, "Adding MFA to a user pool"; RespondToAuthChallenge)

MFA_CHALLENGES = ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP", "SELECT_MFA_TYPE", "MFA_SETUP")
# challenges answered within a challenge session (RespondToAuthChallenge's Session)
_SESSION_CHALLENGES = frozenset(
    {
        "NEW_PASSWORD_REQUIRED",
        *MFA_CHALLENGES,
        "SMS_OTP",
        "CUSTOM_CHALLENGE",
        "SELECT_CHALLENGE",
        "PASSWORD",
        "PASSWORD_SRP",
        "WEB_AUTHN",
        "DEVICE_SRP_AUTH",
    }
)
MFA_ATTEMPTS = 3
CODE_MISMATCH = "Invalid code or auth state for the user."
TOTP_REUSED = "Your software token has already been used once."


def _mfa_challenge(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    challenge: str,
    options: tuple[str, ...],
    now: dt.datetime,
    device_key: str | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Open an MFA challenge session (sending the code for SMS and email; code_limits apply, and with
    ``quiet`` a destination past its limit gets nothing while the answer stays the usual one)."""
    params: dict[str, str] = {"USER_ID_FOR_SRP": user.username}
    if challenge in ("SMS_MFA", "EMAIL_OTP", "SMS_OTP"):
        attribute = "phone_number" if challenge in ("SMS_MFA", "SMS_OTP") else "email"
        delivery = messages.Delivery(
            "SMS" if attribute == "phone_number" else "EMAIL", attribute, user.attributes[attribute]
        )
        limits = code_limits.Limits.of(ctx.settings, ctx.box)
        try:
            code: str | None = messages.issue_code(
                conn, user, "Authentication", now, limits=limits, destination=delivery.destination
            )
        except code_limits.DestinationLimited:
            if not quiet:
                raise
            code = None
        if code is not None:
            messages.send(conn, ctx.settings, pool, user, delivery, "Authentication", code, now)
        details = delivery.details()
        params.update(
            CODE_DELIVERY_DELIVERY_MEDIUM=details["DeliveryMedium"], CODE_DELIVERY_DESTINATION=details["Destination"]
        )
    elif challenge == "SELECT_MFA_TYPE":
        params["MFAS_CAN_CHOOSE"] = json.dumps(list(options))
    elif challenge == "MFA_SETUP":
        params["MFAS_CAN_SETUP"] = json.dumps(list(options))
    state = {"user_id": user.id, "attempts": 0, "options": list(options), "device_key": device_key}
    session = _new_session(conn, pool, client, user.username, challenge, state, now)
    return {"ChallengeName": challenge, "Session": session, "ChallengeParameters": params}


def _mfa_or_finish(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    now: dt.datetime,
    finish: Finisher = _success,
    skip_mfa: bool = False,
    device_key: str | None = None,
) -> dict[str, Any]:
    """After the password (or a new password, or a device): an MFA challenge when the pool and user
    call for one, else the end of the sign-in."""
    step = None if skip_mfa else mfa.next_step(pool, user)
    if step is None:
        return _finish(finish, ctx, conn, pool, client, user, now, device_key)
    return _mfa_challenge(ctx, conn, pool, client, user, step.challenge, step.options, now, device_key)


def _finish(
    finish: Finisher,
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    now: dt.datetime,
    device_key: str | None,
) -> dict[str, Any]:
    if device_key:
        return finish(ctx, conn, pool, client, user, now, device_key=device_key)
    return finish(ctx, conn, pool, client, user, now)


def _answer_mfa(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    name: str,
    session_id: str,
    answers: dict[str, str],
    finish: Finisher,
) -> dict[str, Any]:
    now = ctx.now
    failure: Exception | None = None
    with ctx.store.tx() as conn:
        row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).first()
        if row is None or row.user_pool_id != pool.id or row.client_id != client.id or utc(row.expires_at) < now:
            raise NotAuthorizedException(SESSION_EXPIRED)
        if row.challenge != name:
            raise InvalidParameterException(f"Invalid challenge name: expected {row.challenge}")
        if not row.state.get("user_id"):
            # the one-time-code challenge of an unknown user (user existence errors prevented): no
            # code answers it, and it fails the way a wrong code does, counted and locked out as a
            # real user's wrong codes are (code_limits)
            limits = code_limits.Limits.of(ctx.settings, ctx.box)
            if code_limits.refuse_hidden(conn, limits, pool, None, row.username, "Authentication", now):
                failure = code_limits.exceeded()
            else:
                failure = _count_attempt(conn, session_id, row.state)
        else:
            user = directory.get_by_id(conn, pool, row.state["user_id"])
            if user is None or not user.enabled:
                raise NotAuthorizedException(SESSION_EXPIRED)
            outcome = _check_mfa_answer(ctx, conn, pool, client, name, session_id, row, user, answers, finish, now)
            if not isinstance(outcome, Exception):
                return outcome
            failure = outcome
    raise failure


def _check_mfa_answer(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    name: str,
    session_id: str,
    row: Any,
    user: User,
    answers: dict[str, str],
    finish: Finisher,
    now: dt.datetime,
) -> dict[str, Any] | Exception:
    """The next step of a sign-in after a right answer, or the failure of a wrong one."""
    failure: Exception | None = None
    named = answers.get("USERNAME")
    if named and named not in (user.username, user.id):
        found = directory.find(conn, pool, named)
        if found is None or found.id != user.id:
            raise NotAuthorizedException(SESSION_EXPIRED)
    if name == "SELECT_MFA_TYPE":
        choice = answers.get("ANSWER", "")
        if choice not in (row.state.get("options") or []):
            raise InvalidParameterException("ANSWER must be one of the MFA types the challenge offered.")
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        return _mfa_challenge(ctx, conn, pool, client, user, choice, (), now, row.state.get("device_key"))
    if name == "MFA_SETUP":
        if not user.mfa.get("totp_secret"):
            raise InvalidParameterException("The software token has not been verified (VerifySoftwareToken).")
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        enabled = list(dict.fromkeys([*(user.mfa.get("UserMFASettingList") or []), mfa.TOTP]))
        mfa.save(conn, user, now, UserMFASettingList=enabled, PreferredMfaSetting=mfa.TOTP)
        threat_protection.record_challenge(ctx, conn, pool, user, None)
        return _finish(finish, ctx, conn, pool, client, user, now, row.state.get("device_key"))
    ok = False
    if name == "SOFTWARE_TOKEN_MFA":
        code = answers.get("SOFTWARE_TOKEN_MFA_CODE", "")
        step = mfa.check_totp(ctx.box, user, code, now)
        if step is not None:
            mfa.record_totp_step(conn, user, step, now)
            ok = True
        elif mfa.totp_used_before(ctx.box, user, code, now):
            # a code already taken: counted like a wrong one, but told apart as AWS does
            counted = _count_attempt(conn, session_id, row.state)
            failure = counted if isinstance(counted, NotAuthorizedException) else ExpiredCodeException(TOTP_REUSED)
    else:
        field = {"SMS_MFA": "SMS_MFA_CODE", "SMS_OTP": "SMS_OTP_CODE"}.get(name, "EMAIL_OTP_CODE")
        limits = code_limits.Limits.of(ctx.settings, ctx.box)
        check = messages.check_code(conn, user, "Authentication", answers.get(field, ""), now, limits=limits)
        ok = check.ok
        if not ok and isinstance(check.error, ExpiredCodeException):
            conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
            failure = NotAuthorizedException(SESSION_EXPIRED)
        elif not ok and isinstance(check.error, LimitExceededException):
            failure = check.error  # locked out of codes (code_limits): the right code is refused too
    if ok:
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        lockout.record_success(conn, pool.id, user.id)
        threat_protection.record_challenge(ctx, conn, pool, user, True)
        return _finish(finish, ctx, conn, pool, client, user, now, row.state.get("device_key"))
    if failure is None:
        failure = _count_attempt(conn, session_id, row.state)
    threat_protection.record_challenge(ctx, conn, pool, user, False, failure)
    return failure


def _count_attempt(conn: Connection, session_id: str, state: dict[str, Any]) -> Exception:
    """A wrong code: CodeMismatchException, or the end of the session after MFA_ATTEMPTS."""
    attempts = int(state.get("attempts") or 0) + 1
    if attempts >= MFA_ATTEMPTS:
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        return NotAuthorizedException(SESSION_EXPIRED)
    conn.execute(
        update(t.auth_sessions).where(t.auth_sessions.c.id == session_id).values(state={**state, "attempts": attempts})
    )
    return CodeMismatchException(CODE_MISMATCH)


# --------------------------------------------------------------------------------------------
# devices (Cognito Developer Guide, "Working with user devices": DEVICE_SRP_AUTH)


def _device_srp_start(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    session_id: str,
    answers: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    _require(answers, "USERNAME", "DEVICE_KEY", "SRP_A")
    try:
        big_a = srp.parse_hex(answers["SRP_A"])
    except srp.SrpError:
        raise InvalidParameterException("SRP_A is not a valid hexadecimal value") from None
    if big_a % srp.N == 0:
        raise NotAuthorizedException(INCORRECT)
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id, "DEVICE_SRP_AUTH", now)
        device = devices.find(conn, pool, answers["DEVICE_KEY"])
        if (
            device is None
            or device.key != session.state.get("device_key")
            or device.user_id != session.state.get("user_id")
            or device.verifier is None
            or device.salt_hex is None
        ):
            raise NotAuthorizedException("Device does not exist.")
        eph = srp.server_ephemeral(device.verifier)
        state = {
            "b": format(eph.b, "x"),
            "B": format(eph.B, "x"),
            "A": format(big_a, "x"),
            "user_id": device.user_id,
            "device_key": device.key,
        }
        verifier_session = _new_session(conn, pool, client, session.username, "DEVICE_PASSWORD_VERIFIER", state, now)
    return {
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": verifier_session,
        "ChallengeParameters": {
            "SRP_B": format(eph.B, "x"),
            "SALT": device.salt_hex,
            "SECRET_BLOCK": base64.b64encode(verifier_session.encode()).decode(),
            "USERNAME": session.username,
            "DEVICE_KEY": device.key,
        },
    }


def _device_srp_verify(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    session_id: str | None,
    answers: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    _require(answers, "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "DEVICE_KEY")
    try:
        secret_block = base64.b64decode(answers["PASSWORD_CLAIM_SECRET_BLOCK"], validate=True)
        block_session = secret_block.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise NotAuthorizedException(INCORRECT) from None
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id or block_session, "DEVICE_PASSWORD_VERIFIER", now)
        device = devices.find(conn, pool, answers["DEVICE_KEY"])
    st = session.state
    ok = False
    if device is not None and device.key == st["device_key"] and device.verifier is not None:
        try:
            key = srp.server_session_key(int(st["A"], 16), int(st["B"], 16), int(st["b"], 16), device.verifier)
            ok = srp.parse_timestamp(answers["TIMESTAMP"]) is not None and srp.verify_claim(
                key,
                device.group_key,
                device.key,
                secret_block,
                answers["TIMESTAMP"],
                answers["PASSWORD_CLAIM_SIGNATURE"],
            )
        except srp.SrpError:
            ok = False
    if not ok or device is None:
        raise NotAuthorizedException("Incorrect username or password.")
    with ctx.store.tx() as conn:
        user = directory.get_by_id(conn, pool, st["user_id"])
        if user is None or not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        # a remembered device skips MFA; a device that is only tracked does not
        return _mfa_or_finish(ctx, conn, pool, client, user, now, skip_mfa=device.remembered, device_key=device.key)


# --------------------------------------------------------------------------------------------
# USER_AUTH: choice-based sign-in (Cognito Developer Guide, "Authentication flows", choice-based;
# InitiateAuth / RespondToAuthChallenge SELECT_CHALLENGE). First factors as the pool's
# SignInPolicy allows: PASSWORD (also as PASSWORD_SRP), EMAIL_OTP, SMS_OTP. A one-time code by email
# or SMS, or a passkey (WEB_AUTHN, ostiary.userpools.passkeys) is a complete sign-in (no MFA after
# it); a password goes on to MFA as usual.

FIRST_FACTORS = ("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")


def first_factors(pool: PoolView) -> list[str]:
    policy = (pool.config.get("Policies") or {}).get("SignInPolicy") or {}
    return list(policy.get("AllowedFirstAuthFactors") or ["PASSWORD"])


def _otp_allowed(pool: PoolView) -> bool:
    # a one-time code alone is not enough where the pool requires MFA
    return str(pool.config.get("MfaConfiguration") or "OFF") != "ON"


def available_challenges(pool: PoolView, user: User | None, has_passkeys: bool = False) -> list[str]:
    """What a user may choose from (an unknown user: what the pool allows, so as not to tell)."""
    allowed = first_factors(pool)
    out: list[str] = []
    if "PASSWORD" in allowed and (user is None or user.password_hash):
        out += ["PASSWORD", "PASSWORD_SRP"]
    usable = user is None or user.status == "CONFIRMED"
    passkey_mfa = passkeys.config(pool).get("FactorConfiguration") == "MULTI_FACTOR_WITH_USER_VERIFICATION"
    if "WEB_AUTHN" in allowed and usable and (user is None or has_passkeys) and (_otp_allowed(pool) or passkey_mfa):
        out.append("WEB_AUTHN")
    if _otp_allowed(pool) and usable:
        if "EMAIL_OTP" in allowed and (user is None or (user.attributes.get("email") and user.verified("email"))):
            out.append("EMAIL_OTP")
        if "SMS_OTP" in allowed and (
            user is None or (user.attributes.get("phone_number") and user.verified("phone_number"))
        ):
            out.append("SMS_OTP")
    return out


def _user_auth_start(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    auth: dict[str, str],
    now: dt.datetime,
    session: str | None = None,
) -> dict[str, Any]:
    _require(auth, "USERNAME")
    username = auth["USERNAME"]
    preferred = auth.get("PREFERRED_CHALLENGE") or ""
    if preferred and preferred not in ("PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"):
        raise InvalidParameterException(f"Invalid PREFERRED_CHALLENGE: {preferred}")
    with ctx.store.read() as conn:
        user = _find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        if lockout.is_locked(conn, pool.id, lockout.subject(ctx.box, pool, user, username), ctx.source_ip, now):
            raise NotAuthorizedException("Password attempts exceeded")
        has_passkeys = user is not None and passkeys.count(conn, pool.id, user.id) > 0
    if session:  # sign-in after sign-up (SignUp's or ConfirmSignUp's Session)
        return _sign_up_sign_in(ctx, pool, client, user, session, auth, now)
    available = available_challenges(pool, user, has_passkeys)
    if preferred in available:
        return _choose(ctx, pool, client, user, username, preferred, auth, now)
    # no (usable) preference: the user chooses among the available challenges
    state = {"user_id": user.id if user is not None else None, "username": username, "available": available}
    with ctx.store.tx() as conn:
        session = _new_session(conn, pool, client, username[:128], "SELECT_CHALLENGE", state, now)
    return {
        "ChallengeName": "SELECT_CHALLENGE",
        "Session": session,
        "ChallengeParameters": {},
        "AvailableChallenges": available,
    }


def _select_challenge(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    name: str,
    session_id: str,
    answers: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    """The answer to SELECT_CHALLENGE (ANSWER names the choice), or PASSWORD / PASSWORD_SRP answered
    directly in the SELECT_CHALLENGE session."""
    _require(answers, "USERNAME")
    choice = answers.get("ANSWER") or "" if name == "SELECT_CHALLENGE" else name
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id, "SELECT_CHALLENGE", now)
    username = str(session.state.get("username") or answers["USERNAME"])
    if choice not in (session.state.get("available") or []):
        raise InvalidParameterException(f"{choice or 'ANSWER'} is not one of the available challenges.")
    user_id = session.state.get("user_id")
    with ctx.store.read() as conn:
        user = directory.get_by_id(conn, pool, user_id) if user_id else None
    if user_id and user is None:
        raise NotAuthorizedException(SESSION_EXPIRED)
    auth = {**answers, "USERNAME": user.username if user is not None else username}
    return _choose(ctx, pool, client, user, username, choice, auth, now)


def _choose(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    user: User | None,
    username: str,
    choice: str,
    auth: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    if choice == "PASSWORD":
        return _password_signin(ctx, pool, client, {**auth, "USERNAME": auth.get("USERNAME") or username}, now)
    if choice == "PASSWORD_SRP":
        _require(auth, "SRP_A")
        return _srp_start(ctx, pool, client, {**auth, "USERNAME": auth.get("USERNAME") or username}, now)
    if choice == "WEB_AUTHN":
        return _webauthn_start(ctx, pool, client, user, username, auth, now)
    return _otp_start(ctx, pool, client, user, username, choice, auth, now)


def _webauthn_start(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    user: User | None,
    username: str,
    auth: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    """The WEB_AUTHN challenge: CREDENTIAL_REQUEST_OPTIONS for the user's passkeys."""
    if auth.get("CREDENTIAL"):
        raise InvalidParameterException("Answer WEB_AUTHN first, then send the CREDENTIAL to the WEB_AUTHN challenge.")
    pre_authentication(ctx, pool, client, user, {**auth, "USERNAME": username})
    if user is not None:
        _gate(pool, user, now)
    with ctx.store.tx() as conn:
        rp_id = passkeys.relying_party(conn, ctx.settings, pool)
        if user is not None:
            state, options = passkeys.request_options(conn, ctx.settings, pool, user)
        else:  # an unknown user: options like anyone's, that no passkey can answer
            state = {
                "challenge": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
                "rp_id": rp_id,
            }
            options = {
                "challenge": state["challenge"],
                "timeout": passkeys.CHALLENGE_SECONDS * 1000,
                "rpId": rp_id,
                "allowCredentials": [],
                "userVerification": passkeys.user_verification(pool),
            }
        session_state = {**state, "user_id": user.id if user is not None else None}
        session = _new_session(conn, pool, client, username[:128], "WEB_AUTHN", session_state, now)
    return {
        "ChallengeName": "WEB_AUTHN",
        "Session": session,
        "ChallengeParameters": {"CREDENTIAL_REQUEST_OPTIONS": json.dumps(options, separators=(",", ":"))},
    }


def _webauthn_answer(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    session_id: str,
    answers: dict[str, str],
    finish: Finisher,
) -> dict[str, Any]:
    _require(answers, "USERNAME", "CREDENTIAL")
    now = ctx.now
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id, "WEB_AUTHN", now)
    user_id = session.state.get("user_id")
    with ctx.store.tx() as conn:
        user = directory.get_by_id(conn, pool, user_id) if user_id else None
        if user is None or not user.enabled:
            raise NotAuthorizedException(INCORRECT)
        check_secret_hash_for(client, [answers["USERNAME"], user.username], answers.get("SECRET_HASH"))
        try:
            passkeys.verify_assertion(conn, pool, user, session.state, answers["CREDENTIAL"])
        except NotAuthorizedException:
            pass  # a wrong assertion: counted as a failed attempt below
        else:
            lockout.record_success(conn, pool.id, user.id)
            return _finish(finish, ctx, conn, pool, client, user, now, None)
    with ctx.store.tx() as conn:
        lockout.record_failure(conn, pool.id, user.id, ctx.source_ip, now)
    raise NotAuthorizedException(INCORRECT)


def _otp_start(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    user: User | None,
    username: str,
    challenge: str,
    auth: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    """Send a one-time sign-in code by email (EMAIL_OTP) or SMS (SMS_OTP)."""
    pre_authentication(ctx, pool, client, user, {**auth, "USERNAME": username})
    if user is None:
        # an unknown user (user existence errors prevented): a challenge no code can answer, its
        # "code" limited as a real user's is (code_limits)
        with ctx.store.tx() as conn:
            limits = code_limits.Limits.of(ctx.settings, ctx.box)
            code_limits.issue_hidden(conn, limits, pool, None, username[:128], "Authentication", now)
            state: dict[str, Any] = {"user_id": None, "attempts": 0, "options": [], "device_key": None}
            session = _new_session(conn, pool, client, username[:128], challenge, state, now)
        attribute = "email" if challenge == "EMAIL_OTP" else "phone_number"
        details = existence.delivery(ctx.box, pool, username, attribute)  # masked as a real address is
        return {
            "ChallengeName": challenge,
            "Session": session,
            "ChallengeParameters": {
                "CODE_DELIVERY_DELIVERY_MEDIUM": details["DeliveryMedium"],
                "CODE_DELIVERY_DESTINATION": details["Destination"],
            },
        }
    _gate(pool, user, now)
    with ctx.store.tx() as conn:
        quiet = client.prevent_user_existence_errors  # a flooded address tells nothing (code_limits)
        result = _mfa_challenge(ctx, conn, pool, client, user, challenge, (), now, quiet=quiet)
    result["ChallengeParameters"].pop("USER_ID_FOR_SRP", None)
    return result


# CUSTOM_AUTH (Cognito Developer Guide, "Custom authentication challenge Lambda triggers"):
# DefineAuthChallenge decides, CreateAuthChallenge asks, VerifyAuthChallengeResponse checks.

MAX_CUSTOM_ROUNDS = 10


def _custom_start(
    ctx: RequestContext, pool: PoolView, client: ClientView, auth: dict[str, str], now: dt.datetime
) -> dict[str, Any]:
    _require(auth, "USERNAME")
    for trigger in ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"):
        if not triggers.configured(pool, trigger):
            raise InvalidParameterException(f"CUSTOM_AUTH needs the pool's {trigger} Lambda trigger.")
    username = auth["USERNAME"]
    with ctx.store.read() as conn:
        user = _find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        counted = lockout.subject(ctx.box, pool, user, username)
        if lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now):
            raise NotAuthorizedException("Password attempts exceeded")
    # An unknown user (the client prevents user existence errors) goes through the same triggers
    # with userNotFound: true and empty userAttributes, and can never get tokens.
    if user is not None:
        _gate(pool, user, now)
    pre_authentication(ctx, pool, client, user, auth)
    who = _Who(user, user.username if user is not None else username)
    if auth.get("CHALLENGE_NAME") == "SRP_A":
        rounds = [{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
        decided = _define(ctx, pool, client, who, rounds)
        if decided.get("challengeName") != "PASSWORD_VERIFIER":
            with ctx.store.tx() as conn:
                return _custom_decide(ctx, conn, pool, client, who, rounds, decided, now)
        # the sealed state remembers that this SRP exchange belongs to a custom flow
        return _srp_start(ctx, pool, client, {**auth, "USERNAME": who.username}, now, custom=rounds)
    with ctx.store.tx() as conn:
        return _custom_next(ctx, conn, pool, client, who, [], now)


@dataclass(frozen=True)
class _Who:
    """The user of a custom flow, or None with the name given when the user does not exist."""

    user: User | None
    username: str

    def trigger_fields(self) -> dict[str, Any]:
        return {
            "userAttributes": triggers.user_attributes(self.user) if self.user is not None else {},
            "userNotFound": self.user is None,
        }


def _define(
    ctx: RequestContext, pool: PoolView, client: ClientView, who: _Who | User, rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    if isinstance(who, User):
        who = _Who(who, who.username)
    fields = who.trigger_fields()
    response = triggers.run(
        ctx.settings,
        pool,
        "DefineAuthChallenge",
        "DefineAuthChallenge_Authentication",
        who.username,
        client.id,
        {
            "userAttributes": fields["userAttributes"],
            "session": rounds,
            "clientMetadata": triggers.client_metadata(),
            "userNotFound": fields["userNotFound"],
        },
    )
    return response or {}


def _custom_next(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    who: _Who | User,
    rounds: list[dict[str, Any]],
    now: dt.datetime,
) -> dict[str, Any]:
    if isinstance(who, User):
        who = _Who(who, who.username)
    return _custom_decide(ctx, conn, pool, client, who, rounds, _define(ctx, pool, client, who, rounds), now)


def _custom_decide(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    who: _Who | User,
    rounds: list[dict[str, Any]],
    decided: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    """Act on DefineAuthChallenge's answer: fail, issue tokens, or ask the next challenge."""
    if isinstance(who, User):
        who = _Who(who, who.username)
    user = who.user
    if triggers.flag(decided, "failAuthentication"):
        counted = lockout.subject(ctx.box, pool, user, who.username)
        lockout.record_failure(conn, pool.id, counted, ctx.source_ip, now)
        raise NotAuthorizedException(INCORRECT)
    if triggers.flag(decided, "issueTokens"):
        if user is None:  # nobody to issue tokens to: the same answer as a failed attempt
            raise NotAuthorizedException(INCORRECT)
        return _mfa_or_finish(ctx, conn, pool, client, user, now)
    challenge = decided.get("challengeName")
    if challenge != "CUSTOM_CHALLENGE" or len(rounds) >= MAX_CUSTOM_ROUNDS:
        raise NotAuthorizedException(INCORRECT)
    created = (
        triggers.run(
            ctx.settings,
            pool,
            "CreateAuthChallenge",
            "CreateAuthChallenge_Authentication",
            who.username,
            client.id,
            {
                "userAttributes": who.trigger_fields()["userAttributes"],
                "challengeName": "CUSTOM_CHALLENGE",
                "session": rounds,
                "clientMetadata": triggers.client_metadata(),
                "userNotFound": user is None,
            },
        )
        or {}
    )
    public = created.get("publicChallengeParameters") or {}
    private = created.get("privateChallengeParameters") or {}
    if not isinstance(public, dict) or not isinstance(private, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    state = {
        "user_id": user.id if user is not None else None,
        "username": who.username,
        "rounds": rounds,
        "private": {str(k): str(v) for k, v in private.items()},
        "metadata": created.get("challengeMetadata"),
    }
    session = _new_session(conn, pool, client, who.username[:128], "CUSTOM_CHALLENGE", state, now)
    parameters = {str(k): str(v) for k, v in public.items()}
    parameters["USERNAME"] = who.username
    return {"ChallengeName": "CUSTOM_CHALLENGE", "Session": session, "ChallengeParameters": parameters}


def _custom_answer(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    session_id: str,
    answers: dict[str, str],
    now: dt.datetime,
) -> dict[str, Any]:
    _require(answers, "USERNAME", "ANSWER")
    with ctx.store.tx() as conn:
        session = _take_session(conn, pool, client, session_id, "CUSTOM_CHALLENGE", now)
        user_id = session.state.get("user_id")
        user = directory.get_by_id(conn, pool, user_id) if user_id else None
        if user_id and (user is None or not user.enabled):
            raise NotAuthorizedException(SESSION_EXPIRED)
        who = _Who(user, user.username if user is not None else str(session.state.get("username") or ""))
        check_secret_hash_for(client, [answers["USERNAME"], who.username], answers.get("SECRET_HASH"))
    fields = who.trigger_fields()
    verified = (
        triggers.run(
            ctx.settings,
            pool,
            "VerifyAuthChallengeResponse",
            "VerifyAuthChallengeResponse_Authentication",
            who.username,
            client.id,
            {
                "userAttributes": fields["userAttributes"],
                "privateChallengeParameters": session.state.get("private") or {},
                "challengeAnswer": answers["ANSWER"],
                "clientMetadata": triggers.client_metadata(),
                "userNotFound": fields["userNotFound"],
            },
        )
        or {}
    )
    correct = triggers.flag(verified, "answerCorrect")
    rounds = [
        *session.state.get("rounds", []),
        {
            "challengeName": "CUSTOM_CHALLENGE",
            "challengeResult": correct,
            "challengeMetadata": session.state.get("metadata"),
        },
    ]
    with ctx.store.tx() as conn:
        return _custom_next(ctx, conn, pool, client, who, rounds, now)


def hosted_respond(
    ctx: RequestContext,
    pool: PoolView,
    client: ClientView,
    challenge: str,
    session_id: str,
    answers: dict[str, str],
    finish: Finisher,
) -> dict[str, Any]:
    """The hosted UI's answer to an MFA challenge (same rules as RespondToAuthChallenge)."""
    return _answer_mfa(ctx, pool, client, challenge, session_id, answers, finish)


# AuthFlows short enough to run on the event loop: a refresh (two RSA signatures) and the start of
# SRP (two reads and g^b from the fixed-base table: ~0.3 ms)
_INLINE_FLOWS = frozenset({"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "USER_SRP_AUTH"})


def _heavy_flow(body: bytes) -> bool:
    """Refreshes and SRP starts run inline; password sign-ins (Argon2) go to the worker pool, and
    every flow when Lambda triggers are configured (PreTokenGeneration fires on refresh). The flow
    is read from the parsed body, not searched in it: a username cannot bring Argon2 inline."""
    if triggers.offload(body):
        return True
    try:
        flow = orjson.loads(body).get("AuthFlow")
    except (orjson.JSONDecodeError, AttributeError):
        return True
    return flow not in _INLINE_FLOWS


@operation("cognito-idp", "InitiateAuth", offload=_heavy_flow)
@triggers.with_validation_data
def initiate_auth(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    return _initiate(ctx, pool, client, params, admin=False)


@operation("cognito-idp", "AdminInitiateAuth", offload=True)
@triggers.with_validation_data
def admin_initiate_auth(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
    return _initiate(ctx, pool, client, params, admin=True)


@operation("cognito-idp", "RespondToAuthChallenge", offload=True)
@triggers.with_client_metadata
def respond_to_auth_challenge(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    return _respond(ctx, pool, client, params)


@operation("cognito-idp", "AdminRespondToAuthChallenge", offload=True)
@triggers.with_client_metadata
def admin_respond_to_auth_challenge(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
    return _respond(ctx, pool, client, params)


def _client_secret_ok(client: ClientView, given: str | None) -> None:
    if client.secret is None:
        return
    if not given or not any(secrets.compare_digest(given.encode(), s.encode()) for s in client.secrets()):
        raise NotAuthorizedException(f"Unable to verify secret hash for client {client.id}")


@operation("cognito-idp", "GetTokensFromRefreshToken", offload=triggers.offload)
@triggers.with_client_metadata
def get_tokens_from_refresh_token(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    _client_secret_ok(client, params.get("ClientSecret"))
    if not flow_allowed(client, "REFRESH_TOKEN_AUTH"):
        raise InvalidParameterException("REFRESH_TOKEN_AUTH flow not enabled for this client")
    secretless = ClientView(client.id, client.pool_id, client.name, client.config, None)
    result = _refresh(ctx, pool, secretless, params["RefreshToken"], None, ctx.now, rotate=_rotation_enabled(client))
    return {"AuthenticationResult": result}


@operation("cognito-idp", "RevokeToken")
def revoke_token(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    _client_secret_ok(client, params.get("ClientSecret"))
    if client.config.get("EnableTokenRevocation") is False:
        raise UnsupportedOperationException("Token revocation is not enabled for this app client.")
    with ctx.store.tx() as conn:
        lineage = tokens.find_lineage(conn, pool.id, params["Token"])
        if lineage is None:
            return {}  # RFC 7009 §2.2: an invalid token is not an error
        if lineage.client_id != client.id:
            raise UnauthorizedException("The token was not issued to this client.")
        tokens.revoke_lineage(conn, lineage.id, ctx.now)
    return {}


@operation("cognito-idp", "GlobalSignOut")
def global_sign_out(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        access = tokens.check_access_token(conn, ctx.keys, ctx.settings, params["AccessToken"], ctx.now)
        tokens.revoke_user(conn, access.user_id, ctx.now)
    return {}


@operation("cognito-idp", "AdminUserGlobalSignOut")
def admin_user_global_sign_out(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = directory.find(conn, pool, params["Username"])
        if user is None:
            raise UserNotFoundException("User does not exist.")
        tokens.revoke_user(conn, user.id, ctx.now)
    return {}
