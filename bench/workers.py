"""How evenly `ostiary serve --workers N` spreads its load, and how much memory each worker holds.

    python bench/workers.py                          # 10 runs of 2 workers: each worker's share of the CPU
    python bench/workers.py --runs 30 --seconds 4
    python bench/workers.py --full                   # one server through the loads of api_throughput.py,
                                                     # signin_throughput.py and identity_throughput.py in
                                                     # sequence: RSS per worker idle and after each load
    python bench/workers.py --full --workers 1 --database-url postgresql+psycopg://postgres@127.0.0.1:55505/bench

Spread (default): each run starts a fresh server (SQLite, access log off), waits until every worker has
finished starting (its CPU time stops growing), and replays one pre-signed GetCallerIdentity over
--concurrency new keep-alive connections for --seconds (the connections are opened at once, as the
burst that used to land on one worker). A worker's share is its
user+system CPU time over the run (from /proc) divided by all workers' CPU time; the table gives each run's
shares, the rate and RSS per worker after the run, and the summary counts the runs in which one worker did
95 % or more of the work.

Full (--full): one server through DescribeUserPool, GetCallerIdentity and AssumeRole (api_throughput.py),
USER_PASSWORD_AUTH with the default Argon2id cost, USER_SRP_AUTH, REFRESH_TOKEN_AUTH and GetUser
(signin_throughput.py), GetCredentialsForIdentity and GetId (identity_throughput.py), --seconds each,
with VmRSS, RssAnon and each worker's CPU share after each load. Nothing is asserted: figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import (
    KEY,
    REGION,
    SECRET,
    Result,
    _run,
    build_cases,
    cpu_by_process,
    run_python,
    server_processes,
    signed_case,
    start_server,
)
from identity_throughput import set_up as identity_set_up
from signin_throughput import _srp_worker

PASSWORD = "Bench-Passw0rd!"


def memory(pid: int) -> dict[int, tuple[str, float, float]]:
    """pid -> (role, VmRSS MB, RssAnon MB) of the server and its descendants."""
    out: dict[int, tuple[str, float, float]] = {}
    for p, role, rss in server_processes(pid):
        anon = 0.0
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
        out[p] = (role, rss, anon)
    return out


def shares(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[int, float]:
    """Worker pid -> CPU seconds used between the two readings."""
    return {p: sec - before.get(p, (role, 0.0))[1] for p, (role, sec) in after.items() if role == "worker"}


def _fmt_shares(used: dict[int, float]) -> str:
    total = sum(used.values()) or 1.0
    return " / ".join(f"{u / total:.2f}" for u in sorted(used.values(), reverse=True))


def _workers_rss(mem: dict[int, tuple[str, float, float]]) -> list[float]:
    return sorted((rss for role, rss, _ in mem.values() if role == "worker"), reverse=True)


# --- spread: many short runs, fresh server each ----------------------------------------------------------


def settle(pid: int, timeout: float = 180.0) -> None:
    """Wait until every worker has finished starting (its CPU time stops growing for a second): a worker
    still importing does not listen yet, so connections opened then all go to the workers already up
    (with one socket per worker as with one shared socket), whatever the spread afterwards."""
    deadline = time.monotonic() + timeout
    before = cpu_by_process(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_by_process(pid)
        grown = [sec - before.get(p, (role, 0.0))[1] for p, (role, sec) in now.items() if role == "worker"]
        if grown and max(grown) < 0.05:
            return
        before = now


def spread(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for i in range(args.runs):
        proc, url, data_dir = start_server(args.workers)
        try:
            settle(proc.pid)
            case = signed_case(url, "GetCallerIdentity", "sts", None,
                               b"Action=GetCallerIdentity&Version=2011-06-15", KEY, SECRET)
            before = cpu_by_process(proc.pid)
            result = run_python(url, case, args.seconds, args.concurrency, args.clients)
            used = shares(before, cpu_by_process(proc.pid))
            mem = memory(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(data_dir, ignore_errors=True)
        total = sum(used.values()) or 1.0
        top = max(used.values(), default=0.0) / total
        rows.append({"run": i + 1, "rps": round(result.rate), "errors": result.errors,
                     "shares": sorted((round(u / total, 3) for u in used.values()), reverse=True),
                     "top_share": round(top, 3), "worker_rss_mb": [round(x, 1) for x in _workers_rss(mem)]})
        console.print(f"  run {i + 1}: {result.rate:,.0f}/s, shares {_fmt_shares(used)}")
    table = Table(title=f"Ostiary workers — {args.workers} workers, {args.runs} runs of {args.seconds:.0f} s, "
                        f"{args.concurrency} new connections each, GetCallerIdentity, {os.cpu_count()} cores, "
                        f"load average {os.getloadavg()[0]:.1f}")
    for col in ("run", "requests/s", "errors", "share of CPU per worker", "RSS MB per worker"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["run"]), f"{r['rps']:,}", str(r["errors"]), " / ".join(f"{s:.2f}" for s in r["shares"]),
                      " / ".join(f"{m:.0f}" for m in r["worker_rss_mb"]))
    console.print(table)
    lopsided = sum(1 for r in rows if r["top_share"] >= 0.95)
    fair = 1 / max(args.workers, 1)
    console.print(f"runs with one worker at ≥ 95 % of the CPU: {lopsided} of {len(rows)}; busiest worker's share: "
                  f"mean {statistics.mean(r['top_share'] for r in rows):.2f}, "
                  f"max {max(r['top_share'] for r in rows):.2f} (even: {fair:.2f})")
    return {"mode": "spread", "workers": args.workers, "runs": rows, "lopsided_runs": lopsided}


# --- full: every bench's load against one server ---------------------------------------------------------


def _client(job: tuple[str, str, bytes, float, int]) -> Result:
    url, name, payload, seconds, concurrency = job
    return asyncio.run(_run(url, name, payload, seconds, concurrency))


def _raw(url: str, target: str, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    host = url.split("//", 1)[1]
    head = (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: {target}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return head.encode() + body


def signin_loads(url: str) -> tuple[dict[str, bytes], tuple[str, str, list[str]]]:
    """signin_throughput.py's set-up: pool, client, 16 users with the default Argon2id cost."""
    idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                       aws_secret_access_key=SECRET)
    pool_id = idp.create_user_pool(PoolName="bench-workers")["UserPool"]["Id"]
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
    target = "AWSCognitoIdentityProviderService."
    loads = {
        "USER_PASSWORD_AUTH sign-in": _raw(url, target + "InitiateAuth", {
            "ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": users[1], "PASSWORD": PASSWORD}}),
        "REFRESH_TOKEN_AUTH refresh": _raw(url, target + "InitiateAuth", {
            "ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}}),
        "GetUser": _raw(url, target + "GetUser", {"AccessToken": tokens["AccessToken"]}),
    }
    return loads, (pool_id, client_id, users)


def full(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment
    proc, url, data_dir = start_server(args.workers)
    settle(proc.pid)
    phases: list[dict[str, Any]] = []

    def record(name: str, used: dict[int, float], rate: float, requests: int = 0) -> None:
        mem = memory(proc.pid)
        cpu_us = round(sum(used.values()) / requests * 1e6) if requests else None
        phases.append({"load": name, "rps": round(rate), "shares": _fmt_shares(used) if used else "",
                       "cpu_us_per_request": cpu_us,
                       "workers": {p: (round(rss, 1), round(anon, 1)) for p, (role, rss, anon) in mem.items()
                                   if role == "worker"},
                       "supervisor_mb": round(sum(rss for role, rss, _ in mem.values() if role == "supervisor"), 1)})
        worst = max((rss for role, rss, _ in mem.values() if role == "worker"), default=0.0)
        console.print(f"  {name}: {rate:,.0f}/s, shares {phases[-1]['shares']}, largest worker RSS {worst:.0f} MB")

    def load(name: str, payload: bytes) -> None:
        asyncio.run(_run(url, name, payload, 1.0, 4))  # warm-up
        before = cpu_by_process(proc.pid)
        jobs = [(url, name, payload, args.seconds, max(1, args.concurrency // args.clients))] * args.clients
        with mp.get_context("spawn").Pool(args.clients) as pool:
            parts = pool.map(_client, jobs)
        requests = sum(p.requests for p in parts)
        rate = requests / max(max(p.seconds for p in parts), 1e-9)
        record(name, shares(before, cpu_by_process(proc.pid)), rate, requests)

    try:
        time.sleep(2.0)
        record("idle (after start)", {}, 0.0)
        for case in build_cases(url, KEY, SECRET, console):
            load(case.name, case.raw)
        signin, (pool_id, client_id, users) = signin_loads(url)
        for name, payload in signin.items():
            load(name, payload)
        before = cpu_by_process(proc.pid)
        deadline = time.time() + args.seconds
        with mp.get_context("spawn").Pool(2) as pool:
            parts = pool.map(_srp_worker, [(url, pool_id, client_id, users, deadline)] * 2)
        record("USER_SRP_AUTH sign-in", shares(before, cpu_by_process(proc.pid)),
               sum(p[0] for p in parts) / args.seconds, sum(p[0] for p in parts))
        for name, payload in identity_set_up(url).items():
            load(name, payload)
        time.sleep(2.0)
        record("idle, 2 s after the loads", {}, 0.0)
        time.sleep(args.idle)
        record(f"idle, {args.idle + 2:.0f} s after the loads", {}, 0.0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    store = "PostgreSQL" if args.database_url else "SQLite"
    pids = sorted({p for ph in phases for p in ph["workers"]})
    table = Table(title=f"Ostiary memory per worker — {args.workers} worker(s), {store}, "
                        f"{args.seconds:.0f} s per load, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    table.add_column("after")
    table.add_column("per second", justify="right")
    table.add_column("server CPU µs/req", justify="right")
    table.add_column("CPU share per worker", justify="right")
    for p in pids:
        table.add_column(f"worker {p} RSS (anon) MB", justify="right")
    table.add_column("supervisor MB", justify="right")
    for ph in phases:
        cells = [f"{ph['workers'][p][0]:.0f} ({ph['workers'][p][1]:.0f})" if p in ph["workers"] else "-" for p in pids]
        cpu = ph["cpu_us_per_request"]
        table.add_row(ph["load"], f"{ph['rps']:,}" if ph["rps"] else "", f"{cpu:,}" if cpu else "", ph["shares"],
                      *cells, f"{ph['supervisor_mb']:.0f}" if args.workers > 1 else "")
    console.print(table)
    return {"mode": "full", "workers": args.workers, "store": store, "phases": phases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10, help="spread: servers started, one run each")
    ap.add_argument("--seconds", type=float, default=None, help="per run (spread, default 4) or per load (full, 8)")
    ap.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    ap.add_argument("--clients", type=int, default=None,
                    help="load-generator processes (spread: 1, every connection opened at once; full: 2)")
    ap.add_argument("--full", action="store_true", help="every bench's load against one server, RSS after each")
    ap.add_argument("--idle", type=float, default=12.0,
                    help="with --full: seconds idle before the last reading (a worker trims after 5-10 s idle)")
    ap.add_argument("--database-url", default="", help="with --full: an empty PostgreSQL database")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables and the figures to PATH as JSON "
                                                   "(bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.seconds is None:
        args.seconds = 8.0 if args.full else 4.0
    if args.clients is None:
        args.clients = 2 if args.full else 1
    console = Console(width=None if sys.stdout.isatty() else 160)
    out = full(args, console) if args.full else spread(args, console)
    console.print("figures: " + json.dumps(out))  # kept in the JSON's notes too


if __name__ == "__main__":
    main()
