"""Verification of ID tokens from external OpenID Connect issuers (OpenID Connect Core 1.0 §3.1.3.7,
Discovery 1.0 §4, RFC 7517/7518).

The issuer's keys are found through ``<issuer>/.well-known/openid-configuration`` → ``jwks_uri`` and
cached per process (an hour; a token naming an unknown ``kid`` refetches at most once a minute).
Accepted algorithms: RS256/384/512, PS256/384/512, ES256/384/512 — never ``none`` or HMAC. The JOSE
work (JWK import, signature verification, the iss/exp/nbf/iat checks) is joserfc's; Ostiary keeps
the key discovery and cache, the bounded JSON reading (``ostiary.jsonlimits``) and its messages.
Every fetch goes through the egress policy (``ostiary.egress``): issuers must be ``https://`` and
public unless the operator allow-lists them (``egress_allow``); issuers the operator configured
(``federation_issuers``, the social defaults) are fetched as trusted. The discovery document must name
the issuer itself and its ``jwks_uri`` must be a JWKS document; nothing fetched is ever echoed.

Social providers (accounts.google.com, appleid.apple.com, …) are OIDC issuers too; the operator can
point each elsewhere with the ``federation_issuers`` setting (``name=https://issuer,…``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyCurveError,
    InvalidKeyTypeError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import JWKRegistry, Key
from joserfc.jwt import JWTClaimsRegistry

from ostiary import egress, jsonlimits
from ostiary.caching import TtlCache
from ostiary.crypto.jwt import b64url_decode, bounded_registry

KEYS_TTL = 3600.0
REFETCH_INTERVAL = 60.0
LEEWAY = 60.0

# Social providers whose tokens are OpenID Connect ID tokens. Facebook's are those of Limited Login
# (issuer https://www.facebook.com); Login with Amazon has no OIDC issuer, so www.amazon.com works
# only once the operator points it at one.
SOCIAL_ISSUERS = {
    "accounts.google.com": "https://accounts.google.com",
    "appleid.apple.com": "https://appleid.apple.com",
    "graph.facebook.com": "https://www.facebook.com",
}

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_CURVES = ("P-256", "P-384", "P-521")
# joserfc verifies the signature; header parameters it does not know are allowed (providers add
# their own), ``crit`` is honoured, and the size limits are the request's (see bounded_registry)
_REGISTRY = bounded_registry(ALGORITHMS)


class OidcError(ValueError):
    """Why a token was refused (the message is safe to return to the caller)."""


def check_issuer_url(url: str, policy: egress.Policy, *, trusted: bool = False) -> None:
    """https, or http to a destination the operator allow-lists (``egress_allow``)."""
    try:
        policy.require_https(url, trusted=trusted)
    except egress.EgressError:
        raise OidcError(f"Issuer URL must use https: {url}") from None


def _document(policy: egress.Policy, url: str, trusted: bool) -> dict[str, Any]:
    """A JSON object fetched with GET (200, JSON); raises EgressError or ValueError."""
    got = policy.fetch("GET", url, trusted=trusted, headers={"Accept": "application/json"})
    if got.status != 200:
        raise ValueError("unexpected status")
    document = got.json()
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def social_issuers(setting: str) -> dict[str, str]:
    """The issuer URL of each social provider, with the operator's overrides."""
    out = dict(SOCIAL_ISSUERS)
    for item in filter(None, (p.strip() for p in setting.split(","))):
        name, _, url = item.partition("=")
        if url:
            out[name.strip()] = url.strip().rstrip("/")
    return out


def _public_key(jwk: dict[str, Any]) -> Key | None:
    """The joserfc key of one JWK of a JWKS (RSA, or EC on a NIST curve); None for other kinds.
    Each key is imported on its own (not with KeySet.import_key_set, which refuses the whole set
    for one malformed key and gives a key without ``kid`` a thumbprint one): a malformed key is
    skipped, the others keep working, and a key without ``kid`` answers tokens without one."""
    kty = jwk.get("kty")
    if kty == "RSA" or (kty == "EC" and jwk.get("crv") in _CURVES):
        return JWKRegistry.import_key(jwk)
    return None


@dataclass
class _Issuer:
    keys: dict[str, Key]
    fetched: float


class KeyCache:
    """Signing keys of OIDC issuers, per process, for ``cache_oidc_key_seconds`` (KEYS_TTL, 1 h); a
    token naming a kid the issuer's keys lack fetches them again, at most every REFETCH_INTERVAL."""

    def __init__(self) -> None:
        self._issuers: TtlCache[str, _Issuer] = TtlCache("oidc_keys", ttl=KEYS_TTL)

    def _fetch(self, issuer: str, policy: egress.Policy, trusted: bool) -> dict[str, Key]:
        try:
            discovery = _document(policy, issuer.rstrip("/") + "/.well-known/openid-configuration", trusted)
            if str(discovery.get("issuer") or "").rstrip("/") != issuer.rstrip("/"):
                raise ValueError("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise ValueError("no jwks_uri")
            documents = _document(policy, jwks_uri, trusted).get("keys")
            if not isinstance(documents, list):
                raise ValueError("not a JWKS")
        except (egress.EgressError, ValueError):
            raise OidcError(f"Could not retrieve the signing keys of {issuer}") from None
        keys: dict[str, Key] = {}
        for jwk in documents:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = _public_key(jwk)
            except (JoseError, KeyError, TypeError, ValueError):
                continue
            if key is not None:
                keys[str(jwk.get("kid", ""))] = key
        return keys

    def key(self, issuer: str, kid: str, policy: egress.Policy, trusted: bool = False) -> Key | None:
        now = self._issuers.now()
        entry = self._issuers.get(issuer)  # None once KEYS_TTL is over
        if entry is not None and kid in entry.keys:
            return entry.keys[kid]
        if entry is not None and now - entry.fetched < REFETCH_INTERVAL:
            return entry.keys.get(kid)
        keys = self._fetch(issuer, policy, trusted)
        self._issuers.set(issuer, _Issuer(keys, now))
        return keys.get(kid)

    def cached(self, issuer: str, kid: str) -> bool:
        """Whether :meth:`key` would answer without fetching (so an async caller verifies on its
        event loop and goes to a thread only when the keys must be fetched)."""
        entry = self._issuers.get(issuer)
        if entry is None:
            return False
        return kid in entry.keys or self._issuers.now() - entry.fetched < REFETCH_INTERVAL

    def clear(self) -> None:
        self._issuers.clear()


KEYS = KeyCache()


def _check_signature(token: str, key: Key) -> bytes:
    """The payload of ``token`` once joserfc has checked its signature by ``key``."""
    try:
        return jws.deserialize_compact(token, key, registry=_REGISTRY).payload
    except BadSignatureError:
        raise OidcError("Token signature is invalid") from None
    except (UnsupportedAlgorithmError, InvalidKeyTypeError, InvalidKeyCurveError, KeyParameterError):
        raise OidcError("Unsupported token signing algorithm") from None
    except (JoseError, TypeError, ValueError):
        raise OidcError("Token is malformed") from None


_CLAIM_ERRORS = {
    "iss": "Token issuer does not match the provider",
    "exp": "Token is expired",
    "nbf": "Token is not yet valid",
    "iat": "Token was issued in the future",
}


def _check_claims(claims: dict[str, Any], issuer: str, moment: float) -> None:
    """``iss`` (trailing slash or not), then ``exp`` (required), ``nbf`` and ``iat``, each with
    LEEWAY, through joserfc's claims registry, in that order whatever order the token lists them."""
    base = issuer.rstrip("/")
    registry = JWTClaimsRegistry(
        now=int(moment),
        leeway=int(LEEWAY),
        iss={"essential": True, "values": [base, base + "/"]},
        exp={"essential": True},
    )
    # the claims the registry checks, in the order their errors take precedence
    checked = {name: claims[name] for name in _CLAIM_ERRORS if name in claims}
    try:
        registry.validate(checked)
    except MissingClaimError as err:
        raise OidcError(_CLAIM_ERRORS["iss" if "iss" in err.claim.split(",") else "exp"]) from None
    except ExpiredTokenError:
        raise OidcError(_CLAIM_ERRORS["exp"]) from None
    except ClaimError as err:
        raise OidcError(_CLAIM_ERRORS.get(err.claim, "Token is malformed")) from None


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWS without checking anything (to find its issuer first)."""
    try:
        claims = jsonlimits.loads(b64url_decode(token.split(".")[1]))
    except (IndexError, ValueError, UnicodeDecodeError):
        raise OidcError("Token is malformed") from None
    if not isinstance(claims, dict):
        raise OidcError("Token is malformed")
    return claims


def verify(
    token: str,
    issuer: str,
    policy: egress.Policy,
    *,
    trusted: bool = False,
    now: float | None = None,
    keys: KeyCache = KEYS,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature (by ``issuer``'s keys), ``iss``, ``exp``, ``nbf`` and
    ``iat`` check out; the caller checks the audience. ``policy`` decides where keys may be fetched
    from; ``trusted``: the issuer is the operator's (``federation_issuers``). Raises OidcError."""
    check_issuer_url(issuer, policy, trusted=trusted)
    parts = token.split(".")
    if len(parts) != 3:
        raise OidcError("Token is malformed")
    try:
        # the header is read here first: bounded (jsonlimits) before joserfc parses it itself
        head = jsonlimits.loads(b64url_decode(parts[0]))
        b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise OidcError("Token is malformed") from None
    if not isinstance(head, dict):
        raise OidcError("Token is malformed")
    alg = str(head.get("alg", ""))
    if alg[:2] not in ("RS", "PS", "ES"):
        raise OidcError("Unsupported token signing algorithm")
    key = keys.key(issuer, str(head.get("kid", "")), policy, trusted)
    if key is None:
        raise OidcError("No matching signing key for the token")
    payload = _check_signature(token, key)
    try:
        claims = jsonlimits.loads(payload)  # joserfc hands the payload over unparsed
    except (ValueError, UnicodeDecodeError):
        raise OidcError("Token is malformed") from None
    if not isinstance(claims, dict):
        raise OidcError("Token is malformed")
    _check_claims(claims, issuer, time.time() if now is None else now)
    return claims


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else [str(a) for a in aud] if isinstance(aud, list) else []
    if claims.get("azp"):
        values.append(str(claims["azp"]))
    return values
