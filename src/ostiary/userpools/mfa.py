"""Multi-factor authentication (Cognito API Reference and Developer Guide, "Adding MFA"):
GetUserPoolMfaConfig, SetUserPoolMfaConfig, AssociateSoftwareToken, VerifySoftwareToken,
SetUserMFAPreference, AdminSetUserMFAPreference, AdminDeleteSoftwareToken; TOTP (RFC 6238) and the
choice of the challenge a sign-in must pass (auth.py asks ``next_step`` and answers the challenges).

The pool's MFA settings are stored beside its other settings (SetUserPoolMfaConfig also sets
MfaConfiguration, SmsConfiguration and SmsAuthenticationMessage as DescribeUserPool shows them); a
user's factors, preference and TOTP secret (sealed) in the user's ``mfa`` document.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select, update

from ostiary.audit import recorder as audit
from ostiary.crypto.secrets import SecretBox
from ostiary.crypto.totp import totp_match, totp_reused
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, tokens
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    EnableSoftwareTokenMFAException,
    InvalidParameterException,
    NotAuthorizedException,
    SoftwareTokenMFANotFoundException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import forget_views, pool_by_id, pool_for_caller

FACTORS = ("SmsMfaConfiguration", "SoftwareTokenMfaConfiguration", "EmailMfaConfiguration", "WebAuthnConfiguration")


def _answer(cfg: dict[str, Any]) -> dict[str, Any]:
    settings = cfg.get("MfaSettings") or {}
    out: dict[str, Any] = {"MfaConfiguration": cfg.get("MfaConfiguration", "OFF")}
    for key in FACTORS:
        if settings.get(key) is not None:
            out[key] = settings[key]
    return out


@operation("cognito-idp", "GetUserPoolMfaConfig")
def get_user_pool_mfa_config(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    return _answer(pool.config)


@operation("cognito-idp", "SetUserPoolMfaConfig")
def set_user_pool_mfa_config(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        cfg = dict(pool.config)
        settings = dict(cfg.get("MfaSettings") or {})
        for key in FACTORS:
            if key in params:
                settings[key] = params[key]
        sms = settings.get("SmsMfaConfiguration") or {}
        if sms.get("SmsConfiguration"):
            cfg["SmsConfiguration"] = sms["SmsConfiguration"]
        if sms.get("SmsAuthenticationMessage"):
            cfg["SmsAuthenticationMessage"] = sms["SmsAuthenticationMessage"]
        mode = params.get("MfaConfiguration") or cfg.get("MfaConfiguration", "OFF")
        if mode in ("ON", "OPTIONAL"):
            enabled = (
                bool(sms.get("SmsConfiguration") or cfg.get("SmsConfiguration"))
                or bool((settings.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"))
                or settings.get("EmailMfaConfiguration") is not None
            )
            if not enabled:
                raise InvalidParameterException(
                    f"Invalid MFA configuration given: MfaConfiguration {mode} needs at least one of "
                    "SmsMfaConfiguration, SoftwareTokenMfaConfiguration (Enabled) or EmailMfaConfiguration."
                )
        cfg["MfaConfiguration"] = mode
        cfg["MfaSettings"] = settings
        conn.execute(update(t.user_pools).where(t.user_pools.c.id == pool.id).values(config=cfg, updated_at=ctx.now))
        forget_views()
    return _answer(cfg)


# --------------------------------------------------------------------------------------------
# TOTP software tokens (the RFC 6238 math and the no-reuse rule: ostiary.crypto.totp)

TOTP_SECRET_CONTEXT = "totp:"


def new_totp_secret() -> str:
    """A 160-bit secret, base32 without padding (32 characters), as AssociateSoftwareToken returns."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def otpauth_uri(secret_b32: str, account: str, issuer: str) -> str:
    """The otpauth:// URI that authenticator apps scan (as a QR code)."""
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?secret={secret_b32}&issuer={quote(issuer)}&algorithm=SHA1&digits=6&period=30"


# --------------------------------------------------------------------------------------------
# what a user has and prefers

SMS, TOTP, EMAIL = "SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"
CHALLENGE_OF = {SMS: "SMS_MFA", TOTP: "SOFTWARE_TOKEN_MFA", EMAIL: "EMAIL_OTP"}


def pool_factors(pool: PoolView) -> set[str]:
    """The factors the pool offers."""
    cfg = pool.config
    settings = cfg.get("MfaSettings") or {}
    out: set[str] = set()
    if (settings.get("SmsMfaConfiguration") or {}).get("SmsConfiguration") or cfg.get("SmsConfiguration"):
        out.add(SMS)
    if (settings.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"):
        out.add(TOTP)
    if settings.get("EmailMfaConfiguration") is not None:
        out.add(EMAIL)
    return out


def user_factors(user: User) -> list[str]:
    """The factors the user enabled (UserMFASettingList), legacy SMS MFAOptions included."""
    enabled = list(user.mfa.get("UserMFASettingList") or [])
    if user.mfa.get("MFAOptions") and SMS not in enabled:
        enabled.append(SMS)
    return enabled


def totp_secret(box: SecretBox, user: User, pending: bool = False) -> str | None:
    sealed = user.mfa.get("totp_pending" if pending else "totp_secret")
    return box.open(sealed, TOTP_SECRET_CONTEXT + user.id) if sealed else None


@dataclass(frozen=True)
class Step:
    """The MFA challenge a sign-in must pass next (None from ``next_step``: no MFA)."""

    challenge: str  # SMS_MFA | SOFTWARE_TOKEN_MFA | EMAIL_OTP | SELECT_MFA_TYPE | MFA_SETUP
    options: tuple[str, ...] = ()


def next_step(pool: PoolView, user: User) -> Step | None:
    """Whether, and how, a signed-in user must prove a second factor (Cognito Developer Guide,
    "Adding MFA to a user pool"): OFF never; OPTIONAL when the user enabled a factor; ON always —
    with the preferred factor, a choice between several (SELECT_MFA_TYPE), or enrolment when the
    user has none (MFA_SETUP, or SMS to a phone number the pool can text)."""
    mode = pool.config.get("MfaConfiguration", "OFF")
    if mode == "OFF":
        return None
    offered = pool_factors(pool)
    enabled = [f for f in user_factors(user) if f in offered]
    if SMS in enabled and not user.attributes.get("phone_number"):
        enabled.remove(SMS)
    if EMAIL in enabled and not user.attributes.get("email"):
        enabled.remove(EMAIL)
    preferred = user.mfa.get("PreferredMfaSetting")
    if preferred in enabled:
        return Step(CHALLENGE_OF[preferred])
    if len(enabled) == 1:
        return Step(CHALLENGE_OF[enabled[0]])
    if len(enabled) > 1:
        return Step("SELECT_MFA_TYPE", tuple(CHALLENGE_OF[f] for f in enabled))
    if mode != "ON":
        return None
    if SMS in offered and user.attributes.get("phone_number"):
        return Step("SMS_MFA")
    if EMAIL in offered and user.attributes.get("email") and TOTP not in offered:
        return Step("EMAIL_OTP")
    if TOTP in offered:
        return Step("MFA_SETUP", ("SOFTWARE_TOKEN_MFA",))
    if EMAIL in offered and user.attributes.get("email"):
        return Step("EMAIL_OTP")
    raise InvalidParameterException("MFA is required, but the user has no way to receive a code.")


def save(conn: Connection, user: User, now: dt.datetime, **changes: Any) -> None:
    mfa = dict(user.mfa)
    for key, value in changes.items():
        if value is None:
            mfa.pop(key, None)
        else:
            mfa[key] = value
    directory.set_fields(conn, user, now, mfa=mfa)


def record_totp_step(conn: Connection, user: User, step: int, now: dt.datetime) -> None:
    save(conn, user, now, totp_last_step=step)


def check_totp(box: SecretBox, user: User, code: str, now: dt.datetime, pending: bool = False) -> int | None:
    secret = totp_secret(box, user, pending)
    if secret is None:
        return None
    last = None if pending else user.mfa.get("totp_last_step")
    return totp_match(secret, code, now.timestamp(), last)


def totp_used_before(box: SecretBox, user: User, code: str, now: dt.datetime) -> bool:
    """A code of the user's software token that a sign-in or VerifySoftwareToken already took."""
    secret = totp_secret(box, user)
    return secret is not None and totp_reused(secret, code, now.timestamp(), user.mfa.get("totp_last_step"))


def set_preference(conn: Connection, user: User, params: Params, now: dt.datetime) -> None:
    """SetUserMFAPreference / AdminSetUserMFAPreference: enable or disable each factor, one preferred."""
    enabled = set(user.mfa.get("UserMFASettingList") or [])
    preferred = user.mfa.get("PreferredMfaSetting")
    for key, factor in (("SMSMfaSettings", SMS), ("SoftwareTokenMfaSettings", TOTP), ("EmailMfaSettings", EMAIL)):
        settings = params.get(key)
        if settings is None:
            continue
        if settings.get("Enabled"):
            if factor == TOTP and not user.mfa.get("totp_secret"):
                raise InvalidParameterException("User has not verified software token mfa")
            if factor == SMS and not user.attributes.get("phone_number"):
                raise InvalidParameterException("User does not have a phone number to receive SMS MFA codes.")
            if factor == EMAIL and not user.attributes.get("email"):
                raise InvalidParameterException("User does not have an email address to receive email MFA codes.")
            enabled.add(factor)
        elif "Enabled" in settings:
            enabled.discard(factor)
            if preferred == factor:
                preferred = None
        if settings.get("PreferredMfa"):
            if factor not in enabled:
                raise InvalidParameterException("The preferred MFA setting must be enabled.")
            preferred = factor
        elif settings.get("PreferredMfa") is False and preferred == factor:
            preferred = None
    order = [f for f in (SMS, TOTP, EMAIL) if f in enabled]
    save(conn, user, now, UserMFASettingList=order or None, PreferredMfaSetting=preferred if order else None)


# --------------------------------------------------------------------------------------------
# operations


def _token_user(ctx: RequestContext, conn: Connection, token: str) -> tuple[PoolView, User]:
    access = tokens.check_access_token(conn, ctx.keys, ctx.settings, token, ctx.now)
    pool = pool_by_id(conn, access.pool_id)
    user = directory.get_in_pool(conn, access.pool_id, access.user_id) if pool else None
    if pool is None or user is None:
        raise NotAuthorizedException("Invalid Access Token")
    return pool, user


def _session_user(ctx: RequestContext, conn: Connection, session_id: str) -> tuple[PoolView, User, Any]:
    """The user of an MFA_SETUP challenge session (the session stays usable: it is not consumed)."""
    row = conn.execute(select(t.auth_sessions).where(t.auth_sessions.c.id == session_id)).first()
    if row is None or row.challenge != "MFA_SETUP" or utc(row.expires_at) < ctx.now:
        raise NotAuthorizedException("Invalid session for the user, session is expired.")
    pool = pool_by_id(conn, row.user_pool_id)
    user = directory.get_in_pool(conn, row.user_pool_id, row.state["user_id"]) if pool else None
    if pool is None or user is None:
        raise NotAuthorizedException("Invalid session for the user, session is expired.")
    return pool, user, row


def _require_totp_pool(pool: PoolView) -> None:
    if TOTP not in pool_factors(pool):
        raise SoftwareTokenMFANotFoundException("Software Token MFA has not been enabled by the userPool.")


@operation("cognito-idp", "AssociateSoftwareToken")
def associate_software_token(ctx: RequestContext, params: Params) -> Result:
    """A new TOTP secret for the user (by access token, or by the MFA_SETUP session); it replaces
    the current one only once verified."""
    if bool(params.get("AccessToken")) == bool(params.get("Session")):
        raise InvalidParameterException("Exactly one of AccessToken and Session must be given.")
    secret = new_totp_secret()
    with ctx.store.tx() as conn:
        if params.get("AccessToken"):
            pool, user = _token_user(ctx, conn, params["AccessToken"])
        else:
            pool, user, _ = _session_user(ctx, conn, params["Session"])
        _require_totp_pool(pool)
        save(conn, user, ctx.now, totp_pending=ctx.box.seal(secret, TOTP_SECRET_CONTEXT + user.id))
    out: dict[str, Any] = {"SecretCode": secret}
    if params.get("Session"):
        out["Session"] = params["Session"]
    return out


@operation("cognito-idp", "VerifySoftwareToken")
def verify_software_token(ctx: RequestContext, params: Params) -> Result:
    """Check a code of the pending secret; on success it becomes the user's software token."""
    if bool(params.get("AccessToken")) == bool(params.get("Session")):
        raise InvalidParameterException("Exactly one of AccessToken and Session must be given.")
    with ctx.store.tx() as conn:
        if params.get("AccessToken"):
            pool, user = _token_user(ctx, conn, params["AccessToken"])
        else:
            pool, user, _ = _session_user(ctx, conn, params["Session"])
        _require_totp_pool(pool)
        if not user.mfa.get("totp_pending"):
            raise EnableSoftwareTokenMFAException("Software token has not been associated with the user.")
        step = check_totp(ctx.box, user, params["UserCode"], ctx.now, pending=True)
        if step is None:
            raise EnableSoftwareTokenMFAException("Code mismatch")
        enrol: dict[str, Any] = {}
        if params.get("Session"):
            # in an MFA_SETUP challenge the verified token is the user's factor at once, enabled and
            # preferred, whether or not the client then answers MFA_SETUP: the next sign-in asks
            # SOFTWARE_TOKEN_MFA, as in AWS
            enabled = list(dict.fromkeys([*(user.mfa.get("UserMFASettingList") or []), TOTP]))
            enrol = {"UserMFASettingList": enabled, "PreferredMfaSetting": TOTP}
        save(
            conn,
            user,
            ctx.now,
            totp_secret=user.mfa["totp_pending"],
            totp_pending=None,
            totp_last_step=step,
            totp_device_name=params.get("FriendlyDeviceName") or "TOTP device",
            **enrol,
        )
        audit.record(conn, ctx, params, user=user)
    out: dict[str, Any] = {"Status": "SUCCESS"}
    if params.get("Session"):
        out["Session"] = params["Session"]
    return out


@operation("cognito-idp", "SetUserMFAPreference")
def set_user_mfa_preference(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, user = _token_user(ctx, conn, params["AccessToken"])
        set_preference(conn, user, params, ctx.now)
        audit.record(conn, ctx, params, user=user)
    return {}


@operation("cognito-idp", "AdminSetUserMFAPreference")
def admin_set_user_mfa_preference(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = directory.find(conn, pool, params["Username"])
        if user is None:
            raise UserNotFoundException("User does not exist.")
        set_preference(conn, user, params, ctx.now)
        audit.record(conn, ctx, params, user=user)
    return {}


@operation("cognito-idp", "AdminDeleteSoftwareToken")
def admin_delete_software_token(ctx: RequestContext, params: Params) -> Result:
    """Remove the user's software token (and with it TOTP MFA)."""
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = directory.find(conn, pool, params["Username"])
        if user is None:
            raise UserNotFoundException("User does not exist.")
        enabled = [f for f in user.mfa.get("UserMFASettingList") or [] if f != TOTP]
        preferred = user.mfa.get("PreferredMfaSetting")
        save(
            conn,
            user,
            ctx.now,
            totp_secret=None,
            totp_pending=None,
            totp_last_step=None,
            UserMFASettingList=enabled or None,
            PreferredMfaSetting=None if preferred == TOTP or not enabled else preferred,
        )
    return {}
