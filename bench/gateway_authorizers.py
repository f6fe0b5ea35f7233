"""Latency and CPU of the gateway's IAM and Lambda-style authorizers, next to an open route.

    python bench/gateway_authorizers.py                   # 1000 requests per case
    python bench/gateway_authorizers.py --requests 3000 --json out.json

Starts its own processes on loopback: an Ostiary server (an IAM user with an access key and an
``execute-api:Invoke`` policy), the tests' echo upstream and ``ostiary gateway`` with four routes:
open, IAM (a GET signed once with botocore's SigV4Auth and replayed within its five minutes; the
signature, the key and the policy are checked on each request, keys and policies from the caches),
a Lambda TOKEN authorizer with its result cached (one token), and the same authorizer uncached
(``result_ttl_seconds = 0``: every request calls the Python handler in its worker process). Sequential
over one keep-alive connection; p50/p99 and the gateway's CPU per request (its worker processes
included). No asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, cpu_seconds, free_port, start_server
from gateway_overhead import _measure, _pct, _wait

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = "token-fn=python:tests.gateway.lambda_handlers:token"


def _user(url: str) -> Credentials:
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    iam.create_user(UserName="bench")
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/*/GET/iam/*"}
    iam.put_user_policy(
        UserName="bench", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    benchjson.record(args.json)
    work = Path(tempfile.mkdtemp(prefix="ostiary-gw-authz-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        server, url, data = start_server(1)
        procs.append(server)
        creds = _user(url)
        account = boto3.client(
            "sts", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
        ).get_caller_identity()["Account"]
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
database_url = "sqlite:///{data / "ostiary.db"}"
account_id = "{account}"
access_log = false

[authorizers.signed]
type = "iam"

[authorizers.cached]
type = "token"
function = "token-fn"

[authorizers.uncached]
type = "token"
function = "token-fn"
result_ttl_seconds = 0

[[routes]]
route = "GET /open/{{proxy+}}"
upstream = "{up_url}"

[[routes]]
route = "GET /iam/{{proxy+}}"
upstream = "{up_url}"
authorizer = "signed"

[[routes]]
route = "GET /cached/{{proxy+}}"
upstream = "{up_url}"
authorizer = "cached"

[[routes]]
route = "GET /uncached/{{proxy+}}"
upstream = "{up_url}"
authorizer = "uncached"
"""
        )
        env = {
            **os.environ,
            "OSTIARY_DATA_DIR": str(data),
            "OSTIARY_LAMBDA_FUNCTIONS": FUNCTIONS,
            "OSTIARY_LAMBDA_PATH": str(ROOT),
            "OSTIARY_LAMBDA_TIMEOUT_SECONDS": "30",
        }
        gateway = subprocess.Popen(
            [sys.executable, "-m", "ostiary.cli", "gateway", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(gateway)
        _wait(f"http://127.0.0.1:{admin}/health", gateway)
        gw_url = f"http://127.0.0.1:{gw_port}"
        signed = AWSRequest(method="GET", url=gw_url + "/iam/pets")
        signed_headers: dict[str, str] = {}
        cases = [
            ("open route", gw_url + "/open/pets", {}),
            ("IAM (SigV4, user policy)", gw_url + "/iam/pets", signed_headers),
            ("Lambda TOKEN, cached", gw_url + "/cached/pets", {"Authorization": "alice"}),
            ("Lambda TOKEN, handler each time", gw_url + "/uncached/pets", {"Authorization": "alice"}),
        ]
        SigV4Auth(creds, "execute-api", REGION).add_auth(signed)
        signed_headers.update(dict(signed.headers.items()))
        rows = []
        with httpx.Client(timeout=60) as client:
            client.get(gw_url + "/uncached/pets", headers={"Authorization": "warm"}).raise_for_status()
            for name, target, headers in cases:
                before = cpu_seconds(gateway.pid)
                times = _measure(client, target, args.requests, headers)
                cpu = (cpu_seconds(gateway.pid) - before) / (args.requests + 50)
                rows.append((name, _pct(times, 0.5), _pct(times, 0.99), cpu * 1e6))
        load = os.getloadavg()[0]
        table = Table(title=f"gateway authorizers, {args.requests} sequential GETs each (load {load:.1f})")
        for column in ("case", "p50 ms", "p99 ms", "gateway CPU µs/request"):
            table.add_column(column)
        for name, p50, p99, cpu_us in rows:
            table.add_row(name, f"{p50:.3f}", f"{p99:.3f}", f"{cpu_us:.0f}")
        Console().print(table)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)


if __name__ == "__main__":
    main()
