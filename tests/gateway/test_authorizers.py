"""The JWT (HTTP API) and Cognito user pool (REST API) authorizers through ``ostiary gateway``,
with tokens of a real Ostiary user pool (password sign-in, client_credentials) and, for the attacks,
of a local OIDC issuer whose key this test holds (expired, not yet valid, other audience, other
issuer, forged signature, unknown kid, alg none, HS256 with the public key as secret)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import Server
from tests.gateway.conftest import GatewayProcess, Upstream, start_gateway

PASSWORD = "Corr3ct-Horse-Battery!"


@dataclass
class Pool:
    pool_id: str
    web_client: str
    m2m_read: tuple[str, str]
    m2m_write: tuple[str, str]
    domain: str
    id_token: str
    access_token: str
    sub: str


@pytest.fixture(scope="module")
def pool(server: Server) -> Pool:
    idp = server.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="gw-" + secrets.token_hex(3))["UserPool"]["Id"]
    domain = "gw-" + secrets.token_hex(4)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="pets",
        Name="pets",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}],
    )
    web = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    m2m: list[tuple[str, str]] = []
    for scope in ("pets/read", "pets/write"):
        created = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="m2m",
            GenerateSecret=True,
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=[scope],
        )["UserPoolClient"]
        m2m.append((created["ClientId"], created["ClientSecret"]))
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True)
    result = idp.initiate_auth(
        ClientId=web, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    sub = jwt.decode(result["IdToken"], options={"verify_signature": False})["sub"]
    return Pool(pool_id, web, m2m[0], m2m[1], domain, result["IdToken"], result["AccessToken"], sub)


def m2m_token(server: Server, pool: Pool, client: tuple[str, str], scope: str) -> str:
    basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    answer = httpx.post(
        f"{server.url}/_domain/{pool.domain}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


class Issuer:
    """A local OIDC issuer: discovery and JWKS over HTTP, and the private key to sign with."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "k1"
        self.jwks: list[dict[str, Any]] = []
        self._publish()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    doc: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json"}
                elif self.path == "/jwks.json":
                    doc = {"keys": list(issuer.jwks)}
                else:
                    self.send_error(404)
                    return
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _publish(self) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        self.jwks.append(jwk)

    def rotate(self) -> None:
        """A new signing key under a new kid, published beside the old one."""
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"k{len(self.jwks) + 1}"
        self._publish()

    def token(self, key: Any = None, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "sub": "s-1", "aud": "api", "iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    local = Issuer()
    yield local
    local.close()


@pytest.fixture(scope="module")
def gateway(
    server: Server, pool: Pool, issuer: Issuer, upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = f"""
[authorizers.users]
type = "jwt"
user_pool = "{pool.pool_id}"
audience = ["{pool.web_client}", "{pool.m2m_read[0]}", "{pool.m2m_write[0]}"]

[authorizers.local]
type = "jwt"
issuer = "{issuer.url}"
audience = ["api"]

[authorizers.query]
type = "jwt"
issuer = "{issuer.url}"
audience = ["api"]
identity_source = "$request.querystring.token"

[authorizers.cognito]
type = "cognito"
user_pools = ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool.pool_id}"]

[[routes]]
route = "ANY /jwt/{{proxy+}}"
upstream = "{upstream.url}"
authorizer = "users"

[[routes]]
route = "GET /scoped"
upstream = "{upstream.url}"
authorizer = "users"
authorization_scopes = ["pets/read"]

[[routes]]
route = "GET /local"
upstream = "{upstream.url}"
authorizer = "local"

[[routes]]
route = "GET /query"
upstream = "{upstream.url}"
authorizer = "query"

[[routes]]
route = "GET /cognito/id"
upstream = "{upstream.url}"
authorizer = "cognito"

[[routes]]
route = "GET /cognito/scoped"
upstream = "{upstream.url}"
authorizer = "cognito"
authorization_scopes = ["pets/read", "pets/admin"]
"""
    gw = start_gateway(tmp_path_factory.mktemp("gw-auth"), f'ostiary_url = "{server.url}"', config)
    yield gw
    gw.stop()


UNAUTHORIZED = (401, {"message": "Unauthorized"})
FORBIDDEN = (403, {"message": "Forbidden"})


def _call(gateway: GatewayProcess, path: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = token
    return httpx.get(gateway.url + path, headers=headers)


def _seen(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {k: v for k, v in answer.json()["headers"]}


def test_jwt_authorizer_with_pool_tokens(gateway: GatewayProcess, pool: Pool) -> None:
    assert (lambda a: (a.status_code, a.json()))(_call(gateway, "/jwt/x")) == UNAUTHORIZED
    for token in (pool.id_token, "Bearer " + pool.id_token, pool.access_token):  # aud, or client_id
        seen = _seen(
            _call(gateway, "/jwt/x", token, **{"X-Authorizer-Claim-Sub": "admin", "X-Authorizer-Claims": "{}"})
        )
        assert seen["x-authorizer-claim-sub"] == pool.sub
        assert seen["x-authorizer-principal-id"] == pool.sub
        assert seen["x-authorizer-name"] == "users"
        claims = json.loads(seen["x-authorizer-claims"])
        assert claims["sub"] == pool.sub
        assert [k for k in seen if k == "x-authorizer-claim-sub"] == ["x-authorizer-claim-sub"]
    seen = _seen(_call(gateway, "/jwt/x", pool.id_token))
    assert seen["x-authorizer-claim-cognito-username"] == "alice"


def test_jwt_scopes(gateway: GatewayProcess, pool: Pool, server: Server) -> None:
    read = m2m_token(server, pool, pool.m2m_read, "pets/read")
    write = m2m_token(server, pool, pool.m2m_write, "pets/write")
    seen = _seen(_call(gateway, "/scoped", read))
    assert seen["x-authorizer-scopes"] == "pets/read"
    for token in (write, pool.access_token, pool.id_token):  # valid, but none of the route's scopes
        answer = _call(gateway, "/scoped", token)
        assert (answer.status_code, answer.json()) == FORBIDDEN


def test_cognito_authorizer(gateway: GatewayProcess, pool: Pool, server: Server) -> None:
    seen = _seen(_call(gateway, "/cognito/id", pool.id_token))
    assert json.loads(seen["x-authorizer-claims"])["cognito:username"] == "alice"
    read = m2m_token(server, pool, pool.m2m_read, "pets/read")
    write = m2m_token(server, pool, pool.m2m_write, "pets/write")
    # no scopes on the method: an ID token only; with scopes: an access token carrying one of them
    for path, token in (
        ("/cognito/id", pool.access_token),
        ("/cognito/id", read),
        ("/cognito/scoped", pool.id_token),
        ("/cognito/scoped", write),
        ("/cognito/scoped", None),
    ):
        answer = _call(gateway, path, token)
        assert (answer.status_code, answer.json()) == UNAUTHORIZED, path
    assert _seen(_call(gateway, "/cognito/scoped", read))["x-authorizer-scopes"] == "pets/read"


def test_identity_source_in_the_query(gateway: GatewayProcess, issuer: Issuer) -> None:
    assert httpx.get(gateway.url + "/query", params={"token": issuer.token()}).status_code == 200
    assert httpx.get(gateway.url + "/query", headers={"Authorization": issuer.token()}).status_code == 401


def _b64(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def test_refused_tokens(gateway: GatewayProcess, issuer: Issuer, pool: Pool, tmp_path: Path) -> None:
    now = int(time.time())
    assert _call(gateway, "/local", issuer.token()).status_code == 200
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"iss": issuer.url, "sub": "s-1", "aud": "api", "iat": now, "exp": now + 300}
    hs256 = jwt.api_jws.PyJWS()
    hs256._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    refused = {
        "expired": issuer.token(exp=now - 3600, iat=now - 7200),
        "not yet valid": issuer.token(nbf=now + 3600),
        "issued in the future": issuer.token(iat=now + 3600),
        "no exp": issuer.token(exp=None),
        "other audience": issuer.token(aud="someone-else"),
        "other issuer": issuer.token(iss="http://127.0.0.1:1/evil"),
        "forged signature": issuer.token(key=other_key),
        "unknown kid": issuer.token(headers={"kid": "nope"}),
        "alg none": _b64({"alg": "none", "kid": issuer.kid}) + "." + _b64(claims) + ".",
        "HS256 with the public key": hs256.encode(
            json.dumps(claims).encode(), public_pem, algorithm="HS256", headers={"kid": issuer.kid}
        ),
        "another pool's token": pool.id_token,
        "garbage": "a.b.c",
        "huge": "x" * 20000,
    }
    for why, token in refused.items():
        answer = _call(gateway, "/local", token)
        assert (answer.status_code, answer.json()) == UNAUTHORIZED, why
    metrics = httpx.get(gateway.admin_url + "/metrics").text
    assert 'ostiary_gateway_authorizer_decisions_total{authorizer="local",outcome="unauthorized"}' in metrics
    log = gateway.log.read_text()
    assert pool.id_token not in log and issuer.token()[:40] not in log  # no token in the gateway's logs
