"""``ostiary gateway`` as a real process in front of the echo upstream with Lambda-style authorizers
(Python handlers run by the trigger runtime: TOKEN, REST REQUEST, HTTP API 2.0 simple responses) and
an IAM-authorized route called with botocore's SigV4; the forward-auth endpoints of the same
gateway (Traefik's and Envoy's headers; nginx has its own test, test_nginx.py)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import ACCOUNT_ID, REGION, Server, free_port
from tests.gateway.conftest import ROOT, GatewayProcess, Upstream, start_gateway

FUNCTIONS = ",".join(
    f"{name}-fn=python:tests.gateway.lambda_handlers:{name}" for name in ("token", "request", "simple")
)


def gateway_config(upstream: Upstream, forward_port: int) -> str:
    return f"""
[authorizers.tok]
type = "token"
function = "token-fn"
identity_validation_expression = "^[a-z]+$"

[authorizers.tokcache]
type = "token"
function = "token-fn"
identity_source = "method.request.header.X-Token"
result_ttl_seconds = 1

[authorizers.req]
type = "request"
function = "request-fn"
identity_source = ["method.request.header.X-User", "method.request.querystring.tenant"]
result_ttl_seconds = 0

[authorizers.simple]
type = "request"
function = "simple-fn"
payload_format_version = "2.0"
enable_simple_responses = true
identity_source = "$request.header.X-User"

[authorizers.signed]
type = "iam"

[[routes]]
route = "ANY /pets/{{proxy+}}"
upstream = "{upstream.url}"
authorizer = "tok"

[[routes]]
route = "ANY /cached/{{proxy+}}"
upstream = "{upstream.url}"
authorizer = "tokcache"

[[routes]]
route = "GET /req/{{id}}"
upstream = "{upstream.url}"
authorizer = "req"

[[routes]]
route = "GET /simple"
upstream = "{upstream.url}"
authorizer = "simple"

[[routes]]
route = "ANY /signed/{{proxy+}}"
upstream = "{upstream.url}"
authorizer = "signed"

[[routes]]
route = "GET /open"
upstream = "{upstream.url}"

[forward_auth]
listen = "127.0.0.1:{forward_port}"
"""


@pytest.fixture(scope="module")
def gw(server: Server, upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    forward_port = free_port()
    keys = f'account_id = "{ACCOUNT_ID}"\napi_id = "gwtest"\nstage = "prod"\ndatabase_url = "{server.database_url}"'
    env = {
        "OSTIARY_LAMBDA_FUNCTIONS": FUNCTIONS,
        "OSTIARY_LAMBDA_PATH": str(ROOT),
        "OSTIARY_LAMBDA_TIMEOUT_SECONDS": "20",
        "OSTIARY_DATA_DIR": str(server.data_dir),
    }
    process = start_gateway(tmp_path_factory.mktemp("gw-lambda"), keys, gateway_config(upstream, forward_port), env=env)
    process.forward_port = forward_port  # type: ignore[attr-defined]
    # the handlers' worker processes start in the background: the first call may wait for them
    assert httpx.get(process.url + "/pets/1", headers={"Authorization": "warm"}, timeout=60).status_code == 200
    yield process
    process.stop()


def _echo_headers(answer: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in answer.json()["headers"]}


def test_token_authorizer(gw: GatewayProcess) -> None:
    allowed = httpx.get(gw.url + "/pets/1", headers={"Authorization": "alice"})
    assert allowed.status_code == 200, allowed.text
    headers = _echo_headers(allowed)
    assert headers["x-authorizer-principal-id"] == "user-alice"
    context = json.loads(headers["x-authorizer-context"])
    assert context["token"] == "alice" and context["type"] == "TOKEN" and context["number"] == 7
    assert headers["x-authorizer-context-flag"] == "true"
    # the cached policy is evaluated again for another method: POST is not in it
    post = httpx.post(gw.url + "/pets/1", headers={"Authorization": "alice"})
    assert (post.status_code, post.json()) == (403, {"Message": "User is not authorized to access this resource"})
    deny = httpx.get(gw.url + "/pets/1", headers={"Authorization": "deny"})
    assert (deny.status_code, deny.json()) == (
        403,
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    )
    for token in ("unauthorized", "Not-Valid-9"):  # raised by the handler; refused by the expression
        answer = httpx.get(gw.url + "/pets/1", headers={"Authorization": token})
        assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})
    missing = httpx.get(gw.url + "/pets/1")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    for token in ("error", "garbage"):  # a failing handler, an answer that is no policy
        answer = httpx.get(gw.url + "/pets/1", headers={"Authorization": token})
        assert (answer.status_code, answer.json()) == (500, {"message": None})
        assert answer.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"
    # a client cannot forge the context headers
    forged = httpx.get(gw.url + "/pets/1", headers={"Authorization": "alice", "X-Authorizer-Principal-Id": "root"})
    assert _echo_headers(forged)["x-authorizer-principal-id"] == "user-alice"


def test_result_cache_by_identity_source_and_ttl(gw: GatewayProcess) -> None:
    token = "cache" + "".join(secrets.choice("abcdefghij") for _ in range(8))

    def nonce() -> str:
        answer = httpx.get(gw.url + "/cached/x", headers={"X-Token": token})
        assert answer.status_code == 200, answer.text
        return str(json.loads(_echo_headers(answer)["x-authorizer-context"])["nonce"])

    first = nonce()
    assert nonce() == first  # cached: the handler was not called again
    other = httpx.get(gw.url + "/cached/x", headers={"X-Token": token + "z"})
    assert json.loads(_echo_headers(other)["x-authorizer-context"])["nonce"] != first  # another identity
    deadline = time.monotonic() + 15
    while nonce() == first:  # the one-second TTL runs out
        assert time.monotonic() < deadline, "the cached result never expired"
        time.sleep(0.1)


def test_request_and_simple_authorizers(gw: GatewayProcess) -> None:
    ok = httpx.get(gw.url + "/req/42?tenant=t1", headers={"X-User": "alice"})
    assert ok.status_code == 200, ok.text
    context = json.loads(_echo_headers(ok)["x-authorizer-context"])
    assert context == {
        "type": "REQUEST",
        "resource": "/req/{id}",
        "path": "/req/42",
        "method": "GET",
        "id": "42",
        "stage": "prod",
    }
    other_tenant = httpx.get(gw.url + "/req/42?tenant=t2", headers={"X-User": "alice"})
    assert other_tenant.status_code == 403
    no_tenant = httpx.get(gw.url + "/req/42", headers={"X-User": "alice"})
    assert (no_tenant.status_code, no_tenant.json()) == (401, {"message": "Unauthorized"})

    simple = httpx.get(gw.url + "/simple", headers={"X-User": "alice"})
    assert simple.status_code == 200, simple.text
    assert json.loads(_echo_headers(simple)["x-authorizer-context"]) == {
        "version": "2.0",
        "routeKey": "GET /simple",
        "source": "alice",
    }
    refused = httpx.get(gw.url + "/simple", headers={"X-User": "mallory"})
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})


def _user(server: Server) -> tuple[str, Credentials]:
    iam = server.client("iam")
    name = "gw-e2e-" + secrets.token_hex(4)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    statement = {
        "Effect": "Allow",
        "Action": "execute-api:Invoke",
        "Resource": "arn:aws:execute-api:*:*:gwtest/prod/*/signed/*",
    }
    iam.put_user_policy(
        UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _signed(creds: Credentials, method: str, url: str, body: bytes = b"") -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(creds, "execute-api", REGION).add_auth(request)
    return dict(request.headers.items())


def test_iam_route_through_the_gateway(server: Server, gw: GatewayProcess) -> None:
    arn, creds = _user(server)
    deadline = time.monotonic() + 10
    while True:  # the gateway's key cache may remember this new key id as unknown for a second
        answer = httpx.get(gw.url + "/signed/a", headers=_signed(creds, "GET", gw.url + "/signed/a"))
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    identity = json.loads(_echo_headers(answer)["x-authorizer-identity"])
    assert identity["userArn"] == arn and identity["accessKey"] == creds.access_key
    body = b'{"photo": "cat.jpg"}'
    posted = httpx.post(gw.url + "/signed/b", content=body, headers=_signed(creds, "POST", gw.url + "/signed/b", body))
    assert posted.status_code == 200, posted.text
    assert posted.json()["body"] == body.decode()
    tampered = httpx.post(
        gw.url + "/signed/b",
        content=b'{"photo": "dog.jpg"}',
        headers=_signed(creds, "POST", gw.url + "/signed/b", body),
    )
    assert tampered.status_code == 403
    assert tampered.json()["message"].startswith("The request signature we calculated does not match")
    missing = httpx.get(gw.url + "/signed/a")
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    assert missing.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def _forward(gw: GatewayProcess) -> str:
    return f"http://127.0.0.1:{gw.forward_port}/_gateway/auth"  # type: ignore[attr-defined]


def test_forward_auth_traefik_and_envoy(server: Server, gw: GatewayProcess) -> None:
    base = _forward(gw)
    traefik = {"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.test"}
    ok = httpx.get(base + "/traefik", headers={**traefik, "X-Forwarded-Uri": "/pets/3?x=1", "Authorization": "bob"})
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-authorizer-principal-id"] == "user-bob"
    assert json.loads(ok.headers["x-authorizer-context"])["token"] == "bob"
    denied = httpx.get(base + "/traefik", headers={**traefik, "X-Forwarded-Uri": "/pets/3", "Authorization": "deny"})
    assert denied.status_code == 403 and "explicit deny" in denied.json()["Message"]
    anonymous = httpx.get(base + "/traefik", headers={**traefik, "X-Forwarded-Uri": "/pets/3"})
    assert (anonymous.status_code, anonymous.json()) == (401, {"message": "Unauthorized"})
    assert httpx.get(base + "/traefik", headers={**traefik, "X-Forwarded-Uri": "/nowhere"}).status_code == 404
    assert httpx.get(base + "/traefik", headers={**traefik, "X-Forwarded-Uri": "/open"}).status_code == 200
    assert httpx.get(base + "/traefik", headers={"X-Forwarded-Method": "GET"}).status_code == 400
    # Envoy: the original path after the prefix, the original method, headers forwarded
    envoy = httpx.get(base + "/envoy/req/9?tenant=t1", headers={"X-User": "alice", "Host": "app.test"})
    assert envoy.status_code == 200, envoy.text
    assert json.loads(envoy.headers["x-authorizer-context"])["id"] == "9"
    assert httpx.post(base + "/envoy/pets/1", headers={"Authorization": "alice"}).status_code == 403
    # an IAM route: the signature is over the original host and path
    _, creds = _user(server)
    signed = _signed(creds, "GET", "http://app.test/signed/c")
    deadline = time.monotonic() + 10
    while True:
        answer = httpx.get(base + "/envoy/signed/c", headers={**signed, "Host": "app.test"})
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.headers["x-authorizer-identity"])["accessKey"] == creds.access_key


def test_forward_auth_is_not_on_the_public_listener(gw: GatewayProcess) -> None:
    answer = httpx.get(
        gw.url + "/_gateway/auth/traefik", headers={"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/open"}
    )
    assert answer.status_code == 404


def test_forward_auth_peers_and_secret(tmp_path: Any, upstream: Upstream) -> None:
    forward_port = free_port()
    rest = f"""
[[routes]]
route = "GET /open"
upstream = "{upstream.url}"

[forward_auth]
listen = "127.0.0.1:{forward_port}"
allowed_peers = ["10.9.8.0/24"]
"""
    gw = start_gateway(tmp_path, "", rest)
    try:
        ask = {"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/open"}
        refused = httpx.get(f"http://127.0.0.1:{forward_port}/_gateway/auth/traefik", headers=ask)
        assert refused.status_code == 403  # loopback is not among the allowed peers
    finally:
        gw.stop()
    secret = "s" * 24
    rest = rest.replace('allowed_peers = ["10.9.8.0/24"]', f'shared_secret = "{secret}"')
    gw = start_gateway(tmp_path, "", rest)
    try:
        url = f"http://127.0.0.1:{forward_port}/_gateway/auth/traefik"
        assert httpx.get(url, headers=ask).status_code == 403
        assert httpx.get(url, headers={**ask, "X-Ostiary-Forward-Auth-Secret": "x" * 24}).status_code == 403
        assert httpx.get(url, headers={**ask, "X-Ostiary-Forward-Auth-Secret": secret}).status_code == 200
    finally:
        gw.stop()
