"""ListUsers on a big pool: every filter kind, server-side and client-side, and GetUser under mixed load.

    python bench/user_search.py                          # 1,000,000 users, SQLite in a temp dir
    python bench/user_search.py --users 100000
    python bench/user_search.py --database-url postgresql+psycopg://postgres@127.0.0.1:55436/bench
    python bench/user_search.py --data-dir /var/tmp/search-1m   # keep the filled database for the next run

With ``--data-dir`` the server's data dir (its SQLite database, or with --database-url the KEK that
the PostgreSQL rows are sealed with) is kept after the run; the next run with the same directory (and
URL) finds the pool ``bench-search`` and fills only the users it lacks, so a million-user pool is
filled once.

The bench starts `ostiary serve` (1 worker), creates a pool through the API, then fills it FAST with
bulk SQL inserts of rows in the exact shape the service writes (the same table, the same key
functions: ``directory.username_key`` and ``directory.alias_keys``, the search keys the table's
defaults derive) — a fixture, not an API load — and refreshes the planner statistics as the server
does after an import.

For each filter kind (``=`` and ``^=`` on every filterable attribute, ``cognito:user_status``,
``status``, ``sub``, no filter, and a second page) it measures:
- server side: the listing itself in process (``user_search.list_page`` + the UserType rows) on the
  same database, --repeat times, p50 and p99;
- client side: signed ListUsers calls over HTTP, one at a time, p50 and p99, and the server's CPU per
  call (from /proc).
Then the mixed load, in --mixed-rounds rounds: GetUser latency (p50/p99/max, one caller) alone, then
while two callers (processes of their own) page through filtered ListUsers, a third changes a user's
attribute every --mixed-writes-ms (AdminUpdateUserAttributes: a write of the worker's while the import
writes too; its own latencies reported) and a CSV import job of --import-users users writes rows, all
against the one worker; under load relative to alone in the same
round (the machine's load average beside it: on a shared machine the absolute figures are noisy).
Loopback only; nothing is asserted: figures are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing as mp
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, event, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, cpu_by_process, cpu_seconds, free_port

from ostiary.store import statistics as store_statistics
from ostiary.store import tables as t
from ostiary.store.db import Store
from ostiary.userpools import directory, filters, user_search
from ostiary.userpools.users import user_type

PASSWORD = "Bench-Passw0rd!"
GIVEN = [
    "Ana",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Inès",
    "Jonas",
    "Kwame",
    "Lena",
    "Mateo",
    "Nadia",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Søren",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Xavier",
    "Yara",
    "Zoë",
    "Ζωή",
    "Анна",
    "李",
    "Łucja",
]
FAMILY = [
    "Smith",
    "García",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Nakamura",
    "Okafor",
    "Silva",
    "Novak",
    "Andersen",
    "Haddad",
    "Ivanova",
    "Kim",
    "Nguyen",
    "O'Brien",
    "Papadopoulos",
    "Reddy",
    "Schmidt",
    "Tanaka",
]
STATUS_MIX = ["CONFIRMED"] * 90 + ["FORCE_CHANGE_PASSWORD"] * 5 + ["UNCONFIRMED"] * 4 + ["RESET_REQUIRED"]


def user_row(pool: directory.PoolView, i: int, base: dt.datetime) -> dict[str, Any]:
    """User number i, shaped as directory.insert_user writes it."""
    given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
    attributes = {
        "email": f"user{i}@example{i % 97}.com",
        "email_verified": "true",
        "phone_number": f"+1555{i:07d}",
        "given_name": given,
        "family_name": family,
        "name": f"{given} {family} {i}",
    }
    if i % 10 == 0:
        attributes["preferred_username"] = f"pref{i}"
    username = f"user{i:07d}"
    at = base + dt.timedelta(milliseconds=i)
    return {
        "id": str(uuid.UUID(int=random.getrandbits(128), version=4)),
        "user_pool_id": pool.id,
        "username": username,
        "username_key": directory.username_key(pool, username),
        "status": STATUS_MIX[i % len(STATUS_MIX)],
        "enabled": i % 200 != 7,
        "attributes": attributes,
        "mfa": {},
        "created_at": at,
        "updated_at": at,
        **directory.alias_keys(attributes),
    }


def _big_cache(dbapi_conn: Any, _record: Any) -> None:
    """SQLite: a page cache that holds the indexes being filled (the default 2 MB makes every random
    insert into the sub index a read)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA cache_size=-1000000")
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()


def fill(url: str, pool_id: str, users: int, console: Console) -> None:
    """Users 0..users-1 of the pool (those numbered from the pool's current count on: a kept data dir
    is filled once)."""
    engine = create_engine(Store(url).url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _big_cache)
    with engine.connect() as conn:
        row = conn.execute(select(t.user_pools).where(t.user_pools.c.id == pool_id)).one()
        have = conn.execute(
            select(func.count())
            .select_from(t.users)
            .where(t.users.c.user_pool_id == pool_id, t.users.c.username.like("user%"))
        ).scalar_one()
    pool = directory.PoolView(row.id, row.account_id, row.region, row.name, dict(row.config))
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    random.seed(13 + have)
    started = time.perf_counter()
    batch = 5000
    if have >= users:
        console.print(f"the pool holds {have:,} bench users already: no fill")
    for start in range(have, users, batch):
        rows = [user_row(pool, i, base) for i in range(start, min(users, start + batch))]
        with engine.begin() as conn:
            conn.execute(insert(t.users), rows)
        if start % 100_000 == 0:
            console.print(f"  {start + len(rows):,} users, {time.perf_counter() - started:.0f} s")
    with engine.connect() as conn:
        store_statistics.refresh(conn.execution_options(isolation_level="AUTOCOMMIT"))
    engine.dispose()
    console.print(f"filled {max(0, users - have):,} users in {time.perf_counter() - started:.0f} s")


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`ostiary serve` (1 worker) on a free loopback port with the data dir ``data``, access log off."""
    port = free_port()
    env = {
        **os.environ,
        "OSTIARY_ROOT_ACCESS_KEY_ID": KEY,
        "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET,
        "OSTIARY_ACCESS_LOG": "false",
    }
    cmd = [sys.executable, "-m", "ostiary.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def bench_pool(idp: Any) -> str:
    """The pool ``bench-search`` (kept from an earlier run with the same data dir, or a new one)."""
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == "bench-search":
            return str(pool["Id"])
    return str(idp.create_user_pool(PoolName="bench-search")["UserPool"]["Id"])


def cases(users: int) -> list[tuple[str, str]]:
    mid = users // 2
    return [
        ("(no filter)", ""),
        ('username = "user…" (1 user)', f'username = "user{mid:07d}"'),
        ('username = "USER…" (case-insensitive)', f'username = "USER{mid:07d}"'),
        ('username ^= "user00012" (100 users)', 'username ^= "user00012"'),
        ('username ^= "user" (all)', 'username ^= "user"'),
        ("email = (1 user)", f'email = "user{mid}@example{mid % 97}.com"'),
        ('email ^= "user12345" (11 users)', 'email ^= "user12345"'),
        ("phone_number = (1 user)", f'phone_number = "+1555{mid:07d}"'),
        ('phone_number ^= "+155500012" (100)', 'phone_number ^= "+155500012"'),
        ("name = (1 user)", f'name = "{GIVEN[mid % len(GIVEN)]} {FAMILY[(mid // len(GIVEN)) % len(FAMILY)]} {mid}"'),
        ('name ^= "Zoë Smith" (prefix)', 'name ^= "Zoë Smith"'),
        ('given_name = "Ζωή" (1/30)', 'given_name = "Ζωή"'),
        ('given_name ^= "Ch" (1/30)', 'given_name ^= "Ch"'),
        ('family_name = "Reddy" (1/20)', 'family_name = "Reddy"'),
        ('family_name ^= "O\'" (1/20)', 'family_name ^= "O\'"'),
        ("preferred_username = (1 user)", f'preferred_username = "pref{mid - mid % 10}"'),
        ('preferred_username ^= "pref1234" (≤11)', 'preferred_username ^= "pref1234"'),
        ('cognito:user_status = "RESET_REQUIRED" (1 %)', 'cognito:user_status = "RESET_REQUIRED"'),
        ('cognito:user_status = "confirmed" (90 %)', 'cognito:user_status = "confirmed"'),
        ('cognito:user_status ^= "U" (4 %)', 'cognito:user_status ^= "U"'),
        ('status = "Disabled" (0.5 %)', 'status = "Disabled"'),
        ('status = "Enabled"', 'status = "Enabled"'),
        ('sub ^= "abc" (1/4096)', 'sub ^= "abc"'),
        ('email = "nobody@…" (no user)', 'email = "nobody@nowhere.example"'),
    ]


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def measure_in_process(url: str, pool_id: str, flt_text: str, repeat: int, second_page: bool) -> list[float]:
    store = Store(url)
    try:
        with store.read() as conn:
            row = conn.execute(select(t.user_pools).where(t.user_pools.c.id == pool_id)).one()
            pool = directory.PoolView(row.id, row.account_id, row.region, row.name, dict(row.config))
            flt = filters.parse(flt_text)
            token = None
            if second_page:
                token = user_search.list_page(conn, pool, flt, 60, None)[1]
            out = []
            for _ in range(repeat):
                started = time.perf_counter()
                found, _next = user_search.list_page(conn, pool, flt, 60, token)
                [user_type(u) for u in found]
                out.append(time.perf_counter() - started)
            return out
    finally:
        store.dispose()


def plans(url: str, pool_id: str, users: int, console: Console) -> None:
    """EXPLAIN (as the planner chooses, with this database's statistics) of every statement each filter
    kind's listing runs, its first page and the page after a token: the index it reads, and whether
    that is a range read in the index's order (no sort, no scan of the table or another index)."""
    store = Store(url)
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM users" in statement and not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    table = Table(title=f"Plans on the {users:,}-user pool ({store.engine.dialect.name})")
    for col in ("filter", "statements", "plan (first statement)", "index range read in order"):
        table.add_column(col)
    event.listen(store.read_engine, "before_cursor_execute", capture)
    try:
        with store.read() as conn:
            row = conn.execute(select(t.user_pools).where(t.user_pools.c.id == pool_id)).one()
            pool = directory.PoolView(row.id, row.account_id, row.region, row.name, dict(row.config))
            for name, text in cases(users):
                captured.clear()
                flt = filters.parse(text)
                _found, token = user_search.list_page(conn, pool, flt, 60, None)
                if token is not None:
                    user_search.list_page(conn, pool, flt, 60, token)
                verdicts, first = [], ""
                for statement, params in list(captured):
                    index = user_search.scan_for(flt).index
                    if conn.dialect.name == "postgresql":
                        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
                        ok = f"Index Scan using {index} on users" in plan and "Sort" not in plan
                        ok = ok and "Seq Scan" not in plan and "Bitmap" not in plan
                        summary = plan.splitlines()[1].strip() if len(plan.splitlines()) > 1 else plan
                    else:
                        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                        plan = "\n".join(str(r[-1]) for r in rows)
                        ok = f"SEARCH users USING INDEX {index} (user_pool_id=?" in plan
                        ok = ok and "TEMP B-TREE" not in plan and "SCAN users" not in plan
                        summary = plan.splitlines()[0]
                    verdicts.append(ok)
                    first = first or summary
                table.add_row(name, str(len(captured)), first[:90], "yes" if all(verdicts) else "NO")
    finally:
        event.remove(store.read_engine, "before_cursor_execute", capture)
        store.dispose()
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=200, help="calls per filter kind (each side)")
    ap.add_argument("--import-users", type=int, default=100_000, help="users of the CSV import in the mixed load")
    ap.add_argument("--mixed-seconds", type=float, default=10.0)
    ap.add_argument("--mixed-rounds", type=int, default=3, help="mixed load: rounds of (alone, under load)")
    ap.add_argument(
        "--mixed-writes-ms",
        type=float,
        default=20.0,
        help="mixed load: a caller writing (AdminUpdateUserAttributes) every N ms beside the others; 0: none",
    )
    ap.add_argument("--database-url", default="", help="a PostgreSQL database (default: SQLite in the data dir)")
    ap.add_argument("--data-dir", default="", help="the server's data dir, kept (default: a temp dir, removed)")
    ap.add_argument("--only-mixed", action="store_true", help="skip the per-filter tables")
    ap.add_argument("--fill-only", action="store_true", help="fill the pool (with --data-dir: for later runs)")
    ap.add_argument("--plans-only", action="store_true", help="only the EXPLAIN of every filter kind")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment
    console = Console(width=150)
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="ostiary-bench-"))
    proc, url = start_server(data_dir)
    db_url = args.database_url or f"sqlite:///{data_dir / 'ostiary.db'}"
    try:
        idp = boto3.client(
            "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
        )
        pool_id = bench_pool(idp)
        fill(db_url, pool_id, args.users, console)
        if args.fill_only:
            return
        plans(db_url, pool_id, args.users, console)
        if args.plans_only:
            return
        if args.only_mixed:
            mixed(idp, url, pool_id, args, console, proc.pid)
            return
        rows: list[tuple[str, ...]] = []
        for name, text in [*cases(args.users), ("(no filter), page 2 (token)", "")]:
            second = name.endswith("(token)")
            server = measure_in_process(db_url, pool_id, text, args.repeat, second)
            kwargs: dict[str, Any] = {"UserPoolId": pool_id, "Limit": 60}
            if text:
                kwargs["Filter"] = text
            first = idp.list_users(**kwargs)
            if second:
                kwargs["PaginationToken"] = first["PaginationToken"]
            got = len(idp.list_users(**kwargs)["Users"])
            client: list[float] = []
            cpu_before = cpu_seconds(proc.pid)
            for _ in range(args.repeat):
                started = time.perf_counter()
                idp.list_users(**kwargs)
                client.append(time.perf_counter() - started)
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) / args.repeat * 1000
            rows.append(
                (
                    name,
                    str(got),
                    f"{pct(server, 0.5):.2f}",
                    f"{pct(server, 0.99):.2f}",
                    f"{pct(client, 0.5):.2f}",
                    f"{pct(client, 0.99):.2f}",
                    f"{cpu_ms:.2f}",
                )
            )
        store = "PostgreSQL" if args.database_url else "SQLite"
        table = Table(
            title=f"ListUsers (Limit 60) on a {args.users:,}-user pool — {store}, 1 worker, "
            f"{os.cpu_count()} cores, {args.repeat} calls each"
        )
        for col in (
            "filter",
            "users",
            "server p50 ms",
            "server p99 ms",
            "client p50 ms",
            "client p99 ms",
            "server CPU ms/call",
        ):
            table.add_column(col, justify="left" if col == "filter" else "right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
        mixed(idp, url, pool_id, args, console, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def _get_user_loop(idp: Any, token: str, stop: threading.Event, out: list[float]) -> None:
    idp.get_user(AccessToken=token)  # the client's first call loads what botocore loads lazily: not timed
    while not stop.is_set():
        started = time.perf_counter()
        idp.get_user(AccessToken=token)
        out.append(time.perf_counter() - started)


def _pager(url: str, pool_id: str, stop: Any, ready: Any, count: Any) -> None:
    """A caller paging through filtered listings, in a process of its own: decoding 60 users a page
    (botocore) would otherwise hold the bench's own interpreter lock and delay its GetUser caller."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    idp.list_users(UserPoolId=pool_id, Limit=1)  # the client's first call loads what botocore loads lazily
    with ready.get_lock():
        ready.value += 1
    kinds = ['username ^= "user0"', 'given_name ^= "A"', 'cognito:user_status = "CONFIRMED"', "", 'email ^= "user9"']
    i = 0
    while not stop.is_set():
        kwargs: dict[str, Any] = {"UserPoolId": pool_id, "Limit": 60}
        if kinds[i % len(kinds)]:
            kwargs["Filter"] = kinds[i % len(kinds)]
        page = idp.list_users(**kwargs)
        calls = 1
        for _ in range(4):  # a few pages further, as a console would
            if "PaginationToken" not in page or stop.is_set():
                break
            page = idp.list_users(**kwargs, PaginationToken=page["PaginationToken"])
            calls += 1
        with count.get_lock():
            count.value += calls
        i += 1


def _writer(url: str, pool_id: str, username: str, every: float, stop: Any, ready: Any, out: Any) -> None:
    """A caller changing one user's attribute every ``every`` seconds (AdminUpdateUserAttributes, a
    write on the worker while the import's process writes too), in a process of its own; its
    latencies (seconds) go back through ``out`` when it stops."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    idp.admin_get_user(UserPoolId=pool_id, Username=username)  # botocore's lazy loading: not timed
    with ready.get_lock():
        ready.value += 1
    samples: list[float] = []
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        idp.admin_update_user_attributes(
            UserPoolId=pool_id, Username=username, UserAttributes=[{"Name": "given_name", "Value": f"w{i}"}]
        )
        samples.append(time.perf_counter() - started)
        i += 1
        time.sleep(every)
    out.put(samples)


def _start_import(idp: Any, pool_id: str, n: int, run: str) -> str:
    job = idp.create_user_import_job(
        UserPoolId=pool_id, JobName="bench", CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/import"
    )["UserImportJob"]
    header = idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]
    lines = [",".join(header)]
    for i in range(n):
        values = {h: "" for h in header}
        values.update(
            {
                "cognito:username": f"imported-{run}-{i}",
                "email": f"imported-{run}-{i}@example.org",
                "email_verified": "true",
                "cognito:mfa_enabled": "false",
            }
        )
        lines.append(",".join(values[h] for h in header))
    httpx.put(
        job["PreSignedUrl"],
        content="\n".join(lines).encode(),
        headers={"x-amz-server-side-encryption": "aws:kms"},
        timeout=120,
    ).raise_for_status()
    idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    return str(job["JobId"])


def mixed(idp: Any, url: str, pool_id: str, args: argparse.Namespace, console: Console, server_pid: int) -> None:
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="bench",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    run = secrets.token_hex(3)  # names of this run's users (a kept pool holds those of earlier runs)
    username = f"getuser-bench-{run}"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    token = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]

    def session() -> Any:
        return boto3.client(
            "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
        )

    results: list[tuple[str, ...]] = []
    ratios: list[tuple[float, float]] = []
    for round_no in range(1, args.mixed_rounds + 1):
        alone: list[float] = []
        loaded = "GetUser + 2 ListUsers pagers + CSV import" + (" + writes" if args.mixed_writes_ms > 0 else "")
        for label, load in (("GetUser alone", False), (loaded, True)):
            stop = threading.Event()
            samples: list[float] = []
            spawn = mp.get_context("spawn")
            pagers_stop, ready, listed = spawn.Event(), spawn.Value("i", 0), spawn.Value("i", 0)
            writes = spawn.Queue()
            pagers: list[Any] = []
            threads = [threading.Thread(target=_get_user_loop, args=(session(), token, stop, samples))]
            job = ""
            if load:
                pagers = [
                    spawn.Process(target=_pager, args=(url, pool_id, pagers_stop, ready, listed)) for _ in range(2)
                ]
                if args.mixed_writes_ms > 0:
                    pagers.append(
                        spawn.Process(
                            target=_writer,
                            args=(url, pool_id, username, args.mixed_writes_ms / 1000, pagers_stop, ready, writes),
                        )
                    )
                for pager in pagers:
                    pager.start()
                deadline = time.monotonic() + 300
                while ready.value < len(pagers) and time.monotonic() < deadline:
                    time.sleep(0.1)
                try:
                    job = _start_import(idp, pool_id, args.import_users, f"{run}-{round_no}")
                    started = time.monotonic()
                    _wait_for_job(idp, pool_id, job, running=True)  # the window starts once rows are written
                    console.print(f"import {job}: writing rows {time.monotonic() - started:.1f} s after its start")
                except Exception as err:  # the bench reports what it could not do
                    console.print(f"[yellow]import not started: {err}")
            for th in threads:
                th.start()
            with listed.get_lock():
                listed.value = 0  # the pagers' calls within the window
            cpu_before = cpu_by_process(server_pid)
            time.sleep(args.mixed_seconds)
            cpu_after = cpu_by_process(server_pid)
            own = cpu_after.get(server_pid, ("", 0.0))[1] - cpu_before.get(server_pid, ("", 0.0))[1]
            others = sum(  # the children alive at the end (an import's process that ended is not counted)
                v - cpu_before.get(p, ("", 0.0))[1] for p, (_, v) in cpu_after.items() if p != server_pid
            )
            stop.set()
            for th in threads:
                th.join()
            calls = listed.value
            pagers_stop.set()
            written: list[float] = []
            if load and args.mixed_writes_ms > 0:
                with contextlib.suppress(Exception):  # the writer failed: no figures
                    written = writes.get(timeout=60)
            for pager in pagers:
                pager.join()
            state = ""
            if job:
                described = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job)["UserImportJob"]
                state = f"{described['Status']}, {described.get('ImportedUsers', 0):,}"
            relative = ""
            if load:
                p50, p99 = pct(samples, 0.5) / pct(alone, 0.5), pct(samples, 0.99) / pct(alone, 0.99)
                ratios.append((p50, p99))
                relative = f"{p50:.2f} / {p99:.2f}"
            else:
                alone = samples
            results.append(
                (
                    f"{round_no}: {label}",
                    f"{len(samples):,}",
                    f"{pct(samples, 0.5):.2f}",
                    f"{pct(samples, 0.99):.2f}",
                    f"{max(samples) * 1000:.1f}",
                    relative,
                    f"{calls:,}",
                    (
                        f"{len(written):,}: {pct(written, 0.5):.1f} / {pct(written, 0.99):.1f} / {max(written) * 1000:.0f}"
                        if written
                        else ""
                    ),
                    f"{own:.2f} / {others:.2f}",
                    state,
                    f"{os.getloadavg()[0]:.1f}",
                )
            )
            if job:  # the next round starts without this import's tail
                with contextlib.suppress(Exception):  # it may have ended
                    idp.stop_user_import_job(UserPoolId=pool_id, JobId=job)
                _wait_for_job(idp, pool_id, job)
    table = Table(
        title=f"Mixed load on one worker ({args.mixed_seconds:.0f} s each, {args.mixed_rounds} rounds), "
        f"GetUser from one caller"
    )
    for col in (
        "scenario",
        "GetUser calls",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p50 / p99 vs alone",
        "ListUsers calls",
        "writes: n: p50 / p99 / max ms",
        "CPU s: worker / its children",
        "import",
        "load avg",
    ):
        table.add_column(col, justify="left" if col in ("scenario", "import") else "right")
    for r in results:
        table.add_row(*r)
    console.print(table)
    if ratios:
        console.print(
            f"GetUser under load vs alone (same round), median over rounds: p50 x"
            f"{statistics.median(r[0] for r in ratios):.2f}, p99 x{statistics.median(r[1] for r in ratios):.2f}"
        )


def _wait_for_job(idp: Any, pool_id: str, job: str, timeout: float = 600, running: bool = False) -> None:
    """Until the job has ended (``running``: until it has written its first rows)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job)["UserImportJob"]
        if described["Status"] in ("Succeeded", "Failed", "Stopped"):
            return
        if running and described.get("ImportedUsers", 0) > 0:
            return
        time.sleep(0.1 if running else 0.5)


if __name__ == "__main__":
    main()
