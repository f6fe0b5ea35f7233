"""IAM Identity Center's CLI paths per second against a running Ostiary: the portal API's
GetRoleCredentials and sso-oidc's CreateToken with the refresh token grant.

    python bench/sso_throughput.py                  # starts its own servers: 1 worker, then 2
    python bench/sso_throughput.py --workers 1 --duration 10
    python bench/sso_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:55503/bench

Set-up through boto3 as the default account's root: an instance, a directory user, a permission set
assigned to the user in the account (its role provisioned), a client registered with the
``sso:account:access`` scope, and one device-flow session per connection, approved through
``ssooidc.device.approve`` (what the portal's device page calls) on the server's database. Then:

- GetRoleCredentials (``GET /federation/credentials``, the bearer token checked, the user's
  assignments read, a new ASIA role session stored) replayed over keep-alive connections from
  --clients processes;
- CreateToken, refresh_token grant: each connection refreshes its own session in a loop, presenting
  the refresh token the previous answer rotated in (client secret checked, the old token spent, a new
  access and refresh token stored).

Server CPU time per request comes from /proc (the server process and its workers), so "per core" does
not depend on what the load generator took; on PostgreSQL the CPU of the backends serving the database
is measured too. Loopback only; bounded by --duration; no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, PgBackends, Result, cpu_seconds, pg_backends, start_server
from identity_throughput import empty_database, measure

from ostiary.ssooidc import device
from ostiary.store.db import Store

POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
)


def set_up(url: str, database_url: str, sessions: int) -> tuple[bytes, dict[str, Any], list[str]]:
    """(GetRoleCredentials' raw request, the registered client, a refresh token per session)."""
    kw: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
    }
    admin, ids = boto3.client("sso-admin", **kw), boto3.client("identitystore", **kw)
    oidc, sso = (
        boto3.client("sso-oidc", endpoint_url=url, region_name=REGION),
        boto3.client("sso", endpoint_url=url, region_name=REGION),
    )
    arn = admin.create_instance(Name="bench")["InstanceArn"]
    instance = admin.describe_instance(InstanceArn=arn)
    store_id, account = instance["IdentityStoreId"], instance["OwnerAccountId"]
    user_id = ids.create_user(
        IdentityStoreId=store_id,
        UserName="bench",
        DisplayName="Bench",
        Name={"GivenName": "Bench", "FamilyName": "User"},
    )["UserId"]
    ps = admin.create_permission_set(InstanceArn=arn, Name="Bench")["PermissionSet"]["PermissionSetArn"]
    admin.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, InlinePolicy=POLICY)
    admin.create_account_assignment(
        InstanceArn=arn,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user_id,
    )
    client = oidc.register_client(clientName="bench", clientType="public", scopes=["sso:account:access"])
    store = Store(database_url)
    refresh_tokens: list[str] = []
    access_token = ""
    try:
        for _ in range(sessions):
            auth = oidc.start_device_authorization(
                clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=f"{url}/start/{store_id}"
            )
            with store.tx() as conn:
                device.approve(conn, auth["userCode"], user_id, dt.datetime.now(dt.UTC))
            got = oidc.create_token(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                grantType="urn:ietf:params:oauth:grant-type:device_code",
                deviceCode=auth["deviceCode"],
            )
            refresh_tokens.append(got["refreshToken"])
            access_token = got["accessToken"]
    finally:
        store.dispose()
    sso.get_role_credentials(accessToken=access_token, accountId=account, roleName="Bench")  # checked once
    query = urlencode({"role_name": "Bench", "account_id": account})
    raw = (
        f"GET /federation/credentials?{query} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
        f"x-amz-sso_bearer_token: {access_token}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    return raw, client, refresh_tokens


async def _refresher(host: str, port: int, client: dict[str, Any], token: str, deadline: float, out: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            body = json.dumps(
                {
                    "clientId": client["clientId"],
                    "clientSecret": client["clientSecret"],
                    "grantType": "refresh_token",
                    "refreshToken": token,
                }
            ).encode()
            started = time.perf_counter()
            writer.write(
                (
                    f"POST /token HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
                ).encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:"), 0
            )
            answer = await reader.readexactly(length)
            out.latencies.append(time.perf_counter() - started)
            out.requests += 1
            if int(head[9:12]) != 200:
                out.errors += 1
                return  # the session is spent: this connection stops
            token = json.loads(answer)["refreshToken"]
    finally:
        writer.close()


def measure_refresh(
    url: str, pid: int, client: dict[str, Any], tokens: list[str], seconds: float, pg: PgBackends | None
) -> tuple[Result, float, float]:
    parts = urlsplit(url)
    out = Result("CreateToken (refresh_token grant)", 0, 0, seconds, [])
    before, pg_before = cpu_seconds(pid), (pg.cpu() if pg else {})

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _refresher(parts.hostname or "127.0.0.1", parts.port or 80, client, token, deadline, out)
                for token in tokens
            )
        )

    started = time.perf_counter()
    asyncio.run(run())
    out.seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - before
    pg_cpu = pg.used(pg_before, pg.cpu()) if pg else 0.0
    return out, cpu / max(out.requests, 1), pg_cpu / max(out.requests, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to run, one server each")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--clients", type=int, default=2, help="load-generator processes (GetRoleCredentials)")
    ap.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL database the bench may empty (default: SQLite in a temporary directory)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment
    store = "PostgreSQL" if args.database_url else "SQLite"
    console = Console(width=None if sys.stdout.isatty() else 160)
    for workers in (int(w) for w in args.workers.split(",")):
        if args.database_url:
            empty_database(args.database_url)
        proc, url, data_dir = start_server(workers)
        database_url = args.database_url or f"sqlite:///{(data_dir / 'ostiary.db').resolve()}"
        pg = pg_backends(args.database_url)
        rows: list[tuple[Result, float, float]] = []
        try:
            raw, client, refresh_tokens = set_up(url, database_url, args.concurrency)
            rows.append(
                measure(url, proc.pid, "GetRoleCredentials", raw, args.duration, args.concurrency, args.clients, pg)
            )
            rows.append(measure_refresh(url, proc.pid, client, refresh_tokens, args.duration, pg))
        finally:
            if pg:
                pg.close()
            proc.terminate()
            proc.wait(timeout=20)
            shutil.rmtree(data_dir, ignore_errors=True)
        table = Table(
            title=f"Ostiary IAM Identity Center — {workers} worker(s), {os.cpu_count()} cores, {store}, "
            f"{args.concurrency} connections, load average {os.getloadavg()[0]:.1f}"
        )
        columns = ["operation", "per second", "p50 ms", "p99 ms", "errors", "server CPU ms/op"]
        if pg:
            columns += ["PostgreSQL CPU ms/op", "total CPU ms/op"]
        for col in (*columns, "per core (CPU bound)"):
            table.add_column(col, justify="left" if col == "operation" else "right")
        for r, cpu, db_cpu in rows:
            total = (cpu + db_cpu) * 1000
            cells = [
                r.name,
                f"{r.rate:,.0f}",
                f"{r.pct(0.5):.1f}",
                f"{r.pct(0.99):.1f}",
                str(r.errors),
                f"{cpu * 1000:.2f}",
            ]
            if pg:
                cells += [f"{db_cpu * 1000:.2f}", f"{total:.2f}"]
            table.add_row(*cells, f"{1000 / total:,.0f}" if total else "-")
        console.print(table)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
