"""SigV4 payload binding (issue 10, item 9).

STS, IAM and Cognito sign the body: a JSON or query request's canonical request ends with the
SHA-256 of the body the server received. ``X-Amz-Content-Sha256: UNSIGNED-PAYLOAD`` (an S3 feature;
these services' models never declare an unsigned body, and botocore never sends it for them) or a
claimed hash of another body must not let one signature stand for any body: a request signed for
body A and sent with body B is refused as a signature mismatch.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server

JSON = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
IDP_TARGET = "AWSCognitoIdentityProviderService."


class _UnsignedPayloadAuth(SigV4Auth):
    """A signer that puts the literal UNSIGNED-PAYLOAD in the canonical request (as S3 clients may)."""

    def payload(self, request: Any) -> str:
        return "UNSIGNED-PAYLOAD"


def _sign(server: Server, service: str, body: bytes, headers: dict[str, str], claimed: str | None) -> dict[str, str]:
    """Headers of a request for ``body``, signed with ``X-Amz-Content-Sha256: claimed`` among the
    signed headers (UNSIGNED-PAYLOAD: the canonical request carries that literal)."""
    req = AWSRequest(method="POST", url=server.url + "/", data=body, headers=dict(headers))
    if claimed is not None:
        req.headers["X-Amz-Content-Sha256"] = claimed
    signer_cls = _UnsignedPayloadAuth if claimed == "UNSIGNED-PAYLOAD" else SigV4Auth
    signer_cls(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, REGION).add_auth(req)
    signed = dict(req.headers.items())
    assert "x-amz-content-sha256" in signed["Authorization"].lower()
    return signed


def _idp_body(op: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"Content-Type": JSON, "X-Amz-Target": IDP_TARGET + op}


def _xml_code(r: httpx.Response) -> str:
    return r.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def _pool_names(idp: Any) -> set[str]:
    return {p["Name"] for p in idp.list_user_pools(MaxResults=60)["UserPools"]}


def test_unsigned_payload_json_signature_does_not_cover_another_body(server: Server, idp: Any) -> None:
    signed_for = "signed-" + secrets.token_hex(4)
    smuggled = "smuggled-" + secrets.token_hex(4)
    body_a, headers = _idp_body("CreateUserPool", {"PoolName": signed_for})
    body_b, _ = _idp_body("CreateUserPool", {"PoolName": smuggled})
    signed = _sign(server, "cognito-idp", body_a, headers, "UNSIGNED-PAYLOAD")
    r = httpx.post(server.url + "/", content=body_b, headers=signed)
    assert (r.status_code, r.json()["__type"]) == (400, "InvalidSignatureException"), r.text
    assert smuggled not in _pool_names(idp)


def test_unsigned_payload_query_signature_does_not_cover_another_body(server: Server) -> None:
    iam = server.client("iam")
    signed_for = "signed-" + secrets.token_hex(4)
    smuggled = "smuggled-" + secrets.token_hex(4)
    body_a = f"Action=CreateUser&Version=2010-05-08&UserName={signed_for}".encode()
    body_b = f"Action=CreateUser&Version=2010-05-08&UserName={smuggled}".encode()
    signed = _sign(server, "iam", body_a, {"Content-Type": FORM}, "UNSIGNED-PAYLOAD")
    r = httpx.post(server.url + "/", content=body_b, headers=signed)
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch"), r.text
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=smuggled)
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_unsigned_payload_is_not_accepted_even_for_the_signed_body(server: Server) -> None:
    """Not even the body it was made for: UNSIGNED-PAYLOAD in the canonical request never verifies
    for these services (as AWS answers clients that sign it for STS)."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    signed = _sign(server, "sts", body, {"Content-Type": FORM}, "UNSIGNED-PAYLOAD")
    r = httpx.post(server.url + "/", content=body, headers=signed)
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch"), r.text


def test_claimed_hash_of_another_body_is_refused(server: Server, idp: Any) -> None:
    smuggled = "smuggled-" + secrets.token_hex(4)
    body_a, headers = _idp_body("CreateUserPool", {"PoolName": "signed-" + secrets.token_hex(4)})
    body_b, _ = _idp_body("CreateUserPool", {"PoolName": smuggled})
    signed = _sign(server, "cognito-idp", body_a, headers, hashlib.sha256(body_a).hexdigest())
    r = httpx.post(server.url + "/", content=body_b, headers=signed)
    assert (r.status_code, r.json()["__type"]) == (400, "InvalidSignatureException"), r.text
    assert smuggled not in _pool_names(idp)


def test_an_unsigned_content_sha256_header_changes_nothing(server: Server) -> None:
    """A claimed hash outside SignedHeaders is ignored: the body's own hash is what was signed."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest(method="POST", url=server.url + "/", data=body, headers={"Content-Type": FORM})
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "sts", REGION).add_auth(req)
    headers = dict(req.headers.items())
    headers["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD"
    assert httpx.post(server.url + "/", content=body, headers=headers).status_code == 200
    r = httpx.post(server.url + "/", content=body + b"&X=1", headers=headers)
    assert (r.status_code, _xml_code(r)) == (403, "SignatureDoesNotMatch")


def test_correct_signed_hash_header_and_boto3_still_work(server: Server, idp: Any) -> None:
    body, headers = _idp_body("ListUserPools", {"MaxResults": 1})
    signed = _sign(server, "cognito-idp", body, headers, hashlib.sha256(body).hexdigest())
    assert httpx.post(server.url + "/", content=body, headers=signed).status_code == 200
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    signed = _sign(server, "sts", body, {"Content-Type": FORM}, hashlib.sha256(body).hexdigest())
    assert httpx.post(server.url + "/", content=body, headers=signed).status_code == 200
    assert idp.list_user_pools(MaxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert server.client("sts").get_caller_identity()["Account"]
    assert server.client("iam").list_users(MaxItems=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
