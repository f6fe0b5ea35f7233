"""STS GetFederationToken through boto3: a federated user's permissions are the calling IAM user's
narrowed by the session policy (none without one), no IAM, of STS only GetCallerIdentity; session
tags as principal tags; the root's federated users; long-term keys only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, flush_caches


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _user(server: Server, name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    iam = server.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_federated_user_permissions(dev_server: Server) -> None:
    server = dev_server  # --dev: its caches are flushed instead of waited out
    keys = _user(
        server,
        "broker",
        {
            "Effect": "Allow",
            "Action": ["cognito-idp:ListUserPools", "iam:ListUsers", "sts:GetFederationToken"],
            "Resource": "*",
        },
    )
    sts = server.client("sts", **keys)
    out = sts.get_federation_token(
        Name="alice-app",
        Policy=_doc(
            {
                "Effect": "Allow",
                "Action": ["cognito-idp:ListUserPools", "iam:ListUsers", "cognito-idp:CreateUserPool"],
                "Resource": "*",
            }
        ),
        Tags=[{"Key": "team", "Value": "red"}],
        DurationSeconds=900,
    )
    assert out["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT_ID}:alice-app",
        "Arn": f"arn:aws:sts::{ACCOUNT_ID}:federated-user/alice-app",
    }
    assert 0 <= out["PackedPolicySize"] <= 100 and out["Credentials"]["AccessKeyId"].startswith("ASIA")
    fed = _creds(out["Credentials"])
    who = server.client("sts", **fed).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:federated-user/alice-app"
    assert who["UserId"] == f"{ACCOUNT_ID}:alice-app"
    server.client("cognito-idp", **fed).list_user_pools(MaxResults=5)  # both allow it
    with pytest.raises(ClientError) as exc:  # the session policy allows it, the user's does not
        server.client("cognito-idp", **fed).create_user_pool(PoolName="nope")
    assert _code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:  # no IAM for federated users, whatever the policies say
        server.client("iam", **fed).list_users()
    assert _code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:  # of STS only GetCallerIdentity
        server.client("sts", **fed).get_federation_token(Name="again")
    assert _code(exc) == "AccessDenied"

    # without a session policy the federated user may do nothing
    bare = _creds(sts.get_federation_token(Name="bare")["Credentials"])
    with pytest.raises(ClientError) as exc:
        server.client("cognito-idp", **bare).list_user_pools(MaxResults=5)
    assert _code(exc) == "AccessDeniedException"

    # the credentials end with the user who made them
    iam = server.client("iam")
    for key in iam.list_access_keys(UserName="broker")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="broker", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="broker", PolicyName="p")
    iam.delete_user(UserName="broker")
    flush_caches(server)  # resolved credentials are kept 5 s per process
    with pytest.raises(ClientError) as exc:  # the federated user does not outlive its IAM user
        server.client("sts", **fed).get_caller_identity()
    assert _code(exc) == "InvalidClientTokenId"


def test_root_federation_and_limits(server: Server) -> None:
    sts = server.client("sts")
    out = sts.get_federation_token(
        Name="ops", Policy=_doc({"Effect": "Allow", "Action": "cognito-idp:ListUserPools", "Resource": "*"})
    )
    fed = _creds(out["Credentials"])
    server.client("cognito-idp", **fed).list_user_pools(MaxResults=5)
    with pytest.raises(ClientError) as exc:
        server.client("cognito-idp", **fed).create_user_pool(PoolName="nope")
    assert _code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:  # the root's federated users last an hour at most
        sts.get_federation_token(Name="long", DurationSeconds=7200)
    assert _code(exc) == "ValidationError"
    with pytest.raises(ClientError) as exc:  # long-term credentials only
        server.client("sts", **fed).get_federation_token(Name="nested")
    assert _code(exc) == "AccessDenied"
