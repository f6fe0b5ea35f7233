"""IAM output shapes as AWS answers them (AWS's recorded responses and the IAM API Reference):
GetPolicy of an untagged policy has ``Tags: []`` (CreatePolicy has no Tags), ListUsers leaves out
PermissionsBoundary and Tags, signing certificate bodies come back verbatim, and the signing
certificate quota is named CertificatesPerUser."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import Server, every_item
from tests.iam.test_certificates import _cert

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_get_policy_answers_empty_tags_of_an_untagged_policy(server: Server) -> None:
    iam = server.client("iam")
    created = iam.create_policy(PolicyName="shape-untagged", PolicyDocument=POLICY)["Policy"]
    assert "Tags" not in created
    assert iam.get_policy(PolicyArn=created["Arn"])["Policy"]["Tags"] == []
    tagged = iam.create_policy(PolicyName="shape-tagged", PolicyDocument=POLICY, Tags=[{"Key": "a", "Value": "1"}])
    assert tagged["Policy"]["Tags"] == [{"Key": "a", "Value": "1"}]
    assert iam.get_policy(PolicyArn=tagged["Policy"]["Arn"])["Policy"]["Tags"] == [{"Key": "a", "Value": "1"}]
    listed = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith("shape-")]
    assert listed and all("Tags" not in p for p in listed)


def test_list_users_leaves_out_boundary_and_tags(server: Server) -> None:
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName="shape-boundary", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.create_user(UserName="shape-user", PermissionsBoundary=boundary, Tags=[{"Key": "team", "Value": "x"}])
    got = iam.get_user(UserName="shape-user")["User"]
    assert got["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary and got["Tags"] == [
        {"Key": "team", "Value": "x"}
    ]
    (listed,) = [u for u in every_item(iam, "list_users", "Users") if u["UserName"] == "shape-user"]
    assert "PermissionsBoundary" not in listed and "Tags" not in listed
    assert set(listed) == {"Path", "UserName", "UserId", "Arn", "CreateDate"}


def test_signing_certificate_bodies_are_verbatim_and_the_quota_is_certificates_per_user(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="shape-signer")
    bodies = [_cert(ec.generate_private_key(ec.SECP256R1()), f"shape-{n}") for n in range(3)]
    assert all(b.endswith("-----END CERTIFICATE-----\n") for b in bodies)
    first = iam.upload_signing_certificate(UserName="shape-signer", CertificateBody=bodies[0])["Certificate"]
    assert first["CertificateBody"] == bodies[0]  # trailing newline included
    second = iam.upload_signing_certificate(UserName="shape-signer", CertificateBody=bodies[1] + "\n\n")
    assert second["Certificate"]["CertificateBody"] == bodies[1] + "\n\n"
    listed = iam.list_signing_certificates(UserName="shape-signer")["Certificates"]
    assert sorted(c["CertificateBody"] for c in listed) == sorted([bodies[0], bodies[1] + "\n\n"])
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName="shape-signer", CertificateBody=bodies[2])
    assert _err(exc) == ("LimitExceeded", "Cannot exceed quota for CertificatesPerUser: 2", 409)
    with pytest.raises(ClientError) as exc:  # the same certificate, whatever its surrounding whitespace
        iam.upload_signing_certificate(UserName="shape-signer", CertificateBody=bodies[0].strip())
    assert _err(exc)[0] in ("DuplicateCertificate", "LimitExceeded")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["SigningCertificatesPerUserQuota"] == 2  # the summary's key keeps the model's name
