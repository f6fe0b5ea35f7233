"""Where external identity providers send the user back: ``/oauth2/idpresponse`` (OIDC and social
providers, with a code) and ``POST /saml2/idpresponse`` (the SAML assertion consumer service, also
IdP-initiated). The checks of the round trip and the assertion are in ``ostiary.oauth.idp_signin``;
the user signs in as on the password page (``login.signed_in``)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ostiary import egress
from ostiary.oauth import idp_signin
from ostiary.oauth.authorize_request import AuthorizeRequest
from ostiary.oauth.domain_routing import Domain
from ostiary.oauth.hosted.login import HOSTED_USER, signed_in
from ostiary.oauth.hosted.render import Pages
from ostiary.userpools.federated_users import ExternalIdentity
from ostiary.userpools.identity_providers import load_provider


def _resume(ui: Pages, domain: Domain, trip: idp_signin.RoundTrip) -> AuthorizeRequest | Response:
    return ui.parse_or_redirect(domain, trip.authorize)


def idp_response(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    """``/oauth2/idpresponse``: an OIDC or social provider sends the user back with a code."""
    domain = ui.domain(request)
    values = form if form is not None else dict(request.query_params)
    state = values.get("state") or ""
    trip = idp_signin.open_state(ui.runtime, domain.pool.id, state)
    req = _resume(ui, domain, trip)
    if isinstance(req, Response):
        return req
    if values.get("error"):
        description = values.get("error_description") or values["error"]
        return RedirectResponse(req.error_redirect("access_denied", description[:512]), status_code=302)
    code = values.get("code") or ""
    if not code:
        raise idp_signin.FederationError("The identity provider did not send an authorization code.")
    with ui.runtime.store.read() as conn:
        provider = load_provider(conn, ui.runtime.box, domain.pool.id, trip.provider)
    if provider is None or provider.type == "SAML":
        raise idp_signin.FederationError(f"The identity provider {trip.provider} no longer exists.")
    idp_signin.spend_state(ui.runtime, domain.pool.id, req.client.id, state, trip)
    identity = idp_signin.oidc_identity(provider, code, trip, egress.policy(ui.runtime.settings))
    return _federated(ui, request, domain, req, identity)


def saml_response(ui: Pages, request: Request, form: dict[str, str] | None) -> Response:
    """``POST /saml2/idpresponse``: the SAML assertion consumer service."""
    domain = ui.domain(request)
    form = form or {}
    encoded = form.get("SAMLResponse") or ""
    relay = form.get("RelayState") or ""
    if not encoded:
        raise idp_signin.FederationError("The request carries no SAMLResponse.")
    if len(encoded) > idp_signin.MAX_SAML_RESPONSE:
        raise idp_signin.FederationError("The SAML response is too large.")
    if not relay:
        raise idp_signin.FederationError(
            "The request carries no RelayState: an IdP-initiated sign-in must name the app client, "
            "redirect_uri, response_type and identity_provider in it."
        )
    if "=" in relay:  # IdP-initiated: the RelayState holds authorization request parameters
        return _unsolicited_saml(ui, request, domain, encoded, relay)
    trip = idp_signin.open_state(ui.runtime, domain.pool.id, relay)
    req = _resume(ui, domain, trip)
    if isinstance(req, Response):
        return req
    with ui.runtime.store.read() as conn:
        provider = load_provider(conn, ui.runtime.box, domain.pool.id, trip.provider)
    if provider is None or provider.type != "SAML":
        raise idp_signin.FederationError(f"The identity provider {trip.provider} no longer exists.")
    identity, assertion = idp_signin.saml_identity(provider, domain.pool.id, encoded, trip, trip.callback)
    idp_signin.spend_state(ui.runtime, domain.pool.id, req.client.id, relay, trip, assertion)
    return _federated(ui, request, domain, req, identity)


def _unsolicited_saml(ui: Pages, request: Request, domain: Domain, encoded: str, relay: str) -> Response:
    """IdP-initiated SAML sign-in (the provider's ``IDPInit`` must be ``true``)."""
    req = ui.parse_or_redirect(domain, dict(parse_qsl(relay)))
    if isinstance(req, Response):
        return req
    provider = idp_signin.chosen_provider(ui.runtime, req)
    if provider is None or provider.type != "SAML":
        raise idp_signin.FederationError("The RelayState must name a SAML identity provider of the app client.")
    if provider.details.get("IDPInit") != "true":
        raise idp_signin.FederationError(
            f"The identity provider {provider.name} does not allow IdP-initiated sign-in (IDPInit)."
        )
    if req.response_type != "code":
        raise idp_signin.FederationError("IdP-initiated sign-in only grants authorization codes.")
    acs = f"{ui.domain_url(request, domain)}/{idp_signin.SAML_ACS}"
    identity, assertion = idp_signin.saml_identity(provider, domain.pool.id, encoded, None, acs)
    idp_signin.spend_assertion(ui.runtime, domain.pool.id, req.client.id, provider.name, assertion)
    return _federated(ui, request, domain, req, identity)


def _federated(
    ui: Pages, request: Request, domain: Domain, req: AuthorizeRequest, identity: ExternalIdentity
) -> Response:
    source_ip = request.client.host if request.client else ""
    user = idp_signin.sign_in(ui.runtime, domain.pool, req.client, identity, source_ip)
    return signed_in(ui, request, domain, req, {HOSTED_USER: user.id})
