"""The hosted sign-in UI and the browser-facing OAuth endpoints of a user pool domain:
``GET /oauth2/authorize`` (RFC 6749 §4.1.1, §4.2.1; PKCE RFC 7636; OpenID Connect Core §3.1.2),
``/login``, ``/signup``, ``/confirmUser``, ``/forgotPassword``, ``/confirmForgotPassword``,
``/newPassword``, ``/error`` and ``GET /logout``, as Cognito's managed login serves them.

The pages call the same service functions as the API (SignUp, ConfirmSignUp, ForgotPassword, the
password sign-in of InitiateAuth…), so rules, messages, lockout and codes are the same. A
single-sign-on cookie (``cognito``, one hour) lets another client of the same domain sign in
without the password. Every form carries a CSRF token; pages forbid framing and inline scripts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from anyio import to_thread
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from ostiary import egress
from ostiary.oauth import common, endpoints, federation
from ostiary.oauth.common import AuthorizeRequest, ErrorPage, RedirectError
from ostiary.oauth.domains import PATH_PREFIX, Domain, DomainResolver
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import auth, selfservice, triggers
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.federated_users import ExternalIdentity
from ostiary.userpools.identity_providers import IdentityProvider, load_provider
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.secret_hash import secret_hash

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
HOSTED_USER = "_hosted_user"
INFO = {
    "confirmed": "Your account is confirmed. Sign in to continue.",
    "reset": "Your password has been reset. Sign in with your new password.",
    "signedup": "Your account is ready. Sign in to continue.",
    "loggedout": "You have been signed out.",
}
LABELS = {
    "email": "Email",
    "phone_number": "Phone number",
    "given_name": "Given name",
    "family_name": "Family name",
    "middle_name": "Middle name",
    "preferred_username": "Preferred username",
    "birthdate": "Birthdate",
    "zoneinfo": "Time zone",
    "updated_at": "Updated at",
}
INPUT_TYPES = {"email": ("email", "email"), "phone_number": ("tel", "tel"), "birthdate": ("date", "bday")}


def _finish_sign_in(
    ctx: RequestContext, conn: Connection, pool: PoolView, client: ClientView, user: User, now: dt.datetime
) -> dict[str, Any]:
    """How a hosted sign-in ends: no tokens yet (they come from /oauth2/token), just the user."""
    from ostiary.userpools import lockout

    lockout.record_success(conn, pool.id, user.id)
    auth.post_authentication(ctx, pool, client, user, new_device=False)
    return {HOSTED_USER: user.id}


class HostedUI:
    def __init__(self, runtime: Runtime, domains: DomainResolver) -> None:
        self.runtime = runtime
        self.domains = domains
        loaders: list[jinja2.BaseLoader] = []
        if runtime.settings.hosted_ui_templates:
            loaders.append(jinja2.FileSystemLoader(runtime.settings.hosted_ui_templates))
        loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
        self.env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True)
        self.csrf_key = runtime.box.mac_key("hosted-ui-csrf")

    # -- plumbing --------------------------------------------------------------------------------
    @staticmethod
    def _base(request: Request, domain: Domain) -> str:
        """The path the domain's pages live under: ``""`` when reached by its own host name."""
        return "" if request.scope.get("ostiary.domain_host") else f"{PATH_PREFIX}{domain.name}"

    @staticmethod
    def _secure(request: Request) -> bool:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        return proto == "https"

    def _headers(self, nonce: str) -> dict[str, str]:
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

    def _csrf_cookie(self, request: Request) -> tuple[str, bool]:
        value = request.cookies.get(common.CSRF_COOKIE)
        if value and 20 <= len(value) <= 100:
            return value, False
        return secrets.token_urlsafe(32), True

    def _customization(self, pool: PoolView, client: ClientView | None) -> tuple[str | None, bool]:
        from ostiary.userpools import ui_customization

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
        base = self._base(request, domain)
        nonce = secrets.token_urlsafe(16)
        cookie, fresh = self._csrf_cookie(request)
        css, has_logo = self._customization(domain.pool, client)
        logo_url = None
        if has_logo:
            logo_url = f"/_ostiary/ui/{domain.pool.id}/{client.id if client else 'ALL'}/logo"
        page = self.env.get_template(template).render(
            app_name=(client.name if client else domain.pool.name),
            static_url=f"{base}/static",
            custom_css=css,
            logo_url=logo_url,
            nonce=nonce,
            csrf=common.csrf_token(self.csrf_key, cookie, form) if form else "",
            **context,
        )
        response = HTMLResponse(page, status_code=status, headers=self._headers(nonce))
        if fresh:
            response.set_cookie(
                common.CSRF_COOKIE,
                cookie,
                path=base or "/",
                httponly=True,
                samesite="strict",
                secure=self._secure(request),
            )
        return response

    def error_page(self, request: Request, domain: Domain | None, err: ErrorPage) -> Response:
        if domain is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><h1>Not found</h1><p>This domain does not exist.</p>",
                status_code=404,
                headers=self._headers(secrets.token_urlsafe(8)),
            )
        return self.render(
            request, domain, "error.html", status=err.status, title=err.title, message=err.message, code=err.code
        )

    def _domain(self, request: Request) -> Domain:
        found = self.domains.get(request.path_params["domain"])
        if found is None:
            raise ErrorPage("Not found", "This domain does not exist.", "not_found", 404)
        return found

    def _check_csrf(self, request: Request, form: dict[str, str], name: str) -> None:
        if not common.csrf_ok(self.csrf_key, request.cookies.get(common.CSRF_COOKIE), name, form.get("_csrf")):
            raise ErrorPage(
                "Session expired",
                "The form has expired or was not sent from this page. Go back, reload the page and try again.",
                "invalid_csrf",
                403,
            )

    def _ctx(self, request: Request, pool: PoolView, operation: str) -> RequestContext:
        return common.service_context(self.runtime, pool, operation, request.client.host if request.client else "")

    @staticmethod
    def _secret_hash(client: ClientView, username: str) -> dict[str, str]:
        return {"SecretHash": secret_hash(client.secret, username, client.id)} if client.secret else {}

    def _url(self, request: Request, domain: Domain, page: str, query: str, **extra: str) -> str:
        params = dict(parse_qsl(query))
        params.update({k: v for k, v in extra.items() if v})
        return f"{self._base(request, domain)}/{page}?{urlencode(params)}"

    @staticmethod
    def _username_label(pool: PoolView) -> str:
        attributes = pool.username_attributes
        if attributes == ["email"]:
            return "Email"
        if attributes == ["phone_number"]:
            return "Phone number"
        if attributes:
            return "Email or phone number"
        return "Username"

    @staticmethod
    def _signup_allowed(pool: PoolView) -> bool:
        return not (pool.config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly")

    @staticmethod
    def _password_rules(pool: PoolView) -> list[str]:
        p = pool.password_policy
        rules = [f"At least {int(p.get('MinimumLength') or 8)} characters"]
        if p.get("RequireUppercase", True):
            rules.append("An uppercase letter")
        if p.get("RequireLowercase", True):
            rules.append("A lowercase letter")
        if p.get("RequireNumbers", True):
            rules.append("A number")
        if p.get("RequireSymbols", True):
            rules.append("A special character")
        return rules

    @staticmethod
    def _fields(pool: PoolView, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            kind, complete = INPUT_TYPES.get(name, ("text", "on"))
            label = LABELS.get(name) or name.removeprefix("custom:").replace("_", " ").capitalize()
            out.append({"name": name, "label": label, "type": kind, "autocomplete": complete, "required": True})
        return out

    # -- authorize -------------------------------------------------------------------------------
    def _parse(self, domain: Domain, params: dict[str, str]) -> AuthorizeRequest:
        return common.parse_authorize(self.runtime, domain.pool, params)

    def complete(self, request: Request, req: AuthorizeRequest, user_id: str, auth_time: dt.datetime) -> str:
        """Where the browser goes once the user is signed in: the client's redirect URI with a code
        (code flow) or tokens (implicit flow)."""
        if req.response_type == "code":
            code = common.new_code(self.runtime, req, user_id, auth_time)
            return common.redirect_with(req.redirect_uri, "code", {"code": code, "state": req.state})
        result = common.hosted_tokens(
            self.runtime, req.pool, req.client, user_id, req.scopes, req.nonce, auth_time, req.sso_session_id
        )
        if result is None:
            return req.error_redirect("access_denied", "User is disabled")
        values: dict[str, Any] = {"access_token": result["AccessToken"]}
        if "IdToken" in result:
            values["id_token"] = result["IdToken"]
        values.update(token_type="Bearer", expires_in=result["ExpiresIn"], state=req.state)
        return common.redirect_with(req.redirect_uri, "token", values)

    def authorize(self, request: Request) -> Response:
        domain = self._domain(request)
        params = dict(request.query_params)
        try:
            req = self._parse(domain, params)
        except RedirectError as err:
            assert err.request is not None
            return RedirectResponse(err.request.error_redirect(err.error, err.description), status_code=302)
        provider = federation.chosen_provider(self.runtime, req)
        if provider is not None and req.raw.get("identity_provider") and req.prompt != "none":
            # an explicit provider: always its sign-in (Cognito's behaviour), SSO cookie or not
            return RedirectResponse(self._to_provider(request, domain, req, provider), status_code=302)
        session = common.find_sso(self.runtime, domain.pool.id, request.cookies.get(common.SSO_COOKIE), req)
        if session is not None and req.prompt != "login":
            return RedirectResponse(self.complete(request, req, session.user_id, session.auth_time), status_code=302)
        if req.prompt == "none":
            return RedirectResponse(req.error_redirect("login_required", "The user is not signed in"), 302)
        if provider is not None:
            return RedirectResponse(self._to_provider(request, domain, req, provider), status_code=302)
        return RedirectResponse(self._url(request, domain, "login", req.query()), status_code=302)

    # -- federation ------------------------------------------------------------------------------
    def _domain_url(self, request: Request, domain: Domain) -> str:
        """The absolute URL of the domain's pages, as the browser reaches them."""
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("host") or request.url.netloc
        return f"{proto}://{host}{self._base(request, domain)}"

    def _to_provider(self, request: Request, domain: Domain, req: AuthorizeRequest, provider: IdentityProvider) -> str:
        return federation.provider_redirect(self.runtime, req, provider, self._domain_url(request, domain))

    def _provider_buttons(self, request: Request, domain: Domain, req: AuthorizeRequest) -> list[dict[str, str]]:
        buttons = []
        for provider in federation.external_providers(self.runtime, domain.pool, req.client):
            query = dict(parse_qsl(req.query()))
            query["identity_provider"] = provider.name
            buttons.append(
                {
                    "name": provider.name,
                    "type": provider.type,
                    "url": f"{self._base(request, domain)}/oauth2/authorize?{urlencode(query)}",
                }
            )
        return buttons

    def _resume(self, domain: Domain, trip: federation.RoundTrip) -> AuthorizeRequest | Response:
        try:
            return self._parse(domain, trip.authorize)
        except RedirectError as err:
            assert err.request is not None
            return RedirectResponse(err.request.error_redirect(err.error, err.description), status_code=302)

    def idp_response(self, request: Request, form: dict[str, str] | None) -> Response:
        """``/oauth2/idpresponse``: an OIDC or social provider sends the user back with a code."""
        domain = self._domain(request)
        values = form if form is not None else dict(request.query_params)
        state = values.get("state") or ""
        trip = federation.open_state(self.runtime, domain.pool.id, state)
        req = self._resume(domain, trip)
        if isinstance(req, Response):
            return req
        if values.get("error"):
            description = values.get("error_description") or values["error"]
            return RedirectResponse(req.error_redirect("access_denied", description[:512]), status_code=302)
        code = values.get("code") or ""
        if not code:
            raise federation.FederationError("The identity provider did not send an authorization code.")
        with self.runtime.store.read() as conn:
            provider = load_provider(conn, self.runtime.box, domain.pool.id, trip.provider)
        if provider is None or provider.type == "SAML":
            raise federation.FederationError(f"The identity provider {trip.provider} no longer exists.")
        federation.spend_state(self.runtime, domain.pool.id, req.client.id, state, trip)
        identity = federation.oidc_identity(provider, code, trip, egress.policy(self.runtime.settings))
        return self._federated(request, domain, req, identity)

    def saml_response(self, request: Request, form: dict[str, str] | None) -> Response:
        """``POST /saml2/idpresponse``: the SAML assertion consumer service."""
        domain = self._domain(request)
        form = form or {}
        encoded = form.get("SAMLResponse") or ""
        relay = form.get("RelayState") or ""
        if not encoded:
            raise federation.FederationError("The request carries no SAMLResponse.")
        if len(encoded) > federation.MAX_SAML_RESPONSE:
            raise federation.FederationError("The SAML response is too large.")
        if not relay:
            raise federation.FederationError(
                "The request carries no RelayState: an IdP-initiated sign-in must name the app client, "
                "redirect_uri, response_type and identity_provider in it."
            )
        if "=" in relay:  # IdP-initiated: the RelayState holds authorization request parameters
            return self._unsolicited_saml(request, domain, encoded, relay)
        trip = federation.open_state(self.runtime, domain.pool.id, relay)
        req = self._resume(domain, trip)
        if isinstance(req, Response):
            return req
        with self.runtime.store.read() as conn:
            provider = load_provider(conn, self.runtime.box, domain.pool.id, trip.provider)
        if provider is None or provider.type != "SAML":
            raise federation.FederationError(f"The identity provider {trip.provider} no longer exists.")
        identity, assertion = federation.saml_identity(provider, domain.pool.id, encoded, trip, trip.callback)
        federation.spend_state(self.runtime, domain.pool.id, req.client.id, relay, trip, assertion)
        return self._federated(request, domain, req, identity)

    def _unsolicited_saml(self, request: Request, domain: Domain, encoded: str, relay: str) -> Response:
        """IdP-initiated SAML sign-in (the provider's ``IDPInit`` must be ``true``)."""
        params = dict(parse_qsl(relay))
        try:
            req = self._parse(domain, params)
        except RedirectError as err:
            assert err.request is not None
            return RedirectResponse(err.request.error_redirect(err.error, err.description), status_code=302)
        provider = federation.chosen_provider(self.runtime, req)
        if provider is None or provider.type != "SAML":
            raise federation.FederationError("The RelayState must name a SAML identity provider of the app client.")
        if provider.details.get("IDPInit") != "true":
            raise federation.FederationError(
                f"The identity provider {provider.name} does not allow IdP-initiated sign-in (IDPInit)."
            )
        if req.response_type != "code":
            raise federation.FederationError("IdP-initiated sign-in only grants authorization codes.")
        acs = f"{self._domain_url(request, domain)}/{federation.SAML_ACS}"
        identity, assertion = federation.saml_identity(provider, domain.pool.id, encoded, None, acs)
        federation.spend_assertion(self.runtime, domain.pool.id, req.client.id, provider.name, assertion)
        return self._federated(request, domain, req, identity)

    def _federated(
        self, request: Request, domain: Domain, req: AuthorizeRequest, identity: ExternalIdentity
    ) -> Response:
        source_ip = request.client.host if request.client else ""
        user = federation.sign_in(self.runtime, domain.pool, req.client, identity, source_ip)
        return self._signed_in(request, domain, req, {HOSTED_USER: user.id})

    # -- sign in ---------------------------------------------------------------------------------
    def _login_page(
        self, request: Request, domain: Domain, req: AuthorizeRequest, status: int = 200, **context: Any
    ) -> Response:
        query = req.query()
        info = INFO.get(request.query_params.get("info", ""))
        return self.render(
            request,
            domain,
            "login.html",
            client=req.client,
            status=status,
            form="login",
            action_url=self._url(request, domain, "login", query),
            forgot_url=self._url(request, domain, "forgotPassword", query),
            signup_url=self._url(request, domain, "signup", query) if self._signup_allowed(domain.pool) else None,
            username_label=self._username_label(domain.pool),
            providers=self._provider_buttons(request, domain, req),
            password_form="COGNITO" in (req.client.config.get("SupportedIdentityProviders") or []),
            info=context.pop("info", info),
            **context,
        )

    def _signed_in(self, request: Request, domain: Domain, req: AuthorizeRequest, result: dict[str, Any]) -> Response:
        """After a sign-in step: a new-password page, or the SSO session and the client's redirect."""
        if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            import json

            required = [
                n.removeprefix("userAttributes.")
                for n in json.loads(result["ChallengeParameters"].get("requiredAttributes") or "[]")
            ]
            return self.render(
                request,
                domain,
                "new_password.html",
                client=req.client,
                form="newPassword",
                action_url=self._url(request, domain, "newPassword", req.query()),
                session=result["Session"],
                username=result["ChallengeParameters"].get("USER_ID_FOR_SRP", ""),
                fields=self._fields(domain.pool, required),
                password_rules=self._password_rules(domain.pool),
            )
        challenge = result.get("ChallengeName")
        if challenge in auth.MFA_CHALLENGES:
            return self._mfa_page(
                request, domain, req, challenge, result["Session"], result.get("ChallengeParameters") or {}
            )
        user_id = str(result[HOSTED_USER])
        signed_in_at = dt.datetime.now(dt.UTC)  # the auth_time of every token of this sign-in and its SSO reuses
        value = common.start_sso(self.runtime, domain.pool.id, user_id, req, signed_in_at)
        response = RedirectResponse(self.complete(request, req, user_id, signed_in_at), status_code=302)
        response.set_cookie(
            common.SSO_COOKIE,
            value,
            max_age=common.SSO_SECONDS,
            path=self._base(request, domain) or "/",
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )
        return response

    def login(self, request: Request, form: dict[str, str] | None) -> Response:
        domain = self._domain(request)
        try:
            req = self._parse(domain, dict(request.query_params))
        except RedirectError as err:
            assert err.request is not None
            return RedirectResponse(err.request.error_redirect(err.error, err.description), status_code=302)
        if form is None:
            session = common.find_sso(self.runtime, domain.pool.id, request.cookies.get(common.SSO_COOKIE), req)
            if session is not None and req.prompt != "login":
                return RedirectResponse(self.complete(request, req, session.user_id, session.auth_time), 302)
            provider = federation.chosen_provider(self.runtime, req)
            if provider is not None:
                return RedirectResponse(self._to_provider(request, domain, req, provider), status_code=302)
            return self._login_page(request, domain, req)
        self._check_csrf(request, form, "login")
        if "COGNITO" not in (req.client.config.get("SupportedIdentityProviders") or []):
            return self._login_page(
                request, domain, req, 400, error="This app signs users in through its identity providers only."
            )
        username, password = form.get("username", "").strip(), form.get("password", "")
        if not username or not password:
            return self._login_page(
                request, domain, req, 400, error="Enter your username and password.", username=username
            )
        ctx = self._ctx(request, domain.pool, "InitiateAuth")
        try:
            result = auth.hosted_password_sign_in(ctx, domain.pool, req.client, username, password, _finish_sign_in)
        except ServiceError as err:
            if err.code == "UserNotConfirmedException":
                return RedirectResponse(
                    self._url(request, domain, "confirmUser", req.query(), username=username), status_code=302
                )
            if err.code == "PasswordResetRequiredException":
                return RedirectResponse(
                    self._url(request, domain, "forgotPassword", req.query(), username=username), status_code=302
                )
            return self._login_page(request, domain, req, 400, error=err.message, username=username)
        return self._signed_in(request, domain, req, result)

    def new_password(self, request: Request, form: dict[str, str]) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)
        self._check_csrf(request, form, "newPassword")
        answers = {"NEW_PASSWORD": form.get("password", ""), "USERNAME": form.get("username", "")}
        answers.update({f"userAttributes.{k[5:]}": v for k, v in form.items() if k.startswith("attr:") and v})
        ctx = self._ctx(request, domain.pool, "RespondToAuthChallenge")
        try:
            result = auth.hosted_new_password(
                ctx, domain.pool, req.client, form.get("session", ""), answers, _finish_sign_in
            )
        except ServiceError as err:
            return self._login_page(request, domain, req, 400, error=err.message)
        return self._signed_in(request, domain, req, result)

    # -- MFA -------------------------------------------------------------------------------------
    MFA_PROMPTS = {
        "SMS_MFA": ("We texted a code to {dest}.", "Code"),
        "EMAIL_OTP": ("We emailed a code to {dest}.", "Code"),
        "SOFTWARE_TOKEN_MFA": ("Enter the code from your authenticator app.", "Code from your authenticator app"),
    }
    MFA_LABELS = {"SMS_MFA": "Text message (SMS)", "EMAIL_OTP": "Email", "SOFTWARE_TOKEN_MFA": "Authenticator app"}

    def _mfa_page(
        self,
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
        import json

        action_url = self._url(request, domain, "mfa", req.query())
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
            options = [
                {"value": o, "label": self.MFA_LABELS.get(o, o)}
                for o in json.loads(params.get("MFAS_CAN_CHOOSE", "[]"))
            ]
            return self.render(request, domain, "select_mfa.html", options=options, **common_context)
        if challenge == "MFA_SETUP":
            import segno

            from ostiary.userpools import mfa as mfa_ops

            ctx = self._ctx(request, domain.pool, "AssociateSoftwareToken")
            secret = str((mfa_ops.associate_software_token(ctx, {"Session": session}) or {})["SecretCode"])
            account = params.get("USER_ID_FOR_SRP", "")
            uri = mfa_ops.otpauth_uri(secret, account, req.client.name or domain.pool.name)
            return self.render(
                request,
                domain,
                "totp_setup.html",
                qr_data_uri=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
                secret_spaced=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
                **common_context,
            )
        prompt, label = self.MFA_PROMPTS[challenge]
        return self.render(
            request,
            domain,
            "mfa.html",
            challenge=challenge,
            prompt=prompt.format(dest=params.get("CODE_DELIVERY_DESTINATION", "you")),
            code_label=label,
            **common_context,
        )

    def mfa(self, request: Request, form: dict[str, str]) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)
        self._check_csrf(request, form, "mfa")
        challenge, session = form.get("challenge", ""), form.get("session", "")
        if challenge not in auth.MFA_CHALLENGES or not session:
            raise ErrorPage("Invalid request", "The sign-in form is incomplete.", "invalid_request")
        username, code = form.get("username", ""), form.get("code", "").strip()
        answers = {"USERNAME": username}
        ctx = self._ctx(request, domain.pool, "RespondToAuthChallenge")
        if challenge == "SELECT_MFA_TYPE":
            answers["ANSWER"] = form.get("answer", "")
        elif challenge == "MFA_SETUP":
            from ostiary.userpools import mfa as mfa_ops

            try:
                mfa_ops.verify_software_token(
                    ctx, {"Session": session, "UserCode": code, "FriendlyDeviceName": form.get("device") or None}
                )
            except ServiceError:
                return self._mfa_page(
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
            result = auth.hosted_respond(ctx, domain.pool, req.client, challenge, session, answers, _finish_sign_in)
        except ServiceError as err:
            if err.code in ("CodeMismatchException", "ExpiredCodeException"):  # Expired: a TOTP code used before
                return self._mfa_page(
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
            return self._login_page(request, domain, req, 400, error="Your sign-in session has ended. Sign in again.")
        return self._signed_in(request, domain, req, result)

    def _parse_or_raise(self, domain: Domain, request: Request) -> AuthorizeRequest:
        try:
            return self._parse(domain, dict(request.query_params))
        except RedirectError as err:
            raise ErrorPage("Invalid request", err.description, err.error) from None

    # -- sign up and confirmation ----------------------------------------------------------------
    def _signup_fields(self, pool: PoolView) -> tuple[bool, list[str]]:
        username_attrs = pool.username_attributes
        required = [n for n, a in pool.schema.items() if a.get("Required") and n != "sub"]
        # the addresses the pool verifies automatically: the confirmation code goes there
        verified = [n for n in pool.config.get("AutoVerifiedAttributes") or [] if n in ("email", "phone_number")]
        names = list(dict.fromkeys([*username_attrs[:1], *required, *verified]))
        return not username_attrs, names

    def signup(self, request: Request, form: dict[str, str] | None) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)
        if not self._signup_allowed(domain.pool):
            raise ErrorPage(
                "Sign-up is not available", "New accounts are created by an administrator.", "signup_disabled", 403
            )
        ask_username, names = self._signup_fields(domain.pool)
        from ostiary.userpools import terms

        with self.runtime.store.read() as conn:
            documents = terms.sign_up_links(conn, req.client.id, req.raw.get("lang"))

        def page(status: int = 200, error: str | None = None, values: dict[str, str] | None = None) -> Response:
            return self.render(
                request,
                domain,
                "signup.html",
                client=req.client,
                status=status,
                form="signup",
                error=error,
                action_url=self._url(request, domain, "signup", req.query()),
                login_url=self._url(request, domain, "login", req.query()),
                ask_username=ask_username,
                fields=self._fields(domain.pool, names),
                values=values or {},
                password_rules=self._password_rules(domain.pool),
                terms=documents,
            )

        if form is None:
            return page()
        self._check_csrf(request, form, "signup")
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
            **self._secret_hash(req.client, username),
        }
        try:
            out = selfservice.sign_up(self._ctx(request, domain.pool, "SignUp"), params) or {}
        except ServiceError as err:
            return page(400, err.message, values)
        if out.get("UserConfirmed"):
            return RedirectResponse(self._url(request, domain, "login", req.query(), info="signedup"), 302)
        destination = (out.get("CodeDeliveryDetails") or {}).get("Destination", "")
        return RedirectResponse(
            self._url(request, domain, "confirmUser", req.query(), username=username, sent=destination), 302
        )

    def confirm(self, request: Request, form: dict[str, str] | None) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)
        username = (form or {}).get("username") or request.query_params.get("username", "")
        sent = request.query_params.get("sent")

        def page(status: int = 200, error: str | None = None, info: str | None = None) -> Response:
            return self.render(
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
                action_url=self._url(request, domain, "confirmUser", req.query(), username=username),
            )

        if form is None:
            return page()
        self._check_csrf(request, form, "confirm")
        ctx = self._ctx(request, domain.pool, "ConfirmSignUp")
        base = {"ClientId": req.client.id, "Username": username, **self._secret_hash(req.client, username)}
        try:
            if form.get("action") == "resend":
                out = selfservice.resend_confirmation_code(ctx, base) or {}
                sent = (out.get("CodeDeliveryDetails") or {}).get("Destination", sent)
                return page(info="We sent you a new code.")
            selfservice.confirm_sign_up(ctx, {**base, "ConfirmationCode": form.get("code", "").strip()})
        except ServiceError as err:
            return page(400, err.message)
        return RedirectResponse(self._url(request, domain, "login", req.query(), info="confirmed"), 302)

    # -- forgotten passwords ---------------------------------------------------------------------
    def forgot(self, request: Request, form: dict[str, str] | None) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)

        def page(status: int = 200, error: str | None = None) -> Response:
            return self.render(
                request,
                domain,
                "forgot.html",
                client=req.client,
                status=status,
                form="forgot",
                error=error,
                username_label=self._username_label(domain.pool),
                action_url=self._url(request, domain, "forgotPassword", req.query()),
                login_url=self._url(request, domain, "login", req.query()),
            )

        if form is None:
            return page()
        self._check_csrf(request, form, "forgot")
        username = form.get("username", "").strip()
        if not username:
            return page(400, "Enter your username.")
        params = {"ClientId": req.client.id, "Username": username, **self._secret_hash(req.client, username)}
        try:
            out = selfservice.forgot_password(self._ctx(request, domain.pool, "ForgotPassword"), params) or {}
        except ServiceError as err:
            return page(400, err.message)
        destination = (out.get("CodeDeliveryDetails") or {}).get("Destination", "")
        return RedirectResponse(
            self._url(request, domain, "confirmForgotPassword", req.query(), username=username, sent=destination), 302
        )

    def confirm_forgot(self, request: Request, form: dict[str, str] | None) -> Response:
        domain = self._domain(request)
        req = self._parse_or_raise(domain, request)
        username = (form or {}).get("username") or request.query_params.get("username", "")
        sent = request.query_params.get("sent")

        def page(status: int = 200, error: str | None = None) -> Response:
            return self.render(
                request,
                domain,
                "reset.html",
                client=req.client,
                status=status,
                form="reset",
                error=error,
                username=username,
                sent_to=f"We sent a code to {sent}." if sent else None,
                password_rules=self._password_rules(domain.pool),
                action_url=self._url(request, domain, "confirmForgotPassword", req.query(), username=username),
            )

        if form is None:
            return page()
        self._check_csrf(request, form, "reset")
        params = {
            "ClientId": req.client.id,
            "Username": username,
            "ConfirmationCode": form.get("code", "").strip(),
            "Password": form.get("password", ""),
            **self._secret_hash(req.client, username),
        }
        try:
            selfservice.confirm_forgot_password(self._ctx(request, domain.pool, "ConfirmForgotPassword"), params)
        except ServiceError as err:
            return page(400, err.message)
        return RedirectResponse(self._url(request, domain, "login", req.query(), info="reset"), 302)

    # -- logout ----------------------------------------------------------------------------------
    def logout(self, request: Request) -> Response:
        """``/logout?client_id&logout_uri`` (signed out, back to the app), ``/logout?client_id&
        redirect_uri&response_type…`` (signed out, to the sign-in page), as Cognito has them; or
        OpenID Connect RP-Initiated Logout 1.0: ``id_token_hint``, ``post_logout_redirect_uri``,
        ``state``, ``client_id`` (signed out, back to the app with ``state``, or a signed-out page).
        Either way the address must be one of the app client's LogoutURLs, exactly."""
        domain = self._domain(request)
        params = dict(request.query_params)
        if "logout_uri" not in params and ("post_logout_redirect_uri" in params or "id_token_hint" in params):
            return self._rp_logout(request, domain, params)
        from ostiary.userpools.lookup import client_by_id

        with self.runtime.store.read() as conn:
            client_id = params.get("client_id", "")
            client = client_by_id(conn, self.runtime.box, client_id) if client_id else None
        if client is None or client.pool_id != domain.pool.id:
            raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
        logout_uri = params.get("logout_uri")
        if logout_uri is not None:
            if logout_uri not in (client.config.get("LogoutURLs") or []):
                raise ErrorPage(
                    "Invalid request", "The logout_uri is not registered for this app client.", "redirect_mismatch"
                )
            target = logout_uri
        else:
            req = self._parse_or_raise(domain, request)
            target = self._url(request, domain, "login", req.query(), info="loggedout")
        return self._signed_out(request, domain, RedirectResponse(target, status_code=302))

    def _signed_out(self, request: Request, domain: Domain, response: Response) -> Response:
        """End the browser's SSO session and forget its cookie."""
        common.end_sso(self.runtime, request.cookies.get(common.SSO_COOKIE))
        response.delete_cookie(common.SSO_COOKIE, path=self._base(request, domain) or "/")
        return response

    def _rp_logout(self, request: Request, domain: Domain, params: dict[str, str]) -> Response:
        """OpenID Connect RP-Initiated Logout 1.0 §2-3: the client is ``client_id`` or the hint's
        audience (both: they must agree); the hint must be an ID token this pool issued (expired
        ones too, §2); ``post_logout_redirect_uri`` must be one of the client's LogoutURLs."""
        from ostiary.userpools.lookup import client_by_id

        client_id = params.get("client_id") or None
        hint = params.get("id_token_hint")
        if hint is not None:
            audience = common.id_token_audience(self.runtime, domain.pool.id, hint)
            if audience is None:
                raise ErrorPage(
                    "Invalid request", "The id_token_hint is not an ID token of this user pool.", "invalid_request"
                )
            if client_id is not None and client_id != audience:
                raise ErrorPage(
                    "Invalid request", "The id_token_hint was not issued to this app client.", "invalid_request"
                )
            client_id = audience
        if client_id is None:
            raise ErrorPage(
                "Invalid request", "Name the app client with client_id or id_token_hint.", "invalid_request"
            )
        with self.runtime.store.read() as conn:
            client = client_by_id(conn, self.runtime.box, client_id)
        if client is None or client.pool_id != domain.pool.id:
            raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
        target = params.get("post_logout_redirect_uri")
        if target is None:
            page = self.render(request, domain, "signed_out.html", client=client)
            return self._signed_out(request, domain, page)
        if target not in (client.config.get("LogoutURLs") or []):
            raise ErrorPage(
                "Invalid request",
                "The post_logout_redirect_uri is not registered for this app client.",
                "redirect_mismatch",
            )
        state = params.get("state")
        if state is not None:
            target += ("&" if "?" in target else "?") + urlencode({"state": state})
        return self._signed_out(request, domain, RedirectResponse(target, status_code=302))

    def error(self, request: Request) -> Response:
        self._domain(request)
        raise ErrorPage(
            "Something went wrong",
            request.query_params.get("error_description", "An error occurred."),
            request.query_params.get("error", "error"),
        )

    # -- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        def page(
            handler: Callable[[Request, dict[str, str] | None], Response],
        ) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                form: dict[str, str] | None = None
                if request.method == "POST":
                    body = await request.body()
                    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                return await to_thread.run_sync(self._guard, handler, request, form)

            return endpoint

        def plain(handler: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                return await to_thread.run_sync(self._guard, lambda r, _f: handler(r), request, None)

            return endpoint

        def api(
            handler: Callable[[Runtime, Domain, Request, bytes], Response],
        ) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                # short and CPU-light (cached lookups, one signature): inline, like most API calls
                body = await request.body()
                domain = self.domains.get(request.path_params["domain"])
                if domain is None:
                    return endpoints.OAuthError("invalid_request", "Unknown domain", 404).response()
                if triggers.offload(body):  # a Lambda trigger (pre token generation) must not stall the loop
                    return await to_thread.run_sync(handler, self.runtime, domain, request, body)
                return handler(self.runtime, domain, request, body)

            return endpoint

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
            Route("/oauth2/authorize", plain(self.authorize), methods=["GET"]),
            Route("/oauth2/token", api(endpoints.token), methods=["POST"]),
            Route("/oauth2/userInfo", user_info, methods=["GET", "POST"]),
            Route("/oauth2/revoke", api(endpoints.revoke), methods=["POST"]),
            Route("/oauth2/idpresponse", page(self.idp_response), methods=["GET", "POST"]),
            Route("/saml2/idpresponse", page(self.saml_response), methods=["POST"]),
            Route("/login", page(self.login), methods=["GET", "POST"]),
            Route("/signup", page(self.signup), methods=["GET", "POST"]),
            Route("/confirmUser", page(self.confirm), methods=["GET", "POST"]),
            Route("/forgotPassword", page(self.forgot), methods=["GET", "POST"]),
            Route("/confirmForgotPassword", page(self.confirm_forgot), methods=["GET", "POST"]),
            Route("/newPassword", page(lambda r, f: self.new_password(r, f or {})), methods=["POST"]),
            Route("/mfa", page(lambda r, f: self.mfa(r, f or {})), methods=["POST"]),
            Route("/logout", plain(self.logout), methods=["GET"]),
            Route("/error", plain(self.error), methods=["GET"]),
            Route("/static/hosted.css", stylesheet, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        ]
        return [Mount(PATH_PREFIX.rstrip("/") + "/{domain}", routes=domain_routes)]

    async def serve_token(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /_domain/<domain>/oauth2/token`` without the router and middleware (the front door
        sends it here: it is the busiest endpoint)."""
        domain_name = scope["path"][len(PATH_PREFIX) :].split("/", 1)[0]
        request = Request(scope, receive)
        body = await request.body()
        domain = self.domains.get(domain_name)
        if domain is None:
            response = endpoints.OAuthError("invalid_request", "Unknown domain", 404).response()
        elif triggers.offload(body):
            response = await to_thread.run_sync(endpoints.token, self.runtime, domain, request, body)
        else:
            response = endpoints.token(self.runtime, domain, request, body)
        await response(scope, receive, send)

    def _guard(
        self,
        handler: Callable[[Request, dict[str, str] | None], Response],
        request: Request,
        form: dict[str, str] | None,
    ) -> Response:
        try:
            return handler(request, form)
        except ErrorPage as err:
            try:
                domain = self.domains.get(request.path_params["domain"])
            except KeyError:
                domain = None
            return self.error_page(request, domain, err)
