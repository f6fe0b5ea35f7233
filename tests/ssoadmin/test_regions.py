"""sso-admin Regions: an instance is served in the server's Region, its primary one."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance


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
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    other = new_instance(server)
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").list_regions(InstanceArn=inst.instance_arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
