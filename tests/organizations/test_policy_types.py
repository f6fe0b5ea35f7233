"""Policy types other than SCPs: resource control policies (RCPFullAWSAccess attached everywhere while
enabled and never detached; customer RCPs deny with the principal "*"), management policies' syntax
checks and per-type quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error

RCP = "RESOURCE_CONTROL_POLICY"
RCP_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaaaaaaaa"}},
            }
        ],
    }
)


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return error(exc)[0]


def test_resource_control_policies(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    assert _code(orgs.attach_policy, PolicyId="p-RCPFullAWSAccess", TargetId=member) == (
        "PolicyTypeNotEnabledException"
    )
    root = orgs.enable_policy_type(RootId=org.root_id, PolicyType=RCP)["Root"]
    assert {"Type": RCP, "Status": "ENABLED"} in root["PolicyTypes"]
    attached = orgs.list_policies_for_target(TargetId=member, Filter=RCP)["Policies"]
    assert [(p["Id"], p["AwsManaged"]) for p in attached] == [("p-RCPFullAWSAccess", True)]
    assert attached[0]["Arn"] == "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="ou")["OrganizationalUnit"]["Id"]
    assert [p["Id"] for p in orgs.list_policies_for_target(TargetId=ou, Filter=RCP)["Policies"]] == [
        "p-RCPFullAWSAccess"
    ]
    described = orgs.describe_policy(PolicyId="p-RCPFullAWSAccess")["Policy"]
    assert json.loads(described["Content"])["Statement"][0]["Principal"] == "*"
    allow = RCP_DENY.replace('"Deny"', '"Allow"')
    no_principal = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    )
    for content in (allow, no_principal, RCP_DENY.replace('"Principal": "*"', '"Principal": {"AWS": "111122223333"}')):
        assert _code(orgs.create_policy, Content=content, Description="", Name="bad", Type=RCP) == (
            "MalformedPolicyDocumentException"
        )
    created = orgs.create_policy(Content=RCP_DENY, Description="", Name="org-only", Type=RCP)["Policy"]
    policy_id = created["PolicySummary"]["Id"]
    assert created["PolicySummary"]["Arn"].endswith(f"/resource_control_policy/{policy_id}")
    orgs.attach_policy(PolicyId=policy_id, TargetId=member)
    orgs.detach_policy(PolicyId=policy_id, TargetId=member)
    with pytest.raises(ClientError) as exc:
        orgs.detach_policy(PolicyId="p-RCPFullAWSAccess", TargetId=member)
    assert exc.value.response["Reason"] == "NON_DETACHABLE_POLICY"
    assert _code(orgs.update_policy, PolicyId="p-RCPFullAWSAccess", Description="x") == "InvalidInputException"
    orgs.disable_policy_type(RootId=org.root_id, PolicyType=RCP)
    assert orgs.list_policies_for_target(TargetId=member, Filter=RCP)["Policies"] == []


def test_management_policy_syntax_and_quotas(org: Org) -> None:
    orgs = org.client("organizations")
    refused = {
        "TAG_POLICY": [
            "[1, 2]",
            json.dumps({"tags": {"a": {"@@assgin": "x"}}}),  # no such operator
            json.dumps({"tags": {"a": {"tag_value": {"@@append": "x"}}}}),  # @@append takes a list
            json.dumps({"tags": {"a": {"@@operators_allowed_for_child_policies": ["@@none", "@@assign"]}}}),
            json.dumps({"tagz": {}}),  # the top-level element is "tags"
        ],
        "AISERVICES_OPT_OUT_POLICY": [
            "{}",
            json.dumps({"services": {"default": {"opt_out_policy": {"@@assign": {"a": 1}}}}}),
        ],
    }
    for kind, documents in refused.items():
        for content in documents:
            assert _code(orgs.create_policy, Content=content, Description="", Name="bad", Type=kind) == (
                "MalformedPolicyDocumentException"
            ), content
    big = json.dumps({"services": {"default": {"opt_out_policy": {"@@assign": "x" * 2600}}}})
    with pytest.raises(ClientError) as exc:
        orgs.create_policy(Content=big, Description="", Name="big", Type="AISERVICES_OPT_OUT_POLICY")
    assert exc.value.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"
    orgs.enable_policy_type(RootId=org.root_id, PolicyType="AISERVICES_OPT_OUT_POLICY")
    ids = []
    for n in range(6):
        content = json.dumps({"services": {f"s{n}": {"opt_out_policy": {"@@assign": "optOut"}}}})
        created = orgs.create_policy(Content=content, Description="", Name=f"p{n}", Type="AISERVICES_OPT_OUT_POLICY")
        ids.append(created["Policy"]["PolicySummary"]["Id"])
    for policy_id in ids[:5]:
        orgs.attach_policy(PolicyId=policy_id, TargetId=org.root_id)
    with pytest.raises(ClientError) as exc:
        orgs.attach_policy(PolicyId=ids[5], TargetId=org.root_id)
    assert exc.value.response["Reason"] == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    # a management policy can be detached down to none
    for policy_id in ids[:5]:
        orgs.detach_policy(PolicyId=policy_id, TargetId=org.root_id)
