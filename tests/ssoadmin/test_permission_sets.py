"""sso-admin permission sets through boto3: CRUD, session duration, AWS managed policies, customer
managed policy references, the inline policy, the permissions boundary, paging, other accounts."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _new(inst: Instance, **kwargs: Any) -> str:
    name = kwargs.pop("Name", "ps-" + secrets.token_hex(4))
    created = inst.client("sso-admin").create_permission_set(InstanceArn=inst.instance_arn, Name=name, **kwargs)
    return str(created["PermissionSet"]["PermissionSetArn"])


def test_lifecycle(instance: Instance) -> None:
    admin = instance.client("sso-admin")
    name = "Dev" + secrets.token_hex(3)
    created = admin.create_permission_set(
        InstanceArn=instance.instance_arn,
        Name=name,
        Description="developers",
        RelayState="https://console.example.com/home",
        Tags=[{"Key": "team", "Value": "a"}],
    )["PermissionSet"]
    arn = created["PermissionSetArn"]
    instance_id = instance.instance_arn.rsplit("/", 1)[1]
    assert re.fullmatch(rf"arn:aws:sso:::permissionSet/{instance_id}/ps-[0-9a-f]{{16}}", arn)
    assert created["SessionDuration"] == "PT1H" and created["Name"] == name and "CreatedDate" in created
    described = admin.describe_permission_set(InstanceArn=instance.instance_arn, PermissionSetArn=arn)["PermissionSet"]
    assert described["Description"] == "developers" and described["RelayState"] == "https://console.example.com/home"

    admin.update_permission_set(
        InstanceArn=instance.instance_arn, PermissionSetArn=arn, SessionDuration="PT12H", Description="devs"
    )
    described = admin.describe_permission_set(InstanceArn=instance.instance_arn, PermissionSetArn=arn)["PermissionSet"]
    assert described["SessionDuration"] == "PT12H" and described["Description"] == "devs"

    with pytest.raises(ClientError) as err:
        admin.create_permission_set(InstanceArn=instance.instance_arn, Name=name)
    assert _code(err) == "ConflictException"
    for duration in ("PT13H", "PT30M", "P1D", "1H"):
        with pytest.raises(ClientError) as err:
            admin.update_permission_set(
                InstanceArn=instance.instance_arn, PermissionSetArn=arn, SessionDuration=duration
            )
        assert _code(err) == "ValidationException", duration

    admin.delete_permission_set(InstanceArn=instance.instance_arn, PermissionSetArn=arn)
    with pytest.raises(ClientError) as err:
        admin.describe_permission_set(InstanceArn=instance.instance_arn, PermissionSetArn=arn)
    assert _code(err) == "ResourceNotFoundException"
    assert arn not in admin.list_permission_sets(InstanceArn=instance.instance_arn)["PermissionSets"]


def test_list_pages(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    arns = sorted(_new(inst) for _ in range(5))
    seen: list[str] = []
    kwargs: dict[str, Any] = {"InstanceArn": inst.instance_arn, "MaxResults": 2}
    while True:
        page = admin.list_permission_sets(**kwargs)
        assert len(page["PermissionSets"]) <= 2
        seen += page["PermissionSets"]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == arns
    paginated = [
        a
        for p in admin.get_paginator("list_permission_sets").paginate(
            InstanceArn=inst.instance_arn, PaginationConfig={"PageSize": 3}
        )
        for a in p["PermissionSets"]
    ]
    assert paginated == arns
    with pytest.raises(ClientError) as err:
        admin.list_permission_sets(InstanceArn=inst.instance_arn, NextToken="not-a-token")
    assert _code(err) == "ValidationException"


def test_policies(instance: Instance) -> None:
    admin = instance.client("sso-admin")
    arn = _new(instance)
    ids = {"InstanceArn": instance.instance_arn, "PermissionSetArn": arn}

    admin.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert admin.list_managed_policies_in_permission_set(**ids)["AttachedManagedPolicies"] == [
        {"Name": "ReadOnlyAccess", "Arn": READ_ONLY}
    ]
    with pytest.raises(ClientError) as err:
        admin.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert _code(err) == "ConflictException"
    with pytest.raises(ClientError) as err:
        admin.attach_managed_policy_to_permission_set(
            **ids, ManagedPolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyHere"
        )
    assert _code(err) == "ResourceNotFoundException"
    admin.detach_managed_policy_from_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert admin.list_managed_policies_in_permission_set(**ids)["AttachedManagedPolicies"] == []
    with pytest.raises(ClientError) as err:
        admin.detach_managed_policy_from_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert _code(err) == "ResourceNotFoundException"

    admin.attach_customer_managed_policy_reference_to_permission_set(
        **ids, CustomerManagedPolicyReference={"Name": "Mine", "Path": "/team/"}
    )
    admin.attach_customer_managed_policy_reference_to_permission_set(
        **ids, CustomerManagedPolicyReference={"Name": "Other"}
    )
    refs = admin.list_customer_managed_policy_references_in_permission_set(**ids)["CustomerManagedPolicyReferences"]
    assert refs == [{"Name": "Mine", "Path": "/team/"}, {"Name": "Other", "Path": "/"}]
    page = admin.list_customer_managed_policy_references_in_permission_set(**ids, MaxResults=1)
    assert page["CustomerManagedPolicyReferences"] == [refs[0]]
    rest = admin.list_customer_managed_policy_references_in_permission_set(**ids, NextToken=page["NextToken"])
    assert rest["CustomerManagedPolicyReferences"] == [refs[1]] and "NextToken" not in rest
    admin.detach_customer_managed_policy_reference_from_permission_set(
        **ids, CustomerManagedPolicyReference={"Name": "Mine", "Path": "/team/"}
    )
    with pytest.raises(ClientError) as err:
        admin.detach_customer_managed_policy_reference_from_permission_set(
            **ids, CustomerManagedPolicyReference={"Name": "Mine", "Path": "/team/"}
        )
    assert _code(err) == "ResourceNotFoundException"

    assert "InlinePolicy" not in admin.get_inline_policy_for_permission_set(**ids)
    admin.put_inline_policy_to_permission_set(**ids, InlinePolicy=POLICY)
    assert json.loads(admin.get_inline_policy_for_permission_set(**ids)["InlinePolicy"]) == json.loads(POLICY)
    with pytest.raises(ClientError) as err:
        admin.put_inline_policy_to_permission_set(**ids, InlinePolicy='{"Statement": "nope"}')
    assert _code(err) == "ValidationException"
    admin.delete_inline_policy_from_permission_set(**ids)
    assert "InlinePolicy" not in admin.get_inline_policy_for_permission_set(**ids)

    with pytest.raises(ClientError) as err:
        admin.get_permissions_boundary_for_permission_set(**ids)
    assert _code(err) == "ResourceNotFoundException"
    admin.put_permissions_boundary_to_permission_set(**ids, PermissionsBoundary={"ManagedPolicyArn": READ_ONLY})
    assert admin.get_permissions_boundary_for_permission_set(**ids)["PermissionsBoundary"] == {
        "ManagedPolicyArn": READ_ONLY
    }
    admin.put_permissions_boundary_to_permission_set(
        **ids, PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "Limit"}}
    )
    assert admin.get_permissions_boundary_for_permission_set(**ids)["PermissionsBoundary"] == {
        "CustomerManagedPolicyReference": {"Name": "Limit", "Path": "/"}
    }
    with pytest.raises(ClientError) as err:
        admin.put_permissions_boundary_to_permission_set(
            **ids,
            PermissionsBoundary={"ManagedPolicyArn": READ_ONLY, "CustomerManagedPolicyReference": {"Name": "Limit"}},
        )
    assert _code(err) == "ValidationException"
    admin.delete_permissions_boundary_from_permission_set(**ids)
    with pytest.raises(ClientError) as err:
        admin.get_permissions_boundary_for_permission_set(**ids)
    assert _code(err) == "ResourceNotFoundException"


def test_other_accounts_permission_sets_are_not_found(server: Server) -> None:
    mine = new_instance(server)
    theirs = new_instance(server)
    their_ps = _new(theirs)
    admin = mine.client("sso-admin")
    # their instance, named by me
    for call in (
        lambda: admin.describe_permission_set(InstanceArn=theirs.instance_arn, PermissionSetArn=their_ps),
        lambda: admin.list_permission_sets(InstanceArn=theirs.instance_arn),
        lambda: admin.put_inline_policy_to_permission_set(
            InstanceArn=theirs.instance_arn, PermissionSetArn=their_ps, InlinePolicy=POLICY
        ),
        lambda: admin.create_permission_set(InstanceArn=theirs.instance_arn, Name="x"),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "ResourceNotFoundException"
    # their permission set under my instance
    with pytest.raises(ClientError) as err:
        admin.describe_permission_set(InstanceArn=mine.instance_arn, PermissionSetArn=their_ps)
    assert _code(err) == "ResourceNotFoundException"
    assert "InlinePolicy" not in theirs.client("sso-admin").get_inline_policy_for_permission_set(
        InstanceArn=theirs.instance_arn, PermissionSetArn=their_ps
    )
