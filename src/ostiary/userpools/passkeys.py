"""Passkeys (WebAuthn): StartWebAuthnRegistration, CompleteWebAuthnRegistration,
ListWebAuthnCredentials, DeleteWebAuthnCredential, and the WEB_AUTHN challenge of USER_AUTH.

A pool offers passkeys when its SignInPolicy allows the ``WEB_AUTHN`` first factor. The relying
party is the pool's ``WebAuthnConfiguration.RelyingPartyId`` (SetUserPoolMfaConfig), else the host of
its prefix domain. Registration and sign-in are checked with py_webauthn (W3C WebAuthn Level 2):
challenge, relying party id hash, origin, user presence (and user verification when the pool
requires it), signature, and the signature counter.

Accepted origins: ``https://<rp id>`` or a subdomain of it, and ``http://localhost[:port]`` when the
relying party is ``localhost`` (browsers allow WebAuthn there for development).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import Connection, delete, func, insert, select, update
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ostiary.audit import recorder as audit
from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import mfa, paging
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.domains import domain_host
from ostiary.userpools.errors import (
    InvalidParameterException,
    LimitExceededException,
    NotAuthorizedException,
    ResourceNotFoundException,
    WebAuthnChallengeNotFoundException,
    WebAuthnConfigurationMissingException,
    WebAuthnCredentialNotSupportedException,
    WebAuthnNotEnabledException,
    WebAuthnOriginNotAllowedException,
    WebAuthnRelyingPartyMismatchException,
)
from ostiary.userpools.tokens import signed_in

MAX_PASSKEYS = 20  # per user (AWS's quota)
CHALLENGE_SECONDS = 300
REGISTRATION = "webauthn_registration"  # the pending registration, in the user's MFA settings
_TRANSPORTS = {t.value for t in AuthenticatorTransport}


# --- configuration -------------------------------------------------------------------------------


def config(pool: PoolView) -> dict[str, Any]:
    return dict((pool.config.get("MfaSettings") or {}).get("WebAuthnConfiguration") or {})


def enabled(pool: PoolView) -> bool:
    policy = (pool.config.get("Policies") or {}).get("SignInPolicy") or {}
    return "WEB_AUTHN" in (policy.get("AllowedFirstAuthFactors") or [])


def user_verification(pool: PoolView) -> str:
    return "required" if config(pool).get("UserVerification") == "required" else "preferred"


def relying_party(conn: Connection, settings: Settings, pool: PoolView) -> str:
    configured = config(pool).get("RelyingPartyId")
    if configured:
        return str(configured)
    row = conn.execute(  # else the host of the pool's prefix domain, as AWS defaults
        select(t.user_pool_domains.c.domain).where(
            t.user_pool_domains.c.user_pool_id == pool.id, t.user_pool_domains.c.custom.is_(False)
        )
    ).first()
    if row is None:
        raise WebAuthnConfigurationMissingException(
            "The user pool has no passkey relying party: set WebAuthnConfiguration.RelyingPartyId "
            "(SetUserPoolMfaConfig) or add a domain."
        )
    return domain_host(settings, str(row.domain), pool.region)


def _origins(client_data_origin: str, rp_id: str) -> list[str]:
    """The origin a credential names, when it may speak for ``rp_id``; else refused."""
    parts = urlsplit(client_data_origin)
    host = parts.hostname or ""
    same_site = host == rp_id or host.endswith("." + rp_id)
    if same_site and (parts.scheme == "https" or (parts.scheme == "http" and host == "localhost")):
        return [client_data_origin]
    raise WebAuthnOriginNotAllowedException(f"The origin {client_data_origin} is not allowed for {rp_id}.")


def _client_data(credential: dict[str, Any]) -> dict[str, Any]:
    try:
        raw = base64url_to_bytes(str(credential["response"]["clientDataJSON"]))
        data = json.loads(raw)
    except (KeyError, TypeError, ValueError):
        raise InvalidParameterException("Credential.response.clientDataJSON is not valid.") from None
    if not isinstance(data, dict):
        raise InvalidParameterException("Credential.response.clientDataJSON is not valid.")
    return data


def count(conn: Connection, pool_id: str, user_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.webauthn_credentials)
            .where(t.webauthn_credentials.c.user_pool_id == pool_id, t.webauthn_credentials.c.user_id == user_id)
        ).scalar_one()
    )


def _credentials(conn: Connection, pool_id: str, user_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(t.webauthn_credentials)
            .where(t.webauthn_credentials.c.user_pool_id == pool_id, t.webauthn_credentials.c.user_id == user_id)
            .order_by(t.webauthn_credentials.c.created_at, t.webauthn_credentials.c.credential_id)
        ).all()
    )


def _descriptor(row: Any) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(x) for x in row.transports or [] if x in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id), transports=transports or None)


# --- registration --------------------------------------------------------------------------------


def _signed_in(ctx: RequestContext, conn: Connection, token: str) -> tuple[PoolView, User]:
    pool, user, _ = signed_in(ctx, conn, token)
    return pool, user


@operation("cognito-idp", "StartWebAuthnRegistration")
def start_webauthn_registration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool, user = _signed_in(ctx, conn, params["AccessToken"])
        if not enabled(pool):
            raise WebAuthnNotEnabledException("Passkeys are not enabled: the user pool's SignInPolicy lacks WEB_AUTHN.")
        rows = _credentials(conn, pool.id, user.id)
        if len(rows) >= MAX_PASSKEYS:
            raise LimitExceededException(f"A user can register at most {MAX_PASSKEYS} passkeys.")
        rp_id = relying_party(conn, ctx.settings, pool)
        challenge = secrets.token_bytes(32)
        options = webauthn.generate_registration_options(
            rp_id=rp_id,
            rp_name=pool.name,
            user_id=user.id.encode(),
            user_name=user.username,
            user_display_name=user.attributes.get("email") or user.username,
            challenge=challenge,
            timeout=CHALLENGE_SECONDS * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement(user_verification(pool)),
            ),
            exclude_credentials=[_descriptor(r) for r in rows],
        )
        pending = {
            "challenge": bytes_to_base64url(challenge),
            "rp_id": rp_id,
            "expires": ctx.now.timestamp() + CHALLENGE_SECONDS,
        }
        mfa.save(conn, user, ctx.now, **{REGISTRATION: pending})
    return {"CredentialCreationOptions": json.loads(options_to_json(options))}


@operation("cognito-idp", "CompleteWebAuthnRegistration")
def complete_webauthn_registration(ctx: RequestContext, params: Params) -> Result:
    credential = params["Credential"]
    if not isinstance(credential, dict):
        raise InvalidParameterException("Credential must be a RegistrationResponseJSON object.")
    with ctx.store.tx() as conn:
        pool, user = _signed_in(ctx, conn, params["AccessToken"])
        if not enabled(pool):
            raise WebAuthnNotEnabledException("Passkeys are not enabled: the user pool's SignInPolicy lacks WEB_AUTHN.")
        pending = user.mfa.get(REGISTRATION) or {}
        # the challenge is spent whatever happens next
        mfa.save(conn, user, ctx.now, **{REGISTRATION: None})
    if not pending or float(pending.get("expires") or 0) < ctx.now.timestamp():
        raise WebAuthnChallengeNotFoundException(
            "No passkey registration is in progress: call StartWebAuthnRegistration."
        )
    rp_id = str(pending["rp_id"])
    client_data = _client_data(credential)
    if client_data.get("challenge") != pending["challenge"]:
        raise WebAuthnChallengeNotFoundException("The credential does not answer the registration challenge.")
    origins = _origins(str(client_data.get("origin") or ""), rp_id)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(pending["challenge"]),
            expected_rp_id=rp_id,
            expected_origin=origins,
            require_user_verification=user_verification(pool) == "required",
        )
    except InvalidRegistrationResponse as err:
        if "RP ID hash" in str(err):
            raise WebAuthnRelyingPartyMismatchException(f"The credential is for another relying party: {err}") from None
        raise WebAuthnCredentialNotSupportedException(f"The credential was refused: {err}") from None
    except InvalidJSONStructure as err:
        raise InvalidParameterException(f"Credential is not a RegistrationResponseJSON: {err}") from None
    transports = [x for x in (credential.get("response") or {}).get("transports") or [] if x in _TRANSPORTS]
    attachment = credential.get("authenticatorAttachment")
    with ctx.store.tx() as conn:
        if count(conn, pool.id, user.id) >= MAX_PASSKEYS:
            raise LimitExceededException(f"A user can register at most {MAX_PASSKEYS} passkeys.")
        credential_id = bytes_to_base64url(verified.credential_id)
        exists = conn.execute(
            select(t.webauthn_credentials.c.user_id).where(
                t.webauthn_credentials.c.user_pool_id == pool.id,
                t.webauthn_credentials.c.credential_id == credential_id,
            )
        ).first()
        if exists is not None:
            raise InvalidParameterException("This passkey is registered already.")
        conn.execute(
            insert(t.webauthn_credentials).values(
                user_pool_id=pool.id,
                credential_id=credential_id,
                user_id=user.id,
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                relying_party_id=rp_id,
                friendly_name=None,
                attachment=attachment if attachment in ("platform", "cross-platform") else None,
                transports=transports,
                created_at=ctx.now,
            )
        )
        audit.record(
            conn, ctx, user=user, resource=("AWS::Cognito::UserPool", pool.id), details={"credentialId": credential_id}
        )
    return {}


@operation("cognito-idp", "ListWebAuthnCredentials")
def list_webauthn_credentials(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool, user = _signed_in(ctx, conn, params["AccessToken"])
        rows = _credentials(conn, pool.id, user.id)
    chunk, token = paging.slice_after(
        rows, lambda r: str(r.credential_id), params.get("NextToken"), int(params.get("MaxResults") or 20)
    )
    out: dict[str, Any] = {"Credentials": [_description(r) for r in chunk]}
    if token:
        out["NextToken"] = token
    return out


def _description(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "CredentialId": row.credential_id,
        "RelyingPartyId": row.relying_party_id,
        "AuthenticatorTransports": list(row.transports or []),
        "CreatedAt": row.created_at,
    }
    if row.friendly_name:
        out["FriendlyCredentialName"] = row.friendly_name
    if row.attachment:
        out["AuthenticatorAttachment"] = row.attachment
    return out


@operation("cognito-idp", "DeleteWebAuthnCredential")
def delete_webauthn_credential(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool, user = _signed_in(ctx, conn, params["AccessToken"])
        gone = conn.execute(
            delete(t.webauthn_credentials).where(
                t.webauthn_credentials.c.user_pool_id == pool.id,
                t.webauthn_credentials.c.user_id == user.id,
                t.webauthn_credentials.c.credential_id == params["CredentialId"],
            )
        ).rowcount
        if gone:
            audit.record(conn, ctx, params, user=user, resource=("AWS::Cognito::UserPool", pool.id))
    if not gone:
        raise ResourceNotFoundException("The passkey does not exist.")
    return {}


# --- sign-in (USER_AUTH, WEB_AUTHN) ---------------------------------------------------------------


def request_options(
    conn: Connection, settings: Settings, pool: PoolView, user: User
) -> tuple[dict[str, str], dict[str, Any]]:
    """(state to keep, CREDENTIAL_REQUEST_OPTIONS) for a WEB_AUTHN challenge."""
    rp_id = relying_party(conn, settings, pool)
    challenge = secrets.token_bytes(32)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=[_descriptor(r) for r in _credentials(conn, pool.id, user.id)],
        user_verification=UserVerificationRequirement(user_verification(pool)),
    )
    state = {"challenge": bytes_to_base64url(challenge), "rp_id": rp_id}
    return state, json.loads(options_to_json(options))


def verify_assertion(conn: Connection, pool: PoolView, user: User, state: dict[str, Any], raw: str) -> None:
    """Check a WEB_AUTHN answer (AuthenticationResponseJSON); NotAuthorizedException when wrong."""
    try:
        credential = json.loads(raw)
    except ValueError:
        raise InvalidParameterException("CREDENTIAL must be an AuthenticationResponseJSON object.") from None
    if not isinstance(credential, dict):
        raise InvalidParameterException("CREDENTIAL must be an AuthenticationResponseJSON object.")
    row = conn.execute(
        select(t.webauthn_credentials).where(
            t.webauthn_credentials.c.user_pool_id == pool.id,
            t.webauthn_credentials.c.credential_id == str(credential.get("id") or credential.get("rawId") or ""),
        )
    ).first()
    if row is None or row.user_id != user.id:
        raise NotAuthorizedException("Incorrect username or password.")
    client_data = _client_data(credential)
    origins = _origins(str(client_data.get("origin") or ""), str(state["rp_id"]))
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(str(state["challenge"])),
            expected_rp_id=str(state["rp_id"]),
            expected_origin=origins,
            credential_public_key=base64url_to_bytes(row.public_key),
            credential_current_sign_count=int(row.sign_count),
            require_user_verification=user_verification(pool) == "required",
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure):
        raise NotAuthorizedException("Incorrect username or password.") from None
    conn.execute(
        update(t.webauthn_credentials)
        .where(
            t.webauthn_credentials.c.user_pool_id == pool.id,
            t.webauthn_credentials.c.credential_id == row.credential_id,
        )
        .values(sign_count=verified.new_sign_count)
    )
