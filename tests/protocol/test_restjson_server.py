"""rest-json through a real server: routing by request URI and credential scope, the 501 answer of
missing operations, errors as botocore reads them, CORS, and Ostiary's other routes still answering."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ostiary.protocol.registry import load_handlers, lookup
from tests import amplify
from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server


def _missing(service: str, operation: str) -> bool:
    load_handlers()
    return lookup(service, operation) is None


def _unsigned(server: Server, service: str) -> Any:
    return server.client(service, config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


@pytest.mark.skipif(not _missing("cognito-sync", "ListIdentityPoolUsage"), reason="cognito-sync is built")
def test_missing_signed_operation_answers_501(server: Server) -> None:
    sync = server.client("cognito-sync")
    try:
        with pytest.raises(ClientError) as caught:
            sync.describe_dataset(
                IdentityPoolId="us-east-1:0e4a3b1c-2f5d-4c6e-8a7b-9c0d1e2f3a4b",
                IdentityId="us-east-1:1e4a3b1c-2f5d-4c6e-8a7b-9c0d1e2f3a4b",
                DatasetName="settings",
            )
        err = caught.value.response
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert err["Error"]["Code"] == "NotImplementedException"
        assert "DescribeDataset" in err["Error"]["Message"]
        with pytest.raises(ClientError) as caught:
            sync.list_identity_pool_usage()
        assert caught.value.response["Error"]["Code"] == "NotImplementedException"
    finally:
        sync.close()


def test_signed_request_with_a_bad_key_is_refused_before_the_operation(server: Server) -> None:
    sync = server.client("cognito-sync", aws_access_key_id="AKIANOTAKNOWNKEY0000")
    try:
        with pytest.raises(ClientError) as caught:
            sync.list_identity_pool_usage()
        assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        sync.close()


def test_a_wrong_signature_is_refused(server: Server) -> None:
    sync = server.client("cognito-sync", aws_secret_access_key="not-the-secret")
    try:
        with pytest.raises(ClientError) as caught:
            sync.list_identity_pool_usage()
        assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    finally:
        sync.close()


def test_unsigned_request_to_a_signed_operation_is_refused(server: Server) -> None:
    sync = _unsigned(server, "cognito-sync")
    try:
        with pytest.raises(ClientError) as caught:
            sync.list_identity_pool_usage()
        assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    finally:
        sync.close()


@pytest.mark.skipif(not _missing("sso-oidc", "RegisterClient"), reason="sso-oidc RegisterClient is built")
def test_missing_unsigned_operation_answers_501(server: Server) -> None:
    oidc = _unsigned(server, "sso-oidc")
    try:
        with pytest.raises(ClientError) as caught:
            oidc.register_client(clientName="cli", clientType="public")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert caught.value.response["Error"]["Code"] == "NotImplementedException"
    finally:
        oidc.close()


def test_validation_of_a_rest_json_input(server: Server) -> None:
    """A required header-bound member missing: the model's validation answers (before the operation),
    with the portal API's own shape (its model has no ValidationException)."""
    r = httpx.get(server.url + "/assignment/accounts", timeout=10)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    body = r.json()
    assert body["__type"] == "InvalidRequestException"
    assert "accessToken" in body["message"]


def test_malformed_json_body(server: Server) -> None:
    r = httpx.post(server.url + "/client/register", content=b"{not json", timeout=10)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "SerializationException"


def test_cors_preflight_of_rest_json_paths(server: Server) -> None:
    r = httpx.options(
        server.url + "/federation/credentials",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-amz-sso_bearer_token",
        },
        timeout=10,
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "x-amz-sso_bearer_token" in r.headers["access-control-allow-headers"]
    # and the answer itself carries the CORS headers
    r = httpx.post(server.url + "/token", json={}, headers={"Origin": "https://app.example.com"}, timeout=10)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "x-amzn-ErrorType" in r.headers["access-control-expose-headers"]


def test_too_large_body_answers_in_rest_json(server: Server) -> None:
    r = httpx.post(server.url + "/client/register", content=b"x" * (2 * 1024 * 1024), timeout=30)
    assert r.status_code == 413
    assert r.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    assert r.json()["__type"] == "RequestEntityTooLargeException"


def test_other_routes_still_answer(server: Server) -> None:
    """The rest-json routes take nothing from Ostiary's own: health, metrics, the AWS APIs on ``/``,
    the well-known paths of a user pool, unknown paths (404 from the web router)."""
    assert httpx.get(server.url + "/health", timeout=10).json()["status"] == "ok"
    assert httpx.get(server.url + "/metrics", timeout=10).status_code == 200
    sts = server.client("sts")
    idp = server.client("cognito-idp")
    try:
        assert sts.get_caller_identity()["Account"]
        pool = idp.create_user_pool(PoolName="restjson-routes")["UserPool"]["Id"]
        r = httpx.get(f"{server.url}/{pool}/.well-known/openid-configuration", timeout=10)
        assert r.status_code == 200
        assert r.json()["issuer"].endswith(pool)
        idp.delete_user_pool(UserPoolId=pool)
    finally:
        sts.close()
        idp.close()
    assert httpx.get(server.url + "/token", timeout=10).status_code == 404  # CreateToken is a POST
    assert httpx.get(server.url + "/no/such/thing", timeout=10).status_code == 404
    # the OAuth token endpoint of a domain path is not sso-oidc's /token
    r = httpx.post(server.url + "/_domain/nosuchdomain/oauth2/token", data={"grant_type": "x"}, timeout=10)
    assert "x-amzn-ErrorType" not in r.headers


def test_portal_bearer_token_travels_in_its_header(server: Server) -> None:
    """The sso portal API's bearer token travels in x-amz-sso_bearer_token (a header member): a token
    the service does not know is its UnauthorizedException (401, the model's status) once ListAccounts
    is built, the 501 of a missing operation before."""
    sso = _unsigned(server, "sso")
    try:
        with pytest.raises(ClientError) as caught:
            sso.list_accounts(accessToken="not-a-token", maxResults=5)
        err = caught.value.response
        if _missing("sso", "ListAccounts"):
            assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (501, "NotImplementedException")
        else:
            assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (401, "UnauthorizedException")
        r = httpx.get(server.url + "/assignment/accounts", headers={"x-amz-sso_bearer_token": "x" * 5000}, timeout=10)
        assert r.status_code in (400, 401, 501)
        assert "x-amzn-ErrorType" in r.headers
    finally:
        sso.close()


def test_unsigned_create_token_with_iam_needs_a_signature(server: Server) -> None:
    """``/token?aws_iam=t`` is CreateTokenWithIAM (signed), never the unsigned CreateToken."""
    oidc = _unsigned(server, "sso-oidc")
    try:
        with pytest.raises(ClientError) as caught:
            oidc.create_token_with_iam(clientId="c", grantType="authorization_code", code="x")
        assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    finally:
        oidc.close()


def test_signed_request_for_no_operation(server: Server) -> None:
    """A request signed for cognito-sync on a path none of its operations has: UnknownOperation, in
    rest-json; the signature is checked first only for a known operation."""
    request = AWSRequest(method="GET", url=server.url + "/no/such/operation")
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "cognito-sync", REGION).add_auth(request)
    r = httpx.get(server.url + "/no/such/operation", headers=dict(request.headers.items()), timeout=10)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "UnknownOperationException"


@pytest.mark.skipif(_missing("sso-oidc", "RegisterClient"), reason="sso-oidc RegisterClient is not built yet")
def test_built_unsigned_operation_answers_through_boto3(server: Server) -> None:
    oidc = _unsigned(server, "sso-oidc")
    try:
        registered = oidc.register_client(clientName="restjson-routing", clientType="public")
        assert registered["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert registered["clientId"] and registered["clientSecret"]
    finally:
        oidc.close()


@pytest.mark.skipif(
    _missing("sso-oidc", "CreateToken") or _missing("sso", "GetRoleCredentials"), reason="sso-oidc/sso not built"
)
def test_javascript_sdk_clients_speak_rest_json(server: Server) -> None:
    """The JavaScript SDK v3's SSO OIDC and SSO clients (a serializer and parser of their own) read
    Ostiary's rest-json answers: the error code, status and OAuth ``error`` member, the message."""
    result = amplify.run("restjson_clients.mjs", server.url)
    assert result["createToken"]["name"] == "InvalidClientException"
    assert result["createToken"]["status"] == 401
    assert result["createToken"]["error"] == "invalid_client"
    assert result["getRoleCredentials"]["name"] == "UnauthorizedException"
    assert result["getRoleCredentials"]["status"] == 401
    assert result["getRoleCredentials"]["message"]


def test_query_fields_and_json_depth_are_bounded(server: Server) -> None:
    many = "&".join(["a=1"] * 10_001)
    r = httpx.get(f"{server.url}/assignment/accounts?{many}", headers={"x-amz-sso_bearer_token": "t"}, timeout=10)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "InvalidRequestException"  # the portal API's shape for bad input
    deep = b'{"clientName": ' + b"[" * 200 + b"]" * 200 + b"}"
    r = httpx.post(server.url + "/client/register", content=deep, timeout=10)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "SerializationException"
    r = httpx.get(
        server.url + "/identitypools",
        headers={"authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/cognito-sync/aws4_request"},
        timeout=10,
    )
    assert r.status_code in (400, 403)  # an incomplete signature: refused, never a 500
    assert r.headers["x-amzn-ErrorType"]
