"""``/signup`` (SignUp) and ``/confirmUser`` (ConfirmSignUp, ResendConfirmationCode), calling the
API's self-service functions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary.oauth.authorize_request import ErrorPage
from ostiary.oauth.hosted import forms
from ostiary.oauth.hosted.render import Pages
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import selfservice, terms
from ostiary.userpools.directory import PoolView


def _signup_fields(pool: PoolView) -> tuple[bool, list[str]]:
    username_attrs = pool.username_attributes
    required = [n for n, a in pool.schema.items() if a.get("Required") and n != "sub"]
    # the addresses the pool verifies automatically: the confirmation code goes there
    verified = [n for n in pool.config.get("AutoVerifiedAttributes") or [] if n in ("email", "phone_number")]
    names = list(dict.fromkeys([*username_attrs[:1], *required, *verified]))
    return not username_attrs, names


def signup(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)
    if not forms.signup_allowed(domain.pool):
        raise ErrorPage(
            "Sign-up is not available", "New accounts are created by an administrator.", "signup_disabled", 403
        )
    ask_username, names = _signup_fields(domain.pool)
    with ui.runtime.store.read() as conn:
        documents = terms.sign_up_links(conn, req.client.id, req.raw.get("lang"))

    def page(status: int = 200, error: str | None = None, values: dict[str, str] | None = None) -> Response:
        return ui.render(
            request,
            domain,
            "signup.html",
            client=req.client,
            status=status,
            form="signup",
            error=error,
            action_url=ui.url(request, domain, "signup", req.query()),
            login_url=ui.url(request, domain, "login", req.query()),
            ask_username=ask_username,
            fields=forms.fields(domain.pool, names),
            values=values or {},
            password_rules=forms.password_rules(domain.pool),
            terms=documents,
        )

    if form is None:
        return page()
    ui.check_csrf(request, form, "signup")
    attributes = {k[5:]: v.strip() for k, v in form.items() if k.startswith("attr:") and v.strip()}
    username = form.get("username", "").strip() if ask_username else attributes.get(names[0], "")
    values = {"username": username, **attributes}
    if not username:
        return page(400, "Fill in every field.", values)
    params: dict[str, Any] = {
        "ClientId": req.client.id,
        "Username": username,
        "Password": form.get("password", ""),
        "UserAttributes": [{"Name": k, "Value": v} for k, v in attributes.items()],
        **forms.secret_hash(req.client, username),
    }
    try:
        out = selfservice.sign_up(ui.ctx(request, domain.pool, "SignUp"), params) or {}
    except ServiceError as err:
        return page(400, err.message, values)
    if out.get("UserConfirmed"):
        return RedirectResponse(ui.url(request, domain, "login", req.query(), info="signedup"), 302)
    destination = (out.get("CodeDeliveryDetails") or {}).get("Destination", "")
    return RedirectResponse(
        ui.url(request, domain, "confirmUser", req.query(), username=username, sent=destination), 302
    )


def confirm(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    domain = ui.domain(request)
    req = ui.parse_or_raise(domain, request)
    username = (form or {}).get("username") or request.query_params.get("username", "")
    sent = request.query_params.get("sent")

    def page(status: int = 200, error: str | None = None, info: str | None = None) -> Response:
        return ui.render(
            request,
            domain,
            "confirm.html",
            client=req.client,
            status=status,
            form="confirm",
            error=error,
            info=info,
            username=username,
            sent_to=f"We sent a code to {sent}." if sent else None,
            action_url=ui.url(request, domain, "confirmUser", req.query(), username=username),
        )

    if form is None:
        return page()
    ui.check_csrf(request, form, "confirm")
    ctx = ui.ctx(request, domain.pool, "ConfirmSignUp")
    base = {"ClientId": req.client.id, "Username": username, **forms.secret_hash(req.client, username)}
    try:
        if form.get("action") == "resend":
            out = selfservice.resend_confirmation_code(ctx, base) or {}
            sent = (out.get("CodeDeliveryDetails") or {}).get("Destination", sent)
            return page(info="We sent you a new code.")
        selfservice.confirm_sign_up(ctx, {**base, "ConfirmationCode": form.get("code", "").strip()})
    except ServiceError as err:
        return page(400, err.message)
    return RedirectResponse(ui.url(request, domain, "login", req.query(), info="confirmed"), 302)
