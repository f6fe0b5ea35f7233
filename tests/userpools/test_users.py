"""Admin user management, ListUsers and groups through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool, outbox_code


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _attrs(user: dict[str, Any], key: str = "UserAttributes") -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in user[key]}


def test_admin_create_get_and_statuses(setup: PoolSetup) -> None:
    idp, pid = setup.idp, setup.pool_id
    created = idp.admin_create_user(
        UserPoolId=pid,
        Username="uma",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "uma@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Enabled"] is True
    got = idp.admin_get_user(UserPoolId=pid, Username="uma")
    attrs = _attrs(got)
    assert len(attrs["sub"]) == 36 and attrs["email"] == "uma@example.com"
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=pid, Username="uma", MessageAction="SUPPRESS")
    assert _err(exc) == ("UsernameExistsException", "User account already exists")
    idp.admin_set_user_password(UserPoolId=pid, Username="uma", Password=PASSWORD, Permanent=True)
    assert idp.admin_get_user(UserPoolId=pid, Username="uma")["UserStatus"] == "CONFIRMED"
    idp.admin_set_user_password(UserPoolId=pid, Username="uma", Password=PASSWORD, Permanent=False)
    assert idp.admin_get_user(UserPoolId=pid, Username="uma")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_password(UserPoolId=pid, Username="uma", Password="short", Permanent=True)
    assert _err(exc)[0] == "InvalidPasswordException"
    idp.admin_reset_user_password(UserPoolId=pid, Username="uma")
    assert idp.admin_get_user(UserPoolId=pid, Username="uma")["UserStatus"] == "RESET_REQUIRED"
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pid, Username="nobody")
    assert _err(exc) == ("UserNotFoundException", "User does not exist.")
    # the sub designates the user too
    assert idp.admin_get_user(UserPoolId=pid, Username=attrs["sub"])["Username"] == "uma"
    idp.admin_delete_user(UserPoolId=pid, Username="uma")
    with pytest.raises(ClientError):
        idp.admin_get_user(UserPoolId=pid, Username="uma")


def test_invitation_and_resend(dev_server: Server) -> None:
    s = make_pool(dev_server.client("cognito-idp"))
    s.idp.admin_create_user(
        UserPoolId=s.pool_id,
        Username="vic",
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "vic@example.com"}],
    )
    import httpx

    first = httpx.get(dev_server.url + "/_ostiary/outbox", params={"destination": "vic@example.com"}).json()
    body = first["messages"][0]["body"]
    assert "vic" in body and first["messages"][0]["purpose"] == "AdminCreateUser"
    temp = body.split("temporary password is ", 1)[1].rsplit(".", 1)[0]  # the template ends with ". "
    app = dev_server.client("cognito-idp")
    challenge = app.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "vic", "PASSWORD": temp}
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    s.idp.admin_create_user(
        UserPoolId=s.pool_id, Username="vic", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"]
    )
    again = httpx.get(dev_server.url + "/_ostiary/outbox", params={"destination": "vic@example.com"}).json()
    assert len(again["messages"]) == 2
    with pytest.raises(ClientError) as exc:
        s.idp.admin_create_user(UserPoolId=s.pool_id, Username="nobody", MessageAction="RESEND")
    assert _err(exc)[0] == "UserNotFoundException"


def test_enable_disable_confirm_and_attributes(setup: PoolSetup) -> None:
    idp, pid = setup.idp, setup.pool_id
    idp.admin_create_user(UserPoolId=pid, Username="walt", MessageAction="SUPPRESS")
    idp.admin_disable_user(UserPoolId=pid, Username="walt")
    assert idp.admin_get_user(UserPoolId=pid, Username="walt")["Enabled"] is False
    idp.admin_enable_user(UserPoolId=pid, Username="walt")
    with pytest.raises(ClientError) as exc:
        idp.admin_confirm_sign_up(UserPoolId=pid, Username="walt")
    assert _err(exc)[0] == "NotAuthorizedException"
    idp.admin_update_user_attributes(
        UserPoolId=pid,
        Username="walt",
        UserAttributes=[{"Name": "name", "Value": "Walt"}, {"Name": "phone_number", "Value": "+15555550100"}],
    )
    attrs = _attrs(idp.admin_get_user(UserPoolId=pid, Username="walt"))
    assert attrs["name"] == "Walt" and attrs["phone_number_verified"] == "false"
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(
            UserPoolId=pid, Username="walt", UserAttributes=[{"Name": "phone_number", "Value": "555"}]
        )
    assert _err(exc) == ("InvalidParameterException", "Invalid phone number format.")
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(
            UserPoolId=pid, Username="walt", UserAttributes=[{"Name": "sub", "Value": "x"}]
        )
    assert _err(exc)[0] == "InvalidParameterException"
    idp.admin_delete_user_attributes(UserPoolId=pid, Username="walt", UserAttributeNames=["name"])
    assert "name" not in _attrs(idp.admin_get_user(UserPoolId=pid, Username="walt"))
    idp.admin_set_user_settings(
        UserPoolId=pid, Username="walt", MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
    )
    assert idp.admin_get_user(UserPoolId=pid, Username="walt")["MFAOptions"][0]["DeliveryMedium"] == "SMS"


def test_unconfirmed_admin_confirm(setup: PoolSetup, server: Server) -> None:
    app = server.client("cognito-idp")
    app.sign_up(ClientId=setup.client_id, Username="xena", Password=PASSWORD)
    assert setup.idp.admin_get_user(UserPoolId=setup.pool_id, Username="xena")["UserStatus"] == "UNCONFIRMED"
    setup.idp.admin_confirm_sign_up(UserPoolId=setup.pool_id, Username="xena")
    assert setup.idp.admin_get_user(UserPoolId=setup.pool_id, Username="xena")["UserStatus"] == "CONFIRMED"


def test_aliases(server: Server, idp: Any) -> None:
    s = make_pool(idp, pool_args={"AliasAttributes": ["email", "preferred_username"]})
    create_confirmed_user(s, "yuri", email="yuri@example.com", email_verified="true", preferred_username="yu")
    app = server.client("cognito-idp")
    for login in ("yuri", "yuri@example.com", "YU"):
        r = app.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": login, "PASSWORD": PASSWORD},
        )
        assert r["AuthenticationResult"]["AccessToken"], login
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=s.pool_id, Username="zed@example.com", MessageAction="SUPPRESS")
    assert _err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        create_confirmed_user(s, "zed", email="yuri@example.com", email_verified="true")
    assert _err(exc)[0] == "AliasExistsException"


def test_case_insensitive_usernames(server: Server, idp: Any) -> None:
    s = make_pool(idp, pool_args={"UsernameConfiguration": {"CaseSensitive": False}})
    create_confirmed_user(s, "Amy")
    assert idp.admin_get_user(UserPoolId=s.pool_id, Username="amy")["Username"] == "Amy"
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=s.pool_id, Username="AMY", MessageAction="SUPPRESS")
    assert _err(exc)[0] == "UsernameExistsException"
    sensitive = make_pool(idp)
    create_confirmed_user(sensitive, "Amy")
    with pytest.raises(ClientError):
        idp.admin_get_user(UserPoolId=sensitive.pool_id, Username="amy")


def test_list_users_filters_and_pages(setup: PoolSetup) -> None:
    idp, pid = setup.idp, setup.pool_id
    for i in range(7):
        idp.admin_create_user(
            UserPoolId=pid,
            Username=f"list{i}",
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"l{i}@{'a' if i % 2 else 'b'}.example"}],
        )
    seen: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"UserPoolId": pid, "Limit": 3}
        if token:
            kwargs["PaginationToken"] = token
        page = idp.list_users(**kwargs)
        assert len(page["Users"]) <= 3
        seen += [u["Username"] for u in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            break
    assert sorted(seen) == [f"list{i}" for i in range(7)]
    exact = idp.list_users(UserPoolId=pid, Filter='email = "l3@a.example"')["Users"]
    assert [u["Username"] for u in exact] == ["list3"]
    prefix = idp.list_users(UserPoolId=pid, Filter='username ^= "list"', Limit=60)["Users"]
    assert len(prefix) == 7
    status = idp.list_users(UserPoolId=pid, Filter='cognito:user_status = "FORCE_CHANGE_PASSWORD"')["Users"]
    assert len(status) == 7
    only = idp.list_users(UserPoolId=pid, AttributesToGet=["email"], Limit=1)["Users"][0]
    assert {a["Name"] for a in only["Attributes"]} == {"email"}
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=pid, Filter="email ~~ nope")
    assert _err(exc)[0] == "InvalidParameterException"
    paginated = [
        u
        for page in idp.get_paginator("list_users").paginate(UserPoolId=pid, PaginationConfig={"PageSize": 2})
        for u in page["Users"]
    ]
    assert len(paginated) == 7


def test_groups(setup: PoolSetup) -> None:
    idp, pid = setup.idp, setup.pool_id
    g = idp.create_group(
        UserPoolId=pid, GroupName="staff", Description="d", Precedence=3, RoleArn="arn:aws:iam::123456789012:role/staff"
    )["Group"]
    assert g["GroupName"] == "staff" and g["Precedence"] == 3 and "CreationDate" in g
    with pytest.raises(ClientError) as exc:
        idp.create_group(UserPoolId=pid, GroupName="staff")
    assert _err(exc)[0] == "GroupExistsException"
    for name in ("a", "b", "c"):
        idp.create_group(UserPoolId=pid, GroupName=name)
    page = idp.list_groups(UserPoolId=pid, Limit=2)
    rest = idp.list_groups(UserPoolId=pid, Limit=2, NextToken=page["NextToken"])
    assert [x["GroupName"] for x in page["Groups"] + rest["Groups"]] == ["a", "b", "c", "staff"]
    updated = idp.update_group(UserPoolId=pid, GroupName="staff", Precedence=1)["Group"]
    assert updated["Precedence"] == 1 and updated["Description"] == "d"
    create_confirmed_user(setup, "bea")
    idp.admin_add_user_to_group(UserPoolId=pid, Username="bea", GroupName="staff")
    idp.admin_add_user_to_group(UserPoolId=pid, Username="bea", GroupName="a")
    assert [x["GroupName"] for x in idp.admin_list_groups_for_user(UserPoolId=pid, Username="bea")["Groups"]] == [
        "a",
        "staff",
    ]
    assert [u["Username"] for u in idp.list_users_in_group(UserPoolId=pid, GroupName="staff")["Users"]] == ["bea"]
    idp.admin_remove_user_from_group(UserPoolId=pid, Username="bea", GroupName="a")
    assert [x["GroupName"] for x in idp.admin_list_groups_for_user(UserPoolId=pid, Username="bea")["Groups"]] == [
        "staff"
    ]
    idp.delete_group(UserPoolId=pid, GroupName="staff")
    with pytest.raises(ClientError) as exc:
        idp.get_group(UserPoolId=pid, GroupName="staff")
    assert _err(exc) == ("ResourceNotFoundException", "Group not found.")
    assert idp.admin_list_groups_for_user(UserPoolId=pid, Username="bea")["Groups"] == []


def test_admin_user_global_sign_out(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "cal")
    app = server.client("cognito-idp")
    tokens = app.initiate_auth(
        ClientId=setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "cal", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert app.get_user(AccessToken=tokens["AccessToken"])["Username"] == "cal"  # verified and remembered
    setup.idp.admin_user_global_sign_out(UserPoolId=setup.pool_id, Username="cal")
    with pytest.raises(ClientError) as exc:
        app.get_user(AccessToken=tokens["AccessToken"])
    assert _err(exc) == ("NotAuthorizedException", "Access Token has been revoked")


def test_refresh_token_rotation(server: Server, idp: Any) -> None:
    s = make_pool(idp, client_args={"RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}})
    create_confirmed_user(s, "dora")
    app = server.client("cognito-idp")
    first = app.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "dora", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    rotated = app.get_tokens_from_refresh_token(RefreshToken=first["RefreshToken"], ClientId=s.client_id)[
        "AuthenticationResult"
    ]
    assert rotated["RefreshToken"] != first["RefreshToken"] and rotated["AccessToken"]
    again = app.get_tokens_from_refresh_token(RefreshToken=rotated["RefreshToken"], ClientId=s.client_id)[
        "AuthenticationResult"
    ]
    assert again["RefreshToken"] != rotated["RefreshToken"]
    with pytest.raises(ClientError) as exc:  # two rotations back: no longer valid
        app.get_tokens_from_refresh_token(RefreshToken=first["RefreshToken"], ClientId=s.client_id)
    assert _err(exc)[0] == "NotAuthorizedException"


def test_outbox_helper_reads_codes(dev_server: Server) -> None:
    s = make_pool(dev_server.client("cognito-idp"))
    create_confirmed_user(s, "eve", email="eve@example.com", email_verified="true")
    dev_server.client("cognito-idp").forgot_password(ClientId=s.client_id, Username="eve")
    assert len(outbox_code(dev_server, "eve@example.com")) == 6
