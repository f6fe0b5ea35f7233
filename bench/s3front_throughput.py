"""Upload throughput through the S3 front against the same uploads straight to its upstream.

    python bench/s3front_throughput.py                      # 256 MB, 16 MB parts, 4 at a time
    python bench/s3front_throughput.py --megabytes 512 --concurrency 8 --json out.json

Starts its own processes on loopback: an Ostiary server (the caller's access key and policies), moto's
S3 server (the upstream store; it keeps objects in memory and on disk, so it costs CPU of its own),
and the S3 front in front of moto. Uploads the same file with boto3's managed transfer (multipart,
SigV4 with a signed payload over plain HTTP) first straight to moto, then through the front (SigV4
verified, each part decided by the policy engine, re-signed and streamed upstream), a few rounds each,
and reports MB/s (wall clock) and the front's CPU time per MB (user + system, from /proc). moto's
own CPU is reported too: on a machine with few cores it competes with the front. No asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, cpu_seconds, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_KEY, UPSTREAM_SECRET = "AKIABENCHUPSTREAM001", "bench/upstream/secret/000000000000000"


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


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/moto-api/", proc)
    return proc, url


def start_front(data_dir: Path, moto_url: str, workdir: Path, account: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = workdir / "gateway.toml"
    config.write_text(
        f"""[gateway]
database_url = "sqlite:///{data_dir / "ostiary.db"}"

[s3]
listen = "127.0.0.1:{port}"
region = "{REGION}"

[s3.upstream]
endpoint = "{moto_url}"
access_key_id = "{UPSTREAM_KEY}"
secret_access_key_env = "BENCH_UPSTREAM_SECRET"

[s3.buckets]
bench = "{account}"
"""
    )
    env = {**os.environ, "OSTIARY_DATA_DIR": str(data_dir), "BENCH_UPSTREAM_SECRET": UPSTREAM_SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ostiary.cli", "gateway", "--config", str(config)],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/_ostiary/health", proc)
    return proc, url


def client(url: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=32),
    )


def upload_rounds(s3: Any, path: Path, rounds: int, transfer: TransferConfig) -> float:
    started = time.perf_counter()
    for i in range(rounds):
        s3.upload_file(str(path), "bench", f"bench/object-{i}", Config=transfer)
    return time.perf_counter() - started


def small_gets(s3: Any, count: int) -> list[float]:
    """Latencies (ms) of ``count`` sequential GETs of a 1 KiB object."""
    s3.put_object(Bucket="bench", Key="bench/small", Body=b"s" * 1024)
    out = []
    for _ in range(count):
        started = time.perf_counter()
        s3.get_object(Bucket="bench", Key="bench/small")["Body"].read()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=256, help="size of the uploaded file")
    parser.add_argument("--part-megabytes", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gets", type=int, default=300, help="sequential small GETs for the latency table")
    parser.add_argument("--json", help="write the tables as JSON to this path")
    args = parser.parse_args()
    benchjson.record(args.json)
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="s3front-bench-"))
    server, server_url, data_dir = start_server(1)
    sts = boto3.client(
        "sts", endpoint_url=server_url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    account = sts.get_caller_identity()["Account"]  # the bucket's owner: the root's own account
    sts.close()
    moto, moto_url = start_moto()
    front, front_url = start_front(data_dir, moto_url, work, account)
    try:
        path = work / "payload.bin"
        with open(path, "wb") as fh:
            block = os.urandom(1 << 20)
            for i in range(args.megabytes):
                fh.write(block[:-8] + i.to_bytes(8, "big"))
        direct = client(moto_url, UPSTREAM_KEY, UPSTREAM_SECRET)
        direct.create_bucket(Bucket="bench")
        via = client(front_url, KEY, SECRET)
        transfer = TransferConfig(
            multipart_threshold=args.part_megabytes << 20,
            multipart_chunksize=args.part_megabytes << 20,
            max_concurrency=args.concurrency,
        )
        upload_rounds(direct, path, 1, transfer)  # warm-up: connections, moto's first allocations
        upload_rounds(via, path, 1, transfer)
        total_mb = args.megabytes * args.rounds
        rows = []
        for name, s3, measured in (("direct to moto", direct, None), ("through the S3 front", via, front.pid)):
            moto_cpu = cpu_seconds(moto.pid)
            front_cpu = cpu_seconds(measured) if measured else 0.0
            seconds = upload_rounds(s3, path, args.rounds, transfer)
            moto_used = cpu_seconds(moto.pid) - moto_cpu
            front_used = (cpu_seconds(measured) - front_cpu) if measured else 0.0
            rows.append((name, total_mb / seconds, seconds, front_used, moto_used))
        table = Table(
            title=f"Upload throughput, {args.megabytes} MB x {args.rounds}, {args.part_megabytes} MB parts, "
            f"{args.concurrency} at a time ({os.cpu_count()} cores)"
        )
        for column in ("path", "MB/s", "seconds", "front CPU s", "front CPU ms/MB", "moto CPU s"):
            table.add_column(column, justify="right")
        for name, rate, seconds, front_used, moto_used in rows:
            table.add_row(
                name,
                f"{rate:.1f}",
                f"{seconds:.2f}",
                f"{front_used:.2f}" if front_used else "-",
                f"{1000 * front_used / total_mb:.2f}" if front_used else "-",
                f"{moto_used:.2f}",
            )
        console.print(table)
        latency = Table(title=f"GET of a 1 KiB object, {args.gets} sequential requests (ms)")
        for column in ("path", "p50", "p90", "p99", "front CPU ms/request"):
            latency.add_column(column, justify="right")
        for name, s3, measured in (("direct to moto", direct, None), ("through the S3 front", via, front.pid)):
            small_gets(s3, 20)  # warm-up
            before = cpu_seconds(measured) if measured else 0.0
            got = small_gets(s3, args.gets)
            used = (cpu_seconds(measured) - before) if measured else 0.0
            pct = [got[min(len(got) - 1, int(len(got) * q))] for q in (0.5, 0.9, 0.99)]
            latency.add_row(
                name, *(f"{v:.2f}" for v in pct), f"{1000 * used / (args.gets + 1):.2f}" if measured else "-"
            )
        console.print(latency)
        direct.close()
        via.close()
    finally:
        for proc in (front, moto, server):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
