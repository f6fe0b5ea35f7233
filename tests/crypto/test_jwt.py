"""RS256 JWS: interoperates with PyJWT and refuses every classic forgery."""

from __future__ import annotations

import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ostiary.crypto import jwt

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _token(**claims: object) -> str:
    base = {"sub": "abc", "exp": time.time() + 60}
    base.update(claims)
    return jwt.sign(base, "kid-1", KEY)


def test_pyjwt_verifies_our_tokens_through_the_jwk() -> None:
    token = _token(aud="client")
    jwk = jwt.public_jwk("kid-1", KEY.public_key())
    public = pyjwt.PyJWK.from_dict(jwk).key
    claims = pyjwt.decode(token, public, algorithms=["RS256"], audience="client")
    assert claims["sub"] == "abc"
    assert pyjwt.get_unverified_header(token) == {"kid": "kid-1", "alg": "RS256"}


def test_we_verify_pyjwt_tokens() -> None:
    token = pyjwt.encode({"sub": "x", "exp": time.time() + 60}, KEY, algorithm="RS256", headers={"kid": "kid-1"})
    assert jwt.verify(token, {"kid-1": KEY.public_key()}, time.time())["sub"] == "x"


def _problem(token: str, keys: dict[str, rsa.RSAPublicKey] | None = None) -> jwt.TokenProblem:
    with pytest.raises(jwt.TokenError) as info:
        jwt.verify(token, keys or {"kid-1": KEY.public_key()}, time.time())
    return info.value.problem


def test_tampered_payload_refused() -> None:
    head, body, sig = _token().split(".")
    claims = json.loads(jwt.b64url_decode(body))
    claims["sub"] = "admin"
    forged = f"{head}.{jwt.b64url(json.dumps(claims).encode())}.{sig}"
    assert _problem(forged) is jwt.TokenProblem.BAD_SIGNATURE


def test_wrong_key_refused() -> None:
    token = jwt.sign({"sub": "x", "exp": time.time() + 60}, "kid-1", OTHER)
    assert _problem(token) is jwt.TokenProblem.BAD_SIGNATURE


def test_alg_none_and_hmac_confusion_refused() -> None:
    body = jwt.b64url(json.dumps({"sub": "x", "exp": time.time() + 60}).encode())
    none = jwt.b64url(b'{"alg":"none","kid":"kid-1"}') + "." + body + "."
    assert _problem(none) is jwt.TokenProblem.BAD_ALGORITHM
    hs = pyjwt.encode({"sub": "x", "exp": time.time() + 60}, "s" * 32, algorithm="HS256", headers={"kid": "kid-1"})
    assert _problem(hs) is jwt.TokenProblem.BAD_ALGORITHM


def test_expired_unknown_kid_and_malformed_refused() -> None:
    assert _problem(_token(exp=time.time() - 1)) is jwt.TokenProblem.EXPIRED
    assert _problem(_token(), {"other": KEY.public_key()}) is jwt.TokenProblem.UNKNOWN_KEY
    assert _problem("not-a-token") is jwt.TokenProblem.MALFORMED
    assert _problem(_token(nbf=time.time() + 100)) is jwt.TokenProblem.NOT_YET_VALID


def test_deeply_nested_header_or_payload_is_malformed() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    _, body, sig = _token().split(".")
    assert _problem(f"{jwt.b64url(deep)}.{body}.{sig}") is jwt.TokenProblem.MALFORMED
    head = b'{"alg":"RS256","kid":"kid-1","x":' + deep + b"}"
    assert _problem(f"{jwt.b64url(head)}.{body}.{sig}") is jwt.TokenProblem.MALFORMED
    payload = b'{"sub":"x","exp":' + str(int(time.time()) + 60).encode() + b',"x":' + deep + b"}"
    signed = pyjwt.api_jws.encode(payload, KEY, algorithm="RS256", headers={"kid": "kid-1"})
    assert _problem(signed) is jwt.TokenProblem.MALFORMED


def test_our_header_and_payload_bytes() -> None:
    token = jwt.sign({"sub": "é", "exp": 1}, "kid-1", KEY)
    head, body, _ = token.split(".")
    assert jwt.b64url_decode(head) == b'{"kid":"kid-1","alg":"RS256"}'
    assert jwt.b64url_decode(body) == '{"sub":"é","exp":1}'.encode()


def test_rs512_tokens_of_the_identity_pool_issuer_interoperate_and_stay_apart_from_rs256() -> None:
    """The cognito-identity issuer signs RS512 through the same joserfc path (identitypools/openid.py):
    PyJWT reads its header and verifies it; RS256 verification refuses it, and RS512 verification
    refuses an RS256 token of the same key."""
    claims = {"sub": "us-east-1:id", "exp": time.time() + 60}
    token = jwt.sign(claims, "kid-1", KEY, alg="RS512", typ="JWS")
    assert pyjwt.get_unverified_header(token) == {"kid": "kid-1", "typ": "JWS", "alg": "RS512"}
    assert pyjwt.decode(token, KEY.public_key(), algorithms=["RS512"])["sub"] == "us-east-1:id"
    keys = {"kid-1": KEY.public_key()}
    assert jwt.verify_signature(token, keys, alg="RS512")["sub"] == "us-east-1:id"
    assert _problem(token) is jwt.TokenProblem.BAD_ALGORITHM
    with pytest.raises(jwt.TokenError) as info:
        jwt.verify_signature(_token(), keys, alg="RS512")
    assert info.value.problem is jwt.TokenProblem.BAD_ALGORITHM
    with pytest.raises(jwt.TokenError) as info:
        jwt.check_times({"sub": "x", "exp": time.time() - 1}, time.time())
    assert info.value.problem is jwt.TokenProblem.EXPIRED
