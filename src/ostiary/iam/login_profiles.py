"""IAM users' console passwords (IAM API Reference): CreateLoginProfile, GetLoginProfile,
UpdateLoginProfile, DeleteLoginProfile, ChangePassword.

Passwords are checked against the account's password policy (iam/account_settings.py) and stored as
Argon2id hashes only (the operations that hash run off the event loop). ChangePassword is the IAM
user's own call: the old password must match. Ostiary has no AWS console, so a login profile is
what an operator's own sign-in page can check a user's password against.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access import policy as engine
from ostiary.access.authz import Authorizer, denied_message
from ostiary.access.principals import PrincipalKind
from ostiary.audit import recorder as audit
from ostiary.iam import account_settings
from ostiary.iam.entities import caller_name, get_user, has_login_profile, user_resource
from ostiary.iam.errors import (
    EntityAlreadyExistsException,
    InvalidInputException,
    InvalidUserTypeException,
    NoSuchEntityException,
    PasswordPolicyViolationException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_L = t.iam_login_profiles.c


def _profile(conn: Connection, acct: str, user: Row[Any]) -> Row[Any]:
    row = conn.execute(select(t.iam_login_profiles).where(_L.account_id == acct, _L.user_key == user.name_key)).first()
    if row is None:
        raise NoSuchEntityException(f"Login Profile for User {user.name} cannot be found.")
    return row


def _profile_type(user: Row[Any], row: Row[Any]) -> dict[str, Any]:
    return {"UserName": user.name, "CreateDate": utc(row.created_at), "PasswordResetRequired": row.reset_required}


def _user(conn: Connection, ctx: RequestContext, params: Params) -> Row[Any]:
    name = caller_name(ctx, params)
    if name is None:  # the account root, which has no IAM login profile in Ostiary
        raise NoSuchEntityException("Login profiles of the account root are not managed by Ostiary; name an IAM user.")
    return get_user(conn, ctx.account_id, name)


@operation("iam", "CreateLoginProfile", resource=user_resource, offload=True)
def create_login_profile(ctx: RequestContext, params: Params) -> Result:
    password = params.get("Password")
    if not password:
        raise InvalidInputException("A password is required to create the login profile of an IAM user.")
    with ctx.store.read() as conn:  # check first: hash only passwords that will be stored
        user = _user(conn, ctx, params)
        account_settings.check_password(conn, ctx.account_id, password)
    hashed = ctx.passwords.hash(password)
    with ctx.store.tx() as conn:
        user = _user(conn, ctx, params)
        if has_login_profile(conn, ctx.account_id, user.name_key):
            raise EntityAlreadyExistsException(f"Login Profile for user {user.name} already exists.")
        account_settings.check_password(conn, ctx.account_id, password)  # the policy may have changed meanwhile
        conn.execute(
            insert(t.iam_login_profiles).values(
                account_id=ctx.account_id,
                user_key=user.name_key,
                password_hash=hashed,
                reset_required=bool(params.get("PasswordResetRequired", False)),
                created_at=ctx.now,
                password_changed_at=ctx.now,
            )
        )
        audit.record(conn, ctx, params)
        return {"LoginProfile": _profile_type(user, _profile(conn, ctx.account_id, user))}


@operation("iam", "GetLoginProfile", resource=user_resource)
def get_login_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        user = _user(conn, ctx, params)
        return {"LoginProfile": _profile_type(user, _profile(conn, ctx.account_id, user))}


@operation("iam", "UpdateLoginProfile", resource=user_resource, offload=True)
def update_login_profile(ctx: RequestContext, params: Params) -> Result:
    password = params.get("Password")
    hashed = None
    if password:
        with ctx.store.read() as conn:
            _profile(conn, ctx.account_id, _user(conn, ctx, params))
            account_settings.check_password(conn, ctx.account_id, password)
        hashed = ctx.passwords.hash(password)
    with ctx.store.tx() as conn:
        user = _user(conn, ctx, params)
        _profile(conn, ctx.account_id, user)
        values: dict[str, Any] = {}
        if hashed is not None:
            assert password is not None
            account_settings.check_password(conn, ctx.account_id, password)
            values.update(password_hash=hashed, password_changed_at=ctx.now)
        if params.get("PasswordResetRequired") is not None:
            values["reset_required"] = bool(params["PasswordResetRequired"])
        if values:
            conn.execute(
                update(t.iam_login_profiles)
                .where(_L.account_id == ctx.account_id, _L.user_key == user.name_key)
                .values(**values)
            )
        audit.record(conn, ctx, params, details={"passwordChanged": hashed is not None})
    return None


@operation("iam", "DeleteLoginProfile", resource=user_resource)
def delete_login_profile(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        user = _user(conn, ctx, params)
        _profile(conn, ctx.account_id, user)
        conn.execute(delete(t.iam_login_profiles).where(_L.account_id == ctx.account_id, _L.user_key == user.name_key))
        audit.record(conn, ctx, params)
    return None


def _may_change_password(ctx: RequestContext, policy: dict[str, Any] | None) -> None:
    """The password policy's AllowUsersToChangePassword lets IAM users change their own password
    without an IAM policy (an explicit deny still wins); otherwise the caller's policies must allow
    iam:ChangePassword on their own user. Temporary credentials (GetSessionToken) always need the
    IAM policy, so that the no-IAM rule of sessions without MFA holds."""
    assert ctx.principal is not None
    resource = ctx.principal.arn
    evaluation = Authorizer(ctx.store).evaluate(
        ctx.principal, "iam:ChangePassword", resource, ctx.source_ip, ctx.now, False, region=ctx.region
    )
    if evaluation.decision is engine.Decision.ALLOW:
        return
    by_policy = bool(policy and policy.get("AllowUsersToChangePassword"))
    temporary = ctx.principal.access_key_id.startswith("ASIA")
    if evaluation.decision is engine.Decision.IMPLICIT_DENY and by_policy and not temporary:
        return
    raise AccessDenied(denied_message(ctx.principal.arn, "iam:ChangePassword", resource, evaluation))


# authorization is made by the handler: the password policy may allow it without any IAM policy
@operation("iam", "ChangePassword", authorize=False, offload=True)
def change_password(ctx: RequestContext, params: Params) -> Result:
    principal = ctx.principal
    if principal is None or principal.kind is not PrincipalKind.USER:
        raise InvalidUserTypeException("Only IAM users can change their own password.")
    name = principal.arn.rsplit("/", 1)[-1]
    with ctx.store.read() as conn:
        user = get_user(conn, ctx.account_id, name)
        if user.user_id != principal.user_id:  # renamed or re-created since the credentials were issued
            raise NoSuchEntityException(f"The user with name {name} cannot be found.")
        stored = _profile(conn, ctx.account_id, user)
        policy = account_settings.password_policy(conn, ctx.account_id)
    _may_change_password(ctx, policy)
    if not ctx.passwords.verify(stored.password_hash, params["OldPassword"]):
        raise AccessDenied("The old password is incorrect.")
    new = params["NewPassword"]
    problem = account_settings.password_problem(new, policy)
    if (
        problem is None
        and policy
        and policy.get("PasswordReusePrevention")
        and ctx.passwords.verify(stored.password_hash, new)
    ):
        problem = "Password should not be one of the previous passwords"  # only the current one is known
    if problem:
        raise PasswordPolicyViolationException(problem)
    hashed = ctx.passwords.hash(new)
    with ctx.store.tx() as conn:
        done = conn.execute(
            update(t.iam_login_profiles)
            .where(
                _L.account_id == ctx.account_id,
                _L.user_key == user.name_key,
                _L.password_hash == stored.password_hash,  # not changed by another call meanwhile
            )
            .values(password_hash=hashed, password_changed_at=ctx.now, reset_required=False)
        ).rowcount
        if not done:
            raise AccessDenied("The old password is incorrect.")
    return None
