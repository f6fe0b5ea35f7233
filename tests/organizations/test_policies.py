"""Service control policies: CRUD, attachment, the policy type, FullAWSAccess, and their errors."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error

SCP = "SERVICE_CONTROL_POLICY"
DENY_USERS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}
)


def test_policy_crud(org: Org) -> None:
    orgs = org.client("organizations")
    created = orgs.create_policy(
        Content=DENY_USERS, Description="no users", Name="NoUsers", Type=SCP, Tags=[{"Key": "a", "Value": "b"}]
    )["Policy"]
    summary = created["PolicySummary"]
    assert re.fullmatch(r"p-[a-z0-9]{8}", summary["Id"])
    assert summary["Arn"] == (
        f"arn:aws:organizations::{org.account_id}:policy/{org.org_id}/service_control_policy/{summary['Id']}"
    )
    assert summary["AwsManaged"] is False and summary["Type"] == SCP
    assert created["Content"] == DENY_USERS
    assert orgs.describe_policy(PolicyId=summary["Id"])["Policy"] == created
    assert orgs.list_tags_for_resource(ResourceId=summary["Id"])["Tags"] == [{"Key": "a", "Value": "b"}]
    listed = orgs.list_policies(Filter=SCP)["Policies"]
    assert {p["Id"] for p in listed} == {"p-FullAWSAccess", summary["Id"]}
    full = orgs.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]
    assert full["PolicySummary"]["Arn"] == "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
    assert full["PolicySummary"]["AwsManaged"] is True and full["PolicySummary"]["Name"] == "FullAWSAccess"
    updated = orgs.update_policy(PolicyId=summary["Id"], Name="NoNewUsers", Description="none")["Policy"]
    assert updated["PolicySummary"]["Name"] == "NoNewUsers" and updated["Content"] == DENY_USERS
    with pytest.raises(ClientError) as exc:
        orgs.create_policy(Content=DENY_USERS, Description="", Name="NoNewUsers", Type=SCP)
    assert error(exc)[0] == "DuplicatePolicyException"
    for call in (
        lambda: orgs.update_policy(PolicyId="p-FullAWSAccess", Name="Mine"),
        lambda: orgs.delete_policy(PolicyId="p-FullAWSAccess"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc)[0] == "InvalidInputException"
        assert exc.value.response["Reason"] == "IMMUTABLE_POLICY"
    orgs.attach_policy(PolicyId=summary["Id"], TargetId=org.root_id)
    with pytest.raises(ClientError) as exc:
        orgs.delete_policy(PolicyId=summary["Id"])
    assert error(exc)[0] == "PolicyInUseException"
    orgs.detach_policy(PolicyId=summary["Id"], TargetId=org.root_id)
    orgs.delete_policy(PolicyId=summary["Id"])
    with pytest.raises(ClientError) as exc:
        orgs.describe_policy(PolicyId=summary["Id"])
    assert error(exc)[0] == "PolicyNotFoundException"


def test_content_is_checked(org: Org) -> None:
    orgs = org.client("organizations")
    with_principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    for content in ("{not json", with_principal):
        with pytest.raises(ClientError) as exc:
            orgs.create_policy(Content=content, Description="", Name="bad", Type=SCP)
        assert error(exc)[0] == "MalformedPolicyDocumentException"
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": [f"s3:Action{i}" for i in range(400)], "Resource": "*"}],
        }
    )
    with pytest.raises(ClientError) as exc:
        orgs.create_policy(Content=big, Description="", Name="big", Type=SCP)
    assert exc.value.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"
    with pytest.raises(ClientError) as exc:
        orgs.create_policy(Content=DENY_USERS, Description="", Name="tags", Type="TAG_POLICY")
    assert error(exc)[0] == "MalformedPolicyDocumentException"  # an IAM document is no tag policy


def test_attachments(org: Org) -> None:
    orgs = org.client("organizations")
    policy = orgs.create_policy(Content=DENY_USERS, Description="", Name="p", Type=SCP)["Policy"]["PolicySummary"]
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="ou")["OrganizationalUnit"]
    account = org.member("target")
    for target in (ou["Id"], account):
        orgs.attach_policy(PolicyId=policy["Id"], TargetId=target)
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId=policy["Id"], TargetId=account)
    assert error(exc)[0] == "DuplicatePolicyAttachmentException"
    targets = orgs.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
    by_id = {t["TargetId"]: t for t in targets}
    assert by_id[ou["Id"]] == {"TargetId": ou["Id"], "Arn": ou["Arn"], "Name": "ou", "Type": "ORGANIZATIONAL_UNIT"}
    assert by_id[account]["Type"] == "ACCOUNT" and by_id[account]["Name"] == "target"
    on_account = orgs.list_policies_for_target(TargetId=account, Filter=SCP)["Policies"]
    assert {p["Id"] for p in on_account} == {"p-FullAWSAccess", policy["Id"]}
    full_targets = {t["TargetId"] for t in orgs.list_targets_for_policy(PolicyId="p-FullAWSAccess")["Targets"]}
    assert full_targets == {org.root_id, org.account_id, ou["Id"], account}
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId=policy["Id"], TargetId="ou-zzzz-zzzzzzzz")
    assert error(exc)[0] == "TargetNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId="p-zzzzzzzz", TargetId=account)
    assert error(exc)[0] == "PolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.detach_policy(PolicyId=policy["Id"], TargetId=org.root_id)
    assert error(exc)[0] == "PolicyNotAttachedException"
    # a target keeps at least one SCP
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=account)
    with pytest.raises(ClientError) as exc:
        orgs.detach_policy(PolicyId=policy["Id"], TargetId=account)
    assert error(exc)[0] == "ConstraintViolationException"
    assert exc.value.response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    # at most five
    for i in range(4):
        extra = orgs.create_policy(Content=DENY_USERS, Description="", Name=f"x{i}", Type=SCP)["Policy"]
        orgs.attach_policy(PolicyId=extra["PolicySummary"]["Id"], TargetId=account)
    sixth = orgs.create_policy(Content=DENY_USERS, Description="", Name="x6", Type=SCP)["Policy"]["PolicySummary"]
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId=sixth["Id"], TargetId=account)
    assert exc.value.response["Reason"] == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"


def test_policy_type(org: Org) -> None:
    orgs = org.client("organizations")
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="ou")["OrganizationalUnit"]["Id"]
    account = org.member()
    with pytest.raises(ClientError) as exc:
        orgs.enable_policy_type(RootId=org.root_id, PolicyType=SCP)
    assert error(exc)[0] == "PolicyTypeAlreadyEnabledException"
    root = orgs.disable_policy_type(RootId=org.root_id, PolicyType=SCP)["Root"]
    assert root["PolicyTypes"] == []
    for target in (org.root_id, ou, account):
        assert orgs.list_policies_for_target(TargetId=target, Filter=SCP)["Policies"] == []
    policy = orgs.create_policy(Content=DENY_USERS, Description="", Name="p", Type=SCP)["Policy"]["PolicySummary"]
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId=policy["Id"], TargetId=account)
    assert error(exc)[0] == "PolicyTypeNotEnabledException"
    with pytest.raises(ClientError) as exc:
        orgs.disable_policy_type(RootId=org.root_id, PolicyType=SCP)
    assert error(exc)[0] == "PolicyTypeNotEnabledException"
    with pytest.raises(ClientError) as exc:
        orgs.enable_policy_type(RootId="r-zzzz", PolicyType=SCP)
    assert error(exc)[0] == "RootNotFoundException"
    root = orgs.enable_policy_type(RootId=org.root_id, PolicyType=SCP)["Root"]
    assert root["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    for target in (org.root_id, ou, account, org.account_id):  # FullAWSAccess everywhere again
        ids = [p["Id"] for p in orgs.list_policies_for_target(TargetId=target, Filter=SCP)["Policies"]]
        assert ids == ["p-FullAWSAccess"]


def test_tags(org: Org) -> None:
    orgs = org.client("organizations")
    orgs.tag_resource(ResourceId=org.root_id, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    orgs.tag_resource(ResourceId=org.root_id, Tags=[{"Key": "a", "Value": "3"}])
    assert orgs.list_tags_for_resource(ResourceId=org.root_id)["Tags"] == [
        {"Key": "a", "Value": "3"},
        {"Key": "b", "Value": "2"},
    ]
    orgs.untag_resource(ResourceId=org.root_id, TagKeys=["a"])
    assert orgs.list_tags_for_resource(ResourceId=org.root_id)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        orgs.tag_resource(ResourceId="ou-zzzz-zzzzzzzz", Tags=[{"Key": "a", "Value": "1"}])
    assert error(exc)[0] == "TargetNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.tag_resource(ResourceId=org.root_id, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert exc.value.response["Reason"] == "MAX_TAG_LIMIT_EXCEEDED"
