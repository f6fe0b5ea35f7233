"""IAM account settings through boto3: aliases (unique across accounts), the password policy,
GetAccountSummary's counts; GetAccessKeyLastUsed and the recording of a key's last use."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, create_account, make_client


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def second_account(server: Server) -> Any:
    """An IAM client of another account on the same server (created with `ostiary accounts create`)."""
    return make_client(server.url, "iam", **create_account(server, "alias-rival"))


def test_account_alias(server: Server, second_account: Any) -> None:
    iam = server.client("iam")
    assert iam.list_account_aliases()["AccountAliases"] == []
    for bad in ("-leading", "trailing-", "Upper", "double--hyphen"):
        with pytest.raises(ClientError) as exc:
            iam.create_account_alias(AccountAlias=bad)
        assert _err(exc)[0] in ("ValidationError", "InvalidInput"), bad
    iam.create_account_alias(AccountAlias="ostiary-test-1")
    assert iam.list_account_aliases()["AccountAliases"] == ["ostiary-test-1"]
    with pytest.raises(ClientError) as exc:
        second_account.create_account_alias(AccountAlias="ostiary-test-1")
    assert _err(exc)[0] == "EntityAlreadyExists" and _err(exc)[2] == 409
    iam.create_account_alias(AccountAlias="ostiary-test-1")  # the account's own alias again: fine
    with pytest.raises(ClientError) as exc:
        iam.delete_account_alias(AccountAlias="not-mine")
    assert _err(exc)[0] == "NoSuchEntity"
    iam.delete_account_alias(AccountAlias="ostiary-test-1")
    assert iam.list_account_aliases()["AccountAliases"] == []
    second_account.create_account_alias(AccountAlias="ostiary-test-1")  # free again
    assert second_account.list_account_aliases()["AccountAliases"] == ["ostiary-test-1"]
    second_account.delete_account_alias(AccountAlias="ostiary-test-1")


def test_password_policy(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.get_account_password_policy()
    assert _err(exc)[:3] == (
        "NoSuchEntity",
        "The Password Policy with domain name 123456789012 cannot be found.",
        404,
    )
    iam.update_account_password_policy(
        MinimumPasswordLength=12, RequireSymbols=True, RequireNumbers=True, MaxPasswordAge=90, PasswordReusePrevention=3
    )
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy == {
        "MinimumPasswordLength": 12,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "ExpirePasswords": True,
        "MaxPasswordAge": 90,
        "PasswordReusePrevention": 3,
        "HardExpiry": False,
    }
    iam.update_account_password_policy(RequireUppercaseCharacters=True)  # no partial update: the rest resets
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 6 and policy["RequireUppercaseCharacters"] is True
    assert policy["RequireSymbols"] is False and policy["ExpirePasswords"] is False and "MaxPasswordAge" not in policy
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as exc:
        iam.delete_account_password_policy()
    assert _err(exc)[0] == "NoSuchEntity"


def test_account_summary_counts(server: Server) -> None:
    iam = server.client("iam")
    before = iam.get_account_summary()["SummaryMap"]
    assert before["UsersQuota"] == 5000 and before["AccessKeysPerUserQuota"] == 2
    assert before["AccountAccessKeysPresent"] == 1 and before["AccountMFAEnabled"] == 0
    iam.create_user(UserName="summary-user")
    iam.create_group(GroupName="summary-group")
    iam.create_instance_profile(InstanceProfileName="summary-ip")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["Groups"] == before["Groups"] + 1
    assert after["InstanceProfiles"] == before["InstanceProfiles"] + 1
    for key in ("Roles", "Policies", "MFADevices", "MFADevicesInUse", "Providers", "RolesQuota"):
        assert isinstance(after[key], int)
    iam.delete_instance_profile(InstanceProfileName="summary-ip")
    iam.delete_group(GroupName="summary-group")
    iam.delete_user(UserName="summary-user")


def _last_used(iam: Any, akid: str) -> dict[str, Any]:
    result: dict[str, Any] = iam.get_access_key_last_used(AccessKeyId=akid)
    return result


def _settled(server: Server, iam: Any, marker: dict[str, Any]) -> None:
    """Sign a call with the fresh key ``marker`` and wait until its use is recorded: one background
    writer records uses in the order they are noted, so every use noted earlier is written by then."""
    creds = {"aws_access_key_id": marker["AccessKeyId"], "aws_secret_access_key": marker["SecretAccessKey"]}
    make_client(server.url, "sts", **creds).get_caller_identity()
    deadline = time.monotonic() + 10
    while "LastUsedDate" not in _last_used(iam, marker["AccessKeyId"])["AccessKeyLastUsed"]:
        assert time.monotonic() < deadline, "the marker key's use was never recorded"
        time.sleep(0.05)


def test_access_key_last_used(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="keyuser")
    key = iam.create_access_key(UserName="keyuser")["AccessKey"]
    fresh = _last_used(iam, key["AccessKeyId"])
    assert fresh["UserName"] == "keyuser"
    assert fresh["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}

    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    make_client(server.url, "sts", region_name="eu-west-1", **creds).get_caller_identity()
    deadline = time.monotonic() + 10
    used = fresh["AccessKeyLastUsed"]
    while time.monotonic() < deadline and "LastUsedDate" not in used:
        time.sleep(0.05)
        used = _last_used(iam, key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "sts" and used["Region"] == "eu-west-1" and "LastUsedDate" in used

    # recorded at most once a minute per key and process: a second use right away is not written
    iam.create_user(UserName="keyuser-marker")
    markers = [iam.create_access_key(UserName="keyuser-marker")["AccessKey"] for _ in range(2)]
    with pytest.raises(ClientError):
        make_client(server.url, "iam", **creds).list_users()  # denied, but the signature verified
    _settled(server, iam, markers[0])
    assert _last_used(iam, key["AccessKeyId"])["AccessKeyLastUsed"] == used

    # a bad signature is not a use
    other = iam.create_access_key(UserName="keyuser")["AccessKey"]
    with pytest.raises(ClientError):
        make_client(
            server.url, "sts", aws_access_key_id=other["AccessKeyId"], aws_secret_access_key="wrong" * 8
        ).get_caller_identity()
    _settled(server, iam, markers[1])
    assert _last_used(iam, other["AccessKeyId"])["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}

    with pytest.raises(ClientError) as exc:
        iam.get_access_key_last_used(AccessKeyId="AKIANOSUCHKEY0000000")
    assert _err(exc)[0] == "NoSuchEntity"
    for k in (key, other):
        iam.delete_access_key(UserName="keyuser", AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName="keyuser")
    for k in markers:
        iam.delete_access_key(UserName="keyuser-marker", AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName="keyuser-marker")
