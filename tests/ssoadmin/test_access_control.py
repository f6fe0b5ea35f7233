"""Attributes for access control through boto3, and ``access_control.session_tags`` for a user the
identity store's API created."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from ostiary.ssoadmin.access_control import session_tags
from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance


def _attributes(**sources: str) -> dict[str, list[dict[str, object]]]:
    return {"AccessControlAttributes": [{"Key": k, "Value": {"Source": [v]}} for k, v in sources.items()]}


def _tags(server: Server, instance_arn: str, user_id: str) -> dict[str, str]:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return session_tags(conn, instance_arn, user_id)
    finally:
        engine.dispose()


def test_configuration_and_session_tags(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    ids = {"InstanceArn": inst.instance_arn}
    with pytest.raises(ClientError) as err:
        admin.describe_instance_access_control_attribute_configuration(**ids)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"

    store = inst.client("identitystore")
    user = store.create_user(
        IdentityStoreId=inst.identity_store_id,
        UserName="jane",
        DisplayName="Jane Doe",
        Name={"GivenName": "Jane", "FamilyName": "Doe"},
        Emails=[{"Value": "jane@example.com", "Type": "work", "Primary": True}],
        Extensions={"aws:identitystore:enterprise": {"department": "Engineering", "costCenter": "42"}},
    )["UserId"]
    config = _attributes(
        user="${path:userName}",
        given="${path:name.givenName}",
        email="${path:emails[primary eq true].value}",
        dept="${path:enterprise.department}",
        division="${path:enterprise.division}",
    )
    admin.create_instance_access_control_attribute_configuration(
        **ids, InstanceAccessControlAttributeConfiguration=config
    )
    described = admin.describe_instance_access_control_attribute_configuration(**ids)
    assert described["Status"] == "ENABLED"
    assert described["InstanceAccessControlAttributeConfiguration"] == config
    assert _tags(server, inst.instance_arn, user) == {
        "user": "jane",
        "given": "Jane",
        "email": "jane@example.com",
        "dept": "Engineering",
    }
    with pytest.raises(ClientError) as err:
        admin.create_instance_access_control_attribute_configuration(
            **ids, InstanceAccessControlAttributeConfiguration=config
        )
    assert err.value.response["Error"]["Code"] == "ConflictException"
    for bad in ("${path:password}", "${dir:department}", "plain", "${path:name.nothing}"):
        with pytest.raises(ClientError) as err:
            admin.update_instance_access_control_attribute_configuration(
                **ids, InstanceAccessControlAttributeConfiguration=_attributes(x=bad)
            )
        assert err.value.response["Error"]["Code"] == "ValidationException", bad

    admin.update_instance_access_control_attribute_configuration(
        **ids, InstanceAccessControlAttributeConfiguration=_attributes(cc="${path:enterprise.costCenter}")
    )
    assert _tags(server, inst.instance_arn, user) == {"cc": "42"}
    # another instance's configuration and users are not this one's
    other = new_instance(server)
    assert _tags(server, other.instance_arn, user) == {}
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").delete_instance_access_control_attribute_configuration(InstanceArn=inst.instance_arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"

    admin.delete_instance_access_control_attribute_configuration(**ids)
    assert _tags(server, inst.instance_arn, user) == {}
