"""Ostiary's cognito-identity OpenID issuer: the tokens GetOpenIdToken and
GetOpenIdTokenForDeveloperIdentity return (Cognito Developer Guide, "Identity pools authentication
flow", basic flow; the token is what STS AssumeRoleWithWebIdentity takes).

Tokens are JWS compact signed RS512 (as Cognito signs them; through joserfc, ``crypto.jwt.sign``)
with the key of owner ``cognito-identity`` in the signing-key store (one issuer for every identity pool of the install,
as AWS has one). Keys are created with the first identity pool (``ensure_keys`` in
CreateIdentityPool's transaction), never lazily on a read path.

Issuer: ``<public URL>/cognito-identity`` (discovery at ``<iss>/.well-known/openid-configuration``,
JWKS at ``<iss>/.well-known/jwks_uri`` — AWS's file name), or, with ``issuer_style = "aws"``,
``https://cognito-identity.amazonaws.com``. Either way STS knows the issuer as the built-in provider
``cognito-identity.amazonaws.com`` (condition keys ``cognito-identity.amazonaws.com:aud/sub/amr``):
``provider_of(settings, iss)`` and ``verify`` (federation/cognito_identity.py, with the issuer's
names: what STS and the Logins map trust) are the functions to use there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ostiary.config import Settings
from ostiary.crypto import jwt
from ostiary.crypto.keys import KeyRing, create_keys
from ostiary.crypto.secrets import SecretBox
from ostiary.federation.cognito_identity import ALG, issuer
from ostiary.federation.cognito_identity import OWNER as OWNER  # the key owner, also the routes' path
from ostiary.store import tables as t

POOL_ARN_CLAIM = "https://cognito-identity.amazonaws.com/identity-pool-arn"
TAGS_CLAIM = "https://aws.amazon.com/tags"
DEFAULT_SECONDS = 600  # GetOpenIdToken: 10 minutes
DEVELOPER_DEFAULT_SECONDS = 900  # GetOpenIdTokenForDeveloperIdentity without TokenDuration


def ensure_keys(conn: Connection, box: SecretBox) -> None:
    """Create the issuer's signing keys if the install has none yet (inside a write transaction)."""
    found = conn.execute(
        select(t.signing_keys.c.kid).where(t.signing_keys.c.owner == OWNER, t.signing_keys.c.status == "active")
    ).first()
    if found is None:
        create_keys(conn, box, OWNER)


def mint(
    keys: KeyRing,
    settings: Settings,
    *,
    identity_id: str,
    pool_id: str,
    pool_arn: str,
    amr: list[str],
    issued_at: int,
    seconds: int,
    principal_tags: dict[str, str] | None = None,
) -> str:
    claims: dict[str, Any] = {
        "sub": identity_id,
        "aud": pool_id,
        "amr": amr,
        "iss": issuer(settings),
        "exp": issued_at + seconds,
        "iat": issued_at,
        POOL_ARN_CLAIM: pool_arn,
    }
    if principal_tags:
        claims[TAGS_CLAIM] = {"principal_tags": {k: [v] for k, v in principal_tags.items()}}
    key = keys.signing_key(OWNER, "id")
    return jwt.sign(claims, key.kid, key.private, alg=ALG, typ="JWS")


def jwks(keys: KeyRing) -> dict[str, Any]:
    """The issuer's public keys (``alg`` RS512); empty before the first identity pool exists."""
    try:
        found = keys.jwks(OWNER)["keys"]
    except KeyError:
        return {"keys": []}
    return {"keys": [{**k, "alg": ALG} for k in found]}


def discovery_document(settings: Settings) -> dict[str, Any]:
    iss = issuer(settings)
    base = f"{settings.effective_public_url}/{OWNER}"
    return {
        "issuer": iss,
        "jwks_uri": f"{base}/.well-known/jwks_uri",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALG],
        "claims_supported": ["sub", "aud", "iss", "exp", "iat", "amr", POOL_ARN_CLAIM, TAGS_CLAIM],
    }
