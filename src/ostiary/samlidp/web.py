"""The SAML IdP's and AWS sign-in endpoint's HTTP side, mounted by app.py (``routes(runtime)``):

- ``GET /start/<store>/saml/metadata``: the instance's IdP metadata;
- ``GET|POST /start/<store>/saml/assertion``: SP-initiated sign-in (HTTP-Redirect and HTTP-POST
  bindings), the instance's entity id and SingleSignOnService;
- ``GET /start/<store>/saml/continue?state=…``: the same request after the portal's sign-in (the
  request travels sealed under the KEK, ten minutes);
- ``GET /start/<store>/saml/applications/<apl-…>``: IdP-initiated sign-in (the portal's tile);
- ``POST /saml``: AWS's SAML sign-in endpoint (``aws_signin.py``);
- ``GET /saml/autopost.js``: the script that submits the response form (no inline script: the pages'
  CSP allows scripts from this origin only; a ``<noscript>`` button does it without);
  ``GET /saml/samlidp.css``: the role choice's styles.

Who is signed in is the access portal's session (``accessportal.session.current_user``); one not signed
in is sent to the portal's sign-in with this page to come back to.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from ostiary.accessportal import session, urls
from ostiary.protocol.context import Runtime
from ostiary.samlidp import aws_signin, identity, requests, sso
from ostiary.samlidp.pages import SCRIPT_PATH, STYLESHEET_PATH, Pages, Pending
from ostiary.samlidp.sso import Refused
from ostiary.ssooidc import tokens
from ostiary.store import tables as t

STATIC = {
    "autopost.js": (Path(__file__).parent / "static" / "autopost.js", "text/javascript"),
    "samlidp.css": (Path(__file__).parent / "static" / "samlidp.css", "text/css"),
}
MAX_FORM_BYTES = 256 * 1024
APPLICATION_ID = r"apl-[0-9a-f]{16}"
FRESH_SIGN_IN = dt.timedelta(minutes=5)  # ForceAuthn: a portal sign-in at most this old counts as fresh

Handler = Callable[[Pages, Request, dict[str, str] | None], Response]


def signed_in(runtime: Runtime, request: Request, store_id: str) -> session.SignedIn | None:
    """Who is signed in to this portal in this browser (the portal's session), or None."""
    return session.current_user(runtime, request, store_id)


def _fresh(runtime: Runtime, signed: session.SignedIn, now: dt.datetime) -> bool:
    """Whether the portal session began (the user entered a password) within FRESH_SIGN_IN."""
    s = t.sso_oidc_sessions.c
    with runtime.store.read() as conn:
        found = tokens.session_of(conn, signed.access_token, now)
        began = (
            conn.execute(select(s.created_at).where(s.session_id == found.session_id)).scalar()
            if found is not None
            else None
        )
    return began is not None and now - began <= FRESH_SIGN_IN


# -- handlers (in a worker thread) ------------------------------------------------------------------------


def metadata(pages: Pages, request: Request, form: dict[str, str] | None) -> Response:
    instance = pages.instance(request.path_params["store_id"])
    with pages.runtime.store.tx() as conn:
        document = identity.idp_metadata(conn, pages.runtime.box, pages.runtime.settings, instance)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + document,
        media_type="application/samlmetadata+xml",
        headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"},
    )


def _answer(pages: Pages, request: Request, instance: RowMapping, pending: Pending, passive: bool = False) -> Response:
    store_id = str(instance["identity_store_id"])
    runtime = pages.runtime
    now = dt.datetime.now(dt.UTC)
    signed = signed_in(runtime, request, store_id)
    if signed is None and passive and pending.request_id is not None:
        answer = sso.not_passive(
            runtime.store, runtime.box, runtime.settings, instance, pending.arn, pending.request_id, pending.relay
        )
        return pages.post_form(answer)
    if signed is not None and pending.force and not _fresh(runtime, signed, now):
        # ForceAuthn (SAML Core §3.4.1): the user signs in again; the portal session ends for that
        with runtime.store.tx() as conn:
            tokens.revoke_session(conn, signed.access_token)
        signed = None
    if signed is None:
        sealed = pages.seal_pending(store_id, pending)
        back = f"{urls.PREFIX}/{store_id}{urls.SAML_SEGMENT}/continue?{urlencode({'state': sealed})}"
        return pages.to_sign_in(store_id, back)
    address = request.client.host if request.client else ""
    answer = sso.respond(
        runtime, instance, pending.arn, signed.user_id, pending.request_id, pending.relay, now, address
    )
    return pages.post_form(answer)


def sp_initiated(pages: Pages, request: Request, form: dict[str, str] | None) -> Response:
    instance = pages.instance(request.path_params["store_id"])
    try:
        if form is None:
            authn, signature, sig_alg, signed_part = requests.from_redirect(request.url.query)
            arn, settings = sso.application_for_request(pages.runtime.store, instance, authn)
            requests.check_redirect_signature(signature, sig_alg, signed_part, settings.sp_certificates)
        else:
            authn, document = requests.from_post(form.get("SAMLRequest", ""), form.get("RelayState"))
            arn, settings = sso.application_for_request(pages.runtime.store, instance, authn)
            requests.check_post_signature(document, settings.sp_certificates)
    except requests.RequestError as err:
        raise Refused("Invalid request", str(err), 400) from None
    # SAML Bindings §3.4.5.2, §3.5.5.2: a request that names its Destination must name this endpoint
    if authn.destination is not None and authn.destination != identity.sso_url(pages.runtime.settings, instance):
        raise Refused("Invalid request", "The request was sent to another identity provider.", 400)
    pending = Pending(arn, authn.request_id, authn.relay_state, authn.force_authn)
    return _answer(pages, request, instance, pending, authn.is_passive)


def resume(pages: Pages, request: Request, form: dict[str, str] | None) -> Response:
    instance = pages.instance(request.path_params["store_id"])
    sealed = request.query_params.get("state", "")
    if len(sealed) > 4096:
        raise Refused("Invalid request", "The sign-in state is not valid.", 400)
    return _answer(pages, request, instance, pages.open_pending(str(instance["identity_store_id"]), sealed))


def idp_initiated(pages: Pages, request: Request, form: dict[str, str] | None) -> Response:
    instance = pages.instance(request.path_params["store_id"])
    if not re.fullmatch(APPLICATION_ID, request.path_params["application_id"]):
        raise Refused("Application not found", "There is no such application in this portal.", 404)
    arn = sso.application_arn(instance, request.path_params["application_id"])
    return _answer(pages, request, instance, Pending(arn, None, None))


def routes(runtime: Runtime) -> list[BaseRoute]:
    pages = Pages(runtime)

    def guard(handler: Handler, request: Request, form: dict[str, str] | None) -> Response:
        try:
            return handler(pages, request, form)
        except Refused as err:
            return pages.error(err.title, err.message, err.status)

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

    async def static(request: Request) -> Response:
        path, media_type = STATIC[request.url.path.rsplit("/", 1)[-1]]
        return FileResponse(path, media_type=media_type, headers={"cache-control": "public, max-age=3600"})

    base = urls.PREFIX + "/{store_id}" + urls.SAML_SEGMENT
    return [
        Route(base + "/metadata", page(metadata), methods=["GET"]),
        Route(base + "/assertion", page(sp_initiated), methods=["GET", "POST"]),
        Route(base + "/continue", page(resume), methods=["GET"]),
        Route(base + "/applications/{application_id:str}", page(idp_initiated), methods=["GET"]),
        Route(SCRIPT_PATH, static, methods=["GET"]),
        Route(STYLESHEET_PATH, static, methods=["GET"]),
        Route(aws_signin.PATH, page(aws_signin.endpoint), methods=["POST"]),
    ]
