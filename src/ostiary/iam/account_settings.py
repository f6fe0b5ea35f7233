"""IAM account settings (IAM API Reference): CreateAccountAlias, DeleteAccountAlias,
ListAccountAliases, UpdateAccountPasswordPolicy, GetAccountPasswordPolicy,
DeleteAccountPasswordPolicy, GetAccountSummary.

An alias is unique across every account of the installation (as across AWS). The password policy
is checked by CreateLoginProfile, UpdateLoginProfile and ChangePassword (iam/login_profiles.py);
without one, IAM's default policy applies (at least 8 characters, three of the four kinds:
uppercase, lowercase, digits, symbols). Password expiry (MaxPasswordAge, HardExpiry) and reuse
prevention are stored and returned; Ostiary has no console sign-in where they would bite.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.iam.entities import MAX_KEYS_PER_USER
from ostiary.iam.errors import (
    EntityAlreadyExistsException,
    InvalidInputException,
    NoSuchEntityException,
    PasswordPolicyViolationException,
)
from ostiary.iam.paging import page
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

_S = t.iam_account_settings.c
_ALIAS = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$")
# the symbols IAM counts (IAM User Guide, "Set an account password policy for IAM users")
SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")


def _account_resource(ctx: RequestContext, params: Params) -> str:
    return "*"  # these actions name no resource (Service Authorization Reference, IAM)


# --- aliases ------------------------------------------------------------------------------------


def _settings(conn: Connection, account: str) -> Any:
    return conn.execute(select(t.iam_account_settings).where(_S.account_id == account)).first()


def alias_of(conn: Connection, account: str) -> str | None:
    row = _settings(conn, account)
    return None if row is None else row.alias


def _upsert(conn: Connection, account: str, **values: Any) -> None:
    if _settings(conn, account) is None:
        conn.execute(
            insert(t.iam_account_settings).values(
                account_id=account, alias=values.get("alias"), password_policy=values.get("password_policy")
            )
        )
    else:
        conn.execute(update(t.iam_account_settings).where(_S.account_id == account).values(**values))


@operation("iam", "CreateAccountAlias", resource=_account_resource)
def create_account_alias(ctx: RequestContext, params: Params) -> Result:
    alias = params["AccountAlias"]
    if not _ALIAS.match(alias):
        raise InvalidInputException(
            "The account alias must be 3 to 63 lowercase letters, digits and hyphens, "
            "and must not start or end with a hyphen."
        )
    try:
        with ctx.store.tx() as conn:
            owner = conn.execute(select(_S.account_id).where(_S.alias == alias)).first()
            if owner is not None and owner.account_id != ctx.account_id:
                raise EntityAlreadyExistsException(f"The account alias {alias} already exists.")
            # an account has at most one alias: creating another replaces it (as IAM does)
            _upsert(conn, ctx.account_id, alias=alias)
    except IntegrityError:  # another account took it between the check and the write
        raise EntityAlreadyExistsException(f"The account alias {alias} already exists.") from None
    return None


@operation("iam", "DeleteAccountAlias", resource=_account_resource)
def delete_account_alias(ctx: RequestContext, params: Params) -> Result:
    alias = params["AccountAlias"]
    with ctx.store.tx() as conn:
        if alias_of(conn, ctx.account_id) != alias:
            raise NoSuchEntityException(f"The account alias {alias} cannot be found.")
        _upsert(conn, ctx.account_id, alias=None)
    return None


@operation("iam", "ListAccountAliases", resource=_account_resource)
def list_account_aliases(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        alias = alias_of(conn, ctx.account_id)
    chunk, extra = page([alias] if alias else [], params)
    return {"AccountAliases": chunk, **extra}


# --- password policy ----------------------------------------------------------------------------


def _policy_out(stored: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MinimumPasswordLength": stored["MinimumPasswordLength"],
        "RequireSymbols": stored["RequireSymbols"],
        "RequireNumbers": stored["RequireNumbers"],
        "RequireUppercaseCharacters": stored["RequireUppercaseCharacters"],
        "RequireLowercaseCharacters": stored["RequireLowercaseCharacters"],
        "AllowUsersToChangePassword": stored["AllowUsersToChangePassword"],
        "ExpirePasswords": bool(stored.get("MaxPasswordAge")),
        "HardExpiry": stored["HardExpiry"],
    }
    if stored.get("MaxPasswordAge"):
        out["MaxPasswordAge"] = stored["MaxPasswordAge"]
    if stored.get("PasswordReusePrevention"):
        out["PasswordReusePrevention"] = stored["PasswordReusePrevention"]
    return out


def password_policy(conn: Connection, account: str) -> dict[str, Any] | None:
    row = _settings(conn, account)
    return None if row is None or row.password_policy is None else dict(row.password_policy)


def password_problem(password: str, stored: dict[str, Any] | None) -> str | None:
    """Why ``password`` breaks the account's policy (IAM's default policy when it has none), or None."""
    has_upper = any("A" <= c <= "Z" for c in password)
    has_lower = any("a" <= c <= "z" for c in password)
    has_digit = any("0" <= c <= "9" for c in password)
    has_symbol = any(c in SYMBOLS for c in password)
    if stored is None:
        if len(password) < 8:
            return "Password should have a minimum length of 8"
        if sum((has_upper, has_lower, has_digit, has_symbol)) < 3:
            return (
                "Password should contain at least three of the following: uppercase letters, lowercase letters, "
                "numbers and symbols"
            )
        return None
    minimum = int(stored["MinimumPasswordLength"])
    problems = []
    if len(password) < minimum:
        problems.append(f"Password should have a minimum length of {minimum}")
    if stored["RequireUppercaseCharacters"] and not has_upper:
        problems.append("Password should have at least one uppercase letter")
    if stored["RequireLowercaseCharacters"] and not has_lower:
        problems.append("Password should have at least one lowercase letter")
    if stored["RequireNumbers"] and not has_digit:
        problems.append("Password should have at least one number")
    if stored["RequireSymbols"] and not has_symbol:
        problems.append("Password should have at least one symbol")
    return "; ".join(problems) or None


def check_password(conn: Connection, account: str, password: str) -> dict[str, Any] | None:
    """Raise PasswordPolicyViolation unless ``password`` meets the account's policy; the policy."""
    stored = password_policy(conn, account)
    problem = password_problem(password, stored)
    if problem:
        raise PasswordPolicyViolationException(problem)
    return stored


@operation("iam", "UpdateAccountPasswordPolicy", resource=_account_resource)
def update_account_password_policy(ctx: RequestContext, params: Params) -> Result:
    # no partial updates: what is left out goes back to its default (IAM API Reference)
    stored = {
        "MinimumPasswordLength": int(params.get("MinimumPasswordLength") or 6),
        "RequireSymbols": bool(params.get("RequireSymbols", False)),
        "RequireNumbers": bool(params.get("RequireNumbers", False)),
        "RequireUppercaseCharacters": bool(params.get("RequireUppercaseCharacters", False)),
        "RequireLowercaseCharacters": bool(params.get("RequireLowercaseCharacters", False)),
        "AllowUsersToChangePassword": bool(params.get("AllowUsersToChangePassword", False)),
        "MaxPasswordAge": int(params.get("MaxPasswordAge") or 0),
        "PasswordReusePrevention": int(params.get("PasswordReusePrevention") or 0),
        "HardExpiry": bool(params.get("HardExpiry", False)),
    }
    with ctx.store.tx() as conn:
        _upsert(conn, ctx.account_id, password_policy=stored)
    return None


@operation("iam", "GetAccountPasswordPolicy", resource=_account_resource)
def get_account_password_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        stored = password_policy(conn, ctx.account_id)
    if stored is None:
        raise NoSuchEntityException(f"The Password Policy with domain name {ctx.account_id} cannot be found.")
    return {"PasswordPolicy": _policy_out(stored)}


@operation("iam", "DeleteAccountPasswordPolicy", resource=_account_resource)
def delete_account_password_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        if password_policy(conn, ctx.account_id) is None:
            raise NoSuchEntityException(f"The Password Policy with domain name {ctx.account_id} cannot be found.")
        _upsert(conn, ctx.account_id, password_policy=None)
    return None


# --- summary ------------------------------------------------------------------------------------

# IAM's default quotas (IAM User Guide, "IAM and AWS STS quotas"); Ostiary enforces some of them
# (AccessKeysPerUserQuota, VersionsPerPolicyQuota, the tag limits) and reports the others as AWS does.
QUOTAS = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "InstanceProfilesQuota": 1000,
    "PoliciesQuota": 1500,
    "ServerCertificatesQuota": 20,
    "AccessKeysPerUserQuota": MAX_KEYS_PER_USER,
    "SigningCertificatesPerUserQuota": 2,
    "GroupsPerUserQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "VersionsPerPolicyQuota": 5,
    "PolicyVersionsInUseQuota": 10000,
    "UserPolicySizeQuota": 2048,
    "GroupPolicySizeQuota": 5120,
    "RolePolicySizeQuota": 10240,
    "PolicySizeQuota": 6144,
    "AssumeRolePolicySizeQuota": 2048,
    "GlobalEndpointTokenVersion": 1,
}


def _count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)


@operation("iam", "GetAccountSummary", resource=_account_resource)
def get_account_summary(ctx: RequestContext, params: Params) -> Result:
    acct = ctx.account_id
    with ctx.store.read() as conn:
        versions = _count(
            conn,
            t.iam_policy_versions.join(t.iam_policies, t.iam_policies.c.arn == t.iam_policy_versions.c.arn),
            t.iam_policies.c.account_id == acct,
        )
        mfa = t.iam_mfa_devices.c
        summary = {
            "Users": _count(conn, t.iam_users, t.iam_users.c.account_id == acct),
            "Groups": _count(conn, t.iam_groups, t.iam_groups.c.account_id == acct),
            "Roles": _count(conn, t.iam_roles, t.iam_roles.c.account_id == acct),
            "InstanceProfiles": _count(conn, t.iam_instance_profiles, t.iam_instance_profiles.c.account_id == acct),
            "Policies": _count(conn, t.iam_policies, t.iam_policies.c.account_id == acct),
            "PolicyVersionsInUse": versions,
            "Providers": _count(conn, t.iam_oidc_providers, t.iam_oidc_providers.c.account_id == acct)
            + _count(conn, t.iam_saml_providers, t.iam_saml_providers.c.account_id == acct),
            "MFADevices": _count(conn, t.iam_mfa_devices, mfa.account_id == acct),
            "MFADevicesInUse": _count(conn, t.iam_mfa_devices, mfa.account_id == acct, mfa.user_key.is_not(None)),
            "ServerCertificates": 0,
            # the account root: its access keys; no console password, MFA device or signing certificate
            "AccountAccessKeysPresent": int(
                _count(
                    conn,
                    t.access_keys,
                    t.access_keys.c.account_id == acct,
                    t.access_keys.c.principal_type == "root",
                )
                > 0
            ),
            "AccountMFAEnabled": 0,
            "AccountPasswordPresent": 0,
            "AccountSigningCertificatesPresent": 0,
            **QUOTAS,
        }
    return {"SummaryMap": summary}
