"""``/start/device``: the device-code approval page (the ``verificationUri`` of sso-oidc's
StartDeviceAuthorization; ``?user_code=`` prefilled from ``verificationUriComplete``).

The user enters the code (if not given), signs in to the portal of the request's identity store if not
signed in there (then comes back), sees which client asks ("Authorize request: <client name>") and the
code to compare, and allows or denies. Only a user of the request's identity store can decide: the
session checked is that store's (``session.current``). The decision is ``ssooidc.device``'s
``approve``/``deny``, which refuse a request already decided or expired.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from ostiary.accessportal import session, urls
from ostiary.accessportal.pages import Portal
from ostiary.ssooidc import device, limits

INVALID = "That code is not valid or has expired. Check the code the application shows, or start again there."
TOO_MANY = "Too many codes were tried from this address. Wait a few minutes, then try again."
MAX_CODE = 16


def _page(portal: Portal, request: Request, code: str = "", error: str | None = None) -> Response:
    return portal.render(
        request,
        "device.html",
        status=400 if error else 200,
        form="device",
        action_url=urls.DEVICE_PATH,
        user_code=code,
        error=error,
    )


def _may_look_up(portal: Portal, request: Request, now: dt.datetime) -> bool:
    """A user code is looked up at most ``limits.USER_CODE_LOOKUPS`` times per address (guessing)."""
    with portal.runtime.store.tx() as conn:
        return limits.user_code_lookup(conn, portal.address(request) or "-", now)


def device_page(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    if form is not None:
        return _decide(portal, request, form)
    code = request.query_params.get("user_code", "").strip()[:MAX_CODE]
    if not code:
        return _page(portal, request)
    now = dt.datetime.now(dt.UTC)
    if not _may_look_up(portal, request, now):
        return _page(portal, request, code, TOO_MANY)
    with portal.runtime.store.read() as conn:
        pending = device.pending(conn, code, now)
    if pending is None or pending.status != "PENDING":
        return _page(portal, request, code, INVALID)
    here = f"{urls.DEVICE_PATH}?user_code={quote(code, safe='')}"
    signed = session.current(portal, request, pending.identity_store_id)
    if signed is None:
        return portal.redirect(portal.sign_in_url(pending.identity_store_id, here))
    return portal.render(
        request,
        "consent.html",
        form="device-consent",
        action_url=urls.DEVICE_PATH,
        client_name=pending.client_name,
        user_name=signed.user_name,
        user_code=pending.user_code,
        hidden=[("user_code", code)],
    )


def _decide(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    code = form.get("user_code", "").strip()[:MAX_CODE]
    decision = form.get("decision")
    if decision is None:  # the code form: on to the request's page
        portal.check_csrf(request, form, "device")
        if not code:
            return _page(portal, request, "", "Enter the code the application shows.")
        return portal.redirect(f"{urls.DEVICE_PATH}?user_code={quote(code, safe='')}")
    portal.check_csrf(request, form, "device-consent")
    now = dt.datetime.now(dt.UTC)
    if not _may_look_up(portal, request, now):
        return _page(portal, request, code, TOO_MANY)
    with portal.runtime.store.read() as conn:
        pending = device.pending(conn, code, now)
    if pending is None or pending.status != "PENDING":
        return _page(portal, request, code, INVALID)
    signed = session.current(portal, request, pending.identity_store_id)
    if signed is None:
        here = f"{urls.DEVICE_PATH}?user_code={quote(code, safe='')}"
        return portal.redirect(portal.sign_in_url(pending.identity_store_id, here))
    with portal.runtime.store.tx() as conn:
        done = device.approve(conn, code, signed.user_id, now) if decision == "allow" else device.deny(conn, code, now)
    if not done:
        return _page(portal, request, code, INVALID)
    if decision == "allow":
        title, message = "Request approved", f"{pending.client_name} has been given access. You can close this window."
    else:
        title, message = "Request denied", f"{pending.client_name} was denied access. You can close this window."
    return portal.render(
        request,
        "message.html",
        title=title,
        message=message,
        back_url=portal.home_path(pending.identity_store_id),
        back_label="Go to the AWS access portal",
    )
