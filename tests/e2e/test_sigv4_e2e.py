"""Request authentication against a live server: each way a signature can be wrong gets AWS's code,
and operations the SDKs send unsigned never need one."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, Server

JSON = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _signed(
    server: Server,
    service: str,
    body: bytes,
    headers: dict[str, str],
    *,
    key: str = ACCESS_KEY_ID,
    secret: str = SECRET_ACCESS_KEY,
    when: dt.datetime | None = None,
) -> AWSRequest:
    req = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers)
    signer = SigV4Auth(Credentials(key, secret), service, REGION)
    if when is None:
        signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            signer.add_auth(req)
    return req


def _send(req: AWSRequest) -> httpx.Response:
    return httpx.post(req.url, content=req.body, headers=dict(req.headers.items()))


def _idp(server: Server, op: str, payload: dict[str, Any], **kw: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": JSON, "X-Amz-Target": f"AWSCognitoIdentityProviderService.{op}"}
    return _send(_signed(server, "cognito-idp", body, headers, **kw))


def _sts(server: Server, **kw: Any) -> httpx.Response:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    return _send(_signed(server, "sts", body, {"Content-Type": FORM}, **kw))


def _json_code(r: httpx.Response) -> str:
    return str(r.json()["__type"])


def _xml_code(r: httpx.Response) -> str:
    text = r.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def test_valid_signatures_pass(server: Server) -> None:
    assert _idp(server, "ListUserPools", {"MaxResults": 1}).status_code == 200
    r = _sts(server)
    assert r.status_code == 200 and f"<Account>{ACCOUNT_ID}</Account>" in r.text
    assert r.headers["x-amzn-RequestId"] in r.text


def test_forged_signature(server: Server) -> None:
    r = _idp(server, "ListUserPools", {"MaxResults": 1}, secret="not-the-secret")
    assert (r.status_code, _json_code(r)) == (400, "InvalidSignatureException")
    r = _sts(server, secret="not-the-secret")
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch")


def test_tampered_body(server: Server) -> None:
    req = _signed(server, "sts", b"Action=GetCallerIdentity&Version=2011-06-15", {"Content-Type": FORM})
    r = httpx.post(
        req.url, content=b"Action=GetCallerIdentity&Version=2011-06-15&X=1", headers=dict(req.headers.items())
    )
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch")


def test_unknown_access_key(server: Server) -> None:
    r = _idp(server, "ListUserPools", {"MaxResults": 1}, key="AKIAUNKNOWNUNKNOWN00")
    assert (r.status_code, _json_code(r)) == (400, "UnrecognizedClientException")
    r = _sts(server, key="AKIAUNKNOWNUNKNOWN00")
    assert (r.status_code, _xml_code(r)) == (403, "InvalidClientTokenId")


def test_request_dated_twenty_minutes_ago(server: Server) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    r = _idp(server, "ListUserPools", {"MaxResults": 1}, when=old)
    assert (r.status_code, _json_code(r)) == (400, "InvalidSignatureException")
    assert "Signature expired" in r.json()["message"]
    r = _sts(server, when=old)
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch")
    assert "Signature expired" in r.text
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)
    assert _sts(server, when=future).status_code == 403


def test_missing_signature_on_signed_operation(server: Server) -> None:
    r = httpx.post(
        server.url + "/",
        content=b'{"MaxResults": 1}',
        headers={"Content-Type": JSON, "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools"},
    )
    assert (r.status_code, _json_code(r)) == (400, "MissingAuthenticationTokenException")
    r = httpx.post(
        server.url + "/", content=b"Action=GetCallerIdentity&Version=2011-06-15", headers={"Content-Type": FORM}
    )
    assert (r.status_code, _xml_code(r)) == (403, "MissingAuthenticationToken")


def test_presigned_query_string(server: Server) -> None:
    req = AWSRequest(method="GET", url=server.url + "/?Action=GetCallerIdentity&Version=2011-06-15")
    SigV4QueryAuth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "sts", REGION, expires=60).add_auth(req)
    r = httpx.get(req.url)
    assert r.status_code == 200, r.text
    assert f"<Account>{ACCOUNT_ID}</Account>" in r.text
    tampered = req.url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert httpx.get(tampered).status_code == 403


@pytest.mark.parametrize(
    ("op", "payload"),
    [
        (
            "InitiateAuth",
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": "nosuchclient",
                "AuthParameters": {"USERNAME": "u", "PASSWORD": "p"},
            },
        ),
        ("SignUp", {"ClientId": "nosuchclient", "Username": "u", "Password": "Passw0rd!"}),
        ("GetUser", {"AccessToken": "not-a-token"}),
    ],
)
def test_unsigned_operations_never_need_a_signature(server: Server, op: str, payload: dict[str, Any]) -> None:
    headers = {"Content-Type": JSON, "X-Amz-Target": f"AWSCognitoIdentityProviderService.{op}"}
    plain = httpx.post(server.url + "/", content=json.dumps(payload).encode(), headers=headers)
    garbage = httpx.post(
        server.url + "/",
        content=json.dumps(payload).encode(),
        headers={**headers, "Authorization": "AWS4-HMAC-SHA256 garbage"},
    )
    for r in (plain, garbage):
        assert r.status_code == 400
        assert _json_code(r) in ("ResourceNotFoundException", "NotAuthorizedException"), r.text


def test_unsigned_sts_operation(server: Server) -> None:
    body = (
        b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=s"
        b"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&WebIdentityToken=abcdefghijklmnopqrstuvwxyz"
    )
    r = httpx.post(server.url + "/", content=body, headers={"Content-Type": FORM})
    assert "MissingAuthenticationToken" not in r.text and "IncompleteSignature" not in r.text


def test_protocol_errors(server: Server) -> None:
    r = _idp(server, "NoSuchOperation", {})
    assert (r.status_code, _json_code(r).split("#")[-1]) == (400, "UnknownOperationException")
    body = b"Action=NoSuchThing&Version=2011-06-15"
    r = _send(_signed(server, "sts", body, {"Content-Type": FORM}))
    assert (r.status_code, _xml_code(r)) == (400, "InvalidAction")
    r = _idp(server, "CreateUserPoolReplica", {"UserPoolId": "us-east-1_abc", "ReplicaRegion": "eu-west-1"})
    if r.status_code == 501:
        assert _json_code(r) == "NotImplementedException" and "CreateUserPoolReplica" in r.json()["message"]
    req = _signed(
        server,
        "cognito-idp",
        b"{not json",
        {"Content-Type": JSON, "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools"},
    )
    r = _send(req)
    assert (r.status_code, _json_code(r)) == (400, "SerializationException")
    r = _idp(server, "DescribeUserPool", {})
    assert (r.status_code, _json_code(r)) == (400, "InvalidParameterException")
    assert r.json()["message"] == (
        "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"
    )
    assert r.headers["x-amzn-RequestId"]


def test_service_scope_must_match(server: Server) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    r = _send(_signed(server, "iam", body, {"Content-Type": FORM}))
    assert r.status_code == 403
