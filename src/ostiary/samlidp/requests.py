"""AuthnRequests from SAML applications (SAML Core §3.4.1) in the HTTP-Redirect binding (SAML Bindings
§3.4: raw DEFLATE then base64 in ``SAMLRequest``, the signature, when the SP signs, in the query:
``SigAlg`` and ``Signature`` over ``SAMLRequest=…&RelayState=…&SigAlg=…`` exactly as sent) and the
HTTP-POST binding (§3.5: base64 in a form field, the signature, if any, enveloped in the XML).

The request is checked against the application its Issuer names (``config.by_entity_id``): the
AssertionConsumerServiceURL, when given, must be the configured one (an index other than the default
is refused); the ID is kept for the response's InResponseTo; RelayState is passed back as sent. When
the application has SP certificates, the request must be signed by one of them (RSA-SHA256 or
RSA-SHA1 for the Redirect binding, whatever signxml verifies for POST). Nothing of the document is
echoed in errors.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput
from signxml.exceptions import InvalidSignature as XmlInvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from ostiary.federation import saml

MAX_ENCODED = 64 * 1024
MAX_XML = 128 * 1024
MAX_RELAY_STATE = 2048
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REQUEST_ID = re.compile(r"^[A-Za-z_][\w.\-]{0,255}$")
SIG_ALGS = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1,
}


# what a POST-binding request may be signed with: RSA over SHA-1 (pysaml2's and many SPs' default) or
# SHA-2, never HMAC; the ACS a response goes to is the configured one whatever a request says, so a
# request's signature guards little (AWS does not check it at all)
POST_SIGNATURES = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=frozenset(
        {SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512}
    ),
    digest_algorithms=frozenset(
        {DigestAlgorithm.SHA1, DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
    ),
)


class RequestError(ValueError):
    """Why an AuthnRequest is refused (a fixed sentence for the error page)."""


@dataclass(frozen=True)
class AuthnRequest:
    request_id: str
    issuer: str
    acs_url: str | None
    acs_index: str | None
    name_id_format: str | None
    signed: bool
    relay_state: str | None
    is_passive: bool = False
    force_authn: bool = False
    destination: str | None = None


def _b64(value: str) -> bytes:
    if len(value) > MAX_ENCODED:
        raise RequestError("The SAML request is too large.")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("The SAML request is not base64.") from None


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw, MAX_XML)
    except zlib.error:
        raise RequestError("The SAML request is not DEFLATE-compressed.") from None
    if inflater.unconsumed_tail:
        raise RequestError("The SAML request is too large.")
    return out


def _read(document: bytes, relay_state: str | None, signed: bool) -> tuple[AuthnRequest, object]:
    try:
        root = saml._parse(document)  # no DTDs, no entities, no network
    except saml.SamlError:
        raise RequestError("The SAML request is not valid XML.") from None
    if root.tag != f"{{{saml.NS['samlp']}}}AuthnRequest":
        raise RequestError("The SAML message is not an AuthnRequest.")
    request_id = root.get("ID") or ""
    if not REQUEST_ID.match(request_id):
        raise RequestError("The AuthnRequest has no valid ID.")
    if root.get("Version") != "2.0":
        raise RequestError("Only SAML 2.0 AuthnRequests are accepted.")
    issuer = (root.findtext("saml:Issuer", default="", namespaces=saml.NS) or "").strip()
    if not issuer:
        raise RequestError("The AuthnRequest has no Issuer.")
    binding = root.get("ProtocolBinding")
    if binding is not None and binding != POST_BINDING:
        raise RequestError("Only the HTTP-POST binding is used for responses.")
    policy = root.find("samlp:NameIDPolicy", saml.NS)
    found = AuthnRequest(
        request_id=request_id,
        issuer=issuer,
        acs_url=root.get("AssertionConsumerServiceURL") or None,
        acs_index=root.get("AssertionConsumerServiceIndex"),
        name_id_format=policy.get("Format") if policy is not None else None,
        signed=signed,
        relay_state=relay_state,
        is_passive=root.get("IsPassive") in ("true", "1"),
        force_authn=root.get("ForceAuthn") in ("true", "1"),
        destination=root.get("Destination") or None,
    )
    return found, root


def _relay(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_RELAY_STATE:
        raise RequestError("The RelayState is too long.")
    return value


def _raw_params(query: str) -> dict[str, str]:
    """The query's parameters as sent (still URL-encoded): the Redirect binding signs those bytes."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name and name not in out:
            out[name] = value
    return out


def _certificates(pems: tuple[str, ...]) -> list[rsa.RSAPublicKey]:
    keys = []
    for pem in pems:
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        if isinstance(key, rsa.RSAPublicKey):
            keys.append(key)
    return keys


def from_redirect(query: str) -> tuple[AuthnRequest, bytes | None, str | None, bytes]:
    """(request, signature, SigAlg, signed bytes) of an HTTP-Redirect binding's raw query string; the
    signature is checked by ``check_signature`` once the application is known."""
    if len(query) > MAX_ENCODED * 2:
        raise RequestError("The SAML request is too large.")
    raw = _raw_params(query)
    if "SAMLRequest" not in raw:
        raise RequestError("There is no SAMLRequest.")
    relay = _relay(unquote_plus(raw["RelayState"]) if "RelayState" in raw else None)
    document = _inflate(_b64(unquote_plus(raw["SAMLRequest"])))
    signature = raw.get("Signature")
    request, _ = _read(document, relay, signed=signature is not None)
    sig_alg = unquote_plus(raw["SigAlg"]) if "SigAlg" in raw else None
    signed_part = "&".join(
        f"{name}={raw[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in raw
    ).encode("ascii", "replace")
    return request, _b64(unquote_plus(signature)) if signature else None, sig_alg, signed_part


def check_redirect_signature(
    signature: bytes | None, sig_alg: str | None, signed_part: bytes, certificates: tuple[str, ...]
) -> None:
    if not certificates:
        return  # the application does not sign its requests (AWS does not ask it to)
    if signature is None or sig_alg is None:
        raise RequestError("The application's requests must be signed.")
    algorithm = SIG_ALGS.get(sig_alg)
    if algorithm is None:
        raise RequestError("The request's signature algorithm is not supported.")
    for key in _certificates(certificates):
        try:
            key.verify(signature, signed_part, padding.PKCS1v15(), algorithm())
            return
        except InvalidSignature:
            continue
    raise RequestError("The request's signature does not verify.")


def from_post(encoded: str, relay_state: str | None) -> tuple[AuthnRequest, bytes]:
    """(request, the XML) of an HTTP-POST binding's SAMLRequest; the enveloped signature, if any, is
    checked by ``check_post_signature`` once the application is known."""
    document = _b64(encoded)
    if len(document) > MAX_XML:
        raise RequestError("The SAML request is too large.")
    request, root = _read(document, _relay(relay_state), signed=False)
    signed = root.find("ds:Signature", saml.NS) is not None  # type: ignore[attr-defined]
    return dataclasses.replace(request, signed=signed), document


def check_post_signature(document: bytes, certificates: tuple[str, ...]) -> None:
    if not certificates:
        return
    root = saml._parse(document)
    if root.find("ds:Signature", saml.NS) is None:
        raise RequestError("The application's requests must be signed.")
    for cert in certificates:
        try:
            XMLVerifier().verify(root, x509_cert=cert, expect_config=POST_SIGNATURES)
            return
        except (XmlInvalidSignature, InvalidDigest, InvalidCertificate, InvalidInput):
            continue
    raise RequestError("The request's signature does not verify.")
