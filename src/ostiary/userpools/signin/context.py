"""What every sign-in flow shares: the messages Cognito answers with, the checks of the app client
(which AuthFlows it allows, its SECRET_HASH) and the continuation that ends a successful sign-in.

Cognito API Reference: InitiateAuth (AuthFlow, "… flow not enabled for this client"), app client
ExplicitAuthFlows; Developer Guide, "Computing secret hash values".
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

from ostiary.protocol.context import RequestContext
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.secret_hash import check as check_secret_hash

INCORRECT = "Incorrect username or password."


SESSION_EXPIRED = "Invalid session for the user, session is expired."


class AuthFlow(enum.StrEnum):
    """InitiateAuth's and AdminInitiateAuth's AuthFlow values (botocore's AuthFlowType)."""

    USER_PASSWORD_AUTH = "USER_PASSWORD_AUTH"
    USER_SRP_AUTH = "USER_SRP_AUTH"
    REFRESH_TOKEN_AUTH = "REFRESH_TOKEN_AUTH"
    REFRESH_TOKEN = "REFRESH_TOKEN"
    ADMIN_USER_PASSWORD_AUTH = "ADMIN_USER_PASSWORD_AUTH"
    ADMIN_NO_SRP_AUTH = "ADMIN_NO_SRP_AUTH"
    CUSTOM_AUTH = "CUSTOM_AUTH"
    USER_AUTH = "USER_AUTH"


class ChallengeName(enum.StrEnum):
    """The ChallengeName values Ostiary's sign-in flows send and answer (botocore's ChallengeNameType)."""

    SMS_MFA = "SMS_MFA"
    SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"
    EMAIL_OTP = "EMAIL_OTP"
    SMS_OTP = "SMS_OTP"
    SELECT_MFA_TYPE = "SELECT_MFA_TYPE"
    MFA_SETUP = "MFA_SETUP"
    PASSWORD = "PASSWORD"
    PASSWORD_SRP = "PASSWORD_SRP"
    PASSWORD_VERIFIER = "PASSWORD_VERIFIER"
    CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"
    DEVICE_SRP_AUTH = "DEVICE_SRP_AUTH"
    DEVICE_PASSWORD_VERIFIER = "DEVICE_PASSWORD_VERIFIER"
    NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"
    SELECT_CHALLENGE = "SELECT_CHALLENGE"
    WEB_AUTHN = "WEB_AUTHN"


# AuthFlow -> client ExplicitAuthFlows values that allow it (ALLOW_* and their legacy names)
FLOW_PERMISSIONS: dict[str, tuple[str, ...]] = {
    AuthFlow.USER_PASSWORD_AUTH: ("ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"),
    AuthFlow.USER_SRP_AUTH: ("ALLOW_USER_SRP_AUTH",),
    AuthFlow.REFRESH_TOKEN_AUTH: ("ALLOW_REFRESH_TOKEN_AUTH",),
    AuthFlow.REFRESH_TOKEN: ("ALLOW_REFRESH_TOKEN_AUTH",),
    AuthFlow.ADMIN_USER_PASSWORD_AUTH: ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
    AuthFlow.ADMIN_NO_SRP_AUTH: ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"),
    AuthFlow.CUSTOM_AUTH: ("ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"),
    AuthFlow.USER_AUTH: ("ALLOW_USER_AUTH",),
}


LEGACY_FLOWS = frozenset({"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"})


def flow_allowed(client: ClientView, flow: str) -> bool:
    enabled = client.flows()
    always = (AuthFlow.REFRESH_TOKEN_AUTH, AuthFlow.REFRESH_TOKEN, AuthFlow.USER_SRP_AUTH)
    if flow in always and (not enabled or enabled <= LEGACY_FLOWS):
        return True  # legacy clients (no ALLOW_* values) always allow SRP and refresh
    return any(p in enabled for p in FLOW_PERMISSIONS.get(flow, ()))


def require(params: dict[str, str], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise InvalidParameterException(f"Missing required parameter {name}")


def check_secret_hash_for(client: ClientView, usernames: list[str], given: str | None) -> None:
    """SECRET_HASH of a client with a secret, computed with any of ``usernames`` (what the caller typed,
    the canonical username, or the sub); NotAuthorizedException with Cognito's messages otherwise."""
    if client.secret is None:
        return
    if not given:
        raise NotAuthorizedException(f"Client {client.id} is configured with secret but SECRET_HASH was not received")
    if not any(check_secret_hash(secret, u, client.id, given) for secret in client.secrets() for u in usernames if u):
        raise NotAuthorizedException(f"Unable to verify secret hash for client {client.id}")


class Finisher(Protocol):
    """What ends a successful sign-in: tokens for the API (``password.success``); the hosted UI passes
    its own (a single-sign-on session, tokens later at /oauth2/token). ``device_key`` is given only
    when the sign-in went through a device (DEVICE_SRP_AUTH, or a DEVICE_KEY with the password)."""

    def __call__(
        self,
        ctx: RequestContext,
        conn: Connection,
        pool: PoolView,
        client: ClientView,
        user: User,
        now: dt.datetime,
        *,
        device_key: str | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SignIn:
    """One sign-in request as every flow sees it: the request context, the pool and app client it goes
    through, its time (the request's), and how it ends when it succeeds (``finish``: tokens for the
    API, ``password.success``; the hosted UI's own)."""

    ctx: RequestContext
    pool: PoolView
    client: ClientView
    now: dt.datetime
    finish: Finisher
