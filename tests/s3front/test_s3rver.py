"""The S3 front in front of a second real store, s3rver (npm): the usual operations go through (keys
with spaces and non-ASCII letters, ranges, delimiters, copies, multipart, presigned GETs, DeleteObjects);
s3rver checks the access key id (not SigV4 signatures: moto in its authenticating mode does, see
test_verified_upstream.py), so a front configured with an unknown upstream key answers InternalError
(the operator's misconfiguration is not the client's fault) and never relays the store's message."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, Server, free_port
from tests.processes import stop
from tests.s3front.conftest import Front, start_front

JS = Path(__file__).resolve().parents[1] / "js"
S3RVER_KEY = S3RVER_SECRET = "S3RVER"  # s3rver's one account: other key ids are InvalidAccessKeyId
BUCKETS = {"verified": ACCOUNT_ID}


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed for the s3rver test")
    if not (JS / "node_modules" / "s3rver").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=600)
    port = free_port()
    data = tmp_path_factory.mktemp("s3rver")
    log = data.parent / f"{data.name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [node, str(JS / "node_modules" / "s3rver" / "bin" / "s3rver.js"), "-d", str(data), "-a", "127.0.0.1",
             "-p", str(port), "--configure-bucket", "verified", "--no-vhost-buckets"],
            stdout=out,
            stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"s3rver exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("s3rver did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def verified_front(server: Server, s3rver: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    f = start_front(server, tmp_path_factory.mktemp("front-s3rver"), s3rver, S3RVER_KEY, S3RVER_SECRET, BUCKETS)
    try:
        yield f
    finally:
        stop(f.proc)


def root_client(front: Front) -> Any:
    return front.client(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)


def test_the_usual_operations_through_the_front(verified_front: Front, tmp_path: Path) -> None:
    s3 = root_client(verified_front)
    body = os.urandom(200_000)
    s3.put_object(Bucket="verified", Key="a dir/ünïcode + key.bin", Body=body, Metadata={"m": "1"})
    got = s3.get_object(Bucket="verified", Key="a dir/ünïcode + key.bin")
    assert got["Body"].read() == body and got["Metadata"] == {"m": "1"}
    ranged = s3.get_object(Bucket="verified", Key="a dir/ünïcode + key.bin", Range="bytes=10-19")
    assert ranged["Body"].read() == body[10:20]
    listed = s3.list_objects_v2(Bucket="verified", Prefix="a dir/", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["a dir/ünïcode + key.bin"]
    s3.put_object(Bucket="verified", Key="plain.bin", Body=body)  # (s3rver cannot copy keys with '+' or non-ASCII)
    s3.copy_object(Bucket="verified", Key="copy.bin", CopySource={"Bucket": "verified", "Key": "plain.bin"})
    assert s3.head_object(Bucket="verified", Key="copy.bin")["ContentLength"] == len(body)
    # a multipart upload (two 5 MiB parts and a tail)
    path = tmp_path / "big.bin"
    data = os.urandom(11 * 1024 * 1024)
    path.write_bytes(data)
    mib = 1024 * 1024
    s3.upload_file(
        str(path),
        "verified",
        "big.bin",
        Config=TransferConfig(multipart_threshold=5 * mib, multipart_chunksize=5 * mib),
    )
    digest = hashlib.sha256(s3.get_object(Bucket="verified", Key="big.bin")["Body"].read()).hexdigest()
    assert digest == hashlib.sha256(data).hexdigest()
    # a presigned GET, answered by the front re-signing for the store
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "verified", "Key": "copy.bin"}, ExpiresIn=60)
    assert httpx.get(url, timeout=30).content == body
    s3.delete_objects(Bucket="verified", Delete={"Objects": [{"Key": k} for k in ("copy.bin", "big.bin", "plain.bin")]})
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="verified")["Contents"]] == ["a dir/ünïcode + key.bin"]
    s3.close()


def test_a_front_with_an_unknown_upstream_key_is_an_internal_error(
    server: Server, s3rver: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    front = start_front(server, tmp_path_factory.mktemp("front-bad"), s3rver, "AKIANOTKNOWN", "not-the-secret", BUCKETS)
    try:
        s3 = root_client(front)
        with pytest.raises(ClientError) as failed:
            s3.get_object(Bucket="verified", Key="anything")
        assert failed.value.response["Error"]["Code"] == "InternalError"
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert "does not exist in our records" not in failed.value.response["Error"]["Message"]
        s3.close()
        assert "not-the-secret" not in front.log.read_text()
    finally:
        stop(front.proc)
