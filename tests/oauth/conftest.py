"""Fixtures for the OAuth 2.0 / OIDC endpoints and the hosted pages: a pool with a domain, app
clients for the code, implicit and client_credentials flows, and a way to sign in over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import Server

CALLBACK = "http://localhost:8976/callback"
SIGNED_OUT = "http://localhost:8976/signed-out"
SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]


@dataclass
class Hosted:
    server: Server
    pool_id: str
    domain: str
    client_id: str
    second_client_id: str
    secret_client_id: str
    secret: str
    m2m_client_id: str
    m2m_secret: str
    idp: Any
    callback: str = CALLBACK
    signed_out: str = SIGNED_OUT

    @property
    def base(self) -> str:
        return f"{self.server.url}/_domain/{self.domain}"

    @property
    def issuer(self) -> str:
        return f"{self.server.url}/{self.pool_id}"


def make_hosted(server: Server, callback: str = CALLBACK, signed_out: str = SIGNED_OUT, **pool_args: Any) -> Hosted:
    idp = server.client("cognito-idp")
    args: dict[str, Any] = {"PoolName": "hosted-" + secrets.token_hex(3), "AutoVerifiedAttributes": ["email"]}
    args.update(pool_args)
    pool_id = idp.create_user_pool(**args)["UserPool"]["Id"]
    domain = "app-" + secrets.token_hex(4)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    common = {
        "UserPoolId": pool_id,
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthFlows": ["code", "implicit"],
        "AllowedOAuthScopes": SCOPES,
        "CallbackURLs": [callback],
        "LogoutURLs": [signed_out],
        "SupportedIdentityProviders": ["COGNITO"],
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    }
    client_id = idp.create_user_pool_client(ClientName="web", **common)["UserPoolClient"]["ClientId"]
    second = idp.create_user_pool_client(ClientName="second", **common)["UserPoolClient"]["ClientId"]
    confidential = idp.create_user_pool_client(ClientName="server-side", GenerateSecret=True, **common)[
        "UserPoolClient"
    ]
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="https://api.example.com",
        Name="orders",
        Scopes=[
            {"ScopeName": "orders.read", "ScopeDescription": "read"},
            {"ScopeName": "orders.write", "ScopeDescription": "write"},
        ],
    )
    m2m = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="m2m",
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["https://api.example.com/orders.read"],
    )["UserPoolClient"]
    return Hosted(
        server=server,
        pool_id=pool_id,
        domain=domain,
        client_id=client_id,
        second_client_id=second,
        secret_client_id=confidential["ClientId"],
        secret=confidential["ClientSecret"],
        m2m_client_id=m2m["ClientId"],
        m2m_secret=m2m["ClientSecret"],
        idp=idp,
    )


@pytest.fixture(scope="module")
def hosted(dev_server: Server) -> Hosted:
    return make_hosted(dev_server)


def add_user(h: Hosted, username: str, password: str = "Corr3ct-Horse!", **attributes: str) -> None:
    attrs = [{"Name": k, "Value": v} for k, v in attributes.items()]
    h.idp.admin_create_user(UserPoolId=h.pool_id, Username=username, UserAttributes=attrs, MessageAction="SUPPRESS")
    h.idp.admin_set_user_password(UserPoolId=h.pool_id, Username=username, Password=password, Permanent=True)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def sign_in_over_http(web: httpx.Client, h: Hosted, params: dict[str, str], username: str, password: str) -> str:
    """Follow /oauth2/authorize to the login page, post the form; the Location of the final redirect."""
    resp = web.get(f"{h.base}/oauth2/authorize", params=params)
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    if location.startswith(CALLBACK):
        return location
    page = web.get(h.server.url + location if location.startswith("/") else location)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    fields = form_fields(page.text)
    fields.update(username=username, password=password)
    target = action.group(1).replace("&amp;", "&")
    done = web.post(h.server.url + target, data=fields)
    assert done.status_code == 302, done.text[:2000]
    return str(done.headers["location"])


def query_of(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}
