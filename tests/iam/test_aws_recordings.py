"""IAM and STS answers as AWS gave them, through boto3 (issue 11, items 20 to 23).

Each expectation is a response recorded from AWS by another project's test suite (LocalStack's
AWS-validated snapshots, tests/aws/services/{iam,sts}/*.snapshot.json), or AWS's documentation where
the model says otherwise (PermissionsBoundaryType is ``Policy``, not the model's enum value
``PermissionsBoundaryPolicy``: awsdocs/iam-user-guide#82 and the recorded GetUser/GetRole answers).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _raw(server: Server, service: str, **kwargs: Any) -> Any:
    """A client that sends what it is given (AWS's recordings were made the same way)."""
    return server.client(service, config=Config(parameter_validation=False, retries={"max_attempts": 1}), **kwargs)


def _trust(principal: str, actions: list[str] | str = "sts:AssumeRole") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions}],
        }
    )


def _allow(*actions: str, resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}
    )


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


# --- item 20: CreateRole, GetRole, ListRoles and permissions boundaries ---------------------------------


def test_role_fields_as_recorded(server: Server) -> None:
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName=_name("rec-boundary"), PolicyDocument=_allow("s3:GetObject"))["Policy"][
        "Arn"
    ]
    name = _name("rec-role")
    tags = [{"Key": "test", "Value": "value"}]
    created = iam.create_role(
        RoleName=name,
        Path="/role-with-tags/",
        AssumeRolePolicyDocument=_trust(ROOT),
        Tags=tags,
        PermissionsBoundary=boundary,
    )["Role"]
    # CreateRole's answer has no MaxSessionDuration and no RoleLastUsed (GetRole's has both)
    assert "MaxSessionDuration" not in created and "RoleLastUsed" not in created
    assert created["Tags"] == tags and created["Path"] == "/role-with-tags/"
    assert created["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}

    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 3600
    assert got["RoleLastUsed"] == {}  # never used
    assert got["Tags"] == tags
    assert got["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}

    listed = next(r for r in iam.list_roles(PathPrefix="/role-with-tags/")["Roles"] if r["RoleName"] == name)
    assert listed["MaxSessionDuration"] == 3600
    assert not {"RoleLastUsed", "Tags", "PermissionsBoundary"} & set(listed)

    user = _name("rec-user")
    made = iam.create_user(UserName=user, PermissionsBoundary=boundary)["User"]
    assert made["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"] == made["PermissionsBoundary"]

    iam.delete_user_permissions_boundary(UserName=user)
    iam.delete_user(UserName=user)
    iam.delete_role_permissions_boundary(RoleName=name)
    iam.delete_role(RoleName=name)
    iam.delete_policy(PolicyArn=boundary)


# --- item 21: policy ARNs that are not ARNs, missing policies, invalid JSON --------------------------


def test_policy_errors_as_recorded(server: Server) -> None:
    iam = _raw(server, "iam")
    policy_name = _name("recorded-policy")
    arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=_allow("lambda:ListFunctions"))["Policy"]["Arn"]
    role, user, group = _name("rec-attach"), _name("rec-attach"), _name("rec-attach")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(ROOT))
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    attach = [
        lambda policy_arn: iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn),
        lambda policy_arn: iam.attach_user_policy(UserName=user, PolicyArn=policy_arn),
        lambda policy_arn: iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn),
    ]
    for call in attach:
        for not_an_arn in ("longpolicynamebutnoarn", policy_name):
            with pytest.raises(ClientError) as exc:
                call(not_an_arn)
            # two spaces: AWS's own wording
            assert _err(exc) == ("ValidationError", "Invalid ARN:  Could not be parsed!", 400)
        with pytest.raises(ClientError) as exc:
            call(f"{arn}123")
        assert _err(exc) == ("NoSuchEntity", f"Policy {arn}123 does not exist or is not attachable.", 404)
        call(arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)

    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/non-existent-policy"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=missing)
    assert _err(exc) == ("NoSuchEntity", f"Policy {missing} was not found.", 404)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _err(exc) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)

    # the trailing comma after "Effect": "Allow" is the recorded document's mistake
    malformed = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Action": "sts:AssumeRole",
              "Principal": "*",
              "Effect": "Allow",
            }
          ]
        }
        """
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=_name("rec-json"), AssumeRolePolicyDocument=malformed)
    assert _err(exc) == ("MalformedPolicyDocument", "This policy contains invalid Json", 400)

    iam.delete_role(RoleName=role)
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)


# --- item 22: service-specific credentials ------------------------------------------------------------

CODECOMMIT = "codecommit.amazonaws.com"


def _unsupported(service: str) -> tuple[str, str, int]:
    return "NoSuchEntity", f"No such service {service} is supported for Service Specific Credentials", 404


def test_service_specific_credentials_as_recorded(server: Server) -> None:
    iam = _raw(server, "iam")
    # the user is checked before the service
    for service in (CODECOMMIT, "nonexistentservice.amazonaws.com"):
        with pytest.raises(ClientError) as exc:
            iam.create_service_specific_credential(UserName="non-existent-user", ServiceName=service)
        assert _err(exc) == ("NoSuchEntity", "The user with name non-existent-user cannot be found.", 404)

    user = _name("rec-ssc")
    iam.create_user(UserName=user)
    for service in ("nonexistentservice.amazonaws.com", "o3on3n3onosneo", "lambda.amazonaws.com"):
        with pytest.raises(ClientError) as exc:
            iam.create_service_specific_credential(UserName=user, ServiceName=service)
        assert _err(exc) == _unsupported(service)
    with pytest.raises(ClientError) as exc:
        iam.list_service_specific_credentials(UserName=user, ServiceName="nonexistentservice.amazonaws.com")
    assert _err(exc) == _unsupported("nonexistentservice.amazonaws.com")

    made = iam.create_service_specific_credential(UserName=user, ServiceName=CODECOMMIT)["ServiceSpecificCredential"]
    cid = made["ServiceSpecificCredentialId"]
    listed = iam.list_service_specific_credentials(UserName=user)
    assert [c["ServiceSpecificCredentialId"] for c in listed["ServiceSpecificCredentials"]] == [cid]
    assert "IsTruncated" not in listed and "Marker" not in listed
    other = iam.list_service_specific_credentials(UserName=user, ServiceName="cassandra.amazonaws.com")
    assert other["ServiceSpecificCredentials"] == [] and "IsTruncated" not in other

    # an id outside the model's pattern: the message does not repeat the value
    pattern = (
        "1 validation error detected: Value at 'serviceSpecificCredentialId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w]+"
    )
    bad_id = "totally-wrong-credential-id-with-hyphens"
    unknown_id = "satisfiesregexbutstillinvalid"
    calls = [
        lambda i: iam.update_service_specific_credential(
            UserName=user, ServiceSpecificCredentialId=i, Status="Inactive"
        ),
        lambda i: iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=i),
        lambda i: iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=i),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call(bad_id)
        assert _err(exc) == ("ValidationError", pattern, 400)
        with pytest.raises(ClientError) as exc:
            call(unknown_id)
        assert _err(exc) == ("NoSuchEntity", f"No such credential {unknown_id} exists", 404)
    with pytest.raises(ClientError) as exc:
        iam.update_service_specific_credential(ServiceSpecificCredentialId=cid, Status="Invalid")
    assert _err(exc) == (
        "ValidationError",
        "1 validation error detected: Value at 'status' failed to satisfy constraint: "
        "Member must satisfy enum value set",
        400,
    )

    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=user)
    assert _err(exc) == ("DeleteConflict", "Cannot delete entity, must remove referenced objects first.", 409)
    iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid)
    iam.delete_user(UserName=user)


# --- item 23: STS -----------------------------------------------------------------------------------


def test_sts_answers_as_recorded(server: Server) -> None:
    sts = _raw(server, "sts")
    for arn in (
        "nothing-valid-in-here",
        "arn::b:::something/test-role",
        "arn:a::::something/test-role",
        "arn:a:::something/test-role",
        "arn:a:a::aaaaaaaaaa:",
    ):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=arn, RoleSessionName="Session1")
        assert _err(exc) == ("ValidationError", f"{arn} is invalid", 400)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn="arn:a:b:::something/test-role", RoleSessionName="Session1:2")
    assert _err(exc) == (
        "ValidationError",
        "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        400,
    )

    iam = server.client("iam")
    first, second = _name("rec-tags-1"), _name("rec-tags-2")
    for role in (first, second):
        iam.create_role(
            RoleName=role, AssumeRolePolicyDocument=_trust(ACCOUNT_ID, ["sts:AssumeRole", "sts:TagSession"])
        )
    first_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{first}"
    second_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{second}"
    iam.put_role_policy(
        RoleName=first,
        PolicyName="chain",
        PolicyDocument=_allow("sts:AssumeRole", "sts:TagSession", resource=second_arn),
    )
    iam.put_role_policy(RoleName=first, PolicyName="getuser", PolicyDocument=_allow("iam:GetUser"))

    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=first_arn,
            RoleSessionName="SessionInvalidTransitiveKeys",
            Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}],
            TransitiveTagKeys=["InvalidKey"],
        )
    assert _err(exc) == (
        "InvalidParameterValue",
        "The specified transitive tag key must be included in the requested tags.",
        400,
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=first_arn,
            RoleSessionName="SessionInvalidCasingTransitiveKeys",
            Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}, {"Key": "sessiontag1", "Value": "SessionValue2"}],
            TransitiveTagKeys=["sessiontag1"],
        )
    assert _err(exc) == (
        "InvalidParameterValue",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        400,
    )

    # transitive tag keys are case insensitive, and a chained session cannot set them again
    conflict = (
        "InvalidParameterValue",
        "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key "
        "from the calling session.",
        400,
    )
    for transitive in ("SessionTag1", "sessiontag1"):
        session = sts.assume_role(
            RoleArn=first_arn,
            RoleSessionName="Session1",
            Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}],
            TransitiveTagKeys=[transitive],
        )["Credentials"]
        chained = _raw(server, "sts", **_creds(session))
        for key in ("SessionTag1", "sessiontag1"):
            with pytest.raises(ClientError) as exc:
                chained.assume_role(
                    RoleArn=second_arn,
                    RoleSessionName="Session2SessionTagOverride",
                    Tags=[{"Key": key, "Value": "SessionValue2"}],
                )
            assert _err(exc) == conflict

    # GetUser without UserName under role credentials
    plain = sts.assume_role(RoleArn=first_arn, RoleSessionName="getuser")["Credentials"]
    with pytest.raises(ClientError) as exc:
        server.client("iam", **_creds(plain)).get_user()
    assert _err(exc) == ("ValidationError", "Must specify userName when calling with non-User credentials", 400)

    # GetFederationToken without a policy: PackedPolicySize 0
    token = sts.get_federation_token(Name=_name("TestName"), DurationSeconds=900)
    assert token["PackedPolicySize"] == 0
    # AssumeRole without a policy or tags: none
    assert "PackedPolicySize" not in sts.assume_role(RoleArn=first_arn, RoleSessionName="plain")

    for role in (first, second):
        for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=policy_name)
        iam.delete_role(RoleName=role)
