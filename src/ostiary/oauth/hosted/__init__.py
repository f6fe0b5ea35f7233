"""The hosted sign-in UI and the browser-facing OAuth endpoints of a user pool domain, as Cognito's
managed login serves them; one module per page or endpoint group (authentik's
``providers/oauth2/views/`` is the model), wired here by ``HostedUI.routes``:

- ``render``: what every page shares (``Pages``: domain, authorization request, templates, branding,
  security headers, CSRF, the error page); ``forms``: labels, password rules, attribute fields;
- ``authorize``: ``GET /oauth2/authorize`` and how a sign-in ends (code or tokens to the client);
- ``login``: ``/login``, ``/newPassword``, ``/mfa``;
- ``signup``: ``/signup``, ``/confirmUser``; ``forgot``: ``/forgotPassword``, ``/confirmForgotPassword``;
- ``idp_callbacks``: ``/oauth2/idpresponse``, ``/saml2/idpresponse`` (external identity providers);
- ``logout``: ``GET /logout`` (Cognito's and RP-Initiated Logout 1.0).

The domain's API endpoints (``/oauth2/userInfo``, ``/oauth2/revoke``, JWKS) are mounted here from
``ostiary.oauth.endpoints``; ``POST /oauth2/token`` has one entrance, ``endpoints.TokenEndpoint``,
which the front door (app.py) calls without the router.

The pages call the same service functions as the API (SignUp, ConfirmSignUp, ForgotPassword, the
password sign-in of InitiateAuth…), so rules, messages, lockout and codes are the same. A
single-sign-on cookie (``cognito``, one hour) lets another client of the same domain sign in
without the password. Every form carries a CSRF token; pages forbid framing and inline scripts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ostiary.oauth import endpoints
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.oauth.domain_routing import PATH_PREFIX, DomainResolver
from ostiary.oauth.hosted import authorize, forgot, idp_callbacks, login, logout, signup
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.context import Runtime

STATIC = Path(__file__).parent.parent / "static"

PageHandler = Callable[[Pages, Request, dict[str, str] | None], Response]


def _error(ui: Pages, request: Request) -> Response:
    """``/error``: the error page Cognito sends browsers to."""
    ui.domain(request)
    raise ErrorPage(
        "Something went wrong",
        request.query_params.get("error_description", "An error occurred."),
        request.query_params.get("error", "error"),
    )


class HostedUI:
    """The routes of a user pool domain (``/_domain/<domain>/…``; a domain host is rewritten to that
    path by the front door)."""

    def __init__(self, runtime: Runtime, domains: DomainResolver) -> None:
        self.runtime = runtime
        self.domains = domains
        self.pages = Pages(runtime, domains)

    def routes(self) -> list[BaseRoute]:
        def page(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                form: dict[str, str] | None = None
                if request.method == "POST":
                    body = await request.body()
                    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                return await to_thread.run_sync(self._guard, handler, request, form)

            return endpoint

        def plain(handler: Callable[[Pages, Request], Response]) -> Callable[[Request], Awaitable[Response]]:
            return page(lambda u, r, _f: handler(u, r))

        def posted(
            handler: Callable[[Pages, Request, dict[str, str]], Response],
        ) -> Callable[[Request], Awaitable[Response]]:
            return page(lambda u, r, f: handler(u, r, f or {}))

        async def revoke(request: Request) -> Response:
            # short and CPU-light (cached lookups, one signature): inline, like most API calls
            body = await request.body()
            domain = self.domains.get(request.path_params["domain"])
            return await endpoints.serve_form(self.runtime, domain, endpoints.revoke, request, body)

        async def user_info(request: Request) -> Response:
            domain = await to_thread.run_sync(self.domains.get, request.path_params["domain"])
            if domain is None:
                return Response(status_code=404)
            return await to_thread.run_sync(endpoints.user_info, self.runtime, domain, request)

        async def jwks(request: Request) -> Response:
            """The pool's keys on its domain too (``https://<domain>/.well-known/jwks.json``, as
            Cognito's domains serve them)."""
            domain = await to_thread.run_sync(self.domains.get, request.path_params["domain"])
            if domain is None:
                return JSONResponse({"message": "Unknown domain"}, status_code=404)
            keys = await to_thread.run_sync(self.runtime.keys.jwks, domain.pool.id)
            return JSONResponse(keys, headers={"cache-control": "public, max-age=300"})

        async def stylesheet(_: Request) -> Response:
            return FileResponse(
                STATIC / "hosted.css", media_type="text/css", headers={"cache-control": "public, max-age=3600"}
            )

        domain_routes = [
            Route("/oauth2/authorize", plain(authorize.authorize), methods=["GET"]),
            # POST /oauth2/token: endpoints.TokenEndpoint, called by the front door (its one entrance)
            Route("/oauth2/userInfo", user_info, methods=["GET", "POST"]),
            Route("/oauth2/revoke", revoke, methods=["POST"]),
            Route("/oauth2/idpresponse", page(idp_callbacks.idp_response), methods=["GET", "POST"]),
            Route("/saml2/idpresponse", page(idp_callbacks.saml_response), methods=["POST"]),
            Route("/login", page(login.login), methods=["GET", "POST"]),
            Route("/signup", page(signup.signup), methods=["GET", "POST"]),
            Route("/confirmUser", page(signup.confirm), methods=["GET", "POST"]),
            Route("/forgotPassword", page(forgot.forgot), methods=["GET", "POST"]),
            Route("/confirmForgotPassword", page(forgot.confirm_forgot), methods=["GET", "POST"]),
            Route("/newPassword", posted(login.new_password), methods=["POST"]),
            Route("/mfa", posted(login.mfa), methods=["POST"]),
            Route("/logout", plain(logout.logout), methods=["GET"]),
            Route("/error", plain(_error), methods=["GET"]),
            Route("/static/hosted.css", stylesheet, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        ]
        return [Mount(PATH_PREFIX.rstrip("/") + "/{domain}", routes=domain_routes)]

    def _guard(self, handler: PageHandler, request: Request, form: dict[str, str] | None) -> Response:
        try:
            return handler(self.pages, request, form)
        except ErrorPage as err:
            try:
                domain = self.domains.get(request.path_params["domain"])
            except KeyError:
                domain = None
            return self.pages.error_page(request, domain, err)
