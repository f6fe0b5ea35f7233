"""An application's SAML settings and attribute mappings, in process: what is refused when set, how
``${user:…}`` and ``${path:…}`` resolve over a directory user, what an SP's metadata gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ostiary.samlidp import attributes, config

USER: dict[str, Any] = {
    "user_id": "abc-123",
    "user_name": "jdoe",
    "document": {
        "DisplayName": "Jane Doe",
        "Name": {"GivenName": "Jane", "FamilyName": "Doe", "MiddleName": "Q"},
        "Emails": [
            {"Value": "jane@home.example", "Type": "home"},
            {"Value": "jane@work.example", "Type": "work", "Primary": True},
        ],
        "Addresses": [{"Type": "work", "Locality": "Lyon"}],
        "Title": "Engineer",
        "ExternalIds": [{"Issuer": "ad", "Id": "guid-1"}],
        "Extensions": {"aws:identitystore:enterprise": {"department": "R&D", "manager": {"value": "boss-1"}}},
    },
}


def _settings(**extra: Any) -> dict[str, Any]:
    return {"acs_url": "https://app.example/acs", "sp_entity_id": "https://app.example/sp", **extra}


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ("${user:subject}", ["abc-123"]),
        ("${user:preferredUsername}", ["jdoe"]),
        ("${user:email}", ["jane@work.example"]),
        ("${user:name}", ["Jane Doe"]),
        ("${user:givenName} ${user:familyName}", ["Jane Doe"]),
        ("${user:middleName}", ["Q"]),
        ("${user:AD_GUID}", ["guid-1"]),
        ("${user:groups}", ["admins", "devs"]),
        ("${path:userName}", ["jdoe"]),
        ("${path:name.givenName}", ["Jane"]),
        ('${path:emails[type eq "home"].value}', ["jane@home.example"]),
        ("${path:emails[primary eq true].value}", ["jane@work.example"]),
        ("${path:addresses[type eq work].locality}", ["Lyon"]),
        ("${path:title}", ["Engineer"]),
        ("${path:nickName}", []),
        ("${path:enterprise.department}", ["R&D"]),
        ("${path:enterprise.manager.value}", ["boss-1"]),
        ("${path:aws:identitystore:enterprise.department}", ["R&D"]),
        ("${path:enterprise.costCenter}", []),
        ("literal", ["literal"]),
        ("team-${path:title}", ["team-Engineer"]),
    ],
)
def test_resolve(expression: str, values: list[str]) -> None:
    assert attributes.resolve(expression, USER, ["admins", "devs"]) == values  # type: ignore[arg-type]


def test_settings_refused() -> None:
    config.parse(_settings())  # the minimum
    bad = [
        _settings(acs_url="javascript:alert(1)"),
        _settings(acs_url="https://app.example/acs#frag"),
        _settings(acs_url="https://" + "a" * 1100),
        _settings(sp_entity_id=""),
        _settings(name_id_format="kerberos"),
        _settings(attributes=[{"name": "x", "value": "${user:password}"}]),
        _settings(attributes=[{"name": "x", "value": "a", "format": "weird"}]),
        _settings(attributes=[{"name": "x", "value": "a"}, {"name": "x", "value": "b"}]),
        _settings(attributes=[{"name": "", "value": "a"}]),
        _settings(attributes=[{"name": f"a{i}", "value": "v"} for i in range(51)]),
        _settings(subject="${user:nope}"),
        _settings(relay_state="r" * 1000),
        _settings(sp_certificates=["not a certificate"]),
    ]
    for doc in bad:
        with pytest.raises(config.ConfigError):
            config.parse(doc)


def _certificate() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode().splitlines()[1:-1])


def test_sp_metadata() -> None:
    body = _certificate()
    document = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.example/meta">'
        '<md:SPSSODescriptor AuthnRequestsSigned="true" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" '
        'Location="https://sp.example/artifact" index="0"/>'
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        'Location="https://sp.example/acs2" index="2"/>'
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        'Location="https://sp.example/acs1" index="1" isDefault="true"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    )
    found = config.from_sp_metadata(document)
    assert found["sp_entity_id"] == "https://sp.example/meta"
    assert found["acs_url"] == "https://sp.example/acs1"  # the default HTTP-POST service
    assert found["name_id_format"] == "transient"
    parsed = config.parse(found)
    assert len(parsed.sp_certificates) == 1 and parsed.sp_certificates[0].startswith("-----BEGIN CERTIFICATE")
    for broken in (
        '<!DOCTYPE x [<!ENTITY a "b">]><x/>',
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>',
        "not xml",
    ):
        with pytest.raises(config.ConfigError):
            config.from_sp_metadata(broken)
