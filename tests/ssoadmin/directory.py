"""Directory users and groups for the sso-admin tests, written straight into the server's database
(the identity store's API is tested in tests/identitystore; these tests need only ids)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from ostiary.store import tables as t
from tests.conftest import Server


def _engine(server: Server) -> sa.Engine:
    return sa.create_engine(server.database_url)


def add_user(server: Server, identity_store_id: str, name: str) -> str:
    user_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    engine = _engine(server)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(t.identitystore_users).values(
                    user_id=user_id,
                    identity_store_id=identity_store_id,
                    user_name=name,
                    user_name_key=name.casefold(),
                    document={"DisplayName": name},
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        engine.dispose()
    return user_id


def add_group(server: Server, identity_store_id: str, name: str, members: list[str]) -> str:
    group_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    engine = _engine(server)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(t.identitystore_groups).values(
                    group_id=group_id,
                    identity_store_id=identity_store_id,
                    display_name=name,
                    display_name_key=name.casefold(),
                    document={},
                    created_at=now,
                    updated_at=now,
                )
            )
            for user_id in members:
                conn.execute(
                    sa.insert(t.identitystore_memberships).values(
                        membership_id=str(uuid.uuid4()),
                        identity_store_id=identity_store_id,
                        group_id=group_id,
                        user_id=user_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        engine.dispose()
    return group_id
