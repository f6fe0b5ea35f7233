"""ListUsers at scale (issue 13): every filter kind returns exactly the right users, pages hold under
concurrent writes, every listing is an index read (EXPLAIN), and a listing never stalls its worker."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ostiary.protocol.registry import load_handlers, lookup
from ostiary.store import statistics
from ostiary.store import tables as t
from ostiary.store.db import Store
from ostiary.userpools import directory, filters, user_search
from tests.conftest import Server, _pg_database, _pg_drop
from tests.userpools.conftest import PoolSetup, make_pool

LONG = "N" * 300  # beyond the 256 characters a search key holds (a Filter holds 256 at most)

# username -> attributes; statuses and Enabled are set below
PEOPLE: dict[str, dict[str, str]] = {
    "alice": {"email": "alice@example.com", "given_name": "Alice", "family_name": "Liddell", "name": "Alice Liddell"},
    "Alicia": {"email": "Alice@Example.com", "given_name": "Alicia", "name": "alicia keys"},
    "alina": {"email": "alina@example.org", "given_name": "alina", "phone_number": "+15550001111"},
    "bob": {"email": "bob@ex.org", "given_name": "Bob", "family_name": "O'Brien", "preferred_username": "bobby"},
    "Bobby2": {"email": "bobby2@ex.org", "preferred_username": "Bobby", "phone_number": "+15550001112"},
    "zoë": {"given_name": "Zoë", "family_name": "Ζωή", "name": 'Zoë "Z" Ζωή', "email": "zoe@ex.org"},
    "zoe": {"given_name": "Zoe", "name": "Zoe", "phone_number": "+15550002111"},
    "Ünïcode": {"given_name": "李", "family_name": "Łucja", "preferred_username": "ünï"},
    "edge1": {"given_name": "x\ud7ff", "name": "x\U0010ffff"},
    "edge2": {"given_name": "x\ue000", "name": "x\U0010ffffy"},
    "long1": {"name": LONG + "a", "family_name": LONG},
    "long2": {"name": LONG + "b", "family_name": LONG + "c"},
    "pct%_": {"given_name": "100%_sure", "email": "pct%_@ex.org"},
}
DISABLED = {"bob", "edge2"}
CONFIRMED = {"alice", "zoë", "long1"}


@pytest.fixture(scope="module")
def people(server: Server) -> Iterator[tuple[PoolSetup, dict[str, dict[str, Any]]]]:
    """A pool holding PEOPLE; the users as ListUsers returns them unfiltered (by username)."""
    s = make_pool(server.client("cognito-idp"))
    idp = s.idp
    for username, attrs in PEOPLE.items():
        idp.admin_create_user(
            UserPoolId=s.pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()],
        )
    for username in CONFIRMED:
        idp.admin_set_user_password(UserPoolId=s.pool_id, Username=username, Password="Corr3ct-Horse!", Permanent=True)
    for username in DISABLED:
        idp.admin_disable_user(UserPoolId=s.pool_id, Username=username)
    listed = {u["Username"]: u for u in _all(idp, s.pool_id, "", 60)}
    assert set(listed) == set(PEOPLE)
    yield s, listed
    idp.delete_user_pool(UserPoolId=s.pool_id)


def _all(idp: Any, pool_id: str, flt: str, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"UserPoolId": pool_id, "Limit": limit}
    if flt:
        kwargs["Filter"] = flt
    while True:
        page = idp.list_users(**kwargs)
        assert len(page["Users"]) <= limit
        out += page["Users"]
        if "PaginationToken" not in page:
            return out
        kwargs["PaginationToken"] = page["PaginationToken"]


def _value(user: dict[str, Any], attribute: str) -> str | None:
    if attribute == "username":
        return str(user["Username"])
    if attribute == "cognito:user_status":
        return str(user["UserStatus"])
    if attribute == "status":
        return "Enabled" if user["Enabled"] else "Disabled"
    attrs = {a["Name"]: a["Value"] for a in user["Attributes"]}
    return attrs.get(attribute)


def _expected(users: dict[str, dict[str, Any]], attribute: str, op: str, value: str) -> set[str]:
    """The documented rule, independently: username and the two statuses ignore case, the rest do not."""
    fold = attribute in ("username", "cognito:user_status", "status")
    out = set()
    for name, user in users.items():
        actual = _value(user, attribute)
        if actual is None:
            continue
        a, v = (actual.lower(), value.lower()) if fold else (actual, value)
        if a.startswith(v) if op == "^=" else a == v:
            out.add(name)
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


CASES: list[tuple[str, str, str]] = [
    ("username", "=", "alice"),
    ("username", "=", "ALICE"),
    ("username", "=", "alicia"),
    ("username", "^=", "ali"),
    ("username", "^=", "AL"),
    ("username", "^=", "ZO"),
    ("username", "^=", "ünï"),
    ("username", "^=", "pct%"),
    ("username", "^=", ""),
    ("username", "=", "nobody"),
    ("email", "=", "alice@example.com"),
    ("email", "=", "Alice@Example.com"),
    ("email", "=", "ALICE@EXAMPLE.COM"),
    ("email", "^=", "ali"),
    ("email", "^=", "Ali"),
    ("email", "^=", "pct%_"),
    ("email", "^=", "pct_"),
    ("phone_number", "=", "+15550001111"),
    ("phone_number", "^=", "+1555000"),
    ("phone_number", "^=", "+155500011"),
    ("name", "=", 'Zoë "Z" Ζωή'),
    ("name", "^=", "Zo"),
    ("name", "^=", "x\U0010ffff"),
    ("name", "=", "x\U0010ffff"),
    ("name", "^=", "N" * 200),  # stored values longer than a search key
    ("family_name", "^=", "N" * 230),
    ("family_name", "=", "N" * 230),
    ("given_name", "=", "Zoë"),
    ("given_name", "^=", "Zo"),
    ("given_name", "^=", "zo"),
    ("given_name", "^=", "x\ud7ff"),
    ("given_name", "^=", "x"),
    ("given_name", "=", "李"),
    ("given_name", "^=", "100%"),
    ("family_name", "=", "Ζωή"),
    ("family_name", "^=", "O'"),
    ("preferred_username", "=", "bobby"),
    ("preferred_username", "=", "Bobby"),
    ("preferred_username", "^=", "bob"),
    ("preferred_username", "^=", "ü"),
    ("cognito:user_status", "=", "CONFIRMED"),
    ("cognito:user_status", "=", "confirmed"),
    ("cognito:user_status", "=", "force_change_password"),
    ("cognito:user_status", "^=", "F"),
    ("cognito:user_status", "^=", "c"),
    ("cognito:user_status", "^=", ""),
    ("cognito:user_status", "=", "UNCONFIRMED"),
    ("status", "=", "Enabled"),
    ("status", "=", "disabled"),
    ("status", "^=", "e"),
    ("status", "^=", ""),
]


@pytest.mark.parametrize("limit", [2, 60])
def test_every_filter_kind_returns_exactly_the_right_users(
    people: tuple[PoolSetup, dict[str, dict[str, Any]]], limit: int
) -> None:
    s, users = people
    for attribute, op, value in CASES:
        flt = f"{attribute} {op} {_quote(value)}"
        got = [u["Username"] for u in _all(s.idp, s.pool_id, flt, limit)]
        assert len(got) == len(set(got)), flt
        assert set(got) == _expected(users, attribute, op, value), flt


def test_sub_filters(people: tuple[PoolSetup, dict[str, dict[str, Any]]]) -> None:
    s, users = people
    subs = {name: _value(u, "sub") for name, u in users.items()}
    some = subs["alice"]
    assert some is not None
    assert [u["Username"] for u in _all(s.idp, s.pool_id, f'sub = "{some}"', 60)] == ["alice"]
    for prefix in (some[:1], some[:8], some[:9], some):
        got = {u["Username"] for u in _all(s.idp, s.pool_id, f'sub ^= "{prefix}"', 2)}
        assert got == {n for n, sub in subs.items() if sub and sub.startswith(prefix)}


def test_a_token_of_another_listing_is_refused(people: tuple[PoolSetup, dict[str, dict[str, Any]]]) -> None:
    s, _ = people
    token = s.idp.list_users(UserPoolId=s.pool_id, Limit=1, Filter='status = "Enabled"')["PaginationToken"]
    with pytest.raises(s.idp.exceptions.InvalidParameterException):
        s.idp.list_users(UserPoolId=s.pool_id, Limit=1, PaginationToken=token)
    with pytest.raises(s.idp.exceptions.InvalidParameterException):
        s.idp.list_users(UserPoolId=s.pool_id, Limit=1, PaginationToken=token, Filter='email ^= "a"')


@pytest.mark.parametrize("flt", ["", 'given_name ^= "Sa"', 'given_name = "Sam"', 'cognito:user_status ^= ""'])
def test_pages_hold_under_concurrent_writes(server: Server, flt: str) -> None:
    """Users created and deleted between pages: no user twice, none of those there throughout skipped."""
    s = make_pool(server.client("cognito-idp"))
    idp, pid = s.idp, s.pool_id

    def create(name: str, given: str) -> None:
        idp.admin_create_user(
            UserPoolId=pid,
            Username=name,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "given_name", "Value": given}],
        )

    try:
        for i in range(12):
            create(f"pre{i}", "Sam" if i % 3 else "Sal")
        before = {f"pre{i}" for i in range(12) if i % 3 or flt != 'given_name = "Sam"'}  # those it lists
        deleted: set[str] = set()
        seen: list[str] = []
        kwargs: dict[str, Any] = {"UserPoolId": pid, "Limit": 3}
        if flt:
            kwargs["Filter"] = flt
        page_no = 0
        while True:
            page = idp.list_users(**kwargs)
            seen += [u["Username"] for u in page["Users"]]
            if "PaginationToken" not in page:
                break
            kwargs["PaginationToken"] = page["PaginationToken"]
            # between the first pages: new users on both sides of the cursor (more than a page takes, so
            # only a few times: the listing must end), one seen and one unseen user deleted
            if page_no < 3:
                for given in ("Sal", "Sam", "Sa", "Sz"):
                    create(f"new{page_no}{given}", given)
            unseen = sorted(before - set(seen) - deleted)
            for gone in ([seen[0]] if page_no == 0 else []) + unseen[-1:]:
                idp.admin_delete_user(UserPoolId=pid, Username=gone)
                deleted.add(gone)
            page_no += 1
        assert page_no >= 2
        assert len(seen) == len(set(seen))
        assert (before - deleted) <= set(seen)
    finally:
        idp.delete_user_pool(UserPoolId=pid)


# --- plans ------------------------------------------------------------------------------------------

PLAN_FILTERS = [
    ("", "ix_users_pool_created"),
    ('username = "user5"', "ix_users_search_username"),
    ('username ^= "user1"', "ix_users_search_username"),
    ('email = "u5@example.com"', "ix_users_search_email"),
    ('email ^= "u1"', "ix_users_search_email"),
    ('phone_number = "+15550000005"', "ix_users_search_phone_number"),
    ('phone_number ^= "+1555000001"', "ix_users_search_phone_number"),
    ('name = "Name 5"', "ix_users_search_name"),
    ('name ^= "Name 1"', "ix_users_search_name"),
    ('given_name = "Sam"', "ix_users_search_given_name"),
    ('given_name ^= "S"', "ix_users_search_given_name"),
    ('family_name = "Doe"', "ix_users_search_family_name"),
    ('family_name ^= "D"', "ix_users_search_family_name"),
    ('preferred_username = "p5"', "ix_users_search_preferred_username"),
    ('preferred_username ^= "p1"', "ix_users_search_preferred_username"),
    ('cognito:user_status = "CONFIRMED"', "ix_users_pool_status"),
    ('cognito:user_status ^= "U"', "ix_users_pool_status"),
    ('status = "Enabled"', "ix_users_pool_enabled"),
    ('status ^= ""', "ix_users_pool_enabled"),
    ('sub = "00000000-0000-4000-8000-000000000005"', "ix_users_search_sub"),
    ('sub ^= "00000000-0000-4000-8000-00000000001"', "ix_users_search_sub"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def plan_store(request: pytest.FixtureRequest, tmp_path: Path, database_admin_url: str | None) -> Iterator[Store]:
    """A migrated store (no server) holding one pool of 300 users written by directory.insert_user."""
    name = None
    if request.param == "postgresql":
        if not database_admin_url:
            pytest.skip("OSTIARY_TEST_DATABASE_URL not set")
        url, name = _pg_database(database_admin_url)
    else:
        url = f"sqlite:///{tmp_path / 'plans.db'}"
    store = Store(url)
    store.migrate()
    now = dt.datetime.now(dt.UTC)
    pool = directory.PoolView("us-east-1_Plans", "000000000001", "us-east-1", "plans", {})
    with store.tx() as conn:
        conn.execute(sa.insert(t.accounts).values(id=pool.account_id, name="plans", created_at=now))
        conn.execute(
            sa.insert(t.user_pools).values(
                id=pool.id,
                account_id=pool.account_id,
                region=pool.region,
                name=pool.name,
                created_at=now,
                updated_at=now,
                config={},
            )
        )
        for i in range(300):
            attrs = {
                "email": f"u{i}@example.com",
                "phone_number": f"+1555{i:07d}",
                "name": f"Name {i}",
                "given_name": "Sam" if i % 2 else "Sal",
                "family_name": "Doe",
                "preferred_username": f"p{i}",
            }
            user = directory.insert_user(
                conn,
                pool,
                username=f"user{i}",
                status="CONFIRMED" if i % 5 else "UNCONFIRMED",
                attributes=attrs,
                now=now + dt.timedelta(seconds=i % 7),
                user_id=f"00000000-0000-4000-8000-{i:012d}",
            )
            if i % 11 == 0:
                directory.set_fields(conn, user, now, enabled=False)
        statistics.refresh(conn)
    try:
        yield store
    finally:
        store.dispose()
        if name is not None and database_admin_url:
            _pg_drop(database_admin_url, name)


def test_every_listing_reads_its_index_in_order(plan_store: Store) -> None:
    """EXPLAIN of every statement a listing runs (first page and the page after a token): the filter's
    index, sought (no scan of the table or of another index), in the index's order (no sort)."""
    pool = directory.PoolView("us-east-1_Plans", "000000000001", "us-east-1", "plans", {})
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM users" in statement and not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    event.listen(plan_store.read_engine, "before_cursor_execute", capture)
    try:
        with plan_store.read() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:  # what the planner may do, not what it picks for 300 rows: no other way in
                conn.exec_driver_sql("SET enable_seqscan = off")
                conn.exec_driver_sql("SET enable_sort = off")
                conn.exec_driver_sql("SET enable_bitmapscan = off")
            for text, index in PLAN_FILTERS:
                captured.clear()
                flt = filters.parse(text)
                found, token = user_search.list_page(conn, pool, flt, 3, None)
                assert found, text
                if token is not None:
                    user_search.list_page(conn, pool, flt, 3, token)
                assert captured, text
                for statement, params in captured:
                    if postgres:
                        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
                        assert f"Index Scan using {index} on users" in plan, (text, plan)
                        assert "Sort" not in plan and "Seq Scan" not in plan, (text, plan)
                    else:
                        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                        plan = "\n".join(str(r[-1]) for r in rows)
                        assert f"SEARCH users USING INDEX {index} (user_pool_id=?" in plan, (text, plan)
                        assert "TEMP B-TREE" not in plan and "SCAN users" not in plan, (text, plan)
    finally:
        event.remove(plan_store.read_engine, "before_cursor_execute", capture)


def test_sqlite_statistics_are_refreshed_when_stale(tmp_path: Path) -> None:
    """What the server runs at startup: SQLite's statistics of users are made when missing, kept while the
    table keeps its size, made again once it has more than doubled."""
    store = Store(f"sqlite:///{tmp_path / 'stats.db'}")
    store.migrate()
    now = dt.datetime.now(dt.UTC)
    pool = directory.PoolView("us-east-1_Stats", "000000000001", "us-east-1", "stats", {})

    def add(first: int, count: int) -> None:
        with store.tx() as conn:
            for i in range(first, first + count):
                directory.insert_user(conn, pool, username=f"u{i}", status="CONFIRMED", attributes={}, now=now)

    try:
        with store.tx() as conn:
            conn.execute(sa.insert(t.accounts).values(id=pool.account_id, name="stats", created_at=now))
            conn.execute(
                sa.insert(t.user_pools).values(
                    id=pool.id,
                    account_id=pool.account_id,
                    region=pool.region,
                    name=pool.name,
                    created_at=now,
                    updated_at=now,
                    config={},
                )
            )
        add(0, 20)
        with store.engine.begin() as conn:
            assert statistics.refresh_if_stale(conn) is True
        with store.engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'users'").scalar_one() > 0
            assert statistics.refresh_if_stale(conn) is False
        add(20, 30)
        with store.engine.begin() as conn:
            assert statistics.refresh_if_stale(conn) is True
    finally:
        store.dispose()


# --- no listing stalls its worker -------------------------------------------------------------------

LONG_OPERATIONS = [
    ("cognito-idp", "ListUsers"),
    ("cognito-idp", "ListUsersInGroup"),
    ("cognito-idp", "AdminListGroupsForUser"),
    ("cognito-identity", "ListIdentities"),
    ("iam", "ListUsers"),
    ("iam", "ListRoles"),
    ("iam", "ListPolicies"),
    ("iam", "ListGroups"),
    ("iam", "ListEntitiesForPolicy"),
    ("iam", "GetAccountAuthorizationDetails"),
]


def test_long_operations_run_off_the_event_loop() -> None:
    load_handlers()
    for service, name in LONG_OPERATIONS:
        op = lookup(service, name)
        assert op is not None and op.offload is True, (service, name)


def test_a_listing_waiting_on_the_database_does_not_stall_its_worker(server: Server) -> None:
    """A ListUsers blocked in the database (the users table locked away by another session) is known to be
    in flight (PostgreSQL shows its backend waiting on the lock); meanwhile the same server answers other
    requests (the metrics page, DescribeUserPoolClient). Before ListUsers ran off the event loop, the
    worker answered nothing until the lock went (the probe timed out)."""
    if server.database_url.startswith("sqlite"):
        pytest.skip("needs PostgreSQL: SQLite has no lock a reader waits on, nor a view of waiting readers")
    s = make_pool(server.client("cognito-idp"))
    idp = s.idp
    engine = sa.create_engine(server.database_url)
    listing: dict[str, Any] = {}
    try:
        with engine.connect() as locker:
            tx = locker.begin()
            locker.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            lister = server.client("cognito-idp")
            thread = threading.Thread(
                target=lambda: listing.update(out=lister.list_users(UserPoolId=s.pool_id)), daemon=True
            )
            thread.start()
            with engine.connect() as watcher:
                waiting = 0
                for _ in range(600):  # bounded: the listing's backend shows up waiting on the lock
                    waiting = watcher.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database() AND pid <> pg_backend_pid()"
                    ).scalar_one()
                    if waiting:
                        break
                    threading.Event().wait(0.05)
                assert waiting, "ListUsers never reached the database"
            assert httpx.get(server.url + "/metrics", timeout=30).status_code == 200
            client = idp.describe_user_pool_client(UserPoolId=s.pool_id, ClientId=s.client_id)
            assert client["UserPoolClient"]["ClientId"] == s.client_id
            assert thread.is_alive()  # still waiting: the others were answered while it was in flight
            tx.rollback()
        thread.join(timeout=60)
        assert listing["out"]["Users"] == []
    finally:
        engine.dispose()
        idp.delete_user_pool(UserPoolId=s.pool_id)
