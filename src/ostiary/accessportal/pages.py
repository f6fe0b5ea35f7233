"""What every access-portal page shares (``Portal``): templates (the hosted UI's look: its stylesheet
and security headers, ``oauth/hosted/render.py``), CSRF on every form (``oauth/csrf.py``'s double-submit
MAC under a key of its own, in a cookie of its own), the sign-in in progress (a sealed cookie), the
instance a start URL names, safe return paths, and the error page.

Cookies: ``ostiary-portal-xsrf`` (CSRF), ``ostiary-portal-signin`` (the sign-in steps under way: user,
whether the authenticator code passed, where to go next; sealed under the KEK, ten minutes) and
``ostiary-portal-<identity store id>`` (the portal session: ``session.py``). All HttpOnly, ``Secure``
when the request came over HTTPS, ``SameSite=Lax`` (the session must survive the AWS CLI's navigation to
``/authorize`` and the device page's link) or ``Strict`` (CSRF).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from sqlalchemy.engine import RowMapping
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ostiary.accessportal import urls
from ostiary.oauth import csrf
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.context import Runtime
from ostiary.ssoadmin import instances

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "ostiary-portal-xsrf"
PENDING_COOKIE = "ostiary-portal-signin"
PENDING_SECONDS = 600
STORE_ID = re.compile(r"^d-[0-9a-f]{10}$")
TITLE = "AWS access portal"


@dataclass(frozen=True)
class Pending:
    """A sign-in under way (after the password step)."""

    store_id: str
    user_id: str
    user_name: str
    totp_passed: bool
    next: str
    expires: float


def session_cookie(store_id: str) -> str:
    return f"ostiary-portal-{store_id}"


class Portal:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
        self.csrf_key = runtime.box.mac_key("access-portal-csrf")

    # -- requests -------------------------------------------------------------------------------------
    @staticmethod
    def secure(request: Request) -> bool:
        return request.headers.get("x-forwarded-proto", request.url.scheme) == "https"

    @staticmethod
    def address(request: Request) -> str:
        return request.client.host if request.client else ""

    def instance(self, store_id: str) -> RowMapping:
        """The instance whose start URL this is (404 page when none)."""
        found = None
        if STORE_ID.match(store_id):
            with self.runtime.store.read() as conn:
                found = instances.by_identity_store(conn, store_id)
        if found is None or found["status"] != "ACTIVE":
            raise ErrorPage("Not found", "There is no AWS access portal at this address.", "not_found", 404)
        return found

    @staticmethod
    def home_path(store_id: str) -> str:
        return f"{urls.PREFIX}/{store_id}"

    def safe_next(self, store_id: str, value: str | None) -> str:
        """Where to go after signing in: only this portal's pages, the device page or ``/authorize``
        (never another site: no open redirect)."""
        home = self.home_path(store_id)
        if not value or len(value) > 4096 or not value.startswith("/") or value.startswith("//") or "\\" in value:
            return home
        allowed = (home + "/", urls.DEVICE_PATH, "/authorize?")
        if value == home or value.startswith(allowed):
            return value
        return home

    def sign_in_url(self, store_id: str, next_path: str) -> str:
        return f"{self.home_path(store_id)}?next={quote(next_path, safe='')}"

    # -- rendering ------------------------------------------------------------------------------------
    def _csrf_cookie(self, request: Request) -> tuple[str, bool]:
        value = request.cookies.get(CSRF_COOKIE)
        if value and 20 <= len(value) <= 100:
            return value, False
        return secrets.token_urlsafe(32), True

    def render(self, request: Request, template: str, *, status: int = 200, form: str = "", **context: Any) -> Response:
        nonce = secrets.token_urlsafe(16)
        cookie, fresh = self._csrf_cookie(request)
        page = self.env.get_template(template).render(
            app_name=TITLE,
            static_url=f"{urls.PREFIX}/static",
            nonce=nonce,
            csrf=csrf.csrf_token(self.csrf_key, cookie, form) if form else "",
            **context,
        )
        response = HTMLResponse(page, status_code=status, headers=Pages.headers(nonce))
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, cookie, path="/", httponly=True, samesite="strict", secure=self.secure(request)
            )
        return response

    def error_page(self, request: Request, err: ErrorPage) -> Response:
        return self.render(
            request, "error.html", status=err.status, title=err.title, message=err.message, code=err.code
        )

    def check_csrf(self, request: Request, form: dict[str, str], name: str) -> None:
        outcome = csrf.check(self.csrf_key, request.cookies.get(CSRF_COOKIE), name, form.get("_csrf"))
        if outcome is not csrf.CsrfCheck.OK:
            raise ErrorPage(
                "Session expired",
                "The form has expired or was not sent from this page. Go back, reload the page and try again.",
                "invalid_csrf",
                403,
            )

    @staticmethod
    def redirect(location: str) -> Response:
        return RedirectResponse(location, status_code=303, headers={"cache-control": "no-store"})

    # -- the sign-in under way ------------------------------------------------------------------------
    def pending(self, request: Request, store_id: str) -> Pending | None:
        sealed = request.cookies.get(PENDING_COOKIE)
        if not sealed or len(sealed) > 4096:
            return None
        try:
            doc = json.loads(self.runtime.box.open(sealed, "accessportal-signin"))
            found = Pending(**doc)
        except (ValueError, TypeError):
            return None
        if found.store_id != store_id or found.expires < time.time():
            return None
        return found

    def set_pending(self, request: Request, response: Response, pending: Pending) -> None:
        sealed = self.runtime.box.seal(json.dumps(asdict(pending)), "accessportal-signin")
        response.set_cookie(
            PENDING_COOKIE,
            sealed,
            max_age=PENDING_SECONDS,
            path=urls.PREFIX,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
        )

    @staticmethod
    def clear_pending(response: Response) -> None:
        response.delete_cookie(PENDING_COOKIE, path=urls.PREFIX)
