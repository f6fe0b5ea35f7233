"""An IAM Identity Center instance's SAML identity: its signing certificate and its IdP metadata.

AWS gives each instance an "IAM Identity Center SAML certificate" (RSA 2048, self-signed, valid five
years), which signs the responses to SAML applications and is in the IdP metadata that every
``AWSSSO_<id>_DO_NOT_DELETE`` SAML provider holds (sso-admin's provisioning). Here the key is made at
first need, in the caller's transaction (``INSERT … ON CONFLICT DO NOTHING`` then a read: of two
concurrent first uses one key wins and both see it), kept in ``samlidp_certificates`` with the private
key sealed under the KEK (AES-GCM, bound to the instance ARN), and cached per process once committed.

The metadata (SAML Metadata §2.4.3) names the entity id, the signing certificate, the
SingleSignOnService for the HTTP-Redirect and HTTP-POST bindings and the NameID formats served; its
URLs are ``accessportal.urls``'s.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping

from ostiary.accessportal import urls
from ostiary.caching import TtlCache
from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.store import tables as t
from ostiary.store.db import Store

VALIDITY = dt.timedelta(days=5 * 365)
SUBJECT = "IAM Identity Center SAML certificate"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAME_ID_FORMATS = (EMAIL, PERSISTENT, TRANSIENT, UNSPECIFIED)

_T = t.samlidp_certificates
# (private key PEM, certificate PEM) by instance ARN; an instance's key never changes once committed
_CACHE: TtlCache[str, tuple[str, str]] = TtlCache("samlidp_certificates", ttl=None)


def _context(instance_arn: str) -> str:
    return f"samlidp-key:{instance_arn}"


def _new(instance_arn: str, now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, instance_arn.rsplit("/", 1)[-1][:64]),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _read(conn: Connection, box: SecretBox, instance_arn: str) -> tuple[str, str] | None:
    row = conn.execute(select(_T.c.private_enc, _T.c.certificate_pem).where(_T.c.instance_arn == instance_arn)).first()
    if row is None:
        return None
    return box.open(row.private_enc, _context(instance_arn)), str(row.certificate_pem)


def signing_credentials(conn: Connection, box: SecretBox, instance_row: RowMapping) -> tuple[str, str]:
    """(private key PEM, certificate PEM) of the instance, created at first need in ``conn``'s
    transaction (a write transaction then: ``store.tx()``)."""
    arn = str(instance_row["instance_arn"])
    hit = _CACHE.get(arn)
    if hit is not None:
        return hit
    found = _read(conn, box, arn)
    if found is not None:
        _CACHE.set(arn, found)  # committed by someone: it is what every process will read
        return found
    now = dt.datetime.now(dt.UTC)
    key, cert = _new(arn, now)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    values = {
        "instance_arn": arn,
        "private_enc": box.seal(pem, _context(arn)),
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "not_after": cert.not_valid_after_utc,
        "created_at": now,
    }
    dialect = conn.dialect.name
    statement = (sqlite_insert(_T) if dialect == "sqlite" else pg_insert(_T)).on_conflict_do_nothing(
        index_elements=["instance_arn"]
    )
    conn.execute(statement, values)
    made = _read(conn, box, arn)  # ours, or the one a concurrent first use committed
    assert made is not None
    return made  # not cached: this transaction may still roll back


def credentials_of(store: Store, box: SecretBox, instance_row: RowMapping) -> tuple[str, str]:
    """``signing_credentials`` for a caller holding no connection: from the process cache, else read,
    and only the first time in a write transaction."""
    hit = _CACHE.get(str(instance_row["instance_arn"]))
    if hit is not None:
        return hit
    with store.read() as conn:
        found = _read(conn, box, str(instance_row["instance_arn"]))
    if found is not None:
        _CACHE.set(str(instance_row["instance_arn"]), found)
        return found
    with store.tx() as conn:
        return signing_credentials(conn, box, instance_row)


def certificate_body(certificate_pem: str) -> str:
    """The certificate's base64 DER, as metadata and signatures carry it (no PEM armour)."""
    return "".join(line for line in certificate_pem.strip().splitlines() if not line.startswith("-----"))


def entity_id(settings: Settings, instance_row: RowMapping) -> str:
    return urls.saml_entity_id(settings.effective_public_url, str(instance_row["identity_store_id"]))


def sso_url(settings: Settings, instance_row: RowMapping) -> str:
    """Where SPs send AuthnRequests (both bindings): the entity id, as AWS's."""
    return entity_id(settings, instance_row)


def idp_metadata(conn: Connection, box: SecretBox, settings: Settings, instance_row: RowMapping) -> str:
    """The instance's SAML IdP metadata document (UTF-8 XML text, no declaration)."""
    _, certificate = signing_credentials(conn, box, instance_row)
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    root.set("entityID", entity_id(settings, instance_row))
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor")
    idp.set("WantAuthnRequestsSigned", "false")
    idp.set("protocolSupportEnumeration", PROTOCOL)
    key = etree.SubElement(idp, f"{{{MD}}}KeyDescriptor")
    key.set("use", "signing")
    info = etree.SubElement(key, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = certificate_body(certificate)
    for fmt in NAME_ID_FORMATS:
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = fmt
    location = sso_url(settings, instance_row)
    for binding in (REDIRECT, POST):
        service = etree.SubElement(idp, f"{{{MD}}}SingleSignOnService")
        service.set("Binding", binding)
        service.set("Location", location)
    return str(etree.tostring(root, encoding="unicode"))
