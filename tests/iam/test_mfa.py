"""IAM virtual MFA devices and MFA in STS, through boto3: CreateVirtualMFADevice (seed, QR code),
EnableMFADevice with two consecutive TOTP codes, listings, tags, resync, deactivate/delete rules;
GetSessionToken and AssumeRole with SerialNumber and TokenCode, single-use codes, and policies that
test aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from ostiary.access.authz import mfa_keys
from ostiary.iam.mfa import parse_serial
from tests.conftest import ACCOUNT_ID, Server

INVALID_OTP = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


MFA_TRUE = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _step() -> int:
    """The current TOTP step. Nothing waits for a fresh step: the codes presented to STS are those of
    the step after this one, which the server accepts (one step either side of its clock) from now
    until the end of ``step + 2``, at least 30 s away wherever in its step this is called; devices
    are enabled and resynced with pairs within the ten-step window of ``iam.mfa``."""
    return int(time.time()) // 30


def _code(seed: str, step: int) -> str:
    return pyotp.TOTP(seed).at(step * 30)


def _user(server: Server, name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    """An IAM user with one access key (and an inline policy), as client keyword arguments."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _enabled_device(server: Server, user: str, device: str) -> tuple[str, str, int]:
    """(serial, seed, step) of a new device enabled for ``user`` with the codes of the previous and
    the current step: the code of ``step + 1`` is the next one STS accepts."""
    iam = server.client("iam")
    out = iam.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
    seed = out["Base32StringSeed"].decode()
    step = _step()
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=out["SerialNumber"],
        AuthenticationCode1=_code(seed, step - 1),
        AuthenticationCode2=_code(seed, step),
    )
    return out["SerialNumber"], seed, step


def test_virtual_device_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    out = iam.create_virtual_mfa_device(
        Path="/team/", VirtualMFADeviceName="dana-phone", Tags=[{"Key": "owner", "Value": "dana"}]
    )["VirtualMFADevice"]
    serial = out["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT_ID}:mfa/team/dana-phone"
    assert parse_serial(serial) == (ACCOUNT_ID, "/team/", "dana-phone")
    seed = out["Base32StringSeed"].decode()  # the base32 text (base64 on the wire, decoded by botocore)
    assert len(seed) == 64 and base64.b32decode(seed)
    assert out["QRCodePNG"][:8] == b"\x89PNG\r\n\x1a\n"
    assert out["Tags"] == [{"Key": "owner", "Value": "dana"}]
    with pytest.raises(ClientError) as exc:
        iam.create_virtual_mfa_device(VirtualMFADeviceName="dana-phone")
    assert _err(exc)[:2] == ("EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")

    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert {"SerialNumber": serial} in unassigned
    assert "Base32StringSeed" not in str(unassigned)

    iam.create_user(UserName="dana")
    step = _step()
    with pytest.raises(ClientError) as exc:  # the same code twice is not two consecutive codes
        iam.enable_mfa_device(
            UserName="dana",
            SerialNumber=serial,
            AuthenticationCode1=_code(seed, step),
            AuthenticationCode2=_code(seed, step),
        )
    assert _err(exc) == ("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403)
    # the current code and the next one, as an authenticator app shows them
    iam.enable_mfa_device(
        UserName="dana",
        SerialNumber=serial,
        AuthenticationCode1=_code(seed, step),
        AuthenticationCode2=_code(seed, step + 1),
    )

    devices = iam.list_mfa_devices(UserName="dana")["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in devices] == [("dana", serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = next(d for d in assigned if d["SerialNumber"] == serial)
    assert mine["User"]["UserName"] == "dana" and "EnableDate" in mine and "Base32StringSeed" not in mine
    assert serial not in [
        d["SerialNumber"] for d in iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    ]
    got = iam.get_mfa_device(SerialNumber=serial, UserName="dana")
    assert got["UserName"] == "dana" and got["SerialNumber"] == serial and "EnableDate" in got

    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "kind", "Value": "phone"}, {"Key": "Owner", "Value": "d"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "Owner", "Value": "d"},
        {"Key": "kind", "Value": "phone"},
    ]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["KIND"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "Owner", "Value": "d"}]

    # one user per device; a device in use cannot be deleted
    iam.create_user(UserName="dana2")
    with pytest.raises(ClientError) as exc:
        iam.enable_mfa_device(
            UserName="dana2",
            SerialNumber=serial,
            AuthenticationCode1=_code(seed, step + 2),
            AuthenticationCode2=_code(seed, step + 3),
        )
    assert _err(exc)[0] == "EntityAlreadyExists"
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _err(exc)[0] == "DeleteConflict"
    with pytest.raises(ClientError) as exc:
        iam.deactivate_mfa_device(UserName="dana2", SerialNumber=serial)
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:  # a user with an MFA device cannot be deleted
        iam.delete_user(UserName="dana")
    assert _err(exc)[:2] == ("DeleteConflict", "Cannot delete entity, must delete MFA device first.")

    iam.deactivate_mfa_device(UserName="dana", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="dana")["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    for call in (
        lambda: iam.delete_virtual_mfa_device(SerialNumber=serial),
        lambda: iam.list_mfa_device_tags(SerialNumber=serial),
        lambda: iam.get_mfa_device(SerialNumber=serial, UserName="dana"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.enable_mfa_device(
            UserName="nobody", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="234567"
        )
    assert _err(exc)[0] == "NoSuchEntity"


def test_resync_and_list_for_the_calling_user(server: Server) -> None:
    iam = server.client("iam")
    keys = _user(server, "rita", {"Effect": "Allow", "Action": "iam:ListMFADevices", "Resource": "*"})
    serial, seed, step = _enabled_device(server, "rita", "rita-phone")
    with pytest.raises(ClientError) as exc:
        iam.resync_mfa_device(
            UserName="rita", SerialNumber=serial, AuthenticationCode1="000000", AuthenticationCode2="111111"
        )
    assert _err(exc)[0] == "InvalidAuthenticationCode"
    iam.resync_mfa_device(
        UserName="rita",
        SerialNumber=serial,
        AuthenticationCode1=_code(seed, step + 1),
        AuthenticationCode2=_code(seed, step + 2),
    )
    # ListMFADevices without UserName lists the caller's devices
    own = server.client("iam", **keys).list_mfa_devices()["MFADevices"]
    assert [d["SerialNumber"] for d in own] == [serial]
    # codes used by the resync are used up
    with pytest.raises(ClientError) as exc:
        server.client("sts", **keys).get_session_token(SerialNumber=serial, TokenCode=_code(seed, step + 1))
    assert _err(exc)[:2] == ("AccessDenied", INVALID_OTP)


def test_get_session_token_with_mfa(server: Server) -> None:
    keys = _user(
        server,
        "mona",
        {
            "Effect": "Allow",
            "Action": ["iam:ListUsers", "cognito-idp:ListUserPools"],
            "Resource": "*",
            "Condition": MFA_TRUE,
        },
        {
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        },
    )
    serial, seed, step = _enabled_device(server, "mona", "mona-phone")
    sts = server.client("sts", **keys)

    # long-term keys: aws:MultiFactorAuthPresent is absent, so the Bool condition does not match
    with pytest.raises(ClientError) as exc:
        server.client("cognito-idp", **keys).list_user_pools(MaxResults=5)
    assert _err(exc)[0] == "AccessDeniedException"
    # a session without MFA: "false"
    plain = _creds(sts.get_session_token()["Credentials"])
    with pytest.raises(ClientError) as exc:
        server.client("cognito-idp", **plain).list_user_pools(MaxResults=5)
    assert _err(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        server.client("iam", **plain).list_users()
    assert _err(exc)[0] == "AccessDenied"

    with pytest.raises(ClientError) as exc:
        sts.get_session_token(SerialNumber=serial, TokenCode="000000")
    assert _err(exc) == ("AccessDenied", INVALID_OTP, 403)
    with pytest.raises(ClientError) as exc:
        sts.get_session_token(SerialNumber=f"arn:aws:iam::{ACCOUNT_ID}:mfa/nobody", TokenCode=_code(seed, step + 1))
    code, message, _ = _err(exc)
    assert code == "AccessDenied" and "serial number" in message

    code_now = _code(seed, step + 1)
    with_mfa = _creds(
        sts.get_session_token(SerialNumber=serial, TokenCode=code_now, DurationSeconds=900)["Credentials"]
    )
    server.client("cognito-idp", **with_mfa).list_user_pools(MaxResults=5)
    assert "Users" in server.client("iam", **with_mfa).list_users()  # IAM is open to MFA sessions
    assert server.client("iam", **with_mfa).get_user()["User"]["UserName"] == "mona"
    # STS beyond AssumeRole and GetCallerIdentity stays closed
    with pytest.raises(ClientError) as exc:
        server.client("sts", **with_mfa).get_access_key_info(AccessKeyId=keys["aws_access_key_id"])
    assert _err(exc)[0] == "AccessDenied"

    # a code is accepted once per device
    with pytest.raises(ClientError) as exc:
        sts.get_session_token(SerialNumber=serial, TokenCode=code_now)
    assert _err(exc)[:2] == ("AccessDenied", INVALID_OTP)

    # a deactivated device no longer authenticates
    server.client("iam").deactivate_mfa_device(UserName="mona", SerialNumber=serial)
    with pytest.raises(ClientError) as exc:
        sts.get_session_token(SerialNumber=serial, TokenCode=_code(seed, step + 2))
    assert _err(exc)[0] == "AccessDenied"


def test_assume_role_requiring_mfa(server: Server) -> None:
    iam = server.client("iam")
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/needs-mfa"
    iam.create_role(
        RoleName="needs-mfa",
        AssumeRolePolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
                "Condition": MFA_TRUE,
            }
        ),
    )
    iam.put_role_policy(
        RoleName="needs-mfa",
        PolicyName="read",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*", "Condition": MFA_TRUE}),
    )
    keys = _user(server, "otto", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    serial, seed, step = _enabled_device(server, "otto", "otto-phone")
    sts = server.client("sts", **keys)

    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="no-mfa")
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bad", SerialNumber=serial, TokenCode="000000")
    assert _err(exc)[:2] == ("AccessDenied", INVALID_OTP)
    # the account root has no IAM virtual device of its own here
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName="root", SerialNumber=serial, TokenCode=_code(seed, step + 1)
        )
    assert _err(exc)[0] == "AccessDenied"

    code = _code(seed, step + 1)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="with-mfa", SerialNumber=serial, TokenCode=code)
    session = _creds(out["Credentials"])
    server.client("iam", **session).list_roles()  # the role session is MFA-authenticated
    with pytest.raises(ClientError) as exc:  # reused code
        sts.assume_role(RoleArn=role_arn, RoleSessionName="again", SerialNumber=serial, TokenCode=code)
    assert _err(exc)[:2] == ("AccessDenied", INVALID_OTP)
    # role chaining from an MFA session keeps MFA
    iam.update_assume_role_policy(
        RoleName="needs-mfa",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT_ID}:root", role_arn]},
                "Action": "sts:AssumeRole",
                "Condition": MFA_TRUE,
            }
        ),
    )
    chained = server.client("sts", **session).assume_role(RoleArn=role_arn, RoleSessionName="chained")
    server.client("iam", **_creds(chained["Credentials"])).list_roles()


def test_get_session_token_with_mfa_then_assume_role(server: Server) -> None:
    iam = server.client("iam")
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/needs-mfa-2"
    iam.create_role(
        RoleName="needs-mfa-2",
        AssumeRolePolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
                "Condition": MFA_TRUE,
            }
        ),
    )
    keys = _user(server, "petra", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    serial, seed, step = _enabled_device(server, "petra", "petra-phone")
    sts = server.client("sts", **keys)
    plain = _creds(sts.get_session_token()["Credentials"])
    with pytest.raises(ClientError) as exc:
        server.client("sts", **plain).assume_role(RoleArn=role_arn, RoleSessionName="plain")
    assert _err(exc)[0] == "AccessDenied"
    mfa = _creds(sts.get_session_token(SerialNumber=serial, TokenCode=_code(seed, step + 1))["Credentials"])
    out = server.client("sts", **mfa).assume_role(RoleArn=role_arn, RoleSessionName="from-mfa-session")
    assert out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/needs-mfa-2/from-mfa-session")


def test_mfa_condition_keys() -> None:
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert mfa_keys(False, None, now) == {}  # long-term access keys: absent
    assert mfa_keys(True, None, now) == {"aws:MultiFactorAuthPresent": ["false"]}
    assert mfa_keys(True, now - dt.timedelta(seconds=90), now) == {
        "aws:MultiFactorAuthPresent": ["true"],
        "aws:MultiFactorAuthAge": ["90"],
    }
