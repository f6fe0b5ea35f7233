"""The authorization request and its checks (RFC 6749 §4.1.1, §4.2.1, §3.1.2.4; PKCE parameters
RFC 7636 §4.3), and the two ways it fails: an error page (unknown client, unregistered redirect URI)
or an error sent to the client's redirect URI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ostiary.protocol.context import Runtime
from ostiary.userpools import cimd
from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import ClientView, client_by_id

AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "identity_provider",
    "idp_identifier",
    "prompt",
    "lang",
)


class ErrorPage(Exception):
    """An authorization request that must not redirect (unknown client, unregistered redirect URI):
    the user sees an error page instead (RFC 6749 §4.1.2.1)."""

    def __init__(self, title: str, message: str, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.title, self.message, self.code, self.status = title, message, code, status


class RedirectError(Exception):
    """An authorization error reported to the client at its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description
        self.request: AuthorizeRequest | None = None  # set once the redirect URI is known to be good


@dataclass
class AuthorizeRequest:
    """A validated authorization request."""

    pool: PoolView
    client: ClientView
    redirect_uri: str
    response_type: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: str | None
    raw: dict[str, str] = field(default_factory=dict)
    sso_session_id: str | None = None  # the (tracked) SSO session that signed the user in

    def query(self) -> str:
        """The original parameters, carried from page to page (as Cognito's /login URLs do)."""
        return urlencode({k: v for k, v in self.raw.items() if k in AUTHORIZE_PARAMS and v})

    def error_redirect(self, error: str, description: str) -> str:
        values = {"error": error, "error_description": description, "state": self.state}
        return redirect_with(self.redirect_uri, self.response_type, values)


def redirect_with(uri: str, response_type: str, values: dict[str, Any]) -> str:
    """``uri`` with ``values`` in its query (code flow) or fragment (implicit flow)."""
    clean = {k: str(v) for k, v in values.items() if v is not None}
    if response_type == "token":
        return f"{uri}#{urlencode(clean)}"
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(clean)}"


def client_scopes(client: ClientView) -> list[str]:
    return list(client.config.get("AllowedOAuthScopes") or [])


def parse_authorize(runtime: Runtime, pool: PoolView, params: dict[str, str]) -> AuthorizeRequest:
    """Check an authorization request. Problems with the client or redirect URI raise ErrorPage
    (never a redirect to an unregistered URI); the others raise RedirectError."""
    client_id = params.get("client_id") or ""
    if cimd.is_client_url(client_id):  # a client ID metadata document's client (userpools/cimd.py)
        try:
            client: ClientView | None = cimd.resolve(runtime, pool, client_id)
        except cimd.CimdRefused as err:
            raise ErrorPage("Invalid request", f"The client is not accepted: {err}.", "invalid_client") from None
    else:
        with runtime.store.read() as conn:
            client = client_by_id(conn, runtime.box, client_id) if client_id else None
    if client is None or client.pool_id != pool.id:
        raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
    redirect_uri = params.get("redirect_uri") or client.config.get("DefaultRedirectURI") or ""
    if not redirect_uri or redirect_uri not in (client.config.get("CallbackURLs") or []):
        raise ErrorPage(
            "Invalid request", "The redirect_uri is not registered for this app client.", "redirect_mismatch"
        )
    response_type = params.get("response_type") or ""
    request = AuthorizeRequest(
        pool=pool,
        client=client,
        redirect_uri=redirect_uri,
        response_type=response_type,
        scopes=[],
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"),
        prompt=params.get("prompt"),
        raw={k: v for k, v in params.items() if k in AUTHORIZE_PARAMS},
    )
    try:
        _check_request(request, client, params)
    except RedirectError as err:
        err.request = request
        raise
    return request


_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.2


def _check_request(request: AuthorizeRequest, client: ClientView, params: dict[str, str]) -> None:
    response_type = request.response_type
    if response_type not in ("code", "token"):
        request.response_type = "code"  # report the error in the query string
        raise RedirectError("unsupported_response_type", "response_type must be code or token")
    flows = client.config.get("AllowedOAuthFlows") or []
    flow = "code" if response_type == "code" else "implicit"
    if not client.config.get("AllowedOAuthFlowsUserPoolClient") or flow not in flows:
        raise RedirectError("unauthorized_client", f"The client is not allowed the {flow} flow")
    allowed = client_scopes(client)
    requested = (params.get("scope") or "").split()
    if not requested:
        requested = allowed
    if any(s not in allowed for s in requested):
        raise RedirectError("invalid_scope", "A requested scope is not allowed for this client")
    request.scopes = list(dict.fromkeys(requested))
    if request.code_challenge:
        # Amazon Cognito supports only S256; a challenge without a method would be plain (RFC 7636
        # §4.3), which lets anyone who sees the authorization request redeem the code.
        if request.code_challenge_method != "S256":
            raise RedirectError("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE.fullmatch(request.code_challenge):
            raise RedirectError("invalid_request", "code_challenge must be 43 to 128 unreserved characters")
    elif request.code_challenge_method:
        raise RedirectError("invalid_request", "code_challenge is required with code_challenge_method")
    elif client.cimd_url is not None:  # a public client identified by a URL: PKCE or nothing
        raise RedirectError("invalid_request", "code_challenge is required for this client")
    provider = params.get("identity_provider")
    supported = client.config.get("SupportedIdentityProviders") or []
    if provider and provider not in supported:
        raise RedirectError("invalid_request", f"Identity provider {provider} is not configured for this client")
    # external providers (and idp_identifier) are resolved by ostiary.oauth.idp_signin
