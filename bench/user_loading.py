"""Loading users: the CSV import job (1,000,000 users by default) and AdminCreateUser per core.

    python bench/user_loading.py                          # starts its own server (SQLite), 1M users
    python bench/user_loading.py --users 100000 --create-seconds 5
    python bench/user_loading.py --database-url postgresql+psycopg://postgres@127.0.0.1:55433/bench

The import: a CSV of --users rows (cognito:username, email, email_verified, given_name, a custom
attribute; every 1000th row bad, every 997th a duplicate username) is uploaded to the job's
pre-signed URL exactly as with curl, the job started with StartUserImportJob and followed with
DescribeUserImportJob until it ends: wall time, users per second, server CPU, and the job's counts.
AdminCreateUser: --concurrency clients create users with a generated temporary password
(MessageAction SUPPRESS) for --create-seconds; calls per second and server CPU per call, read from
/proc, so "per core" does not depend on the load generator's share of the machine. Loopback only;
nothing is asserted: figures are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, rss_mb, server_processes, start_server


def cpu_seconds(pid: int) -> float:
    """CPU of the server and its descendants so far, those that ended included (the import job's own
    process, ostiary.import_job: its time moves to its parent's cutime/cstime once reaped)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p, _, _ in server_processes(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15]) / ticks
    return total


class Backends:
    """CPU of the PostgreSQL backends serving the bench's database (this machine's /proc), so that the
    figures are Ostiary's and PostgreSQL's together; nothing on SQLite (its work is in the server)."""

    def __init__(self, database_url: str) -> None:
        self.conn = None
        if database_url.startswith("postgres"):
            import psycopg

            self.conn = psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True)
        self.seen: dict[int, float] = {}

    def cpu(self) -> float:
        """CPU seconds of every backend seen so far (a backend that ended keeps its last reading)."""
        if self.conn is None:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for (pid,) in rows:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            self.seen[int(pid)] = (int(fields[11]) + int(fields[12])) / ticks
        return sum(self.seen.values())

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def make_csv(path: Path, users: int) -> tuple[int, int]:
    """The file, and how many rows are bad and duplicates."""
    bad = dup = 0
    with path.open("w") as fh:
        fh.write("given_name,email,email_verified,custom:team,cognito:mfa_enabled,cognito:username\n")
        for i in range(users):
            if i % 1000 == 999:
                bad += 1
                fh.write(f"Bad,not-an-email,true,red,false,bad{i}\n")
            elif i % 997 == 996:
                dup += 1
                fh.write(f"Dup,dup{i}@example.com,true,red,false,user{i - 1}\n")
            else:
                fh.write(f"User{i},user{i}@example.com,true,team{i % 7},false,user{i}\n")
    return bad, dup


def bench_import(idp: object, url: str, pid: int, users: int, work: Path, pg: Backends) -> list[tuple[str, str]]:
    client = idp  # boto3 cognito-idp client
    pool_id = client.create_user_pool(  # type: ignore[attr-defined]
        PoolName="import-bench",
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "team", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    csv_path = work / "users.csv"
    bad, dup = make_csv(csv_path, users)
    job = client.create_user_import_job(  # type: ignore[attr-defined]
        UserPoolId=pool_id, JobName="bench", CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/CognitoImport"
    )["UserImportJob"]
    started = time.perf_counter()
    with csv_path.open("rb") as fh:
        httpx.put(job["PreSignedUrl"], content=fh.read(), timeout=600).raise_for_status()
    uploaded = time.perf_counter()
    cpu0 = cpu_seconds(pid)
    pg0 = pg.cpu()
    rss_max: dict[int, float] = {}  # the most RSS of each process: the worker, the job's own process
    client.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])  # type: ignore[attr-defined]
    console = Console(stderr=True)
    while True:
        pg.cpu()  # read while the job's connections are open: a backend's last reading is kept
        for p, mb in rss_mb(pid):
            rss_max[p] = max(rss_max.get(p, 0.0), mb)
        done = client.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]  # type: ignore[attr-defined]
        if done["Status"] in ("Succeeded", "Failed", "Stopped"):
            break
        seen = done["ImportedUsers"] + done["FailedUsers"] + done["SkippedUsers"]
        elapsed = time.perf_counter() - uploaded
        used = cpu_seconds(pid) - cpu0
        console.print(
            f"  {done['Status']}: {seen:,} rows in {elapsed:.0f} s ({seen / max(elapsed, 1e-9):,.0f}/s), "
            f"server CPU {used:.0f} s ({seen / max(used, 1e-9):,.0f} rows per CPU second)"
        )
        time.sleep(2)
    ended = time.perf_counter()
    time.sleep(1)  # the job's process ends and is reaped: its CPU is then its parent's
    cpu = cpu_seconds(pid) - cpu0
    pg_cpu = pg.cpu() - pg0
    rows = done["ImportedUsers"] + done["FailedUsers"] + done["SkippedUsers"]
    return [
        ("rows (bad, duplicate)", f"{users:,} ({bad:,}, {dup:,})"),
        ("status", done["Status"]),
        ("imported / failed / skipped",
         f"{done['ImportedUsers']:,} / {done['FailedUsers']:,} / {done['SkippedUsers']:,}"),
        ("upload s", f"{uploaded - started:.1f}"),
        ("import s (Start to Succeeded)", f"{ended - uploaded:.1f}"),
        ("rows per second", f"{rows / (ended - uploaded):,.0f}"),
        ("server CPU s (rows per CPU second)", f"{cpu:.1f} ({rows / max(cpu, 1e-9):,.0f})"),
        ("PostgreSQL backends' CPU s", f"{pg_cpu:.1f}" if pg.conn is not None else "-"),
        ("RSS MB, most during the import: server process; others (the job's)",
         f"{rss_max.pop(pid, 0):.0f}; " + (", ".join(f"{mb:.0f}" for mb in rss_max.values()) or "-")),
    ]


def bench_create(url: str, pid: int, seconds: float, concurrency: int, pg: Backends) -> list[tuple[str, str]]:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=concurrency)
    idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                       aws_secret_access_key=SECRET, config=config)
    pool_id = idp.create_user_pool(PoolName="create-bench")["UserPool"]["Id"]
    counts = [0] * concurrency
    errors = [0] * concurrency
    stop = threading.Event()

    def worker(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                idp.admin_create_user(UserPoolId=pool_id, Username=f"c{n}-{i}", MessageAction="SUPPRESS",
                                      UserAttributes=[{"Name": "email", "Value": f"c{n}-{i}@example.com"}])
                counts[n] += 1
            except Exception:
                errors[n] += 1
            i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    cpu0 = cpu_seconds(pid)
    pg0 = pg.cpu()
    started = time.perf_counter()
    for th in threads:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu0
    pg_cpu = pg.cpu() - pg0
    idp.close()
    calls = sum(counts)
    ms = cpu / max(calls, 1) * 1000
    both = (cpu + pg_cpu) / max(calls, 1) * 1000
    out = [
        ("calls (errors)", f"{calls:,} ({sum(errors)})"),
        ("per second (this machine, client included)", f"{calls / elapsed:,.0f}"),
        ("server CPU ms per call", f"{ms:.2f}"),
        ("per core (CPU bound)", f"{1000 / ms:,.0f}" if ms else "-"),
    ]
    if pg.conn is not None:
        out += [
            ("server + PostgreSQL CPU ms per call", f"{both:.2f}"),
            ("per core, PostgreSQL included", f"{1000 / both:,.0f}" if both else "-"),
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--create-seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite in a temp dir)")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url  # the server inherits the environment
    os.environ.setdefault("OSTIARY_MAX_UPLOAD_BYTES", str(100 * 1024 * 1024))
    proc, url, data_dir = start_server(1)
    rows: list[tuple[str, str]] = []
    pg = Backends(args.database_url)
    try:
        idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))
        if not args.skip_import:
            rows += [("— CSV import —", ""), *bench_import(idp, url, proc.pid, args.users, data_dir, pg)]
        if args.create_seconds > 0:
            rows += [("— AdminCreateUser (generated temporary password) —", "")]
            rows += bench_create(url, proc.pid, args.create_seconds, args.concurrency, pg)
        rows.append(("server RSS MB", ", ".join(f"{mb:.0f}" for _, mb in rss_mb(proc.pid))))
    finally:
        pg.close()
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    store = "PostgreSQL" if args.database_url else "SQLite"
    table = Table(title=f"Ostiary user loading — {store}, 1 worker, {os.cpu_count()} cores")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
