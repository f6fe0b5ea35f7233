"""USER_AUTH: choice-based sign-in (Cognito Developer Guide, "Authentication flows", choice-based;
API Reference: InitiateAuth / RespondToAuthChallenge SELECT_CHALLENGE). First factors as the pool's
SignInPolicy allows: PASSWORD (also as PASSWORD_SRP), EMAIL_OTP, SMS_OTP, WEB_AUTHN. A one-time code
by email or SMS, or a passkey (WEB_AUTHN, ostiary.userpools.passkeys) is a complete sign-in (no MFA
after it); a password goes on to MFA as usual.

Also the sign-in after sign-up (API Reference: SignUp, ConfirmSignUp and InitiateAuth's Session):
USER_AUTH with the Session SignUp or ConfirmSignUp answered takes it as the first factor.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from sqlalchemy import delete, select

from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import code_limits, directory, existence, lockout, passkeys
from ostiary.userpools.auth_factors import available_challenges
from ostiary.userpools.directory import User
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.signin.challenge_sessions import SIGN_UP_SESSION, new_session, take_session
from ostiary.userpools.signin.context import INCORRECT, SESSION_EXPIRED, SignIn, check_secret_hash_for, require
from ostiary.userpools.signin.mfa_challenge import finish_with, mfa_challenge, mfa_or_finish
from ostiary.userpools.signin.password import find_for_signin, gate, password_signin, pre_authentication
from ostiary.userpools.signin.srp_flow import srp_start


def sign_up_sign_in(s: SignIn, user: User | None, session_id: str, auth: dict[str, str]) -> dict[str, Any]:
    """InitiateAuth USER_AUTH with a sign-up session: the session is its user's first factor."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
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
            gate(pool, user, now)  # not confirmed yet (SignUp's session): kept for after the confirmation
            taken = conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).rowcount
            if taken != 1:  # single use: a concurrent request took it first
                raise NotAuthorizedException(SESSION_EXPIRED)
    if expired:
        raise NotAuthorizedException(SESSION_EXPIRED)
    pre_authentication(ctx, pool, client, user, auth)
    with ctx.store.tx() as conn:
        return mfa_or_finish(s, conn, user)


FIRST_FACTORS = ("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")


def user_auth_start(s: SignIn, auth: dict[str, str], session: str | None = None) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(auth, "USERNAME")
    username = auth["USERNAME"]
    preferred = auth.get("PREFERRED_CHALLENGE") or ""
    if preferred and preferred not in ("PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"):
        raise InvalidParameterException(f"Invalid PREFERRED_CHALLENGE: {preferred}")
    with ctx.store.read() as conn:
        user = find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        check = lockout.is_locked(conn, pool.id, lockout.subject(ctx.box, pool, user, username), ctx.source_ip, now)
        has_passkeys = user is not None and passkeys.count(conn, pool.id, user.id) > 0
    if check.locked:
        raise lockout.refused(ctx, pool, user, check)
    if session:  # sign-in after sign-up (SignUp's or ConfirmSignUp's Session)
        return sign_up_sign_in(s, user, session, auth)
    available = available_challenges(pool, user, has_passkeys)
    if preferred in available:
        return _choose(s, user, username, preferred, auth)
    # no (usable) preference: the user chooses among the available challenges
    state = {"user_id": user.id if user is not None else None, "username": username, "available": available}
    with ctx.store.tx() as conn:
        session = new_session(conn, pool, client, username[:128], "SELECT_CHALLENGE", state, now)
    return {
        "ChallengeName": "SELECT_CHALLENGE",
        "Session": session,
        "ChallengeParameters": {},
        "AvailableChallenges": available,
    }


def select_challenge(s: SignIn, name: str, session_id: str, answers: dict[str, str]) -> dict[str, Any]:
    """The answer to SELECT_CHALLENGE (ANSWER names the choice), or PASSWORD / PASSWORD_SRP answered
    directly in the SELECT_CHALLENGE session."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "USERNAME")
    choice = answers.get("ANSWER") or "" if name == "SELECT_CHALLENGE" else name
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id, "SELECT_CHALLENGE", now)
    username = str(session.state.get("username") or answers["USERNAME"])
    if choice not in (session.state.get("available") or []):
        raise InvalidParameterException(f"{choice or 'ANSWER'} is not one of the available challenges.")
    user_id = session.state.get("user_id")
    with ctx.store.read() as conn:
        user = directory.get_by_id(conn, pool, user_id) if user_id else None
    if user_id and user is None:
        raise NotAuthorizedException(SESSION_EXPIRED)
    auth = {**answers, "USERNAME": user.username if user is not None else username}
    return _choose(s, user, username, choice, auth)


def _choose(s: SignIn, user: User | None, username: str, choice: str, auth: dict[str, str]) -> dict[str, Any]:
    if choice == "PASSWORD":
        return password_signin(s, {**auth, "USERNAME": auth.get("USERNAME") or username})
    if choice == "PASSWORD_SRP":
        require(auth, "SRP_A")
        return srp_start(s, {**auth, "USERNAME": auth.get("USERNAME") or username})
    if choice == "WEB_AUTHN":
        return _webauthn_start(s, user, username, auth)
    return _otp_start(s, user, username, choice, auth)


def _webauthn_start(s: SignIn, user: User | None, username: str, auth: dict[str, str]) -> dict[str, Any]:
    """The WEB_AUTHN challenge: CREDENTIAL_REQUEST_OPTIONS for the user's passkeys."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    if auth.get("CREDENTIAL"):
        raise InvalidParameterException("Answer WEB_AUTHN first, then send the CREDENTIAL to the WEB_AUTHN challenge.")
    pre_authentication(ctx, pool, client, user, {**auth, "USERNAME": username})
    if user is not None:
        gate(pool, user, now)
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
        session = new_session(conn, pool, client, username[:128], "WEB_AUTHN", session_state, now)
    return {
        "ChallengeName": "WEB_AUTHN",
        "Session": session,
        "ChallengeParameters": {"CREDENTIAL_REQUEST_OPTIONS": json.dumps(options, separators=(",", ":"))},
    }


def webauthn_answer(s: SignIn, session_id: str, answers: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "USERNAME", "CREDENTIAL")
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id, "WEB_AUTHN", now)
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
            lockout.succeeded(ctx, conn, pool, user)
            return finish_with(s, conn, user, None)
    with ctx.store.tx() as conn:
        lockout.failed(ctx, conn, pool, user, user.id, NotAuthorizedException(INCORRECT))
    raise NotAuthorizedException(INCORRECT)


def _otp_start(s: SignIn, user: User | None, username: str, challenge: str, auth: dict[str, str]) -> dict[str, Any]:
    """Send a one-time sign-in code by email (EMAIL_OTP) or SMS (SMS_OTP)."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    pre_authentication(ctx, pool, client, user, {**auth, "USERNAME": username})
    if user is None:
        # an unknown user (user existence errors prevented): a challenge no code can answer, its
        # "code" limited as a real user's is (code_limits)
        with ctx.store.tx() as conn:
            limits = code_limits.Limits.of(ctx.settings, ctx.box)
            code_limits.issue_hidden(conn, limits, pool, None, username[:128], "Authentication", now)
            state: dict[str, Any] = {"user_id": None, "attempts": 0, "options": [], "device_key": None}
            session = new_session(conn, pool, client, username[:128], challenge, state, now)
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
    gate(pool, user, now)
    with ctx.store.tx() as conn:
        quiet = client.prevent_user_existence_errors  # a flooded address tells nothing (code_limits)
        result = mfa_challenge(s, conn, user, challenge, (), quiet=quiet)
    result["ChallengeParameters"].pop("USER_ID_FOR_SRP", None)
    return result
