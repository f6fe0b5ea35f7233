"""Compact JWS with RS256 (RFC 7515, RFC 7518 §3.3), as Cognito signs its ID and access tokens, and
RS512, as the cognito-identity OpenID issuer signs its tokens (identitypools/openid.py).

Signing and signature verification are joserfc's. Verification accepts only the one algorithm the
caller names (RS256 unless told) with a known ``kid`` (no ``alg: none``, no HMAC confusion), checks
the signature before reading any claim, then ``exp`` (and ``nbf`` when present) through joserfc's
claims registry. Header and payload are read with the bounded JSON reader (``ostiary.jsonlimits``)
before joserfc parses either itself. The
joserfc key of each cryptography key is made once per process (``_jose_key``), as the key ring
keeps the cryptography keys parsed; the verified-signature cache of access tokens stays in
``userpools.tokens``.
"""

from __future__ import annotations

import base64
import enum
import sys
from collections.abc import Iterable
from typing import Any, cast

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.errors import BadSignatureError, ClaimError, JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from joserfc.jwt import JWTClaimsRegistry

from ostiary.jsonlimits import loads as _loads


class _UnboundedSizes(JWSRegistry):
    # a token is bounded by the request that carries it (max_body_bytes); joserfc's own limits (a
    # 512-byte header, a 1,024-character signature) would refuse tokens Ostiary accepted
    max_header_length = sys.maxsize
    max_payload_length = sys.maxsize
    max_signature_length = sys.maxsize


def bounded_registry(algorithms: Iterable[str]) -> JWSRegistry:
    """A joserfc JWS registry allowing exactly ``algorithms``; header parameters joserfc does not
    register are allowed (issuers add their own), sizes are bounded by the request."""
    return _UnboundedSizes(algorithms=list(algorithms), strict_check_header=False)


# one registry per algorithm Ostiary signs with: a token verifies only under the algorithm its issuer uses
_REGISTRIES = {alg: bounded_registry((alg,)) for alg in ("RS256", "RS512")}


class TokenProblem(enum.Enum):
    MALFORMED = "malformed"
    BAD_ALGORITHM = "bad-algorithm"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


class TokenError(ValueError):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)  # compact UTF-8, keys in insertion order


# cryptography key (by identity; the entry holds it, so its id is not reused) → its joserfc key
_JOSE_KEYS: dict[int, tuple[object, RSAKey]] = {}
JOSE_KEYS_MAX = 4096


def _jose_key(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> RSAKey:
    hit = _JOSE_KEYS.get(id(key))
    if hit is not None and hit[0] is key:
        return hit[1]
    wrapped = RSAKey.import_key(key)
    if len(_JOSE_KEYS) >= JOSE_KEYS_MAX:
        _JOSE_KEYS.clear()
    _JOSE_KEYS[id(key)] = (key, wrapped)
    return wrapped


def sign(claims: dict[str, Any], kid: str, key: rsa.RSAPrivateKey, *, alg: str = "RS256", typ: str = "") -> str:
    """A compact JWS of ``claims``; the header is ``kid``, ``typ`` when given, then ``alg``."""
    header = {"kid": kid, "typ": typ, "alg": alg} if typ else {"kid": kid, "alg": alg}
    return jws.serialize_compact(header, _json(claims), _jose_key(key), registry=_REGISTRIES[alg])


def unverified_header(token: str) -> dict[str, Any]:
    try:
        head = _loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not isinstance(head, dict):
        raise TokenError(TokenProblem.MALFORMED)
    return head


def verify(token: str, keys: dict[str, rsa.RSAPublicKey], now: float, leeway: float = 0.0) -> dict[str, Any]:
    """The claims of an RS256 token signed by one of ``keys`` (by kid), valid at ``now``; else TokenError."""
    claims = verify_signature(token, keys)
    check_times(claims, now, leeway)
    return claims


def verify_signature(token: str, keys: dict[str, rsa.RSAPublicKey], alg: str = "RS256") -> dict[str, Any]:
    """The claims of a token signed with ``alg`` by one of ``keys`` (by kid), times not yet checked
    (``check_times``); else TokenError. No claim is read before the signature is checked."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(TokenProblem.MALFORMED)
    head = unverified_header(token)  # bounded (jsonlimits) before joserfc parses the header itself
    if head.get("alg") != alg:
        raise TokenError(TokenProblem.BAD_ALGORITHM)
    key = keys.get(str(head.get("kid")))
    if key is None:
        raise TokenError(TokenProblem.UNKNOWN_KEY)
    try:
        payload = jws.deserialize_compact(token, _jose_key(key), registry=_REGISTRIES[alg]).payload
    except BadSignatureError:
        raise TokenError(TokenProblem.BAD_SIGNATURE) from None
    except (JoseError, TypeError, ValueError):
        raise TokenError(TokenProblem.MALFORMED) from None
    try:
        claims = _loads(payload)  # joserfc hands the payload over unparsed
    except (ValueError, UnicodeDecodeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not isinstance(claims, dict):
        raise TokenError(TokenProblem.MALFORMED)
    return claims


def check_times(claims: dict[str, Any], now: float, leeway: float = 0.0) -> None:
    """``exp`` (required) and ``nbf`` (when present) at ``now``, through joserfc's claims registry; else
    TokenError (EXPIRED, NOT_YET_VALID)."""
    # ``now`` stays a float (sub-second expiry); joserfc compares it as given
    registry = JWTClaimsRegistry(now=cast(int, now), leeway=cast(int, leeway), exp={"essential": True})
    try:
        registry.validate({name: claims[name] for name in ("exp", "nbf") if name in claims})
    except ClaimError as err:
        raise TokenError(TokenProblem.NOT_YET_VALID if err.claim == "nbf" else TokenProblem.EXPIRED) from None


def public_jwk(kid: str, key: rsa.RSAPublicKey) -> dict[str, str]:
    nums = key.public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    return {"alg": "RS256", "e": b64url(e), "kid": kid, "kty": "RSA", "n": b64url(n), "use": "sig"}
