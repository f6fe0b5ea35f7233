"""Users who sign in through a user pool's identity providers, and the two operations that manage
their identities: AdminLinkProviderForUser and AdminDisableProviderForUser.

The first sign-in of an external identity creates an ``EXTERNAL_PROVIDER`` user named
``<ProviderName>_<provider user id>`` with the provider's attributes mapped by the provider's
AttributeMapping and an ``identities`` attribute (PreSignUp_ExternalProvider, then
PostConfirmation_ConfirmSignUp). Later sign-ins update the mapped attributes, as Cognito does. An
identity linked to an existing user by AdminLinkProviderForUser signs in as that user instead.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import directory, tokens, triggers
from ostiary.userpools.directory import PoolView, User, UserStatus
from ostiary.userpools.errors import (
    InvalidLambdaResponseException,
    InvalidParameterException,
    LimitExceededException,
    NotAuthorizedException,
    ResourceNotFoundException,
    UserNotFoundException,
)
from ostiary.userpools.identity_providers import IdentityProvider, provider_names
from ostiary.userpools.lookup import ClientView, forget_views, pool_for_caller

EXTERNAL_PROVIDER = UserStatus.EXTERNAL_PROVIDER
COGNITO_SUBJECT = "Cognito_Subject"
MAX_LINKED = 5  # "The maximum number of federated identities linked to a user is five."
# the attribute a provider's user id is read from when the mapping does not name one
DEFAULT_USER_ID_CLAIM = {"Facebook": "id", "LoginWithAmazon": "user_id"}

_IDENTITY = select(t.external_identities).where(
    t.external_identities.c.user_pool_id == bindparam("pool_id"),
    t.external_identities.c.provider_name == bindparam("provider"),
    t.external_identities.c.provider_user_id == bindparam("subject"),
)
_LINKS_OF = select(t.external_identities).where(t.external_identities.c.user_id == bindparam("user_id"))


@dataclass(frozen=True)
class ExternalIdentity:
    """What a provider said about the person signing in."""

    provider: IdentityProvider
    subject: str  # the provider's id of the user: OIDC sub (or the attribute mapped to username), SAML NameID
    claims: dict[str, Any]  # ID token and userInfo claims, or SAML attributes (first value each)
    issuer: str | None = None
    # what the provider sent, for the InboundFederation trigger: tokenResponse, idToken, userInfo
    # (OIDC and social) or samlResponse (SAML), each a map of strings
    raw: dict[str, dict[str, str]] = field(default_factory=dict)


def user_id_claim(provider: IdentityProvider) -> str:
    return provider.attribute_mapping.get("username") or DEFAULT_USER_ID_CLAIM.get(provider.type, "sub")


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def mapped_attributes(pool: PoolView, identity: ExternalIdentity) -> dict[str, str]:
    """The pool attributes the provider's AttributeMapping fills from what the provider sent; names
    the pool does not have are skipped."""
    schema = pool.schema
    out: dict[str, str] = {}
    for attribute, source in identity.provider.attribute_mapping.items():
        if attribute == "username" or source not in identity.claims:
            continue
        if attribute not in schema and attribute not in ("email_verified", "phone_number_verified"):
            continue
        value = identity.claims[source]
        if value is None:
            continue
        out[attribute] = _string(value)[:2048]
    return out


def _identity_entry(identity: ExternalIdentity, now: dt.datetime) -> dict[str, Any]:
    """One element of the ``identities`` attribute, as AdminGetUser shows it."""
    return {
        "userId": identity.subject,
        "providerName": identity.provider.name,
        "providerType": identity.provider.type,
        "issuer": identity.issuer,
        "primary": True,
        "dateCreated": int(now.timestamp() * 1000),
    }


def _check_enabled(user: User) -> User:
    if not user.enabled:
        raise NotAuthorizedException("User is disabled.")
    return user


def sign_in(ctx: RequestContext, pool: PoolView, client: ClientView, identity: ExternalIdentity) -> User:
    """The user an external identity signs in as, created on its first sign-in."""
    provider = identity.provider
    key = {"pool_id": pool.id, "provider": provider.name, "subject": identity.subject}
    with ctx.store.read() as conn:
        row = conn.execute(_IDENTITY, key).first()
        user = directory.get_by_id(conn, pool, row.user_id) if row is not None else None
    if row is not None and row.linked:
        if user is None:
            raise NotAuthorizedException("User does not exist.")
        return _check_enabled(user)
    mapped = _inbound_federation(ctx, pool, client, identity, mapped_attributes(pool, identity))
    now = ctx.now
    if user is not None:
        wanted = {**user.attributes, **mapped}
        if wanted != user.attributes:
            with ctx.store.tx() as conn:
                directory.save_attributes(conn, user, wanted, now)
        return _check_enabled(user)
    return _first_sign_in(ctx, pool, client, identity, mapped)


def _inbound_federation(
    ctx: RequestContext, pool: PoolView, client: ClientView, identity: ExternalIdentity, mapped: dict[str, str]
) -> dict[str, str]:
    """The InboundFederation trigger: what the provider sent, in; the attributes to map, out
    (``userAttributesToMap``; an empty map keeps the AttributeMapping's result)."""
    if not triggers.configured(pool, "InboundFederation"):
        return mapped
    provider = identity.provider
    response = triggers.run(
        ctx.settings,
        pool,
        "InboundFederation",
        "InboundFederation_ExternalProvider",
        f"{provider.name}_{identity.subject}",
        client.id,
        {"providerName": provider.name, "providerType": provider.type, "attributes": dict(identity.raw)},
    )
    chosen = (response or {}).get("userAttributesToMap") or {}
    if not isinstance(chosen, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    if not chosen:
        return mapped
    schema = pool.schema
    out: dict[str, str] = {}
    for name, value in chosen.items():
        if name in ("sub", "identities", "username") or value is None:
            continue
        if name not in schema and name not in ("email_verified", "phone_number_verified"):
            raise InvalidLambdaResponseException(f"userAttributesToMap names an unknown attribute: {name}")
        out[str(name)] = _string(value)[:2048]
    return out


def _first_sign_in(
    ctx: RequestContext, pool: PoolView, client: ClientView, identity: ExternalIdentity, mapped: dict[str, str]
) -> User:
    provider = identity.provider
    username = f"{provider.name}_{identity.subject}"
    if len(username) > 128:
        raise InvalidParameterException("The identity provider's user id is too long for a username.")
    response = triggers.run(
        ctx.settings,
        pool,
        "PreSignUp",
        "PreSignUp_ExternalProvider",
        username,
        client.id,
        {"userAttributes": dict(mapped), "validationData": None, "clientMetadata": {}},
    )
    values = dict(mapped)
    if triggers.flag(response, "autoVerifyEmail") and values.get("email"):
        values["email_verified"] = "true"
    if triggers.flag(response, "autoVerifyPhone") and values.get("phone_number"):
        values["phone_number_verified"] = "true"
    now = ctx.now
    values["identities"] = json.dumps([_identity_entry(identity, now)], separators=(",", ":"))
    with ctx.store.tx() as conn:
        key = {"pool_id": pool.id, "provider": provider.name, "subject": identity.subject}
        if conn.execute(_IDENTITY, key).first():
            raise NotAuthorizedException("A sign-in of this user is already in progress; try again.")
        if directory.find(conn, pool, username, by_alias=False) is not None:
            raise InvalidParameterException(f"A user named {username} already exists.")
        user = directory.insert_user(
            conn,
            pool,
            username=username,
            status=EXTERNAL_PROVIDER,
            attributes=values,
            now=now,
            user_id=str(uuid.uuid4()),
        )
        conn.execute(
            insert(t.external_identities).values(
                user_pool_id=pool.id,
                provider_name=provider.name,
                provider_user_id=identity.subject,
                user_id=user.id,
                linked=False,
                created_at=now,
            )
        )
    try:
        triggers.run(
            ctx.settings,
            pool,
            "PostConfirmation",
            "PostConfirmation_ConfirmSignUp",
            username,
            client.id,
            {"userAttributes": triggers.user_attributes(user), "clientMetadata": {}},
        )
    except Exception:
        with ctx.store.tx() as conn:  # a failing trigger leaves no user behind
            directory.delete_user(conn, user)
        raise
    return user


# --- AdminLinkProviderForUser / AdminDisableProviderForUser ---------------------------------------


def _provider_identifier(params: Params, key: str) -> dict[str, str]:
    value = params.get(key) or {}
    return {k: str(v) for k, v in value.items() if v is not None}


def _identities_of(conn: Connection, pool: PoolView, user: User) -> list[dict[str, Any]]:
    entries = []
    for row in conn.execute(_LINKS_OF, {"user_id": user.id}).all():
        entries.append(
            {
                "userId": row.provider_user_id,
                "providerName": row.provider_name,
                "providerType": _provider_type(conn, pool.id, row.provider_name),
                "issuer": None,
                "primary": not row.linked,
                "dateCreated": int(row.created_at.timestamp() * 1000),
            }
        )
    return entries


def _provider_type(conn: Connection, pool_id: str, name: str) -> str:
    row = conn.execute(
        select(t.user_pool_identity_providers.c.provider_type).where(
            t.user_pool_identity_providers.c.user_pool_id == pool_id,
            t.user_pool_identity_providers.c.provider_name == name,
        )
    ).first()
    return str(row.provider_type) if row is not None else name


@operation("cognito-idp", "AdminLinkProviderForUser")
def admin_link_provider_for_user(ctx: RequestContext, params: Params) -> Result:
    destination = _provider_identifier(params, "DestinationUser")
    source = _provider_identifier(params, "SourceUser")
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    if destination.get("ProviderName") != "Cognito":
        raise InvalidParameterException("DestinationUser ProviderName must be Cognito.")
    if destination.get("ProviderAttributeName") not in (None, "", COGNITO_SUBJECT):
        raise InvalidParameterException("DestinationUser ProviderAttributeName must be Cognito_Subject or omitted.")
    name = source.get("ProviderName") or ""
    attribute = source.get("ProviderAttributeName") or ""
    value = source.get("ProviderAttributeValue") or ""
    if not name or name == "Cognito":
        raise InvalidParameterException("SourceUser must name an identity provider of the user pool.")
    if attribute != COGNITO_SUBJECT:
        raise InvalidParameterException(
            "Ostiary links identities by their subject only: SourceUser ProviderAttributeName must be Cognito_Subject."
        )
    if not value:
        raise InvalidParameterException("SourceUser ProviderAttributeValue is required.")
    now = ctx.now
    with ctx.store.tx() as conn:
        if name not in provider_names(conn, pool.id):
            raise InvalidParameterException(f"The provider {name} does not exist for User Pool {pool.id}")
        target = directory.find(conn, pool, destination.get("ProviderAttributeValue") or "", by_alias=False)
        if target is None:
            raise UserNotFoundException("User does not exist.")
        if target.status == EXTERNAL_PROVIDER:
            raise InvalidParameterException("DestinationUser must be a user of the user pool, not a federated user.")
        existing = conn.execute(_IDENTITY, {"pool_id": pool.id, "provider": name, "subject": value}).first()
        if existing is not None:
            if existing.user_id == target.id:
                return {}
            raise InvalidParameterException(
                "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"
            )
        links = conn.execute(_LINKS_OF, {"user_id": target.id}).all()
        if len(links) >= MAX_LINKED:
            raise LimitExceededException("A user can have at most five linked identities.")
        conn.execute(
            insert(t.external_identities).values(
                user_pool_id=pool.id,
                provider_name=name,
                provider_user_id=value,
                user_id=target.id,
                linked=True,
                created_at=now,
            )
        )
        _refresh_identities_attribute(conn, pool, target, now)
    forget_views()
    return {}


def _refresh_identities_attribute(conn: Connection, pool: PoolView, user: User, now: dt.datetime) -> None:
    entries = _identities_of(conn, pool, user)
    values = dict(user.attributes)
    if entries:
        values["identities"] = json.dumps(entries, separators=(",", ":"))
    else:
        values.pop("identities", None)
    directory.save_attributes(conn, user, values, now)


@operation("cognito-idp", "AdminDisableProviderForUser")
def admin_disable_provider_for_user(ctx: RequestContext, params: Params) -> Result:
    """Unlink an identity from the user it was linked to, or disable the federated user it created."""
    who = _provider_identifier(params, "User")
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    name = who.get("ProviderName") or ""
    attribute = who.get("ProviderAttributeName") or ""
    value = who.get("ProviderAttributeValue") or ""
    if not name or name == "Cognito":
        raise InvalidParameterException("User ProviderName must name an identity provider of the user pool.")
    if attribute != COGNITO_SUBJECT:
        raise InvalidParameterException("User ProviderAttributeName must be Cognito_Subject.")
    now = ctx.now
    with ctx.store.tx() as conn:
        row = conn.execute(_IDENTITY, {"pool_id": pool.id, "provider": name, "subject": value}).first()
        if row is None:
            raise ResourceNotFoundException("User does not exist.")
        user = directory.get_by_id(conn, pool, row.user_id)
        if row.linked:
            # the link ends: the identity's next sign-in makes a new, unlinked user
            conn.execute(
                delete(t.external_identities).where(
                    t.external_identities.c.user_pool_id == pool.id,
                    t.external_identities.c.provider_name == name,
                    t.external_identities.c.provider_user_id == value,
                )
            )
            if user is not None:
                _refresh_identities_attribute(conn, pool, user, now)
        elif user is not None:
            # the federated user it created is disabled: no sign-in, its tokens stop working
            directory.set_fields(conn, user, now, enabled=False)
            tokens.revoke_user(conn, user.id, now)
    return {}
