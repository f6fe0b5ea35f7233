"""Effective management policies: the inheritance operators (after the User Guide's "Understanding
management policy inheritance" examples, computed in process), then DescribeEffectivePolicy,
ListEffectivePolicyValidationErrors and ListAccountsWithInvalidEffectivePolicy through boto3 over a
root → OU → account tree, and who may read an account's effective policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.organizations import effective_policies as ep
from tests.organizations.conftest import Org, error


def _effective(*levels: list[dict[str, Any]], tag_policy: bool = True) -> dict[str, Any]:
    """The effective policy of policies attached level by level (root first)."""
    root = ep.Node("")
    for n, level in enumerate(levels):
        for m, document in enumerate(level):
            for key, value in document.items():
                top = root.children.setdefault(key, ep.Node(key))
                ep.apply(top, value, f"p-{n}{m}", fold_keys=tag_policy and key == "tags", allowed=ep.ALL_OPERATORS)
        ep.next_level(root)
    out = ep.render(root)
    assert isinstance(out, dict)
    return out


PARENT = {
    "tags": {
        "CostCenter": {
            "tag_key": {"@@operators_allowed_for_child_policies": ["@@none"], "@@assign": "CostCenter"},
            "tag_value": {"@@operators_allowed_for_child_policies": ["@@append"], "@@assign": ["Sandbox"]},
        }
    }
}


def test_child_may_only_append_values() -> None:
    child = {
        "tags": {
            "costcenter": {
                "tag_key": {"@@assign": "costcenter"},  # @@none above: ignored
                "tag_value": {"@@append": ["Marketing"]},
            }
        }
    }
    assert _effective([PARENT], [child]) == {
        "tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Sandbox", "Marketing"]}}
    }


def test_a_disallowed_operator_is_ignored() -> None:
    child = {
        "tags": {"costcenter": {"tag_value": {"@@assign": ["Finance"]}, "enforced_for": {"@@assign": ["ec2:instance"]}}}
    }
    assert _effective([PARENT], [child]) == {
        "tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Sandbox"], "enforced_for": ["ec2:instance"]}}
    }


def test_children_may_overwrite_when_allowed_and_remove() -> None:
    parent = {"tags": {"project": {"tag_key": {"@@assign": "Project"}, "tag_value": {"@@assign": ["A", "B", "C"]}}}}
    child = {"tags": {"Project": {"tag_value": {"@@remove": ["B"]}}}}
    assert _effective([parent], [child])["tags"]["project"]["tag_value"] == ["A", "C"]
    overwrite = {"tags": {"project": {"tag_value": ["Z"]}}}  # no operator: @@assign
    assert _effective([parent], [overwrite])["tags"]["project"]["tag_value"] == ["Z"]
    emptied = {"tags": {"project": {"tag_value": {"@@remove": ["A", "B", "C"]}}}}
    assert _effective([parent], [emptied])["tags"]["project"] == {"tag_key": "Project"}


def test_a_restriction_binds_every_level_below_and_only_narrows() -> None:
    root = {
        "services": {
            "default": {
                "opt_out_policy": {"@@operators_allowed_for_child_policies": ["@@assign"], "@@assign": "optOut"}
            }
        }
    }
    ou = {
        "services": {
            "default": {"opt_out_policy": {"@@operators_allowed_for_child_policies": ["@@all"], "@@append": ["x"]}}
        }
    }
    account = {"services": {"default": {"opt_out_policy": {"@@assign": "optIn"}}}}
    # the OU's @@append was not allowed, its @@all cannot widen; the account may still assign
    assert _effective([root], [ou], [account], tag_policy=False) == {
        "services": {"default": {"opt_out_policy": "optIn"}}
    }
    locked = {"services": {"default": {"opt_out_policy": {"@@operators_allowed_for_child_policies": ["@@none"]}}}}
    assert _effective([root], [locked], [account], tag_policy=False) == {
        "services": {"default": {"opt_out_policy": "optOut"}}
    }


def test_policies_of_one_level_apply_in_order_and_a_restriction_binds_only_below() -> None:
    first = {
        "plans": {
            "daily": {"regions": {"@@operators_allowed_for_child_policies": ["@@none"], "@@assign": ["eu-west-1"]}}
        }
    }
    second = {"plans": {"daily": {"regions": {"@@append": ["us-east-1"]}}}}  # same level: not bound by the first
    below = {"plans": {"daily": {"regions": {"@@append": ["ap-south-1"]}}}}
    assert _effective([first, second], [below], tag_policy=False) == {
        "plans": {"daily": {"regions": ["eu-west-1", "us-east-1"]}}
    }


TAGS = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["100"]}}}}
BACKUP = {
    "plans": {
        "daily": {
            "regions": {"@@assign": ["eu-west-1"]},
            "rules": {"hourly": {"schedule_expression": {"@@assign": "cron(0 5/1 ? * * *)"}}},
            "selections": {
                "tags": {"datatype": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/MyIamRole"}}}
            },
        }
    }
}


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return error(exc)[0]


def test_describe_effective_policy(org: Org) -> None:
    orgs = org.client("organizations")
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="eng")["OrganizationalUnit"]["Id"]
    member = org.member("dev")
    orgs.move_account(AccountId=member, SourceParentId=org.root_id, DestinationParentId=ou)
    assert _code(orgs.describe_effective_policy, PolicyType="TAG_POLICY", TargetId=member) == (
        "EffectivePolicyNotFoundException"
    )
    orgs.enable_policy_type(RootId=org.root_id, PolicyType="TAG_POLICY")
    parent = orgs.create_policy(Content=json.dumps(PARENT), Description="", Name="root", Type="TAG_POLICY")
    child = {"tags": {"costcenter": {"tag_value": {"@@append": ["Marketing"]}}}}
    below = orgs.create_policy(Content=json.dumps(child), Description="", Name="ou", Type="TAG_POLICY")
    orgs.attach_policy(PolicyId=parent["Policy"]["PolicySummary"]["Id"], TargetId=org.root_id)
    orgs.attach_policy(PolicyId=below["Policy"]["PolicySummary"]["Id"], TargetId=ou)
    effective = orgs.describe_effective_policy(PolicyType="TAG_POLICY", TargetId=member)["EffectivePolicy"]
    assert effective["TargetId"] == member and effective["PolicyType"] == "TAG_POLICY"
    assert json.loads(effective["PolicyContent"]) == {
        "tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Sandbox", "Marketing"]}}
    }
    assert effective["LastUpdatedTimestamp"]
    # the management account's own: only the root's policy reaches it
    own = orgs.describe_effective_policy(PolicyType="TAG_POLICY")["EffectivePolicy"]
    assert json.loads(own["PolicyContent"])["tags"]["costcenter"]["tag_value"] == ["Sandbox"]
    # a member reads its own account's, not another's; roots and OUs are no targets; SCPs have none
    admin = org.server.client("organizations", **org.admin_of(member))
    mine = admin.describe_effective_policy(PolicyType="TAG_POLICY")["EffectivePolicy"]
    assert mine["PolicyContent"] == effective["PolicyContent"]
    assert _code(admin.describe_effective_policy, PolicyType="TAG_POLICY", TargetId=org.account_id) == (
        "AccessDeniedException"
    )
    assert _code(orgs.describe_effective_policy, PolicyType="TAG_POLICY", TargetId=ou) == "InvalidInputException"
    assert _code(orgs.describe_effective_policy, PolicyType="BACKUP_POLICY", TargetId=member) == (
        "EffectivePolicyNotFoundException"
    )


def test_validation_errors_of_backup_policies(org: Org) -> None:
    orgs = org.client("organizations")
    whole, partial = org.member("whole"), org.member("partial")
    orgs.enable_policy_type(RootId=org.root_id, PolicyType="BACKUP_POLICY")
    good = orgs.create_policy(Content=json.dumps(BACKUP), Description="", Name="b", Type="BACKUP_POLICY")
    lacking = {"plans": {"weekly": {"regions": {"@@assign": ["eu-west-1"]}}}}
    bad = orgs.create_policy(Content=json.dumps(lacking), Description="", Name="w", Type="BACKUP_POLICY")
    orgs.attach_policy(PolicyId=good["Policy"]["PolicySummary"]["Id"], TargetId=org.root_id)
    bad_id = bad["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=bad_id, TargetId=partial)
    invalid = orgs.list_accounts_with_invalid_effective_policy(PolicyType="BACKUP_POLICY")
    assert [a["Id"] for a in invalid["Accounts"]] == [partial] and invalid["PolicyType"] == "BACKUP_POLICY"
    listed = orgs.list_effective_policy_validation_errors(AccountId=partial, PolicyType="BACKUP_POLICY")
    assert listed["Path"] == f"{org.org_id}/{org.root_id}/{partial}/"
    assert {e["PathToError"] for e in listed["EffectivePolicyValidationErrors"]} == {
        "plans/weekly/rules",
        "plans/weekly/selections",
    }
    assert all(e["ContributingPolicies"] == [bad_id] for e in listed["EffectivePolicyValidationErrors"])
    assert (
        orgs.list_effective_policy_validation_errors(AccountId=whole, PolicyType="BACKUP_POLICY")[
            "EffectivePolicyValidationErrors"
        ]
        == []
    )
    assert _code(
        orgs.list_effective_policy_validation_errors, AccountId="123456789012", PolicyType="BACKUP_POLICY"
    ) == ("AccountNotFoundException")
    admin = org.server.client("organizations", **org.admin_of(whole))
    assert _code(admin.list_accounts_with_invalid_effective_policy, PolicyType="BACKUP_POLICY") == (
        "AccessDeniedException"
    )
