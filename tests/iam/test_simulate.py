"""Policy simulation (SimulatePrincipalPolicy, SimulateCustomPolicy), context keys and
GetAccountAuthorizationDetails through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _stmt(effect: str, action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def _user_with_group(iam: Any, user: str, group: str) -> str:
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    return str(arn)


def test_principal_policy_user_and_group(server: Server) -> None:
    iam = server.client("iam")
    arn = _user_with_group(iam, "sim-alice", "sim-readers")
    iam.put_user_policy(
        UserName="sim-alice", PolicyName="S3All", PolicyDocument=_doc(_stmt("Allow", ["s3:*", "iam:Get*"]))
    )
    deny = json.dumps(
        {"Version": "2012-10-17", "Statement": [_stmt("Deny", "s3:DeleteBucket", "arn:aws:s3:::prod-*")]}, indent=4
    )
    iam.put_group_policy(GroupName="sim-readers", PolicyName="NoDelete", PolicyDocument=deny)
    readonly = iam.create_policy(PolicyName="SimReadOnly", PolicyDocument=_doc(_stmt("Allow", "dynamodb:Get*")))
    iam.attach_user_policy(UserName="sim-alice", PolicyArn=readonly["Policy"]["Arn"])

    out = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:DeleteBucket", "s3:GetObject", "ec2:RunInstances", "dynamodb:GetItem"]
    )
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert list(results) == ["s3:DeleteBucket", "s3:GetObject", "ec2:RunInstances", "dynamodb:GetItem"]
    # "*" as resource: the group's deny on prod-* buckets may not apply, the user's allow does
    assert results["s3:DeleteBucket"]["EvalDecision"] == "allowed"
    assert results["s3:DeleteBucket"]["EvalResourceName"] == "*"
    assert results["s3:GetObject"]["MatchedStatements"] == [
        {
            "SourcePolicyId": "S3All",
            "SourcePolicyType": "user",
            "StartPosition": {"Line": 1, "Column": 42},
            "EndPosition": {"Line": 1, "Column": 109},
        }
    ]
    assert results["ec2:RunInstances"]["EvalDecision"] == "implicitDeny"
    assert results["ec2:RunInstances"]["MatchedStatements"] == []
    assert results["dynamodb:GetItem"]["EvalDecision"] == "allowed"
    assert results["dynamodb:GetItem"]["MatchedStatements"][0]["SourcePolicyId"] == "SimReadOnly"
    assert results["dynamodb:GetItem"]["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    assert "PermissionsBoundaryDecisionDetail" not in results["dynamodb:GetItem"]

    # named resources: one result per action, per-resource details; the group's deny wins on prod-*
    out = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:DeleteBucket"],
        ResourceArns=["arn:aws:s3:::prod-data", "arn:aws:s3:::dev-data"],
    )
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert result["MatchedStatements"] == [
        {
            "SourcePolicyId": "NoDelete",
            "SourcePolicyType": "group",
            "StartPosition": {"Line": 4, "Column": 10},
            "EndPosition": {"Line": 8, "Column": 10},
        }
    ]
    per = {r["EvalResourceName"]: r for r in result["ResourceSpecificResults"]}
    assert per["arn:aws:s3:::prod-data"]["EvalResourceDecision"] == "explicitDeny"
    assert per["arn:aws:s3:::dev-data"]["EvalResourceDecision"] == "allowed"
    assert per["arn:aws:s3:::dev-data"]["MatchedStatements"][0]["SourcePolicyId"] == "S3All"

    # extra identity policies from the request are evaluated with the user's own
    out = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:GetObject"],
        PolicyInputList=[_doc(_stmt("Deny", "s3:Get*"))],
    )
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert "SourcePolicyType" not in result["MatchedStatements"][0]

    # the group alone: its deny and nothing else
    group_arn = iam.get_group(GroupName="sim-readers")["Group"]["Arn"]
    out = iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["s3:GetObject"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_principal_policy_errors_and_pagination(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT_ID}:user/sim-nobody", ActionNames=["s3:GetObject"]
        )
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=['{"Statement": [}'], ActionNames=["s3:GetObject"])
    assert exc.value.response["Error"]["Code"] == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(
            PolicyInputList=[_doc(_stmt("Allow", "s3:*"))],
            ActionNames=["s3:GetObject"],
            ContextEntries=[
                {"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["x"], "ContextKeyType": "numeric"}
            ],
        )
    assert exc.value.response["Error"]["Code"] == "InvalidInput"

    arn = iam.create_user(UserName="sim-pager")["User"]["Arn"]
    iam.put_user_policy(UserName="sim-pager", PolicyName="All", PolicyDocument=_doc(_stmt("Allow", "s3:*")))
    actions = [f"s3:Action{n}" for n in range(5)]
    first = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] and len(first["EvaluationResults"]) == 2
    paginator = iam.get_paginator("simulate_principal_policy")
    pages = list(paginator.paginate(PolicySourceArn=arn, ActionNames=actions, PaginationConfig={"PageSize": 2}))
    names = [r["EvalActionName"] for p in pages for r in p["EvaluationResults"]]
    assert names == actions and len(pages) == 3


def test_conditions_and_missing_context_values(server: Server) -> None:
    iam = server.client("iam")
    document = _doc(
        _stmt(
            "Allow",
            "s3:GetObject",
            "arn:aws:s3:::home/${aws:username}/*",
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        )
    )
    # without the context: implicit deny, both keys missing
    out = iam.simulate_custom_policy(
        PolicyInputList=[document], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::home/bob/notes"]
    )
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:username", "aws:SourceIp"]
    assert result["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:username", "aws:SourceIp"]

    entries = [
        {"ContextKeyName": "aws:username", "ContextKeyValues": ["bob"], "ContextKeyType": "string"},
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"},
    ]
    out = iam.simulate_custom_policy(
        PolicyInputList=[document],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::home/bob/notes", "arn:aws:s3:::home/carol/notes"],
        ContextEntries=entries,
    )
    (result,) = out["EvaluationResults"]
    assert result["MissingContextValues"] == []
    per = {r["EvalResourceName"]: r["EvalResourceDecision"] for r in result["ResourceSpecificResults"]}
    assert per == {"arn:aws:s3:::home/bob/notes": "allowed", "arn:aws:s3:::home/carol/notes": "implicitDeny"}
    assert result["EvalDecision"] == "implicitDeny"  # the most restrictive of the two

    entries[1]["ContextKeyValues"] = ["192.168.0.1"]
    out = iam.simulate_custom_policy(
        PolicyInputList=[document],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::home/bob/notes"],
        ContextEntries=entries,
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"

    # a date condition with a typed context entry (AWS's own example)
    dated = (
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
    )
    for when, decision in (("2019-04-25T11:00:00Z", "allowed"), ("2018-04-25T11:00:00Z", "implicitDeny")):
        out = iam.simulate_custom_policy(
            PolicyInputList=[dated],
            ActionNames=["dynamodb:CreateBackup"],
            ContextEntries=[
                {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [when], "ContextKeyType": "date"}
            ],
        )
        assert out["EvaluationResults"][0]["EvalDecision"] == decision
        if decision == "allowed":  # the positions AWS's documentation shows for this call
            assert out["EvaluationResults"][0]["MatchedStatements"] == [
                {
                    "SourcePolicyId": "PolicyInputList.1",
                    "StartPosition": {"Line": 1, "Column": 38},
                    "EndPosition": {"Line": 1, "Column": 167},
                }
            ]


def test_permissions_boundary_caps(server: Server) -> None:
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName="SimBoundary", PolicyDocument=_doc(_stmt("Allow", "s3:*")))["Policy"]
    arn = iam.create_user(UserName="sim-bounded", PermissionsBoundary=boundary["Arn"])["User"]["Arn"]
    iam.put_user_policy(UserName="sim-bounded", PolicyName="Broad", PolicyDocument=_doc(_stmt("Allow", "*")))
    out = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "iam:CreateUser"])
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    assert results["s3:GetObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert results["iam:CreateUser"]["EvalDecision"] == "implicitDeny"
    assert results["iam:CreateUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    # a boundary given in the request replaces the user's own
    out = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["iam:CreateUser"],
        PermissionsBoundaryPolicyInputList=[_doc(_stmt("Allow", "iam:*"))],
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"

    # custom policies with a boundary
    out = iam.simulate_custom_policy(
        PolicyInputList=[_doc(_stmt("Allow", "*"))],
        PermissionsBoundaryPolicyInputList=[_doc(_stmt("Allow", "s3:*"), _stmt("Deny", "s3:DeleteBucket"))],
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "sqs:SendMessage"],
    )
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    assert results["s3:DeleteBucket"]["EvalDecision"] == "explicitDeny"
    assert (
        results["s3:DeleteBucket"]["MatchedStatements"][0]["SourcePolicyId"] == "PermissionsBoundaryPolicyInputList.1"
    )
    assert results["sqs:SendMessage"]["EvalDecision"] == "implicitDeny"


def test_custom_policy_with_resource_policy(server: Server) -> None:
    iam = server.client("iam")
    caller = f"arn:aws:iam::{ACCOUNT_ID}:user/sim-caller"
    bucket_policy = _doc(
        {"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    )
    nothing = _doc(_stmt("Allow", "sqs:*"))
    out = iam.simulate_custom_policy(
        PolicyInputList=[nothing],
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::b/key"],
        ResourcePolicy=bucket_policy,
        CallerArn=caller,
    )
    results = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    matched = results["s3:GetObject"]["MatchedStatements"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in matched] == [("ResourcePolicy", "resource")]
    assert results["s3:PutObject"]["EvalDecision"] == "implicitDeny"

    # another caller is not named by the resource policy
    out = iam.simulate_custom_policy(
        PolicyInputList=[nothing],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/key"],
        ResourcePolicy=bucket_policy,
        CallerArn=f"arn:aws:iam::{ACCOUNT_ID}:user/someone-else",
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"

    # a resource in another account: the resource policy alone is not enough
    out = iam.simulate_custom_policy(
        PolicyInputList=[nothing],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/key"],
        ResourcePolicy=bucket_policy,
        CallerArn=caller,
        ResourceOwner="210987654321",
    )
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"

    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(
            PolicyInputList=[nothing], ActionNames=["s3:GetObject"], ResourcePolicy=bucket_policy
        )
    assert exc.value.response["Error"]["Code"] == "InvalidInput"


def test_context_keys(server: Server) -> None:
    iam = server.client("iam")
    # AWS's example: keys in the order written, as written
    example = (
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
        '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
        '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}'
    )
    out = iam.get_context_keys_for_custom_policy(PolicyInputList=[example])
    assert out["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
    second = _doc(
        _stmt(
            "Allow",
            "s3:*",
            Condition={
                "StringEquals": {"AWS:UserName": "x", "s3:prefix": "${aws:PrincipalTag/team}"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        )
    )
    out = iam.get_context_keys_for_custom_policy(PolicyInputList=[example, second])
    assert out["ContextKeyNames"] == [
        "aws:username",
        "aws:CurrentTime",
        "s3:prefix",
        "aws:PrincipalTag/team",
        "aws:SecureTransport",
    ]

    arn = _user_with_group(iam, "sim-keys", "sim-keys-group")
    iam.put_user_policy(UserName="sim-keys", PolicyName="Own", PolicyDocument=example)
    iam.put_group_policy(
        GroupName="sim-keys-group",
        PolicyName="FromGroup",
        PolicyDocument=_doc(_stmt("Allow", "s3:*", Condition={"StringLike": {"s3:prefix": "home/*"}})),
    )
    out = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=arn,
        PolicyInputList=[_doc(_stmt("Allow", "ec2:*", Condition={"StringEquals": {"ec2:Region": "us-east-1"}}))],
    )
    assert sorted(out["ContextKeyNames"]) == sorted(["aws:username", "aws:CurrentTime", "s3:prefix", "ec2:Region"])


def test_account_authorization_details(server_factory: Any) -> None:
    srv: Server = server_factory()
    iam = srv.client("iam")
    trust = _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    for name in ("u1", "u2", "u3"):
        iam.create_user(UserName=name, Path="/team/")
    iam.create_group(GroupName="g1")
    iam.add_user_to_group(GroupName="g1", UserName="u1")
    iam.put_user_policy(UserName="u1", PolicyName="Inline", PolicyDocument=_doc(_stmt("Allow", "s3:Get*")))
    iam.put_group_policy(GroupName="g1", PolicyName="GroupInline", PolicyDocument=_doc(_stmt("Allow", "sqs:*")))
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="r1", PolicyName="RoleInline", PolicyDocument=_doc(_stmt("Allow", "ec2:*")))
    local = iam.create_policy(PolicyName="Local1", PolicyDocument=_doc(_stmt("Allow", "s3:*")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=local, PolicyDocument=_doc(_stmt("Allow", "s3:List*")), SetAsDefault=True)
    iam.attach_user_policy(UserName="u1", PolicyArn=local)
    iam.attach_role_policy(RoleName="r1", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    full = iam.get_account_authorization_details()
    assert full["IsTruncated"] is False
    users = {u["UserName"]: u for u in full["UserDetailList"]}
    assert set(users) == {"u1", "u2", "u3"}
    u1 = users["u1"]
    assert u1["Path"] == "/team/" and u1["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/team/u1"
    assert u1["GroupList"] == ["g1"]
    assert u1["UserPolicyList"][0]["PolicyName"] == "Inline"
    assert u1["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "s3:Get*"
    assert u1["AttachedManagedPolicies"] == [{"PolicyName": "Local1", "PolicyArn": local}]
    (g1,) = full["GroupDetailList"]
    assert g1["GroupName"] == "g1" and g1["GroupPolicyList"][0]["PolicyName"] == "GroupInline"
    (r1,) = full["RoleDetailList"]
    assert r1["RoleName"] == "r1" and r1["RolePolicyList"][0]["PolicyName"] == "RoleInline"
    assert r1["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert r1["InstanceProfileList"] == []
    assert r1["AttachedManagedPolicies"][0]["PolicyName"] == "AdministratorAccess"
    policies = {p["PolicyName"]: p for p in full["Policies"]}
    assert set(policies) == {"Local1", "AdministratorAccess"}  # AWS managed ones in use only
    versions = policies["Local1"]["PolicyVersionList"]
    assert [v["VersionId"] for v in versions] == ["v2", "v1"]
    assert versions[0]["IsDefaultVersion"] and not versions[1]["IsDefaultVersion"]
    assert versions[0]["Document"]["Statement"][0]["Action"] == "s3:List*"
    assert policies["Local1"]["DefaultVersionId"] == "v2" and policies["Local1"]["AttachmentCount"] == 1

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
    assert [r["RoleName"] for r in only_roles["RoleDetailList"]] == ["r1"]
    local_only = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])
    assert [p["PolicyName"] for p in local_only["Policies"]] == ["Local1"]
    aws_only = iam.get_account_authorization_details(Filter=["AWSManagedPolicy", "Group"])
    assert [p["PolicyName"] for p in aws_only["Policies"]] == ["AdministratorAccess"]
    assert [g["GroupName"] for g in aws_only["GroupDetailList"]] == ["g1"]

    page = iam.get_account_authorization_details(MaxItems=2)
    assert page["IsTruncated"] and [u["UserName"] for u in page["UserDetailList"]] == ["u1", "u2"]
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 4  # 3 users, 1 group, 1 role, 2 policies
    assert [u["UserName"] for p in pages for u in p["UserDetailList"]] == ["u1", "u2", "u3"]
    assert sorted(x["PolicyName"] for p in pages for x in p["Policies"]) == ["AdministratorAccess", "Local1"]


def test_simulation_is_an_authorized_action(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="sim-limited")
    iam.put_user_policy(
        UserName="sim-limited",
        PolicyName="OnlyCustom",
        PolicyDocument=_doc(_stmt("Allow", "iam:SimulateCustomPolicy")),
    )
    key = iam.create_access_key(UserName="sim-limited")["AccessKey"]
    limited = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    out = limited.simulate_custom_policy(PolicyInputList=[_doc(_stmt("Allow", "s3:*"))], ActionNames=["s3:GetObject"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as exc:
        limited.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT_ID}:user/sim-limited", ActionNames=["s3:GetObject"]
        )
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        limited.get_account_authorization_details()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
