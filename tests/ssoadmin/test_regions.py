"""sso-admin Regions: an instance is served in the server's Region, its primary one; AddRegion and
RemoveRegion manage the others (replication is complete when the call answers: Ostiary keeps one
database)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_regions(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    [region] = admin.list_regions(InstanceArn=inst.instance_arn)["Regions"]
    assert (region["RegionName"], region["Status"], region["IsPrimaryRegion"]) == ("us-east-1", "ACTIVE", True)
    assert region["AddedDate"] == admin.describe_instance(InstanceArn=inst.instance_arn)["CreatedDate"]
    described = admin.describe_region(InstanceArn=inst.instance_arn, RegionName="us-east-1")
    assert described["IsPrimaryRegion"] is True
    with pytest.raises(ClientError) as err:
        admin.describe_region(InstanceArn=inst.instance_arn, RegionName="eu-west-1")
    assert _code(err) == "ResourceNotFoundException"
    other = new_instance(server)
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").list_regions(InstanceArn=inst.instance_arn)
    assert _code(err) == "ResourceNotFoundException"


def test_add_and_remove_regions(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    arn = inst.instance_arn
    assert admin.add_region(InstanceArn=arn, RegionName="eu-west-1")["Status"] == "ACTIVE"
    assert admin.add_region(InstanceArn=arn, RegionName="ap-south-1")["Status"] == "ACTIVE"
    eu = admin.describe_region(InstanceArn=arn, RegionName="eu-west-1")
    assert (eu["Status"], eu["IsPrimaryRegion"]) == ("ACTIVE", False)
    assert eu["AddedDate"] > admin.describe_instance(InstanceArn=arn)["CreatedDate"]
    names = [r["RegionName"] for r in admin.list_regions(InstanceArn=arn)["Regions"]]
    assert names == ["us-east-1", "ap-south-1", "eu-west-1"]  # the primary first
    paged = admin.get_paginator("list_regions").paginate(InstanceArn=arn, PaginationConfig={"PageSize": 1})
    assert [r["RegionName"] for page in paged for r in page["Regions"]] == names

    for region, code in (("eu-west-1", "ConflictException"), ("us-east-1", "ConflictException")):
        with pytest.raises(ClientError) as err:
            admin.add_region(InstanceArn=arn, RegionName=region)
        assert _code(err) == code
    with pytest.raises(ClientError) as err:
        admin.add_region(InstanceArn=arn, RegionName="xx-nowhere-9")  # matches the pattern, no such Region
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        admin.remove_region(InstanceArn=arn, RegionName="us-east-1")
    assert _code(err) == "ValidationException"
    assert "primary" in err.value.response["Error"]["Message"]

    # another account cannot touch the instance's Regions
    other = new_instance(server).client("sso-admin")
    for call in (other.add_region, other.remove_region):
        with pytest.raises(ClientError) as err:
            call(InstanceArn=arn, RegionName="eu-west-1")
        assert _code(err) == "ResourceNotFoundException"

    assert admin.remove_region(InstanceArn=arn, RegionName="eu-west-1")["Status"] == "REMOVING"
    with pytest.raises(ClientError) as err:
        admin.describe_region(InstanceArn=arn, RegionName="eu-west-1")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        admin.remove_region(InstanceArn=arn, RegionName="eu-west-1")
    assert _code(err) == "ResourceNotFoundException"
    assert [r["RegionName"] for r in admin.list_regions(InstanceArn=arn)["Regions"]] == ["us-east-1", "ap-south-1"]
