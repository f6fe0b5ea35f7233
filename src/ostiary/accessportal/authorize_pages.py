"""``/authorize``: the authorization-code page that ``aws sso login`` (AWS CLI v2, ``SSOTokenFetcherAuth``)
opens in the browser, at ``<sso-oidc endpoint>/authorize``:

``GET /authorize?response_type=code&client_id=…&redirect_uri=http://127.0.0.1:<port>/oauth/callback
&state=<uuid>&code_challenge_method=S256&scopes=sso:account:access&code_challenge=…``

The client was registered (RegisterClient) with the grant types ``authorization_code`` and
``refresh_token``, its redirect URI and ``issuerUrl`` = the start URL, which names the identity store.
The page checks the request with sso-oidc (``codes.check_authorize``: the client, its redirect URI,
the scopes), signs the user in to that store's portal if needed, asks for consent, then redirects to the
redirect URI with ``code`` and ``state`` (``codes.issue_code``, bound to the PKCE challenge) or with
``error=access_denied``. A request whose client or redirect URI is not valid gets an error page, never a
redirect (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ostiary.accessportal import session, urls
from ostiary.accessportal.pages import Portal
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.protocol.errors import ServiceError
from ostiary.ssooidc import codes

PATH = "/authorize"
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(sha256), unpadded
PARAMS = ("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scopes")
MAX_PARAM = 2048


def _params(source: dict[str, str]) -> dict[str, str]:
    return {name: str(source.get(name, ""))[:MAX_PARAM] for name in PARAMS}


def _invalid(message: str) -> ErrorPage:
    return ErrorPage("Invalid request", message, "invalid_request", 400)


def _check(portal: Portal, params: dict[str, str], now: dt.datetime) -> tuple[str, str, list[str]]:
    """(identity store id, client name, scopes) of a valid request; ErrorPage otherwise."""
    if params["response_type"] != "code":
        raise _invalid("Only the authorization code flow (response_type=code) is supported.")
    if params["code_challenge_method"] != "S256" or not CHALLENGE.match(params["code_challenge"]):
        raise _invalid("A PKCE code challenge (S256) is required.")
    if not params["client_id"] or not params["redirect_uri"]:
        raise _invalid("The request names no client or no redirect URI.")
    scopes = [s for s in params["scopes"].replace(",", " ").split() if s]
    try:
        with portal.runtime.store.read() as conn:
            client = codes.check_authorize(conn, params["client_id"], params["redirect_uri"], scopes, now)
    except ServiceError as err:
        raise ErrorPage(
            "Invalid request", err.message or "The client or its redirect URI is not valid.", err.code
        ) from None
    store_id = urls.identity_store_of(str(client.get("issuer_url") or ""))
    if store_id is None:
        raise _invalid("The client was not registered for an AWS access portal (its issuerUrl is not a start URL).")
    return store_id, str(client.get("client_name") or params["client_id"]), scopes


def _redirect(redirect_uri: str, **query: str) -> Response:
    joiner = "&" if "?" in redirect_uri else "?"
    return Portal.redirect(redirect_uri + joiner + urlencode({k: v for k, v in query.items() if v}))


def authorize(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    now = dt.datetime.now(dt.UTC)
    params = _params(form if form is not None else dict(request.query_params))
    store_id, client_name, scopes = _check(portal, params, now)
    portal.instance(store_id)
    signed = session.current(portal, request, store_id)
    if signed is None:
        here = f"{PATH}?{urlencode(params)}"
        return portal.redirect(portal.sign_in_url(store_id, here))
    if form is None:
        return portal.render(
            request,
            "consent.html",
            form="authorize",
            action_url=PATH,
            client_name=client_name,
            user_name=signed.user_name,
            scopes=scopes,
            hidden=list(params.items()),
        )
    portal.check_csrf(request, form, "authorize")
    if form.get("decision") != "allow":
        return _redirect(params["redirect_uri"], error="access_denied", state=params["state"])
    with portal.runtime.store.tx() as conn:
        code = codes.issue_code(
            conn,
            params["client_id"],
            params["redirect_uri"],
            params["code_challenge"],
            params["code_challenge_method"],
            scopes,
            store_id,
            signed.user_id,
            now,
        )
    return _redirect(params["redirect_uri"], code=code, state=params["state"])
