"""Admin user management: AdminCreateUser … AdminSetUserSettings (ListUsers: user_search.py).

Behaviour per the Cognito API Reference for each operation and NOTES-cognito.md §2.6-2.7
(statuses and transitions, attributes, aliases, invitations).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import attributes as attrs
from ostiary.userpools import code_limits, directory, messages, srp, tokens, triggers
from ostiary.userpools import passwords as policy
from ostiary.userpools.auth_factors import auth_factors
from ostiary.userpools.directory import PoolView, User, UserStatus
from ostiary.userpools.errors import (
    AliasExistsException,
    InvalidParameterException,
    InvalidPasswordException,
    NotAuthorizedException,
    UnsupportedUserStateException,
    UsernameExistsException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import pool_for_caller
from ostiary.userpools.risk import compromised


def user_type(user: User, only: set[str] | None = None, key: str = "Attributes") -> dict[str, Any]:
    """UserType (ListUsers, AdminCreateUser) — or AdminGetUser's shape with key="UserAttributes"."""
    out: dict[str, Any] = {
        "Username": user.username,
        key: user.attribute_list(only),
        "UserCreateDate": user.created_at,
        "UserLastModifiedDate": user.updated_at,
        "Enabled": user.enabled,
        "UserStatus": user.status,
    }
    options = user.mfa.get("MFAOptions")
    if options:
        out["MFAOptions"] = options
    return out


def require_user(conn: Connection, pool: PoolView, username: str) -> User:
    user = directory.find(conn, pool, username)
    if user is None:
        raise UserNotFoundException("User does not exist.")
    return user


def password_material(
    ctx: RequestContext, pool: PoolView, username: str, password: str, *, generated: bool = False
) -> dict[str, Any]:
    """Argon2id hash and SRP verifier for a new password (the password itself is never stored).
    ``generated``: a temporary password Ostiary drew at random (policy.temporary_password, >= 128
    bits), never one a person chose: kept with the fast keyed hash instead of Argon2id."""
    salt, verifier = srp.make_verifier(pool.srp_group, username, password)
    return {
        "password_hash": ctx.passwords.hash_generated(password) if generated else ctx.passwords.hash(password),
        "srp_salt": salt,
        "srp_verifier": srp.seal_verifier(ctx.box, pool.id, verifier),
        "password_updated_at": ctx.now,
    }


def check_password(pool: PoolView, password: str) -> None:
    problem = policy.policy_problem(password, pool.password_policy)
    if problem:
        raise InvalidPasswordException(problem)


def claim_aliases(
    conn: Connection, pool: PoolView, values: dict[str, str], user_id: str | None, force: bool, now: dt.datetime
) -> None:
    """Refuse (or, with ``force``, take over) an email/phone/preferred_username another user holds.
    A new user (``user_id`` None: SignUp, AdminCreateUser, import) whose username attribute is taken
    is UsernameExistsException; an existing user's update or verification taking it is
    AliasExistsException (the only one of the two in those operations' errors), as AWS answers."""
    for attribute in ("email", "phone_number", "preferred_username"):
        value = values.get(attribute)
        if not value:
            continue
        as_username = attribute in pool.username_attributes
        as_alias = attribute in pool.alias_attributes
        if not (as_username or as_alias):
            continue
        if as_alias and attribute != "preferred_username" and values.get(f"{attribute}_verified") != "true":
            continue  # an unverified email or phone is not an alias yet
        other = directory.alias_owner(conn, pool, attribute, value, exclude=user_id)
        if other is None:
            continue
        if as_username:
            label = "email" if attribute == "email" else "phone_number"
            if user_id is not None:
                raise AliasExistsException(f"An account with the given {label} already exists.")
            raise UsernameExistsException(f"An account with the given {label} already exists.")
        if attribute == "preferred_username" or not force:
            raise AliasExistsException(f"An account with the given {attribute} already exists.")
        moved = dict(other.attributes)
        moved[f"{attribute}_verified"] = "false"
        directory.save_attributes(conn, other, moved, now)


def resolve_new_username(pool: PoolView, username: str, values: dict[str, str]) -> str:
    """The stored username for a new user, and username-attribute checks."""
    if pool.username_attributes:
        if "email" in pool.username_attributes and attrs._EMAIL.match(username):
            values.setdefault("email", username)
            return str(uuid.uuid4())
        if "phone_number" in pool.username_attributes and attrs._PHONE.match(username):
            values.setdefault("phone_number", username)
            return str(uuid.uuid4())
        raise InvalidParameterException(
            "Username should be either an email or a phone number."
            if len(pool.username_attributes) > 1
            else f"Username should be an {'email' if 'email' in pool.username_attributes else 'phone number'}."
        )
    if "email" in pool.alias_attributes and attrs._EMAIL.match(username):
        raise InvalidParameterException(
            "Username cannot be of email format, since user pool is configured for email alias."
        )
    if "phone_number" in pool.alias_attributes and attrs._PHONE.match(username):
        raise InvalidParameterException(
            "Username cannot be of phone number format, since user pool is configured for phone_number alias."
        )
    return username


# --------------------------------------------------------------------------------------------


@operation("cognito-idp", "AdminCreateUser", offload=True)
@triggers.with_client_metadata
def admin_create_user(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    action = params.get("MessageAction")
    temp = params.get("TemporaryPassword")
    if temp:
        check_password(pool, temp)
    generated = not temp  # drawn at random here: the fast keyed hash; a person's choice keeps Argon2id
    temp = temp or policy.temporary_password(pool.password_policy)
    mediums = params.get("DesiredDeliveryMediums") or ["SMS"]
    if action == "RESEND":
        with ctx.store.read() as conn:
            existing = require_user(conn, pool, params["Username"])
        if existing.status != UserStatus.FORCE_CHANGE_PASSWORD:
            raise UnsupportedUserStateException(f"Resend not possible. User status is {existing.status}.")
        material = password_material(ctx, pool, existing.username, temp, generated=generated)
        with ctx.store.tx() as conn:
            user = require_user(conn, pool, params["Username"])
            directory.set_fields(conn, user, now, **material)
            _invite(ctx, conn, pool, user, temp, mediums)
        return {"User": user_type(user)}

    values = attrs.normalize(attrs.to_dict(params.get("UserAttributes")))
    attrs.check_values(pool, values, admin=True, creating=True)
    username = resolve_new_username(pool, params["Username"], values)
    attrs.check_values(pool, values, admin=True, creating=True)
    attrs.check_required(pool, values)
    response = triggers.run(
        ctx.settings,
        pool,
        "PreSignUp",
        "PreSignUp_AdminCreateUser",
        username,
        None,
        {
            "userAttributes": dict(values),
            "validationData": attrs.to_dict(params.get("ValidationData")) or None,
            "clientMetadata": params.get("ClientMetadata") or {},
        },
    )
    if triggers.flag(response, "autoVerifyEmail") and values.get("email"):
        values["email_verified"] = "true"
    if triggers.flag(response, "autoVerifyPhone") and values.get("phone_number"):
        values["phone_number_verified"] = "true"
    material = password_material(ctx, pool, username, temp, generated=generated)
    with ctx.store.tx() as conn:
        if directory.find(conn, pool, params["Username"], by_alias=False) is not None:
            raise UsernameExistsException("User account already exists")
        claim_aliases(conn, pool, values, None, bool(params.get("ForceAliasCreation")), now)
        user = directory.insert_user(
            conn,
            pool,
            username=username,
            status=UserStatus.FORCE_CHANGE_PASSWORD,
            attributes=values,
            now=now,
            password=material,
        )
        if action != "SUPPRESS":
            _invite(ctx, conn, pool, user, temp, mediums)
    return {"User": user_type(user)}


def _invite(ctx: RequestContext, conn: Connection, pool: PoolView, user: User, temp: str, mediums: list[str]) -> None:
    for medium in mediums:
        attribute = "email" if medium == "EMAIL" else "phone_number"
        destination = user.attributes.get(attribute)
        if destination:
            delivery = messages.Delivery(medium, attribute, destination)
            messages.send(conn, ctx.settings, pool, user, delivery, "AdminCreateUser", temp, ctx.now, request=ctx)


@operation("cognito-idp", "AdminGetUser")
def admin_get_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
    out = user_type(user, key="UserAttributes")
    settings = user.mfa.get("UserMFASettingList")
    if settings:
        out["UserMFASettingList"] = settings
        if user.mfa.get("PreferredMfaSetting"):
            out["PreferredMfaSetting"] = user.mfa["PreferredMfaSetting"]
    return out


@operation("cognito-idp", "AdminDeleteUser")
def admin_delete_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        directory.delete_user(conn, require_user(conn, pool, params["Username"]))
    return None


@operation("cognito-idp", "AdminEnableUser")
def admin_enable_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        directory.set_fields(conn, require_user(conn, pool, params["Username"]), ctx.now, enabled=True)
    return {}


@operation("cognito-idp", "AdminDisableUser")
def admin_disable_user(ctx: RequestContext, params: Params) -> Result:
    """Disabling also signs the user out everywhere (AWS revokes the user's tokens)."""
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        directory.set_fields(conn, user, ctx.now, enabled=False)
        tokens.revoke_user(conn, user.id, ctx.now)
    return {}


@operation("cognito-idp", "AdminConfirmSignUp", offload=triggers.offload)
@triggers.with_client_metadata
def admin_confirm_sign_up(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        if user.status != UserStatus.UNCONFIRMED:
            raise NotAuthorizedException(f"User cannot be confirmed. Current status is {user.status}")
        directory.set_fields(conn, user, ctx.now, status=UserStatus.CONFIRMED)
        triggers.run(  # inside the transaction: a failing trigger leaves the user unconfirmed
            ctx.settings,
            pool,
            "PostConfirmation",
            "PostConfirmation_ConfirmSignUp",
            user.username,
            None,
            {"userAttributes": triggers.user_attributes(user), "clientMetadata": params.get("ClientMetadata") or {}},
        )
    return {}


def apply_attribute_update(
    ctx: RequestContext, conn: Connection, pool: PoolView, user: User, updates: dict[str, str], admin: bool
) -> list[dict[str, str]]:
    """Write attributes; a changed email/phone becomes unverified and, when the pool auto-verifies it,
    gets a code. Returns CodeDeliveryDetailsList."""
    attrs.check_values(pool, updates, admin=admin, creating=False)
    new = dict(user.attributes)
    pending = dict(user.pending_attributes)
    keep_until_verified = set(
        (pool.config.get("UserAttributeUpdateSettings") or {}).get("AttributesRequireVerificationBeforeUpdate") or []
    )
    deliveries: list[messages.Delivery] = []
    for name, value in updates.items():
        if value == "":
            new.pop(name, None)
            continue
        if name in ("email", "phone_number") and value != user.attributes.get(name):
            medium = "EMAIL" if name == "email" else "SMS"
            verified_now = updates.get(f"{name}_verified", "").lower() == "true"
            if name in keep_until_verified and user.verified(name) and not verified_now:
                # the verified old value stays (and keeps working for sign-in) until the new one is verified
                pending[name] = value
                deliveries.append(messages.Delivery(medium, name, value))
                continue
            pending.pop(name, None)
            if not verified_now:
                new[f"{name}_verified"] = "false"
                if name in pool.auto_verified:
                    deliveries.append(messages.Delivery(medium, name, value))
        new[name] = value.lower() if name.endswith("_verified") else value
    attrs.check_required(pool, new)
    claim_aliases(conn, pool, new, user.id, False, ctx.now)
    directory.save_attributes(conn, user, new, ctx.now)
    if pending != user.pending_attributes:
        directory.set_fields(conn, user, ctx.now, pending_attributes=pending or None)
        user.pending_attributes = pending
    details = []
    for delivery in deliveries:
        code = messages.issue_code(
            conn,
            user,
            f"VerifyAttribute:{delivery.attribute}",
            ctx.now,
            limits=code_limits.Limits.of(ctx.settings, ctx.box),
            destination=delivery.destination,
        )
        messages.send(conn, ctx.settings, pool, user, delivery, "UpdateUserAttribute", code, ctx.now, request=ctx)
        details.append(delivery.details())
    return details


@operation("cognito-idp", "AdminUpdateUserAttributes", offload=triggers.offload)
@triggers.with_client_metadata
def admin_update_user_attributes(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        apply_attribute_update(ctx, conn, pool, user, attrs.to_dict(params["UserAttributes"]), admin=True)
    return {}


def delete_attributes(
    conn: Connection, pool: PoolView, user: User, names: list[str], admin: bool, now: dt.datetime
) -> None:
    schema = pool.schema
    new = dict(user.attributes)
    for name in names:
        entry = schema.get(name)
        if entry is None and name not in ("email_verified", "phone_number_verified"):
            raise InvalidParameterException(f"{name}: Attribute does not exist in the schema.")
        if entry is not None and entry.get("Required"):
            raise InvalidParameterException(f"Cannot delete required attribute {name}")
        if name in attrs.READ_ONLY or (entry is not None and entry.get("Mutable") is False):
            raise InvalidParameterException(f"Cannot modify the non-mutable attribute {name}")
        if not admin and (name.startswith("dev:") or (entry or {}).get("DeveloperOnlyAttribute")):
            raise InvalidParameterException(f"{name}: Cannot modify a developer-only attribute.")
        new.pop(name, None)
        if name in ("email", "phone_number"):
            new.pop(f"{name}_verified", None)
    directory.save_attributes(conn, user, new, now)


@operation("cognito-idp", "AdminDeleteUserAttributes")
def admin_delete_user_attributes(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        delete_attributes(conn, pool, user, list(params["UserAttributeNames"]), True, ctx.now)
    return {}


@operation("cognito-idp", "AdminResetUserPassword", offload=triggers.offload)
@triggers.with_client_metadata
def admin_reset_user_password(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        delivery = messages.recovery_delivery(pool, user)
        if delivery is None and user.status != UserStatus.UNCONFIRMED:
            raise InvalidParameterException(
                "Cannot reset password for the user as there is no registered/verified email or phone_number"
            )
        if user.status != UserStatus.UNCONFIRMED:
            directory.set_fields(conn, user, ctx.now, status=UserStatus.RESET_REQUIRED)
        tokens.revoke_user(conn, user.id, ctx.now)
        if delivery is not None:
            code = messages.issue_code(
                conn,
                user,
                "ForgotPassword",
                ctx.now,
                limits=code_limits.Limits.of(ctx.settings, ctx.box),
                destination=delivery.destination,
            )
            messages.send(conn, ctx.settings, pool, user, delivery, "ForgotPassword", code, ctx.now, request=ctx)
        audit.record(conn, ctx, params, user=user)
    return {}


@operation("cognito-idp", "AdminSetUserPassword", offload=True)
def admin_set_user_password(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
    check_password(pool, params["Password"])
    # compromised credentials: a password change, checked against the pool's configuration (an
    # administrator's act: no user-activity event is recorded)
    compromised.check_new_password(ctx, pool, None, compromised.Event.PASSWORD_CHANGE, params["Password"])
    material = password_material(ctx, pool, user.username, params["Password"])
    permanent = bool(params.get("Permanent"))
    with ctx.store.tx() as conn:
        user = require_user(conn, pool, params["Username"])
        status = UserStatus.CONFIRMED if permanent else UserStatus.FORCE_CHANGE_PASSWORD
        if user.status == UserStatus.EXTERNAL_PROVIDER:
            raise InvalidParameterException("Cannot set a password for a federated user.")
        directory.set_fields(conn, user, ctx.now, status=status, **material)
        if permanent:
            conn.execute(t.codes.delete().where(t.codes.c.user_id == user.id, t.codes.c.purpose == "ForgotPassword"))
        audit.record(conn, ctx, params, user=user)
    return {}


@operation("cognito-idp", "AdminSetUserSettings")
def admin_set_user_settings(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        set_mfa_options(conn, user, list(params["MFAOptions"]), ctx.now)
    return {}


def set_mfa_options(conn: Connection, user: User, options: list[dict[str, Any]], now: dt.datetime) -> None:
    """Legacy MFAOptions: SMS to phone_number only."""
    for option in options:
        if option.get("DeliveryMedium") != "SMS" or option.get("AttributeName") != "phone_number":
            raise InvalidParameterException("Only phone_number and SMS are supported in MFAOptions.")
    mfa = dict(user.mfa)
    if options:
        mfa["MFAOptions"] = options
    else:
        mfa.pop("MFAOptions", None)
    directory.set_fields(conn, user, now, mfa=mfa)


@operation("cognito-idp", "AdminGetUserAuthFactors")
def admin_get_user_auth_factors(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        return auth_factors(conn, pool, user)
