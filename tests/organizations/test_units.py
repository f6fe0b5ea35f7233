"""Roots and organizational units: create, describe, rename, delete, nesting, parents and children."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error


def test_ou_lifecycle(org: Org) -> None:
    orgs = org.client("organizations")
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="Engineering", Tags=[{"Key": "k", "Value": "v"}])[
        "OrganizationalUnit"
    ]
    root4 = org.root_id.removeprefix("r-")
    assert re.fullmatch(rf"ou-{root4}-[a-z0-9]{{8}}", ou["Id"])
    assert ou["Arn"] == f"arn:aws:organizations::{org.account_id}:ou/{org.org_id}/{ou['Id']}"
    assert ou["Name"] == "Engineering"
    assert orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])["OrganizationalUnit"] == ou
    assert orgs.list_tags_for_resource(ResourceId=ou["Id"])["Tags"] == [{"Key": "k", "Value": "v"}]
    # a new OU gets FullAWSAccess, as AWS attaches it
    policies = orgs.list_policies_for_target(TargetId=ou["Id"], Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Id"] for p in policies] == ["p-FullAWSAccess"]
    child = orgs.create_organizational_unit(ParentId=ou["Id"], Name="Platform")["OrganizationalUnit"]
    assert orgs.list_parents(ChildId=child["Id"])["Parents"] == [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert orgs.list_parents(ChildId=ou["Id"])["Parents"] == [{"Id": org.root_id, "Type": "ROOT"}]
    assert orgs.list_children(ParentId=org.root_id, ChildType="ORGANIZATIONAL_UNIT")["Children"] == [
        {"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}
    ]
    assert orgs.list_children(ParentId=org.root_id, ChildType="ACCOUNT")["Children"] == [
        {"Id": org.account_id, "Type": "ACCOUNT"}
    ]
    listed = orgs.list_organizational_units_for_parent(ParentId=ou["Id"])["OrganizationalUnits"]
    assert listed == [child]
    renamed = orgs.update_organizational_unit(OrganizationalUnitId=child["Id"], Name="Platforms")
    assert renamed["OrganizationalUnit"]["Name"] == "Platforms"
    with pytest.raises(ClientError) as exc:
        orgs.delete_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert error(exc)[0] == "OrganizationalUnitNotEmptyException"
    orgs.delete_organizational_unit(OrganizationalUnitId=child["Id"])
    orgs.delete_organizational_unit(OrganizationalUnitId=ou["Id"])
    with pytest.raises(ClientError) as exc:
        orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert error(exc)[0] == "OrganizationalUnitNotFoundException"
    assert orgs.list_organizational_units_for_parent(ParentId=org.root_id)["OrganizationalUnits"] == []


def test_errors(org: Org) -> None:
    orgs = org.client("organizations")
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="dup")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as exc:
        orgs.create_organizational_unit(ParentId=org.root_id, Name="dup")
    assert error(exc) == ("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
    other = orgs.create_organizational_unit(ParentId=org.root_id, Name="other")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as exc:
        orgs.update_organizational_unit(OrganizationalUnitId=other, Name="dup")
    assert error(exc)[0] == "DuplicateOrganizationalUnitException"
    orgs.create_organizational_unit(ParentId=ou, Name="dup")  # the same name under another parent
    with pytest.raises(ClientError) as exc:
        orgs.create_organizational_unit(ParentId="ou-zzzz-zzzzzzzz", Name="x")
    assert error(exc)[0] == "ParentNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.list_parents(ChildId="ou-zzzz-zzzzzzzz")
    assert error(exc)[0] == "ChildNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.list_parents(ChildId="123456789012")
    assert error(exc)[0] == "ChildNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.delete_organizational_unit(OrganizationalUnitId="ou-zzzz-zzzzzzzz")
    assert error(exc)[0] == "OrganizationalUnitNotFoundException"


def test_depth_limit(org: Org) -> None:
    orgs = org.client("organizations")
    parent = org.root_id
    for level in range(5):
        parent = orgs.create_organizational_unit(ParentId=parent, Name=f"level{level}")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as exc:
        orgs.create_organizational_unit(ParentId=parent, Name="too-deep")
    assert error(exc)[0] == "ConstraintViolationException"
    assert exc.value.response["Reason"] == "OU_DEPTH_LIMIT_EXCEEDED"
