"""Latency and CPU the gateway adds over calling its upstream directly.

    python bench/gateway_overhead.py                   # 2000 requests per case
    python bench/gateway_overhead.py --requests 5000 --json out.json

Starts its own processes on loopback: an Ostiary server (a user pool whose ID token the JWT
authorizer checks), the tests' echo upstream (tests/gateway/upstream_app.py) and ``ostiary gateway``
with two routes to it: one without authorization, one with a JWT authorizer. Sends the same small GET
sequentially over one keep-alive connection: straight to the upstream, through the open route, through
the JWT route; reports p50/p99 latency, what the gateway adds to each, and the gateway's CPU time per
request (user + system, from /proc). Sequential on purpose: the figure is the per-request cost, not the
throughput. No asserts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, cpu_seconds, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"{url}: process exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def _token(url: str) -> tuple[str, str, str]:
    idp = boto3.client(
        "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    pool = idp.create_user_pool(PoolName="bench-" + secrets.token_hex(3))["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    password = "Bench-Passw0rd!"
    idp.admin_create_user(UserPoolId=pool, Username="bench", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="bench", Password=password, Permanent=True)
    result = idp.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "bench", "PASSWORD": password}
    )
    return pool, client, result["AuthenticationResult"]["IdToken"]


def _measure(client: httpx.Client, url: str, n: int, headers: dict[str, str]) -> list[float]:
    for _ in range(50):  # warm: connections, key cache, code paths
        client.get(url, headers=headers).raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(url, headers=headers).raise_for_status()
        times.append(time.perf_counter() - start)
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    benchjson.record(args.json)
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="ostiary-gw-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        server, url, _ = start_server(1)
        procs.append(server)
        pool, client_id, token = _token(url)
        up_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.upstream_app", str(up_port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(upstream)
        up_url = f"http://127.0.0.1:{up_port}"
        _wait(up_url + "/", upstream)
        gw_port, admin = free_port(), free_port()
        config = work / "gateway.toml"
        config.write_text(
            f"""[gateway]
listen = "127.0.0.1:{gw_port}"
admin_listen = "127.0.0.1:{admin}"
ostiary_url = "{url}"
access_log = false

[authorizers.users]
type = "jwt"
user_pool = "{pool}"
audience = ["{client_id}"]

[[routes]]
route = "GET /open/{{proxy+}}"
upstream = "{up_url}/{{proxy}}"

[[routes]]
route = "GET /jwt/{{proxy+}}"
upstream = "{up_url}/{{proxy}}"
authorizer = "users"
"""
        )
        gateway = subprocess.Popen(
            [sys.executable, "-m", "ostiary.cli", "gateway", "--config", str(config)],
            cwd=ROOT,
            env={**os.environ},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(gateway)
        _wait(f"http://127.0.0.1:{admin}/health", gateway)
        gw_url = f"http://127.0.0.1:{gw_port}"
        n = args.requests
        cases = [
            ("direct to the upstream", f"{up_url}/x", {}),
            ("gateway, no authorizer", f"{gw_url}/open/x", {}),
            ("gateway, JWT authorizer", f"{gw_url}/jwt/x", {"Authorization": "Bearer " + token}),
        ]
        results: list[tuple[str, list[float], float | None]] = []
        with httpx.Client(timeout=30) as client:
            for name, target, headers in cases:
                before = cpu_seconds(gateway.pid)
                times = _measure(client, target, n, headers)
                cpu = (cpu_seconds(gateway.pid) - before) / (n + 50)
                results.append((name, times, None if target.startswith(up_url) else cpu))
        base50, base99 = _pct(results[0][1], 0.50), _pct(results[0][1], 0.99)
        table = Table(title=f"Gateway overhead: {n} sequential GETs per case, one keep-alive connection")
        for col in ("case", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "gateway CPU µs/request"):
            table.add_column(col)
        for name, times, cpu in results:
            p50, p99 = _pct(times, 0.50), _pct(times, 0.99)
            table.add_row(
                name,
                f"{p50:.3f}",
                f"{p99:.3f}",
                "" if cpu is None else f"{p50 - base50:.3f}",
                "" if cpu is None else f"{p99 - base99:.3f}",
                "" if cpu is None else f"{cpu * 1e6:.0f}",
            )
        console.print(table)
        console.print(f"mean direct {statistics.mean(results[0][1]) * 1000:.3f} ms; machine load: {os.getloadavg()}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
