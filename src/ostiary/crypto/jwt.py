"""Compact JWS with RS256 (RFC 7515, RFC 7518 §3.3), as Cognito signs its ID and access tokens.

Verification accepts only RS256 with a known ``kid`` (no ``alg: none``, no HMAC confusion), checks
the signature before reading any claim, then ``exp`` (and ``nbf`` when present).
"""

from __future__ import annotations

import base64
import enum
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ostiary.protocol.jsonlimits import loads as _loads


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


def sign(claims: dict[str, Any], kid: str, key: rsa.RSAPrivateKey) -> str:
    head = b64url(_json({"kid": kid, "alg": "RS256"}))
    body = b64url(_json(claims))
    signing_input = f"{head}.{body}".encode("ascii")
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(sig)}"


def unverified_header(token: str) -> dict[str, Any]:
    try:
        head = _loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not isinstance(head, dict):
        raise TokenError(TokenProblem.MALFORMED)
    return head


def verify(token: str, keys: dict[str, rsa.RSAPublicKey], now: float, leeway: float = 0.0) -> dict[str, Any]:
    """The claims of a token signed by one of ``keys`` (by kid), valid at ``now``; else TokenError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(TokenProblem.MALFORMED)
    head = unverified_header(token)
    if head.get("alg") != "RS256":
        raise TokenError(TokenProblem.BAD_ALGORITHM)
    key = keys.get(str(head.get("kid")))
    if key is None:
        raise TokenError(TokenProblem.UNKNOWN_KEY)
    try:
        sig = b64url_decode(parts[2])
        key.verify(sig, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise TokenError(TokenProblem.BAD_SIGNATURE) from None
    try:
        claims = _loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not isinstance(claims, dict):
        raise TokenError(TokenProblem.MALFORMED)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or now > exp + leeway:
        raise TokenError(TokenProblem.EXPIRED)
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and now + leeway < nbf:
        raise TokenError(TokenProblem.NOT_YET_VALID)
    return claims


def public_jwk(kid: str, key: rsa.RSAPublicKey) -> dict[str, str]:
    nums = key.public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    return {"alg": "RS256", "e": b64url(e), "kid": kid, "kty": "RSA", "n": b64url(n), "use": "sig"}
