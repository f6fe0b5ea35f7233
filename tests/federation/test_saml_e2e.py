"""AssumeRoleWithSAML end to end through boto3 with a real SAML IdP (pysaml2's IdP side, signing
with xmlsec1) on loopback: its metadata registers the IAM SAML provider, its IdP-initiated
sign-on page yields the SAMLResponse, and STS turns it into role credentials."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from lxml import etree

from ostiary.access import session_tokens
from ostiary.store import tables as t
from tests.conftest import ACCOUNT_ID, Server
from tests.federation.saml_idp import SamlIdp, saml_response_from_form

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/saml-engineers"
PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/corp-idp"
A = "https://aws.amazon.com/SAML/Attributes/"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def idp(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    saml_idp = SamlIdp(tmp_path_factory.mktemp("saml"))
    saml_idp.users["alice"] = {
        A + "Role": [f"{ROLE},{PROVIDER}"],
        A + "RoleSessionName": ["alice@corp.example"],
        A + "PrincipalTag:department": ["engineering"],
    }
    saml_idp.users["bob"] = {A + "Role": [f"{PROVIDER},{ROLE}"]}  # no RoleSessionName
    iam = server.client("iam")
    metadata = httpx.get(saml_idp.base + "/metadata").text
    assert iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="corp-idp")["SAMLProviderArn"] == PROVIDER
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            }
        ],
    }
    iam.create_role(RoleName="saml-engineers", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="saml-engineers",
        PolicyName="abac",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:ListRoles",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalTag/department": "engineering"}},
                    }
                ],
            }
        ),
    )
    yield saml_idp
    saml_idp.close()


def _assume(server: Server, assertion: str) -> dict[str, Any]:
    out: dict[str, Any] = server.client("sts").assume_role_with_saml(
        RoleArn=ROLE, PrincipalArn=PROVIDER, SAMLAssertion=assertion
    )
    return out


def _refused(server: Server, assertion: str) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        _assume(server, assertion)
    return _err(exc)


def test_saml_provider_lifecycle(server: Server, idp: SamlIdp) -> None:
    iam = server.client("iam")
    got = iam.get_saml_provider(SAMLProviderArn=PROVIDER)
    assert "EntityDescriptor" in got["SAMLMetadataDocument"]
    assert PROVIDER in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    with pytest.raises(ClientError) as exc:
        iam.create_saml_provider(SAMLMetadataDocument="<x>" + " " * 1000 + "</x>", Name="broken")
    assert _err(exc)[0] == "InvalidInput"
    iam.update_saml_provider(SAMLProviderArn=PROVIDER, SAMLMetadataDocument=got["SAMLMetadataDocument"])
    iam.tag_saml_provider(SAMLProviderArn=PROVIDER, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=PROVIDER)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_signed_assertion_from_the_idp_gets_credentials(server: Server, idp: SamlIdp) -> None:
    page = httpx.get(idp.base + "/sso", params={"user": "alice"}).text
    out = _assume(server, saml_response_from_form(page))
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/saml-engineers/alice@corp.example"
    assert out["Subject"] == "alice-persistent-id" and out["SubjectType"] == "persistent"
    assert out["Issuer"] == idp.base + "/metadata" and out["Audience"] == "https://signin.aws.amazon.com/saml"
    assert out["NameQualifier"]
    creds = out["Credentials"]
    session = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    assert server.client("sts", **session).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    server.client("iam", **session).list_roles()  # allowed by the department principal tag
    # a response signed as a whole (not the assertion) is accepted too
    assert _assume(server, idp.response("alice", sign_assertion=False, sign_response=True))["Subject"]


def test_session_too_large_for_a_token_is_stored_and_works(server: Server, idp: SamlIdp) -> None:
    """A NameID of 4,000 random characters makes the session's facts (its saml:sub key) too large for a
    self-contained token: the session is stored as a row (the random-token path) with the facts the
    token would have carried, and its credentials work."""
    subject = secrets.token_urlsafe(3000)[:4000]
    assertion = idp.response_for(
        "alice", audience="urn:amazon:webservices", acs_url="https://signin.aws.amazon.com/saml",
        in_response_to=None, name_id=subject,
    )  # fmt: skip
    out = _assume(server, assertion)
    creds = out["Credentials"]
    assert not creds["SessionToken"].startswith(session_tokens.PREFIX)
    session = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    assert server.client("sts", **session).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    server.client("iam", **session).list_roles()  # the stored row keeps the principal tag
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(t.sts_sessions).where(t.sts_sessions.c.access_key_id == creds["AccessKeyId"])
            ).one()
    finally:
        engine.dispose()
    assert (row.kind, row.role_name, row.session_name) == ("assumed-role", "saml-engineers", "alice@corp.example")
    assert row.session_tags == {"department": "engineering"}
    assert row.federation["keys"]["saml:sub"] == [subject]
    assert row.token_hash == hashlib.sha256(creds["SessionToken"].encode()).hexdigest()
    assert creds["SecretAccessKey"] not in row.secret_enc


def test_bad_assertions_are_refused(server: Server, idp: SamlIdp) -> None:
    good = idp.response("alice")
    xml = base64.b64decode(good)

    # unsigned
    code, message, _ = _refused(server, idp.response("alice", sign_assertion=False))
    assert code == "InvalidIdentityToken" and "not signed" in message
    # tampered after signing
    tampered = xml.replace(b"alice@corp.example", b"admin@corp.example")
    assert _refused(server, base64.b64encode(tampered).decode())[0] == "InvalidIdentityToken"
    # signature wrapping: a forged assertion in front, the signed one tucked away
    root = etree.fromstring(xml)
    ns = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    signed = root.find("saml:Assertion", ns)
    assert signed is not None
    forged = etree.fromstring(etree.tostring(signed))
    for sig in forged.findall("ds:Signature", ns):
        forged.remove(sig)
    forged.set("ID", "evil")
    for value in forged.iter("{urn:oasis:names:tc:SAML:2.0:assertion}AttributeValue"):
        if value.text == "alice@corp.example":
            value.text = "root"
    extensions = etree.SubElement(root, "{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    root.remove(signed)
    extensions.append(signed)
    root.insert(2, forged)
    code, message, _ = _refused(server, base64.b64encode(etree.tostring(root)).decode())
    assert code == "InvalidIdentityToken"
    # XXE
    evil = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + xml.split(b"?>", 1)[1]
    code, message, _ = _refused(server, base64.b64encode(evil).decode())
    assert code == "InvalidIdentityToken" and "Document type" in message
    # signed by another IdP that the provider's metadata does not list
    other = SamlIdp(Path(idp.config.key_file).parent, name="other")
    other.users["alice"] = idp.users["alice"]
    try:
        assert _refused(server, other.response("alice"))[0] == "InvalidIdentityToken"
    finally:
        other.close()
    # no RoleSessionName attribute
    assert _refused(server, idp.response("bob"))[0] == "IDPRejectedClaim"
    # a role the assertion does not grant
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role_with_saml(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/other", PrincipalArn=PROVIDER, SAMLAssertion=good
        )
    assert _err(exc)[0] == "IDPRejectedClaim"
