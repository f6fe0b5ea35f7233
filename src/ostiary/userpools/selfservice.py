"""Self-service operations, unsigned and authorized by client id, a code or an access token:
SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword,
ChangePassword, GetUser, UpdateUserAttributes, DeleteUserAttributes,
GetUserAttributeVerificationCode, VerifyUserAttribute, DeleteUser, SetUserSettings.

Behaviour per the Cognito API Reference of each operation; PreventUserExistenceErrors per the
Developer Guide, "Managing error responses" (unknown users get the answer a real one would).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.userpools import attributes as attrs
from ostiary.userpools import code_limits, directory, existence, lockout, messages, tokens, triggers
from ostiary.userpools.auth_factors import auth_factors
from ostiary.userpools.directory import PoolView, User, UserStatus
from ostiary.userpools.errors import (
    CodeMismatchException,
    InvalidParameterException,
    NotAuthorizedException,
    UsernameExistsException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import ClientView, client_and_pool, client_by_id
from ostiary.userpools.risk import compromised
from ostiary.userpools.signin.challenge_sessions import sign_up_session, spend_sign_up_session
from ostiary.userpools.signin.context import INCORRECT, check_secret_hash_for
from ostiary.userpools.tokens import signed_in, signed_in_user
from ostiary.userpools.users import (
    apply_attribute_update,
    check_password,
    claim_aliases,
    delete_attributes,
    password_material,
    resolve_new_username,
    set_mfa_options,
)


def _secret(client: ClientView, username: str, given: str | None, extra: str = "") -> None:
    check_secret_hash_for(client, [username, extra], given)


MISMATCH = "Invalid verification code provided, please try again."


def _limits(ctx: RequestContext) -> code_limits.Limits:
    return code_limits.Limits.of(ctx.settings, ctx.box)


def _writable(client: ClientView, names: list[str]) -> None:
    allowed = client.config.get("WriteAttributes")
    if allowed is None:
        return
    for name in names:
        if name not in allowed:
            raise NotAuthorizedException("A client attempted to write unauthorized attribute")


@operation("cognito-idp", "SignUp", offload=True)
@triggers.with_client_metadata
def sign_up(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    _secret(client, params["Username"], params.get("SecretHash"))
    if (pool.config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
        raise NotAuthorizedException("SignUp is not permitted for this user pool")
    check_password(pool, params["Password"])
    finding = compromised.check_new_password(ctx, pool, client.id, compromised.Event.SIGN_UP, params["Password"])
    values = attrs.normalize(attrs.to_dict(params.get("UserAttributes")))
    _writable(client, list(values))
    for flag in ("email_verified", "phone_number_verified"):
        if flag not in (client.config.get("WriteAttributes") or []):
            values.pop(flag, None)  # a user cannot vouch for their own address
    attrs.check_values(pool, values, admin=False, creating=True)
    username = resolve_new_username(pool, params["Username"], values)
    attrs.check_required(pool, values)
    response = triggers.run(
        ctx.settings,
        pool,
        "PreSignUp",
        "PreSignUp_SignUp",
        username,
        client.id,
        {
            "userAttributes": dict(values),
            "validationData": attrs.to_dict(params.get("ValidationData")) or None,
            "clientMetadata": params.get("ClientMetadata") or {},
        },
    )
    confirmed = triggers.flag(response, "autoConfirmUser")
    if triggers.flag(response, "autoVerifyEmail") and values.get("email"):
        values["email_verified"] = "true"
    if triggers.flag(response, "autoVerifyPhone") and values.get("phone_number"):
        values["phone_number_verified"] = "true"
    material = password_material(ctx, pool, username, params["Password"])
    with ctx.store.tx() as conn:
        if directory.find(conn, pool, params["Username"], by_alias=False) is not None:
            raise UsernameExistsException("User already exists")
        claim_aliases(conn, pool, values, None, False, now)
        status = UserStatus.CONFIRMED if confirmed else UserStatus.UNCONFIRMED
        user = directory.insert_user(
            conn, pool, username=username, status=status, attributes=values, now=now, password=material
        )
        compromised.record(ctx, conn, pool, user, compromised.Event.SIGN_UP, "Pass", finding)
        out: dict[str, Any] = {"UserConfirmed": confirmed, "UserSub": user.id}
        delivery = None if confirmed else messages.choose_delivery(pool, values)
        if delivery is not None:
            code = messages.issue_code(conn, user, "SignUp", now, limits=_limits(ctx), destination=delivery.destination)
            messages.send(conn, ctx.settings, pool, user, delivery, "SignUp", code, now, request=ctx)
            out["CodeDeliveryDetails"] = delivery.details()
        session = sign_up_session(conn, pool, client, user, now)  # for sign-in after sign-up (USER_AUTH)
        if session is not None:
            out["Session"] = session
    return out


def _client_user(ctx: RequestContext, conn: Connection, params: Params) -> tuple[ClientView, PoolView, User | None]:
    """Client, pool and (unless unknown and hidden) user of a code-sending request, SECRET_HASH checked."""
    client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    user = _find(conn, pool, client, params["Username"])
    _secret(client, params["Username"], params.get("SecretHash"), user.username if user else "")
    return client, pool, user


def _find(conn: Connection, pool: PoolView, client: ClientView, username: str) -> User | None:
    user = directory.find(conn, pool, username)
    if user is None and not client.prevent_user_existence_errors:
        raise UserNotFoundException("Username/client id combination not found.")
    return user


@operation("cognito-idp", "ConfirmSignUp", offload=triggers.offload)
@triggers.with_client_metadata
def confirm_sign_up(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    check: messages.CodeCheck | None = None
    limits = _limits(ctx)
    out: dict[str, Any] = {}
    with ctx.store.tx() as conn:
        user = _find(conn, pool, client, params["Username"])
        _secret(client, params["Username"], params.get("SecretHash"), user.username if user else "")
        if user is None:  # an unknown name: a wrong code, counted as a real user's is
            refused = code_limits.refuse_hidden(conn, limits, pool, None, params["Username"], "SignUp", now)
            check = messages.CodeCheck(False, code_limits.exceeded() if refused else CodeMismatchException(MISMATCH))
        elif user.status != UserStatus.UNCONFIRMED:
            raise NotAuthorizedException(f"User cannot be confirmed. Current status is {user.status}")
        else:
            check = messages.check_code(conn, user, "SignUp", params["ConfirmationCode"], now, limits=limits)
        if check.ok and user is not None:
            values = dict(user.attributes)
            delivery = messages.choose_delivery(pool, values)
            if delivery is not None:
                values[f"{delivery.attribute}_verified"] = "true"
            claim_aliases(conn, pool, values, user.id, bool(params.get("ForceAliasCreation")), now)
            directory.save_attributes(conn, user, values, now)
            directory.set_fields(conn, user, now, status=UserStatus.CONFIRMED)
            triggers.run(  # inside the transaction: a failing trigger leaves the user unconfirmed
                ctx.settings,
                pool,
                "PostConfirmation",
                "PostConfirmation_ConfirmSignUp",
                user.username,
                client.id,
                {
                    "userAttributes": triggers.user_attributes(user),
                    "clientMetadata": params.get("ClientMetadata") or {},
                },
            )
            # the confirmation code signs the user in once through USER_AUTH (SignUp's session is spent)
            if params.get("Session"):
                spend_sign_up_session(conn, pool, client, user, params["Session"])
            session = sign_up_session(conn, pool, client, user, now)
            if session is not None:
                out["Session"] = session
    if check is not None and check.error is not None:
        raise check.error
    return out


@operation("cognito-idp", "ResendConfirmationCode", offload=triggers.offload)
@triggers.with_client_metadata
def resend_confirmation_code(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
        unknown = directory.find(conn, pool, params["Username"]) is None
    if unknown and triggers.configured(pool, "UserMigration"):
        _migrate_for_reset(ctx, pool, client, params, now)
    with ctx.store.tx() as conn:
        client, pool, user = _client_user(ctx, conn, params)
        if user is None or (client.prevent_user_existence_errors and not user.enabled):
            # AWS: delivery details for a user that does not exist or is disabled
            attribute = existence.verification_attribute(pool, params["Username"])
            if attribute is None:  # what a real user of this pool is told
                raise InvalidParameterException("Auto verification not turned on.")
            # limited as a real code is (code_limits), so that the limit tells no one who exists
            code_limits.issue_hidden(conn, _limits(ctx), pool, user, params["Username"], "SignUp", now)
            return {"CodeDeliveryDetails": existence.delivery(ctx.box, pool, params["Username"], attribute)}
        if user.status != UserStatus.UNCONFIRMED:
            raise InvalidParameterException("User is already confirmed.")
        delivery = messages.choose_delivery(pool, user.attributes)
        if delivery is None:
            raise InvalidParameterException("Auto verification not turned on.")
        code = _issue(ctx, conn, client, user, "SignUp", delivery, now)
        if code is not None:
            messages.send(conn, ctx.settings, pool, user, delivery, "ResendCode", code, now, request=ctx)
    return {"CodeDeliveryDetails": delivery.details()}


@operation("cognito-idp", "ForgotPassword", offload=triggers.offload)
@triggers.with_client_metadata
def forgot_password(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
        unknown = directory.find(conn, pool, params["Username"]) is None
    if unknown and triggers.configured(pool, "UserMigration"):
        _migrate_for_reset(ctx, pool, client, params, now)
    with ctx.store.tx() as conn:
        client, pool, user = _client_user(ctx, conn, params)
        delivery = messages.recovery_delivery(pool, user) if user is not None and user.enabled else None
        if client.prevent_user_existence_errors and delivery is None:
            # AWS: a user that does not exist, is disabled or has no verified address to recover by
            # gets delivery details to a simulated destination
            name = params["Username"]
            attribute = existence.recovery_attribute(pool, name)
            # limited as a real code is (code_limits), so that the limit tells no one who exists
            code_limits.issue_hidden(conn, _limits(ctx), pool, user, name, "ForgotPassword", now)
            return {"CodeDeliveryDetails": existence.delivery(ctx.box, pool, name, attribute)}
        assert user is not None
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        if delivery is None:
            raise InvalidParameterException(
                "Cannot reset password for the user as there is no registered/verified email or phone_number"
            )
        code = _issue(ctx, conn, client, user, "ForgotPassword", delivery, now)
        if code is not None:
            messages.send(conn, ctx.settings, pool, user, delivery, "ForgotPassword", code, now, request=ctx)
    return {"CodeDeliveryDetails": delivery.details()}


def _issue(
    ctx: RequestContext,
    conn: Connection,
    client: ClientView,
    user: User,
    purpose: str,
    delivery: messages.Delivery,
    now: dt.datetime,
) -> str | None:
    """A new code (code_limits apply). None where the destination's limit is reached and the client
    prevents user existence errors: nothing is sent and the answer is the usual one, since an unknown
    name's would be (a flooded address must not tell who has it)."""
    try:
        return messages.issue_code(conn, user, purpose, now, limits=_limits(ctx), destination=delivery.destination)
    except code_limits.DestinationLimited:
        if client.prevent_user_existence_errors:
            return None
        raise


def _migrate_for_reset(
    ctx: RequestContext, pool: PoolView, client: ClientView, params: Params, now: dt.datetime
) -> None:
    """UserMigration_ForgotPassword: a user the pool does not know, created from the legacy
    directory (status RESET_REQUIRED) so that the reset code can reach them."""
    _secret(client, params["Username"], params.get("SecretHash"))
    response = triggers.run(
        ctx.settings,
        pool,
        "UserMigration",
        "UserMigration_ForgotPassword",
        params["Username"],
        client.id,
        {"validationData": None, "clientMetadata": params.get("ClientMetadata") or {}},
    )
    if not response or not isinstance(response.get("userAttributes"), dict):
        return
    values = attrs.normalize({str(k): str(v) for k, v in response["userAttributes"].items()})
    values.pop("sub", None)
    values.pop("cognito:user_status", None)
    attrs.check_values(pool, values, admin=True, creating=True)
    username = resolve_new_username(pool, params["Username"], values)
    with ctx.store.tx() as conn:
        if directory.find(conn, pool, params["Username"]) is None:
            directory.insert_user(
                conn, pool, username=username, status=UserStatus.RESET_REQUIRED, attributes=values, now=now
            )


@operation("cognito-idp", "ConfirmForgotPassword", offload=True)
@triggers.with_client_metadata
def confirm_forgot_password(ctx: RequestContext, params: Params) -> Result:
    now = ctx.now
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
        user = _find(conn, pool, client, params["Username"])
    _secret(client, params["Username"], params.get("SecretHash"), user.username if user else "")
    check_password(pool, params["Password"])
    # before the code and the same for a hidden user (the answer tells nothing of the user); a
    # refusal records no event: the caller has not proved anything yet
    finding = compromised.check_new_password(
        ctx, pool, client.id, compromised.Event.PASSWORD_CHANGE, params["Password"]
    )
    if user is None or (client.prevent_user_existence_errors and not user.enabled):
        # AWS: CodeMismatchException for a user that does not exist or is disabled, after the same
        # checks and the same work (password policy, hashing) as a real user's reset
        password_material(ctx, pool, params["Username"], params["Password"])
        with ctx.store.tx() as conn:  # a wrong code, counted as a real one is (code_limits)
            refused = code_limits.refuse_hidden(
                conn, _limits(ctx), pool, user, params["Username"], "ForgotPassword", now
            )
        raise code_limits.exceeded() if refused else CodeMismatchException(MISMATCH)
    material = password_material(ctx, pool, user.username, params["Password"])
    with ctx.store.tx() as conn:
        check = messages.check_code(conn, user, "ForgotPassword", params["ConfirmationCode"], now, limits=_limits(ctx))
        if check.ok:
            status = (
                UserStatus.CONFIRMED
                if user.status in (UserStatus.RESET_REQUIRED, UserStatus.FORCE_CHANGE_PASSWORD, UserStatus.CONFIRMED)
                else user.status
            )
            directory.set_fields(conn, user, now, status=status, **material)
            lockout.succeeded(ctx, conn, pool, user)
            compromised.record(
                ctx, conn, pool, user, compromised.Event.PASSWORD_CHANGE, "Pass", finding, "ForgotPassword"
            )
            audit.record(conn, ctx, params, user=user)
            triggers.run(
                ctx.settings,
                pool,
                "PostConfirmation",
                "PostConfirmation_ConfirmForgotPassword",
                user.username,
                client.id,
                {
                    "userAttributes": triggers.user_attributes(user),
                    "clientMetadata": params.get("ClientMetadata") or {},
                },
            )
    if check.error is not None:
        raise check.error
    return {}


# --------------------------------------------------------------------------------------------
# access-token operations


def _client_of(ctx: RequestContext, conn: Connection, access: tokens.AccessContext) -> ClientView | None:
    return client_by_id(conn, ctx.box, access.client_id)


@operation("cognito-idp", "GetUser")
def get_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        user, access = signed_in_user(ctx, conn, params["AccessToken"], full=False)
        client = _client_of(ctx, conn, access)
    readable = set(client.config["ReadAttributes"]) if client and client.config.get("ReadAttributes") else None
    visible = {k for k in user.attributes if not k.startswith("dev:")}
    if readable is not None:
        visible &= readable
    visible.add("sub")
    out: dict[str, Any] = {"Username": user.username, "UserAttributes": user.attribute_list(visible)}
    if user.mfa.get("MFAOptions"):
        out["MFAOptions"] = user.mfa["MFAOptions"]
    if user.mfa.get("UserMFASettingList"):
        out["UserMFASettingList"] = user.mfa["UserMFASettingList"]
        if user.mfa.get("PreferredMfaSetting"):
            out["PreferredMfaSetting"] = user.mfa["PreferredMfaSetting"]
    return out


@operation("cognito-idp", "UpdateUserAttributes", offload=triggers.offload)
@triggers.with_client_metadata
def update_user_attributes(ctx: RequestContext, params: Params) -> Result:
    updates = attrs.to_dict(params["UserAttributes"])
    with ctx.store.tx() as conn:
        pool, user, access = signed_in(ctx, conn, params["AccessToken"])
        client = _client_of(ctx, conn, access)
        if client is not None:
            _writable(client, list(updates))
        for flag in ("email_verified", "phone_number_verified"):
            if flag in updates and (client is None or flag not in (client.config.get("WriteAttributes") or [])):
                raise NotAuthorizedException("A client attempted to write unauthorized attribute")
        details = apply_attribute_update(ctx, conn, pool, user, updates, admin=False)
    return {"CodeDeliveryDetailsList": details}


@operation("cognito-idp", "DeleteUserAttributes")
def delete_user_attributes(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool, user, access = signed_in(ctx, conn, params["AccessToken"])
        client = _client_of(ctx, conn, access)
        if client is not None:
            _writable(client, list(params["UserAttributeNames"]))
        delete_attributes(conn, pool, user, list(params["UserAttributeNames"]), False, ctx.now)
    return {}


def _verifiable(name: str) -> str:
    if name not in ("email", "phone_number"):
        raise InvalidParameterException(f"Invalid attribute name: {name}. Only email and phone_number can be verified.")
    return name


@operation("cognito-idp", "GetUserAttributeVerificationCode", offload=triggers.offload)
@triggers.with_client_metadata
def get_user_attribute_verification_code(ctx: RequestContext, params: Params) -> Result:
    name = _verifiable(params["AttributeName"])
    with ctx.store.tx() as conn:
        pool, user, _ = signed_in(ctx, conn, params["AccessToken"])
        value = user.attributes.get(name)
        if not value:
            raise InvalidParameterException(f"No {name} is registered for the user.")
        delivery = messages.Delivery("EMAIL" if name == "email" else "SMS", name, value)
        code = messages.issue_code(
            conn, user, f"VerifyAttribute:{name}", ctx.now, limits=_limits(ctx), destination=value
        )
        messages.send(conn, ctx.settings, pool, user, delivery, "VerifyUserAttribute", code, ctx.now, request=ctx)
    return {"CodeDeliveryDetails": delivery.details()}


@operation("cognito-idp", "VerifyUserAttribute")
def verify_user_attribute(ctx: RequestContext, params: Params) -> Result:
    name = _verifiable(params["AttributeName"])
    with ctx.store.tx() as conn:
        pool, user, _ = signed_in(ctx, conn, params["AccessToken"])
        check = messages.check_code(conn, user, f"VerifyAttribute:{name}", params["Code"], ctx.now, limits=_limits(ctx))
        if check.ok:
            values = {**user.attributes, f"{name}_verified": "true"}
            pending = dict(user.pending_attributes)
            if name in pending:
                values[name] = pending.pop(name)
                directory.set_fields(conn, user, ctx.now, pending_attributes=pending or None)
            claim_aliases(conn, pool, values, user.id, False, ctx.now)
            directory.save_attributes(conn, user, values, ctx.now)
    if check.error is not None:
        raise check.error
    return {}


@operation("cognito-idp", "ChangePassword", offload=True)
def change_password(ctx: RequestContext, params: Params) -> Result:
    now: dt.datetime = ctx.now
    with ctx.store.read() as conn:
        pool, user, access = signed_in(ctx, conn, params["AccessToken"])
        check = lockout.is_locked(conn, pool.id, user.id, ctx.source_ip, now)
    if check.locked:
        raise lockout.refused(ctx, pool, user, check)
    previous = params.get("PreviousPassword")
    if user.password_hash is not None and (not previous or not ctx.passwords.verify(user.password_hash, previous)):
        with ctx.store.tx() as conn:
            lockout.failed(ctx, conn, pool, user, user.id, NotAuthorizedException(INCORRECT))
        raise NotAuthorizedException(INCORRECT)
    check_password(pool, params["ProposedPassword"])
    finding = compromised.check_new_password(
        ctx, pool, access.client_id, compromised.Event.PASSWORD_CHANGE, params["ProposedPassword"], user
    )
    material = password_material(ctx, pool, user.username, params["ProposedPassword"])
    with ctx.store.tx() as conn:
        directory.set_fields(conn, user, now, **material)
        lockout.succeeded(ctx, conn, pool, user)
        compromised.record(ctx, conn, pool, user, compromised.Event.PASSWORD_CHANGE, "Pass", finding)
        audit.record(conn, ctx, user=user)
    return {}


@operation("cognito-idp", "DeleteUser")
def delete_user(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        user, _ = signed_in_user(ctx, conn, params["AccessToken"])
        directory.delete_user(conn, user)
    return None


@operation("cognito-idp", "SetUserSettings")
def set_user_settings(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        user, _ = signed_in_user(ctx, conn, params["AccessToken"])
        set_mfa_options(conn, user, list(params["MFAOptions"]), ctx.now)
    return {}


@operation("cognito-idp", "GetUserAuthFactors")
def get_user_auth_factors(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool, user, _ = signed_in(ctx, conn, params["AccessToken"])
        return auth_factors(conn, pool, user)
