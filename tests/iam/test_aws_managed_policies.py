"""AWS managed policies as AWS publishes them (issue 11, item 25): the whole catalogue ships as data
(src/ostiary/access/data/aws_managed_policies.json.gz, refreshed by tools/refresh_aws_catalogues.py);
GetPolicy, GetPolicyVersion, ListPolicyVersions and ListPolicies Scope=AWS answer it as IAM does
(default versions such as v186, CreateDate/UpdateDate, paths such as /service-role/), and the policies
attach and are enforced on real signed calls."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.access import aws_managed, policy
from tests.conftest import ACCOUNT_ID, Server

ROOT = Path(__file__).resolve().parents[2]
AWS = "arn:aws:iam::aws:policy/"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _user_client(server: Server, iam: Any, user: str, *arns: str, service: str = "iam") -> Any:
    """A new user with ``arns`` attached, and a client signing with its own new access key."""
    iam.create_user(UserName=user)
    for arn in arns:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return server.client(service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def _denied(call: Any, expected: tuple[str, int] = ("AccessDenied", 403), **kwargs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    code, message, status = _err(exc)
    assert (code, status) == expected, (code, message)


def test_the_catalogue_loads_and_every_document_parses() -> None:
    policies = aws_managed.all_policies()
    assert len(policies) > 1000
    by_name = {p.name: p for p in policies}
    for name in (
        "AWSLambdaExecute",
        "ReadOnlyAccess",
        "AmazonS3ReadOnlyAccess",
        "AdministratorAccess",
        "AmazonCognitoUnAuthedIdentitiesSessionPolicy",
        "CertificateManagerServiceRolePolicy",
    ):
        assert name in by_name, name
    role = by_name["AWSLambdaRole"]
    assert role.path == "/service-role/" and role.arn == AWS + "service-role/AWSLambdaRole"
    assert aws_managed.BY_ARN[role.arn] is role and AWS + "NoSuchPolicy" not in aws_managed.BY_ARN
    assert f"arn:aws:iam::{ACCOUNT_ID}:policy/ReadOnlyAccess" not in aws_managed.BY_ARN
    for p in policies:  # the engine reads every one of them
        policy.parse(p.document)
        assert p.default_version.startswith("v") and p.created <= p.updated
    # the Cognito guest session policy keeps scoping unauthenticated identities
    guest = json.loads(aws_managed.BY_ARN[aws_managed.GUEST_SESSION_POLICY].document)
    assert "polly:*" in guest["Statement"][0]["Action"]


def test_get_policy_version_and_list_shapes(server: Server) -> None:
    iam = server.client("iam")
    data = {p.name: p for p in aws_managed.all_policies()}
    ro = iam.get_policy(PolicyArn=AWS + "ReadOnlyAccess")["Policy"]
    assert ro["DefaultVersionId"] == data["ReadOnlyAccess"].default_version != "v1"
    assert ro["Path"] == "/" and ro["IsAttachable"] is True and ro["PolicyId"].startswith("ANPA")
    assert ro["CreateDate"] < ro["UpdateDate"] and ro["CreateDate"].year == 2015
    assert ro["Description"] == "Provides read-only access to AWS services and resources."
    lam = iam.get_policy(PolicyArn=AWS + "service-role/AWSLambdaRole")["Policy"]
    assert lam["Path"] == "/service-role/" and lam["Arn"] == AWS + "service-role/AWSLambdaRole"

    version = ro["DefaultVersionId"]
    got = iam.get_policy_version(PolicyArn=AWS + "ReadOnlyAccess", VersionId=version)["PolicyVersion"]
    assert got["VersionId"] == version and got["IsDefaultVersion"] is True
    assert got["Document"] == json.loads(data["ReadOnlyAccess"].document)  # boto3 decodes it
    assert got["CreateDate"] == ro["UpdateDate"]
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=AWS + "ReadOnlyAccess", VersionId="v1")
    assert _err(exc) == (
        "NoSuchEntity",
        f"Policy {AWS}ReadOnlyAccess version v1 does not exist or is not attachable.",
        404,
    )
    versions = iam.list_policy_versions(PolicyArn=AWS + "ReadOnlyAccess")["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [(version, True)]
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=AWS + "service-role/ReadOnlyAccess")  # the path is part of the ARN
    assert _err(exc)[0] == "NoSuchEntity"

    # ListPolicies Scope=AWS pages through the whole catalogue, oldest first as IAM lists them
    names: list[str] = []
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS", PaginationConfig={"PageSize": 400})
    for page in pages:
        assert len(page["Policies"]) <= 400
        for p in page["Policies"]:
            assert p["Arn"].startswith(AWS) and "Description" not in p
            names.append(p["PolicyName"])
    assert len(names) == len(data) and set(names) == set(data)
    assert names[:3] == ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"]
    service_roles = iam.list_policies(Scope="AWS", PathPrefix="/service-role/", MaxItems=1000)["Policies"]
    assert service_roles and {p["Path"] for p in service_roles} == {"/service-role/"}
    assert len(service_roles) == sum(1 for p in data.values() if p.path == "/service-role/")


def test_aws_managed_policies_attach_and_evaluate(server: Server) -> None:
    iam = server.client("iam")
    # AWSLambdaExecute: CloudWatch Logs and S3 objects, nothing in IAM
    lam = _user_client(server, iam, "amp-lambda", AWS + "AWSLambdaExecute")
    _denied(lam.list_users)
    assert iam.get_policy(PolicyArn=AWS + "AWSLambdaExecute")["Policy"]["AttachmentCount"] == 1
    results = []
    for action, resource in (
        ("s3:GetObject", "arn:aws:s3:::bucket/key"),
        ("s3:DeleteObject", "arn:aws:s3:::bucket/key"),
        ("logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:one"),
        ("iam:ListUsers", "*"),
    ):
        results += iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT_ID}:user/amp-lambda", ActionNames=[action], ResourceArns=[resource]
        )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {
        "s3:GetObject": "allowed",
        "logs:PutLogEvents": "allowed",
        "s3:DeleteObject": "implicitDeny",
        "iam:ListUsers": "implicitDeny",
    }
    allowed = [r for r in results if r["EvalDecision"] == "allowed"]
    assert all(
        r["MatchedStatements"][0]["SourcePolicyId"] == "AWSLambdaExecute"
        and r["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
        for r in allowed
    )

    # ReadOnlyAccess: IAM's Get*/List* and Cognito's reads, no writes
    ro = _user_client(server, iam, "amp-readonly", AWS + "ReadOnlyAccess")
    assert any(u["UserName"] == "amp-readonly" for u in ro.list_users()["Users"])
    ro.get_policy(PolicyArn=AWS + "AWSLambdaExecute")
    _denied(ro.create_user, UserName="amp-nope")
    ro_idp = _user_client(server, iam, "amp-readonly-idp", AWS + "ReadOnlyAccess", service="cognito-idp")
    ro_idp.list_user_pools(MaxResults=1)
    _denied(ro_idp.create_user_pool, ("AccessDeniedException", 400), PoolName="amp-nope")

    # AmazonS3ReadOnlyAccess grants nothing in IAM; AmazonCognitoPowerUser all of Cognito
    s3 = _user_client(server, iam, "amp-s3", AWS + "AmazonS3ReadOnlyAccess")
    _denied(s3.get_user, UserName="amp-s3")
    power = _user_client(server, iam, "amp-cognito", AWS + "AmazonCognitoPowerUser", service="cognito-idp")
    pool_id = power.create_user_pool(PoolName="amp-pool")["UserPool"]["Id"]
    power.delete_user_pool(UserPoolId=pool_id)

    attached = iam.list_attached_user_policies(UserName="amp-lambda")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaExecute", "PolicyArn": AWS + "AWSLambdaExecute"}]
    only = iam.list_policies(Scope="AWS", OnlyAttached=True, MaxItems=1000)["Policies"]
    counts = {p["PolicyName"]: p["AttachmentCount"] for p in only}
    assert counts["ReadOnlyAccess"] == 2 and counts["AWSLambdaExecute"] == 1
    details = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    by_name = {p["PolicyName"]: p for p in details}
    assert "AdministratorAccess" not in by_name or by_name["AdministratorAccess"]["AttachmentCount"]
    assert (
        by_name["ReadOnlyAccess"]["DefaultVersionId"]
        == iam.get_policy(PolicyArn=AWS + "ReadOnlyAccess")["Policy"]["DefaultVersionId"]
    )
    assert [v["IsDefaultVersion"] for v in by_name["ReadOnlyAccess"]["PolicyVersionList"]] == [True]


def test_refresh_script_on_a_tiny_fixture(tmp_path: Path) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
    catalogue = {
        "Zeta": {
            "CreateDate": "2015-02-06T18:40:46+00:00",
            "DefaultVersionId": "v3",
            "Document": doc,
            "Path": "/service-role/",
            "PermissionsBoundaryUsageCount": 0,
            "UpdateDate": "2019-01-23T19:03:45+00:00",
        },
        "Alpha": {
            "CreateDate": "2016-01-01T00:00:00+00:00",
            "DefaultVersionId": "v1",
            "Document": doc,
            "Path": "/aws-service-role/",
            "PermissionsBoundaryUsageCount": 0,
            "UpdateDate": "2016-01-01T00:00:00+00:00",
        },
    }
    moto = tmp_path / "moto" / "moto" / "iam"
    moto.mkdir(parents=True)
    (moto / "aws_managed_policies.py").write_text(
        "# Imported via `make aws_managed_policies`\naws_managed_policies_data = " + repr(json.dumps(catalogue)) + "\n"
    )
    roles = tmp_path / "service_linked_roles.py"
    roles.write_text(
        "SERVICE_LINKED_ROLES = "
        + repr(
            {
                "alpha.amazonaws.com": {
                    "service": "alpha.amazonaws.com",
                    "role_name": "AWSServiceRoleForAlpha",
                    "attached_policies": ["arn:aws:iam::aws:policy/aws-service-role/Alpha"],
                    "suffix_allowed": True,
                }
            }
        )
        + "\n"
    )
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "refresh_aws_catalogues.py"),
            "--moto",
            str(tmp_path / "moto"),  # a checkout
            "--localstack",
            str(roles),  # the file itself
            "--moto-revision",
            "test",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "2 AWS managed policies" in run.stdout and "1 service-linked roles" in run.stdout
    first = (out / "aws_managed_policies.json.gz").read_bytes()
    raw = json.loads(gzip.decompress(first))
    assert raw["revision"] == "test" and "Apache-2.0" in raw["source"]
    loaded = aws_managed.load_policies(out / "aws_managed_policies.json.gz")
    assert [p.name for p in loaded] == ["Zeta", "Alpha"]  # by creation, as IAM lists them
    zeta = loaded[0]
    assert (zeta.arn, zeta.default_version) == (AWS + "service-role/Zeta", "v3")
    assert zeta.created.isoformat() == "2015-02-06T18:40:46+00:00" and json.loads(zeta.document) == doc
    slr = aws_managed.load_service_linked_roles(out / "service_linked_roles.json")
    assert slr["alpha.amazonaws.com"] == aws_managed.ServiceLinkedRole(
        service="alpha.amazonaws.com",
        role_name="AWSServiceRoleForAlpha",
        policies=("arn:aws:iam::aws:policy/aws-service-role/Alpha",),
        custom_suffix=True,
    )
    # a refresh that changes nothing leaves the files byte-identical
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "refresh_aws_catalogues.py"),
            "--moto",
            str(moto / "aws_managed_policies.py"),
            "--localstack",
            str(roles),
            "--moto-revision",
            "test",
            "--out",
            str(out),
        ],
        capture_output=True,
        check=True,
    )
    assert (out / "aws_managed_policies.json.gz").read_bytes() == first


def test_shipped_data_is_small_and_packaged() -> None:
    data = ROOT / "src" / "ostiary" / "access" / "data"
    assert (data / "aws_managed_policies.json.gz").stat().st_size < 600_000
    assert (data / "README.md").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "access/data/*.json.gz" in pyproject and "access/data/*.json" in pyproject
