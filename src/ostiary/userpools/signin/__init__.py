"""Sign-in: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge and AdminRespondToAuthChallenge,
each dispatched to the module of its flow (the refresh and sign-out operations live in ``refresh``).

Flows and messages follow the Cognito API Reference (InitiateAuth, RespondToAuthChallenge) and
NOTES-cognito.md §2.2-2.5. One module per flow:

- ``password``: USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH / ADMIN_NO_SRP_AUTH, NEW_PASSWORD_REQUIRED
- ``srp_flow``: USER_SRP_AUTH → PASSWORD_VERIFIER
- ``mfa_challenge``: SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP, SELECT_MFA_TYPE, MFA_SETUP
- ``device``: DEVICE_SRP_AUTH → DEVICE_PASSWORD_VERIFIER
- ``choice``: USER_AUTH (SELECT_CHALLENGE, passkeys, one-time codes, sign-in after sign-up)
- ``custom``: CUSTOM_AUTH (the Define/Create/VerifyAuthChallenge triggers)
- ``refresh``: REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken, RevokeToken, GlobalSignOut
- ``challenge_sessions``: the challenge sessions they share; ``context``: the client checks and messages

Password checks and SRP arithmetic are CPU-heavy: these operations run off the event loop.
"""

from __future__ import annotations

import orjson

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.userpools import threat_protection, triggers
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import InvalidParameterException
from ostiary.userpools.lookup import ClientView, client_and_pool, client_in_pool, pool_for_caller
from ostiary.userpools.risk import adaptive
from ostiary.userpools.signin.choice import select_challenge, user_auth_start, webauthn_answer
from ostiary.userpools.signin.context import AuthFlow, ChallengeName, SignIn, flow_allowed, require
from ostiary.userpools.signin.custom import custom_answer, custom_next, custom_start
from ostiary.userpools.signin.device import device_srp_start, device_srp_verify
from ostiary.userpools.signin.mfa_challenge import MFA_CHALLENGES, answer_mfa
from ostiary.userpools.signin.password import answer_new_password, password_signin, success
from ostiary.userpools.signin.refresh import refresh_tokens
from ostiary.userpools.signin.srp_flow import srp_start, srp_verify

# challenges answered within a challenge session (RespondToAuthChallenge's Session)
_SESSION_CHALLENGES = frozenset(
    {
        ChallengeName.NEW_PASSWORD_REQUIRED,
        *MFA_CHALLENGES,
        ChallengeName.SMS_OTP,
        ChallengeName.CUSTOM_CHALLENGE,
        ChallengeName.SELECT_CHALLENGE,
        ChallengeName.PASSWORD,
        ChallengeName.PASSWORD_SRP,
        ChallengeName.WEB_AUTHN,
        ChallengeName.DEVICE_SRP_AUTH,
    }
)


def _initiate(ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, admin: bool) -> Result:
    adaptive.begin(ctx, params.get("ContextData" if admin else "UserContextData"), trusted=admin)
    try:
        return _initiate_flow(ctx, pool, client, params, admin)
    except adaptive.Blocked as blocked:  # adaptive authentication refused it: recorded on its own
        raise threat_protection.record_blocked(ctx, pool, blocked) from None


def _initiate_flow(ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, admin: bool) -> Result:
    flow = params["AuthFlow"]
    auth: dict[str, str] = dict(params.get("AuthParameters") or {})
    s = SignIn(ctx, pool, client, ctx.now, success)
    admin_flows = (AuthFlow.ADMIN_USER_PASSWORD_AUTH, AuthFlow.ADMIN_NO_SRP_AUTH)
    if flow in admin_flows and not admin:
        raise InvalidParameterException("Initiate Auth method not supported.")
    if flow == AuthFlow.USER_PASSWORD_AUTH and admin:
        raise InvalidParameterException("Initiate Auth method not supported.")
    if not flow_allowed(client, flow):
        raise InvalidParameterException(f"{flow} flow not enabled for this client")
    if flow == AuthFlow.USER_AUTH:
        return user_auth_start(s, auth, params.get("Session"))
    if flow == AuthFlow.CUSTOM_AUTH:
        return custom_start(s, auth)
    if flow in (AuthFlow.USER_PASSWORD_AUTH, *admin_flows):
        return password_signin(s, auth)
    if flow == AuthFlow.USER_SRP_AUTH:
        return srp_start(s, auth)
    require(auth, "REFRESH_TOKEN")
    result = refresh_tokens(ctx, pool, client, auth["REFRESH_TOKEN"], auth.get("SECRET_HASH"), s.now, rotate=False)
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


def _respond(ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, admin: bool) -> Result:
    adaptive.begin(ctx, params.get("ContextData" if admin else "UserContextData"), trusted=admin)
    try:
        return _respond_to(ctx, pool, client, params)
    except adaptive.Blocked as blocked:
        raise threat_protection.record_blocked(ctx, pool, blocked) from None


def _respond_to(ctx: RequestContext, pool: PoolView, client: ClientView, params: Params) -> Result:
    s = SignIn(ctx, pool, client, ctx.now, success)
    name = params["ChallengeName"]
    answers: dict[str, str] = dict(params.get("ChallengeResponses") or {})
    session = params.get("Session")
    if name == ChallengeName.PASSWORD_VERIFIER:  # the SRP state travels in the SECRET_BLOCK, not a session
        return srp_verify(s, answers, custom_next)
    if name == ChallengeName.DEVICE_PASSWORD_VERIFIER:
        return device_srp_verify(s, session, answers)
    if name not in _SESSION_CHALLENGES:
        raise InvalidParameterException(f"Ostiary does not support the {name} challenge yet.")
    if not session:
        raise InvalidParameterException("Missing required parameter Session")
    if name == ChallengeName.NEW_PASSWORD_REQUIRED:
        return answer_new_password(s, session, answers)
    if name in MFA_CHALLENGES or name == ChallengeName.SMS_OTP:
        return answer_mfa(s, name, session, answers)
    if name == ChallengeName.CUSTOM_CHALLENGE:
        return custom_answer(s, session, answers)
    if name in (ChallengeName.SELECT_CHALLENGE, ChallengeName.PASSWORD, ChallengeName.PASSWORD_SRP):
        return select_challenge(s, name, session, answers)
    if name == ChallengeName.WEB_AUTHN:
        return webauthn_answer(s, session, answers)
    return device_srp_start(s, session, answers)  # DEVICE_SRP_AUTH


# AuthFlows short enough to run on the event loop: a refresh (two RSA signatures) and the start of
# SRP (two reads and g^b from the fixed-base table: ~0.3 ms)
_INLINE_FLOWS = frozenset({AuthFlow.REFRESH_TOKEN_AUTH, AuthFlow.REFRESH_TOKEN, AuthFlow.USER_SRP_AUTH})


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
    return _respond(ctx, pool, client, params, admin=False)


@operation("cognito-idp", "AdminRespondToAuthChallenge", offload=True)
@triggers.with_client_metadata
def admin_respond_to_auth_challenge(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
    return _respond(ctx, pool, client, params, admin=True)
