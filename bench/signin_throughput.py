"""Sign-ins, refreshes and GetUser per second against a running Ostiary, with the real Argon2 cost.

    python bench/signin_throughput.py                # starts its own server, 1 worker
    python bench/signin_throughput.py --workers 2
    python bench/signin_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:55433/bench

USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH and GetUser requests are replayed over keep-alive
connections (each one is a full sign-in, refresh or token check on the server). USER_SRP_AUTH runs
the real two-step exchange from client processes that do the client-side SRP math with gmpy2 and a
256-bit secret exponent (so the client, not the server, is cheap). Bounded by --duration; loopback only.
The Argon2 parameters are the server's defaults (never lowered here).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import multiprocessing as mp
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, Result, _run, cpu_seconds, pg_backends, rss_mb, start_server
from hot_paths import signature_floor

from ostiary.config import Settings
from ostiary.userpools import srp

PASSWORD = "Bench-Passw0rd!"


def _raw(url: str, target: str, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    host = urlsplit(url).netloc
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"X-Amz-Target: AWSCognitoIdentityProviderService.{target}\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _post(conn: http.client.HTTPConnection, target: str, payload: dict[str, object]) -> dict[str, object]:
    conn.request("POST", "/", body=json.dumps(payload), headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"})
    resp = conn.getresponse()
    data: dict[str, object] = json.loads(resp.read())
    if resp.status != 200:
        raise RuntimeError(str(data))
    return data


def _srp_worker(args: tuple[str, str, str, list[str], float]) -> tuple[int, int, list[float]]:
    url, pool_id, client_id, users, until = args
    # seconds from this worker's start (spawning it may take seconds on a loaded machine), or an
    # absolute time.time() deadline as before
    deadline = until if until > 1e9 else time.time() + until
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    group = pool_id.split("_", 1)[1]
    done = errors = 0
    latencies: list[float] = []
    i = 0
    while time.time() < deadline:
        username = users[i % len(users)]
        i += 1
        started = time.perf_counter()
        try:
            a = secrets.randbits(256) | (1 << 255)
            big_a = srp._powmod(srp.G, a, srp.N)
            challenge = _post(conn, "InitiateAuth", {
                "ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
                "AuthParameters": {"USERNAME": username, "SRP_A": format(big_a, "x")}})["ChallengeParameters"]
            assert isinstance(challenge, dict)
            stamp = srp.format_timestamp(__import__("datetime").datetime.now(__import__("datetime").UTC))
            block = base64.b64decode(challenge["SECRET_BLOCK"])
            proof = srp.client_respond(group, challenge["USER_ID_FOR_SRP"], PASSWORD, challenge["SALT"],
                                       int(challenge["SRP_B"], 16), a, block, stamp)
            _post(conn, "RespondToAuthChallenge", {
                "ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeResponses": {"USERNAME": challenge["USERNAME"], "TIMESTAMP": stamp,
                                       "PASSWORD_CLAIM_SECRET_BLOCK": challenge["SECRET_BLOCK"],
                                       "PASSWORD_CLAIM_SIGNATURE": proof["signature"].decode()}})
            done += 1
            latencies.append(time.perf_counter() - started)
        except Exception:
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    return done, errors, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--srp-clients", type=int, default=2)
    ap.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite in a temp dir)")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment

    proc, url, data_dir = start_server(args.workers)
    backends = pg_backends(args.database_url)  # PostgreSQL's own CPU per operation counts too
    pg_cpu: dict[str, float] = {}
    try:
        idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION,
                           aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        pool_id = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="bench",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        users = [f"user{i}" for i in range(16)]
        for u in users:
            idp.admin_create_user(UserPoolId=pool_id, Username=u, MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool_id, Username=u, Password=PASSWORD, Permanent=True)
        tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": users[0], "PASSWORD": PASSWORD})["AuthenticationResult"]
        cases = {
            "USER_PASSWORD_AUTH sign-in": _raw(url, "InitiateAuth", {
                "ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": users[1], "PASSWORD": PASSWORD}}),
            "REFRESH_TOKEN_AUTH refresh": _raw(url, "InitiateAuth", {
                "ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
                "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}}),
            "GetUser (access token check)": _raw(url, "GetUser", {"AccessToken": tokens["AccessToken"]}),
        }
        results: list[Result] = []
        cpu: dict[str, float] = {}
        for name, payload in cases.items():
            asyncio.run(_run(url, name, payload, 1.0, args.concurrency))
            before = cpu_seconds(proc.pid)
            pg_before = backends.cpu() if backends else {}
            results.append(asyncio.run(_run(url, name, payload, args.duration, args.concurrency)))
            cpu[name] = (cpu_seconds(proc.pid) - before) / max(results[-1].requests, 1)
            if backends:
                pg_cpu[name] = backends.used(pg_before, backends.cpu()) / max(results[-1].requests, 1)
        before = cpu_seconds(proc.pid)
        pg_before = backends.cpu() if backends else {}
        started = time.perf_counter()
        with mp.get_context("spawn").Pool(args.srp_clients) as workers:
            parts = workers.map(_srp_worker, [(url, pool_id, client_id, users, args.duration)] * args.srp_clients)
        srp_result = Result("USER_SRP_AUTH sign-in (2 round trips)", sum(p[0] for p in parts),
                            sum(p[1] for p in parts), time.perf_counter() - started,
                            [x for p in parts for x in p[2]])
        cpu[srp_result.name] = (cpu_seconds(proc.pid) - before) / max(srp_result.requests, 1)
        if backends:
            pg_cpu[srp_result.name] = backends.used(pg_before, backends.cpu()) / max(srp_result.requests, 1)
        results.insert(1, srp_result)
        memory = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)
        if backends:
            backends.close()
    floor = signature_floor(200)  # the refresh's two RS256 signatures, timed in this process

    s = Settings()
    store = "PostgreSQL" if args.database_url else "SQLite"
    table = Table(title=f"Ostiary sign-in throughput — {store}, {args.workers} worker(s), {os.cpu_count()} cores, "
                        f"argon2id m={s.argon2_memory_kib}KiB t={s.argon2_time_cost} p={s.argon2_parallelism}")
    columns = ["operation", "per second", "p50 ms", "p99 ms", "errors", "server CPU ms/op", "per core (CPU bound)"]
    if backends:  # per core then counts both: what one core running Ostiary and PostgreSQL answers
        columns[6:6] = ["PostgreSQL CPU ms/op", "Ostiary + PostgreSQL CPU ms/op"]
    for col in columns:
        table.add_column(col, justify="left" if col == "operation" else "right")
    for r in results:
        ms = cpu[r.name] * 1000
        pg_ms = pg_cpu.get(r.name, 0.0) * 1000
        row = [r.name, f"{r.rate:,.0f}", f"{r.pct(0.5):.1f}", f"{r.pct(0.99):.1f}", str(r.errors),
               f"{ms:.3f}", f"{1000 / (ms + pg_ms):,.0f}" if ms else "-"]
        if backends:
            row[6:6] = [f"{pg_ms:.3f}", f"{ms + pg_ms:.3f}"]
        table.add_row(*row)
    console = Console(width=160)
    console.print(table)
    refresh = next((r.name for r in results if r.name.startswith("REFRESH")), None)
    if refresh and floor:
        total = (cpu[refresh] + pg_cpu.get(refresh, 0.0)) * 1000
        console.print(f"Refresh floor (two RS256 signatures in this process): {floor * 1000:.3f} ms; "
                      f"floor / refresh CPU = {floor * 1000 / total:.2f} (target ≥ 0.75)")
    console.print("RSS MB: " + ", ".join(f"{mb:.0f}" for _, mb in memory))


if __name__ == "__main__":
    main()
