"""Requests per second and latency of signed API calls against a running Ostiary, and worker memory.

    python bench/api_throughput.py                 # starts its own server (1 worker), 10 s per operation
    python bench/api_throughput.py --workers 2
    python bench/api_throughput.py --url http://127.0.0.1:4590 --key AKIA… --secret …

The load generator replays pre-signed requests (SigV4 signatures stay valid for 15 minutes) over
keep-alive connections with asyncio, so it costs little CPU per request. Traffic goes to loopback
only; every run is bounded by --duration. Nothing is asserted: figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from rich.console import Console
from rich.table import Table

KEY = "AKIABENCHMARKROOT001"
SECRET = "benchmark/secret/access/key/000000000000"
REGION = "us-east-1"


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    data = Path(tempfile.mkdtemp(prefix="ostiary-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "OSTIARY_ROOT_ACCESS_KEY_ID": KEY,
        "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET,
        "OSTIARY_ACCESS_LOG": "false",
    }
    cmd = [sys.executable, "-m", "ostiary.cli", "serve", "--port", str(port), "--data-dir", str(data),
           "--workers", str(workers)]  # noqa: E501
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                time.sleep(0.5 if workers > 1 else 0)
                return proc, url, data
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def raw_request(url: str, service: str, target: str | None, body: bytes, key: str, secret: str) -> bytes:
    headers = {"Content-Type": "application/x-amz-json-1.1"} if target else {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"
    }
    if target:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, REGION).add_auth(req)
    host = urlsplit(url).netloc
    lines = [f"POST / HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in req.headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(host: str, port: int, payload: bytes, deadline: float, out: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            out.latencies.append(time.perf_counter() - started)
            out.requests += 1
            if status != 200:
                out.errors += 1
    finally:
        writer.close()


async def _run(url: str, name: str, payload: bytes, seconds: float, concurrency: int) -> Result:
    parts = urlsplit(url)
    out = Result(name, 0, 0, seconds, [])
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_connection(parts.hostname or "127.0.0.1", parts.port or 80, payload, deadline, out)
                           for _ in range(concurrency)))  # noqa: E501
    out.seconds = time.perf_counter() - started
    return out


def rss_mb(pid: int) -> list[tuple[int, float]]:
    """Resident memory of the server process and its worker children."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    out = []
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append((p, int(line.split()[1]) / 1024))
        except FileNotFoundError:
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of the server process and its workers so far."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (FileNotFoundError, IndexError):
            continue
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--key", default=KEY)
    ap.add_argument("--secret", default=SECRET)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", action="store_true", help="print results as JSON too")
    args = ap.parse_args()

    proc = None
    data_dir = None
    url = args.url
    if not url:
        proc, url, data_dir = start_server(args.workers)
    try:
        idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION,
                           aws_access_key_id=args.key, aws_secret_access_key=args.secret)  # noqa: E501
        pool_id = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
        cases = {
            "DescribeUserPool (awsJson, SigV4)": raw_request(
                url, "cognito-idp", "AWSCognitoIdentityProviderService.DescribeUserPool",
                json.dumps({"UserPoolId": pool_id}).encode(), args.key, args.secret,
            ),
            "GetCallerIdentity (query, SigV4)": raw_request(
                url, "sts", None, b"Action=GetCallerIdentity&Version=2011-06-15", args.key, args.secret
            ),
        }
        results = []
        for name, payload in cases.items():
            asyncio.run(_run(url, name, payload, 1.0, args.concurrency))  # warm-up
            results.append(asyncio.run(_run(url, name, payload, args.duration, args.concurrency)))
        memory = rss_mb(proc.pid) if proc else []
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)

    table = Table(title=f"Ostiary API throughput — {args.workers} worker(s), {args.concurrency} connections, "
                        f"{args.duration:.0f} s each, {os.cpu_count()} cores")  # noqa: E501
    for col in ("operation", "requests/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(col, justify="right" if col != "operation" else "left")
    for r in results:
        table.add_row(r.name, f"{r.rate:,.0f}", f"{r.pct(0.5):.2f}", f"{r.pct(0.99):.2f}", str(r.errors))
    console = Console()
    console.print(table)
    if memory:
        mem = Table(title="Resident memory after the run")
        mem.add_column("process")
        mem.add_column("RSS MB", justify="right")
        for i, (pid, mb) in enumerate(memory):
            mem.add_row(("supervisor" if i == 0 and len(memory) > 1 else "worker") + f" {pid}", f"{mb:.1f}")
        console.print(mem)
    if args.json:
        print(json.dumps({
            "workers": args.workers,
            "results": [{"operation": r.name, "rps": round(r.rate), "p50_ms": round(r.pct(0.5), 2),
                         "p99_ms": round(r.pct(0.99), 2), "errors": r.errors} for r in results],
            "rss_mb": [round(mb, 1) for _, mb in memory],
            "stdev": statistics.pstdev([r.rate for r in results]) if results else 0,
        }))  # noqa: E501


if __name__ == "__main__":
    main()
