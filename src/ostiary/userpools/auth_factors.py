"""Which factors a user can sign in with: the first factors the pool's SignInPolicy allows and the
user has (USER_AUTH's choices, Cognito Developer Guide, "Authentication flows", choice-based), and
GetUserAuthFactors' answer. Queries only, no operations: GetUserAuthFactors (selfservice.py),
AdminGetUserAuthFactors (users.py) and USER_AUTH sign-in (signin/choice.py) use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ostiary.userpools import passkeys
from ostiary.userpools.directory import PoolView, User, UserStatus


def first_factors(pool: PoolView) -> list[str]:
    policy = (pool.config.get("Policies") or {}).get("SignInPolicy") or {}
    return list(policy.get("AllowedFirstAuthFactors") or ["PASSWORD"])


def _otp_allowed(pool: PoolView) -> bool:
    # a one-time code alone is not enough where the pool requires MFA
    return str(pool.config.get("MfaConfiguration") or "OFF") != "ON"


def available_challenges(pool: PoolView, user: User | None, has_passkeys: bool = False) -> list[str]:
    """What a user may choose from (an unknown user: what the pool allows, so as not to tell)."""
    allowed = first_factors(pool)
    out: list[str] = []
    if "PASSWORD" in allowed and (user is None or user.password_hash):
        out += ["PASSWORD", "PASSWORD_SRP"]
    usable = user is None or user.status == UserStatus.CONFIRMED
    passkey_mfa = passkeys.config(pool).get("FactorConfiguration") == "MULTI_FACTOR_WITH_USER_VERIFICATION"
    if "WEB_AUTHN" in allowed and usable and (user is None or has_passkeys) and (_otp_allowed(pool) or passkey_mfa):
        out.append("WEB_AUTHN")
    if _otp_allowed(pool) and usable:
        if "EMAIL_OTP" in allowed and (user is None or (user.attributes.get("email") and user.verified("email"))):
            out.append("EMAIL_OTP")
        if "SMS_OTP" in allowed and (
            user is None or (user.attributes.get("phone_number") and user.verified("phone_number"))
        ):
            out.append("SMS_OTP")
    return out


def auth_factors(conn: Connection, pool: PoolView, user: User) -> dict[str, Any]:
    """GetUserAuthFactors' answer: MFA settings and the first factors the user can sign in with."""
    choices = available_challenges(pool, user, passkeys.count(conn, pool.id, user.id) > 0)
    configured = [f for f in ("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN") if f in choices]
    out: dict[str, Any] = {"Username": user.username, "ConfiguredUserAuthFactors": configured}
    if user.mfa.get("UserMFASettingList"):
        out["UserMFASettingList"] = user.mfa["UserMFASettingList"]
        if user.mfa.get("PreferredMfaSetting"):
            out["PreferredMfaSetting"] = user.mfa["PreferredMfaSetting"]
    return out
