"""Development mode for test suites that run against Ostiary (issue 11, items 18 and 19).

- ``--dev-accept-any-key`` (``dev_accept_any_key``): any access key Ostiary does not know is accepted
  without checking its signature, as LocalStack does; a 12-digit key id names that account (created on
  first use), anything else the first account; the caller is that account's root. Refused without
  ``--dev``. Known keys keep their normal verification.
- ``POST /_ostiary/reset?iam=true`` (or the JSON body ``{"iam": true}``) also clears IAM and STS: every
  account but the first, and in the first everything but its root and the root key it started with.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, Server, make_client

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@pytest.fixture(scope="module")
def any_key_server(server_factory: Any) -> Server:
    srv: Server = server_factory(args=("--dev", "--dev-accept-any-key"))
    return srv


@pytest.fixture(scope="module")
def dev_server(server_factory: Any) -> Server:
    srv: Server = server_factory(args=("--dev",))
    return srv


def _fake(srv: Server, service: str, key: str, secret: str = "testing") -> Any:
    return make_client(srv.url, service, aws_access_key_id=key, aws_secret_access_key=secret)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- item 19: any access key --------------------------------------------------------------------


def test_fake_keys_act_as_the_root_of_the_account_they_name(any_key_server: Server) -> None:
    for key, secret in (("testing", "testing"), ("FOOBARKEY", "anything at all")):
        who = _fake(any_key_server, "sts", key, secret).get_caller_identity()
        assert who["Account"] == ACCOUNT_ID  # the first (default) account
        assert who["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
        _fake(any_key_server, "cognito-idp", key, secret).list_user_pools(MaxResults=10)
    other = "123456789013"
    who = _fake(any_key_server, "sts", other).get_caller_identity()
    assert who["Account"] == other  # created on first use
    assert who["Arn"] == f"arn:aws:iam::{other}:root"
    iam = _fake(any_key_server, "iam", other, "x")
    assert iam.create_user(UserName="dev-alice")["User"]["Arn"] == f"arn:aws:iam::{other}:user/dev-alice"
    # another account: the first account's root does not see it
    with pytest.raises(ClientError) as exc:
        any_key_server.client("iam").get_user(UserName="dev-alice")
    assert _code(exc) == "NoSuchEntity"
    # an identity pool and a user pool made with a fake key belong to that account
    pool = _fake(any_key_server, "cognito-idp", other).create_user_pool(PoolName="fake-key-pool")["UserPool"]
    assert pool["Arn"].split(":")[4] == other


def test_known_keys_keep_their_normal_verification(any_key_server: Server) -> None:
    assert any_key_server.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    with pytest.raises(ClientError) as exc:  # the real root key id with a wrong secret
        _fake(any_key_server, "sts", ACCESS_KEY_ID, "wrong").get_caller_identity()
    assert _code(exc) == "SignatureDoesNotMatch"
    iam = any_key_server.client("iam")
    iam.create_user(UserName="dev-bob")
    key = iam.create_access_key(UserName="dev-bob")["AccessKey"]
    as_bob = _fake(any_key_server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert as_bob.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/dev-bob"
    # a deactivated key is still a known key: refused, not taken for the root
    spare = iam.create_access_key(UserName="dev-bob")["AccessKey"]
    iam.update_access_key(UserName="dev-bob", AccessKeyId=spare["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        _fake(any_key_server, "sts", spare["AccessKeyId"], spare["SecretAccessKey"]).get_caller_identity()
    assert _code(exc) == "InvalidClientTokenId"


def test_the_mode_is_visible_and_logged(any_key_server: Server) -> None:
    body = httpx.get(any_key_server.url + "/_ostiary/settings").json()
    assert body["settings"]["dev_accept_any_key"] is True
    assert any_key_server.log_path is not None
    assert "ANY ACCESS KEY IS ACCEPTED" in any_key_server.log_path.read_text()


def test_fake_keys_are_refused_on_a_normal_server(server: Server) -> None:
    for key in ("testing", "FOOBARKEY", "123456789013"):
        with pytest.raises(ClientError) as exc:
            _fake(server, "sts", key).get_caller_identity()
        assert _code(exc) == "InvalidClientTokenId"
        with pytest.raises(ClientError) as exc:
            _fake(server, "cognito-idp", key).list_user_pools(MaxResults=10)
        assert _code(exc) == "UnrecognizedClientException"


def test_fake_keys_are_refused_in_dev_mode_without_the_option(dev_server: Server) -> None:
    with pytest.raises(ClientError) as exc:
        _fake(dev_server, "sts", "testing").get_caller_identity()
    assert _code(exc) == "InvalidClientTokenId"
    assert httpx.get(dev_server.url + "/_ostiary/settings").json()["settings"]["dev_accept_any_key"] is False


@pytest.mark.parametrize(
    ("env", "args"),
    [({}, ("--dev-accept-any-key",)), ({"OSTIARY_DEV_ACCEPT_ANY_KEY": "true"}, ())],
    ids=["flag", "environment"],
)
def test_the_option_is_refused_without_dev(server_factory: Any, env: dict[str, str], args: tuple[str, ...]) -> None:
    srv: Server = server_factory(env=env, args=args, start=False)
    with pytest.raises(RuntimeError, match="exited early") as exc:
        srv.start()
    assert "dev_accept_any_key requires dev" in str(exc.value)


# -- item 18: reset with IAM ---------------------------------------------------------------------


def _second_account(srv: Server) -> tuple[str, str]:
    """An account made with `ostiary accounts create` against the server's database."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "accounts",
            "create",
            "--name",
            "second",
            "--account-id",
            "210987654321",
            "--data-dir",
            str(srv.data_dir),
            "--database-url",
            srv.database_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    text = out.stdout + out.stderr
    akid = re.search(r"Access key id\s+(\S+)", text)
    secret = re.search(r"Secret access key\s+(\S+)", text)
    assert akid and secret, text
    return akid.group(1), secret.group(1)


def test_reset_with_iam_clears_iam_and_sts_and_keeps_the_root(dev_server: Server) -> None:
    iam = dev_server.client("iam")
    iam.create_user(UserName="reset-user")
    iam.create_group(GroupName="reset-group")
    iam.add_user_to_group(GroupName="reset-group", UserName="reset-user")
    role = iam.create_role(RoleName="reset-role", AssumeRolePolicyDocument=TRUST)["Role"]
    policy = iam.create_policy(PolicyName="reset-policy", PolicyDocument=POLICY)["Policy"]
    iam.attach_role_policy(RoleName="reset-role", PolicyArn=policy["Arn"])
    iam.attach_user_policy(UserName="reset-user", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_user_policy(UserName="reset-user", PolicyName="inline", PolicyDocument=POLICY)
    key = iam.create_access_key(UserName="reset-user")["AccessKey"]
    as_user = _fake(dev_server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert as_user.get_caller_identity()["Arn"].endswith(":user/reset-user")  # cached in the server now
    iam.create_open_id_connect_provider(Url="https://oidc.example.com", ClientIDList=["app"], ThumbprintList=["a" * 40])
    iam.create_virtual_mfa_device(VirtualMFADeviceName="reset-mfa")
    iam.create_account_alias(AccountAlias="reset-alias")
    creds = as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="sess")["Credentials"]
    as_role = make_client(
        dev_server.url,
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert ":assumed-role/reset-role/sess" in as_role.get_caller_identity()["Arn"]
    second_akid, second_secret = _second_account(dev_server)
    second = _fake(dev_server, "sts", second_akid, second_secret)
    assert second.get_caller_identity()["Account"] == "210987654321"
    idp = dev_server.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="reset-pool")["UserPool"]

    # without the parameter: user pools go, IAM stays
    assert httpx.post(dev_server.url + "/_ostiary/reset").json() == {"reset": True}
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=pool["Id"])
    assert _code(exc) == "ResourceNotFoundException"
    assert iam.get_user(UserName="reset-user")["User"]["UserName"] == "reset-user"
    assert iam.get_role(RoleName="reset-role")["Role"]["Arn"] == role["Arn"]
    assert as_user.get_caller_identity()["Arn"].endswith(":user/reset-user")
    assert ":assumed-role/" in as_role.get_caller_identity()["Arn"]
    assert second.get_caller_identity()["Account"] == "210987654321"

    # with it: IAM and STS go, the first account's root and its key stay
    answer = httpx.post(dev_server.url + "/_ostiary/reset", params={"iam": "true"})
    assert answer.json() == {"reset": True, "iam": True}
    root = dev_server.client("sts").get_caller_identity()
    assert root["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    for call in (
        lambda: iam.get_user(UserName="reset-user"),
        lambda: iam.get_role(RoleName="reset-role"),
        lambda: iam.get_group(GroupName="reset-group"),
        lambda: iam.get_policy(PolicyArn=policy["Arn"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "NoSuchEntity"
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert iam.list_account_aliases()["AccountAliases"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]["AttachmentCount"] == 0
    # deleted keys stop working at once in this process (its caches are cleared)
    for client in (as_user, as_role, second):
        with pytest.raises(ClientError) as exc:
            client.get_caller_identity()
        assert _code(exc) == "InvalidClientTokenId"
    # the same names can be made again; the JSON body form answers the same
    iam.create_user(UserName="reset-user")
    answer = httpx.post(dev_server.url + "/_ostiary/reset", json={"iam": True})
    assert answer.json() == {"reset": True, "iam": True}
    assert iam.list_users()["Users"] == []
    assert dev_server.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID


def test_reset_refuses_a_malformed_parameter(dev_server: Server) -> None:
    answer = httpx.post(dev_server.url + "/_ostiary/reset", params={"iam": "maybe"})
    assert answer.status_code == 400
    answer = httpx.post(
        dev_server.url + "/_ostiary/reset", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400


# -- the per-process caches ---------------------------------------------------------------------


def test_caches_flush_in_dev_mode_only(dev_server: Server, server: Server) -> None:
    """``POST /_ostiary/caches/flush`` empties every cache of the process: a policy change takes effect
    at once instead of within the caches' lifetimes (what applies to a caller is kept 5 s)."""
    iam = dev_server.client("iam")
    iam.create_user(UserName="flushed")
    key = iam.create_access_key(UserName="flushed")["AccessKey"]
    iam.put_user_policy(UserName="flushed", PolicyName="all", PolicyDocument=POLICY)
    flushed = make_client(
        dev_server.url, "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    flushed.list_users()  # the key and the user's policies are cached now
    iam.delete_user_policy(UserName="flushed", PolicyName="all")
    answer = httpx.post(dev_server.url + "/_ostiary/caches/flush")
    assert answer.status_code == 200
    names = set(answer.json()["flushed"])
    assert {"access_keys", "caller_policies", "pools", "domains", "signing_keys", "token_clients"} <= names
    with pytest.raises(ClientError) as exc:
        flushed.list_users()
    assert _code(exc) == "AccessDenied"
    assert httpx.get(dev_server.url + "/_ostiary/caches/flush").status_code == 405
    # without --dev there is no such endpoint
    assert httpx.post(server.url + "/_ostiary/caches/flush").status_code == 404
