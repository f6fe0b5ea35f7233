"""What every hosted page shares (``Pages``): the domain a request is for, the authorization request
carried from page to page, rendering (Jinja templates, the pool's or client's branding), the
security headers (no framing, no inline scripts), CSRF tokens and the error page."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ostiary.oauth import csrf
from ostiary.oauth.authorize_request import AuthorizeRequest, ErrorPage, RedirectError, parse_authorize
from ostiary.oauth.domain_routing import PATH_PREFIX, Domain, DomainResolver
from ostiary.oauth.service_calls import service_context
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.userpools import managed_login, pool_gate, ui_customization
from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import ClientView

TEMPLATES = Path(__file__).parent.parent / "templates"


class Pages:
    """The hosted pages' shared state (runtime, domains, templates, CSRF key) and plumbing; each page
    module's handlers take it as their first argument."""

    def __init__(self, runtime: Runtime, domains: DomainResolver) -> None:
        self.runtime = runtime
        self.domains = domains
        loaders: list[jinja2.BaseLoader] = []
        if runtime.settings.hosted_ui_templates:
            loaders.append(jinja2.FileSystemLoader(runtime.settings.hosted_ui_templates))
        loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
        self.env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True)
        self.csrf_key = runtime.box.mac_key("hosted-ui-csrf")

    @staticmethod
    def base(request: Request, domain: Domain) -> str:
        """The path the domain's pages live under: ``""`` when reached by its own host name."""
        return "" if request.scope.get("ostiary.domain_host") else f"{PATH_PREFIX}{domain.name}"

    @staticmethod
    def secure(request: Request) -> bool:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        return proto == "https"

    @staticmethod
    def headers(nonce: str) -> dict[str, str]:
        return {
            "content-security-policy": (
                f"default-src 'none'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
                "base-uri 'none'; frame-ancestors 'none'"
            ),
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
        }

    @staticmethod
    def _csrf_cookie(request: Request) -> tuple[str, bool]:
        value = request.cookies.get(csrf.CSRF_COOKIE)
        if value and 20 <= len(value) <= 100:
            return value, False
        return secrets.token_urlsafe(32), True

    def _customization(self, pool: PoolView, client: ClientView | None) -> tuple[str | None, bool]:
        with self.runtime.store.read() as conn:
            found: tuple[str | None, bool] = ui_customization.effective_customization(
                conn, pool.id, client.id if client else "ALL"
            )
            return found

    def render(
        self,
        request: Request,
        domain: Domain,
        template: str,
        *,
        client: ClientView | None = None,
        status: int = 200,
        form: str = "",
        **context: Any,
    ) -> Response:
        base = self.base(request, domain)
        nonce = secrets.token_urlsafe(16)
        cookie, fresh = self._csrf_cookie(request)
        brand: managed_login.PageBrand | None = None
        css: str | None = None
        logo_url = None
        if domain.managed_login_version == 2 and client is not None:
            # managed login: the client's style, or no page at all (as AWS: a client without a style
            # has nonfunctional pages until it gets one or the domain goes back to version 1)
            brand = managed_login.page_brand(self.runtime, domain.pool.id, client.id)
            if brand is None:
                raise ErrorPage(
                    "Not configured",
                    "This app client has no managed login branding style.",
                    "managed_login_style_missing",
                    400,
                )
        elif domain.managed_login_version != 2:
            css, has_logo = self._customization(domain.pool, client)
            if has_logo:
                logo_url = f"/_ostiary/ui/{domain.pool.id}/{client.id if client else 'ALL'}/logo"
        page = self.env.get_template(template).render(
            app_name=(client.name if client else domain.pool.name),
            static_url=f"{base}/static",
            custom_css=css,
            logo_url=logo_url,
            brand=brand,
            nonce=nonce,
            csrf=csrf.csrf_token(self.csrf_key, cookie, form) if form else "",
            **context,
        )
        response = HTMLResponse(page, status_code=status, headers=self.headers(nonce))
        if fresh:
            response.set_cookie(
                csrf.CSRF_COOKIE,
                cookie,
                path=base or "/",
                httponly=True,
                samesite="strict",
                secure=self.secure(request),
            )
        return response

    def error_page(self, request: Request, domain: Domain | None, err: ErrorPage) -> Response:
        if domain is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>Not found</h1><p>This domain does not exist.</p>",
                status_code=404,
                headers=self.headers(secrets.token_urlsafe(8)),
            )
        return self.render(
            request, domain, "error.html", status=err.status, title=err.title, message=err.message, code=err.code
        )

    def domain(self, request: Request) -> Domain:
        found = self.domains.get(request.path_params["domain"])
        if found is None:
            raise ErrorPage("Not found", "This domain does not exist.", "not_found", 404)
        return found

    def check_csrf(self, request: Request, form: dict[str, str], name: str) -> None:
        outcome = csrf.check(self.csrf_key, request.cookies.get(csrf.CSRF_COOKIE), name, form.get("_csrf"))
        if outcome is not csrf.CsrfCheck.OK:
            raise ErrorPage(
                "Session expired",
                "The form has expired or was not sent from this page. Go back, reload the page and try again.",
                "invalid_csrf",
                403,
            )

    def ctx(self, request: Request, pool: PoolView, operation: str) -> RequestContext:
        """The context of a service call on the browser's behalf; a write of user data during a
        point-in-time recovery is refused here, as the dispatcher's guard refuses it (pool_gate)."""
        address = request.client.host if request.client else ""
        ctx = service_context(self.runtime, pool, operation, address, request.headers.get("user-agent"))
        refusal = pool_gate.hosted_refusal(ctx, pool.id)
        if refusal is not None:
            raise ErrorPage("Not available now", refusal, "operation_not_enabled", 400)
        return ctx

    def url(self, request: Request, domain: Domain, page: str, query: str, **extra: str) -> str:
        params = dict(parse_qsl(query))
        params.update({k: v for k, v in extra.items() if v})
        return f"{self.base(request, domain)}/{page}?{urlencode(params)}"

    def domain_url(self, request: Request, domain: Domain) -> str:
        """The absolute URL of the domain's pages, as the browser reaches them."""
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("host") or request.url.netloc
        return f"{proto}://{host}{self.base(request, domain)}"

    # -- the authorization request, carried from page to page ----------------------------------------
    def parse(self, domain: Domain, params: dict[str, str]) -> AuthorizeRequest:
        return parse_authorize(self.runtime, domain.pool, params)

    def parse_or_redirect(self, domain: Domain, params: dict[str, str]) -> AuthorizeRequest | Response:
        """The request, or the redirect that reports its error to the client (RFC 6749 §4.1.2.1)."""
        try:
            return self.parse(domain, params)
        except RedirectError as err:
            assert err.request is not None
            return RedirectResponse(err.request.error_redirect(err.error, err.description), status_code=302)

    def parse_or_raise(self, domain: Domain, request: Request) -> AuthorizeRequest:
        try:
            return self.parse(domain, dict(request.query_params))
        except RedirectError as err:
            raise ErrorPage("Invalid request", err.description, err.error) from None
