"""``GET /logout``: Cognito's two forms (``client_id`` + ``logout_uri``, or back to the sign-in page)
and OpenID Connect RP-Initiated Logout 1.0 (``id_token_hint``, ``post_logout_redirect_uri``,
``state``). Either way the SSO session ends and its cookie goes."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary.crypto import jwt
from ostiary.oauth import sso_sessions
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.oauth.domain_routing import Domain
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.context import Runtime
from ostiary.userpools import tokens
from ostiary.userpools.lookup import client_by_id


def logout(ui: Pages, request: Request) -> Response:
    """``/logout?client_id&logout_uri`` (signed out, back to the app), ``/logout?client_id&
    redirect_uri&response_type…`` (signed out, to the sign-in page), as Cognito has them; or
    OpenID Connect RP-Initiated Logout 1.0: ``id_token_hint``, ``post_logout_redirect_uri``,
    ``state``, ``client_id`` (signed out, back to the app with ``state``, or a signed-out page).
    Either way the address must be one of the app client's LogoutURLs, exactly."""
    domain = ui.domain(request)
    params = dict(request.query_params)
    if "logout_uri" not in params and ("post_logout_redirect_uri" in params or "id_token_hint" in params):
        return _rp_logout(ui, request, domain, params)
    with ui.runtime.store.read() as conn:
        client_id = params.get("client_id", "")
        client = client_by_id(conn, ui.runtime.box, client_id) if client_id else None
    if client is None or client.pool_id != domain.pool.id:
        raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
    logout_uri = params.get("logout_uri")
    if logout_uri is not None:
        if logout_uri not in (client.config.get("LogoutURLs") or []):
            raise ErrorPage(
                "Invalid request", "The logout_uri is not registered for this app client.", "redirect_mismatch"
            )
        target = logout_uri
    else:
        req = ui.parse_or_raise(domain, request)
        target = ui.url(request, domain, "login", req.query(), info="loggedout")
    return _signed_out(ui, request, domain, RedirectResponse(target, status_code=302))


def _signed_out(ui: Pages, request: Request, domain: Domain, response: Response) -> Response:
    """End the browser's SSO session and forget its cookie."""
    sso_sessions.end_sso(ui.runtime, request.cookies.get(sso_sessions.SSO_COOKIE))
    response.delete_cookie(sso_sessions.SSO_COOKIE, path=ui.base(request, domain) or "/")
    return response


def _rp_logout(ui: Pages, request: Request, domain: Domain, params: dict[str, str]) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0 §2-3: the client is ``client_id`` or the hint's
    audience (both: they must agree); the hint must be an ID token this pool issued (expired
    ones too, §2); ``post_logout_redirect_uri`` must be one of the client's LogoutURLs."""
    client_id = params.get("client_id") or None
    hint = params.get("id_token_hint")
    if hint is not None:
        audience = id_token_audience(ui.runtime, domain.pool.id, hint)
        if audience is None:
            raise ErrorPage(
                "Invalid request", "The id_token_hint is not an ID token of this user pool.", "invalid_request"
            )
        if client_id is not None and client_id != audience:
            raise ErrorPage(
                "Invalid request", "The id_token_hint was not issued to this app client.", "invalid_request"
            )
        client_id = audience
    if client_id is None:
        raise ErrorPage("Invalid request", "Name the app client with client_id or id_token_hint.", "invalid_request")
    with ui.runtime.store.read() as conn:
        client = client_by_id(conn, ui.runtime.box, client_id)
    if client is None or client.pool_id != domain.pool.id:
        raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
    target = params.get("post_logout_redirect_uri")
    if target is None:
        page = ui.render(request, domain, "signed_out.html", client=client)
        return _signed_out(ui, request, domain, page)
    if target not in (client.config.get("LogoutURLs") or []):
        raise ErrorPage(
            "Invalid request",
            "The post_logout_redirect_uri is not registered for this app client.",
            "redirect_mismatch",
        )
    state = params.get("state")
    if state is not None:
        target += ("&" if "?" in target else "?") + urlencode({"state": state})
    return _signed_out(ui, request, domain, RedirectResponse(target, status_code=302))


def id_token_audience(runtime: Runtime, pool_id: str, token: str) -> str | None:
    """The app client (``aud``) of an ID token signed by the pool's key with the pool's issuer,
    expired or not (an ``id_token_hint``, RP-Initiated Logout 1.0 §2); None for anything else."""
    try:
        kid = str(jwt.unverified_header(token).get("kid"))
        # now=0: the signature, not the expiry, decides (ID tokens carry no nbf)
        claims = jwt.verify(token, runtime.keys.public_keys(pool_id, kid), 0.0)
    except (jwt.TokenError, KeyError, ValueError):
        return None
    if claims.get("iss") != tokens.issuer(runtime.settings, pool_id) or claims.get("token_use") != "id":
        return None
    aud = claims.get("aud")
    return aud if isinstance(aud, str) and aud else None
