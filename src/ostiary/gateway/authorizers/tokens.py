"""What the JWT and Cognito user pool authorizers share: reading the token, verifying it against an
issuer's keys (``federation.oidc``: discovery, JWKS cache refreshed on an unknown ``kid`` at most once
a minute, joserfc for the signature and the iss/exp/nbf/iat checks), and the scopes it carries.

API Gateway accepts RSA signatures only for JWT authorizers; so does this (RS256, RS384, RS512):
``none``, HMAC (a public key used as a shared secret), ES and PS tokens are refused before any key is
looked up. The issuer is one the operator configured, so its keys are fetched as trusted
(``egress``: http allowed, no address policy; the size and time caps and no redirects still apply).
Verification runs on the event loop (an RSA check is tens of microseconds) and only a key fetch goes
to a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ostiary import egress, jsonlimits
from ostiary.crypto.jwt import b64url_decode
from ostiary.federation import oidc
from ostiary.gateway.identity_sources import IdentitySource
from ostiary.gateway.model import AuthRequest

RSA_ALGORITHMS = ("RS256", "RS384", "RS512")
MAX_TOKEN_CHARS = 16 * 1024


class TokenRefused(Exception):
    """Why a token was refused (for the gateway's logs; the client only sees 401)."""


def token_from(request: AuthRequest, source: IdentitySource) -> str | None:
    """The token at ``source``, without a ``Bearer`` prefix; None when absent."""
    value = source.value(request, request.request_id)
    if value is None:
        return None
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def header_of(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenRefused("token too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRefused("not a compact JWS")
    try:
        head = jsonlimits.loads(b64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused("malformed header") from None
    if not isinstance(head, dict):
        raise TokenRefused("malformed header")
    return head


async def verify(token: str, issuer: str, policy: egress.Policy, keys: oidc.KeyCache = oidc.KEYS) -> dict[str, Any]:
    """The token's claims once its RSA signature by ``issuer``'s keys, its ``iss``, ``exp``, ``nbf``
    and ``iat`` check out; raises TokenRefused."""
    head = header_of(token)
    if head.get("alg") not in RSA_ALGORITHMS:
        raise TokenRefused(f"algorithm {str(head.get('alg'))[:16]!r} not accepted")
    kid = str(head.get("kid", ""))
    if not keys.cached(issuer, kid):
        try:  # fetch (or refetch on an unknown kid, rate-limited by the cache) off the event loop
            await asyncio.to_thread(keys.key, issuer, kid, policy, True)
        except oidc.OidcError as exc:
            raise TokenRefused(str(exc)) from None
    try:
        return oidc.verify(token, issuer, policy, trusted=True, keys=keys)
    except oidc.OidcError as exc:
        raise TokenRefused(str(exc)) from None


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims before verification (to pick the issuer among several); raises TokenRefused."""
    header_of(token)
    try:
        return oidc.unverified_claims(token)
    except oidc.OidcError as exc:
        raise TokenRefused(str(exc)) from None


def scopes_of(claims: dict[str, Any]) -> tuple[str, ...]:
    """The token's scopes: ``scope`` (a space-separated string) or ``scp`` (a list or a string)."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(str(v) for v in value)
    return ()
