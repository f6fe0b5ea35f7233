"""MFA after the first factor: SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP, SELECT_MFA_TYPE, MFA_SETUP,
and the one-time-code challenges of USER_AUTH (EMAIL_OTP, SMS_OTP) answered the same way (Cognito
Developer Guide, "Adding MFA to a user pool"; API Reference: RespondToAuthChallenge).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import code_limits, directory, lockout, messages, mfa, threat_protection
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    CodeMismatchException,
    ExpiredCodeException,
    InvalidParameterException,
    LimitExceededException,
    NotAuthorizedException,
)
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.risk import adaptive
from ostiary.userpools.signin.challenge_sessions import new_session
from ostiary.userpools.signin.context import SESSION_EXPIRED, ChallengeName, Finisher, SignIn

MFA_CHALLENGES = (
    ChallengeName.SMS_MFA,
    ChallengeName.SOFTWARE_TOKEN_MFA,
    ChallengeName.EMAIL_OTP,
    ChallengeName.SELECT_MFA_TYPE,
    ChallengeName.MFA_SETUP,
)


MFA_ATTEMPTS = 3


CODE_MISMATCH = "Invalid code or auth state for the user."


TOTP_REUSED = "Your software token has already been used once."


def mfa_challenge(
    s: SignIn,
    conn: Connection,
    user: User,
    challenge: str,
    options: tuple[str, ...],
    device_key: str | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Open an MFA challenge session (sending the code for SMS and email; code_limits apply, and with
    ``quiet`` a destination past its limit gets nothing while the answer stays the usual one)."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    params: dict[str, str] = {"USER_ID_FOR_SRP": user.username}
    if challenge in (ChallengeName.SMS_MFA, ChallengeName.EMAIL_OTP, ChallengeName.SMS_OTP):
        attribute = "phone_number" if challenge in (ChallengeName.SMS_MFA, ChallengeName.SMS_OTP) else "email"
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
            messages.send(conn, ctx.settings, pool, user, delivery, "Authentication", code, now, request=ctx)
        details = delivery.details()
        params.update(
            CODE_DELIVERY_DELIVERY_MEDIUM=details["DeliveryMedium"], CODE_DELIVERY_DESTINATION=details["Destination"]
        )
    elif challenge == ChallengeName.SELECT_MFA_TYPE:
        params["MFAS_CAN_CHOOSE"] = json.dumps(list(options))
    elif challenge == ChallengeName.MFA_SETUP:
        params["MFAS_CAN_SETUP"] = json.dumps(list(options))
    state = {"user_id": user.id, "attempts": 0, "options": list(options), "device_key": device_key}
    session = new_session(conn, pool, client, user.username, challenge, state, now)
    return {"ChallengeName": challenge, "Session": session, "ChallengeParameters": params}


def mfa_or_finish(
    s: SignIn, conn: Connection, user: User, skip_mfa: bool = False, device_key: str | None = None
) -> dict[str, Any]:
    """After the password (or a new password, or a device): an MFA challenge when the pool and user
    call for one, else the end of the sign-in."""
    step = None if skip_mfa else mfa.next_step(s.pool, user)
    if step is None:
        # adaptive authentication's MFA action (ENFORCED), for a user MFA would not otherwise ask
        risky = None if skip_mfa else adaptive.step_up(s.ctx, s.pool, user)
        if risky is None:
            return finish_with(s, conn, user, device_key)
        return mfa_challenge(s, conn, user, risky, (), device_key)
    return mfa_challenge(s, conn, user, step.challenge, step.options, device_key)


def finish_with(s: SignIn, conn: Connection, user: User, device_key: str | None) -> dict[str, Any]:
    """End the sign-in with ``s.finish`` (``device_key`` passed only when there is one)."""
    if device_key:
        return s.finish(s.ctx, conn, s.pool, s.client, user, s.now, device_key=device_key)
    return s.finish(s.ctx, conn, s.pool, s.client, user, s.now)


def answer_mfa(s: SignIn, name: str, session_id: str, answers: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    failure: Exception | None = None
    with ctx.store.tx() as conn:
        # locked until commit: a second answer to the same session (on this process or another) waits,
        # then finds it gone (answered) or counted (a wrong code)
        row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id).with_for_update()).first()
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
            # the user's row is locked for a TOTP answer: the step a code takes is read and written
            # once across sessions and processes (two sign-ins cannot both take the same code)
            totp = name == ChallengeName.SOFTWARE_TOKEN_MFA
            user = directory.get_by_id(conn, pool, row.state["user_id"], lock=totp)
            if user is None or not user.enabled:
                raise NotAuthorizedException(SESSION_EXPIRED)
            outcome = _check_mfa_answer(s, conn, name, session_id, row, user, answers)
            if not isinstance(outcome, Exception):
                return outcome
            failure = outcome
    raise failure


def _check_mfa_answer(
    s: SignIn, conn: Connection, name: str, session_id: str, row: Any, user: User, answers: dict[str, str]
) -> dict[str, Any] | Exception:
    """The next step of a sign-in after a right answer, or the failure of a wrong one."""
    ctx, pool, now = s.ctx, s.pool, s.now
    failure: Exception | None = None
    named = answers.get("USERNAME")
    if named and named not in (user.username, user.id):
        found = directory.find(conn, pool, named)
        if found is None or found.id != user.id:
            raise NotAuthorizedException(SESSION_EXPIRED)
    if name == ChallengeName.SELECT_MFA_TYPE:
        choice = answers.get("ANSWER", "")
        if choice not in (row.state.get("options") or []):
            raise InvalidParameterException("ANSWER must be one of the MFA types the challenge offered.")
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        return mfa_challenge(s, conn, user, choice, (), row.state.get("device_key"))
    if name == ChallengeName.MFA_SETUP:
        if not user.mfa.get("totp_secret"):
            raise InvalidParameterException("The software token has not been verified (VerifySoftwareToken).")
        conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.id == session_id))
        enabled = list(dict.fromkeys([*(user.mfa.get("UserMFASettingList") or []), mfa.TOTP]))
        mfa.save(conn, user, now, UserMFASettingList=enabled, PreferredMfaSetting=mfa.TOTP)
        threat_protection.record_challenge(ctx, conn, pool, user, None)
        return finish_with(s, conn, user, row.state.get("device_key"))
    ok = False
    if name == ChallengeName.SOFTWARE_TOKEN_MFA:
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
        fields: dict[str, str] = {ChallengeName.SMS_MFA: "SMS_MFA_CODE", ChallengeName.SMS_OTP: "SMS_OTP_CODE"}
        field = fields.get(name, "EMAIL_OTP_CODE")
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
        lockout.succeeded(ctx, conn, pool, user)
        threat_protection.record_challenge(ctx, conn, pool, user, True)
        return finish_with(s, conn, user, row.state.get("device_key"))
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
    return answer_mfa(SignIn(ctx, pool, client, ctx.now, finish), challenge, session_id, answers)
