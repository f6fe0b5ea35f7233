"""IAM tag keys are case-insensitive: a request carrying the same key twice (also in two cases) is
refused on every create and tag path with AWS's InvalidInput "Duplicate tag keys found. Please note
that Tag keys are case insensitive." (400); tagging an existing key in another case replaces it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ACCOUNT_ID, Server, every_item
from tests.iam.test_certificates import _cert

DUPLICATE = ("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _saml_metadata(entity: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _cert(key, entity)
    der = base64.b64encode(x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER))
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der.decode()}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f'Location="{entity}/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
        + "<!--"
        + " " * 1000
        + "-->"  # the model's minimum length of a metadata document is 1000
    )


def _server_certificate() -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    body = _cert(key, "tags.example.com")
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {"CertificateBody": body, "PrivateKey": private}


def _dupes(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs]


CASES = [_dupes(("team", "a"), ("team", "b")), _dupes(("Team", "a"), ("tEAM", "b"))]


def test_create_paths_refuse_duplicate_tag_keys(server: Server) -> None:
    iam = server.client("iam")
    cert = _server_certificate()
    creates: list[tuple[str, Callable[[list[dict[str, str]]], Any]]] = [
        ("CreateUser", lambda tags: iam.create_user(UserName="tag-dupe-user", Tags=tags)),
        (
            "CreateRole",
            lambda tags: iam.create_role(RoleName="tag-dupe-role", AssumeRolePolicyDocument=TRUST, Tags=tags),
        ),
        (
            "CreatePolicy",
            lambda tags: iam.create_policy(PolicyName="tag-dupe-policy", PolicyDocument=POLICY, Tags=tags),
        ),
        (
            "CreateOpenIDConnectProvider",
            lambda tags: iam.create_open_id_connect_provider(
                Url="https://tag-dupe.example.com", ThumbprintList=["0" * 40], Tags=tags
            ),
        ),
        (
            "CreateSAMLProvider",
            lambda tags: iam.create_saml_provider(
                Name="tag-dupe-saml", SAMLMetadataDocument=_saml_metadata("https://tag-dupe-idp.example.com"), Tags=tags
            ),
        ),
        (
            "CreateInstanceProfile",
            lambda tags: iam.create_instance_profile(InstanceProfileName="tag-dupe-ip", Tags=tags),
        ),
        (
            "UploadServerCertificate",
            lambda tags: iam.upload_server_certificate(ServerCertificateName="tag-dupe-cert", Tags=tags, **cert),
        ),
        (
            "CreateVirtualMFADevice",
            lambda tags: iam.create_virtual_mfa_device(VirtualMFADeviceName="tag-dupe-mfa", Tags=tags),
        ),
    ]
    for name, create in creates:
        for tags in CASES:
            with pytest.raises(ClientError) as exc:
                create(tags)
            assert _err(exc) == DUPLICATE, (name, tags)
    # nothing was created
    assert "tag-dupe-user" not in [u["UserName"] for u in every_item(iam, "list_users", "Users")]
    assert "tag-dupe-role" not in [r["RoleName"] for r in every_item(iam, "list_roles", "Roles")]
    assert "tag-dupe-policy" not in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert "tag-dupe-ip" not in [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    assert not [p for p in iam.list_saml_providers()["SAMLProviderList"] if p["Arn"].endswith("/tag-dupe-saml")]


def test_tag_paths_refuse_duplicate_tag_keys_and_replace_a_key_in_another_case(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="tag-target-user")
    iam.create_role(RoleName="tag-target-role", AssumeRolePolicyDocument=TRUST)
    policy_arn = iam.create_policy(PolicyName="tag-target-policy", PolicyDocument=POLICY)["Policy"]["Arn"]
    oidc_arn = iam.create_open_id_connect_provider(Url="https://tag-target.example.com", ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    saml_arn = iam.create_saml_provider(
        Name="tag-target-saml", SAMLMetadataDocument=_saml_metadata("https://tag-target-idp.example.com")
    )["SAMLProviderArn"]
    iam.create_instance_profile(InstanceProfileName="tag-target-ip")
    iam.upload_server_certificate(ServerCertificateName="tag-target-cert", **_server_certificate())
    mfa_arn = iam.create_virtual_mfa_device(VirtualMFADeviceName="tag-target-mfa")["VirtualMFADevice"]["SerialNumber"]
    assert mfa_arn == f"arn:aws:iam::{ACCOUNT_ID}:mfa/tag-target-mfa"

    paths: list[tuple[str, Callable[[list[dict[str, str]]], Any], Callable[[], list[dict[str, str]]]]] = [
        (
            "TagUser",
            lambda tags: iam.tag_user(UserName="tag-target-user", Tags=tags),
            lambda: iam.list_user_tags(UserName="tag-target-user")["Tags"],
        ),
        (
            "TagRole",
            lambda tags: iam.tag_role(RoleName="tag-target-role", Tags=tags),
            lambda: iam.list_role_tags(RoleName="tag-target-role")["Tags"],
        ),
        (
            "TagPolicy",
            lambda tags: iam.tag_policy(PolicyArn=policy_arn, Tags=tags),
            lambda: iam.list_policy_tags(PolicyArn=policy_arn)["Tags"],
        ),
        (
            "TagOpenIDConnectProvider",
            lambda tags: iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=oidc_arn, Tags=tags),
            lambda: iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=oidc_arn)["Tags"],
        ),
        (
            "TagSAMLProvider",
            lambda tags: iam.tag_saml_provider(SAMLProviderArn=saml_arn, Tags=tags),
            lambda: iam.list_saml_provider_tags(SAMLProviderArn=saml_arn)["Tags"],
        ),
        (
            "TagInstanceProfile",
            lambda tags: iam.tag_instance_profile(InstanceProfileName="tag-target-ip", Tags=tags),
            lambda: iam.list_instance_profile_tags(InstanceProfileName="tag-target-ip")["Tags"],
        ),
        (
            "TagServerCertificate",
            lambda tags: iam.tag_server_certificate(ServerCertificateName="tag-target-cert", Tags=tags),
            lambda: iam.list_server_certificate_tags(ServerCertificateName="tag-target-cert")["Tags"],
        ),
        (
            "TagMFADevice",
            lambda tags: iam.tag_mfa_device(SerialNumber=mfa_arn, Tags=tags),
            lambda: iam.list_mfa_device_tags(SerialNumber=mfa_arn)["Tags"],
        ),
    ]
    for name, tag, listed in paths:
        for tags in CASES:
            with pytest.raises(ClientError) as exc:
                tag(tags)
            assert _err(exc) == DUPLICATE, (name, tags)
        assert listed() == [], name  # nothing was tagged
        # one key at a time: the later case replaces the earlier key (IAM User Guide, tagging)
        tag([{"Key": "Team", "Value": "a"}])
        tag([{"Key": "team", "Value": "b"}])
        assert listed() == [{"Key": "team", "Value": "b"}], name
