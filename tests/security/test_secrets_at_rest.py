"""Secrets at rest in the outbox (issue 10, item 11).

Without SMTP or an SMS sender, messages (verification codes, temporary passwords) are kept in the
outbox so that ``ostiary outbox`` can show them. Someone who reads the database (a backup, a copy
of the SQLite file) must not find them there in clear, and they must not stay forever: rows are
sealed under the KEK and expire after ``outbox_ttl_seconds``. The startup log says where codes go.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ostiary.store import tables as t
from tests.conftest import Server

TEMP_PASSWORD = "Tmp-" + secrets.token_hex(6) + "-Pw1!"


@pytest.fixture(scope="module")
def plain_server(server_factory: Any) -> Server:
    """A production-style server: no --dev, no SMTP, no SMS sender."""
    srv: Server = server_factory(env={"OSTIARY_SMTP_HOST": "", "OSTIARY_SMS_WEBHOOK_URL": ""})
    return srv


@pytest.fixture
def engine(plain_server: Server) -> Iterator[sa.Engine]:
    eng = sa.create_engine(plain_server.database_url)
    yield eng
    eng.dispose()


def _cli_outbox(srv: Server, *args: str) -> list[dict[str, Any]]:
    env = dict(os.environ, OSTIARY_LOG_LEVEL="WARNING")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "outbox",
            "--json",
            "--data-dir",
            str(srv.data_dir),
            "--database-url",
            srv.database_url,
            *args,
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def _pool(srv: Server) -> tuple[Any, str, str]:
    idp = srv.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="rest-" + secrets.token_hex(3), AutoVerifiedAttributes=["email"])[
        "UserPool"
    ]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return idp, pool_id, client_id


def _outbox_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t.outbox))]


def _code_of(rows: list[dict[str, Any]], destination: str) -> str:
    mine = [r for r in rows if r["destination"] == destination]
    assert mine, rows
    m = re.search(r"\b(\d{6})\b", mine[0]["body"])
    assert m, mine[0]["body"]
    return m.group(1)


def test_outbox_rows_hold_no_code_or_temporary_password_in_clear(plain_server: Server, engine: sa.Engine) -> None:
    idp, pool_id, client_id = _pool(plain_server)
    invited = f"inv-{secrets.token_hex(3)}@example.com"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="invited-" + secrets.token_hex(3),
        TemporaryPassword=TEMP_PASSWORD,
        UserAttributes=[{"Name": "email", "Value": invited}],
        DesiredDeliveryMediums=["EMAIL"],
    )
    signed_up = f"su-{secrets.token_hex(3)}@example.com"
    idp.sign_up(
        ClientId=client_id,
        Username="signup-" + secrets.token_hex(3),
        Password="Corr3ct-Horse-Battery!",
        UserAttributes=[{"Name": "email", "Value": signed_up}],
    )

    # the documented workflow still works: `ostiary outbox` shows the messages in clear
    shown = _cli_outbox(plain_server)
    invitation = [r for r in shown if r["destination"] == invited]
    assert invitation and TEMP_PASSWORD in invitation[0]["body"]
    code = _code_of(shown, signed_up)
    assert _code_of(_cli_outbox(plain_server, "--destination", signed_up), signed_up) == code

    # ... but the table does not
    rows = _outbox_rows(engine)
    assert {invited, signed_up} <= {r["destination"] for r in rows}
    for row in rows:
        for name, value in row.items():
            assert TEMP_PASSWORD not in str(value), name
            if row["destination"] == signed_up:
                assert code not in str(value), name
    if plain_server.database_url.startswith("sqlite"):
        db = Path(plain_server.database_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                assert TEMP_PASSWORD.encode() not in path.read_bytes(), path

    # the outbox is not served over HTTP outside development mode
    assert httpx.get(plain_server.url + "/_ostiary/outbox").status_code == 404


def _age_all(engine: sa.Engine, days: int = 2) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with engine.begin() as conn:
        conn.execute(sa.update(t.outbox).values(created_at=old))


def test_expired_rows_are_purged_on_write(plain_server: Server, engine: sa.Engine) -> None:
    idp, _, client_id = _pool(plain_server)
    first = f"old-{secrets.token_hex(3)}@example.com"
    idp.sign_up(
        ClientId=client_id,
        Username="old-" + secrets.token_hex(3),
        Password="Corr3ct-Horse-Battery!",
        UserAttributes=[{"Name": "email", "Value": first}],
    )
    assert any(r["destination"] == first for r in _outbox_rows(engine))
    _age_all(engine)  # older than the default outbox_ttl_seconds (24 h)
    # expired messages are never shown, even before they are purged
    assert not any(r["destination"] == first for r in _cli_outbox(plain_server))

    second = f"new-{secrets.token_hex(3)}@example.com"
    idp.sign_up(
        ClientId=client_id,
        Username="new-" + secrets.token_hex(3),
        Password="Corr3ct-Horse-Battery!",
        UserAttributes=[{"Name": "email", "Value": second}],
    )
    left = _outbox_rows(engine)
    assert [r["destination"] for r in left] == [second]


def test_startup_purges_expired_rows_and_says_where_codes_go(plain_server: Server, engine: sa.Engine) -> None:
    idp, _, client_id = _pool(plain_server)
    email = f"restart-{secrets.token_hex(3)}@example.com"
    idp.sign_up(
        ClientId=client_id,
        Username="restart-" + secrets.token_hex(3),
        Password="Corr3ct-Horse-Battery!",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    _age_all(engine)
    engine.dispose()
    plain_server.restart()
    assert _outbox_rows(engine) == []

    assert plain_server.log_path is not None
    log = plain_server.log_path.read_text()
    messages = []
    for line in log.splitlines():
        try:
            messages.append(str(json.loads(line).get("msg", "")))
        except ValueError:
            continue
    said = [m for m in messages if "outbox" in m]
    assert any("email" in m.lower() and "ostiary outbox" in m and "sealed" in m for m in said), said
    assert any("sms" in m.lower() and "ostiary outbox" in m for m in said), said
    assert any("24 h" in m for m in said), said
    assert TEMP_PASSWORD not in log


def test_srp_verifier_is_sealed_and_sign_in_still_works(plain_server: Server, engine: sa.Engine) -> None:
    """The SRP verifier allows offline guessing at one SHA-256 and one modexp a guess, far cheaper
    than Argon2id: a copy of the database must not carry it in clear (before: plain hex)."""
    from pycognito.aws_srp import AWSSRP

    idp, pool_id, _ = _pool(plain_server)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="srp", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = "Srp-" + secrets.token_hex(6) + "-Pw1!"
    idp.admin_create_user(UserPoolId=pool_id, Username="sealed", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="sealed", Password=password, Permanent=True)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.users.c.srp_verifier).where(t.users.c.user_pool_id == pool_id, t.users.c.username == "sealed")
        ).scalar_one()
    assert stored and not re.fullmatch(r"[0-9a-f]+", stored), "verifier stored in clear"
    srp_client = AWSSRP(username="sealed", password=password, pool_id=pool_id, client_id=client_id, client=idp)
    tokens = srp_client.authenticate_user()["AuthenticationResult"]
    assert tokens["AccessToken"]
