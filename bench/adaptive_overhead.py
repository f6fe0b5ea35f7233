"""The CPU adaptive authentication adds to a password sign-in (issue 16's target: under 5 %).

    python bench/adaptive_overhead.py                 # starts its own server (SQLite), 1 worker
    python bench/adaptive_overhead.py --rounds 8 --per-round 25 --json adaptive.json
    OSTIARY_DATABASE_URL=postgresql+psycopg://… python bench/adaptive_overhead.py

Three pools on one server, one user each, signed in with AdminInitiateAuth
(ADMIN_USER_PASSWORD_AUTH, ContextData with an address and a User-Agent), in interleaved rounds so
that a loaded machine's drift hits the three alike:

- OFF: threat protection off (no event, no engine: the baseline);
- AUDIT: every sign-in scored (the user's known values read, the velocity counts, the attempt
  recorded, what it showed learned) and its event written;
- ENFORCED: the same with an AccountTakeoverRiskConfiguration (NO_ACTION at every level, Notify off),
  read per scored sign-in.

The figure is the server process's CPU (user + system, /proc) per sign-in; the difference to OFF is
an upper bound of the engine's cost (it includes the event row threat protection wrote before
issue 16). The Argon2 cost is the server's default, never lowered.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
from pathlib import Path

import boto3
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, cpu_seconds, start_server

PASSWORD = "Bench-Horse-42!"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    benchjson.record(str(args.json) if args.json else None)
    proc, url, data_dir = start_server(1)
    try:
        idp = boto3.client(
            "cognito-idp",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
        )
        pools: dict[str, tuple[str, str]] = {}
        for mode in ("OFF", "AUDIT", "ENFORCED"):
            pool = idp.create_user_pool(
                PoolName=f"bench-{mode}",
                UserPoolAddOns={"AdvancedSecurityMode": mode},
                UserPoolTier="PLUS",
            )["UserPool"]["Id"]
            client = idp.create_user_pool_client(
                UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
            )["UserPoolClient"]["ClientId"]
            if mode == "ENFORCED":
                no_action = {"Notify": False, "EventAction": "NO_ACTION"}
                idp.set_risk_configuration(
                    UserPoolId=pool,
                    AccountTakeoverRiskConfiguration={
                        "Actions": {"LowAction": no_action, "MediumAction": no_action, "HighAction": no_action}
                    },
                )
            idp.admin_create_user(UserPoolId=pool, Username="bench", MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool, Username="bench", Password=PASSWORD, Permanent=True)
            pools[mode] = (pool, client)

        def sign_in(mode: str, i: int) -> None:
            pool, client = pools[mode]
            idp.admin_initiate_auth(
                UserPoolId=pool,
                ClientId=client,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "bench", "PASSWORD": PASSWORD},
                ContextData={
                    "IpAddress": f"198.51.100.{i % 8}",  # a few known addresses: the usual case
                    "ServerName": "bench",
                    "ServerPath": "/",
                    "HttpHeaders": [{"headerName": "User-Agent", "headerValue": AGENT}],
                },
            )

        for mode in pools:  # warm-up, and a history for the scored pools
            for i in range(10):
                sign_in(mode, i)
        per: dict[str, list[float]] = {mode: [] for mode in pools}
        for _ in range(args.rounds):
            for mode in pools:
                before = cpu_seconds(proc.pid)
                for i in range(args.per_round):
                    sign_in(mode, i)
                per[mode].append((cpu_seconds(proc.pid) - before) * 1000 / args.per_round)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    base = statistics.median(per["OFF"])
    table = Table(title="Server CPU per AdminInitiateAuth password sign-in (median of rounds)")
    for column in ("AdvancedSecurityMode", "CPU ms / sign-in", "added vs OFF", "rounds (ms)"):
        table.add_column(column)
    rows = []
    for mode, values in per.items():
        median = statistics.median(values)
        added = (median - base) / base * 100
        rows.append({"mode": mode, "cpu_ms": round(median, 3), "added_pct": round(added, 2)})
        table.add_row(mode, f"{median:.2f}", f"{added:+.1f} %", " ".join(f"{v:.1f}" for v in values))
    Console().print(table)
    database = "PostgreSQL" if os.environ.get("OSTIARY_DATABASE_URL", "").startswith("postgresql") else "SQLite"
    print(f"database: {database}; rounds: {args.rounds} x {args.per_round} sign-ins per mode")
    benchjson.note("adaptive_overhead", rows)
    benchjson.note("database", database)


if __name__ == "__main__":
    main()
