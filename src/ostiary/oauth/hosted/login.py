"""``/login`` (the password sign-in page), ``POST /newPassword`` (NEW_PASSWORD_REQUIRED) and
``POST /mfa`` (SMS, email or authenticator code; choice of factor; authenticator enrolment). The
pages call the API's sign-in code (``userpools.signin``: the password sign-in of InitiateAuth,
RespondToAuthChallenge), so rules, messages and lockout are the same; once signed in (``signed_in``)
the SSO session starts and the browser goes back to the client."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import segno
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary.audit import recorder as audit
from ostiary.oauth import idp_signin, sso_sessions
from ostiary.oauth.authorize_request import AuthorizeRequest, ErrorPage
from ostiary.oauth.domain_routing import Domain
from ostiary.oauth.hosted import forms
from ostiary.oauth.hosted.authorize import complete, provider_buttons, to_provider
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import lockout
from ostiary.userpools import mfa as mfa_ops
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.signin.mfa_challenge import MFA_CHALLENGES, hosted_respond
from ostiary.userpools.signin.password import hosted_new_password, hosted_password_sign_in, post_authentication

HOSTED_USER = "_hosted_user"
MFA_PROMPTS = {
    "SMS_MFA": ("We texted a code to {dest}.", "Code"),
    "EMAIL_OTP": ("We emailed a code to {dest}.", "Code"),
    "SOFTWARE_TOKEN_MFA": ("Enter the code from your authenticator app.", "Code from your authenticator app"),
}
MFA_LABELS = {"SMS_MFA": "Text message (SMS)", "EMAIL_OTP": "Email", "SOFTWARE_TOKEN_MFA": "Authenticator app"}


def _finish_sign_in(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    client: ClientView,
    user: User,
    now: dt.datetime,
    *,
    device_key: str | None = None,
) -> dict[str, Any]:
    """How a hosted sign-in ends (a signin.context.Finisher): no tokens yet (they come from
    /oauth2/token), just the user; ``device_key`` is never given (the hosted UI sends no DEVICE_KEY)."""
    lockout.succeeded(ctx, conn, pool, user)
    details = {"clientId": client.id}
    audit.record(conn, ctx, event=audit.Event.LOGIN, user=user, account_id=pool.account_id, details=details)
    post_authentication(ctx, pool, client, user, new_device=False)
    return {HOSTED_USER: user.id}


def login_page(
    ui: Pages, request: Request, domain: Domain, req: AuthorizeRequest, status: int = 200, **context: Any
) -> Response:
    query = req.query()
    info = forms.INFO.get(request.query_params.get("info", ""))
    return ui.render(
        request,
        domain,
        "login.html",
        client=req.client,
        status=status,
        form="login",
        action_url=ui.url(request, domain, "login", query),
        forgot_url=ui.url(request, domain, "forgotPassword", query),
        signup_url=ui.url(request, domain, "signup", query) if forms.signup_allowed(domain.pool) else None,
        username_label=forms.username_label(domain.pool),
        providers=provider_buttons(ui, request, domain, req),
        password_form="COGNITO" in (req.client.config.get("SupportedIdentityProviders") or []),
        info=context.pop("info", info),
        **context,
    )


def signed_in(ui: Pages, request: Request, domain: Domain, req: AuthorizeRequest, result: dict[str, Any]) -> Response:
    """After a sign-in step: a new-password page, or the SSO session and the client's redirect."""
    if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        required = [
            n.removeprefix("userAttributes.")
            for n in json.loads(result["ChallengeParameters"].get("requiredAttributes") or "[]")
        ]
        return ui.render(
            request,
            domain,
            "new_password.html",
            client=req.client,
            form="newPassword",
            action_url=ui.url(request, domain, "newPassword", req.query()),
            session=result["Session"],
            username=result["ChallengeParameters"].get("USER_ID_FOR_SRP", ""),
            fields=forms.fields(domain.pool, required),
            password_rules=forms.password_rules(domain.pool),
        )
    challenge = result.get("ChallengeName")
    if challenge in MFA_CHALLENGES:
        return mfa_page(ui, request, domain, req, challenge, result["Session"], result.get("ChallengeParameters") or {})
    user_id = str(result[HOSTED_USER])
    signed_in_at = dt.datetime.now(dt.UTC)  # the auth_time of every token of this sign-in and its SSO reuses
    value = sso_sessions.start_sso(ui.runtime, domain.pool.id, user_id, req, signed_in_at)
    response = RedirectResponse(complete(ui, req, user_id, signed_in_at), status_code=302)
    response.set_cookie(
        sso_sessions.SSO_COOKIE,
        value,
        max_age=sso_sessions.SSO_SECONDS,
        path=ui.base(request, domain) or "/",
        httponly=True,
        samesite="lax",
        secure=ui.secure(request),
    )
    return response


def login(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_redirect(domain, dict(request.query_params))
    if isinstance(req, Response):
        return req
    if form is None:
        session = sso_sessions.find_sso(ui.runtime, domain.pool.id, request.cookies.get(sso_sessions.SSO_COOKIE), req)
        if session is not None and req.prompt != "login":
            return RedirectResponse(complete(ui, req, session.user_id, session.auth_time), 302)
        provider = idp_signin.chosen_provider(ui.runtime, req)
        if provider is not None:
            return RedirectResponse(to_provider(ui, request, domain, req, provider), status_code=302)
        return login_page(ui, request, domain, req)
    ui.check_csrf(request, form, "login")
    if "COGNITO" not in (req.client.config.get("SupportedIdentityProviders") or []):
        return login_page(
            ui, request, domain, req, 400, error="This app signs users in through its identity providers only."
        )
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password:
        return login_page(ui, request, domain, req, 400, error="Enter your username and password.", username=username)
    ctx = ui.ctx(request, domain.pool, "InitiateAuth")
    try:
        result = hosted_password_sign_in(ctx, domain.pool, req.client, username, password, _finish_sign_in)
    except ServiceError as err:
        if err.code == "UserNotConfirmedException":
            return RedirectResponse(
                ui.url(request, domain, "confirmUser", req.query(), username=username), status_code=302
            )
        if err.code == "PasswordResetRequiredException":
            return RedirectResponse(
                ui.url(request, domain, "forgotPassword", req.query(), username=username), status_code=302
            )
        return login_page(ui, request, domain, req, 400, error=err.message, username=username)
    return signed_in(ui, request, domain, req, result)


def new_password(ui: Pages, request: Request, form: dict[str, str]) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)
    ui.check_csrf(request, form, "newPassword")
    answers = {"NEW_PASSWORD": form.get("password", ""), "USERNAME": form.get("username", "")}
    answers.update({f"userAttributes.{k[5:]}": v for k, v in form.items() if k.startswith("attr:") and v})
    ctx = ui.ctx(request, domain.pool, "RespondToAuthChallenge")
    try:
        result = hosted_new_password(ctx, domain.pool, req.client, form.get("session", ""), answers, _finish_sign_in)
    except ServiceError as err:
        return login_page(ui, request, domain, req, 400, error=err.message)
    return signed_in(ui, request, domain, req, result)


# -- MFA ------------------------------------------------------------------------------------------


def mfa_page(
    ui: Pages,
    request: Request,
    domain: Domain,
    req: AuthorizeRequest,
    challenge: str,
    session: str,
    params: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> Response:
    """The page for an MFA challenge: a code, a choice of factor, or authenticator-app enrolment."""
    action_url = ui.url(request, domain, "mfa", req.query())
    common_context: dict[str, Any] = {
        "client": req.client,
        "status": status,
        "form": "mfa",
        "error": error,
        "action_url": action_url,
        "session": session,
        "username": params.get("USER_ID_FOR_SRP", ""),
    }
    if challenge == "SELECT_MFA_TYPE":
        options = [{"value": o, "label": MFA_LABELS.get(o, o)} for o in json.loads(params.get("MFAS_CAN_CHOOSE", "[]"))]
        return ui.render(request, domain, "select_mfa.html", options=options, **common_context)
    if challenge == "MFA_SETUP":
        ctx = ui.ctx(request, domain.pool, "AssociateSoftwareToken")
        secret = str((mfa_ops.associate_software_token(ctx, {"Session": session}) or {})["SecretCode"])
        account = params.get("USER_ID_FOR_SRP", "")
        uri = mfa_ops.otpauth_uri(secret, account, req.client.name or domain.pool.name)
        return ui.render(
            request,
            domain,
            "totp_setup.html",
            qr_data_uri=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
            secret_spaced=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            **common_context,
        )
    prompt, label = MFA_PROMPTS[challenge]
    return ui.render(
        request,
        domain,
        "mfa.html",
        challenge=challenge,
        prompt=prompt.format(dest=params.get("CODE_DELIVERY_DESTINATION", "you")),
        code_label=label,
        **common_context,
    )


def mfa(ui: Pages, request: Request, form: dict[str, str]) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)
    ui.check_csrf(request, form, "mfa")
    challenge, session = form.get("challenge", ""), form.get("session", "")
    if challenge not in MFA_CHALLENGES or not session:
        raise ErrorPage("Invalid request", "The sign-in form is incomplete.", "invalid_request")
    username, code = form.get("username", ""), form.get("code", "").strip()
    answers = {"USERNAME": username}
    ctx = ui.ctx(request, domain.pool, "RespondToAuthChallenge")
    if challenge == "SELECT_MFA_TYPE":
        answers["ANSWER"] = form.get("answer", "")
    elif challenge == "MFA_SETUP":
        try:
            mfa_ops.verify_software_token(
                ctx, {"Session": session, "UserCode": code, "FriendlyDeviceName": form.get("device") or None}
            )
        except ServiceError:
            return mfa_page(
                ui,
                request,
                domain,
                req,
                "MFA_SETUP",
                session,
                {"USER_ID_FOR_SRP": username},
                400,
                "That code did not match. Scan the new code below and try again.",
            )
    else:
        field = {"SMS_MFA": "SMS_MFA_CODE", "EMAIL_OTP": "EMAIL_OTP_CODE"}.get(challenge, "SOFTWARE_TOKEN_MFA_CODE")
        answers[field] = code
    try:
        result = hosted_respond(ctx, domain.pool, req.client, challenge, session, answers, _finish_sign_in)
    except ServiceError as err:
        if err.code in ("CodeMismatchException", "ExpiredCodeException"):  # Expired: a TOTP code used before
            return mfa_page(
                ui,
                request,
                domain,
                req,
                challenge,
                session,
                {"USER_ID_FOR_SRP": username},
                400,
                "That code is not right. Try again."
                if err.code == "CodeMismatchException"
                else "That code has already been used. Wait for the next one.",
            )
        return login_page(ui, request, domain, req, 400, error="Your sign-in session has ended. Sign in again.")
    return signed_in(ui, request, domain, req, result)
