"""Service-linked roles as AWS makes them (issue 11, item 24), from the catalogue shipped as data
(src/ostiary/access/data/service_linked_roles.json): the role name AWS gives each service, its AWS
managed policy attached under /aws-service-role/, the description, and CustomSuffix refused with
AWS's InvalidInput for the services that do not take one. The expected answers are AWS's as recorded
by LocalStack's validated snapshot tests (tests/aws/services/iam/test_iam.snapshot.json)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.access import aws_managed
from tests.conftest import ACCOUNT_ID

SLR_POLICY = "arn:aws:iam::aws:policy/aws-service-role/"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def iam(server_factory: Any) -> Any:
    """A server of this module's own: the roles are one per account and other modules make some."""
    return server_factory().client("iam")


def test_the_catalogue_names_roles_and_policies() -> None:
    roles = aws_managed.service_linked_roles()
    assert len(roles) > 50
    acm = roles["acm.amazonaws.com"]
    assert acm.role_name == "AWSServiceRoleForCertificateManager" and not acm.custom_suffix
    assert acm.policies == (SLR_POLICY + "CertificateManagerServiceRolePolicy",)
    assert roles["autoscaling.amazonaws.com"].custom_suffix
    known = {p.arn for p in aws_managed.all_policies()}
    missing = [arn for r in roles.values() for arn in r.policies if arn not in known]
    assert len(missing) <= 2, missing  # an upstream entry may name a policy AWS has since retired


@pytest.mark.parametrize(
    ("service", "role_name", "policy_name"),
    [
        ("acm.amazonaws.com", "AWSServiceRoleForCertificateManager", "CertificateManagerServiceRolePolicy"),
        ("elasticbeanstalk.amazonaws.com", "AWSServiceRoleForElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy"),
        ("ops.apigateway.amazonaws.com", "AWSServiceRoleForAPIGateway", "APIGatewayServiceRolePolicy"),
    ],
)
def test_role_named_and_its_policy_attached_as_aws_does(
    iam: Any, service: str, role_name: str, policy_name: str
) -> None:
    created = iam.create_service_linked_role(AWSServiceName=service)["Role"]
    assert created["RoleName"] == role_name
    assert created["Path"] == f"/aws-service-role/{service}/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/{service}/{role_name}"
    role = iam.get_role(RoleName=role_name)["Role"]
    assert "Description" not in role  # AWS sets none when the role is made through IAM without one
    assert role["MaxSessionDuration"] == 3600
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}
    ]
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == []
    policy_arn = SLR_POLICY + policy_name
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy_name, "PolicyArn": policy_arn}]
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    assert policy["Path"] == "/aws-service-role/" and policy["AttachmentCount"] == 1
    entities = iam.list_entities_for_policy(PolicyArn=policy_arn)
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role_name]
    # only the service changes what is attached to it
    with pytest.raises(ClientError) as exc:
        iam.detach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    assert _err(exc)[0] == "UnmodifiableEntity"
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName=service)
    assert _err(exc) == (
        "InvalidInput",
        f"Service role name {role_name} has been taken in this account, please try a different suffix.",
        400,
    )
    # deleting the role detaches its policy
    iam.delete_service_linked_role(RoleName=role_name)
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["AttachmentCount"] == 0


def test_custom_suffix_refused_where_aws_refuses_it(iam: Any) -> None:
    for service in ("acm.amazonaws.com", "eks.amazonaws.com", "ops.apigateway.amazonaws.com"):
        with pytest.raises(ClientError) as exc:
            iam.create_service_linked_role(AWSServiceName=service, CustomSuffix="testsuffix")
        assert _err(exc) == ("InvalidInput", f"Custom suffix is not allowed for {service}", 400)
    assert not [r for r in iam.list_roles(PathPrefix="/aws-service-role/acm.amazonaws.com/")["Roles"]]


def test_custom_suffix_and_description_where_allowed(iam: Any) -> None:
    role = iam.create_service_linked_role(
        AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="fleet", Description="Scaling the fleet"
    )["Role"]
    assert role["RoleName"] == "AWSServiceRoleForAutoScaling_fleet"
    assert role["Description"] == "Scaling the fleet"
    assert iam.get_role(RoleName="AWSServiceRoleForAutoScaling_fleet")["Role"]["Description"] == "Scaling the fleet"
    assert iam.list_attached_role_policies(RoleName="AWSServiceRoleForAutoScaling_fleet")["AttachedPolicies"] == [
        {"PolicyName": "AutoScalingServiceRolePolicy", "PolicyArn": SLR_POLICY + "AutoScalingServiceRolePolicy"}
    ]
    lex = iam.create_service_linked_role(AWSServiceName="lexv2.amazonaws.com", CustomSuffix="bot1")["Role"]
    assert lex["RoleName"] == "AWSServiceRoleForLexV2Bots_bot1"
    # a service outside the catalogue still gets a role (named from its principal), with nothing attached
    other = iam.create_service_linked_role(AWSServiceName="access-analyzer.amazonaws.com")["Role"]
    assert other["RoleName"] == "AWSServiceRoleForAccessAnalyzer"
    assert iam.list_attached_role_policies(RoleName="AWSServiceRoleForAccessAnalyzer")["AttachedPolicies"] == []
