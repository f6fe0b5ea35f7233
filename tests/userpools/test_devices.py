"""Remembered devices: AWS's own JS SDK (amazon-cognito-identity-js) confirms the device it is given
at sign-in, signs in again as that device with DEVICE_SRP_AUTH (Cognito's device SRP) and skips
MFA; once the device is forgotten, MFA is asked again. Device operations through boto3."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, create_confirmed_user, make_pool

JS = Path(__file__).resolve().parent.parent / "js"


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.fail("Node.js and npm are needed for the JavaScript client tests")
    if not (JS / "node_modules" / "amazon-cognito-identity-js").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=600)
    return JS


class Totp:
    """Codes of fresh time steps (the server accepts one step either side and never a step twice)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last = int(time.time()) // 30

    def next(self) -> str:
        self.last = max(int(time.time()) // 30, self.last + 1)
        return str(self.totp.at(self.last * 30 + 1))


def _js(server: Server, node: Path, pool_id: str, client_id: str, storage: Path, code: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            "node",
            str(node / "device_sign_in.js"),
            server.url + "/",
            pool_id,
            client_id,
            "devi",
            PASSWORD,
            str(storage),
            code,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_remembered_device_skips_mfa_until_forgotten(server: Server, node_sdk: Path, tmp_path: Path) -> None:
    idp = server.client("cognito-idp")
    s = make_pool(
        idp,
        {"DeviceConfiguration": {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}},
    )
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    create_confirmed_user(s, "devi")
    first = idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "devi", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    assert set(first["NewDeviceMetadata"]) == {"DeviceKey", "DeviceGroupKey"}  # the pool tracks devices
    access = first["AccessToken"]
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    codes = Totp(secret)
    codes.last -= 1  # enrol with the previous step's code (accepted): the sign-ins below need two more
    idp.verify_software_token(AccessToken=access, UserCode=str(codes.totp.at(codes.last * 30 + 1)))
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})

    storage = tmp_path / "sdk-storage.json"
    one = _js(server, node_sdk, s.pool_id, s.client_id, storage, codes.next())
    assert one["mfaAsked"] and one["deviceKey"] and not one["userConfirmationNecessary"]
    devices = idp.admin_list_devices(UserPoolId=s.pool_id, Username="devi")["Devices"]
    assert [d["DeviceKey"] for d in devices] == [one["deviceKey"]]
    status = {a["Name"]: a["Value"] for a in devices[0]["DeviceAttributes"]}
    assert status["device_remembered_status"] == "remembered"

    two = _js(server, node_sdk, s.pool_id, s.client_id, storage, codes.next())
    assert not two["mfaAsked"] and two["deviceKey"] == one["deviceKey"]  # DEVICE_SRP_AUTH, no MFA
    codes.last -= 1  # that code was not used
    assert pyjwt.decode(two["accessToken"], options={"verify_signature": False})["device_key"] == one["deviceKey"]
    assert (
        pyjwt.decode(two["renewedAccessToken"], options={"verify_signature": False})["device_key"] == one["deviceKey"]
    )

    idp.admin_forget_device(UserPoolId=s.pool_id, Username="devi", DeviceKey=one["deviceKey"])
    three = _js(server, node_sdk, s.pool_id, s.client_id, storage, codes.next())
    assert three["mfaAsked"] and three["deviceKey"] != one["deviceKey"]  # a new device, confirmed again


def test_device_operations(server: Server) -> None:
    idp = server.client("cognito-idp")
    s = make_pool(
        idp, {"DeviceConfiguration": {"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": True}}
    )
    create_confirmed_user(s, "ops")
    result = idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "ops", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    key = result["NewDeviceMetadata"]["DeviceKey"]
    access = result["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.get_device(AccessToken=access, DeviceKey=key)  # not confirmed yet
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    confirmed = idp.confirm_device(
        AccessToken=access,
        DeviceKey=key,
        DeviceName="laptop",
        DeviceSecretVerifierConfig={"PasswordVerifier": "AQID" * 64, "Salt": "c2FsdHNhbHQ="},
    )
    assert confirmed["UserConfirmationNecessary"] is True  # remembered only on the user's say-so
    device = idp.get_device(AccessToken=access, DeviceKey=key)["Device"]
    attrs = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
    assert attrs["device_name"] == "laptop" and attrs["device_remembered_status"] == "not_remembered"
    idp.update_device_status(AccessToken=access, DeviceKey=key, DeviceRememberedStatus="remembered")
    got = idp.admin_get_device(UserPoolId=s.pool_id, Username="ops", DeviceKey=key)["Device"]
    assert {a["Name"]: a["Value"] for a in got["DeviceAttributes"]}["device_remembered_status"] == "remembered"
    idp.admin_update_device_status(
        UserPoolId=s.pool_id, Username="ops", DeviceKey=key, DeviceRememberedStatus="not_remembered"
    )
    assert [d["DeviceKey"] for d in idp.list_devices(AccessToken=access)["Devices"]] == [key]
    idp.forget_device(AccessToken=access, DeviceKey=key)
    assert idp.list_devices(AccessToken=access)["Devices"] == []
    with pytest.raises(ClientError) as exc:
        idp.admin_forget_device(UserPoolId=s.pool_id, Username="ops", DeviceKey=key)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
