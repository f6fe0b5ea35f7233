"""The token exchange grant at ``/oauth2/token`` (RFC 8693 §2): a user's hosted-UI tokens (code +
PKCE) exchanged by a service for an audience-bound token with a subset of the scopes, delegation's
``act`` claim, RFC 8693's response members and error codes; PyJWT verifies the issued tokens."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from tests.conftest import Server
from tests.oauth.conftest import CALLBACK, Hosted, add_user, pkce_pair, query_of, sign_in_over_http

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
ID = "urn:ietf:params:oauth:token-type:id_token"
RS = "https://api.example.com"


def verify(h: Hosted, token: str, **kwargs: Any) -> dict[str, Any]:
    key = pyjwt.PyJWKClient(f"{h.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims: dict[str, Any] = pyjwt.decode(token, key.key, algorithms=["RS256"], issuer=h.issuer, **kwargs)
    return claims


@pytest.fixture(scope="module")
def users_tokens(hosted: Hosted) -> dict[str, Any]:
    """Tokens of a user signed in at the hosted UI by a client allowed openid, email and orders.read."""
    spa = hosted.idp.create_user_pool_client(
        UserPoolId=hosted.pool_id,
        ClientName="spa",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email", f"{RS}/orders.read"],
        CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]["ClientId"]
    add_user(hosted, "tx-" + secrets.token_hex(3), email="x@example.com")
    username = hosted.idp.list_users(UserPoolId=hosted.pool_id, Filter='email = "x@example.com"')["Users"][0][
        "Username"
    ]
    verifier, challenge = pkce_pair()
    params = {
        "client_id": spa,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": f"openid email {RS}/orders.read",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client() as web:
        code = query_of(sign_in_over_http(web, hosted, params, username, "Corr3ct-Horse!"))["code"]
        r = web.post(
            f"{hosted.base}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": spa,
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def service(hosted: Hosted) -> dict[str, str]:
    out = hosted.idp.create_user_pool_client(
        UserPoolId=hosted.pool_id,
        ClientName="svc",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_TOKEN_EXCHANGE_IMPERSONATION", "ALLOW_TOKEN_EXCHANGE_DELEGATION"],
        AllowedOAuthScopes=["openid", "email", f"{RS}/orders.read", f"{RS}/orders.write"],
    )["UserPoolClient"]
    return {"id": out["ClientId"], "secret": out["ClientSecret"]}


def _exchange(h: Hosted, service: dict[str, str], **form: str) -> httpx.Response:
    return httpx.post(
        f"{h.base}/oauth2/token", data={"grant_type": GRANT, **form}, auth=(service["id"], service["secret"])
    )


def test_discovery_names_the_grant(hosted: Hosted) -> None:
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    assert GRANT in doc["grant_types_supported"]


def test_exchange_for_an_audience(hosted: Hosted, users_tokens: dict[str, Any], service: dict[str, str]) -> None:
    subject = verify(hosted, users_tokens["access_token"])
    r = _exchange(
        hosted,
        service,
        subject_token=users_tokens["access_token"],
        subject_token_type=ACCESS,
        audience="ledger",
        scope=f"{RS}/orders.read {RS}/orders.write",  # orders.write: not the subject's, dropped
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["cache-control"] == "no-store"
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    assert body["scope"] == f"{RS}/orders.read" and 0 < body["expires_in"] <= 3600
    claims = verify(hosted, body["access_token"], audience="ledger")
    assert claims["sub"] == subject["sub"] and claims["client_id"] == service["id"]
    assert claims["scope"] == f"{RS}/orders.read" and claims["exp"] <= subject["exp"] and "act" not in claims

    # a resource server as the target (RFC 8707's resource): its scopes only
    r = _exchange(hosted, service, subject_token=users_tokens["access_token"], subject_token_type=ACCESS, resource=RS)
    assert r.status_code == 200 and r.json()["scope"] == f"{RS}/orders.read"
    assert verify(hosted, r.json()["access_token"], audience=RS)["aud"] == RS

    # the ID token for the service
    r = _exchange(
        hosted, service, subject_token=users_tokens["id_token"], subject_token_type=ID, requested_token_type=ID
    )
    assert r.status_code == 200, r.text
    assert r.json()["issued_token_type"] == ID and r.json()["token_type"] == "N_A" and "scope" not in r.json()
    assert verify(hosted, r.json()["access_token"], audience=service["id"])["token_use"] == "id"


def test_delegation(hosted: Hosted, users_tokens: dict[str, Any], service: dict[str, str]) -> None:
    worker = httpx.post(
        f"{hosted.base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(hosted.m2m_client_id, hosted.m2m_secret),
    ).json()["access_token"]
    r = _exchange(
        hosted,
        service,
        subject_token=users_tokens["access_token"],
        subject_token_type=ACCESS,
        actor_token=worker,
        actor_token_type=ACCESS,
    )
    assert r.status_code == 200, r.text
    claims = verify(hosted, r.json()["access_token"])
    assert claims["act"] == {"sub": hosted.m2m_client_id, "client_id": hosted.m2m_client_id}


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"subject_token": "", "subject_token_type": ACCESS}, 400, "invalid_request"),
        ({"subject_token": "x.y.z", "subject_token_type": ACCESS}, 400, "invalid_grant"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}, 400, "invalid_request"),
        ({"subject_token_type": ID}, 400, "invalid_grant"),
        ({"subject_token_type": ACCESS, "scope": "phone"}, 400, "invalid_scope"),
        ({"subject_token_type": ACCESS, "resource": "https://nosuch.example.com"}, 400, "invalid_target"),
        ({"subject_token_type": ACCESS, "audience": "a", "resource": RS}, 400, "invalid_request"),
        ({"subject_token_type": ACCESS, "actor_token": "x.y.z"}, 400, "invalid_request"),
    ],
)
def test_errors(
    hosted: Hosted, users_tokens: dict[str, Any], service: dict[str, str], form: dict[str, str], status: int, error: str
) -> None:
    data = {"subject_token": users_tokens["access_token"], **form} if form else {}
    r = _exchange(hosted, service, **data)
    assert r.status_code == status and r.json()["error"] == error, r.text


def test_client_must_have_the_flow(server: Server, hosted: Hosted, users_tokens: dict[str, Any]) -> None:
    r = httpx.post(
        f"{hosted.base}/oauth2/token",
        data={"grant_type": GRANT, "subject_token": users_tokens["access_token"], "subject_token_type": ACCESS},
        auth=(hosted.secret_client_id, hosted.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    r = httpx.post(
        f"{hosted.base}/oauth2/token",
        data={"grant_type": GRANT, "subject_token": users_tokens["access_token"], "subject_token_type": ACCESS},
        auth=(hosted.secret_client_id, "wrong"),
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
