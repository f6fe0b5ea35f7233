"""``/forgotPassword`` (ForgotPassword) and ``/confirmForgotPassword`` (ConfirmForgotPassword),
calling the API's self-service functions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary.oauth.hosted import forms
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import selfservice


def forgot(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)

    def page(status: int = 200, error: str | None = None) -> Response:
        return ui.render(
            request,
            domain,
            "forgot.html",
            client=req.client,
            status=status,
            form="forgot",
            error=error,
            username_label=forms.username_label(domain.pool),
            action_url=ui.url(request, domain, "forgotPassword", req.query()),
            login_url=ui.url(request, domain, "login", req.query()),
        )

    if form is None:
        return page()
    ui.check_csrf(request, form, "forgot")
    username = form.get("username", "").strip()
    if not username:
        return page(400, "Enter your username.")
    params = {"ClientId": req.client.id, "Username": username, **forms.secret_hash(req.client, username)}
    try:
        out = selfservice.forgot_password(ui.ctx(request, domain.pool, "ForgotPassword"), params) or {}
    except ServiceError as err:
        return page(400, err.message)
    destination = (out.get("CodeDeliveryDetails") or {}).get("Destination", "")
    return RedirectResponse(
        ui.url(request, domain, "confirmForgotPassword", req.query(), username=username, sent=destination), 302
    )


def confirm_forgot(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)
    username = (form or {}).get("username") or request.query_params.get("username", "")
    sent = request.query_params.get("sent")

    def page(status: int = 200, error: str | None = None) -> Response:
        return ui.render(
            request,
            domain,
            "reset.html",
            client=req.client,
            status=status,
            form="reset",
            error=error,
            username=username,
            sent_to=f"We sent a code to {sent}." if sent else None,
            password_rules=forms.password_rules(domain.pool),
            action_url=ui.url(request, domain, "confirmForgotPassword", req.query(), username=username),
        )

    if form is None:
        return page()
    ui.check_csrf(request, form, "reset")
    params = {
        "ClientId": req.client.id,
        "Username": username,
        "ConfirmationCode": form.get("code", "").strip(),
        "Password": form.get("password", ""),
        **forms.secret_hash(req.client, username),
    }
    try:
        selfservice.confirm_forgot_password(ui.ctx(request, domain.pool, "ConfirmForgotPassword"), params)
    except ServiceError as err:
        return page(400, err.message)
    return RedirectResponse(ui.url(request, domain, "login", req.query(), info="reset"), 302)
