"""GetClientToken through boto3: a machine-to-machine access token for a client with a secret and the
client_credentials configuration, verified with PyJWT against the pool's JWKS; the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

RS = "https://api.example.com"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def verify(server: Server, pool_id: str, token: str, **kwargs: Any) -> dict[str, Any]:
    discovery = httpx.get(f"{server.url}/{pool_id}/.well-known/openid-configuration").json()
    key = pyjwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = pyjwt.decode(token, key.key, algorithms=["RS256"], issuer=discovery["issuer"], **kwargs)
    return claims


@pytest.fixture
def m2m(idp: Any) -> Iterator[dict[str, Any]]:
    pool_id = idp.create_user_pool(PoolName="m2m")["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RS,
        Name="orders",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}],
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="worker",
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[f"{RS}/read", f"{RS}/write"],
        AccessTokenValidity=15,
        TokenValidityUnits={"AccessToken": "minutes"},
    )["UserPoolClient"]
    yield {"pool_id": pool_id, "client_id": client["ClientId"], "secret": client["ClientSecret"]}
    idp.delete_user_pool(UserPoolId=pool_id)


def test_client_token_verifies(server: Server, idp: Any, m2m: dict[str, Any]) -> None:
    out = idp.get_client_token(ClientId=m2m["client_id"], Secret=m2m["secret"])["ClientAuthenticationResult"]
    assert out["TokenType"] == "Bearer" and out["ExpiresIn"] == 900
    claims = verify(server, m2m["pool_id"], out["AccessToken"])
    assert claims["sub"] == claims["client_id"] == m2m["client_id"]
    assert claims["token_use"] == "access" and claims["scope"] == f"{RS}/read {RS}/write"
    assert claims["exp"] - claims["iat"] == 900 and "username" not in claims

    one = idp.get_client_token(ClientId=m2m["client_id"], Secret=m2m["secret"], Scopes=[f"{RS}/write"])
    assert verify(server, m2m["pool_id"], one["ClientAuthenticationResult"]["AccessToken"])["scope"] == f"{RS}/write"


def test_refusals(idp: Any, m2m: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=m2m["client_id"], Secret="x" * 40)
    assert _code(exc) == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=m2m["client_id"], Secret=m2m["secret"], Scopes=[f"{RS}/admin"])
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=m2m["client_id"], Secret=m2m["secret"], Scopes=["openid"])
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId="nosuchclient123", Secret=m2m["secret"])
    assert _code(exc) == "ResourceNotFoundException"
    # a client with a secret but no machine-to-machine configuration
    user_client = idp.create_user_pool_client(
        UserPoolId=m2m["pool_id"], ClientName="web", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
    )["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=user_client["ClientId"], Secret=user_client["ClientSecret"])
    assert _code(exc) == "InvalidParameterException"
    # a public client: GetClientToken needs a secret
    public = idp.create_user_pool_client(UserPoolId=m2m["pool_id"], ClientName="spa")["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=public["ClientId"], Secret="x" * 40)
    assert _code(exc) == "InvalidParameterException"


def test_same_token_as_the_token_endpoint(server: Server, idp: Any, m2m: dict[str, Any]) -> None:
    """/oauth2/token's client_credentials grant and GetClientToken mint the same kind of token."""
    domain = "m2m-" + m2m["client_id"][:8].lower()
    idp.create_user_pool_domain(UserPoolId=m2m["pool_id"], Domain=domain)
    r = httpx.post(
        f"{server.url}/_domain/{domain}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": f"{RS}/read"},
        auth=(m2m["client_id"], m2m["secret"]),
    )
    assert r.status_code == 200, r.text
    from_endpoint = verify(server, m2m["pool_id"], r.json()["access_token"])
    api = idp.get_client_token(ClientId=m2m["client_id"], Secret=m2m["secret"], Scopes=[f"{RS}/read"])
    from_api = verify(server, m2m["pool_id"], api["ClientAuthenticationResult"]["AccessToken"])
    assert set(from_endpoint) == set(from_api)
    assert {k: v for k, v in from_endpoint.items() if k not in ("jti", "iat", "exp", "auth_time")} == {
        k: v for k, v in from_api.items() if k not in ("jti", "iat", "exp", "auth_time")
    }
