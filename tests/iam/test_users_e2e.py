"""IAM users, access keys and inline policies through boto3 — and the policies enforced on every
signed call made with the user's keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, flush_caches, make_client


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_user_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    user = iam.create_user(UserName="carla", Path="/team/")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/team/carla" and user["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="CARLA")
    assert _err(exc)[0] == "EntityAlreadyExists" and _err(exc)[2] == 409
    assert iam.get_user(UserName="carla")["User"]["UserName"] == "carla"
    assert "carla" in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    key = iam.create_access_key(UserName="carla")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and key["Status"] == "Active"
    iam.create_access_key(UserName="carla")
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName="carla")
    assert _err(exc)[0] == "LimitExceeded"
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="carla")
    assert _err(exc)[0] == "DeleteConflict" and _err(exc)[2] == 409
    for k in iam.list_access_keys(UserName="carla")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="carla", AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName="carla")
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName="carla")
    assert _err(exc)[:3] == ("NoSuchEntity", "The user with name carla cannot be found.", 404)


def test_inline_policies_are_validated_and_returned(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="dmitri")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    iam.put_user_policy(UserName="dmitri", PolicyName="read", PolicyDocument=json.dumps(doc))
    got = iam.get_user_policy(UserName="dmitri", PolicyName="read")
    assert got["PolicyDocument"] == doc  # boto3 decodes the URL-encoded document
    assert iam.list_user_policies(UserName="dmitri")["PolicyNames"] == ["read"]
    with pytest.raises(ClientError) as exc:
        iam.put_user_policy(UserName="dmitri", PolicyName="bad", PolicyDocument='{"Statement": [{"Effect": "Allow"}]}')
    assert _err(exc)[0] == "MalformedPolicyDocument"
    iam.delete_user_policy(UserName="dmitri", PolicyName="read")
    assert iam.list_user_policies(UserName="dmitri")["PolicyNames"] == []


def test_user_policies_are_enforced(dev_server: Server) -> None:
    server = dev_server  # --dev: its caches are flushed instead of waited out
    iam = server.client("iam")
    idp = server.client("cognito-idp")
    allowed = idp.create_user_pool(PoolName="allowed")["UserPool"]
    other = idp.create_user_pool(PoolName="other")["UserPool"]
    iam.create_user(UserName="erik")
    key = iam.create_access_key(UserName="erik")["AccessKey"]
    as_erik: dict[str, Any] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    erik_idp = make_client(server.url, "cognito-idp", **as_erik)
    erik_sts = make_client(server.url, "sts", **as_erik)
    ident = erik_sts.get_caller_identity()  # needs no permission
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/erik" and ident["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as exc:
        erik_idp.describe_user_pool(UserPoolId=allowed["Id"])
    code, message, _ = _err(exc)
    assert code == "AccessDeniedException"
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/erik is not authorized to perform: cognito-idp:DescribeUserPool "
        f"on resource: {allowed['Arn']} because no identity-based policy allows the cognito-idp:DescribeUserPool action"
    )
    iam.put_user_policy(
        UserName="erik",
        PolicyName="one-pool",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "cognito-idp:Describe*", "Resource": allowed["Arn"]},
                    {
                        "Effect": "Allow",
                        "Action": "cognito-idp:*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:username": "someone-else"}},
                    },
                    {"Effect": "Deny", "Action": "cognito-idp:DeleteUserPool", "Resource": "*"},
                ],
            }
        ),
    )
    flush_caches(server)  # the server keeps a user's policies for 5 s
    assert erik_idp.describe_user_pool(UserPoolId=allowed["Id"])["UserPool"]["Name"] == "allowed"
    with pytest.raises(ClientError) as exc:
        erik_idp.describe_user_pool(UserPoolId=other["Id"])
    assert _err(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        erik_idp.delete_user_pool(UserPoolId=allowed["Id"])
    assert "with an explicit deny in an identity-based policy" in _err(exc)[1]
    erik_iam = make_client(server.url, "iam", **as_erik)
    with pytest.raises(ClientError) as exc:
        erik_iam.list_users()
    assert (_err(exc)[0], _err(exc)[2]) == ("AccessDenied", 403)
    iam.update_access_key(UserName="erik", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    flush_caches(server)  # and access keys for 5 s too
    with pytest.raises(ClientError) as exc:
        erik_sts.get_caller_identity()
    assert _err(exc)[0] == "InvalidClientTokenId"
