"""The OAuth 2.0 token, userInfo and revocation endpoints of a user pool domain:
``POST /oauth2/token`` (RFC 6749 §4.1.3, §4.4, §6; client_secret_basic and client_secret_post,
§2.3.1), ``GET|POST /oauth2/userInfo`` (OpenID Connect Core §5.3) and ``POST /oauth2/revoke``
(RFC 7009). Errors are RFC 6749 §5.2 JSON bodies, as Cognito answers them.

The token endpoint has one entrance, ``TokenEndpoint``: the front door (app.py) hands it
``/_domain/<domain>/oauth2/token`` without the router (it is the busiest endpoint); the others are
routes of the domain (``ostiary.oauth.hosted``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from ostiary.caching import TtlCache
from ostiary.crypto import jwt
from ostiary.oauth import pkce
from ostiary.oauth.codes import code_lineage_id, take_code
from ostiary.oauth.domain_routing import Domain, DomainResolver, token_endpoint_domain
from ostiary.oauth.service_calls import hosted_tokens, service_context
from ostiary.protocol.context import Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import cimd, client_tokens, directory, token_exchange, tokens, triggers
from ostiary.userpools.lookup import ClientView, client_by_id
from ostiary.userpools.resource_servers import custom_scopes
from ostiary.userpools.signin import refresh as signin_refresh

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
# App clients and a pool's custom scopes, per process for a few seconds (cache_token_client_seconds,
# 5 s): the token endpoint answers without a database read on its hot path. A changed or deleted
# client (or scope) takes effect within that time, like access keys.
_CACHE: TtlCache[str, Any] = TtlCache("token_clients", ttl=5)


class OAuthError(Exception):
    def __init__(self, error: str, description: str = "", status: int = 400, basic: bool = False) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.basic = error, description, status, basic

    def response(self) -> Response:
        body: dict[str, str] = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["www-authenticate"] = 'Basic realm="oauth2"' if self.basic else "Bearer"
        return JSONResponse(body, status_code=self.status, headers=headers)


def _form(request: Request, body: bytes) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    out: dict[str, str] = {}
    for pair in body.decode("utf-8", "replace").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        name = unquote_plus(key)
        if name in out:
            raise OAuthError("invalid_request", f"Parameter {name} is repeated")
        out[name] = unquote_plus(value)
    return out


def authenticate_client(runtime: Runtime, domain: Domain, request: Request, form: dict[str, str]) -> ClientView:
    """The calling client: HTTP Basic (client_secret_basic) or client_id/client_secret in the body
    (client_secret_post); a public client names itself with client_id. RFC 6749 §2.3.1, §3.2.1."""
    header = request.headers.get("authorization", "")
    basic = header[:6].lower() == "basic "
    secret: str | None
    if basic:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic credentials", 401, basic=True) from None
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "Malformed Basic credentials", 401, basic=True)
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form.get("client_id") and form["client_id"] != client_id:
            raise OAuthError("invalid_request", "client_id does not match the Basic credentials")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if not client_id:
        raise OAuthError("invalid_client", "Client authentication failed", 401, basic=basic)
    if cimd.is_client_url(client_id):  # a public client identified by its metadata document's URL
        if basic or secret:
            raise OAuthError("invalid_client", "The client has no secret", 401, basic=basic)
        try:
            return cimd.resolve(runtime, domain.pool, client_id)
        except cimd.CimdRefused:
            raise OAuthError("invalid_client", "Client authentication failed", 401) from None

    def load() -> ClientView | None:
        with runtime.store.read() as conn:
            return client_by_id(conn, runtime.box, client_id)

    client: ClientView | None = _CACHE.get_or_load("client:" + client_id, load)
    if client is None or client.pool_id != domain.pool.id:
        raise OAuthError("invalid_client", "Client authentication failed", 401, basic=basic)
    if client.secret is not None:
        if not secret or not any(hmac.compare_digest(secret.encode(), s.encode()) for s in client.secrets()):
            raise OAuthError("invalid_client", "Client authentication failed", 401, basic=basic)
    elif secret:
        raise OAuthError("invalid_client", "The client has no secret", 401, basic=basic)
    return client


def _token_response(result: dict[str, Any], with_refresh: bool) -> Response:
    body: dict[str, Any] = {}
    if "IdToken" in result:
        body["id_token"] = result["IdToken"]
    body["access_token"] = result["AccessToken"]
    if with_refresh and result.get("RefreshToken"):
        body["refresh_token"] = result["RefreshToken"]
    body["expires_in"] = result["ExpiresIn"]
    body["token_type"] = "Bearer"
    return JSONResponse(body, headers=NO_STORE)


def _code_grant(runtime: Runtime, domain: Domain, client: ClientView, form: dict[str, str]) -> Response:
    code = form.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    if "code" not in (client.config.get("AllowedOAuthFlows") or []):
        raise OAuthError("unauthorized_client", "The client is not allowed the authorization code grant")
    grant = take_code(runtime, code)
    now = dt.datetime.now(dt.UTC)
    owner = client.code_owner
    if grant is None or grant.client_id != owner or grant.pool_id != domain.pool.id or grant.expires_at <= now:
        raise OAuthError("invalid_grant", "Invalid authorization code")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if pkce.check(grant, form.get("code_verifier")) is not pkce.PkceCheck.OK:
        raise OAuthError("invalid_grant", "Invalid code_verifier")
    result = hosted_tokens(
        runtime,
        domain.pool,
        client,
        grant.user_id,
        grant.scopes,
        grant.nonce,
        grant.auth_time,
        grant.sso_session_id,
        lineage_id=code_lineage_id(runtime, code),
    )
    if result is None:
        raise OAuthError("invalid_grant", "User is disabled or no longer exists")
    # a CIMD client gets no refresh token: the lineage is its app client's (userpools/cimd.py)
    return _token_response(result, with_refresh=client.cimd_url is None)


def _refresh_grant(runtime: Runtime, domain: Domain, client: ClientView, form: dict[str, str], ip: str) -> Response:
    token = form.get("refresh_token")
    if not token:
        raise OAuthError("invalid_request", "refresh_token is required")
    if client.cimd_url is not None:
        raise OAuthError("unauthorized_client", "The client is not allowed the refresh token grant")
    ctx = service_context(runtime, domain.pool, "RefreshToken", ip)
    try:
        result = signin_refresh.refresh(ctx, domain.pool, client, token, ctx.now)
    except ServiceError as err:
        raise OAuthError("invalid_grant", err.message) from None
    return _token_response(result, with_refresh=True)


def _custom_scopes(runtime: Runtime, pool_id: str) -> set[str]:
    def load() -> set[str]:
        with runtime.store.read() as conn:
            return set(custom_scopes(conn, pool_id))

    found: set[str] = _CACHE.get_or_load("scopes:" + pool_id, load)
    return found


def _client_credentials(runtime: Runtime, domain: Domain, client: ClientView, form: dict[str, str]) -> Response:
    """RFC 6749 §4.4: an access token for the client itself, with custom scopes only."""
    if client.secret is None:
        raise OAuthError("invalid_client", "client_credentials needs a client secret", 401)
    if not client_tokens.m2m_allowed(client):
        raise OAuthError("unauthorized_client", "The client is not allowed the client_credentials grant")
    allowed = client_tokens.allowed_scopes(client, _custom_scopes(runtime, domain.pool.id))
    requested = form.get("scope", "").split() or allowed
    if not requested or any(s not in allowed for s in requested):
        raise OAuthError("invalid_scope", "A requested scope is not allowed for this client")
    metadata = _client_metadata(form.get("aws_client_metadata"))
    access, validity = client_tokens.mint(runtime.keys, runtime.settings, domain.pool, client, requested, metadata)
    return JSONResponse({"access_token": access, "expires_in": validity, "token_type": "Bearer"}, headers=NO_STORE)


def _token_exchange(runtime: Runtime, domain: Domain, client: ClientView, form: dict[str, str], ip: str) -> Response:
    """RFC 8693 §2: the token exchange grant, as GetDerivedToken (userpools/token_exchange.py);
    ``audience`` and ``resource`` once each (the API takes one of either)."""
    subject = form.get("subject_token")
    subject_type = form.get("subject_token_type", "")
    if not subject or not subject_type:
        raise OAuthError("invalid_request", "subject_token and subject_token_type are required")
    actor, actor_type = form.get("actor_token"), form.get("actor_token_type")
    if (actor is None) != (actor_type is None):
        raise OAuthError("invalid_request", "actor_token and actor_token_type go together")
    requested = form.get("requested_token_type") or token_exchange.TYPE_URNS["ACCESS_TOKEN"]

    def kind(urn: str | None, name: str) -> str | None:
        if urn is None:
            return None
        if urn not in token_exchange.URN_TYPES:
            raise OAuthError("invalid_request", f"Unsupported {name}")
        return token_exchange.URN_TYPES[urn]

    request = token_exchange.Exchange(
        subject_token=subject,
        subject_type=kind(subject_type, "subject_token_type") or "",
        actor_token=actor,
        actor_type=kind(actor_type, "actor_token_type"),
        scopes=tuple(form["scope"].split()) if form.get("scope") else None,
        audience=form.get("audience") or None,
        resource=form.get("resource") or None,
        requested_type=kind(requested, "requested_token_type") or "",
    )
    ctx = service_context(runtime, domain.pool, "GetDerivedToken", ip)
    try:
        issued = token_exchange.exchange(ctx, domain.pool, client, request)
    except token_exchange.ExchangeError as err:
        raise OAuthError(err.oauth_error, err.error.message) from None
    body: dict[str, Any] = {
        "access_token": issued.token,
        "issued_token_type": token_exchange.TYPE_URNS[issued.token_type],
        "token_type": "Bearer" if issued.token_type == "ACCESS_TOKEN" else "N_A",
        "expires_in": issued.expires_in,
    }
    if issued.token_type == "ACCESS_TOKEN":
        body["scope"] = " ".join(issued.scopes)
    return JSONResponse(body, headers=NO_STORE)


def _client_metadata(value: str | None) -> dict[str, str]:
    """``aws_client_metadata``: a JSON object of strings for the pre token generation trigger."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        raise OAuthError("invalid_request", "aws_client_metadata must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise OAuthError("invalid_request", "aws_client_metadata must be a JSON object")
    return {str(k): str(v) for k, v in parsed.items()}


def token(runtime: Runtime, domain: Domain, request: Request, body: bytes) -> Response:
    try:
        form = _form(request, body)
        client = authenticate_client(runtime, domain, request, form)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return _code_grant(runtime, domain, client, form)
        if grant_type == "refresh_token":
            ip = request.client.host if request.client else ""
            return _refresh_grant(runtime, domain, client, form, ip)
        if grant_type == "client_credentials":
            return _client_credentials(runtime, domain, client, form)
        if grant_type == TOKEN_EXCHANGE:
            ip = request.client.host if request.client else ""
            return _token_exchange(runtime, domain, client, form, ip)
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type}")
    except OAuthError as err:
        return err.response()
    except ServiceError as err:  # a Lambda trigger refused or failed
        return OAuthError("invalid_request", err.message).response()


# --- userInfo ------------------------------------------------------------------------------------

_EMAIL = ("email", "email_verified")
_PHONE = ("phone_number", "phone_number_verified")


def user_info(runtime: Runtime, domain: Domain, request: Request) -> Response:
    """The signed-in user's claims for an access token with the ``openid`` scope (or the
    ``aws.cognito.signin.user.admin`` scope); which attributes depends on the token's scopes."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return Response(
            status_code=401,
            headers={"www-authenticate": 'Bearer error="invalid_request", error_description="Missing access token"'},
        )
    access_token = header[7:].strip()
    now = dt.datetime.now(dt.UTC)
    invalid = Response(
        status_code=401,
        headers={
            "www-authenticate": 'Bearer error="invalid_token", error_description="Access token is expired, disabled, '
            'or deleted, or the user has globally signed out."'
        },
    )
    try:
        if tokens.pool_id_of(access_token) != domain.pool.id:
            return invalid
        with runtime.store.read() as conn:
            try:
                context = tokens.check_access_token(conn, runtime.keys, runtime.settings, access_token, now, "openid")
            except ServiceError:
                context = tokens.check_access_token(conn, runtime.keys, runtime.settings, access_token, now)
            user = directory.get_by_id(conn, domain.pool, context.user_id)
    except (ServiceError, jwt.TokenError, ValueError):
        return invalid
    if user is None or not user.enabled:
        return invalid
    scopes = set(str(context.claims.get("scope", "")).split())
    everything = "profile" in scopes or "aws.cognito.signin.user.admin" in scopes
    out: dict[str, Any] = {"sub": user.id}
    for name, value in user.attributes.items():
        if name == "sub" or name.startswith("dev:"):
            continue
        if everything or (name in _EMAIL and "email" in scopes) or (name in _PHONE and "phone" in scopes):
            out[name] = value
    out["username"] = user.username
    return JSONResponse(out, headers=NO_STORE)


# --- revocation ----------------------------------------------------------------------------------


def revoke(runtime: Runtime, domain: Domain, request: Request, body: bytes) -> Response:
    """RFC 7009: revoke a refresh token (and the access tokens issued from it). An unknown token
    is not an error."""
    try:
        form = _form(request, body)
        client = authenticate_client(runtime, domain, request, form)
        value = form.get("token")
        if not value:
            raise OAuthError("invalid_request", "token is required")
        if client.config.get("EnableTokenRevocation") is False:
            raise OAuthError("invalid_request", "Token revocation is not enabled for this client")
        if form.get("token_type_hint") not in (None, "", "refresh_token"):
            raise OAuthError("unsupported_token_type", "Only refresh tokens can be revoked")
        now = dt.datetime.now(dt.UTC)
        with runtime.store.tx() as conn:
            lineage = tokens.find_lineage(conn, domain.pool.id, value)
            # a CIMD client holds no refresh token: it revokes none of its app client's
            if lineage is not None and lineage.client_id == client.id and client.cimd_url is None:
                tokens.revoke_lineage(conn, lineage.id, now)
        return Response(status_code=200, headers=NO_STORE)
    except OAuthError as err:
        return err.response()


# --- serving -------------------------------------------------------------------------------------

FormHandler = Callable[[Runtime, Domain, Request, bytes], Response]


async def serve_form(
    runtime: Runtime, domain: Domain | None, handler: FormHandler, request: Request, body: bytes
) -> Response:
    """A form-posting endpoint (token, revocation): short and CPU-light (cached lookups, one
    signature), so inline like most API calls; off the event loop when a Lambda trigger (pre token
    generation) may run."""
    if domain is None:
        return OAuthError("invalid_request", "Unknown domain", 404).response()
    if triggers.offload(body):
        return await to_thread.run_sync(handler, runtime, domain, request, body)
    return handler(runtime, domain, request, body)


class TokenEndpoint:
    """``POST /_domain/<domain>/oauth2/token``, the token endpoint's one entrance: the front door
    calls it for that path (``domain_routing.token_endpoint_domain``), without the router and middleware."""

    def __init__(self, runtime: Runtime, domains: DomainResolver) -> None:
        self.runtime = runtime
        self.domains = domains

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if scope["method"] != "POST":  # as the router answers a route's other methods
            response: Response = PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "POST"})
        else:
            body = await request.body()
            domain = self.domains.get(token_endpoint_domain(scope["path"]) or "")
            response = await serve_form(self.runtime, domain, token, request, body)
        await response(scope, receive, send)
