"""Requests per second and latency of signed API calls against a running Ostiary, and worker memory.

    python bench/api_throughput.py                 # starts its own server (1 worker), 10 s per operation
    python bench/api_throughput.py --workers 2
    python bench/api_throughput.py --loadgen python --clients 2     # 2 client processes, no wrk
    python bench/api_throughput.py --url http://127.0.0.1:4590 --key AKIA… --secret …

Operations: DescribeUserPool (awsJson 1.1, SigV4) on a pool the bench creates with CreateUserPool,
STS GetCallerIdentity (query protocol, SigV4), and STS AssumeRole of a role the bench creates (each
call evaluates the trust policy and stores a new session). When CreateUserPool is not available the bench
says so and measures GetCallerIdentity alone.

The load generator replays pre-signed requests (a SigV4 signature stays valid for 15 minutes; the
server still verifies every one) over keep-alive connections, so the client costs little CPU per
request: `wrk` when it is installed (`apt-get install wrk`), otherwise --clients processes each
running asyncio connections. Traffic goes to loopback only; every run is bounded by --duration.
Server CPU time per request is read from /proc, so the figure "per server core" does not depend on
how much of the machine the load generator took. Nothing is asserted: figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import psycopg
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson

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
    # Filled in by the wrk load generator, which reports percentiles rather than samples.
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu_s: float = 0.0
    pg_cpu_s: float = 0.0  # CPU of the PostgreSQL backends serving the server (--database-url)
    loadgen: str = "python"
    worker_cores: list[float] = field(default_factory=list)  # CPU each worker used, in cores

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if p == 0.5 and self.p50_ms is not None:
            return self.p50_ms
        if p == 0.99 and self.p99_ms is not None:
            return self.p99_ms
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


@dataclass
class Case:
    name: str
    method: str
    headers: dict[str, str]
    body: bytes
    raw: bytes  # the whole HTTP/1.1 request, for the Python load generator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`ostiary serve` on a free loopback port with a fresh SQLite data dir and the access log off."""
    data = Path(tempfile.mkdtemp(prefix="ostiary-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "OSTIARY_ROOT_ACCESS_KEY_ID": KEY,
        "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET,
        "OSTIARY_ACCESS_LOG": "false",
    }
    cmd = [sys.executable, "-m", "ostiary.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                if workers > 1:
                    _wait_for_workers(proc.pid, workers)
                return proc, url, data
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def _wait_for_workers(pid: int, workers: int, timeout: float = 30.0) -> None:
    """With several workers, /health answers as soon as the first is up: wait for the others."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for _, role, _ in server_processes(pid) if role == "worker") >= workers:
            time.sleep(1.0)  # imports done, sockets accepting
            return
        time.sleep(0.2)


def signed_case(url: str, name: str, service: str, target: str | None, body: bytes, key: str, secret: str) -> Case:
    """One request signed once with botocore's SigV4Auth, to be replayed as is."""
    if target:
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, REGION).add_auth(req)
    signed = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "content-length")}
    host = urlsplit(url).netloc
    lines = ["POST / HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in signed.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return Case(name, "POST", signed, body, raw)


def raw_request(url: str, service: str, target: str | None, body: bytes, key: str, secret: str) -> bytes:
    return signed_case(url, "", service, target, body, key, secret).raw


# --- Python load generator: asyncio connections in one or more processes ---------------------------


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
                           for _ in range(concurrency)))
    out.seconds = time.perf_counter() - started
    return out


def _client_process(job: tuple[str, str, bytes, float, int]) -> Result:
    url, name, payload, seconds, concurrency = job
    return asyncio.run(_run(url, name, payload, seconds, concurrency))


def run_python(url: str, case: Case, seconds: float, concurrency: int, clients: int) -> Result:
    if clients <= 1:
        return asyncio.run(_run(url, case.name, case.raw, seconds, concurrency))
    shares = [concurrency // clients + (1 if i < concurrency % clients else 0) for i in range(clients)]
    jobs = [(url, case.name, case.raw, seconds, n) for n in shares if n]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        parts = pool.map(_client_process, jobs)
    merged = Result(case.name, 0, 0, max(p.seconds for p in parts), [])
    for p in parts:
        merged.requests += p.requests
        merged.errors += p.errors
        merged.latencies.extend(p.latencies)
    merged.loadgen = f"python x{len(jobs)}"
    return merged


# --- wrk load generator ---------------------------------------------------------------------------

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "OSTIARY-BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"non2xx\\": %d, \\"socket_errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def run_wrk(url: str, case: Case, seconds: float, concurrency: int, threads: int) -> Result:
    script = ["wrk.method = " + _lua_string(case.method), "wrk.body = " + _lua_string(case.body.decode())]
    script += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in case.headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write("\n".join(script) + "\n" + _WRK_DONE)
        path = fh.name
    try:
        cmd = ["wrk", "-t", str(max(1, threads)), "-c", str(max(concurrency, threads)),
               "-d", f"{max(1, round(seconds))}s", "--latency", "-s", path, url + "/"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(path)
    lines = [x for x in run.stdout.splitlines() if x.startswith("OSTIARY-BENCH ")]
    if run.returncode or not lines:
        raise RuntimeError(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    line = lines[0]
    data = json.loads(line.split(" ", 1)[1])
    return Result(case.name, data["requests"], data["non2xx"] + data["socket_errors"], data["duration_us"] / 1e6, [],
                  p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, loadgen=f"wrk -t{max(1, threads)}")


# --- server processes: memory and CPU ---------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def server_processes(pid: int) -> list[tuple[int, str, float]]:
    """(pid, role, RSS MB) of the server and all its descendants: supervisor, worker, helper."""
    pids = [pid]
    i = 0
    while i < len(pids):
        pids += _children(pids[i])
        i += 1
    out = []
    for p in pids:
        try:
            cmdline = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            rss = 0.0
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
        if "resource_tracker" in cmdline or "semaphore_tracker" in cmdline:
            role = "helper"
        elif p != pid or len(pids) == 1:
            role = "worker"
        else:
            role = "supervisor"
        out.append((p, role, rss))
    return out


def rss_mb(pid: int) -> list[tuple[int, float]]:
    """Resident memory of the server process and its descendants."""
    return [(p, mb) for p, _, mb in server_processes(pid)]


def cpu_by_process(pid: int) -> dict[int, tuple[str, float]]:
    """pid -> (role, user+system CPU seconds so far) for the server process and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for p, role, _ in server_processes(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (role, (int(fields[11]) + int(fields[12])) / ticks)
        except (FileNotFoundError, IndexError):
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of the server process and its descendants so far."""
    return sum(seconds for _, seconds in cpu_by_process(pid).values())


def _server_pid_for(url: str) -> int | None:
    """The pid listening on the --url port, when it is on this machine and visible (best effort)."""
    port = urlsplit(url).port
    if port is None:
        return None
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    pids = [int(x.split("=")[1]) for x in out.replace(",", " ").split() if x.startswith("pid=")]
    if not pids:
        return None
    # With several workers the listening socket is shared: report the common parent.
    parents = {int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]) for p in pids}
    return parents.pop() if len(parents) == 1 and len(pids) > 1 else min(pids)


# --- PostgreSQL backends: their CPU counts too ------------------------------------------------------


def pg_backends(database_url: str) -> PgBackends | None:
    return PgBackends(database_url) if database_url.startswith("postgres") else None


class PgBackends:
    """CPU time of the PostgreSQL backends connected to the bench's database (this machine's /proc),
    except the one this object reads pg_stat_activity through."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True)
        self.ticks = os.sysconf("SC_CLK_TCK")

    def pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return [int(r[0]) for r in rows]

    def cpu(self) -> dict[int, float]:
        """pid -> user+system CPU seconds so far, for each backend serving the database."""
        out: dict[int, float] = {}
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / self.ticks
        return out

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds between two snapshots (a backend that left in between is not counted)."""
        return sum(sec - before.get(pid, 0.0) for pid, sec in after.items())

    def close(self) -> None:
        self.conn.close()


# --- main ----------------------------------------------------------------------------------------------


def _check(url: str, case: Case) -> str | None:
    """Send the pre-signed request once; None when it answers 200, else the answer."""
    resp = httpx.post(url + "/", content=case.body, headers=case.headers, timeout=10)
    return None if resp.status_code == 200 else f"HTTP {resp.status_code}: {resp.text[:300]}"


def build_cases(url: str, key: str, secret: str, console: Console) -> list[Case]:
    cases: list[Case] = []
    idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION,
                       aws_access_key_id=key, aws_secret_access_key=secret)
    try:
        pool_id = idp.create_user_pool(PoolName=f"bench-{os.getpid()}")["UserPool"]["Id"]
    except (ClientError, BotoCoreError) as exc:
        console.print(f"[yellow]CreateUserPool is not available ({exc}); measuring GetCallerIdentity only[/]")
    else:
        cases.append(signed_case(url, "DescribeUserPool (awsJson 1.1, SigV4)", "cognito-idp",
                                 "AWSCognitoIdentityProviderService.DescribeUserPool",
                                 json.dumps({"UserPoolId": pool_id}).encode(), key, secret))
        idp.admin_create_user(UserPoolId=pool_id, Username="bench-user", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "bench@example.com"},
                                              {"Name": "given_name", "Value": "Zoë"}])
        cases.append(signed_case(url, "AdminGetUser (SigV4, one user read)", "cognito-idp",
                                 "AWSCognitoIdentityProviderService.AdminGetUser",
                                 json.dumps({"UserPoolId": pool_id, "Username": "bench-user"}).encode(), key, secret))
    cases.append(signed_case(url, "GetCallerIdentity (query, SigV4)", "sts", None,
                             b"Action=GetCallerIdentity&Version=2011-06-15", key, secret))
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION,
                       aws_access_key_id=key, aws_secret_access_key=secret)
    try:
        account = boto3.client("sts", endpoint_url=url, region_name=REGION, aws_access_key_id=key,
                               aws_secret_access_key=secret).get_caller_identity()["Account"]
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
        role = iam.create_role(RoleName=f"bench-{os.getpid()}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    except (ClientError, BotoCoreError) as exc:
        console.print(f"[yellow]CreateRole is not available ({exc}); AssumeRole not measured[/]")
    else:
        body = f"Action=AssumeRole&RoleArn={role['Arn']}&RoleSessionName=bench&Version=2011-06-15".encode()
        cases.append(signed_case(url, "AssumeRole (query, SigV4, trust policy, one write)", "sts", None, body,
                                 key, secret))
    usable = []
    for case in cases:
        problem = _check(url, case)
        if problem:
            console.print(f"[yellow]{case.name}: skipped, the pre-signed request was refused: {problem}[/]")
        else:
            usable.append(case)
    return usable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="target a running server instead of starting one")
    ap.add_argument("--key", default=KEY, help="access key id (with --url)")
    ap.add_argument("--secret", default=SECRET, help="secret access key (with --url)")
    ap.add_argument("--workers", type=int, default=1, help="worker processes of the server the bench starts")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per operation (after a 2 s warm-up)")
    ap.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    ap.add_argument("--clients", type=int, default=1, help="client processes (wrk: threads)")
    ap.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                    help="auto: wrk when installed, else Python")
    ap.add_argument("--only", default="", help="measure only operations whose name contains this text")
    ap.add_argument("--database-url", default="",
                    help="PostgreSQL on this machine for the server the bench starts (an empty database); "
                         "its backends' CPU is measured too")
    ap.add_argument("--json", nargs="?", const="-", metavar="PATH",
                    help="print results as JSON too; with PATH, write the printed tables there (bench/benchjson.py)")
    args = ap.parse_args()
    if args.json and args.json != "-":
        benchjson.record(args.json)
    console = Console(width=None if sys.stdout.isatty() else 140)

    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    elif loadgen == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --loadgen python")

    def drive(case: Case, seconds: float) -> Result:
        if loadgen == "wrk":
            return run_wrk(url, case, seconds, args.concurrency, args.clients)
        return run_python(url, case, seconds, args.concurrency, args.clients)

    proc = None
    data_dir = None
    url = args.url.rstrip("/") if args.url else ""
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment
    backends = pg_backends(args.database_url)
    if not url:
        proc, url, data_dir = start_server(args.workers)
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only: --url must point at 127.0.0.1 or localhost")
    server_pid = proc.pid if proc else _server_pid_for(url)
    results: list[Result] = []
    try:
        for case in build_cases(url, args.key, args.secret, console):
            if args.only.lower() not in case.name.lower():
                continue
            drive(case, 2.0)  # warm-up: connections, caches, statement cache
            cpu_before = cpu_by_process(server_pid) if server_pid else {}
            pg_before = backends.cpu() if backends else {}
            result = drive(case, args.duration)
            if backends:
                result.pg_cpu_s = backends.used(pg_before, backends.cpu())
            if server_pid:
                cpu_after = cpu_by_process(server_pid)
                used = {p: sec - cpu_before.get(p, (role, 0.0))[1] for p, (role, sec) in cpu_after.items()}
                result.server_cpu_s = sum(used.values())
                # How busy each worker was (in cores): shows whether connections were spread evenly.
                result.worker_cores = sorted(
                    (round(used[p] / result.seconds, 2) for p, (role, _) in cpu_after.items() if role == "worker"),
                    reverse=True)
            results.append(result)
            console.print(f"  {case.name}: {result.rate:,.0f} requests/s")
        processes = server_processes(server_pid) if server_pid else []
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        if backends:
            backends.close()

    workers = args.workers if proc else sum(1 for _, role, _ in processes if role == "worker") or "?"
    table = Table(title=f"Ostiary API throughput — {workers} worker(s), {args.concurrency} connections, "
                        f"{args.duration:.0f} s each, {os.cpu_count()} cores, load: {loadgen}")
    columns = ["operation", "requests/s", "p50 ms", "p99 ms", "errors", "server CPU µs/req", "req/s per core",
               "cores used by each worker"]
    if backends:  # per core then counts both: what one core running Ostiary and PostgreSQL answers
        columns[6:6] = ["PostgreSQL µs/req", "Ostiary + PostgreSQL CPU ms/req"]  # (ms: as run_all.py reads it)
    for col in columns:
        table.add_column(col, justify="right" if col != "operation" else "left")
    for r in results:
        cpu_us = r.server_cpu_s / r.requests * 1e6 if r.requests and r.server_cpu_s else float("nan")
        pg_us = r.pg_cpu_s / r.requests * 1e6 if r.requests else 0.0
        per_core = 1e6 / (cpu_us + pg_us) if cpu_us == cpu_us else float("nan")
        row = [r.name, f"{r.rate:,.0f}", f"{r.pct(0.5):.2f}", f"{r.pct(0.99):.2f}", str(r.errors),
               f"{cpu_us:,.0f}", f"{per_core:,.0f}", " / ".join(f"{c:.2f}" for c in r.worker_cores)]
        if backends:
            row[6:6] = [f"{pg_us:,.0f}", f"{(cpu_us + pg_us) / 1000:.3f}"]
        table.add_row(*row)
    console.print(table)
    if processes:
        mem = Table(title="Server processes after the run")
        for col in ("pid", "role", "RSS MB"):
            mem.add_column(col, justify="right" if col == "RSS MB" else "left")
        for pid, role, mb in processes:
            mem.add_row(str(pid), role, f"{mb:.1f}")
        console.print(mem)
    if args.json == "-":
        print(json.dumps({
            "workers": workers,
            "loadgen": loadgen,
            "concurrency": args.concurrency,
            "duration": args.duration,
            "results": [{"operation": r.name, "rps": round(r.rate), "p50_ms": round(r.pct(0.5), 2),
                         "p99_ms": round(r.pct(0.99), 2), "errors": r.errors,
                         "server_cpu_us_per_request": round(r.server_cpu_s / r.requests * 1e6, 1)
                         if r.requests else None,
                         "postgres_cpu_us_per_request": round(r.pg_cpu_s / r.requests * 1e6, 1)
                         if r.requests and backends else None, "worker_cores": r.worker_cores} for r in results],
            "processes": [{"pid": p, "role": role, "rss_mb": round(mb, 1)} for p, role, mb in processes],
        }))


if __name__ == "__main__":
    main()
