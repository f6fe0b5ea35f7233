"""Groups, managed policies with versions, attachments, permissions boundaries and principal tags
through boto3 — each one enforced on signed calls made with the user's own keys.

The server caches what applies to a caller for 5 s per access key, so each stage of a test signs
with a fresh access key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _fresh_client(server: Server, iam: Any, user: str, service: str = "iam") -> Any:
    """A client signing with a new access key of ``user`` (older keys are deleted)."""
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return server.client(service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def _denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    code, message, status = _err(exc)
    assert (code, status) == ("AccessDenied", 403), (code, message)
    return message


def test_managed_policy_versions(server: Server) -> None:
    iam = server.client("iam")
    created = iam.create_policy(
        PolicyName="Readers", Path="/app/", PolicyDocument=_doc(_allow("iam:Get*")), Description="read things"
    )["Policy"]
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:policy/app/Readers"
    assert created["DefaultVersionId"] == "v1" and created["AttachmentCount"] == 0 and created["IsAttachable"]
    assert created["PolicyId"].startswith("ANPA")
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName="readers", PolicyDocument=_doc(_allow("iam:Get*")))
    assert _err(exc)[0] == "EntityAlreadyExists"
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName="Bad", PolicyDocument='{"Version": "2012-10-17", "Statement": [{}]}')
    assert _err(exc)[0] == "MalformedPolicyDocument"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "read things"

    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow(f"iam:List{n}*")))["PolicyVersion"]
        assert v["VersionId"] == f"v{n}" and v["IsDefaultVersion"] is False
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("iam:*")))
    assert _err(exc)[0] == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert got["IsDefaultVersion"] and got["Document"]["Statement"][0]["Action"] == "iam:List3*"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert _err(exc)[0] == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with pytest.raises(ClientError) as exc:
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    assert _err(exc)[0] == "NoSuchEntity"
    v6 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("iam:*")), SetAsDefault=True)
    assert (
        v6["PolicyVersion"]["VersionId"] == "v6" and iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v6"
    )

    local = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert "Readers" in local and "AdministratorAccess" not in local
    aws = {p["PolicyName"]: p for p in iam.list_policies(Scope="AWS", MaxItems=100)["Policies"]}
    assert aws["AdministratorAccess"]["Arn"] == "arn:aws:iam::aws:policy/AdministratorAccess"
    admin = iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess", VersionId="v1")
    assert admin["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "*"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert _err(exc)[0] in ("InvalidInput", "AccessDenied")

    iam.create_user(UserName="vera")
    iam.attach_user_policy(UserName="vera", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert iam.list_attached_user_policies(UserName="vera")["AttachedPolicies"] == [
        {"PolicyName": "Readers", "PolicyArn": arn}
    ]
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["vera"]
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _err(exc)[0] == "DeleteConflict"
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="vera")
    assert _err(exc)[0] == "DeleteConflict"
    iam.detach_user_policy(UserName="vera", PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.detach_user_policy(UserName="vera", PolicyArn=arn)
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName="vera", PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/Nope")
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _err(exc)[0] == "DeleteConflict"  # still has non-default versions
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName="vera")
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert _err(exc)[0] == "NoSuchEntity"


def test_group_policies_apply_to_members(server: Server) -> None:
    iam = server.client("iam")
    group = iam.create_group(GroupName="auditors", Path="/ops/")["Group"]
    assert group["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:group/ops/auditors" and group["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as exc:
        iam.create_group(GroupName="Auditors")
    assert _err(exc)[0] == "EntityAlreadyExists"
    iam.create_user(UserName="gus")
    gus = _fresh_client(server, iam, "gus")
    _denied(gus.list_groups)

    iam.add_user_to_group(GroupName="auditors", UserName="gus")
    assert [u["UserName"] for u in iam.get_group(GroupName="auditors")["Users"]] == ["gus"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="gus")["Groups"]] == ["auditors"]
    iam.put_group_policy(GroupName="auditors", PolicyName="groups", PolicyDocument=_doc(_allow("iam:ListGroups")))
    iam.attach_group_policy(GroupName="auditors", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert iam.list_group_policies(GroupName="auditors")["PolicyNames"] == ["groups"]
    assert [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName="auditors")["AttachedPolicies"]] == [
        "IAMReadOnlyAccess"
    ]
    gus = _fresh_client(server, iam, "gus")
    assert "auditors" in [g["GroupName"] for g in gus.list_groups()["Groups"]]
    assert gus.get_user(UserName="gus")["User"]["UserName"] == "gus"  # iam:Get* from the AWS managed policy
    message = _denied(gus.create_user, UserName="mallory")
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/gus is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/mallory because no identity-based policy allows the iam:CreateUser action"
    )
    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName="auditors")
    assert _err(exc)[0] == "DeleteConflict"

    iam.remove_user_from_group(GroupName="auditors", UserName="gus")
    gus = _fresh_client(server, iam, "gus")
    _denied(gus.list_groups)
    iam.update_group(GroupName="auditors", NewGroupName="reviewers")
    assert iam.list_group_policies(GroupName="reviewers")["PolicyNames"] == ["groups"]
    iam.delete_group_policy(GroupName="reviewers", PolicyName="groups")
    iam.detach_group_policy(GroupName="reviewers", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_group(GroupName="reviewers")
    with pytest.raises(ClientError) as exc:
        iam.get_group(GroupName="reviewers")
    assert _err(exc)[0] == "NoSuchEntity"


def test_permissions_boundary_caps_a_user(server: Server) -> None:
    iam = server.client("iam")
    boundary = iam.create_policy(PolicyName="OnlyReadIam", PolicyDocument=_doc(_allow(["iam:Get*", "iam:List*"])))[
        "Policy"
    ]["Arn"]
    iam.create_user(UserName="bea")
    iam.attach_user_policy(UserName="bea", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    bea = _fresh_client(server, iam, "bea")
    bea.create_user(UserName="bea-made-this")
    iam.delete_user(UserName="bea-made-this")

    iam.put_user_permissions_boundary(UserName="bea", PermissionsBoundary=boundary)
    got = iam.get_user(UserName="bea")["User"]["PermissionsBoundary"]
    assert got == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    bea = _fresh_client(server, iam, "bea")
    assert bea.list_users()["Users"]
    _denied(bea.create_user, UserName="bea-made-this")  # the boundary does not allow it
    with pytest.raises(ClientError) as exc:
        iam.put_user_permissions_boundary(UserName="bea", PermissionsBoundary=f"arn:aws:iam::{ACCOUNT_ID}:policy/No")
    assert _err(exc)[0] == "NoSuchEntity"

    iam.delete_user_permissions_boundary(UserName="bea")
    assert "PermissionsBoundary" not in iam.get_user(UserName="bea")["User"]
    bea = _fresh_client(server, iam, "bea")
    bea.create_user(UserName="bea-made-this")
    iam.delete_user(UserName="bea-made-this")

    role = iam.create_role(
        RoleName="bounded",
        AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ),
        PermissionsBoundary=boundary,
    )["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.delete_role_permissions_boundary(RoleName="bounded")
    assert "PermissionsBoundary" not in iam.get_role(RoleName="bounded")["Role"]
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=boundary)
    assert iam.get_role(RoleName="bounded")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_principal_tags_drive_conditions(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="tina", Tags=[{"Key": "team", "Value": "blue"}])
    iam.put_user_policy(
        UserName="tina",
        PolicyName="abac",
        PolicyDocument=_doc(
            _allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}),
            _allow("iam:GetUser", resource=f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:PrincipalTag/team}}-*"),
        ),
    )
    iam.create_user(UserName="blue-one")
    iam.create_user(UserName="red-one")
    tina = _fresh_client(server, iam, "tina")
    tina.list_roles()
    assert tina.get_user(UserName="blue-one")["User"]["UserName"] == "blue-one"
    _denied(tina.get_user, UserName="red-one")

    iam.tag_user(UserName="tina", Tags=[{"Key": "team", "Value": "red"}, {"Key": "site", "Value": "x"}])
    assert sorted((t["Key"], t["Value"]) for t in iam.list_user_tags(UserName="tina")["Tags"]) == [
        ("site", "x"),
        ("team", "red"),
    ]
    tina = _fresh_client(server, iam, "tina")
    _denied(tina.list_roles)
    assert tina.get_user(UserName="red-one")["User"]["UserName"] == "red-one"
    iam.untag_user(UserName="tina", TagKeys=["team"])
    assert [t["Key"] for t in iam.list_user_tags(UserName="tina")["Tags"]] == ["site"]
    tina = _fresh_client(server, iam, "tina")
    _denied(tina.list_roles)

    iam.create_role(
        RoleName="tagged",
        AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ),
        Tags=[{"Key": "a", "Value": "1"}],
    )
    iam.tag_role(RoleName="tagged", Tags=[{"Key": "b", "Value": "2"}])
    assert sorted(t["Key"] for t in iam.list_role_tags(RoleName="tagged")["Tags"]) == ["a", "b"]
    iam.untag_role(RoleName="tagged", TagKeys=["a"])
    assert [t["Key"] for t in iam.list_role_tags(RoleName="tagged")["Tags"]] == ["b"]
    with pytest.raises(ClientError) as exc:
        iam.tag_role(RoleName="tagged", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert _err(exc)[0] == "LimitExceeded"


def test_request_tags_in_conditions(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="tagger")
    iam.create_user(UserName="tag-target")
    iam.put_user_policy(
        UserName="tagger",
        PolicyName="only-team-blue",
        PolicyDocument=_doc(
            _allow(
                "iam:TagUser",
                Condition={
                    "StringEquals": {"aws:RequestTag/team": "blue"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
                },
            )
        ),
    )
    tagger = _fresh_client(server, iam, "tagger")
    tagger.tag_user(UserName="tag-target", Tags=[{"Key": "team", "Value": "blue"}])
    _denied(tagger.tag_user, UserName="tag-target", Tags=[{"Key": "team", "Value": "red"}])
    _denied(tagger.tag_user, UserName="tag-target", Tags=[{"Key": "team", "Value": "blue"}, {"Key": "x", "Value": "y"}])
    assert iam.list_user_tags(UserName="tag-target")["Tags"] == [{"Key": "team", "Value": "blue"}]
