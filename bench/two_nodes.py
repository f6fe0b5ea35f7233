"""One node against two nodes on one PostgreSQL: server CPU per request and lock statistics.

    python bench/two_nodes.py --database-url postgresql+psycopg://postgres@127.0.0.1:55506/twonodes \\
        --pg-log /tmp/pg/log

Two `ostiary serve` processes (1 worker each) share one empty PostgreSQL database, one KEK (node B's
data dir gets a copy of node A's) and one public URL (the tokens' issuer), as two nodes behind a load
balancer do. Each case runs first against node A alone, then round robin over both nodes: keep-alive
connections alternate between the nodes (as a load balancer pins connections), and the SRP sign-in
sends its InitiateAuth to one node and its RespondToAuthChallenge to the other, so that every SRP
sign-in crosses nodes.

Cases: USER_PASSWORD_AUTH (Argon2id at the server's defaults, never lowered here; each connection
signs in its own user), the same with every connection signing in one user (what two nodes would
contend on, if anything: that user's rows), USER_SRP_AUTH (two round trips, client math in client processes),
REFRESH_TOKEN_AUTH, GetUser (the access-token check: signature, revocation read). Figures, per case
and node count:

- server CPU per request: the node processes used (from /proc), plus the PostgreSQL backends serving
  the database (from /proc, pids from pg_stat_activity);
- lock statistics from PostgreSQL: deadlocks and rolled-back transactions (pg_stat_database deltas),
  lock waits sampled from pg_locks every 10 ms (backends of this database waiting on a lock: samples
  that saw one, the most at once), and with --pg-log the lock-wait lines PostgreSQL logged during the
  case (the bench sets log_lock_waits = on and deadlock_timeout = 10ms on the database, so any wait
  longer than 10 ms is logged). Ostiary runs at READ COMMITTED with row locks where a row is
  decided on (store/rows.py) and never retries a transaction: there is no retry counter to read, and
  a serialization failure or deadlock would show as an error in the "errors" column.

Rates are printed but mean little on a shared 2-core machine (the client shares it): compare CPU per
request and the lock figures. Loopback only; every run is bounded by --duration. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, Result, cpu_seconds, free_port, pg_backends

from ostiary.userpools import srp

PASSWORD = "Bench-Passw0rd!"
USERS = 16


# --- the nodes -----------------------------------------------------------------------------------


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    url: str
    data_dir: Path


def start_node(database_url: str, public_url: str, port: int, kek_from: Path | None) -> Node:
    """`ostiary serve` (1 worker, access log off) on ``port`` with a data dir of its own; the KEK is
    copied from ``kek_from`` (another node's data dir) when given, as a deployment shares it."""
    data = Path(tempfile.mkdtemp(prefix="ostiary-two-nodes-"))
    if kek_from is not None:
        (data / "kek").write_bytes((kek_from / "kek").read_bytes())
    env = {
        **os.environ,
        "OSTIARY_ROOT_ACCESS_KEY_ID": KEY,
        "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET,
        "OSTIARY_ACCESS_LOG": "false",
        "OSTIARY_DATABASE_URL": database_url,
        "OSTIARY_PUBLIC_URL": public_url,
    }
    cmd = [sys.executable, "-m", "ostiary.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"node on port {port} exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Node(proc, url, data)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"node on port {port} did not start")


def stop_node(node: Node) -> None:
    node.proc.terminate()
    try:
        node.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        node.proc.kill()
        node.proc.wait()
    shutil.rmtree(node.data_dir, ignore_errors=True)


# --- load: keep-alive connections spread over the nodes ----------------------------------------------


def _raw(url: str, target: str, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"X-Amz-Target: AWSCognitoIdentityProviderService.{target}\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _connection(url: str, payload: bytes, deadline: float, out: Result) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            out.latencies.append(time.perf_counter() - started)
            out.requests += 1
            if int(head[9:12]) != 200:
                out.errors += 1
    finally:
        writer.close()


async def _run(name: str, jobs: list[tuple[str, bytes]], seconds: float) -> Result:
    """One keep-alive connection per (node URL, request) in ``jobs``, each replaying its request."""
    out = Result(name, 0, 0, seconds, [])
    started = time.perf_counter()
    await asyncio.gather(*(_connection(url, payload, started + seconds, out) for url, payload in jobs))
    out.seconds = time.perf_counter() - started
    return out


def _post(conn: http.client.HTTPConnection, target: str, payload: dict[str, object]) -> dict[str, object]:
    conn.request("POST", "/", body=json.dumps(payload), headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"})
    resp = conn.getresponse()
    data: dict[str, object] = json.loads(resp.read())
    if resp.status != 200:
        raise RuntimeError(str(data))
    return data


def _srp_worker(args: tuple[list[str], str, str, list[str], float, int]) -> tuple[int, int, list[float]]:
    """SRP sign-ins for ``seconds`` from when the process is ready (spawning it, on a loaded machine,
    may take seconds); with two node URLs, InitiateAuth goes to one node and RespondToAuthChallenge
    to the other (alternating which starts)."""
    urls, pool_id, client_id, users, seconds, offset = args
    deadline = time.time() + seconds
    conns = [http.client.HTTPConnection(urlsplit(u).hostname, urlsplit(u).port, timeout=30) for u in urls]
    group = pool_id.split("_", 1)[1]
    done = errors = 0
    latencies: list[float] = []
    i = offset
    while time.time() < deadline:
        username = users[i % len(users)]
        first, second = conns[i % len(conns)], conns[(i + 1) % len(conns)]
        i += 1
        started = time.perf_counter()
        try:
            a = secrets.randbits(256) | (1 << 255)
            big_a = srp._powmod(srp.G, a, srp.N)
            challenge = _post(first, "InitiateAuth", {
                "ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
                "AuthParameters": {"USERNAME": username, "SRP_A": format(big_a, "x")}})["ChallengeParameters"]
            assert isinstance(challenge, dict)
            stamp = srp.format_timestamp(dt.datetime.now(dt.UTC))
            block = base64.b64decode(challenge["SECRET_BLOCK"])
            proof = srp.client_respond(group, challenge["USER_ID_FOR_SRP"], PASSWORD, challenge["SALT"],
                                       int(challenge["SRP_B"], 16), a, block, stamp)
            _post(second, "RespondToAuthChallenge", {
                "ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeResponses": {"USERNAME": challenge["USERNAME"], "TIMESTAMP": stamp,
                                       "PASSWORD_CLAIM_SECRET_BLOCK": challenge["SECRET_BLOCK"],
                                       "PASSWORD_CLAIM_SIGNATURE": proof["signature"].decode()}})
            done += 1
            latencies.append(time.perf_counter() - started)
        except Exception:
            errors += 1
            for c in conns:
                c.close()
            conns = [http.client.HTTPConnection(urlsplit(u).hostname, urlsplit(u).port, timeout=30) for u in urls]
    for c in conns:
        c.close()
    return done, errors, latencies


# --- lock statistics ----------------------------------------------------------------------------------


@dataclass
class Locks:
    deadlocks: int = 0
    rollbacks: int = 0
    samples: int = 0
    samples_waiting: int = 0
    most_waiting: int = 0
    logged_waits: int = 0
    logged_deadlocks: int = 0


_WAITING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE NOT l.granted AND a.datname = current_database()"
)
_DB_STATS = "SELECT deadlocks, xact_rollback FROM pg_stat_database WHERE datname = current_database()"


class LockWatch:
    """pg_stat_database deltas, pg_locks sampled every 10 ms, and the lock-wait lines of the server log."""

    def __init__(self, database_url: str, pg_log: Path | None) -> None:
        self.dsn = "postgresql://" + database_url.split("://", 1)[1]
        self.pg_log = pg_log
        self.conn = psycopg.connect(self.dsn, autocommit=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._locks = Locks()
        self._start_stats: tuple[int, int] = (0, 0)
        self._log_offset = 0

    def _stats(self) -> tuple[int, int]:
        row = self.conn.execute(_DB_STATS).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def _sample(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(_WAITING).fetchone()
                waiting = int(row[0]) if row else 0
                self._locks.samples += 1
                if waiting:
                    self._locks.samples_waiting += 1
                    self._locks.most_waiting = max(self._locks.most_waiting, waiting)
                self._stop.wait(0.01)

    def start(self) -> None:
        time.sleep(0.6)  # pg_stat_database is updated by backends at most every 500 ms
        self._locks = Locks()
        self._start_stats = self._stats()
        self._log_offset = self.pg_log.stat().st_size if self.pg_log else 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> Locks:
        self._stop.set()
        if self._thread:
            self._thread.join()
        time.sleep(0.6)
        deadlocks, rollbacks = self._stats()
        self._locks.deadlocks = deadlocks - self._start_stats[0]
        self._locks.rollbacks = rollbacks - self._start_stats[1]
        if self.pg_log:
            with self.pg_log.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
            self._locks.logged_waits = text.count("still waiting for")
            self._locks.logged_deadlocks = text.count("deadlock detected")
        return self._locks

    def close(self) -> None:
        self.conn.close()


# --- main -----------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One case at one node count, summed over the rounds."""

    case: str
    nodes: int
    result: Result
    node_cpu_s: list[float]  # CPU seconds each node used
    pg_cpu_s: float
    locks: Locks = field(default_factory=Locks)

    def add(self, result: Result, node_cpu_s: list[float], pg_cpu_s: float, locks: Locks) -> None:
        r = self.result
        r.requests += result.requests
        r.errors += result.errors
        r.seconds += result.seconds
        r.latencies += result.latencies
        self.node_cpu_s = [a + b for a, b in zip(self.node_cpu_s, node_cpu_s, strict=True)]
        self.pg_cpu_s += pg_cpu_s
        mine = self.locks
        for name in ("deadlocks", "rollbacks", "samples", "samples_waiting", "logged_waits", "logged_deadlocks"):
            setattr(mine, name, getattr(mine, name) + getattr(locks, name))
        mine.most_waiting = max(mine.most_waiting, locks.most_waiting)

    def ms_per_op(self) -> tuple[float, float]:
        n = max(self.result.requests, 1)
        return sum(self.node_cpu_s) / n * 1000, self.pg_cpu_s / n * 1000


def _configure_database(database_url: str) -> str:
    """Lock waits over 10 ms logged for the bench's database (superuser), for new sessions."""
    dsn = "postgresql://" + database_url.split("://", 1)[1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        try:
            conn.execute(f'ALTER DATABASE "{name}" SET log_lock_waits = on')
            conn.execute(f'ALTER DATABASE "{name}" SET deadlock_timeout = \'10ms\'')
        except psycopg.Error as err:
            return f"log_lock_waits not set ({err.__class__.__name__}): lock waits are sampled only"
    return "log_lock_waits = on, deadlock_timeout = 10ms on the database"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="an empty PostgreSQL database both nodes share")
    ap.add_argument("--pg-log", type=Path, help="PostgreSQL's server log, to count the lock waits it logs")
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (spread over the nodes)")
    ap.add_argument("--srp-clients", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2,
                    help="runs of each case per node count, interleaved 1,2 then 2,1 (drift cancels); summed")
    ap.add_argument("--only", default="",
                    help="comma-separated cases: password, hotuser, srp, refresh, getuser")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    console = Console(width=200)
    if not args.database_url.startswith("postgres"):
        raise SystemExit("two nodes share one PostgreSQL database: --database-url postgresql+psycopg://…")
    note = _configure_database(args.database_url)

    port_a, port_b = free_port(), free_port()
    public = f"http://127.0.0.1:{port_a}"
    a = start_node(args.database_url, public, port_a, None)
    b = start_node(args.database_url, public, port_b, a.data_dir)
    nodes = [a, b]
    backends = pg_backends(args.database_url)
    assert backends is not None
    watch = LockWatch(args.database_url, args.pg_log)
    rows: dict[tuple[str, int], Row] = {}
    try:
        idp = boto3.client("cognito-idp", endpoint_url=a.url, region_name=REGION,
                           aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        pool_id = idp.create_user_pool(PoolName="two-nodes")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="bench",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        users = [f"user{i}" for i in range(USERS)]
        for u in users:
            idp.admin_create_user(UserPoolId=pool_id, Username=u, MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool_id, Username=u, Password=PASSWORD, Permanent=True)
        tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": users[0], "PASSWORD": PASSWORD})["AuthenticationResult"]
        idp.close()

        def password(url: str, i: int) -> bytes:
            return _raw(url, "InitiateAuth", {"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                                              "AuthParameters": {"USERNAME": users[i % USERS], "PASSWORD": PASSWORD}})

        def password_one_user(url: str, i: int) -> bytes:
            return password(url, 0)

        def refresh(url: str, i: int) -> bytes:
            return _raw(url, "InitiateAuth", {"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
                                              "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}})

        def get_user(url: str, i: int) -> bytes:
            return _raw(url, "GetUser", {"AccessToken": tokens["AccessToken"]})

        cases = {
            "USER_PASSWORD_AUTH sign-in": password,
            "USER_PASSWORD_AUTH, one user on every connection": password_one_user,
            "USER_SRP_AUTH sign-in (2 round trips)": None,
            "REFRESH_TOKEN_AUTH refresh": refresh,
            "GetUser (access token check)": get_user,
        }
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        keys = {"password": "USER_PASSWORD_AUTH sign-in", "hotuser": "USER_PASSWORD_AUTH,", "srp": "USER_SRP",
                "refresh": "REFRESH", "getuser": "GetUser"}
        for name, make in cases.items():
            if wanted and not any(name.startswith(keys.get(w, w)) for w in wanted):
                continue
            for count in [k for round_ in range(args.rounds) for k in ((1, 2) if round_ % 2 == 0 else (2, 1))]:
                used = nodes[:count]
                urls = [n.url for n in used]
                if make is not None:
                    jobs = [(urls[i % count], make(urls[i % count], i)) for i in range(args.concurrency)]
                    asyncio.run(_run(name, jobs, 1.0))  # warm-up
                before = [cpu_seconds(n.proc.pid) for n in used]
                pg_before = backends.cpu()
                watch.start()
                if make is not None:
                    result = asyncio.run(_run(name, jobs, args.duration))
                else:
                    with mp.get_context("spawn").Pool(args.srp_clients) as workers:
                        parts = workers.map(_srp_worker, [(urls, pool_id, client_id, users, args.duration, k)
                                                          for k in range(args.srp_clients)])
                    result = Result(name, sum(p[0] for p in parts), sum(p[1] for p in parts),
                                    args.duration, [x for p in parts for x in p[2]])
                locks = watch.stop()
                used_cpu = [cpu_seconds(n.proc.pid) - before[k] for k, n in enumerate(used)]
                pg_used = backends.used(pg_before, backends.cpu())
                row = rows.setdefault((name, count), Row(name, count, Result(name, 0, 0, 0.0, []), [0.0] * count, 0.0))
                row.add(result, used_cpu, pg_used, locks)
    finally:
        watch.close()
        backends.close()
        for node in nodes:
            stop_node(node)

    load = os.getloadavg()
    table = Table(title=f"One node vs two nodes on one PostgreSQL — 1 worker per node, {os.cpu_count()} cores, "
                        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for col in ["operation", "nodes", "per second", "p50 ms", "p99 ms", "errors", "nodes CPU ms/op",
                "PostgreSQL CPU ms/op", "total CPU ms/op", "x one node", "CPU split A/B %"]:
        table.add_column(col, justify="left" if col == "operation" else "right")
    one: dict[str, float] = {}
    ordered = sorted(rows.values(), key=lambda r: (list(cases).index(r.case), r.nodes))
    for r in ordered:
        nodes_ms, pg_ms = r.ms_per_op()
        total = nodes_ms + pg_ms
        if r.nodes == 1:
            one[r.case] = total
        ratio = f"{total / one[r.case]:.2f}" if r.nodes == 2 and one.get(r.case) else "1.00"
        split = "/".join(f"{c / sum(r.node_cpu_s) * 100:.0f}" if sum(r.node_cpu_s) else "0" for c in r.node_cpu_s)
        table.add_row(r.case, str(r.nodes), f"{r.result.rate:,.0f}", f"{r.result.pct(0.5):.1f}",
                      f"{r.result.pct(0.99):.1f}", str(r.result.errors), f"{nodes_ms:.3f}",
                      f"{pg_ms:.3f}", f"{total:.3f}", ratio, split)
    console.print(table)

    locks = Table(title=f"PostgreSQL lock statistics per case (deltas over the measured runs, {args.rounds} round(s))")
    for col in ["operation", "nodes", "requests", "deadlocks", "rolled back xacts", "pg_locks samples",
                "samples with a wait", "most waiting at once", "logged waits > 10 ms", "logged deadlocks"]:
        locks.add_column(col, justify="left" if col == "operation" else "right")
    for r in ordered:
        lk = r.locks
        label = r.case.split(" ")[0].rstrip(",") + (" (one user)" if "one user" in r.case else "")
        locks.add_row(label, str(r.nodes), str(r.result.requests), str(lk.deadlocks), str(lk.rollbacks),
                      str(lk.samples), str(lk.samples_waiting), str(lk.most_waiting),
                      str(lk.logged_waits) if args.pg_log else "-", str(lk.logged_deadlocks) if args.pg_log else "-")
    console.print(locks)
    console.print(note + "; Ostiary never retries a transaction (READ COMMITTED, row locks): a serialization "
                  "failure or deadlock would be an error above.")


if __name__ == "__main__":
    main()
