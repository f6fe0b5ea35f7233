"""The access portal's routes, mounted by app.py (``routes(runtime)``):

- ``/start/static/{hosted,portal}.css``: the hosted UI's stylesheet and the portal's;
- ``/start/device``: the device-code approval page (``device_pages``);
- ``/authorize``: the authorization-code page ``aws sso login`` opens (``authorize_pages``);
- ``/start/<identity store id>``: sign-in, then the home page; ``…/signin``, ``…/mfa``, ``…/new-password``,
  ``…/mfa-setup``, ``…/invitation``, ``…/forgot``, ``…/federation/{acs,metadata}`` (an external SAML
  IdP) (``signin_pages``); ``…/credentials``, ``…/signout`` (``home``).

Handlers run in a worker thread (database, Argon2); every POST of the portal's own forms carries a CSRF
token (the external IdP's post to ``…/federation/acs`` is bound by its sealed RelayState instead); an
``ErrorPage`` raised anywhere becomes the portal's readable error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from ostiary.accessportal import authorize_pages, device_pages, home, session, signin_pages, urls
from ostiary.accessportal.pages import Portal
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.protocol.context import Runtime

STYLESHEETS = {
    "hosted.css": Path(__file__).parent.parent / "oauth" / "static" / "hosted.css",
    "portal.css": Path(__file__).parent / "static" / "portal.css",
}
MAX_FORM_BYTES = 16 * 1024

Handler = Callable[[Portal, Request, dict[str, str] | None], Response]


def _credentials(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    store_id = request.path_params["store_id"]
    portal.instance(store_id)
    signed = session.current(portal, request, store_id)
    if signed is None:
        return portal.redirect(portal.sign_in_url(store_id, portal.home_path(store_id)))
    return home.credentials_post(portal, request, form or {}, signed)


def _signout(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    portal.instance(request.path_params["store_id"])
    return home.signout(portal, request, form or {})


def _posted(handler: Callable[[Portal, Request, dict[str, str]], Response]) -> Handler:
    return lambda p, r, f: handler(p, r, f or {})


def routes(runtime: Runtime) -> list[BaseRoute]:
    portal = Portal(runtime)

    def guard(handler: Handler, request: Request, form: dict[str, str] | None) -> Response:
        try:
            return handler(portal, request, form)
        except ErrorPage as err:
            return portal.error_page(request, err)

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form: dict[str, str] | None = None
            if request.method == "POST":
                body = await request.body()
                if len(body) > MAX_FORM_BYTES:
                    return Response("Form too large", status_code=413, media_type="text/plain")
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return await to_thread.run_sync(guard, handler, request, form)

        return endpoint

    async def stylesheet(request: Request) -> Response:
        path = STYLESHEETS.get(request.path_params["name"])
        if path is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(path, media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    store = urls.PREFIX + "/{store_id}"
    return [
        Route(urls.PREFIX + "/static/{name}", stylesheet, methods=["GET"]),
        Route(urls.DEVICE_PATH, page(device_pages.device_page), methods=["GET", "POST"]),
        Route(authorize_pages.PATH, page(authorize_pages.authorize), methods=["GET", "POST"]),
        Route(store, page(signin_pages.start), methods=["GET"]),
        Route(store + "/signin", page(_posted(signin_pages.signin_post)), methods=["POST"]),
        Route(store + "/mfa", page(_posted(signin_pages.mfa_post)), methods=["POST"]),
        Route(store + "/new-password", page(_posted(signin_pages.new_password_post)), methods=["POST"]),
        Route(store + "/mfa-setup", page(signin_pages.mfa_setup), methods=["GET", "POST"]),
        Route(store + "/invitation", page(signin_pages.invitation), methods=["GET", "POST"]),
        Route(store + "/forgot", page(signin_pages.forgot), methods=["GET", "POST"]),
        Route(store + "/federation/acs", page(_posted(signin_pages.federation_acs)), methods=["POST"]),
        Route(store + "/federation/metadata", page(signin_pages.federation_metadata), methods=["GET"]),
        Route(store + "/credentials", page(_credentials), methods=["POST"]),
        Route(store + "/signout", page(_signout), methods=["POST"]),
    ]
