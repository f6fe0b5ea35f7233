"""``GET /oauth2/authorize`` (RFC 6749 §4.1.1, §4.2.1; PKCE RFC 7636; OpenID Connect Core §3.1.2):
to the chosen identity provider, through the SSO session, or to the sign-in page; and how every
sign-in ends (``complete``): the client's redirect URI with a code or, implicit flow, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary.oauth import codes, idp_signin, service_calls, sso_sessions
from ostiary.oauth.authorize_request import AuthorizeRequest, redirect_with
from ostiary.oauth.domain_routing import Domain
from ostiary.oauth.hosted.render import Pages
from ostiary.userpools.identity_providers import IdentityProvider


def complete(ui: Pages, req: AuthorizeRequest, user_id: str, auth_time: dt.datetime) -> str:
    """Where the browser goes once the user is signed in: the client's redirect URI with a code
    (code flow) or tokens (implicit flow)."""
    if req.response_type == "code":
        code = codes.new_code(ui.runtime, req, user_id, auth_time)
        return redirect_with(req.redirect_uri, "code", {"code": code, "state": req.state})
    result = service_calls.hosted_tokens(
        ui.runtime, req.pool, req.client, user_id, req.scopes, req.nonce, auth_time, req.sso_session_id
    )
    if result is None:
        return req.error_redirect("access_denied", "User is disabled")
    values: dict[str, Any] = {"access_token": result["AccessToken"]}
    if "IdToken" in result:
        values["id_token"] = result["IdToken"]
    values.update(token_type="Bearer", expires_in=result["ExpiresIn"], state=req.state)
    return redirect_with(req.redirect_uri, "token", values)


def authorize(ui: Pages, request: Request) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_redirect(domain, dict(request.query_params))
    if isinstance(req, Response):
        return req
    provider = idp_signin.chosen_provider(ui.runtime, req)
    if provider is not None and req.raw.get("identity_provider") and req.prompt != "none":
        # an explicit provider: always its sign-in (Cognito's behaviour), SSO cookie or not
        return RedirectResponse(to_provider(ui, request, domain, req, provider), status_code=302)
    session = sso_sessions.find_sso(ui.runtime, domain.pool.id, request.cookies.get(sso_sessions.SSO_COOKIE), req)
    if session is not None and req.prompt != "login":
        return RedirectResponse(complete(ui, req, session.user_id, session.auth_time), status_code=302)
    if req.prompt == "none":
        return RedirectResponse(req.error_redirect("login_required", "The user is not signed in"), 302)
    if provider is not None:
        return RedirectResponse(to_provider(ui, request, domain, req, provider), status_code=302)
    return RedirectResponse(ui.url(request, domain, "login", req.query()), status_code=302)


def to_provider(ui: Pages, request: Request, domain: Domain, req: AuthorizeRequest, provider: IdentityProvider) -> str:
    return idp_signin.provider_redirect(ui.runtime, req, provider, ui.domain_url(request, domain))


def provider_buttons(ui: Pages, request: Request, domain: Domain, req: AuthorizeRequest) -> list[dict[str, str]]:
    buttons = []
    for provider in idp_signin.external_providers(ui.runtime, domain.pool, req.client):
        query = dict(parse_qsl(req.query()))
        query["identity_provider"] = provider.name
        buttons.append(
            {
                "name": provider.name,
                "type": provider.type,
                "url": f"{ui.base(request, domain)}/oauth2/authorize?{urlencode(query)}",
            }
        )
    return buttons
