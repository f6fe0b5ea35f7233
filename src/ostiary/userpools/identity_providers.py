"""User pool identity providers: CreateIdentityProvider, DescribeIdentityProvider,
UpdateIdentityProvider, DeleteIdentityProvider, ListIdentityProviders and
GetIdentityProviderByIdentifier (SAML, OIDC, Google, Facebook, LoginWithAmazon, SignInWithApple).

The sign-in through these providers lives in ``ostiary.oauth.idp_signin``.

What is stored (table ``user_pool_identity_providers``): ``details`` holds ProviderDetails as
DescribeIdentityProvider shows them, without the secrets, plus Ostiary's own keys (a leading ``_``,
never shown): the metadata document fetched from a SAML ``MetadataURL`` and the OIDC AcrMapping.
``client_secret`` and ``private_key`` are sealed together as JSON in ``sealed_secrets``.

What is filled in when a provider is created or updated (the endpoints the sign-in flow uses, as
AWS's Describe shows them; the API reference, ProviderDetails):
- OIDC: the endpoints that were not given come from ``<oidc_issuer>/.well-known/openid-configuration``;
- social providers: AWS's fixed endpoints, or, when the operator points the provider's issuer
  elsewhere (``federation_issuers``), the endpoints of that issuer's discovery document;
- SAML: the metadata (MetadataFile, or fetched from MetadataURL) is checked and its HTTP-Redirect
  sign-in and sign-out URLs become SSORedirectBindingURI and SLORedirectBindingURI.
The metadata and discovery documents are read once, then; a change at the IdP needs an update.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary import egress
from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.federation import oidc, saml
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import paging
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    DuplicateProviderException,
    InvalidParameterException,
    LimitExceededException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import pool_for_caller

PROVIDER_TYPES = ("SAML", "OIDC", "Google", "Facebook", "LoginWithAmazon", "SignInWithApple")
SOCIAL_TYPES = ("Google", "Facebook", "LoginWithAmazon", "SignInWithApple")

MAX_PER_POOL = 300  # AWS quota: identity providers per user pool
_PAGE = 60  # ListProvidersLimitType max

SECRET_KEYS = ("client_secret", "private_key")
# never shown by DescribeIdentityProvider (AWS's Describe of SignInWithApple has no private_key)
WRITE_ONLY_KEYS = frozenset({"private_key"})
METADATA_KEY = "_metadata"  # SAML: the document fetched from MetadataURL
ACR_KEY = "_acr_mapping"  # OIDC: AcrMapping

# ProviderName of the social providers is their type; no other provider may take these names.
RESERVED_NAMES = frozenset({"cognito", *(name.lower() for name in SOCIAL_TYPES)})

REQUIRED_DETAILS: dict[str, tuple[str, ...]] = {
    "OIDC": ("client_id", "attributes_request_method", "oidc_issuer", "authorize_scopes"),
    "Google": ("client_id", "client_secret", "authorize_scopes"),
    "Facebook": ("client_id", "client_secret", "authorize_scopes"),
    "LoginWithAmazon": ("client_id", "client_secret", "authorize_scopes"),
    "SignInWithApple": ("client_id", "team_id", "key_id", "private_key", "authorize_scopes"),
}

# The provider claim the user pool username comes from (Developer Guide, "Specifying identity
# provider attribute mappings"): AttributeMapping shows it as ``username``; SAML uses the NameID.
USERNAME_SOURCE = {
    "OIDC": "sub",
    "Google": "sub",
    "SignInWithApple": "sub",
    "LoginWithAmazon": "user_id",
    "Facebook": "id",
}

# The key of each social provider in ``federation_issuers`` (ostiary.federation.oidc.social_issuers).
SOCIAL_ISSUER_KEYS = {
    "Google": "accounts.google.com",
    "SignInWithApple": "appleid.apple.com",
    "Facebook": "graph.facebook.com",
    "LoginWithAmazon": "www.amazon.com",
}
FACEBOOK_API_VERSION = "v17.0"
_API_VERSION = re.compile(r"^v\d+(\.\d+)?$")

# endpoint details filled from an OIDC discovery document
_DISCOVERED = {
    "authorize_url": "authorization_endpoint",
    "token_url": "token_endpoint",
    "attributes_url": "userinfo_endpoint",
    "jwks_uri": "jwks_uri",
}
# details a social provider's type decides (whatever the caller sent)
_SOCIAL_COMPUTED = (
    "authorize_url",
    "token_url",
    "attributes_url",
    "attributes_url_add_attributes",
    "oidc_issuer",
    "token_request_method",
    "jwks_uri",
)
# details of a SAML provider that come from its metadata
_SAML_COMPUTED = ("SSORedirectBindingURI", "SLORedirectBindingURI", "ActiveEncryptionCertificate")
_SAML_FLAGS = ("IDPInit", "IDPSignout", "EncryptedResponses")
SAML_SIGNING_ALGORITHMS = ("rsa-sha256",)


@dataclass(frozen=True)
class IdentityProvider:
    """One provider as the sign-in flow needs it."""

    pool_id: str
    name: str
    type: str  # one of PROVIDER_TYPES
    # ProviderDetails exactly as DescribeIdentityProvider returns them, secrets unsealed, endpoints
    # filled: OIDC/social → client_id, client_secret, authorize_scopes, authorize_url, token_url,
    # attributes_url, oidc_issuer, attributes_request_method, jwks_uri …; SAML → MetadataFile or
    # MetadataURL, SSORedirectBindingURI, IDPInit, IDPSignout …
    details: dict[str, str]
    attribute_mapping: dict[str, str] = field(default_factory=dict)  # pool attribute → provider attribute
    identifiers: list[str] = field(default_factory=list)
    metadata_xml: str | None = None  # SAML: the metadata document (from MetadataFile or fetched from MetadataURL)
    acr_mapping: dict[str, str] = field(default_factory=dict)  # OIDC: Level1-4 → the IdP's acr value
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


_ONE = select(t.user_pool_identity_providers).where(
    t.user_pool_identity_providers.c.user_pool_id == bindparam("pool_id"),
    t.user_pool_identity_providers.c.provider_name == bindparam("name"),
)
_IDENTIFIERS = select(
    t.user_pool_identity_providers.c.provider_name, t.user_pool_identity_providers.c.idp_identifiers
).where(t.user_pool_identity_providers.c.user_pool_id == bindparam("pool_id"))
_NAMES = select(t.user_pool_identity_providers.c.provider_name).where(
    t.user_pool_identity_providers.c.user_pool_id == bindparam("pool_id")
)


def _context(pool_id: str, name: str) -> str:
    return f"idp:{pool_id}:{name}"


def _from_row(box: SecretBox, row: Row[Any]) -> IdentityProvider:
    stored: dict[str, Any] = dict(row.details)
    details = {k: str(v) for k, v in stored.items() if not k.startswith("_")}
    if row.sealed_secrets:
        details.update(json.loads(box.open(row.sealed_secrets, _context(row.user_pool_id, row.provider_name))))
    metadata = None
    if row.provider_type == "SAML":
        metadata = stored.get("MetadataFile") or stored.get(METADATA_KEY)
    return IdentityProvider(
        pool_id=row.user_pool_id,
        name=row.provider_name,
        type=row.provider_type,
        details=details,
        attribute_mapping=dict(row.attribute_mapping or {}),
        identifiers=list(row.idp_identifiers or []),
        metadata_xml=str(metadata) if metadata else None,
        acr_mapping=dict(stored.get(ACR_KEY) or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def load_provider(conn: Connection, box: SecretBox, pool_id: str, name: str) -> IdentityProvider | None:
    """The pool's provider named ``name``, or None."""
    row = conn.execute(_ONE, {"pool_id": pool_id, "name": name}).first()
    return _from_row(box, row) if row is not None else None


def provider_by_identifier(conn: Connection, box: SecretBox, pool_id: str, identifier: str) -> IdentityProvider | None:
    """The pool's provider that has ``identifier`` among its IdpIdentifiers, or None."""
    for row in conn.execute(_IDENTIFIERS, {"pool_id": pool_id}):
        if identifier in (row.idp_identifiers or []):
            return load_provider(conn, box, pool_id, row.provider_name)
    return None


def provider_names(conn: Connection, pool_id: str) -> set[str]:
    """The names of the pool's identity providers (for app clients' SupportedIdentityProviders)."""
    return {row.provider_name for row in conn.execute(_NAMES, {"pool_id": pool_id})}


def _provider_type(provider: IdentityProvider) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserPoolId": provider.pool_id,
        "ProviderName": provider.name,
        "ProviderType": provider.type,
        "ProviderDetails": {k: v for k, v in provider.details.items() if k not in WRITE_ONLY_KEYS},
        "AttributeMapping": dict(provider.attribute_mapping),
        "IdpIdentifiers": list(provider.identifiers),
        "LastModifiedDate": provider.updated_at,
        "CreationDate": provider.created_at,
    }
    if provider.acr_mapping:
        out["AcrMapping"] = dict(provider.acr_mapping)
    return out


def _get(conn: Connection, box: SecretBox, pool_id: str, name: str) -> IdentityProvider:
    provider = load_provider(conn, box, pool_id, name)
    if provider is None:
        raise ResourceNotFoundException(f"Identity provider {name} does not exist.")
    return provider


# --- checks ---------------------------------------------------------------------------------------


def check_name(name: str, provider_type: str) -> None:
    """A social provider is named after its type; SAML and OIDC providers can't take those names or
    COGNITO (in any case)."""
    if provider_type in SOCIAL_TYPES:
        if name != provider_type:
            raise InvalidParameterException(
                f"ProviderName must be {provider_type} for a {provider_type} identity provider."
            )
    elif name.lower() in RESERVED_NAMES:
        raise InvalidParameterException(
            f"ProviderName {name} is reserved and can't be used for a {provider_type} provider."
        )


def check_mapping(pool: PoolView, provider_type: str, given: dict[str, str] | None) -> dict[str, str]:
    """AttributeMapping: keys are attributes of the pool (standard, or custom ones it has); for the
    types whose username source is fixed, ``username`` maps to that claim (added when absent)."""
    mapping = {str(k): str(v) for k, v in (given or {}).items()}
    schema = pool.schema
    invalid = [k for k in mapping if k != "username" and (k not in schema or k in ("sub", "identities"))]
    if invalid:
        raise InvalidParameterException(f"AttributeMapping contains invalid mapping: [{', '.join(invalid)}]")
    source = USERNAME_SOURCE.get(provider_type)
    if source is not None:
        if mapping.get("username", source) != source:
            raise InvalidParameterException(
                f"The username of a {provider_type} identity provider can only be mapped to {source}."
            )
        mapping["username"] = source
    return mapping


def check_identifiers(given: list[str] | None) -> list[str]:
    identifiers = [str(i) for i in given or []]
    seen: set[str] = set()
    for identifier in identifiers:
        if identifier in seen:
            raise InvalidParameterException(f"Duplicate identifier {identifier} in IdpIdentifiers.")
        seen.add(identifier)
    return identifiers


def _check_identifiers_free(conn: Connection, pool_id: str, name: str, identifiers: list[str]) -> None:
    """IdpIdentifiers are unique within the pool (Developer Guide, "SAML identity provider names and
    identifiers")."""
    if not identifiers:
        return
    wanted = set(identifiers)
    for row in conn.execute(_IDENTIFIERS, {"pool_id": pool_id}):
        if row.provider_name == name:
            continue
        taken = wanted.intersection(row.idp_identifiers or [])
        if taken:
            raise DuplicateProviderException(
                f"The identifier {sorted(taken)[0]} is already used by identity provider {row.provider_name} "
                f"in user pool {pool_id}."
            )


def check_acr(provider_type: str, given: dict[str, str] | None) -> dict[str, str]:
    if not given:
        return {}
    if provider_type != "OIDC":
        raise InvalidParameterException("AcrMapping is supported only for OIDC identity providers.")
    return {str(k): str(v) for k, v in given.items()}


# --- fetching -------------------------------------------------------------------------------------
# Every fetch goes through the egress policy (ostiary.egress): URLs given by the tenant must be https
# to public addresses unless the operator allow-lists them; the social providers' endpoints (AWS's
# or those of the operator's federation_issuers) are trusted. Errors never repeat what was fetched.


def _check_url(policy: egress.Policy, url: str, what: str, trusted: bool = False) -> None:
    """https, or http to a destination the operator allow-lists (``egress_allow``)."""
    try:
        policy.require_https(url, trusted=trusted)
    except egress.EgressError:
        raise InvalidParameterException(f"{what} must be an https URL: {url}") from None


def _fetch(policy: egress.Policy, url: str, what: str, trusted: bool = False) -> bytes:
    """The body at ``url`` (no redirects, within the egress size and time caps)."""
    try:
        got = policy.fetch(
            "GET", url, trusted=trusted, headers={"Accept": "application/json, application/xml, text/xml, */*"}
        )
    except egress.EgressRefused:
        raise InvalidParameterException(
            f"Unable to retrieve the {what} from {url}: the address is not allowed (setting egress_allow)."
        ) from None
    except egress.EgressFailed:
        raise InvalidParameterException(f"Unable to retrieve the {what} from {url}.") from None
    if got.status != 200:
        raise InvalidParameterException(f"Unable to retrieve the {what} from {url}.")
    return got.body


def discover(policy: egress.Policy, issuer: str, trusted: bool = False) -> dict[str, Any]:
    """The OpenID Connect discovery document of ``issuer`` (whose ``issuer`` must match it)."""
    _check_url(policy, issuer, "oidc_issuer", trusted)
    body = _fetch(
        policy, issuer.rstrip("/") + "/.well-known/openid-configuration", "OpenID Connect configuration", trusted
    )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        raise InvalidParameterException(f"The OpenID Connect configuration of {issuer} is not a JSON object.")
    published = document.get("issuer")
    if not isinstance(published, str) or published.rstrip("/") != issuer.rstrip("/"):
        raise InvalidParameterException(f"The OpenID Connect configuration of {issuer} names another issuer.")
    return document


# --- ProviderDetails by type ----------------------------------------------------------------------


def _require(provider_type: str, details: dict[str, str]) -> None:
    for key in REQUIRED_DETAILS[provider_type]:
        if not details.get(key):
            raise InvalidParameterException(f"{key} is required in ProviderDetails for {provider_type} providers.")


def _oidc_details(policy: egress.Policy, details: dict[str, str]) -> dict[str, str]:
    method = details["attributes_request_method"]
    if method not in ("GET", "POST"):
        raise InvalidParameterException("attributes_request_method must be GET or POST.")
    issuer = details["oidc_issuer"]
    _check_url(policy, issuer, "oidc_issuer")
    missing = [key for key in _DISCOVERED if not details.get(key)]
    if missing:
        document = discover(policy, issuer)
        for key in missing:
            value = document.get(_DISCOVERED[key])
            if not isinstance(value, str) or not value:
                raise InvalidParameterException(
                    f"The OpenID Connect configuration of {issuer} has no {_DISCOVERED[key]}: give {key} in "
                    "ProviderDetails."
                )
            details[key] = value
    for key in _DISCOVERED:
        _check_url(policy, details[key], key)
    details["attributes_url_add_attributes"] = "false"
    return details


def _social_defaults(provider_type: str, details: dict[str, str]) -> dict[str, str]:
    """AWS's endpoints for each social provider, as its Describe shows them."""
    if provider_type == "Google":
        return {
            "attributes_url": "https://people.googleapis.com/v1/people/me?personFields=",
            "attributes_url_add_attributes": "true",
            "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
            "oidc_issuer": "https://accounts.google.com",
            "token_request_method": "POST",
            "token_url": "https://www.googleapis.com/oauth2/v4/token",
        }
    if provider_type == "SignInWithApple":
        return {
            "attributes_url_add_attributes": "false",
            "authorize_url": "https://appleid.apple.com/auth/authorize",
            "oidc_issuer": "https://appleid.apple.com",
            "token_request_method": "POST",
            "token_url": "https://appleid.apple.com/auth/token",
        }
    if provider_type == "Facebook":
        version = details.get("api_version") or FACEBOOK_API_VERSION
        return {
            "attributes_url": f"https://graph.facebook.com/{version}/me?fields=",
            "attributes_url_add_attributes": "true",
            "authorize_url": f"https://www.facebook.com/{version}/dialog/oauth",
            "token_request_method": "GET",
            "token_url": f"https://graph.facebook.com/{version}/oauth/access_token",
        }
    return {  # LoginWithAmazon
        "attributes_url": "https://api.amazon.com/user/profile",
        "attributes_url_add_attributes": "false",
        "authorize_url": "https://www.amazon.com/ap/oa",
        "token_request_method": "POST",
        "token_url": "https://api.amazon.com/auth/o2/token",
    }


def social_override(settings: Settings, provider_type: str) -> str | None:
    """The issuer the operator points a social provider at (``federation_issuers``), or None."""
    key = SOCIAL_ISSUER_KEYS[provider_type]
    configured = oidc.social_issuers(settings.federation_issuers).get(key)
    if configured is None or configured == oidc.SOCIAL_ISSUERS.get(key):
        return None
    return configured


def _social_details(settings: Settings, provider_type: str, details: dict[str, str]) -> dict[str, str]:
    version = details.get("api_version")
    if provider_type == "Facebook" and version and not _API_VERSION.match(version):
        raise InvalidParameterException(f"Invalid api_version {version}: expected e.g. v17.0.")
    for key in _SOCIAL_COMPUTED:
        details.pop(key, None)
    override = social_override(settings, provider_type)
    if override is None:
        details.update(_social_defaults(provider_type, details))
        return details
    policy = egress.policy(settings)
    document = discover(policy, override, trusted=True)  # the operator's issuer
    found = {key: document.get(name) for key, name in _DISCOVERED.items()}
    for key in ("authorize_url", "token_url", "jwks_uri"):
        if not isinstance(found[key], str) or not found[key]:
            raise InvalidParameterException(
                f"The OpenID Connect configuration of {override} has no {_DISCOVERED[key]}."
            )
    details.update({key: str(value) for key, value in found.items() if isinstance(value, str) and value})
    for key in _DISCOVERED:
        if key in details:
            _check_url(policy, details[key], key, trusted=True)
    details.update({"oidc_issuer": override, "attributes_url_add_attributes": "false", "token_request_method": "POST"})
    return details


def _saml_details(policy: egress.Policy, details: dict[str, str]) -> tuple[dict[str, str], str]:
    """The details to store and the metadata document."""
    for key in _SAML_COMPUTED:
        details.pop(key, None)
    url, document = details.get("MetadataURL"), details.get("MetadataFile")
    if bool(url) == bool(document):
        raise InvalidParameterException("Exactly one of MetadataURL or MetadataFile must be given for a SAML provider.")
    for flag in _SAML_FLAGS:
        if flag in details and details[flag] not in ("true", "false"):
            raise InvalidParameterException(f"{flag} must be true or false.")
    if details.get("EncryptedResponses") == "true":
        raise InvalidParameterException("EncryptedResponses (encrypted SAML assertions) is not supported by Ostiary.")
    algorithm = details.get("RequestSigningAlgorithm")
    if algorithm is not None and algorithm not in SAML_SIGNING_ALGORITHMS:
        raise InvalidParameterException(
            f"RequestSigningAlgorithm must be one of: {', '.join(SAML_SIGNING_ALGORITHMS)}."
        )
    if url:
        _check_url(policy, url, "MetadataURL")
        try:
            document = _fetch(policy, url, "SAML metadata").decode()
        except UnicodeDecodeError:
            raise InvalidParameterException(f"The SAML metadata at {url} is not UTF-8 text.") from None
    assert document is not None
    try:
        meta = saml.parse_metadata(document)
    except saml.SamlError as err:
        if url:  # what a URL answered is never repeated
            raise InvalidParameterException(f"The document at {url} is not valid SAML IdP metadata.") from None
        raise InvalidParameterException(f"Invalid SAML metadata: {err}") from None
    if meta.sso_redirect_url:
        details["SSORedirectBindingURI"] = meta.sso_redirect_url
    if meta.slo_redirect_url:
        details["SLORedirectBindingURI"] = meta.slo_redirect_url
    return details, document


def complete_details(
    settings: Settings, provider_type: str, given: dict[str, Any], kept_secrets: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """ProviderDetails checked and filled in (may fetch from the IdP): (details to store, secrets).

    ``kept_secrets`` (on update) stand in for secrets the request leaves out, since Describe never
    shows ``private_key``."""
    details = {str(k): str(v) for k, v in given.items()}
    for key in details:
        if key.startswith("_"):
            raise InvalidParameterException(f"ProviderDetails key {key} is not supported.")
    for key in SECRET_KEYS:
        if key not in details and key in kept_secrets:
            details[key] = kept_secrets[key]
    stored: dict[str, Any]
    if provider_type == "SAML":
        shown, document = _saml_details(egress.policy(settings), details)
        stored = dict(shown)
        if "MetadataFile" not in shown:
            stored[METADATA_KEY] = document
    else:
        _require(provider_type, details)
        if provider_type == "OIDC":
            stored = dict(_oidc_details(egress.policy(settings), details))
        else:
            stored = dict(_social_details(settings, provider_type, details))
    secrets = {key: str(stored.pop(key)) for key in SECRET_KEYS if key in stored}
    return stored, secrets


def _seal(box: SecretBox, pool_id: str, name: str, secrets: dict[str, str]) -> str | None:
    return box.seal(json.dumps(secrets), _context(pool_id, name)) if secrets else None


# --- operations -----------------------------------------------------------------------------------


@operation("cognito-idp", "CreateIdentityProvider", offload=True)
def create_identity_provider(ctx: RequestContext, params: Params) -> Result:
    """Checks, then reads the IdP's metadata or discovery document outside the transaction."""
    name, provider_type = str(params["ProviderName"]), str(params["ProviderType"])
    check_name(name, provider_type)
    identifiers = check_identifiers(params.get("IdpIdentifiers"))
    acr = check_acr(provider_type, params.get("AcrMapping"))
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if conn.execute(_ONE, {"pool_id": pool.id, "name": name}).first() is not None:
            raise DuplicateProviderException(f"{name} already exists in user pool {pool.id}.")
        _check_identifiers_free(conn, pool.id, name, identifiers)
    mapping = check_mapping(pool, provider_type, params.get("AttributeMapping"))
    details, secrets = complete_details(ctx.settings, provider_type, dict(params["ProviderDetails"]), {})
    if acr:
        details[ACR_KEY] = acr
    upi = t.user_pool_identity_providers.c
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, pool.id)
        if conn.execute(_ONE, {"pool_id": pool.id, "name": name}).first() is not None:
            raise DuplicateProviderException(f"{name} already exists in user pool {pool.id}.")
        count = conn.execute(
            select(func.count()).select_from(t.user_pool_identity_providers).where(upi.user_pool_id == pool.id)
        ).scalar_one()
        if count >= MAX_PER_POOL:
            raise LimitExceededException(f"A user pool can have at most {MAX_PER_POOL} identity providers.")
        _check_identifiers_free(conn, pool.id, name, identifiers)
        conn.execute(
            insert(t.user_pool_identity_providers).values(
                user_pool_id=pool.id,
                provider_name=name,
                provider_type=provider_type,
                details=details,
                sealed_secrets=_seal(ctx.box, pool.id, name, secrets),
                attribute_mapping=mapping,
                idp_identifiers=identifiers,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        return {"IdentityProvider": _provider_type(_get(conn, ctx.box, pool.id, name))}


@operation("cognito-idp", "DescribeIdentityProvider")
def describe_identity_provider(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return {"IdentityProvider": _provider_type(_get(conn, ctx.box, pool.id, params["ProviderName"]))}


@operation("cognito-idp", "GetIdentityProviderByIdentifier")
def get_identity_provider_by_identifier(ctx: RequestContext, params: Params) -> Result:
    identifier = params["IdpIdentifier"]
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        provider = provider_by_identifier(conn, ctx.box, pool.id, identifier)
    if provider is None:
        raise ResourceNotFoundException(f"Identity provider with identifier {identifier} does not exist.")
    return {"IdentityProvider": _provider_type(provider)}


@operation("cognito-idp", "UpdateIdentityProvider", offload=True)
def update_identity_provider(ctx: RequestContext, params: Params) -> Result:
    """Each of ProviderDetails, AttributeMapping, IdpIdentifiers and AcrMapping that the request
    carries replaces the stored one; omitted ones stay. Secrets left out of new ProviderDetails are
    kept (Describe never shows ``private_key``, so a described provider can be sent back)."""
    name = str(params["ProviderName"])
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        current = _get(conn, ctx.box, pool.id, name)
    identifiers = check_identifiers(params["IdpIdentifiers"]) if "IdpIdentifiers" in params else None
    mapping = check_mapping(pool, current.type, params["AttributeMapping"]) if "AttributeMapping" in params else None
    acr = check_acr(current.type, params["AcrMapping"]) if "AcrMapping" in params else current.acr_mapping
    values: dict[str, Any] = {"updated_at": ctx.now}
    if params.get("ProviderDetails") is not None:
        kept = {k: current.details[k] for k in SECRET_KEYS if k in current.details}
        details, secrets = complete_details(ctx.settings, current.type, dict(params["ProviderDetails"]), kept)
        values["sealed_secrets"] = _seal(ctx.box, pool.id, name, secrets)
    else:
        details = None
    if mapping is not None:
        values["attribute_mapping"] = mapping
    if identifiers is not None:
        values["idp_identifiers"] = identifiers
    upi = t.user_pool_identity_providers.c
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, pool.id)
        row = conn.execute(_ONE, {"pool_id": pool.id, "name": name}).first()
        if row is None:
            raise ResourceNotFoundException(f"Identity provider {name} does not exist.")
        if identifiers:
            _check_identifiers_free(conn, pool.id, name, identifiers)
        stored = dict(row.details) if details is None else details
        stored.pop(ACR_KEY, None)
        if acr:
            stored[ACR_KEY] = acr
        values["details"] = stored
        conn.execute(
            update(t.user_pool_identity_providers)
            .where(upi.user_pool_id == pool.id, upi.provider_name == name)
            .values(**values)
        )
        return {"IdentityProvider": _provider_type(_get(conn, ctx.box, pool.id, name))}


@operation("cognito-idp", "DeleteIdentityProvider")
def delete_identity_provider(ctx: RequestContext, params: Params) -> Result:
    """App clients that list the provider in SupportedIdentityProviders are left as they are."""
    name = params["ProviderName"]
    upi = t.user_pool_identity_providers.c
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        gone = conn.execute(
            delete(t.user_pool_identity_providers).where(upi.user_pool_id == pool.id, upi.provider_name == name)
        ).rowcount
        if not gone:
            raise ResourceNotFoundException(f"Identity provider {name} does not exist.")
    return None


@operation("cognito-idp", "ListIdentityProviders")
def list_identity_providers(ctx: RequestContext, params: Params) -> Result:
    """In name order; NextToken is the last name returned."""
    limit = int(params.get("MaxResults") or _PAGE)
    after = paging.decode(params.get("NextToken"))
    upi = t.user_pool_identity_providers.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        query = select(upi.provider_name, upi.provider_type, upi.created_at, upi.updated_at).where(
            upi.user_pool_id == pool.id
        )
        if after:
            query = query.where(upi.provider_name > str(after[0]))
        rows = conn.execute(query.order_by(upi.provider_name).limit(limit + 1)).all()
    out: dict[str, Any] = {
        "Providers": [
            {
                "ProviderName": r.provider_name,
                "ProviderType": r.provider_type,
                "LastModifiedDate": r.updated_at,
                "CreationDate": r.created_at,
            }
            for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].provider_name])
    return out
