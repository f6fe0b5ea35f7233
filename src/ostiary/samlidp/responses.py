"""The SAML Response Ostiary's IdP posts to an application's ACS (SAML Core §2.3.3, §2.5, §3.2.2; the
Web Browser SSO profile, SAML Profiles §4.1.4.2): a signed Response carrying one signed Assertion, both
RSA-SHA256 over SHA-256 digests with exclusive canonicalization (signxml), the signature placed after
the Issuer as the schema asks.

The Assertion: Issuer the instance's entity id; Subject NameID in the application's format, a bearer
SubjectConfirmation whose Recipient is the ACS URL, NotOnOrAfter five minutes ahead and InResponseTo
the AuthnRequest's ID (none for IdP-initiated); Conditions NotBefore/NotOnOrAfter with the
application's audience; an AuthnStatement with a SessionIndex; the mapped attributes.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass

from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
LIFETIME = dt.timedelta(minutes=5)
SKEW = dt.timedelta(minutes=1)  # NotBefore a little in the past: the SP's clock may be behind


@dataclass(frozen=True)
class Attribute:
    name: str
    name_format: str  # URI
    values: tuple[str, ...]


@dataclass(frozen=True)
class Subject:
    name_id: str
    name_id_format: str  # URI
    sp_name_qualifier: str | None = None


def _id() -> str:
    return "_" + secrets.token_hex(20)  # an NCName, 160 random bits (SAML Core §1.3.4)


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _placeholder(parent: etree._Element) -> None:
    """Where signxml puts the enveloped signature: right after the Issuer."""
    etree.SubElement(parent, f"{{{DS}}}Signature", {"Id": "placeholder"})


def _sign(element: etree._Element, key_pem: str, cert_pem: str) -> etree._Element:
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed: etree._Element = signer.sign(
        element, key=key_pem.encode(), cert=cert_pem, reference_uri=element.get("ID"), id_attribute="ID"
    )
    return signed


def assertion_element(
    *,
    issuer: str,
    subject: Subject,
    acs_url: str,
    audience: str,
    in_response_to: str | None,
    session_index: str,
    attributes: list[Attribute],
    now: dt.datetime,
) -> etree._Element:
    expires = _instant(now + LIFETIME)
    assertion = etree.Element(
        f"{{{SAML}}}Assertion",
        {"ID": _id(), "Version": "2.0", "IssueInstant": _instant(now)},
        nsmap={"saml": SAML, "ds": DS, "xs": XS, "xsi": XSI},
    )
    _el(assertion, SAML, "Issuer", issuer)
    _placeholder(assertion)
    subj = _el(assertion, SAML, "Subject")
    name_attrs = {"Format": subject.name_id_format}
    if subject.sp_name_qualifier:
        name_attrs["SPNameQualifier"] = subject.sp_name_qualifier
    _el(subj, SAML, "NameID", subject.name_id, **name_attrs)
    confirmation = _el(subj, SAML, "SubjectConfirmation", Method=BEARER)
    data = {"NotOnOrAfter": expires, "Recipient": acs_url}
    if in_response_to:
        data["InResponseTo"] = in_response_to
    _el(confirmation, SAML, "SubjectConfirmationData", **data)
    conditions = _el(assertion, SAML, "Conditions", NotBefore=_instant(now - SKEW), NotOnOrAfter=expires)
    _el(_el(conditions, SAML, "AudienceRestriction"), SAML, "Audience", audience)
    statement = _el(assertion, SAML, "AuthnStatement", AuthnInstant=_instant(now), SessionIndex=session_index)
    _el(_el(statement, SAML, "AuthnContext"), SAML, "AuthnContextClassRef", PASSWORD_PROTECTED)
    if attributes:
        attribute_statement = _el(assertion, SAML, "AttributeStatement")
        for attribute in attributes:
            element = _el(attribute_statement, SAML, "Attribute", Name=attribute.name, NameFormat=attribute.name_format)
            for value in attribute.values:
                item = _el(element, SAML, "AttributeValue", value)
                item.set(f"{{{XSI}}}type", "xs:string")
    return assertion


def signed_response(
    *,
    issuer: str,
    key_pem: str,
    cert_pem: str,
    subject: Subject,
    acs_url: str,
    audience: str,
    in_response_to: str | None,
    session_index: str,
    attributes: list[Attribute],
    now: dt.datetime,
) -> str:
    """The base64 of a signed Response carrying a signed Assertion, for the HTTP-POST binding."""
    assertion = _sign(
        assertion_element(
            issuer=issuer,
            subject=subject,
            acs_url=acs_url,
            audience=audience,
            in_response_to=in_response_to,
            session_index=session_index,
            attributes=attributes,
            now=now,
        ),
        key_pem,
        cert_pem,
    )
    attrs = {"ID": _id(), "Version": "2.0", "IssueInstant": _instant(now), "Destination": acs_url}
    if in_response_to:
        attrs["InResponseTo"] = in_response_to
    response = etree.Element(f"{{{SAMLP}}}Response", attrs, nsmap={"samlp": SAMLP, "saml": SAML, "ds": DS})
    _el(response, SAML, "Issuer", issuer)
    _placeholder(response)
    status = _el(response, SAMLP, "Status")
    _el(status, SAMLP, "StatusCode", Value=SUCCESS)
    response.append(assertion)
    signed = _sign(response, key_pem, cert_pem)
    return base64.b64encode(etree.tostring(signed, xml_declaration=True, encoding="UTF-8")).decode()


RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"


def signed_status_response(
    *,
    issuer: str,
    key_pem: str,
    cert_pem: str,
    acs_url: str,
    in_response_to: str,
    status: str,
    sub_status: str,
    now: dt.datetime,
) -> str:
    """The base64 of a signed Response without an assertion, reporting ``status``/``sub_status``
    (SAML Core §3.2.2.2), e.g. Responder/NoPassive for an IsPassive request of a user not signed in."""
    attrs = {
        "ID": _id(),
        "Version": "2.0",
        "IssueInstant": _instant(now),
        "Destination": acs_url,
        "InResponseTo": in_response_to,
    }
    response = etree.Element(f"{{{SAMLP}}}Response", attrs, nsmap={"samlp": SAMLP, "saml": SAML, "ds": DS})
    _el(response, SAML, "Issuer", issuer)
    _placeholder(response)
    code = _el(_el(response, SAMLP, "Status"), SAMLP, "StatusCode", Value=status)
    _el(code, SAMLP, "StatusCode", Value=sub_status)
    signed = _sign(response, key_pem, cert_pem)
    return base64.b64encode(etree.tostring(signed, xml_declaration=True, encoding="UTF-8")).decode()
