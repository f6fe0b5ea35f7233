"""The portal's sign-in pages: ``/start/<store>`` (user name and password; the portal home once signed
in), ``POST /start/<store>/signin``, ``/mfa`` (the authenticator code), ``/new-password`` (replacing a
one-time password), ``/mfa-setup`` (authenticator enrolment, at sign-in when the instance requires MFA or
later from the home page), ``/invitation`` (a first password from an invitation link). The steps are
``signin.py``'s; between them the user travels in the sealed pending cookie (``pages.Pending``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import Response

from ostiary.accessportal import credentials, federation, home, invitations, session, signin
from ostiary.accessportal.pages import PENDING_SECONDS, Pending, Portal
from ostiary.accessportal.signin import Progress, Refused, Step
from ostiary.identitystore import directory
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.userpools import mfa as userpool_mfa


def start(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    """``/start/<store>``: the home page when signed in, else the sign-in form."""
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    next_path = portal.safe_next(store_id, request.query_params.get("next"))
    signed = session.current(portal, request, store_id)
    if signed is not None:
        if next_path != portal.home_path(store_id):
            return portal.redirect(next_path)
        return home.page(portal, request, instance, signed)
    external = federation.source(instance)
    if external is not None:
        if request.query_params.get("info") == "signedout":  # not straight back to the IdP
            return portal.render(
                request,
                "message.html",
                title="Signed out",
                message="You have been signed out of the AWS access portal.",
                back_url=portal.home_path(store_id),
                back_label="Sign in again",
            )
        return portal.redirect(federation.redirect_to_idp(portal.runtime, external, store_id, next_path))
    return signin_page(portal, request, store_id, instance["name"], next_path)


def signin_page(
    portal: Portal, request: Request, store_id: str, name: str | None, next_path: str, status: int = 200, **extra: str
) -> Response:
    return portal.render(
        request,
        "signin.html",
        status=status,
        form="signin",
        action_url=f"{portal.home_path(store_id)}/signin",
        forgot_url=f"{portal.home_path(store_id)}/forgot",
        next=next_path,
        instance_name=name,
        info="You have been signed out." if request.query_params.get("info") == "signedout" else None,
        **extra,
    )


def signin_post(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    portal.check_csrf(request, form, "signin")
    next_path = portal.safe_next(store_id, form.get("next"))
    external = federation.source(instance)
    if external is not None:  # the identity source is an external IdP: no passwords here
        return portal.redirect(federation.redirect_to_idp(portal.runtime, external, store_id, next_path))
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password:
        return signin_page(
            portal,
            request,
            store_id,
            instance["name"],
            next_path,
            400,
            error="Enter your username and password.",
            username=username,
        )
    now = dt.datetime.now(dt.UTC)
    try:
        progress = signin.password_step(
            portal.runtime, instance, username, password[:256], portal.address(request), now
        )
    except Refused as err:
        return signin_page(
            portal, request, store_id, instance["name"], next_path, 400, error=err.message, username=username
        )
    pending = Pending(store_id, progress.user_id, progress.user_name, False, next_path, time.time() + PENDING_SECONDS)
    return advance(portal, request, pending, progress)


def advance(
    portal: Portal, request: Request, pending: Pending, progress: Progress, error: str | None = None
) -> Response:
    """The page of the next step (or the end of the sign-in), with the pending cookie renewed."""
    store_id = pending.store_id
    base = portal.home_path(store_id)
    status = 400 if error else 200
    if progress.step is Step.DONE:
        with_instance = portal.instance(store_id)
        signin.signed_in(portal.runtime, with_instance, progress.user_id, progress.user_name, portal.address(request))
        response = portal.redirect(pending.next)
        session.start(portal, request, response, store_id, progress.user_id)
        portal.clear_pending(response)
        return response
    if progress.step is Step.TOTP:
        response = portal.render(
            request,
            "totp.html",
            status=status,
            form="mfa",
            action_url=f"{base}/mfa",
            user_name=progress.user_name,
            error=error,
        )
    elif progress.step is Step.NEW_PASSWORD:
        response = portal.render(
            request,
            "new_password.html",
            status=status,
            form="new-password",
            action_url=f"{base}/new-password",
            user_name=progress.user_name,
            password_rules=credentials.PASSWORD_RULES,
            error=error,
        )
    else:
        response = totp_setup_page(portal, request, store_id, progress.user_id, progress.user_name, True, error)
    portal.set_pending(request, response, pending)
    return response


def totp_setup_page(
    portal: Portal,
    request: Request,
    store_id: str,
    user_id: str,
    user_name: str,
    required: bool,
    error: str | None = None,
    cancel_url: str | None = None,
) -> Response:
    with portal.runtime.store.tx() as conn:
        secret = credentials.begin_totp(conn, portal.runtime.box, store_id, user_id, dt.datetime.now(dt.UTC))
    uri = userpool_mfa.otpauth_uri(secret, user_name, signin_issuer(store_id))
    return portal.render(
        request,
        "totp_setup.html",
        status=400 if error else 200,
        form="mfa-setup",
        action_url=f"{portal.home_path(store_id)}/mfa-setup",
        qr_data_uri=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        secret_spaced=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=required,
        error=error,
        cancel_url=cancel_url,
    )


def signin_issuer(store_id: str) -> str:
    return f"AWS access portal {store_id}"


def _pending_or_restart(portal: Portal, request: Request, store_id: str) -> Pending:
    pending = portal.pending(request, store_id)
    if pending is None:
        raise ErrorPage(
            "Sign-in expired",
            "Your sign-in took too long or was started in another window. Sign in again.",
            "signin_expired",
            400,
        )
    return pending


def mfa_post(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    portal.check_csrf(request, form, "mfa")
    pending = _pending_or_restart(portal, request, store_id)
    now = dt.datetime.now(dt.UTC)
    try:
        progress = signin.totp_step(
            portal.runtime, instance, pending.user_id, form.get("code", "")[:16], portal.address(request), now
        )
    except Refused as err:
        return advance(portal, request, pending, Progress(pending.user_id, pending.user_name, Step.TOTP), err.message)
    done = Pending(store_id, pending.user_id, pending.user_name, True, pending.next, time.time() + PENDING_SECONDS)
    return advance(portal, request, done, progress)


def new_password_post(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    portal.check_csrf(request, form, "new-password")
    pending = _pending_or_restart(portal, request, store_id)
    with portal.runtime.store.read() as conn:
        creds = credentials.get(conn, portal.runtime.box, store_id, pending.user_id)
    if signin.next_step(creds, credentials.mfa_policy(instance), pending.totp_passed) is not Step.NEW_PASSWORD:
        raise ErrorPage("Sign-in expired", "Sign in again.", "signin_expired", 400)
    now = dt.datetime.now(dt.UTC)
    try:
        progress = signin.new_password_step(
            portal.runtime, instance, pending.user_id, form.get("password", ""), form.get("confirm", ""), now
        )
    except Refused as err:
        step = Progress(pending.user_id, pending.user_name, Step.NEW_PASSWORD)
        return advance(portal, request, pending, step, err.message)
    return advance(portal, request, pending, progress)


def mfa_setup(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    """Authenticator enrolment: a step of the sign-in (pending cookie), or from the home page of a
    signed-in user without one."""
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    signed = session.current(portal, request, store_id)
    pending = portal.pending(request, store_id) if signed is None else None
    if signed is None and pending is None:
        return portal.redirect(portal.sign_in_url(store_id, f"{portal.home_path(store_id)}/mfa-setup"))
    user_id = signed.user_id if signed is not None else pending.user_id  # type: ignore[union-attr]
    with portal.runtime.store.read() as conn:
        user = directory.user(conn, store_id, user_id)
        creds = credentials.get(conn, portal.runtime.box, store_id, user_id)
    if user is None:
        raise ErrorPage("Sign-in expired", "Sign in again.", "signin_expired", 400)
    if pending is not None and signin.next_step(creds, credentials.mfa_policy(instance), pending.totp_passed) is not (
        Step.TOTP_SETUP
    ):
        raise ErrorPage("Sign-in expired", "Sign in again.", "signin_expired", 400)
    if signed is not None and creds is not None and creds.has_totp:
        return portal.redirect(portal.home_path(store_id))
    cancel = portal.home_path(store_id) if signed is not None else None
    if form is None:
        return totp_setup_page(portal, request, store_id, user_id, user["user_name"], pending is not None, None, cancel)
    portal.check_csrf(request, form, "mfa-setup")
    now = dt.datetime.now(dt.UTC)
    try:
        progress = signin.totp_setup_step(
            portal.runtime, instance, user_id, form.get("code", "")[:16], portal.address(request), now
        )
    except Refused as err:
        return totp_setup_page(
            portal, request, store_id, user_id, user["user_name"], pending is not None, err.message, cancel
        )
    if pending is not None:
        return advance(portal, request, pending, progress)
    return portal.redirect(f"{portal.home_path(store_id)}?info=mfa")


def invitation(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    """``/start/<store>/invitation?token=…``: set a first password from an invitation link (once)."""
    store_id = request.path_params["store_id"]
    portal.instance(store_id)
    token = (form or {}).get("token") or request.query_params.get("token", "")
    now = dt.datetime.now(dt.UTC)
    with portal.runtime.store.read() as conn:
        user_id = credentials.invitation(conn, store_id, token, now)
        user = directory.user(conn, store_id, user_id) if user_id else None
    if user is None:
        raise ErrorPage(
            "Invitation not valid",
            "This invitation link has expired or was already used. Ask your administrator for a new one.",
            "invalid_invitation",
            400,
        )

    def page(status: int = 200, error: str | None = None) -> Response:
        return portal.render(
            request,
            "new_password.html",
            status=status,
            form="invitation",
            action_url=f"{portal.home_path(store_id)}/invitation",
            token=token,
            user_name=user["user_name"],
            heading="Choose your password",
            intro=f"Choose a password for {user['user_name']}. You will sign in with it.",
            password_rules=credentials.PASSWORD_RULES,
            error=error,
        )

    if form is None:
        return page()
    portal.check_csrf(request, form, "invitation")
    password, confirm = form.get("password", ""), form.get("confirm", "")
    problem = "The passwords do not match." if password != confirm else credentials.password_problem(password)
    if problem:
        return page(400, problem)
    stored = credentials.hash_for(portal.runtime.passwords, password)
    with portal.runtime.store.tx() as conn:
        spent = credentials.spend_invitation(conn, store_id, token, now)
        if spent is not None:
            credentials.store_hash(conn, store_id, spent, stored, now, temporary=False)
    if spent is None:
        raise ErrorPage("Invitation not valid", "This invitation link was already used.", "invalid_invitation", 400)
    return portal.render(
        request,
        "message.html",
        title="Password set",
        message="Your password is set. Sign in to continue.",
        back_url=portal.home_path(store_id),
        back_label="Sign in",
    )


def forgot(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    """``/start/<store>/forgot``: a reset link e-mailed to the user (``invitations.reset``); the same
    answer whether the user exists, has an address, or got a link a moment ago."""
    store_id = request.path_params["store_id"]
    portal.instance(store_id)
    context: dict[str, Any] = {
        "action_url": f"{portal.home_path(store_id)}/forgot",
        "signin_url": portal.home_path(store_id),
    }
    if form is None:
        return portal.render(request, "forgot.html", form="forgot", **context)
    portal.check_csrf(request, form, "forgot")
    username = form.get("username", "").strip()[:128]
    if not username:
        return portal.render(
            request, "forgot.html", status=400, form="forgot", error="Enter your user name.", **context
        )
    with portal.runtime.store.tx() as conn:
        user = directory.user_by_name(conn, store_id, username)
        invitations.reset(conn, portal.runtime.settings, store_id, user, dt.datetime.now(dt.UTC))
    return portal.render(request, "forgot.html", sent=True, username=username, **context)


def federation_acs(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    """``POST /start/<store>/federation/acs``: the external IdP's answer (``federation.complete``);
    no CSRF token (the IdP's page posts it): the sealed RelayState, InResponseTo and the single-use
    assertion stand for it."""
    store_id = request.path_params["store_id"]
    instance = portal.instance(store_id)
    external = federation.source(instance)
    if external is None:
        raise ErrorPage("Not found", "This portal signs its users in itself.", "not_found", 404)
    now = dt.datetime.now(dt.UTC)
    try:
        user_id, user_name, next_path = federation.complete(
            portal.runtime, instance, external, form.get("SAMLResponse", ""), form.get("RelayState", ""), now
        )
    except federation.Refused as err:
        raise ErrorPage("Sign-in failed", str(err), "saml_refused", 400) from None
    signin.signed_in(portal.runtime, instance, user_id, user_name, portal.address(request))
    response = portal.redirect(portal.safe_next(store_id, next_path))
    session.start(portal, request, response, store_id, user_id)
    return response


def federation_metadata(portal: Portal, request: Request, form: dict[str, str] | None) -> Response:
    """``GET /start/<store>/federation/metadata``: the portal's SAML SP metadata, for the external IdP."""
    store_id = request.path_params["store_id"]
    portal.instance(store_id)
    document = federation.sp_metadata(portal.runtime.settings.effective_public_url, store_id)
    return Response(document, media_type="application/samlmetadata+xml")
