"""GetCredentialsForIdentity per second (identity pools' enhanced flow) against a running Ostiary.

    python bench/identity_throughput.py                  # starts its own servers: 1 worker, then 2
    python bench/identity_throughput.py --workers 1 --duration 10
    python bench/identity_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:55503/bench

Set-up through boto3: a user pool with a signed-in user, an identity pool trusting it, the two
roles. Then unsigned requests are replayed over keep-alive connections from --clients processes:

- GetCredentialsForIdentity with the user's ID token (signature, issuer, audience and expiry checked
  on every call, trust policy evaluated, a new ASIA role session stored and returned);
- GetCredentialsForIdentity for a guest identity (no login to verify);
- GetId with the ID token (an existing identity: read-only).

Server CPU time per request comes from /proc (the server process and its workers), so "per core"
does not depend on what the load generator took; on PostgreSQL (--database-url: a database the bench
may empty, its public schema is dropped before each server starts) the CPU of the backends serving the
database (/proc of this machine) is measured too. Loopback only; bounded by --duration; no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, PgBackends, Result, _run, cpu_seconds, pg_backends, start_server

PASSWORD = "Bench-Passw0rd!"
TARGET = "AWSCognitoIdentityService"


def _raw(url: str, operation: str, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"X-Amz-Target: {TARGET}.{operation}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _trust(pool_id: str, amr: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                      "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})


def set_up(url: str) -> dict[str, bytes]:
    kw: dict[str, Any] = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": KEY,
                          "aws_secret_access_key": SECRET}
    idp, iam, ci = boto3.client("cognito-idp", **kw), boto3.client("iam", **kw), boto3.client("cognito-identity", **kw)
    pool_id = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="bench",
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                                            IdTokenValidity=1, TokenValidityUnits={"IdToken": "days"},
                                            )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="bench", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="bench", Password=PASSWORD, Permanent=True)
    id_token = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": "bench", "PASSWORD": PASSWORD})["AuthenticationResult"]["IdToken"]
    provider = f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    identity_pool = ci.create_identity_pool(IdentityPoolName="bench", AllowUnauthenticatedIdentities=True,
                                            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client_id}]
                                            )["IdentityPoolId"]
    roles = {kind: iam.create_role(RoleName=f"bench-{kind}", AssumeRolePolicyDocument=_trust(identity_pool, kind))
             ["Role"]["Arn"] for kind in ("authenticated", "unauthenticated")}
    ci.set_identity_pool_roles(IdentityPoolId=identity_pool, Roles=roles)
    logins = {provider: id_token}
    identity = ci.get_id(IdentityPoolId=identity_pool, Logins=logins)["IdentityId"]
    guest = ci.get_id(IdentityPoolId=identity_pool)["IdentityId"]
    ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)  # checked once through boto3
    return {
        "GetCredentialsForIdentity (ID token)": _raw(url, "GetCredentialsForIdentity",
                                                     {"IdentityId": identity, "Logins": logins}),
        "GetCredentialsForIdentity (guest)": _raw(url, "GetCredentialsForIdentity", {"IdentityId": guest}),
        "GetId (ID token, existing identity)": _raw(url, "GetId", {"IdentityPoolId": identity_pool, "Logins": logins}),
    }


def _client(job: tuple[str, str, bytes, float, int]) -> Result:
    url, name, payload, seconds, concurrency = job
    return asyncio.run(_run(url, name, payload, seconds, concurrency))


def measure(url: str, pid: int, name: str, payload: bytes, seconds: float, concurrency: int, clients: int,
            pg: PgBackends | None = None) -> tuple[Result, float, float]:
    """The run's result, the server's CPU seconds per request and PostgreSQL's (0 on SQLite)."""
    asyncio.run(_run(url, name, payload, 1.0, 4))  # warm-up
    before = cpu_seconds(pid)
    pg_before = pg.cpu() if pg else {}
    jobs = [(url, name, payload, seconds, max(1, concurrency // clients))] * clients
    with mp.get_context("spawn").Pool(clients) as pool:
        parts = pool.map(_client, jobs)
    cpu = cpu_seconds(pid) - before
    pg_cpu = pg.used(pg_before, pg.cpu()) if pg else 0.0
    merged = Result(name, sum(p.requests for p in parts), sum(p.errors for p in parts),
                    max(p.seconds for p in parts), [x for p in parts for x in p.latencies])
    return merged, cpu / max(merged.requests, 1), pg_cpu / max(merged.requests, 1)


def empty_database(database_url: str) -> None:
    """Drop everything in the database's public schema (each server run starts from nothing)."""
    with psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to run, one server each")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--clients", type=int, default=2, help="load-generator processes")
    ap.add_argument("--database-url", default="",
                    help="a PostgreSQL database the bench may empty (default: SQLite in a temporary directory)")
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
        pg = pg_backends(args.database_url)
        rows: list[tuple[Result, float, float]] = []
        try:
            for name, payload in set_up(url).items():
                rows.append(measure(url, proc.pid, name, payload, args.duration, args.concurrency, args.clients, pg))
        finally:
            if pg:
                pg.close()
            proc.terminate()
            proc.wait(timeout=20)
            shutil.rmtree(data_dir, ignore_errors=True)
        table = Table(title=f"Ostiary identity pools — {workers} worker(s), {os.cpu_count()} cores, {store}, "
                            f"{args.clients} client processes x {args.concurrency // args.clients} connections, "
                            f"load average {os.getloadavg()[0]:.1f}")
        columns = ["operation", "per second", "p50 ms", "p99 ms", "errors", "server CPU ms/op"]
        if pg:
            columns += ["PostgreSQL CPU ms/op", "total CPU ms/op"]
        for col in (*columns, "per core (CPU bound)"):
            table.add_column(col, justify="left" if col == "operation" else "right")
        for r, cpu, db_cpu in rows:
            ms = cpu * 1000
            total = (cpu + db_cpu) * 1000
            cells = [r.name, f"{r.rate:,.0f}", f"{r.pct(0.5):.1f}", f"{r.pct(0.99):.1f}", str(r.errors), f"{ms:.2f}"]
            if pg:
                cells += [f"{db_cpu * 1000:.2f}", f"{total:.2f}"]
            table.add_row(*cells, f"{1000 / total:,.0f}" if total else "-")
        console.print(table)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
