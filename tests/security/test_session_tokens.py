"""Self-contained session tokens of role sessions (issue 13): the token carries the session, sealed
under a key derived from the deployment's KEK with the access key id as associated data
(access/session_tokens.py). Issuing stores nothing; every attack on the token is refused as an
invalid token (InvalidClientTokenId, "The security token included in the request is invalid."), an
expired one as ExpiredToken, as stored sessions always were. Sessions stored as rows before the change
keep working until they expire.

Forged tokens are made here with Ostiary's own sealing code: under a random KEK ("another
deployment") and, as the control that the forgery is otherwise well formed, under the server's KEK.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from ostiary.access import session_tokens
from ostiary.crypto.secrets import SecretBox, new_secret_access_key
from tests.conftest import ACCOUNT_ID, Server, flush_caches, make_client
from tests.security._authz_helpers import allow, creds_of, doc, error, new_role, root_arn, trust_stmt, unique
from tests.stored_sessions import insert_stored_role_session

INVALID = ("InvalidClientTokenId", "The security token included in the request is invalid.")


def _box(server: Server) -> SecretBox:
    return SecretBox(base64.b64decode((server.data_dir / "kek").read_text().strip()))


def _refused(server: Server, creds: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        make_client(server.url, "sts", **creds).get_caller_identity()
    return error(exc)


def _identity(server: Server, creds: dict[str, Any]) -> str:
    arn: str = make_client(server.url, "sts", **creds).get_caller_identity()["Arn"]
    return arn


def _role(server: Server, name: str | None = None) -> tuple[str, str]:
    """A role the account root may assume, allowed sts:GetCallerIdentity and IAM reads: (name, ARN)."""
    name = name or unique("sealed")
    arn = new_role(server, name, doc(trust_stmt("Allow", {"AWS": root_arn()})), [doc(allow(["iam:Get*", "iam:List*"]))])
    return name, arn


def _assume(server: Server, arn: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = server.client("sts").assume_role(RoleArn=arn, RoleSessionName="s1", **extra)["Credentials"]
    return out


def _forge(
    box: SecretBox,
    akid: str,
    role_name: str,
    role_id: str,
    *,
    expires_in: dt.timedelta = dt.timedelta(hours=1),
    account: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """Credentials whose token is sealed by ``box`` for a session of the role ``role_name``/``role_id``."""
    now = dt.datetime.now(dt.UTC)
    secret = new_secret_access_key()
    session = session_tokens.Session(
        access_key_id=akid,
        account_id=account,
        kind="assumed-role",
        role_name=role_name,
        role_path="/",
        role_id=role_id,
        session_name="forged",
        issued_at=now - dt.timedelta(hours=2),
        expires_at=now + expires_in,
        self_contained=True,
    )
    token = session_tokens.seal(box, secret, session)
    assert token is not None
    return {"aws_access_key_id": akid, "aws_secret_access_key": secret, "aws_session_token": token}


@pytest.fixture
def engine(server: Server) -> Iterator[sa.Engine]:
    found = sa.create_engine(server.database_url)
    yield found
    found.dispose()


def _role_id(server: Server, name: str) -> str:
    role_id: str = server.client("iam").get_role(RoleName=name)["Role"]["RoleId"]
    return role_id


def _flip_bit(token: str, index: int) -> str:
    raw = bytearray(base64.b64decode(token))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_issuing_stores_no_session(server: Server, engine: sa.Engine) -> None:
    _, arn = _role(server)
    creds = _assume(server, arn)
    assert creds["SessionToken"].startswith(session_tokens.PREFIX)
    assert len(creds["SessionToken"]) <= session_tokens.MAX_TOKEN_CHARS
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT count(*) FROM sts_sessions WHERE access_key_id = :k"), {"k": creds["AccessKeyId"]}
        ).scalar()
    assert rows == 0
    assert _identity(server, creds_of(creds)).endswith(":assumed-role/" + arn.rsplit("/", 1)[-1] + "/s1")


def test_altered_token_is_refused(server: Server) -> None:
    _, arn = _role(server)
    creds = _assume(server, arn)
    good = creds_of(creds)
    raw_len = len(base64.b64decode(creds["SessionToken"]))
    # one bit in the version header, the nonce, the ciphertext and the tag
    for index in (2, 5, 20, raw_len // 2, raw_len - 1):
        altered = {**good, "aws_session_token": _flip_bit(creds["SessionToken"], index)}
        assert _refused(server, altered) == INVALID, index
    assert _identity(server, good)  # the genuine token still works (the forgeries evicted nothing)


def test_truncated_oversized_and_garbled_tokens_are_refused(server: Server) -> None:
    _, arn = _role(server)
    creds = _assume(server, arn)
    good = creds_of(creds)
    token = creds["SessionToken"]
    prefix = session_tokens.PREFIX
    for bad in (
        token[:-4],
        token[: len(prefix) + 8],
        prefix,
        token + "AAAA",
        prefix + "A" * (session_tokens.MAX_TOKEN_CHARS + 100),
        prefix + "!!not base64!!",
        "",
    ):
        assert _refused(server, {**good, "aws_session_token": bad}) == INVALID, bad[:40]
    without = {k: v for k, v in good.items() if k != "aws_session_token"}
    assert _refused(server, without) == INVALID
    assert _identity(server, good)


def test_token_of_one_key_with_another_key_id_is_refused(server: Server) -> None:
    _, arn = _role(server)
    a = _assume(server, arn)
    b = _assume(server, arn)
    # A's token with B's key id, signed with A's secret, then with B's secret
    assert _refused(server, {**creds_of(a), "aws_access_key_id": b["AccessKeyId"]}) == INVALID
    assert _refused(server, {**creds_of(b), "aws_session_token": a["SessionToken"]}) == INVALID
    # the cache keeps B's session by key id: another token under B's id does not ride on it
    assert _identity(server, creds_of(b))
    assert _refused(server, {**creds_of(b), "aws_session_token": a["SessionToken"]}) == INVALID
    assert _identity(server, creds_of(a)) and _identity(server, creds_of(b))


def test_token_of_another_deployment_is_refused(server: Server) -> None:
    name, _ = _role(server)
    role_id = _role_id(server, name)
    akid = session_tokens.new_session_key_id(ACCOUNT_ID)
    elsewhere = _forge(SecretBox(os.urandom(32)), akid, name, role_id)
    assert _refused(server, elsewhere) == INVALID
    # control: the same session sealed under this deployment's KEK is accepted
    here = _forge(_box(server), session_tokens.new_session_key_id(ACCOUNT_ID), name, role_id)
    assert _identity(server, here).endswith(f":assumed-role/{name}/forged")


def test_expired_token_is_refused(server: Server) -> None:
    name, _ = _role(server)
    expired = _forge(
        _box(server),
        session_tokens.new_session_key_id(ACCOUNT_ID),
        name,
        _role_id(server, name),
        expires_in=-dt.timedelta(seconds=5),
    )
    assert _refused(server, expired) == ("ExpiredToken", "The security token included in the request is expired")


def test_deleted_and_recreated_role_does_not_revive_old_sessions(dev_server: Server) -> None:
    server = dev_server  # --dev: caches are flushed instead of waited out
    name, arn = _role(server)
    old = creds_of(_assume(server, arn))
    assert _identity(server, old)
    iam = server.client("iam")
    iam.delete_role_policy(RoleName=name, PolicyName="p0")
    iam.delete_role(RoleName=name)
    flush_caches(server)
    assert _refused(server, old) == INVALID
    _role(server, name)  # the same name, a new role id
    flush_caches(server)
    assert _refused(server, old) == INVALID
    new = creds_of(_assume(server, arn))
    assert _identity(server, new).endswith(f":assumed-role/{name}/s1")


def test_any_key_mode_never_takes_a_refused_session_for_the_root(server_factory: Any) -> None:
    server = server_factory(env={"OSTIARY_DEV_ACCEPT_ANY_KEY": "true"}, args=("--dev",))
    _, arn = _role(server)
    creds = _assume(server, arn)
    altered = {**creds_of(creds), "aws_session_token": _flip_bit(creds["SessionToken"], 30)}
    assert _refused(server, altered) == INVALID
    assert _refused(server, {**altered, "aws_secret_access_key": "anything"}) == INVALID


def test_get_access_key_info_answers_the_account_of_a_session_key(server: Server) -> None:
    _, arn = _role(server)
    creds = _assume(server, arn)
    sts = server.client("sts")
    assert sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == ACCOUNT_ID
    # AWS's layout: the account of an AWS key id decodes the same way
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"
    assert session_tokens.account_of_key_id(session_tokens.new_session_key_id("000000000042")) == "000000000042"


def _insert_row_session(engine: sa.Engine, box: SecretBox, role_name: str, role_id: str, token: str) -> dict[str, Any]:
    """A role session stored as the code before self-contained tokens did: a row, a random ASIA key."""
    with engine.begin() as conn:
        akid, secret = insert_stored_role_session(
            conn,
            box,
            role_name=role_name,
            role_id=role_id,
            token=token,
            session_name="old",
            session_tags={"team": "old"},
        )
    return {"aws_access_key_id": akid, "aws_secret_access_key": secret, "aws_session_token": token}


def test_sessions_stored_before_the_change_keep_working(server: Server, engine: sa.Engine) -> None:
    name, _ = _role(server)
    role_id = _role_id(server, name)
    box = _box(server)
    random_token = base64.b64encode(os.urandom(192)).decode()
    stored = _insert_row_session(engine, box, name, role_id, random_token)
    assert _identity(server, stored).endswith(f":assumed-role/{name}/old")
    make_client(server.url, "iam", **stored).get_role(RoleName=name)  # the role's policy applies
    assert server.client("sts").get_access_key_info(AccessKeyId=stored["aws_access_key_id"])["Account"] == ACCOUNT_ID
    assert _refused(server, {**stored, "aws_session_token": base64.b64encode(os.urandom(192)).decode()}) == INVALID
    # an older random token that happens to start like a self-contained one is still its row's
    lookalike = session_tokens.PREFIX + random_token[len(session_tokens.PREFIX) :]
    alike = _insert_row_session(engine, box, name, role_id, lookalike)
    assert _identity(server, alike).endswith(f":assumed-role/{name}/old")
