"""SAML 2.0 for AssumeRoleWithSAML and identity pools: IdP metadata (SAML Metadata §2.4.3) and signed
responses (SAML Core §2.3.3, §2.5, §3.2.2; XML Signature via signxml).

Safety rules:
- documents with a DOCTYPE are refused outright (no DTDs, no entities: no XXE, no billion laughs);
  the parser never touches the network;
- only the element the signature actually covers is read (signxml returns it, re-parsed from its
  canonical form: no comments, no unsigned siblings): a document that carries more than one Assertion
  is refused, and every value used (Issuer, NameID, attributes, audiences, validity, the bearer
  subject confirmation's Recipient, NotOnOrAfter and InResponseTo) is read from the signed Assertion;
  the Response's own InResponseTo and Destination count only when the Response is what is signed
  (the envelope around a signed Assertion is anybody's to write);
- the signing certificate must be one the provider's metadata lists;
- an assertion must expire (NotOnOrAfter), so that its ID can be remembered as spent until then;
- error messages are fixed sentences: nothing of the document is echoed.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
}
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
SESSION_DURATION_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
SOURCE_IDENTITY_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
PRINCIPAL_TAG_PREFIX = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:"
TRANSITIVE_TAGS_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
AWS_AUDIENCES = ("https://signin.aws.amazon.com/saml", "urn:amazon:webservices")
CLOCK_SKEW = dt.timedelta(minutes=5)
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


class SamlError(ValueError):
    """Why a document was refused (safe to return to the caller)."""


def _parse(document: bytes) -> Any:
    if b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
        raise SamlError("Document type declarations are not allowed")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError:
        raise SamlError("Malformed XML") from None
    if root is None:
        raise SamlError("Malformed XML")
    return root


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SamlError("The document carries an invalid time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- metadata -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    entity_id: str
    certificates: tuple[str, ...]  # PEM
    valid_until: dt.datetime | None
    # IDPSSODescriptor SingleSignOnService / SingleLogoutService with the HTTP-Redirect binding
    sso_redirect_url: str | None = None
    slo_redirect_url: str | None = None


def _pem(b64: str) -> str:
    body = "".join(b64.split())
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(body))
    except ValueError:
        raise SamlError("Invalid certificate in metadata") from None
    return cert.public_bytes(Encoding.PEM).decode()


def _redirect_location(idp: Any, element: str) -> str | None:
    for service in idp.findall(f"md:{element}", NS):
        if service.get("Binding") == REDIRECT_BINDING and service.get("Location"):
            return str(service.get("Location"))
    return None


def parse_metadata(document: str) -> Metadata:
    """The IdP's entity id, signing certificates, validUntil and HTTP-Redirect sign-in and sign-out
    URLs from its metadata."""
    root = _parse(document.encode())
    descriptors = [root] if root.tag == f"{{{NS['md']}}}EntityDescriptor" else root.findall("md:EntityDescriptor", NS)
    for entity in descriptors:
        idp = entity.find("md:IDPSSODescriptor", NS)
        if idp is None:
            continue
        certs = []
        for kd in idp.findall("md:KeyDescriptor", NS):
            if kd.get("use") not in (None, "signing"):
                continue
            for c in kd.findall(".//ds:X509Certificate", NS):
                if c.text:
                    certs.append(_pem(c.text))
        if not certs:
            raise SamlError("The metadata has no signing certificate")
        valid_until = _instant(entity.get("validUntil") or root.get("validUntil"))
        entity_id = entity.get("entityID")
        if not entity_id:
            raise SamlError("The metadata has no entityID")
        return Metadata(
            entity_id,
            tuple(certs),
            valid_until,
            sso_redirect_url=_redirect_location(idp, "SingleSignOnService"),
            slo_redirect_url=_redirect_location(idp, "SingleLogoutService"),
        )
    raise SamlError("The metadata has no IDPSSODescriptor")


# --- responses ----------------------------------------------------------------------------------


@dataclass
class Assertion:
    issuer: str
    subject: str
    subject_type: str  # NameID Format
    audiences: list[str]
    recipient: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # the end of the assertion's validity: the earliest of the Conditions' and the bearer subject
    # confirmation's NotOnOrAfter (an assertion without either is refused)
    not_on_or_after: dt.datetime | None = None
    # the request answered: the signed bearer subject confirmation's InResponseTo, or the Response's
    # when the Response itself is signed; None for an unsolicited (IdP-initiated) response
    in_response_to: str | None = None
    assertion_id: str = ""  # the signed Assertion's ID (single-use checks)
    destination: str | None = None  # the Response's Destination, only when the Response is signed


def _verified_assertion(root: Any, certificates: tuple[str, ...]) -> tuple[Any, Any]:
    """(the signed Assertion, the signed Response that carries it or None), both as signxml returns
    them: the signed element alone, parsed again from its canonical form."""
    assertions = root.findall(".//saml:Assertion", NS)
    if root.tag == f"{{{NS['saml']}}}Assertion":
        assertions = [root]
    if len(assertions) != 1:
        raise SamlError("The response must carry exactly one Assertion")
    if root.findall(".//saml:EncryptedAssertion", NS):
        raise SamlError("Encrypted assertions are not supported")
    signatures = root.findall(".//ds:Signature", NS)
    if not signatures:
        raise SamlError("The response is not signed")
    last_error = "The signature does not verify"
    for cert in certificates:
        for signature in signatures:
            parent = signature.getparent()
            try:
                result = XMLVerifier().verify(
                    parent,
                    x509_cert=cert,
                    expect_config=SignatureConfiguration(location="./", expect_references=1),
                )
            except (InvalidSignature, InvalidDigest, InvalidCertificate, InvalidInput) as err:
                last_error = f"The signature does not verify: {type(err).__name__}"
                continue
            signed = result.signed_xml if not isinstance(result, list) else None
            if signed is None:
                continue
            # read only what the signature covers
            if signed.tag == f"{{{NS['saml']}}}Assertion":
                return signed, None
            if signed.tag == f"{{{NS['samlp']}}}Response":
                inner = signed.findall("saml:Assertion", NS)
                if len(inner) == 1 and not signed.findall(".//saml:EncryptedAssertion", NS):
                    return inner[0], signed
            last_error = "The signature covers neither the Response nor the Assertion"
    raise SamlError(last_error)


BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"


def _text(element: Any, *, strict: bool = False) -> str:
    """An element's own text: comments and processing instructions are skipped, never a place where
    the value ends (signxml has dropped them already; this holds whatever it returns). ``strict``:
    child elements are refused (a NameID is text)."""
    parts = [element.text or ""]
    for child in element:
        if strict and isinstance(child.tag, str):
            raise SamlError("The assertion's subject is not plain text")
        parts.append(child.tail or "")
    return "".join(parts).strip()


def verify_response(encoded: str, certificates: tuple[str, ...], now: dt.datetime) -> Assertion:
    """The verified Assertion of a base64 SAML Response (or bare Assertion), or SamlError.

    Everything returned is read from what the signature covers; the caller still checks the audience,
    the Recipient (and Destination), InResponseTo and that the ID is not spent."""
    try:
        document = base64.b64decode(encoded, validate=False)
    except ValueError:
        raise SamlError("The SAML assertion is not base64") from None
    root = _parse(document)
    if root.tag == f"{{{NS['samlp']}}}Response":
        status = root.find("samlp:Status/samlp:StatusCode", NS)
        if status is None or status.get("Value") != SUCCESS:
            raise SamlError("The SAML response does not report success")
    elif root.tag != f"{{{NS['saml']}}}Assertion":
        raise SamlError("Not a SAML Response")
    assertion, response = _verified_assertion(root, certificates)
    if response is not None:
        status = response.find("samlp:Status/samlp:StatusCode", NS)
        if status is None or status.get("Value") != SUCCESS:
            raise SamlError("The SAML response does not report success")

    issuer = (assertion.findtext("saml:Issuer", default="", namespaces=NS) or "").strip()
    if not issuer:
        raise SamlError("The assertion has no Issuer")
    assertion_id = assertion.get("ID") or ""
    if not assertion_id:
        raise SamlError("The assertion has no ID")
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    subject = _text(name_id, strict=True) if name_id is not None else ""
    if not subject:
        raise SamlError("The assertion has no subject")
    conditions = assertion.find("saml:Conditions", NS)
    not_before = _instant(conditions.get("NotBefore")) if conditions is not None else None
    not_after = _instant(conditions.get("NotOnOrAfter")) if conditions is not None else None
    if not_before is not None and now + CLOCK_SKEW < not_before:
        raise SamlError("The assertion is not yet valid")
    audiences = [_text(a) for a in assertion.findall("saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)]

    # SAML profiles §4.1.4.2: the bearer SubjectConfirmation(s) carry the Recipient, NotOnOrAfter and
    # InResponseTo; several that disagree are refused rather than chosen among
    confirmations: set[tuple[str, str]] = set()
    confirmation_expiry: dt.datetime | None = None
    for confirmation in assertion.findall("saml:Subject/saml:SubjectConfirmation", NS):
        if confirmation.get("Method") != BEARER:
            continue
        data = confirmation.find("saml:SubjectConfirmationData", NS)
        if data is None:
            confirmations.add(("", ""))
            continue
        confirmations.add((data.get("Recipient") or "", data.get("InResponseTo") or ""))
        expiry = _instant(data.get("NotOnOrAfter"))
        if expiry is not None:
            confirmation_expiry = expiry if confirmation_expiry is None else min(confirmation_expiry, expiry)
    if not confirmations:
        raise SamlError("The assertion has no bearer subject confirmation")
    if len(confirmations) > 1:
        raise SamlError("The assertion's subject confirmations disagree")
    recipient, confirmed_request = next(iter(confirmations))

    expiries = [e for e in (not_after, confirmation_expiry) if e is not None]
    if not expiries:
        raise SamlError("The assertion has no NotOnOrAfter")
    expires = min(expiries)
    if now - CLOCK_SKEW >= expires:
        raise SamlError("The assertion has expired")

    # the request answered: only from what is signed
    in_response_to = confirmed_request or None
    destination = None
    if response is not None:
        answered = response.get("InResponseTo") or None
        if in_response_to and answered and answered != in_response_to:
            raise SamlError("The response and its assertion answer different requests")
        in_response_to = in_response_to or answered
        destination = response.get("Destination") or None

    attributes: dict[str, list[str]] = {}
    for attr in assertion.findall("saml:AttributeStatement/saml:Attribute", NS):
        name = attr.get("Name") or ""
        values = [_text(v) for v in attr.findall("saml:AttributeValue", NS)]
        attributes.setdefault(name, []).extend(values)
    return Assertion(
        issuer=issuer,
        subject=subject,
        subject_type=(name_id.get("Format") if name_id is not None else None)
        or "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        audiences=audiences,
        recipient=recipient,
        attributes=attributes,
        not_on_or_after=expires,
        in_response_to=in_response_to,
        assertion_id=assertion_id,
        destination=destination,
    )


def short_subject_type(fmt: str) -> str:
    """STS's SubjectType: ``persistent``/``transient`` for those formats, the full URI otherwise."""
    for short in ("persistent", "transient"):
        if fmt == f"urn:oasis:names:tc:SAML:2.0:nameid-format:{short}":
            return short
    return fmt
