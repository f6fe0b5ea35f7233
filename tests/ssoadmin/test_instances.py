"""sso-admin instances through boto3: create (one per account), describe, list, update, delete."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance


def test_instance_lifecycle(server: Server) -> None:
    inst = new_instance(server, "first")
    admin = inst.client("sso-admin")
    assert re.fullmatch(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}", inst.instance_arn)
    assert re.fullmatch(r"d-[0-9a-f]{10}", inst.identity_store_id)
    described = admin.describe_instance(InstanceArn=inst.instance_arn)
    assert described["Name"] == "first" and described["Status"] == "ACTIVE"
    assert re.fullmatch(r"\d{12}", described["OwnerAccountId"])
    listed = admin.list_instances()["Instances"]
    assert [i["InstanceArn"] for i in listed] == [inst.instance_arn]
    assert listed[0]["IdentityStoreId"] == inst.identity_store_id

    with pytest.raises(ClientError) as err:
        admin.create_instance(Name="second")
    assert err.value.response["Error"]["Code"] == "ConflictException"

    admin.update_instance(InstanceArn=inst.instance_arn, Name="renamed")
    assert admin.describe_instance(InstanceArn=inst.instance_arn)["Name"] == "renamed"

    admin.delete_instance(InstanceArn=inst.instance_arn)
    assert admin.list_instances()["Instances"] == []
    with pytest.raises(ClientError) as err:
        admin.describe_instance(InstanceArn=inst.instance_arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # after the delete, the account may create a new one
    assert admin.create_instance(Name="again")["InstanceArn"] != inst.instance_arn


def test_other_accounts_instance_is_not_found(server: Server) -> None:
    mine = new_instance(server)
    theirs = new_instance(server)
    with pytest.raises(ClientError) as err:
        mine.client("sso-admin").describe_instance(InstanceArn=theirs.instance_arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
