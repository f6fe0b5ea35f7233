"""SigV4 verification against AWS's published test-suite vector and botocore's own signer."""

from __future__ import annotations

import datetime as dt
import hashlib
from unittest import mock

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.crypto.sigv4_keys import signing_key
from ostiary.protocol import sigv4
from ostiary.protocol.errors import IncompleteSignature, InvalidSignature

# aws-sig-v4-test-suite "get-vanilla": GET / with Host example.amazonaws.com, X-Amz-Date 20150830T123600Z
VANILLA_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
VANILLA_HEADERS = {
    "host": "example.amazonaws.com",
    "x-amz-date": "20150830T123600Z",
    "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    f"SignedHeaders=host;x-amz-date, Signature={VANILLA_SIGNATURE}",
}


def test_published_get_vanilla_vector() -> None:
    sr = sigv4.find_signature(VANILLA_HEADERS, [])
    assert sr is not None and sr.access_key_id == "AKIDEXAMPLE" and sr.service == "service"
    key = signing_key(VANILLA_SECRET, sr.date, sr.region, sr.service)
    sigv4.verify(sr, key, "GET", "/", [], VANILLA_HEADERS, b"")
    creq = sigv4.canonical_request(
        "GET", "/", [], VANILLA_HEADERS, sr.signed_headers, hashlib.sha256(b"").hexdigest(), False
    )
    assert creq == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    with pytest.raises(InvalidSignature):
        sigv4.verify(
            sr, signing_key("wrong", sr.date, sr.region, sr.service), "GET", "/", [], VANILLA_HEADERS, b""
        )


def test_signing_key_derivation() -> None:
    # "Deriving the signing key" example of the AWS General Reference
    key = signing_key(VANILLA_SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def _botocore_signed(method: str, url: str, body: bytes, headers: dict[str, str]) -> AWSRequest:
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials("AKIDEXAMPLE", VANILLA_SECRET), "cognito-idp", "eu-west-1").add_auth(req)
    return req


def _verify(req: AWSRequest, body: bytes | None = None, path: str = "/") -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(req.url)
    headers = {k.lower(): v for k, v in req.headers.items()}
    headers["host"] = parts.netloc
    query = sigv4.parse_query(parts.query)
    sr = sigv4.find_signature(headers, query)
    assert sr is not None
    key = signing_key(VANILLA_SECRET, sr.date, sr.region, sr.service)
    sigv4.verify(sr, key, req.method, path, query, headers, (req.body or b"") if body is None else body)


def test_botocore_header_signatures_verify() -> None:
    body = b'{"UserPoolId":"eu-west-1_abc"}'
    req = _botocore_signed(
        "POST",
        "https://cognito-idp.eu-west-1.amazonaws.com/",
        body,
        {
            "X-Amz-Target": "AWSCognitoIdentityProviderService.DescribeUserPool",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    _verify(req)
    with pytest.raises(InvalidSignature):
        _verify(req, body=body + b" ")
    with pytest.raises(InvalidSignature):
        _verify(req, path="/other")


def test_query_strings_and_odd_paths() -> None:
    url = "https://sts.amazonaws.com/a%20b/?Param2=value2&Param1=value%201&empty="
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("AKIDEXAMPLE", VANILLA_SECRET), "sts", "us-east-1").add_auth(req)
    _verify(req, path="/a%20b/")


def test_botocore_presigned_urls_verify_and_expire() -> None:
    req = AWSRequest(method="GET", url="https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15")
    SigV4QueryAuth(Credentials("AKIDEXAMPLE", VANILLA_SECRET), "sts", "us-east-1", expires=60).add_auth(req)
    _verify(req)
    from urllib.parse import urlsplit

    sr = sigv4.find_signature({}, sigv4.parse_query(urlsplit(req.url).query))
    assert sr is not None and sr.presigned and sr.expires == 60
    signed_at = sigv4.parse_amz_date(sr.amz_date)
    sigv4.check_time(sr, signed_at + dt.timedelta(seconds=30), 900)
    with pytest.raises(InvalidSignature, match="expired"):
        sigv4.check_time(sr, signed_at + dt.timedelta(seconds=61), 900)


def test_clock_skew_window() -> None:
    when = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        req = _botocore_signed("POST", "https://x/", b"{}", {"Content-Type": "application/x-amz-json-1.1"})
    headers = {k.lower(): v for k, v in req.headers.items()}
    sr = sigv4.find_signature(headers, [])
    assert sr is not None
    sigv4.check_time(sr, when + dt.timedelta(minutes=14), 900)
    with pytest.raises(InvalidSignature, match="Signature expired"):
        sigv4.check_time(sr, when + dt.timedelta(minutes=16), 900)
    with pytest.raises(InvalidSignature, match="not yet current"):
        sigv4.check_time(sr, when - dt.timedelta(minutes=16), 900)


@pytest.mark.parametrize(
    "auth",
    [
        "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service, SignedHeaders=host, Signature=00",
    ],
)
def test_malformed_authorization_is_incomplete(auth: str) -> None:
    with pytest.raises(IncompleteSignature):
        sigv4.find_signature({"authorization": auth, "x-amz-date": "20150830T123600Z"}, [])
