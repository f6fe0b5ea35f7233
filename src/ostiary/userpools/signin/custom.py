"""CUSTOM_AUTH (Cognito Developer Guide, "Custom authentication challenge Lambda triggers"):
DefineAuthChallenge decides, CreateAuthChallenge asks, VerifyAuthChallengeResponse checks; a custom
flow may start with SRP (CHALLENGE_NAME SRP_A, then PASSWORD_VERIFIER from ``srp_flow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ostiary.userpools import directory, lockout, triggers
from ostiary.userpools.directory import User
from ostiary.userpools.errors import InvalidLambdaResponseException, InvalidParameterException, NotAuthorizedException
from ostiary.userpools.signin.challenge_sessions import new_session, take_session
from ostiary.userpools.signin.context import INCORRECT, SESSION_EXPIRED, SignIn, check_secret_hash_for, require
from ostiary.userpools.signin.mfa_challenge import mfa_or_finish
from ostiary.userpools.signin.password import find_for_signin, gate, pre_authentication
from ostiary.userpools.signin.srp_flow import srp_start

MAX_CUSTOM_ROUNDS = 10


def custom_start(s: SignIn, auth: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(auth, "USERNAME")
    for trigger in ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"):
        if not triggers.configured(pool, trigger):
            raise InvalidParameterException(f"CUSTOM_AUTH needs the pool's {trigger} Lambda trigger.")
    username = auth["USERNAME"]
    with ctx.store.read() as conn:
        user = find_for_signin(ctx, conn, pool, client, username)
        check_secret_hash_for(client, [username, user.username if user else ""], auth.get("SECRET_HASH"))
        counted = lockout.subject(ctx.box, pool, user, username)
        check = lockout.is_locked(conn, pool.id, counted, ctx.source_ip, now)
    if check.locked:
        raise lockout.refused(ctx, pool, user, check)
    # An unknown user (the client prevents user existence errors) goes through the same triggers
    # with userNotFound: true and empty userAttributes, and can never get tokens.
    if user is not None:
        gate(pool, user, now)
    pre_authentication(ctx, pool, client, user, auth)
    who = _Who(user, user.username if user is not None else username)
    if auth.get("CHALLENGE_NAME") == "SRP_A":
        rounds = [{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
        decided = _define(s, who, rounds)
        if decided.get("challengeName") != "PASSWORD_VERIFIER":
            with ctx.store.tx() as conn:
                return _custom_decide(s, conn, who, rounds, decided)
        # the sealed state remembers that this SRP exchange belongs to a custom flow
        return srp_start(s, {**auth, "USERNAME": who.username}, custom=rounds)
    with ctx.store.tx() as conn:
        return custom_next(s, conn, who, [])


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


def _define(s: SignIn, who: _Who | User, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ctx, pool, client = s.ctx, s.pool, s.client
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
            "clientMetadata": ctx.client_metadata,
            "userNotFound": fields["userNotFound"],
        },
    )
    return response or {}


def custom_next(s: SignIn, conn: Connection, who: _Who | User, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(who, User):
        who = _Who(who, who.username)
    return _custom_decide(s, conn, who, rounds, _define(s, who, rounds))


def _custom_decide(
    s: SignIn, conn: Connection, who: _Who | User, rounds: list[dict[str, Any]], decided: dict[str, Any]
) -> dict[str, Any]:
    """Act on DefineAuthChallenge's answer: fail, issue tokens, or ask the next challenge."""
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    if isinstance(who, User):
        who = _Who(who, who.username)
    user = who.user
    if triggers.flag(decided, "failAuthentication"):
        counted = lockout.subject(ctx.box, pool, user, who.username)
        lockout.failed(ctx, conn, pool, user, counted, NotAuthorizedException(INCORRECT))
        raise NotAuthorizedException(INCORRECT)
    if triggers.flag(decided, "issueTokens"):
        if user is None:  # nobody to issue tokens to: the same answer as a failed attempt
            raise NotAuthorizedException(INCORRECT)
        return mfa_or_finish(s, conn, user)
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
                "clientMetadata": ctx.client_metadata,
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
    session = new_session(conn, pool, client, who.username[:128], "CUSTOM_CHALLENGE", state, now)
    parameters = {str(k): str(v) for k, v in public.items()}
    parameters["USERNAME"] = who.username
    return {"ChallengeName": "CUSTOM_CHALLENGE", "Session": session, "ChallengeParameters": parameters}


def custom_answer(s: SignIn, session_id: str, answers: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "USERNAME", "ANSWER")
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id, "CUSTOM_CHALLENGE", now)
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
                "clientMetadata": ctx.client_metadata,
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
        return custom_next(s, conn, who, rounds)
