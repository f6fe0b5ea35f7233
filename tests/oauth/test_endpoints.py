"""The OAuth 2.0 / OpenID Connect endpoints of a user pool domain over HTTP: a code + PKCE sign-in
finished by a standard OIDC client library (Authlib) that verifies the ID token through the
discovery document, refresh, userInfo, revocation, client_credentials with a resource server's
custom scope, and the RFC 6749 errors."""

from __future__ import annotations

import base64
import secrets
import warnings
from pathlib import Path
from typing import Any

# authlib.deprecate puts an "always" filter for its warnings in front when it is first imported, which
# would beat the "ignore" below: import it first (the suite turns warnings into errors, pyproject.toml)
import authlib.deprecate  # noqa: F401
import httpx
import pytest

from tests.oauth.conftest import (
    CALLBACK,
    SCOPES,
    Hosted,
    add_user,
    make_hosted,
    pkce_pair,
    query_of,
    sign_in_over_http,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _authorize_params(h: Hosted, client_id: str, challenge: str | None = None, **extra: str) -> dict[str, str]:
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def test_discovery_names_the_domain_endpoints(hosted: Hosted) -> None:
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    assert doc["issuer"] == hosted.issuer
    assert doc["authorization_endpoint"] == f"{hosted.base}/oauth2/authorize"
    assert doc["token_endpoint"] == f"{hosted.base}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{hosted.base}/oauth2/userInfo"
    assert "S256" in doc["code_challenge_methods_supported"]


def test_code_pkce_sign_in_with_authlib(hosted: Hosted) -> None:
    add_user(hosted, "ana", email="ana@example.com", email_verified="true")
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    verifier, challenge = pkce_pair()
    with httpx.Client() as web:
        params = _authorize_params(hosted, hosted.client_id, challenge)
        location = sign_in_over_http(web, hosted, params, "ana", "Corr3ct-Horse!")
    assert location.startswith(CALLBACK)
    got = query_of(location)
    assert got["state"] == params["state"] and got["code"]

    client = OAuth2Client(client_id=hosted.client_id, redirect_uri=CALLBACK, code_challenge_method="S256")
    token = client.fetch_token(doc["token_endpoint"], code=got["code"], code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["refresh_token"] and token["expires_in"] == 3600
    jwks = JsonWebKey.import_key_set(httpx.get(doc["jwks_uri"]).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": doc["issuer"]}},
        claims_params={"nonce": params["nonce"], "client_id": hosted.client_id},
    )
    claims.validate()
    assert claims["cognito:username"] == "ana" and claims["email"] == "ana@example.com"
    access = jwt.decode(token["access_token"], jwks)
    assert access["token_use"] == "access" and set(access["scope"].split()) == {"openid", "email", "profile"}
    assert access["client_id"] == hosted.client_id and "aud" not in access

    info = httpx.get(doc["userinfo_endpoint"], headers={"authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 200
    assert info.json()["email"] == "ana@example.com" and info.json()["username"] == "ana"

    refreshed = client.refresh_token(doc["token_endpoint"], refresh_token=token["refresh_token"])
    client.close()
    assert jwt.decode(refreshed["access_token"], jwks)["scope"] == access["scope"]
    assert "id_token" in refreshed

    revoked = httpx.post(
        f"{hosted.base}/oauth2/revoke", data={"token": token["refresh_token"], "client_id": hosted.client_id}
    )
    assert revoked.status_code == 200
    again = httpx.post(
        doc["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": hosted.client_id},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    gone = httpx.get(doc["userinfo_endpoint"], headers={"authorization": f"Bearer {token['access_token']}"})
    assert gone.status_code == 401 and "invalid_token" in gone.headers["www-authenticate"]


def test_code_errors(hosted: Hosted) -> None:
    add_user(hosted, "bo")
    token_url = f"{hosted.base}/oauth2/token"
    verifier, challenge = pkce_pair()
    with httpx.Client() as web:
        got = query_of(
            sign_in_over_http(
                web, hosted, _authorize_params(hosted, hosted.client_id, challenge), "bo", "Corr3ct-Horse!"
            )
        )
        exchange = {
            "grant_type": "authorization_code",
            "code": got["code"],
            "client_id": hosted.client_id,
            "redirect_uri": CALLBACK,
        }
        wrong = httpx.post(token_url, data={**exchange, "code_verifier": "x" * 50})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        # the failed attempt used the code up
        reused = httpx.post(token_url, data={**exchange, "code_verifier": verifier})
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

        # a second sign-in is SSO (the session cookie), then the code works once only
        got = query_of(
            sign_in_over_http(
                web, hosted, _authorize_params(hosted, hosted.client_id, challenge), "bo", "Corr3ct-Horse!"
            )
        )
        exchange["code"] = got["code"]
        ok = httpx.post(token_url, data={**exchange, "code_verifier": verifier})
        assert ok.status_code == 200, ok.text
        assert ok.headers["cache-control"] == "no-store"
        reused = httpx.post(token_url, data={**exchange, "code_verifier": verifier})
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    # an unregistered redirect URI: an error page, never a redirect
    bad = httpx.get(
        f"{hosted.base}/oauth2/authorize",
        params=_authorize_params(hosted, hosted.client_id, redirect_uri="https://evil.example.com/cb"),
    )
    assert bad.status_code == 400 and "location" not in bad.headers and "redirect_mismatch" in bad.text
    unknown = httpx.get(f"{hosted.base}/oauth2/authorize", params=_authorize_params(hosted, "nope"))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    # a scope the client may not ask for: back to the client with invalid_scope
    scoped = httpx.get(
        f"{hosted.base}/oauth2/authorize", params=_authorize_params(hosted, hosted.client_id, scope="openid phone")
    )
    assert scoped.status_code == 302 and query_of(scoped.headers["location"])["error"] == "invalid_scope"
    bad_type = httpx.get(
        f"{hosted.base}/oauth2/authorize", params=_authorize_params(hosted, hosted.client_id, response_type="id_token")
    )
    assert query_of(bad_type.headers["location"])["error"] == "unsupported_response_type"
    unsupported = httpx.post(token_url, data={"grant_type": "password", "client_id": hosted.client_id})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_confidential_client_authentication(hosted: Hosted) -> None:
    add_user(hosted, "cy")
    token_url = f"{hosted.base}/oauth2/token"
    with httpx.Client() as web:
        got = query_of(
            sign_in_over_http(web, hosted, _authorize_params(hosted, hosted.secret_client_id), "cy", "Corr3ct-Horse!")
        )
    exchange = {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": CALLBACK}
    wrong = httpx.post(token_url, data=exchange, auth=(hosted.secret_client_id, "wrong-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    missing = httpx.post(token_url, data={**exchange, "client_id": hosted.secret_client_id})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    # client_secret_post (the wrong tries did not consume the code: authentication comes first)
    ok = httpx.post(token_url, data={**exchange, "client_id": hosted.secret_client_id, "client_secret": hosted.secret})
    assert ok.status_code == 200, ok.text


def test_client_credentials_with_a_custom_scope(hosted: Hosted) -> None:
    token_url = f"{hosted.base}/oauth2/token"
    basic = base64.b64encode(f"{hosted.m2m_client_id}:{hosted.m2m_secret}".encode()).decode()
    resp = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "https://api.example.com/orders.read"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and "refresh_token" not in body and "id_token" not in body
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    claims = jwt.decode(body["access_token"], JsonWebKey.import_key_set(httpx.get(doc["jwks_uri"]).json()))
    assert claims["sub"] == hosted.m2m_client_id and claims["scope"] == "https://api.example.com/orders.read"
    assert claims["token_use"] == "access" and "username" not in claims
    denied = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "https://api.example.com/orders.write"},
        headers={"authorization": f"Basic {basic}"},
    )
    assert denied.status_code == 400 and denied.json()["error"] == "invalid_scope"
    public = httpx.post(token_url, data={"grant_type": "client_credentials", "client_id": hosted.client_id})
    assert public.status_code in (400, 401) and public.json()["error"] in ("invalid_client", "unauthorized_client")


def test_domain_by_host_header(hosted: Hosted) -> None:
    host = f"{hosted.domain}.auth.us-east-1.amazoncognito.localhost"
    resp = httpx.get(
        f"{hosted.server.url}/oauth2/authorize",
        params=_authorize_params(hosted, hosted.client_id),
        headers={"host": host},
    )
    assert resp.status_code == 302 and resp.headers["location"].startswith("/login?")
    page = httpx.get(f"{hosted.server.url}{resp.headers['location']}", headers={"host": host})
    assert page.status_code == 200 and 'action="/login?' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_implicit_flow_over_http(hosted: Hosted) -> None:
    add_user(hosted, "di")
    with httpx.Client() as web:
        location = sign_in_over_http(
            web, hosted, _authorize_params(hosted, hosted.client_id, response_type="token"), "di", "Corr3ct-Horse!"
        )
    assert "#" in location and "?" not in location.split("#")[0].replace(CALLBACK, "")
    got = query_of(location)
    assert got["token_type"] == "Bearer" and got["access_token"] and got["id_token"]
    assert "refresh_token" not in got
    assert SCOPES  # the client's scopes include openid, so the ID token came too


def test_operator_templates_override_the_pages(server_factory: Any, tmp_path: Path) -> None:
    (tmp_path / "login.html").write_text(
        '{% extends "base.html" %}{% block heading %}Welcome to Acme{% endblock %}'
        '{% block content %}<form method="post" action="{{ action_url }}">'
        '<input type="hidden" name="_csrf" value="{{ csrf }}"></form>{% endblock %}'
    )
    srv = server_factory(env={"OSTIARY_HOSTED_UI_TEMPLATES": str(tmp_path)})
    h = make_hosted(srv)
    resp = httpx.get(f"{h.base}/login", params=_authorize_params(h, h.client_id))
    assert resp.status_code == 200 and "Welcome to Acme" in resp.text
    forgot = httpx.get(f"{h.base}/forgotPassword", params=_authorize_params(h, h.client_id))
    assert "Forgot your password?" in forgot.text  # pages without an override keep the built-in one
