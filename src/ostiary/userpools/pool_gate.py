"""The dispatcher's guard of user pool operations (``Dispatcher.guard``, after authorization): what a
recovery in progress and a secondary Region refuse, with AWS's OperationNotEnabledException.

- A recovery in progress (userpools/recovery.py) pauses the writes of user data: sign-up, user
  creation, attribute, password, MFA and passkey changes, groups and memberships, imports. Sign-in
  and reads go on, but for the NEW_PASSWORD_REQUIRED, MFA_SETUP and SOFTWARE_TOKEN_MFA challenges.
- A secondary Region of a replicated pool (userpools/replicas.py) answers reads and sign-ins only;
  no TOTP MFA; an INACTIVE replica answers no end user (no unsigned call, no sign-in).

A request's pool is its ``UserPoolId``, its ``ClientId``'s pool, or its ``AccessToken``'s issuer.
When no pool has a replica or a recovery, the guard reads one cached flag and returns.
"""

from __future__ import annotations

import secrets
from typing import Any

from ostiary.protocol.context import RequestContext
from ostiary.userpools import pool_state, restore
from ostiary.userpools.errors import NotAuthorizedException, OperationNotEnabledException
from ostiary.userpools.lookup import client_by_id, pool_by_id
from ostiary.userpools.tokens import pool_id_of

# writes of user data: refused while a recovery is in progress, and in a secondary Region
USER_DATA_WRITES = frozenset(
    {
        "AdminCreateUser",
        "AdminDeleteUser",
        "AdminUpdateUserAttributes",
        "AdminDeleteUserAttributes",
        "AdminAddUserToGroup",
        "AdminRemoveUserFromGroup",
        "AdminConfirmSignUp",
        "AdminDisableUser",
        "AdminEnableUser",
        "AdminSetUserPassword",
        "AdminResetUserPassword",
        "AdminSetUserMFAPreference",
        "AdminSetUserSettings",
        "AdminDeleteSoftwareToken",
        "AdminLinkProviderForUser",
        "AdminDisableProviderForUser",
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "ChangePassword",
        "UpdateUserAttributes",
        "DeleteUserAttributes",
        "DeleteUser",
        "GetUserAttributeVerificationCode",
        "VerifyUserAttribute",
        "SetUserMFAPreference",
        "SetUserSettings",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "StartWebAuthnRegistration",
        "CompleteWebAuthnRegistration",
        "DeleteWebAuthnCredential",
        "CreateGroup",
        "UpdateGroup",
        "DeleteGroup",
        "CreateUserImportJob",
        "StartUserImportJob",
    }
)
# challenges whose answer writes (a new password, an MFA enrolment) or that a secondary can't check (TOTP)
WRITING_CHALLENGES = frozenset({"NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SOFTWARE_TOKEN_MFA"})
CHALLENGE_ANSWERS = frozenset({"RespondToAuthChallenge", "AdminRespondToAuthChallenge"})
SIGN_IN = frozenset(
    {"InitiateAuth", "AdminInitiateAuth", *CHALLENGE_ANSWERS, "GetTokensFromRefreshToken", "RevokeToken"}
)
# what a secondary Region answers besides reads (Describe*, Get*, List*, AdminGet*, AdminList*)
SECONDARY_ALLOWED = SIGN_IN | {
    "GlobalSignOut",
    "AdminUserGlobalSignOut",
    "ConfirmDevice",
    "UpdateDeviceStatus",
    "ForgetDevice",
    "AdminUpdateDeviceStatus",
    "AdminForgetDevice",
    "UpdateUserPoolReplica",
}
SWEEP_ONE_IN = 1024  # a write of user data sweeps the journal with these odds
_READ_PREFIXES = ("Describe", "Get", "List", "AdminGet", "AdminList")

RECOVERING = "Write operations are paused in user pool {pool}: a point-in-time recovery is in progress."
SECONDARY = "{op} is not supported in the secondary Region {region} of user pool {pool}."
INACTIVE = "The replica of user pool {pool} in {region} is INACTIVE: it doesn't accept end-user requests."


def _pool_of(ctx: RequestContext, params: dict[str, Any]) -> str | None:
    pool_id = params.get("UserPoolId")
    if isinstance(pool_id, str):
        return pool_id
    client_id = params.get("ClientId")
    if isinstance(client_id, str):
        with ctx.store.read() as conn:
            client = client_by_id(conn, ctx.box, client_id)
        return client.pool_id if client is not None else None
    token = params.get("AccessToken")
    if isinstance(token, str):
        try:
            return pool_id_of(token)
        except NotAuthorizedException:
            return None  # the operation answers for its token
    return None


def hosted_refusal(ctx: RequestContext, pool_id: str) -> str | None:
    """Why the hosted UI may not run ``ctx.operation`` on the pool now (a recovery in progress), or
    None: the pages call the service functions without the dispatcher (oauth/hosted/render.py)."""
    if ctx.operation not in USER_DATA_WRITES or not pool_state.any_state(ctx.store, ctx.now):
        return None
    return RECOVERING.format(pool=pool_id) if pool_state.of_store(ctx.store, pool_id, ctx.now).recovering else None


def guard(ctx: RequestContext, params: dict[str, Any]) -> None:
    """Raise OperationNotEnabledException for what the request's pool refuses now."""
    if ctx.service != "cognito-idp":
        return
    if ctx.operation in USER_DATA_WRITES and secrets.randbelow(SWEEP_ONE_IN) == 0:
        with ctx.store.tx() as conn:  # the journal's retention, now and then (and at every start)
            restore.sweep(conn, ctx.settings, ctx.now)
    if not pool_state.any_state(ctx.store, ctx.now):
        return
    pool_id = _pool_of(ctx, params)
    if pool_id is None:
        return
    state = pool_state.of_store(ctx.store, pool_id, ctx.now)
    if not state.replicas and not state.recovering:
        return
    with ctx.store.read() as conn:
        pool = pool_by_id(conn, pool_id)
    if pool is None:
        return
    name = ctx.operation
    challenge = params.get("ChallengeName") if name in CHALLENGE_ANSWERS else None
    if state.recovering and (name in USER_DATA_WRITES or challenge in WRITING_CHALLENGES):
        raise OperationNotEnabledException(RECOVERING.format(pool=pool_id))
    status = state.replicas.get(ctx.region) if ctx.region != pool.region else None
    if status is None:
        return  # the primary Region (or a Region the pool has no replica in: the operation decides)
    if status != "ACTIVE" and (ctx.principal is None or name in SIGN_IN):
        raise OperationNotEnabledException(INACTIVE.format(pool=pool_id, region=ctx.region))
    if name.startswith(_READ_PREFIXES) or (name in SECONDARY_ALLOWED and challenge not in WRITING_CHALLENGES):
        return
    raise OperationNotEnabledException(SECONDARY.format(op=name, region=ctx.region, pool=pool_id))
