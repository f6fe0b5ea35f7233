"""federation/oidc.verify: ID tokens of a foreign issuer, signed by PyJWT (an independent
implementation) under every accepted algorithm, and each way a token is refused, with the exact
messages the callers pass on. The issuer is a real HTTP server on loopback (discovery + JWKS),
reached through the egress policy with 127.0.0.1 allow-listed."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ostiary import egress
from ostiary.federation import oidc

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEYS = {"ES256": ec.generate_private_key(ec.SECP256R1()), "ES384": ec.generate_private_key(ec.SECP384R1()),
           "ES512": ec.generate_private_key(ec.SECP521R1())}


def _jwk(kid: str, key: Any) -> dict[str, Any]:
    algo = pyjwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else pyjwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algo.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig"}


class Issuer:
    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": [_jwk("rsa", RSA_KEY.public_key())]
                                     + [_jwk(alg, k.public_key()) for alg, k in EC_KEYS.items()]
                                     + [{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = issuer.jwks
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    it = Issuer()
    yield it
    it.httpd.shutdown()
    it.httpd.server_close()


@pytest.fixture(scope="module")
def policy() -> egress.Policy:
    networks, hosts = egress.parse_allow("127.0.0.1/32")
    return egress.Policy(networks=networks, hosts=hosts)


def _claims(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer.url, "sub": "user-1", "aud": "app", "iat": now, "exp": now + 300, **extra}


def _sign(claims: dict[str, Any], alg: str = "RS256", kid: str | None = None) -> str:
    key = EC_KEYS[alg] if alg.startswith("ES") else RSA_KEY
    return pyjwt.encode(claims, key, algorithm=alg, headers={"kid": kid or ("rsa" if alg[:2] != "ES" else alg)})


def _refused(token: str, issuer: Issuer, policy: egress.Policy, **kwargs: Any) -> str:
    with pytest.raises(oidc.OidcError) as info:
        oidc.verify(token, issuer.url, policy, keys=oidc.KeyCache(), **kwargs)
    return str(info.value)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"])
def test_every_accepted_algorithm_verifies(issuer: Issuer, policy: egress.Policy, alg: str) -> None:
    claims = oidc.verify(_sign(_claims(issuer, nonce="n-1"), alg), issuer.url, policy, keys=oidc.KeyCache())
    assert claims["sub"] == "user-1" and claims["nonce"] == "n-1"
    assert oidc.audiences({**claims, "azp": "web"}) == ["app", "web"]


def test_issuer_with_a_trailing_slash_is_the_same_issuer(issuer: Issuer, policy: egress.Policy) -> None:
    token = _sign(_claims(issuer, iss=issuer.url + "/"))
    assert oidc.verify(token, issuer.url, policy, keys=oidc.KeyCache())["sub"] == "user-1"


def test_time_claims_with_leeway(issuer: Issuer, policy: egress.Policy) -> None:
    now = time.time()
    token = _sign(_claims(issuer, exp=int(now) - 30, nbf=int(now) + 30, iat=int(now) + 30))
    assert oidc.verify(token, issuer.url, policy, keys=oidc.KeyCache(), now=now)["sub"] == "user-1"
    assert _refused(_sign(_claims(issuer, exp=int(now) - 120)), issuer, policy, now=now) == "Token is expired"
    assert _refused(_sign(_claims(issuer, nbf=int(now) + 120)), issuer, policy, now=now) == "Token is not yet valid"
    assert _refused(_sign(_claims(issuer, iat=int(now) + 120)), issuer, policy, now=now) == (
        "Token was issued in the future"
    )
    no_exp = _claims(issuer)
    del no_exp["exp"]
    assert _refused(_sign(no_exp), issuer, policy) == "Token is expired"


def test_refusals_carry_the_callers_messages(issuer: Issuer, policy: egress.Policy) -> None:
    other_issuer = _claims(issuer, iss="https://elsewhere.example.com")
    assert _refused(_sign(other_issuer), issuer, policy) == "Token issuer does not match the provider"
    # the issuer is checked before the expiry, whatever order the token lists its claims in
    both = {"exp": int(time.time()) - 600, **other_issuer}
    both["exp"] = int(time.time()) - 600
    assert _refused(_sign(both), issuer, policy) == "Token issuer does not match the provider"
    assert _refused(_sign(_claims(issuer), kid="nope"), issuer, policy) == "No matching signing key for the token"
    assert _refused(_sign(_claims(issuer), kid="enc"), issuer, policy) == "No matching signing key for the token"
    head, _, sig = _sign(_claims(issuer)).split(".")
    forged_body = base64.urlsafe_b64encode(json.dumps(_claims(issuer, sub="admin")).encode()).rstrip(b"=").decode()
    assert _refused(f"{head}.{forged_body}.{sig}", issuer, policy) == "Token signature is invalid"
    es = _sign(_claims(issuer), "ES256").split(".")
    assert _refused(f"{es[0]}.{es[1]}.{sig}", issuer, policy) == "Token signature is invalid"
    hs = pyjwt.encode(_claims(issuer), "s" * 32, algorithm="HS256", headers={"kid": "rsa"})
    assert _refused(hs, issuer, policy) == "Unsupported token signing algorithm"
    none = pyjwt.encode(_claims(issuer), None, algorithm="none", headers={"kid": "rsa"})
    assert _refused(none, issuer, policy) == "Unsupported token signing algorithm"
    # an RSA algorithm with the kid of an EC key
    rs_on_ec = pyjwt.encode(_claims(issuer), RSA_KEY, algorithm="RS256", headers={"kid": "ES256"})
    assert _refused(rs_on_ec, issuer, policy) == "Unsupported token signing algorithm"
    assert _refused("a.b", issuer, policy) == "Token is malformed"
    assert _refused("!!!.e30.e30", issuer, policy) == "Token is malformed"


def test_deeply_nested_header_or_payload_is_malformed(issuer: Issuer, policy: egress.Policy) -> None:
    deep = b"[" * 5000 + b"]" * 5000

    def seg(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    _, body, sig = _sign(_claims(issuer)).split(".")
    assert _refused(f"{seg(deep)}.{body}.{sig}", issuer, policy) == "Token is malformed"
    nested = b'{"alg":"RS256","kid":"rsa","x":' + deep + b"}"
    assert _refused(f"{seg(nested)}.{body}.{sig}", issuer, policy) == "Token is malformed"
    payload = json.dumps(_claims(issuer))[:-1].encode() + b',"x":' + deep + b"}"
    token = pyjwt.api_jws.encode(payload, RSA_KEY, algorithm="RS256", headers={"kid": "rsa"})
    assert _refused(token, issuer, policy) == "Token is malformed"


def test_unreachable_issuer_and_plain_http(policy: egress.Policy) -> None:
    with pytest.raises(oidc.OidcError, match=r"Could not retrieve the signing keys of http://127\.0\.0\.1:9"):
        oidc.verify(_sign({"iss": "http://127.0.0.1:9"}), "http://127.0.0.1:9", policy, keys=oidc.KeyCache())
    with pytest.raises(oidc.OidcError, match="Issuer URL must use https"):
        oidc.verify(_sign({}), "http://192.0.2.1", policy, keys=oidc.KeyCache())
