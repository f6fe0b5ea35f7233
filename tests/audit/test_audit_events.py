"""Audit events (issue 12 item 7, review F7): every security-relevant state change is one row of
audit_events, read with CloudTrail's LookupEvents (boto3) and `ostiary events` (the CLI).

One server for the module (its own database, so the table holds only what these tests did). The
lockout test retries a sign-in until the 1-second lock has passed: a retry, not a timed assertion.
Under xdist each worker starts its own server for the module; every test stands alone.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from typing import Any

import httpx
import pyotp
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, select

from ostiary.store import tables as t
from tests.conftest import ACCOUNT_ID, Server
from tests.identitypools.conftest import wire
from tests.oauth.conftest import CALLBACK, add_user, form_fields, make_hosted, sign_in_over_http

PASSWORD = "Corr3ct-Horse-Battery!"
WRONG = "Wr0ng-Password-Guess!"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)

# everything secret the tests hand to the server or get back: none may be in any event
SECRETS: list[str] = [PASSWORD, WRONG]


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    server: Server = server_factory()
    return server


@pytest.fixture(scope="module")
def trail(srv: Server) -> Any:
    return srv.client("cloudtrail")


@pytest.fixture(scope="module")
def idp(srv: Server) -> Any:
    return srv.client("cognito-idp")


@pytest.fixture(scope="module")
def signin_pool(idp: Any) -> dict[str, str]:
    pool = idp.create_user_pool(
        PoolName="audit-" + secrets.token_hex(3), MfaConfiguration="OFF", AutoVerifiedAttributes=["email"]
    )["UserPool"]
    idp.set_user_pool_mfa_config(
        UserPoolId=pool["Id"], MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return {"pool": pool["Id"], "client": client["ClientId"]}


def _user(idp: Any, p: dict[str, str], name: str) -> str:
    idp.admin_create_user(
        UserPoolId=p["pool"],
        Username=name,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    idp.admin_set_user_password(UserPoolId=p["pool"], Username=name, Password=PASSWORD, Permanent=True)
    sub = idp.admin_get_user(UserPoolId=p["pool"], Username=name)["UserAttributes"]
    return next(a["Value"] for a in sub if a["Name"] == "sub")


def _sign_in(idp: Any, p: dict[str, str], name: str, password: str) -> dict[str, Any]:
    out: dict[str, Any] = idp.initiate_auth(
        ClientId=p["client"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": password}
    )
    for key in ("AccessToken", "IdToken", "RefreshToken"):
        if key in out.get("AuthenticationResult", {}):
            SECRETS.append(out["AuthenticationResult"][key])
    return out


def _events(trail: Any, key: str, value: str) -> list[dict[str, Any]]:
    """Every event with one lookup attribute, newest first, each with its CloudTrail record parsed."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}
    for page in trail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page["Events"]:
            event["Record"] = json.loads(event["CloudTrailEvent"])
            found.append(event)
    return found


def _named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["EventName"] == name]


def test_password_sign_in_success_and_failure(idp: Any, trail: Any, signin_pool: dict[str, str]) -> None:
    name = "alice-" + secrets.token_hex(3)
    sub = _user(idp, signin_pool, name)
    with pytest.raises(ClientError) as failed:
        _sign_in(idp, signin_pool, name, WRONG)
    assert failed.value.response["Error"]["Code"] == "NotAuthorizedException"
    _sign_in(idp, signin_pool, name, PASSWORD)

    events = _named(_events(trail, "Username", name), "InitiateAuth")
    assert len(events) == 2
    ok, bad = events  # newest first
    for event in events:
        record = event["Record"]
        assert event["EventSource"] == "cognito-idp.amazonaws.com" and event["Username"] == name
        assert record["sourceIPAddress"] == "127.0.0.1"
        assert "Boto3" in record["userAgent"]
        assert record["additionalEventData"]["userPoolId"] == signin_pool["pool"]
        assert record["additionalEventData"]["sub"] == sub
        assert record["recipientAccountId"] == ACCOUNT_ID
        assert record["userIdentity"]["type"] == "Unknown"
    assert "errorCode" not in ok["Record"]
    assert bad["Record"]["errorCode"] == "NotAuthorizedException"
    assert bad["Record"]["additionalEventData"]["lockout"] == "invalid"


def test_unknown_user_failure_is_recorded_without_the_name(idp: Any, trail: Any, signin_pool: dict[str, str]) -> None:
    typed = "nobody-" + secrets.token_hex(3)
    with pytest.raises(ClientError):
        _sign_in(idp, signin_pool, typed, WRONG)
    failures = [
        e
        for e in _named(_events(trail, "EventName", "InitiateAuth"), "InitiateAuth")
        if e["Record"].get("errorCode") and e["Record"]["additionalEventData"].get("userPoolId") == signin_pool["pool"]
    ]
    assert failures
    assert all(typed not in e["CloudTrailEvent"] for e in _events(trail, "EventName", "InitiateAuth"))


def test_lockout_engaged_refused_and_released(idp: Any, trail: Any, signin_pool: dict[str, str]) -> None:
    name = "locky-" + secrets.token_hex(3)
    _user(idp, signin_pool, name)
    for _ in range(5):  # the fifth failure locks (1 s, doubling)
        with pytest.raises(ClientError):
            _sign_in(idp, signin_pool, name, WRONG)
    events = _events(trail, "Username", name)
    engaged = _named(events, "SignInLockoutEngaged")
    assert len(engaged) == 1 and engaged[0]["Record"]["additionalEventData"]["lockout"] == "locked"
    assert [e["Record"]["additionalEventData"]["lockout"] for e in _named(events, "InitiateAuth")][:2] == [
        "locked",
        "last-attempt",
    ]
    deadline = time.monotonic() + 30
    while True:  # refused while locked (each refusal recorded), then signed in: the lock is released
        try:
            _sign_in(idp, signin_pool, name, PASSWORD)
            break
        except ClientError as err:
            assert err.response["Error"]["Message"] == "Password attempts exceeded"
            assert time.monotonic() < deadline
            time.sleep(0.2)
    events = _events(trail, "Username", name)
    assert len(_named(events, "SignInLockoutReleased")) == 1
    newest_sign_in = _named(events, "InitiateAuth")[0]["Record"]
    assert "errorCode" not in newest_sign_in


def test_password_changes_mfa_enrolment_and_sign_out(idp: Any, trail: Any, signin_pool: dict[str, str]) -> None:
    p = signin_pool
    name = "bob-" + secrets.token_hex(3)
    _user(idp, p, name)  # AdminSetUserPassword
    access = _sign_in(idp, p, name, PASSWORD)["AuthenticationResult"]["AccessToken"]
    new_password = "N3w-Password-Chosen!"
    SECRETS.append(new_password)
    idp.change_password(AccessToken=access, PreviousPassword=PASSWORD, ProposedPassword=new_password)
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    SECRETS.append(secret)
    code = pyotp.TOTP(secret).now()
    idp.verify_software_token(AccessToken=access, UserCode=code, FriendlyDeviceName="phone")
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    idp.admin_set_user_mfa_preference(
        UserPoolId=p["pool"], Username=name, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
    )
    idp.global_sign_out(AccessToken=access)
    idp.admin_user_global_sign_out(UserPoolId=p["pool"], Username=name)
    idp.admin_reset_user_password(UserPoolId=p["pool"], Username=name)

    events = _events(trail, "Username", name)
    names = [e["EventName"] for e in events]
    for expected in (
        "AdminSetUserPassword",
        "ChangePassword",
        "VerifySoftwareToken",
        "SetUserMFAPreference",
        "AdminSetUserMFAPreference",
        "GlobalSignOut",
        "AdminUserGlobalSignOut",
        "AdminResetUserPassword",
    ):
        assert names.count(expected) == 1, (expected, names)
    admin = _named(events, "AdminResetUserPassword")[0]["Record"]
    assert admin["userIdentity"] == {
        "type": "Root",
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
        "accountId": ACCOUNT_ID,
        "accessKeyId": admin["userIdentity"]["accessKeyId"],
    }
    assert admin["additionalEventData"]["userName"] == name
    assert admin["requestParameters"] == {"UserPoolId": p["pool"], "Username": name} or "Username" not in str(
        admin["requestParameters"]
    )
    wrong = _named(events, "ChangePassword")
    assert all("errorCode" not in e["Record"] for e in wrong)


def test_iam_keys_policies_roles_and_sts(srv: Server, trail: Any) -> None:
    iam, sts = srv.client("iam"), srv.client("sts")
    user = "carol-" + secrets.token_hex(3)
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    SECRETS.append(key["SecretAccessKey"])
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=POLICY)
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    policy_arn = iam.create_policy(PolicyName="managed-" + user, PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
    iam.detach_user_policy(UserName=user, PolicyArn=policy_arn)
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=POLICY, SetAsDefault=False)
    iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v2")
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v1")
    login_password = "L0gin-Profile-Pass!"
    SECRETS.append(login_password)
    iam.create_login_profile(UserName=user, Password=login_password)
    iam.delete_login_profile(UserName=user)
    role = "role-" + user
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=TRUST)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", RoleSessionName="audit")["Credentials"]
    SECRETS.extend([creds["SecretAccessKey"], creds["SessionToken"]])
    iam.delete_role(RoleName=role)
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])

    by_key = _events(trail, "ResourceName", key["AccessKeyId"])
    assert [e["EventName"] for e in by_key] == ["DeleteAccessKey", "UpdateAccessKey", "CreateAccessKey"]
    created = by_key[-1]
    assert created["Username"] == "root" and created["Resources"] == [
        {"ResourceType": "AWS::IAM::AccessKey", "ResourceName": key["AccessKeyId"]}
    ]
    assert created["Record"]["userIdentity"]["type"] == "Root"
    assert created["Record"]["eventSource"] == "iam.amazonaws.com" and created["ReadOnly"] == "false"
    for name in ("PutUserPolicy", "DeleteUserPolicy", "CreateLoginProfile", "DeleteLoginProfile"):
        assert [e for e in _events(trail, "EventName", name) if e["Record"]["requestParameters"]["UserName"] == user]
    by_policy = [e["EventName"] for e in _events(trail, "ResourceName", policy_arn)]
    for name in (
        "AttachUserPolicy",
        "DetachUserPolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "DeletePolicyVersion",
    ):
        assert by_policy.count(name) == 1, (name, by_policy)
    by_role = [e["EventName"] for e in _events(trail, "ResourceName", role)]
    assert by_role == ["DeleteRole", "UpdateAssumeRolePolicy", "CreateRole"]
    assumed = _events(trail, "EventName", "AssumeRole")[0]
    assert assumed["ReadOnly"] == "true" and assumed["EventSource"] == "sts.amazonaws.com"
    extra = assumed["Record"]["additionalEventData"]
    assert extra["issuedAccessKeyId"] == creds["AccessKeyId"] and extra["roleSessionName"] == "audit"


def test_a_refused_call_is_recorded_and_lookup_needs_permission(srv: Server, trail: Any) -> None:
    iam = srv.client("iam")
    user = "dave-" + secrets.token_hex(3)
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    SECRETS.append(key["SecretAccessKey"])
    dave = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    with pytest.raises(ClientError) as denied:
        srv.client("iam", **dave).create_access_key(UserName=user)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    refused = _events(trail, "AccessKeyId", key["AccessKeyId"])
    assert [(e["EventName"], e["Record"]["errorCode"]) for e in refused] == [("CreateAccessKey", "AccessDenied")]
    assert refused[0]["Username"] == user
    with pytest.raises(ClientError) as lookup:
        srv.client("cloudtrail", **dave).lookup_events()
    assert lookup.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "cloudtrail:LookupEvents" in lookup.value.response["Error"]["Message"]


def test_lookup_paging_and_errors(trail: Any, idp: Any, signin_pool: dict[str, str]) -> None:
    name = "pager-" + secrets.token_hex(3)
    _user(idp, signin_pool, name)
    for _ in range(3):
        _sign_in(idp, signin_pool, name, PASSWORD)
    attribute = [{"AttributeKey": "Username", "AttributeValue": name}]
    seen: list[str] = []
    times = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"LookupAttributes": attribute, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = trail.lookup_events(**kwargs)
        assert len(page["Events"]) <= 2
        seen += [e["EventId"] for e in page["Events"]]
        times += [e["EventTime"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 4  # AdminSetUserPassword and three sign-ins
    assert times == sorted(times, reverse=True)
    late = trail.lookup_events(LookupAttributes=attribute, StartTime=times[0], EndTime=times[0])["Events"]
    assert seen[0] in [e["EventId"] for e in late]  # both ends inclusive, to the second
    with pytest.raises(ClientError) as bad:
        trail.lookup_events(LookupAttributes=attribute, NextToken="not-a-token")
    assert bad.value.response["Error"]["Code"] == "InvalidNextTokenException"
    first = trail.lookup_events(LookupAttributes=attribute, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as other:  # a token is bound to its parameters
        trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "X"}], NextToken=first)
    assert other.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as two:
        trail.lookup_events(LookupAttributes=[*attribute, {"AttributeKey": "EventName", "AttributeValue": "X"}])
    assert two.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as backwards:
        trail.lookup_events(StartTime=times[0], EndTime=times[-1])
    assert backwards.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_cli_lists_events(srv: Server, signin_pool: dict[str, str]) -> None:
    base = [sys.executable, "-m", "ostiary.cli", "events", "--data-dir", str(srv.data_dir)]
    base += ["--database-url", srv.database_url, "--pool", signin_pool["pool"], "--since", "1h"]
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [*base, "--event", "InitiateAuth", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert records and {r["eventName"] for r in records} == {"InitiateAuth"}
    assert all(r["additionalEventData"]["userPoolId"] == signin_pool["pool"] for r in records)
    table = subprocess.run(base, capture_output=True, text=True, env=env, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "Audit events" in table.stdout and "InitiateAuth" in table.stdout


def test_identity_pool_credentials_and_session_tokens(srv: Server, trail: Any) -> None:
    w = wire(srv)
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    creds = w.credentials(guest, None)["Credentials"]
    SECRETS.extend([creds["SecretKey"], creds["SessionToken"]])
    issued = [
        e
        for e in _events(trail, "EventName", "GetCredentialsForIdentity")
        if e["Record"]["userIdentity"].get("userName") == guest
    ]
    assert len(issued) == 1
    record = issued[0]["Record"]
    assert record["userIdentity"]["type"] == "WebIdentityUser"
    assert record["userIdentity"]["identityProvider"] == "cognito-identity.amazonaws.com"
    assert record["additionalEventData"]["issuedAccessKeyId"] == creds["AccessKeyId"]
    assert record["recipientAccountId"] == ACCOUNT_ID and record["eventSource"] == "cognito-identity.amazonaws.com"
    session = srv.client("sts").get_session_token()["Credentials"]
    SECRETS.extend([session["SecretAccessKey"], session["SessionToken"]])
    newest = _events(trail, "EventName", "GetSessionToken")[0]
    assert newest["Record"]["additionalEventData"]["issuedAccessKeyId"] == session["AccessKeyId"]
    assert newest["Username"] == "root" and "errorCode" not in newest["Record"]


def test_no_secret_in_any_event(srv: Server, idp: Any, signin_pool: dict[str, str]) -> None:
    """Every password, code, key secret, session token and user-pool token used or received on this
    server (by this test, and by the tests before it in this process) is absent from every column of
    every row."""
    name = "erin-" + secrets.token_hex(3)
    _user(idp, signin_pool, name)
    with pytest.raises(ClientError):
        _sign_in(idp, signin_pool, name, WRONG)
    access = _sign_in(idp, signin_pool, name, PASSWORD)["AuthenticationResult"]["AccessToken"]
    changed = "An0ther-Password-Set!"
    SECRETS.append(changed)
    idp.change_password(AccessToken=access, PreviousPassword=PASSWORD, ProposedPassword=changed)
    totp = idp.associate_software_token(AccessToken=access)["SecretCode"]
    code = pyotp.TOTP(totp).now()
    SECRETS.append(totp)
    idp.verify_software_token(AccessToken=access, UserCode=code)
    iam = srv.client("iam")
    user = "frank-" + secrets.token_hex(3)
    iam.create_user(UserName=user)
    SECRETS.append(iam.create_access_key(UserName=user)["AccessKey"]["SecretAccessKey"])
    iam.create_login_profile(UserName=user, Password=changed)
    engine = create_engine(srv.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t.audit_events)).all()
    finally:
        engine.dispose()
    assert len(rows) > 8
    dump = "\n".join(json.dumps([str(v) for v in row]) for row in rows)
    assert len(SECRETS) >= 7
    for value in SECRETS:
        assert value not in dump


def test_hosted_ui_sign_in_is_a_login_event(srv: Server, trail: Any) -> None:
    """The hosted sign-in page's outcomes are CloudTrail's ``Login`` events: a wrong password (with the
    lockout's verdict) and then the right one (with the app client), neither carrying the password."""
    h = make_hosted(srv)
    name = "hosted-" + secrets.token_hex(3)
    add_user(h, name, password=PASSWORD, email=f"{name}@example.com", email_verified="true")
    params = {
        "client_id": h.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
    }
    with httpx.Client() as web:
        page = web.get(f"{h.base}/login", params=params)
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert page.status_code == 200 and action is not None
        fields = form_fields(page.text) | {"username": name, "password": WRONG}
        refused = web.post(h.server.url + action.group(1).replace("&amp;", "&"), data=fields)
        assert refused.status_code == 400 and "Incorrect username or password" in refused.text
        location = sign_in_over_http(web, h, params, name, PASSWORD)
    assert location.startswith(CALLBACK) and "code=" in location

    everything = _events(trail, "Username", name)
    events = _named(everything, "Login")
    assert len(events) == 2, [(e["EventName"], e["Record"].get("errorCode")) for e in everything]  # no InitiateAuth
    ok, bad = events  # newest first
    for event in events:
        record = event["Record"]
        assert event["EventSource"] == "cognito-idp.amazonaws.com"
        assert record["sourceIPAddress"] == "127.0.0.1"
        assert record["additionalEventData"]["userPoolId"] == h.pool_id
        assert PASSWORD not in event["CloudTrailEvent"] and WRONG not in event["CloudTrailEvent"]
    assert "errorCode" not in ok["Record"] and ok["Record"]["additionalEventData"]["clientId"] == h.client_id
    assert bad["Record"]["errorCode"] == "NotAuthorizedException"
