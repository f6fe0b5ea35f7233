"""The organization's resource-based delegation policy: Put/Describe/DeleteResourcePolicy, what a
document may say, and its enforcement by the policy engine for member accounts' principals (reads,
policy management scoped by ``organizations:PolicyType``, explicit denies), with the attacks: a member
without a grant, a principal outside the organization, a member not named."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error, new_org

READS = ["organizations:Describe*", "organizations:List*"]
TAG_POLICY = json.dumps({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}})
SCP_DENY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: str | list[str], actions: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*", **extra}


def _code(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return error(exc)[0], str(exc.value.response.get("Reason", ""))


def test_put_describe_delete(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    assert _code(orgs.describe_resource_policy)[0] == "ResourcePolicyNotFoundException"
    content = _document(_allow(f"arn:aws:iam::{member}:root", READS))
    put = orgs.put_resource_policy(Content=content, Tags=[{"Key": "team", "Value": "sec"}])["ResourcePolicy"]
    summary = put["ResourcePolicySummary"]
    assert re.fullmatch(r"rp-[a-z0-9]{8}", summary["Id"])
    assert summary["Arn"] == f"arn:aws:organizations::{org.account_id}:resourcepolicy/{org.org_id}/{summary['Id']}"
    assert orgs.describe_resource_policy()["ResourcePolicy"] == put
    assert orgs.list_tags_for_resource(ResourceId=summary["Id"])["Tags"] == [{"Key": "team", "Value": "sec"}]
    updated = _document(_allow(member, ["organizations:ListAccounts"]))
    again = orgs.put_resource_policy(Content=updated)["ResourcePolicy"]
    assert again["ResourcePolicySummary"] == summary and again["Content"] == updated
    assert _code(orgs.put_resource_policy, Content=updated, Tags=[{"Key": "k", "Value": "v"}])[0] == (
        "InvalidInputException"
    )
    admin = org.server.client("organizations", **org.admin_of(member))
    assert _code(admin.put_resource_policy, Content=content)[0] == "AccessDeniedException"
    assert _code(admin.delete_resource_policy)[0] == "AccessDeniedException"
    orgs.delete_resource_policy()
    assert _code(orgs.describe_resource_policy)[0] == "ResourcePolicyNotFoundException"
    assert _code(orgs.delete_resource_policy)[0] == "ResourcePolicyNotFoundException"


def test_documents_refused(org: Org) -> None:
    """Attack included: a principal outside the organization (another organization's account, or
    anyone) cannot be delegated to."""
    orgs = org.client("organizations")
    member = org.member()
    outsider = new_org(org.server).account_id
    refused = {
        "{not json": "INVALID_RESOURCE_POLICY_JSON",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": READS, "Resource": "*"}]}): (
            "INVALID_RESOURCE_POLICY_JSON"  # no Principal
        ),
        _document(_allow(f"arn:aws:iam::{outsider}:root", READS)): "INVALID_PRINCIPAL",
        _document(_allow(outsider, READS)): "INVALID_PRINCIPAL",
        _document({"Effect": "Allow", "Principal": "*", "Action": READS, "Resource": "*"}): "INVALID_PRINCIPAL",
        _document(
            {"Effect": "Allow", "Principal": {"Service": "sso.amazonaws.com"}, "Action": READS, "Resource": "*"}
        ): "INVALID_PRINCIPAL",
        _document(_allow(member, ["organizations:*"])): "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        _document(_allow(member, ["organizations:CreateAccount"])): "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        _document(_allow(member, ["iam:CreateUser"])): "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
        _document(
            {**_allow(member, READS), "Resource": "arn:aws:organizations::111111111111:ou/o-aaaaaaaaaa/ou-x"}
        ): "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY",
        _document(
            _allow(
                member,
                ["organizations:CreatePolicy"],
                Condition={"StringEquals": {"organizations:PolicyType": "NO_SUCH_POLICY"}},
            )
        ): "UNSUPPORTED_POLICY_TYPE_IN_RESOURCE_POLICY",
    }
    for content, reason in refused.items():
        assert _code(orgs.put_resource_policy, Content=content) == ("InvalidInputException", reason), content
    assert _code(orgs.describe_resource_policy)[0] == "ResourcePolicyNotFoundException"


def test_reads_are_delegated_by_the_policy(org: Org) -> None:
    """Attack included: a member account without a grant reads nothing of the organization; one named
    reads; one not named still reads nothing."""
    orgs = org.client("organizations")
    member, other = org.member("delegate"), org.member("other")
    admin = org.server.client("organizations", **org.admin_of(member))
    bystander = org.server.client("organizations", **org.admin_of(other))
    for client in (admin, bystander):
        assert _code(client.list_accounts)[0] == "AccessDeniedException"
        assert _code(client.describe_resource_policy)[0] == "AccessDeniedException"
    orgs.put_resource_policy(Content=_document(_allow(f"arn:aws:iam::{member}:root", READS)))
    ids = {a["Id"] for a in admin.list_accounts()["Accounts"]}
    assert ids == {org.account_id, member, other}
    assert admin.list_roots()["Roots"][0]["Id"] == org.root_id
    assert admin.describe_resource_policy()["ResourcePolicy"]["Content"]
    assert admin.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert _code(bystander.list_accounts)[0] == "AccessDeniedException"
    # reads only: no change to the organization
    assert _code(admin.create_organizational_unit, ParentId=org.root_id, Name="x")[0] == "AccessDeniedException"
    assert _code(admin.create_policy, Content=SCP_DENY, Description="", Name="x", Type="SERVICE_CONTROL_POLICY")[0] == (
        "AccessDeniedException"
    )
    # an explicit deny in the policy wins; a role named by its ARN is the principal of its sessions
    orgs.put_resource_policy(
        Content=_document(
            _allow(f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", READS),
            {**_allow(member, ["organizations:ListAccounts"]), "Effect": "Deny"},
        )
    )
    assert _code(admin.list_accounts)[0] == "AccessDeniedException"
    assert admin.list_roots()["Roots"]
    orgs.delete_resource_policy()
    assert _code(admin.list_roots)[0] == "AccessDeniedException"


def test_policy_management_scoped_by_policy_type(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member("delegate")
    orgs.enable_policy_type(RootId=org.root_id, PolicyType="TAG_POLICY")
    admin = org.server.client("organizations", **org.admin_of(member))
    manage = [
        "organizations:CreatePolicy",
        "organizations:UpdatePolicy",
        "organizations:DeletePolicy",
        "organizations:AttachPolicy",
        "organizations:DetachPolicy",
        "organizations:DescribePolicy",
    ]
    only_tags = {"StringEquals": {"organizations:PolicyType": "TAG_POLICY"}}
    orgs.put_resource_policy(Content=_document(_allow(member, manage, Condition=only_tags)))
    created = admin.create_policy(Content=TAG_POLICY, Description="by the delegate", Name="tags", Type="TAG_POLICY")
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    admin.attach_policy(PolicyId=policy_id, TargetId=org.root_id)
    targets = orgs.list_targets_for_policy(PolicyId=policy_id)["Targets"]
    assert [target["TargetId"] for target in targets] == [org.root_id]
    admin.update_policy(PolicyId=policy_id, Description="changed")
    assert _code(admin.create_policy, Content=SCP_DENY, Description="", Name="s", Type="SERVICE_CONTROL_POLICY")[0] == (
        "AccessDeniedException"
    )
    scp = orgs.create_policy(Content=SCP_DENY, Description="", Name="s", Type="SERVICE_CONTROL_POLICY")
    scp_id = scp["Policy"]["PolicySummary"]["Id"]
    for call in (admin.describe_policy, admin.delete_policy):
        assert _code(call, PolicyId=scp_id)[0] == "AccessDeniedException"
    assert _code(admin.attach_policy, PolicyId=scp_id, TargetId=member)[0] == "AccessDeniedException"
    admin.detach_policy(PolicyId=policy_id, TargetId=org.root_id)
    admin.delete_policy(PolicyId=policy_id)
    assert _code(orgs.describe_policy, PolicyId=policy_id)[0] == "PolicyNotFoundException"


def test_consolidated_billing_has_no_resource_policy(org: Org) -> None:
    billing = new_org(org.server, "CONSOLIDATED_BILLING")
    member = billing.member()
    content = _document(_allow(member, READS))
    assert _code(billing.client("organizations").put_resource_policy, Content=content) == (
        "ConstraintViolationException",
        "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
    )
