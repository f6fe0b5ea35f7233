"""The per-process cache of verified access-token signatures: it saves the RSA check of a token
seen before and nothing else (expiry, key removal and forgeries are still refused)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ostiary.crypto import jwt
from ostiary.userpools import tokens

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
POOL = "us-east-1_Cache1234"


class _Keys:
    """The part of KeyRing the check uses: the pool's public keys by kid."""

    def __init__(self, public: dict[str, Any]) -> None:
        self.public = public
        self.calls = 0

    def public_keys(self, owner: str, kid: str | None = None) -> dict[str, Any]:
        assert owner == POOL
        self.calls += 1
        return self.public


def _token(exp: float, key: rsa.RSAPrivateKey = KEY) -> str:
    return jwt.sign({"iss": f"http://x/{POOL}", "exp": exp, "token_use": "access"}, "kid-1", key)


def _problem(keys: _Keys, token: str, now: float) -> jwt.TokenProblem:
    with pytest.raises(jwt.TokenError) as info:
        tokens._verified_claims(keys, token, now)  # type: ignore[arg-type]
    return info.value.problem


def test_cached_token_still_expires() -> None:
    keys = _Keys({"kid-1": KEY.public_key()})
    now = time.time()
    token = _token(now + 60)
    assert tokens._verified_claims(keys, token, now)[0] == POOL  # type: ignore[arg-type]
    assert token in tokens._verified
    assert tokens._verified_claims(keys, token, now + 59)[1]["exp"] == now + 60  # type: ignore[arg-type]
    assert _problem(keys, token, now + 61) is jwt.TokenProblem.EXPIRED
    assert token not in tokens._verified


def test_cached_token_refused_once_its_key_is_gone() -> None:
    keys = _Keys({"kid-1": KEY.public_key()})
    now = time.time()
    token = _token(now + 60)
    tokens._verified_claims(keys, token, now)  # type: ignore[arg-type]
    keys.public = {"kid-2": OTHER.public_key()}  # key ring reloaded without the token's key
    assert _problem(keys, token, now) is jwt.TokenProblem.UNKNOWN_KEY
    keys.public = {"kid-1": OTHER.public_key()}  # same kid, another key: verified again, and refused
    assert _problem(keys, token, now) is jwt.TokenProblem.BAD_SIGNATURE


def test_altered_token_is_verified_not_looked_up() -> None:
    keys = _Keys({"kid-1": KEY.public_key()})
    now = time.time()
    token = _token(now + 60)
    tokens._verified_claims(keys, token, now)  # type: ignore[arg-type]
    head, _, sig = token.split(".")
    forged_body = jwt.b64url(b'{"iss":"http://x/' + POOL.encode() + b'","exp":9999999999,"token_use":"access"}')
    assert _problem(keys, f"{head}.{forged_body}.{sig}", now) is jwt.TokenProblem.BAD_SIGNATURE
    assert _problem(keys, _token(now + 60, OTHER), now) is jwt.TokenProblem.BAD_SIGNATURE
