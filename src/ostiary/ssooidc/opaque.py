"""The opaque secrets sso-oidc hands out (client secrets, device codes, authorization codes, access and
refresh tokens): high entropy, kept only as their sha256, looked up by it (an equality on the hash in
the database: the secret itself is never compared)."""

from __future__ import annotations

import hashlib
import secrets

# longest secret accepted on input (the ones Ostiary issues are far shorter); anything longer is refused
# before it is hashed
MAX_SECRET = 2048


def new(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
