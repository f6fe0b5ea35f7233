"""Sign-in through a user pool's identity providers, as Cognito's managed login does it.

``/oauth2/authorize?identity_provider=<name>`` (or ``idp_identifier=…``, or a client whose only
provider is external) sends the browser to the provider:

- OIDC and social providers: the provider's authorization endpoint with ``response_type=code``,
  ``redirect_uri=<domain>/oauth2/idpresponse``, the provider's ``authorize_scopes``, a ``nonce`` and
  PKCE (S256). ``GET /oauth2/idpresponse`` exchanges the code at the provider's token endpoint
  (client_secret_basic, then client_secret_post if the provider refuses it), verifies the ID token
  (signature through the issuer's JWKS, ``iss``, ``aud``, expiry, ``nonce``), reads the userInfo
  endpoint when the provider has one, and signs the user in.
- SAML providers: an AuthnRequest (HTTP-Redirect binding) to the IdP's SingleSignOnService, issuer
  ``urn:amazon:cognito:sp:<poolId>``, AssertionConsumerService ``<domain>/saml2/idpresponse``.
  ``POST /saml2/idpresponse`` checks the signed response against the IdP metadata's certificates,
  its audience, recipient, validity window and InResponseTo.

Everything the round trip needs (the original authorization request, nonce, PKCE verifier, SAML
request id, deadline) travels in ``state`` / ``RelayState``, sealed with AES-GCM and bound to the
pool; it is spent once, like Cognito's. Then the user is found or created
(``ostiary.userpools.federated_users``), PreAuthentication and PostAuthentication run, the
single-sign-on session starts and the client gets its code or tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import delete

from ostiary import egress
from ostiary.federation import oidc, saml
from ostiary.oauth.authorize_request import AuthorizeRequest, ErrorPage
from ostiary.oauth.service_calls import service_context
from ostiary.protocol.context import Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.store import tables as t
from ostiary.store.markers import spend_auth_session_marker
from ostiary.userpools import federated_users, saml_signing
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.federated_users import ExternalIdentity
from ostiary.userpools.identity_providers import SOCIAL_TYPES, IdentityProvider, load_provider, provider_by_identifier
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.signin.password import post_authentication, pre_authentication

log = logging.getLogger("ostiary.federation")

STATE_SECONDS = 900  # how long a user may spend at the provider
MARKER_CHALLENGE = "FEDERATION_STATE_USED"
SAML_ACS = "saml2/idpresponse"
OIDC_CALLBACK = "oauth2/idpresponse"
MAX_SAML_RESPONSE = 100_000  # "can accept SAML assertions of up to 100,000 characters"


def sp_entity_id(pool_id: str) -> str:
    return f"urn:amazon:cognito:sp:{pool_id}"


class FederationError(ErrorPage):
    """A failed round trip through a provider: an error page (never a redirect to the client
    before the request's own redirect URI is known to be the client's)."""

    def __init__(self, message: str, code: str = "invalid_request", status: int = 400) -> None:
        super().__init__("Sign-in failed", message, code, status)


# --- choosing the provider -----------------------------------------------------------------------


def chosen_provider(runtime: Runtime, req: AuthorizeRequest) -> IdentityProvider | None:
    """The external provider an authorization request asks for: ``identity_provider``,
    ``idp_identifier``, or the client's only provider when COGNITO is not among them."""
    supported = list(req.client.config.get("SupportedIdentityProviders") or [])
    name = req.raw.get("identity_provider") or ""
    identifier = req.raw.get("idp_identifier") or ""
    with runtime.store.read() as conn:
        if name and name != "COGNITO":
            provider = load_provider(conn, runtime.box, req.pool.id, name)
            if provider is None or name not in supported:
                raise FederationError(f"The identity provider {name} is not enabled for this app client.")
            return provider
        if identifier and not name:
            provider = provider_by_identifier(conn, runtime.box, req.pool.id, identifier)
            if provider is None or provider.name not in supported:
                raise FederationError("No identity provider of this app client matches the idp_identifier.")
            return provider
        if not name and supported and "COGNITO" not in supported and len(supported) == 1:
            return load_provider(conn, runtime.box, req.pool.id, supported[0])
    return None


def external_providers(runtime: Runtime, pool: PoolView, client: ClientView) -> list[IdentityProvider]:
    """The client's external providers, for the sign-in page's buttons."""
    names = [n for n in client.config.get("SupportedIdentityProviders") or [] if n != "COGNITO"]
    if not names:
        return []
    with runtime.store.read() as conn:
        found = [load_provider(conn, runtime.box, pool.id, n) for n in names]
    return [p for p in found if p is not None]


# --- the sealed round-trip state -----------------------------------------------------------------


@dataclass(frozen=True)
class RoundTrip:
    provider: str
    authorize: dict[str, str]  # the client's authorization request, to resume it
    callback: str  # the redirect_uri / ACS URL sent to the provider
    deadline: float
    nonce: str = ""
    verifier: str = ""
    request_id: str = ""


def _context(pool_id: str) -> str:
    return f"federation-state:{pool_id}"


def seal_state(runtime: Runtime, pool_id: str, trip: RoundTrip) -> str:
    body = json.dumps(
        {
            "p": trip.provider,
            "a": trip.authorize,
            "c": trip.callback,
            "d": trip.deadline,
            "n": trip.nonce,
            "v": trip.verifier,
            "r": trip.request_id,
        },
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(runtime.box.seal_bytes(zlib.compress(body), _context(pool_id))).decode().rstrip("=")


def open_state(runtime: Runtime, pool_id: str, state: str) -> RoundTrip:
    try:
        raw = base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))
        data = json.loads(zlib.decompress(runtime.box.open_bytes(raw, _context(pool_id))))
        trip = RoundTrip(
            provider=str(data["p"]),
            authorize={str(k): str(v) for k, v in data["a"].items()},
            callback=str(data["c"]),
            deadline=float(data["d"]),
            nonce=str(data["n"]),
            verifier=str(data["v"]),
            request_id=str(data["r"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError, zlib.error):
        raise FederationError("The sign-in request is invalid or has expired. Start the sign-in again.") from None
    if trip.deadline < time.time():
        raise FederationError("The sign-in request has expired. Start the sign-in again.")
    return trip


def spend_state(
    runtime: Runtime,
    pool_id: str,
    client_id: str,
    state: str,
    trip: RoundTrip,
    assertion: saml.Assertion | None = None,
) -> None:
    """Mark a round trip used (a replayed provider response is refused), and with it the SAML
    assertion that answered it, in one transaction."""
    markers = [("federation-state", state, trip.deadline)]
    if assertion is not None:
        markers.append(_assertion_marker(pool_id, trip.provider, assertion))
    _spend(runtime, pool_id, client_id, trip.provider, markers)


def spend_assertion(runtime: Runtime, pool_id: str, client_id: str, provider: str, assertion: saml.Assertion) -> None:
    """Mark an unsolicited (IdP-initiated) assertion used, by its ID, until it expires."""
    _spend(runtime, pool_id, client_id, provider, [_assertion_marker(pool_id, provider, assertion)])


def _assertion_marker(pool_id: str, provider: str, assertion: saml.Assertion) -> tuple[str, str, float]:
    """(label, value, deadline) of the single-use marker of a SAML assertion: its ID (from the signed
    Assertion) for this pool and provider, kept until the assertion can no longer be accepted
    (NotOnOrAfter plus the allowed clock skew; ``_spend`` adds its margin)."""
    if not assertion.assertion_id or assertion.not_on_or_after is None:
        raise FederationError("The SAML response was refused.")
    deadline = (assertion.not_on_or_after + saml.CLOCK_SKEW).timestamp()
    return "federation-assertion", f"{pool_id}|{provider}|{assertion.assertion_id}", deadline


def _spend(
    runtime: Runtime, pool_id: str, client_id: str, provider: str, markers: list[tuple[str, str, float]]
) -> None:
    """Insert single-use markers (label, value, deadline) in auth_sessions, keyed by an HMAC of the
    value under a key of the label; any one already there refuses the whole (nothing is spent)."""
    with runtime.store.tx() as conn:
        now = dt.datetime.now(dt.UTC)
        if secrets.randbelow(64) == 0:  # now and then, sweep markers past their time
            conn.execute(delete(t.auth_sessions).where(t.auth_sessions.c.expires_at < now))
        for label, value, deadline in markers:
            marker = hmac.new(runtime.box.mac_key(label), value.encode(), hashlib.sha256).hexdigest()
            fresh = spend_auth_session_marker(
                conn,
                runtime.store.is_sqlite,
                {
                    "id": marker,
                    "user_pool_id": pool_id,
                    "client_id": client_id[:128],
                    "username": provider[:128],
                    "challenge": MARKER_CHALLENGE,
                    "state": {},
                    "expires_at": dt.datetime.fromtimestamp(deadline, dt.UTC) + dt.timedelta(minutes=10),
                },
            )
            if not fresh:
                raise FederationError("This sign-in response was already used. Start the sign-in again.")


# --- going to the provider -----------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def provider_redirect(runtime: Runtime, req: AuthorizeRequest, provider: IdentityProvider, domain_url: str) -> str:
    """The URL that starts the sign-in at ``provider``; ``domain_url`` is the absolute URL of the
    pool's domain (``https://<domain>`` or ``http://host/_domain/<domain>``)."""
    deadline = time.time() + STATE_SECONDS
    if provider.type == "SAML":
        return _saml_redirect(runtime, req, provider, domain_url, deadline)
    details = provider.details
    authorize_url = details.get("authorize_url") or ""
    if not authorize_url:
        raise FederationError(f"The identity provider {provider.name} has no authorization endpoint.")
    callback = f"{domain_url}/{OIDC_CALLBACK}"
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    trip = RoundTrip(provider.name, req.raw, callback, deadline, nonce=nonce, verifier=verifier)
    params = {
        "client_id": details.get("client_id", ""),
        "response_type": "code",
        "redirect_uri": callback,
        "scope": details.get("authorize_scopes", "openid").replace(",", " "),
        "state": seal_state(runtime, req.pool.id, trip),
    }
    if provider.type in ("OIDC", "Google", "SignInWithApple"):
        params["nonce"] = nonce
    if provider.type == "OIDC":
        params["code_challenge"] = _b64url(hashlib.sha256(verifier.encode()).digest())
        params["code_challenge_method"] = "S256"
    if provider.type == "SignInWithApple" and any(s in params["scope"].split() for s in ("email", "name")):
        params["response_mode"] = "form_post"
    return f"{authorize_url}{'&' if '?' in authorize_url else '?'}{urlencode(params)}"


def _saml_redirect(
    runtime: Runtime, req: AuthorizeRequest, provider: IdentityProvider, domain_url: str, deadline: float
) -> str:
    sso = provider.details.get("SSORedirectBindingURI") or ""
    if not sso:
        raise FederationError(f"The identity provider {provider.name} has no HTTP-Redirect sign-in endpoint.")
    acs = f"{domain_url}/{SAML_ACS}"
    request_id = "_" + uuid.uuid4().hex
    instant = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{instant}" Destination={quoteattr(sso)} '
        f"AssertionConsumerServiceURL={quoteattr(acs)} "
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        f"<saml:Issuer>{escape(sp_entity_id(req.pool.id))}</saml:Issuer>"
        '<samlp:NameIDPolicy AllowCreate="true"/>'
        "</samlp:AuthnRequest>"
    )
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(document.encode()) + compressor.flush()
    trip = RoundTrip(provider.name, req.raw, acs, deadline, request_id=request_id)
    params = {
        "SAMLRequest": base64.b64encode(deflated).decode(),
        "RelayState": seal_state(runtime, req.pool.id, trip),
    }
    query = urlencode(params)
    if provider.details.get("RequestSigningAlgorithm") == "rsa-sha256":
        # HTTP-Redirect binding signature (SAML bindings §3.4.4.1) with the pool's SAML key
        key = saml_signing.sp_key(runtime.store, runtime.box, req.pool.id)
        query += "&" + urlencode({"SigAlg": saml_signing.RSA_SHA256})
        query += "&" + urlencode({"Signature": key.sign_redirect(query)})
    return f"{sso}{'&' if '?' in sso else '?'}{query}"


# --- coming back: OIDC and social ----------------------------------------------------------------


# OAuth 2.0 token endpoint error codes (RFC 6749 §5.2): the only part of a provider's error answer
# shown on the error page
_OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


def _trusted(provider: IdentityProvider) -> bool:
    """A social provider's endpoints are AWS's or those of the operator's ``federation_issuers`` (the
    tenant cannot set them); an OIDC provider's are the tenant's, under the egress address policy."""
    return provider.type in SOCIAL_TYPES


def _token_request(policy: egress.Policy, provider: IdentityProvider, code: str, trip: RoundTrip) -> dict[str, Any]:
    details = provider.details
    token_url = details.get("token_url") or ""
    if not token_url:
        raise FederationError(f"The identity provider {provider.name} has no token endpoint.")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": trip.callback}
    if provider.type == "OIDC":
        form["code_verifier"] = trip.verifier
    client_id = details.get("client_id", "")
    secret = details.get("client_secret") or ""
    if provider.type == "SignInWithApple":
        secret = _apple_client_secret(details)
    trusted = _trusted(provider)
    accept = {"Accept": "application/json"}
    try:
        if secret:
            response = policy.fetch(
                "POST", token_url, trusted=trusted, headers=accept, data=form, basic_auth=(client_id, secret)
            )
            if response.status in (400, 401) and _oauth_error(response) == "invalid_client":
                response = policy.fetch(
                    "POST",
                    token_url,
                    trusted=trusted,
                    headers=accept,
                    data={**form, "client_id": client_id, "client_secret": secret},
                )
        else:
            response = policy.fetch(
                "POST", token_url, trusted=trusted, headers=accept, data={**form, "client_id": client_id}
            )
    except egress.EgressError:
        raise FederationError(f"The identity provider {provider.name} could not be reached.", "server_error") from None
    if response.status != 200:
        error = _oauth_error(response) or f"HTTP {response.status}"
        raise FederationError(f"The identity provider {provider.name} refused the sign-in: {error}.")
    try:
        body = response.json()
    except ValueError:
        raise FederationError(f"The identity provider {provider.name} answered an unreadable token response.") from None
    if not isinstance(body, dict):
        raise FederationError(f"The identity provider {provider.name} answered an unreadable token response.")
    return body


def _oauth_error(response: egress.Fetched) -> str:
    """The RFC 6749 error code of a token endpoint's answer (nothing else of it is ever shown)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) and error in _OAUTH_ERRORS else ""


def _apple_client_secret(details: dict[str, str]) -> str:
    """Sign in with Apple's client secret: an ES256 JWT signed with the team's private key."""
    try:
        key = serialization.load_pem_private_key(details.get("private_key", "").encode(), password=None)
    except ValueError:
        raise FederationError("The Sign in with Apple private key is not a PEM key.") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FederationError("The Sign in with Apple private key must be an EC (P-256) key.")
    now = int(time.time())
    header = {"alg": "ES256", "kid": details.get("key_id", "")}
    claims = {
        "iss": details.get("team_id", ""),
        "iat": now,
        "exp": now + 300,
        "aud": "https://appleid.apple.com",
        "sub": details.get("client_id", ""),
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _user_info(
    policy: egress.Policy, provider: IdentityProvider, access_token: str, id_claims: dict[str, Any]
) -> dict[str, Any]:
    """The provider's userInfo answer, when it is the user's: a JSON object (JSON content type) and,
    for an OIDC provider, one whose ``sub`` is the verified ID token's (OpenID Connect Core §5.3.2:
    an ``attributes_url`` naming any other document must not land in the user's attributes and
    tokens). Anything else is ignored."""
    url = provider.details.get("attributes_url") or ""
    if not url or not access_token:
        return {}
    if provider.details.get("attributes_url_add_attributes") == "true" and provider.type == "Facebook":
        fields = [v for k, v in provider.attribute_mapping.items() if k != "username"] + ["id"]
        url = url + ",".join(dict.fromkeys(fields))
    method = "POST" if provider.details.get("attributes_request_method", "GET").upper() == "POST" else "GET"
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        response = policy.fetch(method, url, trusted=_trusted(provider), headers=headers)
    except egress.EgressError:
        raise FederationError(f"The identity provider {provider.name} could not be reached.", "server_error") from None
    if response.status != 200:
        raise FederationError(f"The identity provider {provider.name} refused the user info request.")
    if not response.is_json:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    if provider.type == "OIDC":
        subject = id_claims.get("sub")
        if not isinstance(subject, str) or not subject or body.get("sub") != subject:
            return {}
    if isinstance(body.get("profile"), dict) and provider.type == "LoginWithAmazon":
        return dict(body["profile"])
    return dict(body)


def oidc_identity(provider: IdentityProvider, code: str, trip: RoundTrip, policy: egress.Policy) -> ExternalIdentity:
    """Redeem the provider's code and check what it says about the user (every fetch under ``policy``)."""
    tokens = _token_request(policy, provider, code, trip)
    id_claims: dict[str, Any] = {}
    info: dict[str, Any] = {}
    id_token = tokens.get("id_token")
    if isinstance(id_token, str) and id_token:
        issuer = provider.details.get("oidc_issuer") or ""
        try:
            id_claims = oidc.verify(id_token, issuer, policy, trusted=_trusted(provider))
        except oidc.OidcError as err:
            raise FederationError(f"The identity provider's ID token was refused: {err}") from None
        if provider.details.get("client_id") not in oidc.audiences(id_claims):
            raise FederationError("The identity provider's ID token was issued to another client.")
        if provider.type in ("OIDC", "Google") and id_claims.get("nonce") != trip.nonce:
            raise FederationError("The identity provider's ID token does not answer this sign-in (nonce).")
    elif provider.type in ("OIDC", "Google", "SignInWithApple"):
        raise FederationError("The identity provider did not return an ID token.")
    if provider.type != "SignInWithApple":
        info = _user_info(policy, provider, str(tokens.get("access_token") or ""), id_claims)
        if id_claims.get("sub") and info.get("sub") and info.get("sub") != id_claims.get("sub"):
            raise FederationError("The identity provider's user info names another user.")
    claims = {**info, **id_claims}  # the ID token's word wins
    subject = claims.get(federated_users.user_id_claim(provider))
    if subject is None or subject == "":
        raise FederationError("The identity provider did not identify the user.")
    raw = {"tokenResponse": _strings(tokens), "idToken": _strings(id_claims), "userInfo": _strings(info)}
    return ExternalIdentity(provider=provider, subject=str(subject), claims=claims, issuer=None, raw=raw)


def _strings(values: dict[str, Any]) -> dict[str, str]:
    """A map of strings, as Lambda events carry provider data (JSON for structured values)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            out[str(key)] = value
        elif isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        else:
            out[str(key)] = json.dumps(value, separators=(",", ":"))
    return out


# --- coming back: SAML ---------------------------------------------------------------------------


def saml_identity(
    provider: IdentityProvider, pool_id: str, encoded: str, trip: RoundTrip | None, acs: str
) -> tuple[ExternalIdentity, saml.Assertion]:
    """The identity a SAML response asserts (``trip`` None: an unsolicited, IdP-initiated response).

    Every value checked or used comes from what the IdP signed (ostiary.federation.saml): the
    audience must be this pool, the bearer confirmation's Recipient (and a signed Response's
    Destination) this ACS, and InResponseTo the request of ``trip`` (none when unsolicited). Refusals
    are fixed sentences; the reason a signature or document was refused goes to the log only."""
    if not provider.metadata_xml:
        raise FederationError(f"The identity provider {provider.name} has no metadata.")
    try:
        metadata = saml.parse_metadata(provider.metadata_xml)
        assertion = saml.verify_response(encoded, metadata.certificates, dt.datetime.now(dt.UTC))
    except saml.SamlError as err:
        log.info("SAML response for pool %s provider %s refused: %s", pool_id, provider.name, err)
        raise FederationError("The SAML response was refused.") from None
    if assertion.issuer != metadata.entity_id:
        raise FederationError("The SAML assertion was issued by another identity provider.")
    if sp_entity_id(pool_id) not in assertion.audiences:
        raise FederationError("The SAML assertion is meant for another service provider (audience).")
    if assertion.recipient != acs or (assertion.destination is not None and assertion.destination != acs):
        raise FederationError("The SAML assertion is meant for another endpoint (recipient).")
    in_response_to = assertion.in_response_to or ""
    if trip is not None and in_response_to != trip.request_id:
        raise FederationError("The SAML response does not answer this sign-in request (InResponseTo).")
    if trip is None and in_response_to:
        raise FederationError("The SAML response answers a request this user pool did not send.")
    claims: dict[str, Any] = {name: values[0] for name, values in assertion.attributes.items() if values}
    raw = {"samlResponse": {name: ",".join(values) for name, values in assertion.attributes.items()}}
    identity = ExternalIdentity(
        provider=provider, subject=assertion.subject, claims=claims, issuer=metadata.entity_id, raw=raw
    )
    return identity, assertion


# --- finishing the sign-in -----------------------------------------------------------------------


def sign_in(runtime: Runtime, pool: PoolView, client: ClientView, identity: ExternalIdentity, source_ip: str) -> User:
    """The user pool user the identity signs in as, through the pool's rules and triggers."""
    ctx = service_context(runtime, pool, "InitiateAuth", source_ip)
    try:
        user = federated_users.sign_in(ctx, pool, client, identity)
        pre_authentication(ctx, pool, client, user, {"USERNAME": user.username})
        post_authentication(ctx, pool, client, user, new_device=False)
    except ServiceError as err:
        raise FederationError(err.message, "access_denied", 400) from None
    return user
