"""``/authorize``: the authorization code + PKCE page ``aws sso login`` opens (the AWS CLI v2's
``SSOTokenFetcherAuth`` parameters), through the real server: sign-in, consent, the redirect to the CLI's
loopback address with ``code`` and ``state``, then CreateToken with the code verifier; a denial; an
unregistered redirect URI answered with an error page, never a redirect."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import httpx
import pytest

from tests.accessportal.conftest import form_action, hidden_fields, portal_user, start_url
from tests.conftest import REGION
from tests.ssoadmin.conftest import Instance

REDIRECT = "http://127.0.0.1/oauth/callback"


@pytest.fixture
def oidc(portal: Instance) -> Any:
    client = boto3.client("sso-oidc", endpoint_url=portal.server.url, region_name=REGION)
    yield client
    client.close()


def register(oidc: Any, portal: Instance) -> dict[str, Any]:
    return dict(
        oidc.register_client(
            clientName="botocore-client-test",
            clientType="public",
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=[REDIRECT],
            issuerUrl=start_url(portal),
            scopes=["sso:account:access"],
        )
    )


def authorize_url(portal: Instance, client_id: str, port: int, state: str, challenge: str) -> str:
    """As the AWS CLI spells it: code_challenge appended last, its final '=' trimmed."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": f"http://127.0.0.1:{port}/oauth/callback",
        "state": state,
        "code_challenge_method": "S256",
        "scopes": "sso:account:access",
    }
    return f"{portal.server.url}/authorize?{urlencode(query)}&code_challenge={challenge}"


def pkce() -> tuple[str, str]:
    verifier = "".join(secrets.choice(string.ascii_letters + string.digits + "-._~") for _ in range(64))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()[:-1]
    return verifier, challenge


def consent(web: httpx.Client, portal: Instance, url: str) -> httpx.Response:
    """Follow /authorize through the sign-in to the consent page."""
    person = portal_user(portal)
    first = web.get(url)
    assert first.status_code == 303, first.text
    assert first.headers["location"].startswith(f"/start/{portal.identity_store_id}?next=%2Fauthorize%3F")
    page = web.get(portal.server.url + first.headers["location"])
    fields = hidden_fields(page.text)
    fields.update(username=person.user_name, password=person.password)
    signed = web.post(portal.server.url + form_action(page.text), data=fields)
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"].startswith("/authorize?")
    shown = web.get(portal.server.url + signed.headers["location"])
    assert shown.status_code == 200, shown.text
    assert "Authorize request: botocore-client-test" in shown.text
    return shown


def test_code_flow_like_the_aws_cli(portal: Instance, oidc: Any) -> None:
    client = register(oidc, portal)
    verifier, challenge = pkce()
    state = str(uuid.uuid4())
    port = 45678
    with httpx.Client() as web:
        shown = consent(web, portal, authorize_url(portal, client["clientId"], port, state, challenge))
        fields = hidden_fields(shown.text)
        fields["decision"] = "allow"
        done = web.post(portal.server.url + form_action(shown.text), data=fields)
    assert done.status_code == 303, done.text
    target = urlsplit(done.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"http://127.0.0.1:{port}/oauth/callback"
    got = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert got["state"] == state and got["code"]
    token = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="authorization_code",
        redirectUri=f"http://127.0.0.1:{port}/oauth/callback",
        codeVerifier=verifier,
        code=got["code"],
    )
    assert token["accessToken"] and token.get("refreshToken")


def test_denied(portal: Instance, oidc: Any) -> None:
    client = register(oidc, portal)
    _, challenge = pkce()
    with httpx.Client() as web:
        shown = consent(web, portal, authorize_url(portal, client["clientId"], 45679, "s-1", challenge))
        fields = hidden_fields(shown.text)
        fields["decision"] = "deny"
        done = web.post(portal.server.url + form_action(shown.text), data=fields)
    assert done.status_code == 303
    got = parse_qs(urlsplit(done.headers["location"]).query)
    assert got["error"] == ["access_denied"] and got["state"] == ["s-1"] and "code" not in got


def test_bad_requests_get_an_error_page(portal: Instance, oidc: Any) -> None:
    client = register(oidc, portal)
    _, challenge = pkce()
    url = authorize_url(portal, client["clientId"], 45680, "s", challenge)
    with httpx.Client() as web:
        for bad in (
            url.replace("127.0.0.1%3A45680", "evil.example"),  # an unregistered redirect URI
            url.replace(client["clientId"], "unknown-client"),
            url.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            url.split("&code_challenge=")[0],
        ):
            answer = web.get(bad)
            assert answer.status_code in (400, 401), answer.text
            assert "location" not in answer.headers
            assert "Invalid request" in answer.text


def test_consent_needs_csrf(portal: Instance, oidc: Any) -> None:
    client = register(oidc, portal)
    _, challenge = pkce()
    with httpx.Client() as web:
        shown = consent(web, portal, authorize_url(portal, client["clientId"], 45681, "s", challenge))
        fields = hidden_fields(shown.text)
        fields.pop("_csrf")
        fields["decision"] = "allow"
        refused = web.post(portal.server.url + form_action(shown.text), data=fields)
    assert refused.status_code == 403
    assert "location" not in refused.headers
