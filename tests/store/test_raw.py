"""store.raw.RawSelect answers what SQLAlchemy Core answers for the same statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from ostiary.store import tables as t
from ostiary.store.db import Store
from ostiary.store.raw import RawInsert, RawSelect
from ostiary.userpools import directory, tokens
from tests.conftest import migrated_store

NOW = dt.datetime(2026, 12, 5, 7, 30, 15, 123456, tzinfo=dt.UTC)
POOL = "us-east-1_raw"
USER = "0f8fad5b-d9cb-469f-a165-70867728950e"
LINEAGE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, database_admin_url: str | None) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path, database_admin_url) as s:
        with s.tx() as conn:
            conn.execute(insert(t.accounts), {"id": "123456789012", "name": "a", "created_at": NOW})
            conn.execute(
                insert(t.user_pools),
                {
                    "id": POOL,
                    "account_id": "123456789012",
                    "region": "us-east-1",
                    "name": "p",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "config": {},
                },
            )
            conn.execute(
                insert(t.users),
                {
                    "id": USER,
                    "user_pool_id": POOL,
                    "username": "Zoë",
                    "username_key": "zoë",
                    "status": "CONFIRMED",
                    "enabled": True,
                    "attributes": {"email": "z@example.com", "given_name": "Zoë"},
                    "mfa": {"UserMFASettingList": ["SOFTWARE_TOKEN_MFA"]},
                    "created_at": NOW,
                    "updated_at": NOW,
                    "password_updated_at": None,
                    "pending_attributes": None,
                },
            )
            conn.execute(
                insert(t.groups),
                [
                    {
                        "user_pool_id": POOL,
                        "name": g,
                        "precedence": p,
                        "role_arn": None,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for g, p in (("a", 1), ("b", None))
                ],
            )
            conn.execute(
                insert(t.group_members),
                [{"user_pool_id": POOL, "group_name": g, "user_id": USER, "added_at": NOW} for g in ("a", "b")],
            )
            conn.execute(
                insert(t.refresh_tokens),
                {
                    "id": LINEAGE,
                    "user_pool_id": POOL,
                    "user_id": USER,
                    "client_id": "c",
                    "token_hash": "h1",
                    "auth_time": NOW,
                    "created_at": NOW,
                    "expires_at": NOW + dt.timedelta(days=30),
                    "revoked_at": None,
                },
            )
        yield s


PARAMS = {"pool_id": POOL, "user_id": USER, "lineage_id": LINEAGE, "h": "h1"}


@pytest.mark.parametrize(
    "stmt",
    [tokens._TOKEN_USER_AND_LINEAGE, tokens._USER_AND_LINEAGE, tokens._USER_BY_HASH],
    ids=["token-user", "full-user", "refresh-join"],
)
def test_rows_equal_core_rows(store: Store, stmt: object) -> None:
    raw = RawSelect(stmt)  # type: ignore[arg-type]
    with store.read() as conn:
        core = [tuple(r) for r in conn.execute(stmt, PARAMS).all()]  # type: ignore[call-overload]
        got = raw.rows(conn, PARAMS)
        assert [tuple(r) for r in got] == core and core
        again = raw.rows(conn, PARAMS)  # the kept cursor, the compiled statement reused
    assert [tuple(r) for r in again] == core
    first = got[0]
    assert first.id == USER
    if hasattr(first, "created_at"):
        assert first.created_at == NOW and first.created_at.tzinfo is not None
    assert first.enabled is True
    assert first.attributes == {"email": "z@example.com", "given_name": "Zoë"}
    assert directory.token_user(first).mfa == {"UserMFASettingList": ["SOFTWARE_TOKEN_MFA"]}


def test_reads_inside_the_transaction_it_runs_in(store: Store) -> None:
    raw = RawSelect(tokens._TOKEN_USER_AND_LINEAGE)
    with store.tx() as conn:
        conn.execute(update(t.refresh_tokens).where(t.refresh_tokens.c.id == LINEAGE).values(revoked_at=NOW))
        row = raw.first(conn, PARAMS)
        assert row is not None and row.lineage_live is False
        conn.execute(update(t.refresh_tokens).where(t.refresh_tokens.c.id == LINEAGE).values(revoked_at=None))
    with store.read() as conn:
        row = raw.first(conn, PARAMS)
        assert row is not None and row.lineage_live is True
        assert raw.first(conn, {**PARAMS, "user_id": "nobody"}) is None


def test_driver_errors_are_sqlalchemy_errors(store: Store) -> None:
    broken = RawSelect(
        select(t.users.c.id).where(t.users.c.id == bindparam("user_id")).where(t.users.c.username == bindparam("name"))
    )
    with store.read() as conn, pytest.raises(DBAPIError):
        broken.rows(conn, {"user_id": USER, "name": object()})
    with store.read() as conn:  # the connection still serves
        assert broken.rows(conn, {"user_id": USER, "name": "Zoë"})[0].id == USER


def test_parameters_that_need_processing_are_refused(store: Store) -> None:
    stmt = select(t.users.c.id).where(t.users.c.created_at == bindparam("at", type_=t.users.c.created_at.type))
    with store.read() as conn:
        if store.is_sqlite:  # SQLite's DateTime binds through a processor
            with pytest.raises(ValueError, match="bind processing"):
                RawSelect(stmt).rows(conn, {"at": NOW})
        else:
            assert RawSelect(stmt).rows(conn, {"at": NOW})[0].id == USER


def _session_row(akid: str) -> dict[str, object]:
    return {
        "access_key_id": akid,
        "account_id": "123456789012",
        "secret_enc": "sealed",
        "token_hash": "0" * 64,
        "role_name": "r",
        "role_path": "/",
        "role_id": "AROAEXAMPLE",
        "session_name": "s",
        "session_policy": None,
        "source_identity": "Zoë",
        "expires_at": NOW + dt.timedelta(hours=1),
        "created_at": NOW,
        "kind": "assumed-role",
        "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "session_tags": {"k": "v"},
        "transitive_tag_keys": None,  # Core writes JSON null for None: so must the raw insert
        "federation": {"provider": "cognito", "amr": ["authenticated"]},
        "mfa_auth_time": None,
    }


def test_raw_insert_writes_what_core_writes(store: Store) -> None:
    raw = RawInsert(insert(t.sts_sessions), [c.key for c in t.sts_sessions.c])
    with store.tx() as conn:
        conn.execute(insert(t.sts_sessions), _session_row("ASIACORE"))
        raw.execute(conn, _session_row("ASIARAW"))
        raw.execute(conn, _session_row("ASIARAW2"))  # the compiled statement and cursor reused
    with store.read() as conn:
        rows = {r.access_key_id: r for r in conn.execute(select(t.sts_sessions)).all()}
        nulls = dict(
            conn.execute(select(t.sts_sessions.c.access_key_id, t.sts_sessions.c.transitive_tag_keys.is_(None))).all()
        )
    core, got = rows["ASIACORE"], rows["ASIARAW"]
    assert tuple(got)[1:] == tuple(core)[1:]
    assert got.expires_at == NOW + dt.timedelta(hours=1) and got.expires_at.tzinfo is not None
    assert got.session_tags == {"k": "v"} and got.federation["amr"] == ["authenticated"]
    assert nulls["ASIARAW"] == nulls["ASIACORE"]


def test_raw_insert_rolls_back_with_its_transaction(store: Store) -> None:
    raw = RawInsert(insert(t.sts_sessions), [c.key for c in t.sts_sessions.c])
    with pytest.raises(RuntimeError), store.tx() as conn:
        raw.execute(conn, _session_row("ASIAGONE"))
        raise RuntimeError("abort")
    with pytest.raises(DBAPIError), store.tx() as conn:  # a duplicate key: the driver's error as Core's
        raw.execute(conn, _session_row("ASIADUP"))
        raw.execute(conn, _session_row("ASIADUP"))
    with store.read() as conn:
        keys = set(conn.execute(select(t.sts_sessions.c.access_key_id)).scalars())
    assert "ASIAGONE" not in keys and "ASIADUP" not in keys
    with store.tx() as conn:  # the connection is usable after the error
        raw.execute(conn, _session_row("ASIAAFTER"))


def test_raw_insert_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="no such columns"):
        RawInsert(insert(t.sts_sessions), ["nope"])
    with pytest.raises(ValueError, match="Python-side default"):
        RawInsert(insert(t.counters), ["key", "count", "window_start"])  # "locked" has a Python-side default
