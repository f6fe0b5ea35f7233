"""Real processes for the S3 front's end-to-end tests: moto's S3 server as the upstream store, the
Ostiary test server, and the front served by ``ostiary gateway --config FILE`` (a file with an
``[s3]`` table), in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ACCOUNT_ID, REGION, Server, create_account, free_port
from tests.processes import stop, wait_http

PARTNER_ACCOUNT = "210987654321"
UPSTREAM_KEY = "AKIAUPSTREAMOPERATOR"
UPSTREAM_SECRET = "upstream/operator/secret/0123456789abcdef"
BUCKETS = {
    "photos": ACCOUNT_ID,  # the seed's scenario: users/<identity id>/…
    "public-assets": ACCOUNT_ID,  # anonymous reads through a bucket policy
    "health": ACCOUNT_ID,  # a bucket that /health must not shadow
    "partner-data": PARTNER_ACCOUNT,  # another account's bucket: cross-account through its policy
}


@dataclass
class Moto:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=UPSTREAM_KEY,
            aws_secret_access_key=UPSTREAM_SECRET,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """moto's S3 server, a real process on loopback, with the front's buckets."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    moto = Moto(port, proc)
    try:
        wait_http(moto.url + "/moto-api/", proc, log, "moto")
        s3 = moto.client()
        for bucket in BUCKETS:
            s3.create_bucket(Bucket=bucket)
        s3.close()
        yield moto
    finally:
        stop(proc)


@dataclass
class Front:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    partner: dict[str, str] = field(default_factory=dict)  # the partner account root's key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self) -> int:
        return self.proc.pid

    def client(self, **kwargs: Any) -> Any:
        params: dict[str, Any] = {
            "endpoint_url": self.url,
            "region_name": REGION,
            # SigV4 only (boto3 presigns S3 URLs with SigV2 unless told: AWS has deprecated SigV2)
            "config": Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        }
        params.update(kwargs)
        return boto3.client("s3", **params)


def gateway_file(
    path: Path,
    port: int,
    database_url: str,
    upstream: str,
    key: str,
    buckets: dict[str, str] | None = None,
    extra: str = "",
) -> None:
    names = "\n".join(f'{name} = "{account}"' for name, account in (buckets or BUCKETS).items())
    path.write_text(
        f"""
[gateway]
database_url = "{database_url}"
log_format = "json"

[s3]
listen = "127.0.0.1:{port}"
region = "{REGION}"
base_domain = "s3.front.test"
max_object_bytes = 1073741824
{extra}

[s3.upstream]
endpoint = "{upstream}"
region = "{REGION}"
access_key_id = "{key}"
secret_access_key_env = "S3_UPSTREAM_SECRET"

[s3.buckets]
{names}
"""
    )


def start_front(
    server: Server,
    workdir: Path,
    upstream: str,
    key: str = UPSTREAM_KEY,
    secret: str = UPSTREAM_SECRET,
    buckets: dict[str, str] | None = None,
    extra: str = "",
) -> Front:
    """The S3 front in its own process, in front of ``upstream``, deciding with ``server``'s database."""
    port = free_port()
    config = workdir / "gateway.toml"
    gateway_file(config, port, server.database_url, upstream, key, buckets, extra)
    env = dict(os.environ)
    env.update(
        {
            "OSTIARY_DATA_DIR": str(server.data_dir),  # the KEK that unseals access keys
            "OSTIARY_LOG_FORMAT": "json",
            "S3_UPSTREAM_SECRET": secret,
        }
    )
    log = workdir / "front.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ostiary.cli", "gateway", "--config", str(config)],
            stdout=out,
            stderr=out,
            env=env,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
    front = Front(port, proc, log)
    try:
        wait_http(front.url + "/_ostiary/health", proc, log, "the S3 front")
    except BaseException:
        stop(proc)
        raise
    return front


@pytest.fixture(scope="session")
def front(server: Server, moto_s3: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """The S3 front in its own process, in front of moto, deciding with the test server's database."""
    partner = create_account(server, "partner", PARTNER_ACCOUNT)
    f = start_front(server, tmp_path_factory.mktemp("s3front"), moto_s3.url)
    f.partner = partner
    try:
        yield f
    finally:
        stop(f.proc)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
