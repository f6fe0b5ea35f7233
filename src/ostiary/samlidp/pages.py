"""What the SAML IdP's pages and AWS's sign-in endpoint share: templates (the portal's look), their
security headers (no inline script or style: scripts from this origin only, ``form-action`` limited to
where the page posts), the instance a start URL names, the redirect to the portal's sign-in, the
auto-posting response form, and the SAML request kept (sealed) across the sign-in."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from sqlalchemy.engine import RowMapping
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ostiary.accessportal import urls
from ostiary.protocol.context import Runtime
from ostiary.samlidp import sso
from ostiary.samlidp.sso import Refused
from ostiary.ssoadmin import instances

TEMPLATES = Path(__file__).parent / "templates"
SCRIPT_PATH = "/saml/autopost.js"
STYLESHEET_PATH = "/saml/samlidp.css"
PENDING_SECONDS = 600
TITLE = "AWS access portal"


@dataclass(frozen=True)
class Pending:
    """A sign-in to an application waiting for the portal's sign-in: the application, the request
    answered (None: IdP-initiated), its RelayState, whether it asked for a fresh sign-in (ForceAuthn)."""

    arn: str
    request_id: str | None
    relay: str | None
    force: bool = False


class Pages:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)

    @staticmethod
    def headers(form_action: str) -> dict[str, str]:
        return {
            "content-security-policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
            ),
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
        }

    def render(self, template: str, *, status: int = 200, form_action: str = "'self'", **context: Any) -> Response:
        page = self.env.get_template(template).render(app_name=TITLE, **context)
        return HTMLResponse(page, status_code=status, headers=self.headers(form_action))

    def error(self, title: str, message: str, status: int) -> Response:
        return self.render("error.html", status=status, title=title, message=message)

    def instance(self, store_id: str) -> RowMapping:
        found = None
        if len(store_id) == 12 and store_id.startswith("d-"):
            with self.runtime.store.read() as conn:
                found = instances.by_identity_store(conn, store_id)
        if found is None or found["status"] != "ACTIVE":
            raise Refused("Not found", "There is no AWS access portal at this address.", 404)
        return found

    @staticmethod
    def to_sign_in(store_id: str, back: str) -> Response:
        location = f"{urls.PREFIX}/{store_id}?next={quote(back, safe='')}"
        return RedirectResponse(location, status_code=303, headers={"cache-control": "no-store"})

    def post_form(self, answer: sso.Answer) -> Response:
        fields = [("SAMLResponse", answer.saml_response)]
        if answer.relay_state is not None:
            fields.append(("RelayState", answer.relay_state))
        target = urlsplit(answer.acs_url)
        return self.render(
            "post.html",
            form_action=f"{target.scheme}://{target.netloc}",
            target=answer.application_name,
            action=answer.acs_url,
            fields=fields,
            script_url=SCRIPT_PATH,
        )

    # -- the request kept across the sign-in ------------------------------------------------------------
    def seal_pending(self, store_id: str, pending: Pending) -> str:
        expires = time.time() + PENDING_SECONDS
        doc = {"a": pending.arn, "i": pending.request_id, "r": pending.relay, "f": pending.force, "e": expires}
        return self.runtime.box.seal(json.dumps(doc), f"samlidp-request:{store_id}")

    def open_pending(self, store_id: str, sealed: str) -> Pending:
        try:
            doc = json.loads(self.runtime.box.open(sealed, f"samlidp-request:{store_id}"))
        except Exception:
            doc = None
        if not isinstance(doc, dict) or float(doc.get("e", 0)) < time.time():
            raise Refused("Sign-in expired", "The sign-in took too long. Start again from the application.", 400)
        return Pending(str(doc["a"]), doc.get("i"), doc.get("r"), bool(doc.get("f")))
