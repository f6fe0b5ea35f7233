"""IAM service-specific credentials and service-linked roles through boto3: credentials for
CodeCommit/Keyspaces (user name and password) and Bedrock API keys (alias and secret), the quota of
two per service, reset/update/delete, the caller as default user, DeleteUser's conflict; service-linked
role names, paths and trust policies, DeleteRole's refusal, DeleteServiceLinkedRole and its tasks."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, select

from ostiary.store import tables as t
from tests.conftest import ACCOUNT_ID, Server, make_client

CODECOMMIT = "codecommit.amazonaws.com"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _stored_hash(server: Server, credential_id: str) -> str:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            c = t.iam_service_specific_credentials.c
            return str(conn.execute(select(c.password_hash).where(c.credential_id == credential_id)).scalar_one())
    finally:
        engine.dispose()


def test_credential_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssc-dev")
    first = iam.create_service_specific_credential(UserName="ssc-dev", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    assert re.fullmatch(r"ACCA[A-Z0-9]{17}", first["ServiceSpecificCredentialId"])
    assert first["ServiceUserName"] == f"ssc-dev-at-{ACCOUNT_ID}"
    assert first["UserName"] == "ssc-dev" and first["Status"] == "Active" and first["ServiceName"] == CODECOMMIT
    assert len(first["ServicePassword"]) >= 40 and "ExpirationDate" not in first
    # only a hash is stored, and it is the password's
    stored = _stored_hash(server, first["ServiceSpecificCredentialId"])
    assert first["ServicePassword"] not in stored and PasswordHasher().verify(stored, first["ServicePassword"])

    second = iam.create_service_specific_credential(UserName="ssc-dev", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    assert second["ServiceUserName"] == f"ssc-dev+1-at-{ACCOUNT_ID}"
    with pytest.raises(ClientError) as exc:
        iam.create_service_specific_credential(UserName="ssc-dev", ServiceName=CODECOMMIT)
    assert _err(exc)[0] == "LimitExceeded"
    keyspaces = iam.create_service_specific_credential(UserName="ssc-dev", ServiceName="cassandra.amazonaws.com")[
        "ServiceSpecificCredential"
    ]

    listed = iam.list_service_specific_credentials(UserName="ssc-dev")["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [
        first["ServiceSpecificCredentialId"],
        second["ServiceSpecificCredentialId"],
        keyspaces["ServiceSpecificCredentialId"],
    ]
    assert all("ServicePassword" not in c for c in listed)
    only = iam.list_service_specific_credentials(UserName="ssc-dev", ServiceName="cassandra.amazonaws.com")
    assert [c["ServiceSpecificCredentialId"] for c in only["ServiceSpecificCredentials"]] == [
        keyspaces["ServiceSpecificCredentialId"]
    ]
    page = iam.list_service_specific_credentials(UserName="ssc-dev", MaxItems=2)
    assert page["IsTruncated"] and len(page["ServiceSpecificCredentials"]) == 2
    rest = iam.list_service_specific_credentials(UserName="ssc-dev", Marker=page["Marker"])
    assert len(rest["ServiceSpecificCredentials"]) == 1 and not rest["IsTruncated"]

    cid = first["ServiceSpecificCredentialId"]
    iam.update_service_specific_credential(UserName="ssc-dev", ServiceSpecificCredentialId=cid, Status="Inactive")
    statuses = {
        c["ServiceSpecificCredentialId"]: c["Status"]
        for c in iam.list_service_specific_credentials(UserName="ssc-dev")["ServiceSpecificCredentials"]
    }
    assert statuses[cid] == "Inactive"

    reset = iam.reset_service_specific_credential(UserName="ssc-dev", ServiceSpecificCredentialId=cid)[
        "ServiceSpecificCredential"
    ]
    assert reset["ServiceSpecificCredentialId"] == cid and reset["Status"] == "Inactive"
    assert reset["ServicePassword"] != first["ServicePassword"]
    assert PasswordHasher().verify(_stored_hash(server, cid), reset["ServicePassword"])

    # another user's credential is not found through this one
    iam.create_user(UserName="ssc-other")
    with pytest.raises(ClientError) as exc:
        iam.delete_service_specific_credential(UserName="ssc-other", ServiceSpecificCredentialId=cid)
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.delete_service_specific_credential(UserName="nobody-here", ServiceSpecificCredentialId=cid)
    assert _err(exc)[0] == "NoSuchEntity"

    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="ssc-dev")
    assert _err(exc)[:2] == (
        "DeleteConflict",
        "Cannot delete entity, must remove referenced objects first.",
    )
    for c in iam.list_service_specific_credentials(UserName="ssc-dev")["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName="ssc-dev", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"]
        )
    with pytest.raises(ClientError) as exc:
        iam.delete_service_specific_credential(UserName="ssc-dev", ServiceSpecificCredentialId=cid)
    assert _err(exc)[0] == "NoSuchEntity"
    # a freed slot gives the first service user name again
    again = iam.create_service_specific_credential(UserName="ssc-dev", ServiceName=CODECOMMIT)
    assert again["ServiceSpecificCredential"]["ServiceUserName"] == f"ssc-dev-at-{ACCOUNT_ID}"
    iam.delete_service_specific_credential(
        UserName="ssc-dev",
        ServiceSpecificCredentialId=again["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
    )
    iam.delete_user(UserName="ssc-dev")
    iam.delete_user(UserName="ssc-other")


def test_unsupported_services_and_inputs(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssc-bad")
    with pytest.raises(ClientError) as exc:
        iam.create_service_specific_credential(UserName="ssc-bad", ServiceName="s3.amazonaws.com")
    assert _err(exc)[0::2] == ("NoSuchEntity", 404)  # as IAM answers (tests/iam/test_aws_recordings.py)
    with pytest.raises(ClientError) as exc:
        iam.list_service_specific_credentials(UserName="ssc-bad", ServiceName="s3.amazonaws.com")
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:  # expiry is for API keys only
        iam.create_service_specific_credential(UserName="ssc-bad", ServiceName=CODECOMMIT, CredentialAgeDays=30)
    assert _err(exc)[0] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.create_service_specific_credential(UserName="ssc-none", ServiceName=CODECOMMIT)
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.list_service_specific_credentials(UserName="ssc-bad", AllUsers=True)
    assert _err(exc)[0] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.update_service_specific_credential(
            UserName="ssc-bad", ServiceSpecificCredentialId="ACCA" + "X" * 17, Status="Inactive"
        )
    assert _err(exc)[0] == "NoSuchEntity"
    assert iam.list_service_specific_credentials(UserName="ssc-bad")["ServiceSpecificCredentials"] == []
    iam.delete_user(UserName="ssc-bad")


def test_bedrock_api_key(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssc-ai")
    out = iam.create_service_specific_credential(
        UserName="ssc-ai", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )["ServiceSpecificCredential"]
    alias, secret = out["ServiceCredentialAlias"], out["ServiceCredentialSecret"]
    assert alias.startswith(f"ssc-ai-at-{ACCOUNT_ID}-")
    assert "ServicePassword" not in out and "ServiceUserName" not in out
    assert secret.startswith("ABSK") and base64.b64decode(secret[4:]).decode().startswith(alias + ":")
    days = (out["ExpirationDate"] - out["CreateDate"]).total_seconds() / 86400
    assert abs(days - 30) < 0.01
    listed = iam.list_service_specific_credentials(UserName="ssc-ai")["ServiceSpecificCredentials"]
    assert listed[0]["ServiceCredentialAlias"] == alias and "ExpirationDate" in listed[0]
    assert "ServiceCredentialSecret" not in listed[0]
    iam.delete_service_specific_credential(
        UserName="ssc-ai", ServiceSpecificCredentialId=out["ServiceSpecificCredentialId"]
    )
    iam.delete_user(UserName="ssc-ai")


def test_caller_is_the_default_user_and_all_users(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssc-self")
    iam.put_user_policy(
        UserName="ssc-self",
        PolicyName="own",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:*ServiceSpecificCredential*",
                        "Resource": f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:username}}",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="ssc-self")["AccessKey"]
    me = make_client(
        server.url, "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    mine = me.create_service_specific_credential(UserName="ssc-self", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    cid = mine["ServiceSpecificCredentialId"]
    assert [
        c["ServiceSpecificCredentialId"] for c in me.list_service_specific_credentials()["ServiceSpecificCredentials"]
    ] == [cid]
    me.update_service_specific_credential(ServiceSpecificCredentialId=cid, Status="Inactive")
    assert me.reset_service_specific_credential(ServiceSpecificCredentialId=cid)["ServiceSpecificCredential"][
        "ServicePassword"
    ]
    with pytest.raises(ClientError) as exc:  # someone else's credentials
        me.list_service_specific_credentials(UserName="ssc-dev")
    assert _err(exc)[0] == "AccessDenied"

    # the account root names no user: it may act on any credential of the account by id
    iam.create_user(UserName="ssc-peer")
    peer = iam.create_service_specific_credential(UserName="ssc-peer", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    everyone = iam.list_service_specific_credentials(AllUsers=True, ServiceName=CODECOMMIT)[
        "ServiceSpecificCredentials"
    ]
    pairs = {(c["UserName"], c["ServiceSpecificCredentialId"]) for c in everyone}
    assert {("ssc-self", cid), ("ssc-peer", peer["ServiceSpecificCredentialId"])} <= pairs
    assert iam.list_service_specific_credentials()["ServiceSpecificCredentials"] == []
    iam.update_service_specific_credential(ServiceSpecificCredentialId=cid, Status="Active")
    me.delete_service_specific_credential(ServiceSpecificCredentialId=cid)
    iam.delete_service_specific_credential(ServiceSpecificCredentialId=peer["ServiceSpecificCredentialId"])
    iam.delete_access_key(UserName="ssc-self", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="ssc-self", PolicyName="own")
    iam.delete_user(UserName="ssc-self")
    iam.delete_user(UserName="ssc-peer")


def test_service_linked_role_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    role = iam.create_service_linked_role(
        AWSServiceName="elasticbeanstalk.amazonaws.com", Description="Beanstalk's own role"
    )["Role"]
    assert role["RoleName"] == "AWSServiceRoleForElasticBeanstalk"
    assert role["Path"] == "/aws-service-role/elasticbeanstalk.amazonaws.com/"
    assert role["Arn"] == (
        f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk"
    )
    assert role["Description"] == "Beanstalk's own role"
    trust = role["AssumeRolePolicyDocument"]  # decoded by boto3
    trust_doc = json.dumps(trust)
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "elasticbeanstalk.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")
    assert _err(exc)[:2] == (
        "InvalidInput",
        "Service role name AWSServiceRoleForElasticBeanstalk has been taken in this account, "
        "please try a different suffix.",
    )
    custom = iam.create_service_linked_role(AWSServiceName="access-analyzer.amazonaws.com", CustomSuffix="debug")
    assert custom["Role"]["RoleName"] == "AWSServiceRoleForAccessAnalyzer_debug"
    for bad in ("not-a-service", "evil.example.com", "elasticbeanstalk.amazonaws.com.evil"):
        with pytest.raises(ClientError) as exc:
            iam.create_service_linked_role(AWSServiceName=bad)
        assert _err(exc)[0] == "InvalidInput"

    names = [r["RoleName"] for r in iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]]
    assert {"AWSServiceRoleForElasticBeanstalk", "AWSServiceRoleForAccessAnalyzer_debug"} <= set(names)

    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="AWSServiceRoleForElasticBeanstalk")
    assert _err(exc)[:2] == (
        "UnmodifiableEntity",
        "Cannot perform the operation on the protected role 'AWSServiceRoleForElasticBeanstalk' - "
        "this role is only modifiable by AWS",
    )

    # nobody but the service changes it: policies, trust and boundary are refused
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="slr-attached", PolicyDocument=doc)["Policy"]["Arn"]
    for call in (
        lambda: iam.put_role_policy(
            RoleName="AWSServiceRoleForElasticBeanstalk", PolicyName="inline", PolicyDocument=doc
        ),
        lambda: iam.attach_role_policy(RoleName="AWSServiceRoleForElasticBeanstalk", PolicyArn=arn),
        lambda: iam.update_assume_role_policy(RoleName="AWSServiceRoleForElasticBeanstalk", PolicyDocument=trust_doc),
        lambda: iam.put_role_permissions_boundary(
            RoleName="AWSServiceRoleForElasticBeanstalk", PermissionsBoundary=arn
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "UnmodifiableEntity"
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForElasticBeanstalk")["DeletionTaskId"]
    assert re.fullmatch(
        r"task/aws-service-role/elasticbeanstalk\.amazonaws\.com/AWSServiceRoleForElasticBeanstalk/[0-9a-f-]{36}", task
    )
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName="AWSServiceRoleForElasticBeanstalk")
    assert _err(exc)[0] == "NoSuchEntity"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    iam.delete_policy(PolicyArn=arn)
    # and can be created again
    iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")
    iam.delete_service_linked_role(RoleName="AWSServiceRoleForElasticBeanstalk")
    iam.delete_service_linked_role(RoleName="AWSServiceRoleForAccessAnalyzer_debug")

    with pytest.raises(ClientError) as exc:
        iam.get_service_linked_role_deletion_status(
            DeletionTaskId="task/aws-service-role/x.amazonaws.com/AWSServiceRoleForX/00000000-0000-0000-0000-000000000000"
        )
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.get_service_linked_role_deletion_status(DeletionTaskId="not-a-task")
    assert _err(exc)[0] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.delete_service_linked_role(RoleName="AWSServiceRoleForNothing")
    assert _err(exc)[0] == "NoSuchEntity"


def test_delete_service_linked_role_rules(server: Server) -> None:
    iam = server.client("iam")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam.create_role(RoleName="slr-plain", AssumeRolePolicyDocument=trust)
    with pytest.raises(ClientError) as exc:  # an ordinary role
        iam.delete_service_linked_role(RoleName="slr-plain")
    assert _err(exc)[0] == "InvalidInput"
    iam.delete_role(RoleName="slr-plain")

    # a role still held by an instance profile: the task fails, with the profile, and the role stays
    name = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]["RoleName"]
    assert name == "AWSServiceRoleForAutoScaling"
    iam.create_instance_profile(InstanceProfileName="slr-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="slr-profile", RoleName=name)
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    status: Any = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "FAILED"
    assert status["Reason"]["RoleUsageList"][0]["Resources"] == [
        f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/slr-profile"
    ]
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    iam.remove_role_from_instance_profile(InstanceProfileName="slr-profile", RoleName=name)
    iam.delete_instance_profile(InstanceProfileName="slr-profile")
    retry = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert retry != task
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=retry)["Status"] == "SUCCEEDED"
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "FAILED"
