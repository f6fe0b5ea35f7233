"""The password flows: USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH / ADMIN_NO_SRP_AUTH, the
NEW_PASSWORD_REQUIRED challenge, and the hosted UI's password sign-in; with what every flow does
once the first factor is right (status checks, the pre/post-authentication triggers, tokens).

Follows the Cognito API Reference (InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge
NEW_PASSWORD_REQUIRED) and the Developer Guide ("Pre authentication Lambda trigger", "Post
authentication Lambda trigger", "Migrate user Lambda trigger": UserMigration_Authentication).
Password checks are CPU-heavy (Argon2): these operations run off the event loop.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.userpools import attributes as attrs
from ostiary.userpools import devices, directory, lockout, srp, threat_protection, tokens, triggers
from ostiary.userpools import passwords as policy
from ostiary.userpools.directory import PoolView, User, UserStatus
from ostiary.userpools.errors import (
    InvalidLambdaResponseException,
    InvalidParameterException,
    InvalidPasswordException,
    NotAuthorizedException,
    PasswordResetRequiredException,
    UserNotConfirmedException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.risk import adaptive, compromised
from ostiary.userpools.signin.challenge_sessions import new_session, take_session
from ostiary.userpools.signin.context import (
    INCORRECT,
    SESSION_EXPIRED,
    Finisher,
    SignIn,
    check_secret_hash_for,
    require,
)
from ostiary.userpools.signin.mfa_challenge import mfa_or_finish
from ostiary.userpools.users import password_material, resolve_new_username


def gate(pool: PoolView, user: User, now: dt.datetime) -> None:
    """Status checks made once the password is known to be right."""
    if not user.enabled:
        raise NotAuthorizedException("User is disabled.")
    if user.status == UserStatus.UNCONFIRMED:
        raise UserNotConfirmedException("User is not confirmed.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise PasswordResetRequiredException("Password reset required for the user")
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        days = int((pool.config.get("AdminCreateUserConfig") or {}).get("UnusedAccountValidityDays") or 7)
        days = int(pool.password_policy.get("TemporaryPasswordValidityDays") or days)
        issued = user.password_updated_at or user.created_at
        if now > issued + dt.timedelta(days=days):
            raise NotAuthorizedException("Temporary password has expired and must be reset by an administrator.")


def success(
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
    lockout.succeeded(ctx, conn, pool, user)
    signed_in = audit.sign_in_event(ctx)
    audit.record(conn, ctx, event=signed_in, user=user, account_id=pool.account_id, details={"clientId": client.id})
    post_authentication(ctx, pool, client, user, new_device=not device_key and devices.tracking(pool) is not None)
    user.groups = directory.groups_of(conn, pool.id, user.id)
    cfg = client.as_token_config()
    event, refresh = tokens.start_lineage(conn, pool, user, cfg, now, device_key=device_key, ip=ctx.source_ip)
    source = ctx.token_source or (
        "TokenGeneration_AuthenticateDevice" if device_key else "TokenGeneration_Authentication"
    )
    result = tokens.mint(
        ctx.keys,
        ctx.settings,
        pool,
        cfg,
        user,
        event,
        now,
        device_key=device_key,
        source=source,
        client_metadata=ctx.client_metadata,
    )
    result["RefreshToken"] = refresh
    if device_key:
        devices.touch(conn, device_key, now)
    elif devices.tracking(pool) is not None:
        result["NewDeviceMetadata"] = devices.new_device(conn, pool, user, now, ctx.source_ip)
        adaptive.learn_device(conn, pool, user.id, result["NewDeviceMetadata"]["DeviceKey"], now)
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


def after_password(s: SignIn, conn: Connection, user: User, device_key: str | None = None) -> dict[str, Any]:
    pool, client, now = s.pool, s.client, s.now
    gate(pool, user, now)
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        lockout.succeeded(s.ctx, conn, pool, user)
        visible = {k: v for k, v in user.attributes.items() if not k.startswith("dev:")}
        visible.pop("email_verified", None)
        visible.pop("phone_number_verified", None)
        required = [
            f"userAttributes.{name}"
            for name, attr in pool.schema.items()
            if attr.get("Required") and name != "sub" and not user.attributes.get(name)
        ]
        session = new_session(conn, pool, client, user.username, "NEW_PASSWORD_REQUIRED", {"user_id": user.id}, now)
        return {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": user.username,
                "requiredAttributes": json.dumps(required),
                "userAttributes": json.dumps(visible),
            },
        }
    # adaptive authentication scores the sign-in (ENFORCED: BLOCK raises adaptive.Blocked; an MFA
    # action is taken by mfa_or_finish)
    adaptive.assess(s.ctx, conn, pool, client, user, device_key)
    if device_key and devices.tracking(pool) is not None:
        device = devices.find(conn, pool, device_key)
        if device is not None and device.user_id == user.id and device.confirmed and device.verifier:
            # a known device proves itself with its own SRP before MFA is considered
            state = {"user_id": user.id, "device_key": device.key}
            session = new_session(conn, pool, client, user.username, "DEVICE_SRP_AUTH", state, now)
            return {"ChallengeName": "DEVICE_SRP_AUTH", "Session": session, "ChallengeParameters": {}}
    return mfa_or_finish(s, conn, user)


def find_for_signin(
    ctx: RequestContext, conn: Connection, pool: PoolView, client: ClientView, username: str
) -> User | None:
    user = directory.find(conn, pool, username)
    if user is None and not client.prevent_user_existence_errors:
        raise UserNotFoundException("User does not exist.")
    return user


def password_signin(s: SignIn, auth: dict[str, str], *, hosted: bool = False) -> dict[str, Any]:
    """A password sign-in; ``hosted``: from the hosted UI (no SECRET_HASH: the client's secret is
    checked at the token endpoint instead)."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(auth, "USERNAME", "PASSWORD")
    username, password = auth["USERNAME"], auth["PASSWORD"]
    migrated = False
    with ctx.store.read() as conn:
        known = directory.find(conn, pool, username)
    if known is None and triggers.configured(pool, "UserMigration"):
        if not hosted:
            check_secret_hash_for(client, [username], auth.get("SECRET_HASH"))
        known = _migrate(s, username, password, auth)
        migrated = known is not None
    with ctx.store.read() as conn:
        user = known if migrated else find_for_signin(ctx, conn, pool, client, username)
        if not hosted:
            check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        # an unknown name (user existence errors prevented) is counted and locked as a user is
        counted = lockout.subject(ctx.box, pool, user, username)
        check = lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now)
    if check.locked:
        raise lockout.refused(ctx, pool, user, check)
    pre_authentication(ctx, pool, client, user, auth)
    if migrated:
        ok = True  # the migration function has just checked the password
    elif user is None or user.password_hash is None:
        ctx.passwords.verify_dummy(password)  # the same Argon2 work as a real user's check
        ok = False
    else:
        ok = ctx.passwords.verify(user.password_hash, password)
    finding = compromised.CLEAN
    if ok and user is not None and user.status != UserStatus.FORCE_CHANGE_PASSWORD:
        # compromised credentials: the right password, given in clear, is checked (a temporary
        # password is not: it must be changed, and the new one is checked)
        finding = compromised.assess(ctx, pool, client.id, compromised.Event.SIGN_IN, password)
    with ctx.store.tx() as conn:
        if not ok:
            lockout.failed(ctx, conn, pool, user, counted, NotAuthorizedException(INCORRECT))
            threat_protection.record_sign_in(ctx, conn, pool, user, None)
            if user is None:
                adaptive.failed_unknown(ctx, conn, pool, username)
        elif finding.blocked:
            assert user is not None
            gate(pool, user, now)
            compromised.block_sign_in(ctx, conn, pool, user, finding)
        else:
            assert user is not None
            result = after_password(s, conn, user, auth.get("DEVICE_KEY"))
            risk = compromised.event_risk(finding) if finding.detected else None
            threat_protection.record_sign_in(ctx, conn, pool, user, result, risk)
            return result
    if finding.blocked:
        raise PasswordResetRequiredException("Password reset required for the user")
    raise NotAuthorizedException(INCORRECT)


def pre_authentication(
    ctx: RequestContext, pool: PoolView, client: ClientView, user: User | None, auth: dict[str, str]
) -> None:
    """The PreAuthentication trigger (it denies the sign-in by failing); once per request. An unknown
    user reaches it only when the client prevents user existence errors (``userNotFound``)."""
    threat_protection.screen(ctx, pool, client, user)  # ENFORCED threat protection: always-block addresses
    if not triggers.first_in_request(ctx, "PreAuthentication"):
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
            "validationData": ctx.validation_data,
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
            "clientMetadata": ctx.client_metadata,
        },
    )


def _migrate(s: SignIn, username: str, password: str, auth: dict[str, str]) -> User | None:
    """UserMigration_Authentication: a user the pool does not know, looked up by the pool's migration
    function with the password; created with the attributes and status it answers."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    response = triggers.run(
        ctx.settings,
        pool,
        "UserMigration",
        "UserMigration_Authentication",
        username,
        client.id,
        {"password": password, "validationData": ctx.validation_data, "clientMetadata": {}},
    )
    if not response or not isinstance(response.get("userAttributes"), dict):
        return None
    values = attrs.normalize({str(k): str(v) for k, v in response["userAttributes"].items()})
    values.pop("sub", None)
    values.pop("cognito:user_status", None)
    attrs.check_values(pool, values, admin=True, creating=True)
    status = str(response.get("finalUserStatus") or UserStatus.CONFIRMED)
    if status not in (UserStatus.CONFIRMED, UserStatus.RESET_REQUIRED):
        raise InvalidLambdaResponseException("finalUserStatus must be CONFIRMED or RESET_REQUIRED")
    new_name = resolve_new_username(pool, username, values)
    material = password_material(ctx, pool, new_name, password)
    with ctx.store.tx() as conn:
        if directory.find(conn, pool, username) is not None:
            return None  # created meanwhile by another request: sign in normally
        user = directory.insert_user(
            conn, pool, username=new_name, status=status, attributes=values, now=now, password=material
        )
    if status == UserStatus.RESET_REQUIRED:
        raise PasswordResetRequiredException("Password reset required for the user")
    return user


def answer_new_password(s: SignIn, session_id: str, answers: dict[str, str], *, hosted: bool = False) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "NEW_PASSWORD", "USERNAME")
    new_password = answers["NEW_PASSWORD"]
    problem = policy.policy_problem(new_password, pool.password_policy)
    if problem:
        raise InvalidPasswordException(problem)
    compromised.check_new_password(ctx, pool, client.id, compromised.Event.PASSWORD_CHANGE, new_password)
    salt, verifier = None, None
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id, "NEW_PASSWORD_REQUIRED", now)
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
            status=UserStatus.CONFIRMED,
        )
        if updates:
            directory.save_attributes(conn, user, attributes, now)
        with triggers.token_source(ctx, "TokenGeneration_NewPasswordChallenge"):
            result = mfa_or_finish(s, conn, user)
        threat_protection.record_challenge(ctx, conn, pool, user, None, result)
        return result


def hosted_password_sign_in(
    ctx: RequestContext, pool: PoolView, client: ClientView, username: str, password: str, finish: Finisher
) -> dict[str, Any]:
    """The hosted UI's sign-in: the same checks as USER_PASSWORD_AUTH (lockout, statuses, user
    existence errors as the client says), ended by ``finish`` or a NEW_PASSWORD_REQUIRED challenge."""
    s = SignIn(ctx, pool, client, ctx.now, finish)
    adaptive.begin(ctx, None, trusted=False)
    try:
        return password_signin(s, {"USERNAME": username, "PASSWORD": password}, hosted=True)
    except adaptive.Blocked as blocked:  # adaptive authentication refused it: recorded on its own
        raise threat_protection.record_blocked(ctx, pool, blocked) from None


def hosted_new_password(
    ctx: RequestContext, pool: PoolView, client: ClientView, session_id: str, answers: dict[str, str], finish: Finisher
) -> dict[str, Any]:
    """The hosted UI's answer to NEW_PASSWORD_REQUIRED (same rules as RespondToAuthChallenge)."""
    return answer_new_password(SignIn(ctx, pool, client, ctx.now, finish), session_id, answers, hosted=True)
