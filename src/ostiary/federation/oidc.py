"""Verification of ID tokens from external OpenID Connect issuers (OpenID Connect Core 1.0 §3.1.3.7,
Discovery 1.0 §4, RFC 7517/7518).

The issuer's keys are found through ``<issuer>/.well-known/openid-configuration`` → ``jwks_uri`` and
cached per process (an hour; a token naming an unknown ``kid`` refetches at most once a minute).
Accepted algorithms: RS256/384/512, PS256/384/512, ES256/384/512 — never ``none`` or HMAC.
Every fetch goes through the egress policy (``ostiary.egress``): issuers must be ``https://`` and
public unless the operator allow-lists them (``egress_allow``); issuers the operator configured
(``federation_issuers``, the social defaults) are fetched as trusted. The discovery document must name
the issuer itself and its ``jwks_uri`` must be a JWKS document; nothing fetched is ever echoed.

Social providers (accounts.google.com, appleid.apple.com, …) are OIDC issuers too; the operator can
point each elsewhere with the ``federation_issuers`` setting (``name=https://issuer,…``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ostiary import egress
from ostiary.crypto.jwt import b64url_decode
from ostiary.protocol import jsonlimits

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

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


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


def _public_key(jwk: dict[str, Any]) -> Any:
    kty = jwk.get("kty")
    if kty == "RSA":
        n = int.from_bytes(b64url_decode(jwk["n"]), "big")
        e = int.from_bytes(b64url_decode(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if kty == "EC" and jwk.get("crv") in _CURVES:
        x = int.from_bytes(b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(b64url_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, _CURVES[jwk["crv"]]).public_key()
    return None


@dataclass
class _Issuer:
    keys: dict[str, Any]
    fetched: float


class KeyCache:
    """Signing keys of OIDC issuers, per process."""

    def __init__(self) -> None:
        self._issuers: dict[str, _Issuer] = {}
        self._lock = threading.Lock()

    def _fetch(self, issuer: str, policy: egress.Policy, trusted: bool) -> dict[str, Any]:
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
        keys: dict[str, Any] = {}
        for jwk in documents:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = _public_key(jwk)
            except (KeyError, ValueError):
                continue
            if key is not None:
                keys[str(jwk.get("kid", ""))] = key
        return keys

    def key(self, issuer: str, kid: str, policy: egress.Policy, trusted: bool = False) -> Any:
        now = time.monotonic()
        with self._lock:
            entry = self._issuers.get(issuer)
        if entry is not None and now - entry.fetched < KEYS_TTL and kid in entry.keys:
            return entry.keys[kid]
        if entry is not None and now - entry.fetched < REFETCH_INTERVAL:
            return entry.keys.get(kid)
        keys = self._fetch(issuer, policy, trusted)
        with self._lock:
            self._issuers[issuer] = _Issuer(keys, now)
        return keys.get(kid)

    def clear(self) -> None:
        with self._lock:
            self._issuers.clear()


KEYS = KeyCache()


def _check_signature(alg: str, key: Any, signing_input: bytes, sig: bytes) -> None:
    family, bits = alg[:2], alg[2:]
    digest = _HASHES.get(bits)
    if digest is None:
        raise OidcError("Unsupported token signing algorithm")
    try:
        if family == "RS" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, signing_input, padding.PKCS1v15(), digest())
        elif family == "PS" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, signing_input, padding.PSS(padding.MGF1(digest()), padding.PSS.DIGEST_LENGTH), digest())
        elif family == "ES" and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(sig) // 2
            der = encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
            key.verify(der, signing_input, ec.ECDSA(digest()))
        else:
            raise OidcError("Unsupported token signing algorithm")
    except InvalidSignature:
        raise OidcError("Token signature is invalid") from None


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
        head = jsonlimits.loads(b64url_decode(parts[0]))
        sig = b64url_decode(parts[2])
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
    _check_signature(alg, key, f"{parts[0]}.{parts[1]}".encode("ascii"), sig)
    claims = unverified_claims(token)
    if str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise OidcError("Token issuer does not match the provider")
    moment = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or moment > exp + LEEWAY:
        raise OidcError("Token is expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and moment + LEEWAY < nbf:
        raise OidcError("Token is not yet valid")
    iat = claims.get("iat")
    if isinstance(iat, (int, float)) and moment + LEEWAY < iat:
        raise OidcError("Token was issued in the future")
    return claims


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else [str(a) for a in aud] if isinstance(aud, list) else []
    if claims.get("azp"):
        values.append(str(claims["azp"]))
    return values
