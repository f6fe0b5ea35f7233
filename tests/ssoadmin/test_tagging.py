"""sso-admin tags through boto3: instances, permission sets and applications; other accounts'."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance


def test_tags(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Tagged", Tags=[{"Key": "a", "Value": "1"}])[
        "PermissionSet"
    ]["PermissionSetArn"]
    app = admin.create_application(
        InstanceArn=inst.instance_arn,
        ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/custom-saml",
        Name="T",
    )["ApplicationArn"]
    assert admin.list_tags_for_resource(InstanceArn=inst.instance_arn, ResourceArn=ps)["Tags"] == [
        {"Key": "a", "Value": "1"}
    ]
    for arn in (inst.instance_arn, ps, app):
        admin.tag_resource(InstanceArn=inst.instance_arn, ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
        admin.tag_resource(InstanceArn=inst.instance_arn, ResourceArn=arn, Tags=[{"Key": "b", "Value": "3"}])
        tags = admin.list_tags_for_resource(InstanceArn=inst.instance_arn, ResourceArn=arn)["Tags"]
        assert {"Key": "b", "Value": "3"} in tags and {"Key": "b", "Value": "2"} not in tags
        admin.untag_resource(InstanceArn=inst.instance_arn, ResourceArn=arn, TagKeys=["b"])
        assert {"Key": "b", "Value": "3"} not in admin.list_tags_for_resource(
            InstanceArn=inst.instance_arn, ResourceArn=arn
        )["Tags"]
    with pytest.raises(ClientError) as err:
        admin.tag_resource(
            InstanceArn=inst.instance_arn, ResourceArn=ps, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
        )
    assert err.value.response["Error"]["Code"] == "ServiceQuotaExceededException"

    other = new_instance(server)
    for arn in (inst.instance_arn, ps, app):
        with pytest.raises(ClientError) as err:
            other.client("sso-admin").tag_resource(
                InstanceArn=other.instance_arn, ResourceArn=arn, Tags=[{"Key": "x", "Value": "y"}]
            )
        assert err.value.response["Error"]["Code"] in ("AccessDeniedException", "ResourceNotFoundException")
        with pytest.raises(ClientError) as err:
            other.client("sso-admin").list_tags_for_resource(ResourceArn=arn)
        # an application's ARN names its account (refused by the policy engine); the others are not found
        assert err.value.response["Error"]["Code"] in ("AccessDeniedException", "ResourceNotFoundException")
    assert {"Key": "x", "Value": "y"} not in admin.list_tags_for_resource(ResourceArn=app)["Tags"]
