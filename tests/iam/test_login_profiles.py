"""IAM login profiles and ChangePassword through boto3 (password policy, the user's own call), and
UpdateUser renaming a user with everything that refers to it."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, flush_caches, make_client

GOOD = "Correct-Horse-9"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _as(server: Server, iam: Any, user: str, service: str = "iam") -> Any:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return make_client(
        server.url, service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _cleanup(iam: Any, user: str) -> None:
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
        iam.delete_user_policy(UserName=user, PolicyName=name)
    with contextlib.suppress(ClientError):
        iam.delete_login_profile(UserName=user)
    iam.delete_user(UserName=user)


def test_login_profile_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="lp-user")
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile(UserName="lp-user")
    assert _err(exc)[:3] == ("NoSuchEntity", "Login Profile for User lp-user cannot be found.", 404)
    with pytest.raises(ClientError) as exc:  # no account policy: IAM's default one (8+, three kinds)
        iam.create_login_profile(UserName="lp-user", Password="short1A")
    assert _err(exc)[0] == "PasswordPolicyViolation"
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="lp-user", Password="alllowercaseletters")
    assert _err(exc)[0] == "PasswordPolicyViolation"
    profile = iam.create_login_profile(UserName="lp-user", Password=GOOD, PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == "lp-user" and profile["PasswordResetRequired"] is True
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="lp-user", Password=GOOD)
    assert _err(exc)[0] == "EntityAlreadyExists"
    assert iam.get_login_profile(UserName="lp-user")["LoginProfile"]["PasswordResetRequired"] is True
    iam.update_login_profile(UserName="lp-user", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="lp-user")["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="lp-user")
    assert _err(exc)[:2] == ("DeleteConflict", "Cannot delete entity, must delete login profile first.")
    iam.delete_login_profile(UserName="lp-user")
    with pytest.raises(ClientError) as exc:
        iam.delete_login_profile(UserName="lp-user")
    assert _err(exc)[0] == "NoSuchEntity"
    iam.delete_user(UserName="lp-user")
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName="lp-nobody", Password=GOOD)
    assert _err(exc)[0] == "NoSuchEntity"


def test_password_policy_applies_to_login_profiles(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="lp-policy")
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True)
    try:
        with pytest.raises(ClientError) as exc:
            iam.create_login_profile(UserName="lp-policy", Password="abcdefghijklmnop")
        code, message, status = _err(exc)
        assert code == "PasswordPolicyViolation" and status == 400
        assert "symbol" in message and "number" in message
        iam.create_login_profile(UserName="lp-policy", Password="abcdefghijklm#7")
        with pytest.raises(ClientError) as exc:
            iam.update_login_profile(UserName="lp-policy", Password="short#7")
        assert _err(exc)[0] == "PasswordPolicyViolation"
        iam.update_login_profile(UserName="lp-policy", Password="zyxwvutsrqpon#8")
    finally:
        iam.delete_account_password_policy()
        _cleanup(iam, "lp-policy")


def test_change_password(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="lp-changer")
    iam.create_login_profile(UserName="lp-changer", Password=GOOD, PasswordResetRequired=True)
    me = _as(server, iam, "lp-changer")
    # without AllowUsersToChangePassword the user needs iam:ChangePassword
    with pytest.raises(ClientError) as exc:
        me.change_password(OldPassword=GOOD, NewPassword="Battery-Staple-7")
    assert _err(exc)[0] == "AccessDenied"
    iam.update_account_password_policy(MinimumPasswordLength=10, AllowUsersToChangePassword=True)
    try:
        with pytest.raises(ClientError) as exc:
            me.change_password(OldPassword="Wrong-Password-1", NewPassword="Battery-Staple-7")
        assert _err(exc)[0] == "AccessDenied"
        with pytest.raises(ClientError) as exc:
            me.change_password(OldPassword=GOOD, NewPassword="short")
        assert _err(exc)[0] == "PasswordPolicyViolation"
        me.change_password(OldPassword=GOOD, NewPassword="Battery-Staple-7")
        assert iam.get_login_profile(UserName="lp-changer")["LoginProfile"]["PasswordResetRequired"] is False
        with pytest.raises(ClientError) as exc:  # the old password no longer works
            me.change_password(OldPassword=GOOD, NewPassword="Another-Pass-8")
        assert _err(exc)[0] == "AccessDenied"
        me.change_password(OldPassword="Battery-Staple-7", NewPassword="Another-Pass-8")
    finally:
        iam.delete_account_password_policy()
    # with an IAM policy instead of the password policy's permission
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"}]}
    iam.put_user_policy(UserName="lp-changer", PolicyName="pw", PolicyDocument=json.dumps(doc))
    me.change_password(OldPassword="Another-Pass-8", NewPassword="Fourth-Pass-9")
    # the account root is not an IAM user
    with pytest.raises(ClientError) as exc:
        iam.change_password(OldPassword="x", NewPassword="y")
    assert _err(exc)[0] == "InvalidUserType"
    _cleanup(iam, "lp-changer")


def test_update_user_renames_everything(dev_server: Server) -> None:
    server = dev_server  # --dev: its caches are flushed instead of waited out
    iam = server.client("iam")
    iam.create_user(UserName="before-name", Path="/old/")
    iam.create_group(GroupName="rename-group")
    iam.add_user_to_group(GroupName="rename-group", UserName="before-name")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}
    iam.put_user_policy(UserName="before-name", PolicyName="inline", PolicyDocument=json.dumps(doc))
    iam.attach_user_policy(UserName="before-name", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.create_login_profile(UserName="before-name", Password=GOOD)
    key = iam.create_access_key(UserName="before-name")["AccessKey"]
    iam.create_user(UserName="taken-name")
    with pytest.raises(ClientError) as exc:
        iam.update_user(UserName="before-name", NewUserName="TAKEN-NAME")
    assert _err(exc)[0] == "EntityAlreadyExists"
    with pytest.raises(ClientError) as exc:
        iam.update_user(UserName="no-such-user", NewUserName="whatever")
    assert _err(exc)[0] == "NoSuchEntity"

    iam.update_user(UserName="before-name", NewUserName="after-name", NewPath="/new/")
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName="before-name")
    assert _err(exc)[0] == "NoSuchEntity"
    user = iam.get_user(UserName="after-name")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/new/after-name"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="after-name")["AccessKeyMetadata"]] == [
        key["AccessKeyId"]
    ]
    assert iam.list_user_policies(UserName="after-name")["PolicyNames"] == ["inline"]
    attached = iam.list_attached_user_policies(UserName="after-name")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["IAMReadOnlyAccess"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="after-name")["Groups"]] == ["rename-group"]
    assert iam.get_login_profile(UserName="after-name")["LoginProfile"]["UserName"] == "after-name"
    assert iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["UserName"] == "after-name"
    # the key signs as the renamed user (once the credential cache's few seconds are over)
    sts = make_client(
        server.url, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    flush_caches(server)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/new/after-name"

    iam.update_user(UserName="after-name", NewUserName="After-Name")  # a change of case only
    assert iam.get_user(UserName="after-name")["User"]["UserName"] == "After-Name"

    iam.remove_user_from_group(GroupName="rename-group", UserName="After-Name")
    iam.delete_group(GroupName="rename-group")
    iam.detach_user_policy(UserName="After-Name", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    _cleanup(iam, "After-Name")
    iam.delete_user(UserName="taken-name")
