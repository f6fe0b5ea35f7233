"""A customer managed SAML application's SAML settings: what AWS's console sets ("Application
metadata" and "Attribute mappings") and the sso-admin API does not model. Kept per application in
``samlidp_applications`` and set by the operator (``ostiary sso app saml-config``, from options or the
service provider's metadata XML).

The document:

- ``acs_url``: the application's Assertion Consumer Service URL (http or https): where responses are
  posted, and the only ACS URL an AuthnRequest may ask for;
- ``sp_entity_id``: the application's SAML audience (its entity id, the Issuer of its AuthnRequests);
- ``name_id_format``: ``emailAddress``, ``persistent`` (a stable opaque id per user and application),
  ``transient`` (a new one each time) or ``unspecified``;
- ``subject``: for ``emailAddress`` and ``unspecified``, the NameID's value (an attribute-mapping
  expression; default ``${user:email}`` and ``${user:subject}``);
- ``attributes``: the attribute mappings, ``[{"name", "value", "format"}]``, ``value`` in AWS's syntax
  (``attributes.py``), ``format`` ``unspecified`` | ``uri`` | ``basic``;
- ``relay_state``: the RelayState of IdP-initiated sign-in (AWS's "Application start URL"), optional;
- ``sp_certificates``: the SP's signing certificates (PEM), optional: when given, AuthnRequests must be
  signed by one of them.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.engine import RowMapping

from ostiary.federation import saml
from ostiary.samlidp import attributes
from ostiary.store import tables as t

NAME_ID_FORMATS = {
    "emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}
ATTRIBUTE_FORMATS = {
    "unspecified": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
    "uri": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
    "basic": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
}
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
MAX_URL = 1024
MAX_ATTRIBUTES = 50
MAX_NAME = 256
MAX_RELAY_STATE = 80 * 10  # SAML bindings §3.4.3 asks for 80 bytes at least; AWS's field takes more
MAX_CERTIFICATES = 4
MAX_METADATA = 256 * 1024

_A = t.samlidp_applications


class ConfigError(ValueError):
    """Why a SAML configuration is refused (a sentence for the operator)."""


@dataclass(frozen=True)
class Mapping:
    name: str
    value: str
    format: str = "unspecified"


@dataclass(frozen=True)
class SamlConfig:
    acs_url: str
    sp_entity_id: str
    name_id_format: str = "persistent"
    subject: str | None = None
    attributes: tuple[Mapping, ...] = ()
    relay_state: str | None = None
    sp_certificates: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name_id_format_uri(self) -> str:
        return NAME_ID_FORMATS[self.name_id_format]

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "acs_url": self.acs_url,
            "sp_entity_id": self.sp_entity_id,
            "name_id_format": self.name_id_format,
            "attributes": [{"name": m.name, "value": m.value, "format": m.format} for m in self.attributes],
        }
        if self.subject:
            out["subject"] = self.subject
        if self.relay_state:
            out["relay_state"] = self.relay_state
        if self.sp_certificates:
            out["sp_certificates"] = list(self.sp_certificates)
        return out


def _url(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise ConfigError(f"The {what} must be a URL of at most {MAX_URL} characters.")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise ConfigError(f"The {what} must be an http or https URL without a fragment.")
    return value


def _pem(value: str) -> str:
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            cert = x509.load_pem_x509_certificate(text.encode())
        else:
            cert = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError:
        raise ConfigError("An SP certificate is not a valid X.509 certificate.") from None
    return cert.public_bytes(Encoding.PEM).decode()


def _check_expression(expression: str) -> None:
    try:
        attributes.check(expression)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def parse(doc: dict[str, Any]) -> SamlConfig:
    """A checked configuration from its document (ConfigError says what is wrong)."""
    if not isinstance(doc, dict):
        raise ConfigError("The SAML configuration must be an object.")
    acs_url = _url(doc.get("acs_url"), "ACS URL")
    entity = doc.get("sp_entity_id")
    if not isinstance(entity, str) or not entity.strip() or len(entity) > MAX_URL:
        raise ConfigError(f"The application's SAML audience (SP entity id) is required, at most {MAX_URL} characters.")
    fmt = doc.get("name_id_format") or "persistent"
    if fmt not in NAME_ID_FORMATS:
        raise ConfigError(f"The NameID format must be one of: {', '.join(NAME_ID_FORMATS)}.")
    subject = doc.get("subject")
    if subject is not None:
        if not isinstance(subject, str) or len(subject) > MAX_NAME:
            raise ConfigError("The subject mapping must be a string.")
        _check_expression(subject)
    raw = doc.get("attributes") or []
    if not isinstance(raw, list) or len(raw) > MAX_ATTRIBUTES:
        raise ConfigError(f"At most {MAX_ATTRIBUTES} attribute mappings.")
    mappings: list[Mapping] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ConfigError("An attribute mapping is an object with name, value and format.")
        name, value, form = item.get("name"), item.get("value"), item.get("format") or "unspecified"
        if not isinstance(name, str) or not name or len(name) > MAX_NAME:
            raise ConfigError(f"An attribute mapping's name must be 1 to {MAX_NAME} characters.")
        if not isinstance(value, str) or len(value) > MAX_NAME:
            raise ConfigError(f"The attribute {name}'s value must be at most {MAX_NAME} characters.")
        if form not in ATTRIBUTE_FORMATS:
            raise ConfigError(f"An attribute format must be one of: {', '.join(ATTRIBUTE_FORMATS)}.")
        _check_expression(value)
        mappings.append(Mapping(name, value, form))
    if len({m.name for m in mappings}) != len(mappings):
        raise ConfigError("Each attribute may be mapped once.")
    relay = doc.get("relay_state")
    if relay is not None and (not isinstance(relay, str) or len(relay) > MAX_RELAY_STATE):
        raise ConfigError(f"The relay state must be at most {MAX_RELAY_STATE} characters.")
    certs = doc.get("sp_certificates") or []
    if not isinstance(certs, list) or len(certs) > MAX_CERTIFICATES:
        raise ConfigError(f"At most {MAX_CERTIFICATES} SP certificates.")
    return SamlConfig(
        acs_url=acs_url,
        sp_entity_id=entity.strip(),
        name_id_format=fmt,
        subject=subject or None,
        attributes=tuple(mappings),
        relay_state=relay or None,
        sp_certificates=tuple(_pem(str(c)) for c in certs),
    )


def from_sp_metadata(document: str) -> dict[str, Any]:
    """The settings an SP's metadata gives (entity id, HTTP-POST ACS URL, a NameID format, signing
    certificates), as a partial document to merge with the operator's options."""
    if len(document) > MAX_METADATA:
        raise ConfigError("The SP metadata is too large.")
    try:
        root = saml._parse(document.encode())  # the hardened parser: no DTDs, no network
    except saml.SamlError as err:
        raise ConfigError(f"The SP metadata is not valid: {err}") from None
    ns = saml.NS
    entities = [root] if root.tag == f"{{{ns['md']}}}EntityDescriptor" else root.findall("md:EntityDescriptor", ns)
    for entity in entities:
        sp = entity.find("md:SPSSODescriptor", ns)
        if sp is None:
            continue
        out: dict[str, Any] = {"sp_entity_id": entity.get("entityID") or ""}
        services = [s for s in sp.findall("md:AssertionConsumerService", ns) if s.get("Binding") == POST_BINDING]
        services.sort(key=lambda s: (s.get("isDefault") != "true", int(s.get("index") or 0)))
        if not services:
            raise ConfigError("The SP metadata has no AssertionConsumerService with the HTTP-POST binding.")
        out["acs_url"] = services[0].get("Location")
        for fmt in sp.findall("md:NameIDFormat", ns):
            short = {uri: name for name, uri in NAME_ID_FORMATS.items()}.get((fmt.text or "").strip())
            if short:
                out["name_id_format"] = short
                break
        certs = [
            (c.text or "").strip()
            for kd in sp.findall("md:KeyDescriptor", ns)
            if kd.get("use") in (None, "signing")
            for c in kd.findall(".//ds:X509Certificate", ns)
        ]
        if certs and sp.get("AuthnRequestsSigned") == "true":
            out["sp_certificates"] = certs
        return out
    raise ConfigError("The metadata has no SPSSODescriptor.")


# -- storage ----------------------------------------------------------------------------------------------


def put(conn: Connection, application: RowMapping, config: SamlConfig, now: dt.datetime) -> None:
    """Set the application's SAML configuration (its SP entity id unique within the instance)."""
    clash = conn.execute(
        select(_A.c.application_arn).where(
            _A.c.instance_arn == application["instance_arn"],
            _A.c.sp_entity_id == config.sp_entity_id,
            _A.c.application_arn != application["application_arn"],
        )
    ).first()
    if clash is not None:
        raise ConfigError(f"Another application of the instance has the SAML audience {config.sp_entity_id}.")
    conn.execute(delete(_A).where(_A.c.application_arn == application["application_arn"]))
    conn.execute(
        insert(_A).values(
            application_arn=application["application_arn"],
            instance_arn=application["instance_arn"],
            sp_entity_id=config.sp_entity_id,
            config=config.document(),
            updated_at=now,
        )
    )


def get(conn: Connection, application_arn: str) -> SamlConfig | None:
    doc = conn.execute(select(_A.c.config).where(_A.c.application_arn == application_arn)).scalar()
    return None if doc is None else parse(dict(doc))


def by_entity_id(conn: Connection, instance_arn: str, sp_entity_id: str) -> tuple[str, SamlConfig] | None:
    """(application ARN, configuration) of the instance's application with this SAML audience."""
    row = conn.execute(
        select(_A.c.application_arn, _A.c.config).where(
            _A.c.instance_arn == instance_arn, _A.c.sp_entity_id == sp_entity_id
        )
    ).first()
    return None if row is None else (str(row.application_arn), parse(dict(row.config)))
