"""Point-in-time recovery of user pools with boto3: the preview's counts, writes paused while a
recovery is in progress (OperationNotEnabledException; sign-in goes on), the restore (users,
attributes, groups, memberships back as they were; a password changed since kept), Cancel, Describe
and List with AWS's statuses, and the recovery point's checks. The server accepts a recovery point
younger than AWS's 15 minutes (recovery_min_age_seconds = 0), so a test need not wait."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.oauth.conftest import CALLBACK, form_fields, make_hosted

PASSWORD = "Corr3ct-Horse!"
NEW_PASSWORD = "N3w-Battery-Staple!"


@pytest.fixture(scope="module")
def recovering(server_factory: Any) -> Server:
    srv: Server = server_factory(env={"OSTIARY_RECOVERY_MIN_AGE_SECONDS": "0"})
    return srv


@pytest.fixture
def idp(recovering: Server) -> Any:
    return recovering.client("cognito-idp")


@pytest.fixture
def pool_id(idp: Any) -> Iterator[str]:
    made = idp.create_user_pool(PoolName="pitr-" + secrets.token_hex(3))["UserPool"]["Id"]
    yield made
    with contextlib.suppress(ClientError):
        idp.delete_user_pool(UserPoolId=made)


def _user(idp: Any, pool_id: str, username: str, **attrs: str) -> None:
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()],
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)


def _point() -> dt.datetime:
    """A recovery point between the changes before it and those after it."""
    time.sleep(0.01)
    point = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    return point


def _counts(restoration: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {p["Entity"]: (p["CreateCount"], p["UpdateCount"], p["DeleteCount"]) for p in restoration["RestorePreview"]}


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _attrs(idp: Any, pool_id: str, name: str) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"]}


def test_preview_pause_and_restore(idp: Any, pool_id: str) -> None:
    _user(idp, pool_id, "ada", email="ada@example.com", name="Ada")
    _user(idp, pool_id, "bob", email="bob@example.com", name="Bob")
    idp.create_group(UserPoolId=pool_id, GroupName="staff")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="ada", GroupName="staff")
    point = _point()
    # after the point: ada deleted (and her membership), bob renamed with a new password, cy and a group made
    idp.admin_delete_user(UserPoolId=pool_id, Username="ada")
    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username="bob", UserAttributes=[{"Name": "name", "Value": "Robert"}]
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username="bob", Password=NEW_PASSWORD, Permanent=True)
    _user(idp, pool_id, "cy")
    idp.create_group(UserPoolId=pool_id, GroupName="later")

    started = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert started["RestoreStatus"] == "PREVIEW_GENERATED"
    assert abs((started["RestoreTimestamp"] - point).total_seconds()) < 0.01
    assert started["TriggerTimestamp"] > point
    assert _counts(started) == {
        "Users": (1, 1, 1),
        "Groups": (0, 0, 1),
        "User MFAs": (0, 0, 0),
        "Passkeys": (0, 0, 0),
    }
    restore_id = started["RestoreId"]

    # writes of user data are paused; reads and sign-in go on
    with pytest.raises(ClientError) as err:
        idp.admin_create_user(UserPoolId=pool_id, Username="dee", MessageAction="SUPPRESS")
    assert _code(err) == "OperationNotEnabledException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        idp.create_group(UserPoolId=pool_id, GroupName="more")
    assert _code(err) == "OperationNotEnabledException"
    assert _attrs(idp, pool_id, "bob")["name"] == "Robert"
    signed = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bob", "PASSWORD": NEW_PASSWORD},
    )
    assert "AccessToken" in signed["AuthenticationResult"]
    # one recovery at a time
    with pytest.raises(ClientError) as err:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)
    assert _code(err) == "ConcurrentModificationException"

    done = idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert done["RestoreStatus"] == "RESTORE_COMPLETED"
    names = {u["Username"] for u in idp.list_users(UserPoolId=pool_id)["Users"]}
    assert names == {"ada", "bob"}
    assert _attrs(idp, pool_id, "ada")["name"] == "Ada"
    assert _attrs(idp, pool_id, "bob")["name"] == "Bob"
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="ada")["Groups"]
    assert [g["GroupName"] for g in groups] == ["staff"]
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"]} == {"staff"}
    # bob keeps the password he set after the recovery point; ada signs in with hers
    for name, password in (("bob", NEW_PASSWORD), ("ada", PASSWORD)):
        idp.admin_initiate_auth(
            UserPoolId=pool_id,
            ClientId=signed_client(idp, pool_id),
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": password},
        )
    # writes resume
    _user(idp, pool_id, "dee")

    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert described["RestoreStatus"] == "RESTORE_COMPLETED"
    assert _counts(described) == _counts(started)
    listed = idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"]
    assert [(r["RestoreId"], r["RestoreStatus"]) for r in listed] == [(restore_id, "RESTORE_COMPLETED")]
    assert "RestorePreview" not in listed[0]
    with pytest.raises(ClientError) as err:  # not twice
        idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    assert _code(err) == "InvalidParameterException"


def signed_client(idp: Any, pool_id: str) -> str:
    return str(idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=1)["UserPoolClients"][0]["ClientId"])


def test_cancel_resumes_writes_and_changes_nothing(idp: Any, pool_id: str) -> None:
    _user(idp, pool_id, "ada")
    point = _point()
    _user(idp, pool_id, "bob")
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert _counts(restoration)["Users"] == (0, 0, 1)
    cancelled = idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert cancelled["Restoration"]["RestoreStatus"] == "PREVIEW_CANCELLED"
    _user(idp, pool_id, "cy")
    assert {u["Username"] for u in idp.list_users(UserPoolId=pool_id)["Users"]} == {"ada", "bob", "cy"}
    for call in (idp.start_point_in_time_recovery, idp.cancel_point_in_time_recovery):
        with pytest.raises(ClientError) as err:
            call(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
        assert _code(err) == "InvalidParameterException"
    # a second recovery, listed first
    second = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    page = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1)
    assert [r["RestoreId"] for r in page["Restorations"]] == [second["RestoreId"]]
    rest = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1, NextToken=page["NextToken"])
    assert [r["RestoreStatus"] for r in rest["Restorations"]] == ["PREVIEW_CANCELLED"]
    assert "NextToken" not in rest
    idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=second["RestoreId"])


def test_recovery_point_and_feature_plan(idp: Any, pool_id: str) -> None:
    now = dt.datetime.now(dt.UTC)
    for point in (now + dt.timedelta(minutes=5), now - dt.timedelta(days=2), now - dt.timedelta(hours=1)):
        # future; past the Essentials plan's day; before the pool was made
        with pytest.raises(ClientError) as err:
            idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)
        assert _code(err) == "InvalidParameterException"
    missing = "12345678-1234-1234-1234-123456789012"
    with pytest.raises(ClientError) as err:
        idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=missing)
    assert _code(err) == "ResourceNotFoundException"
    assert idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"] == []
    lite = idp.create_user_pool(PoolName="lite-" + secrets.token_hex(3), UserPoolTier="LITE")["UserPool"]["Id"]
    try:
        with pytest.raises(ClientError) as err:
            idp.initiate_point_in_time_recovery(UserPoolId=lite, RestoreTimestamp=_point())
        assert _code(err) == "FeatureUnavailableInTierException"
    finally:
        idp.delete_user_pool(UserPoolId=lite)


def test_passkeys_mfa_counted(idp: Any, pool_id: str) -> None:
    """MFA settings changed since the point are counted as User MFAs and restored."""
    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        MfaConfiguration="OPTIONAL",
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/sms"}},
    )
    _user(idp, pool_id, "ada", phone_number="+15555550100", phone_number_verified="true")
    point = _point()
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username="ada", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert _counts(restoration)["User MFAs"] == (0, 1, 0)
    idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert not idp.admin_get_user(UserPoolId=pool_id, Username="ada").get("UserMFASettingList")


def test_sign_in_goes_on_but_not_a_new_password(idp: Any, pool_id: str) -> None:
    """While a recovery is in progress a user signs in, but can't answer NEW_PASSWORD_REQUIRED (it writes)."""
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ada", TemporaryPassword=PASSWORD, MessageAction="SUPPRESS")
    point = _point()
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert _counts(restoration)["Users"] == (0, 0, 0)
    challenge = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": PASSWORD},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answer = {
        "UserPoolId": pool_id,
        "ClientId": client_id,
        "ChallengeName": "NEW_PASSWORD_REQUIRED",
        "Session": challenge["Session"],
        "ChallengeResponses": {"USERNAME": "ada", "NEW_PASSWORD": NEW_PASSWORD},
    }
    with pytest.raises(ClientError) as err:
        idp.admin_respond_to_auth_challenge(**answer)
    assert _code(err) == "OperationNotEnabledException"
    idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert "AuthenticationResult" in idp.admin_respond_to_auth_challenge(**answer)


def test_imported_users_are_journaled_and_imports_paused(idp: Any, pool_id: str) -> None:
    """Users a CSV import wrote after the point (the import's bulk path: COPY on PostgreSQL) are deleted
    by the recovery; an import can't be created while a recovery is in progress."""
    role = "arn:aws:iam::123456789012:role/CognitoImport"
    point = _point()
    header = idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]
    rows = [{"cognito:username": f"imp{i}", "cognito:mfa_enabled": "false"} for i in range(3)]
    body = ",".join(header) + "\n" + "".join(",".join(r.get(h, "") for h in header) + "\n" for r in rows)
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="rows", CloudWatchLogsRoleArn=role)["UserImportJob"]
    httpx.put(job["PreSignedUrl"], content=body.encode()).raise_for_status()
    idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    deadline = time.monotonic() + 120
    while (
        idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]["Status"] != "Succeeded"
    ):
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.2)
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert _counts(restoration)["Users"] == (0, 0, 3)
    with pytest.raises(ClientError) as err:
        idp.create_user_import_job(UserPoolId=pool_id, JobName="more", CloudWatchLogsRoleArn=role)
    assert _code(err) == "OperationNotEnabledException"
    idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert idp.list_users(UserPoolId=pool_id)["Users"] == []


def test_hosted_sign_up_is_paused_too(recovering: Server) -> None:
    """The hosted UI calls the service functions without the dispatcher: its sign-up is refused too."""
    h = make_hosted(recovering)
    try:
        point = _point()
        restoration = h.idp.initiate_point_in_time_recovery(UserPoolId=h.pool_id, RestoreTimestamp=point)
        params = {"client_id": h.client_id, "response_type": "code", "redirect_uri": CALLBACK}
        with httpx.Client() as web:
            page = web.get(f"{h.base}/signup", params=params)
            assert page.status_code == 200, page.text[:500]
            action = re.search(r'<form method="post" action="([^"]+)"', page.text)
            assert action is not None
            fields = form_fields(page.text)
            fields.update(username="web-user", password=PASSWORD, email="web@example.com")
            done = web.post(recovering.url + action.group(1).replace("&amp;", "&"), data=fields)
        assert done.status_code == 400
        assert "point-in-time recovery is in progress" in done.text
        h.idp.cancel_point_in_time_recovery(UserPoolId=h.pool_id, RestoreId=restoration["Restoration"]["RestoreId"])
        assert h.idp.list_users(UserPoolId=h.pool_id)["Users"] == []
    finally:
        h.idp.delete_user_pool_domain(Domain=h.domain, UserPoolId=h.pool_id)
        h.idp.delete_user_pool(UserPoolId=h.pool_id)
