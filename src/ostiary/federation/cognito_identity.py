"""The built-in web identity provider ``cognito-identity.amazonaws.com``: Ostiary's cognito-identity
OpenID issuer, as the modules that trust its tokens see it (STS AssumeRoleWithWebIdentity, identity
pools' Logins): its issuer URLs, its signing-key owner and the verification of its tokens. No
operations; the tokens are minted by identitypools/openid.py (GetOpenIdToken and
GetOpenIdTokenForDeveloperIdentity), which also serves the discovery document and the JWKS.

Issuer: ``<public URL>/cognito-identity``, or, with ``issuer_style = "aws"``,
``https://cognito-identity.amazonaws.com``; a token of either is this provider's
(``provider_of``). Tokens are JWS compact signed RS512 with the key of owner ``cognito-identity``;
the signature and the times are checked through joserfc (``crypto.jwt``), as user-pool tokens are.
"""

from __future__ import annotations

from typing import Any

from ostiary.config import Settings
from ostiary.crypto import jwt
from ostiary.crypto.keys import KeyRing

OWNER = "cognito-identity"
PROVIDER = "cognito-identity.amazonaws.com"
AWS_ISSUER = "https://cognito-identity.amazonaws.com"
ALG = "RS512"


def issuer(settings: Settings) -> str:
    if settings.issuer_style == "aws":
        return AWS_ISSUER
    return f"{settings.effective_public_url}/{OWNER}"


def provider_of(settings: Settings, iss: str) -> str | None:
    """``cognito-identity.amazonaws.com`` when ``iss`` is this issuer (local or AWS style), else None."""
    return PROVIDER if iss in (issuer(settings), AWS_ISSUER) else None


def verify(keys: KeyRing, settings: Settings, token: str, now: float) -> dict[str, Any]:
    """The claims of a token this issuer signed, valid at ``now``; else ``jwt.TokenError``.

    Checks the signature (RS512, a known kid), ``iss`` and ``exp``; the caller checks ``aud``.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise jwt.TokenError(jwt.TokenProblem.MALFORMED)
    head = jwt.unverified_header(token)
    if head.get("alg") != ALG:
        raise jwt.TokenError(jwt.TokenProblem.BAD_ALGORITHM)
    try:
        public = keys.public_keys(OWNER, str(head.get("kid")))
    except KeyError:
        raise jwt.TokenError(jwt.TokenProblem.UNKNOWN_KEY) from None
    claims = jwt.verify_signature(token, public, alg=ALG)
    if provider_of(settings, str(claims.get("iss"))) is None:
        raise jwt.TokenError(jwt.TokenProblem.MALFORMED)
    jwt.check_times(claims, now)
    return claims
