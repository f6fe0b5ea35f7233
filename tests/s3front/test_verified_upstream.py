"""The front's re-signing checked by the upstream: moto's S3 server in its authenticating mode
(``INITIAL_NO_AUTH_ACTION_COUNT``: after the first few calls every request's SigV4 is recomputed and
compared, and the key's IAM policy applied). Keys with spaces, ``+`` and non-ASCII letters, query
parameters, ranges, copies, multipart uploads and presigned GETs must all verify; a front holding the
wrong upstream secret answers InternalError and never relays the store's SignatureDoesNotMatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, Server, free_port
from tests.processes import stop, wait_http
from tests.s3front.conftest import Front, start_front

BUCKETS = {"signed-only": ACCOUNT_ID}
SETUP_CALLS = 4  # create_user, create_access_key, put_user_policy, create_bucket: then every call is verified


@pytest.fixture(scope="module")
def strict_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """moto's server verifying signatures; (its URL, the operator's key id, its secret)."""
    port = free_port()
    log = tmp_path_factory.mktemp("strict-moto") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/moto-api/", proc, log, "moto")
        kw: dict[str, Any] = {
            "endpoint_url": url,
            "region_name": REGION,
            "aws_access_key_id": "AKIASETUPSETUPSETUP0",
            "aws_secret_access_key": "setup",
            "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        }
        iam, s3 = boto3.client("iam", **kw), boto3.client("s3", **kw)
        iam.create_user(UserName="operator")
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="operator", PolicyName="s3", PolicyDocument=json.dumps(policy))
        s3.create_bucket(Bucket="signed-only")
        # from here on moto verifies: the setup key is unknown to it
        with pytest.raises(ClientError):
            s3.list_buckets()
        iam.close()
        s3.close()
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def strict_front(
    server: Server, strict_moto: tuple[str, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Front]:
    url, key, secret = strict_moto
    f = start_front(server, tmp_path_factory.mktemp("front-strict"), url, key, secret, BUCKETS)
    try:
        yield f
    finally:
        stop(f.proc)


def test_every_request_verifies_upstream(strict_front: Front, tmp_path: Path) -> None:
    s3 = strict_front.client(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
    body = os.urandom(100_000)
    odd = "dir with space/ünïcode + plus=eq&amp;~tilde (1).bin"
    s3.put_object(Bucket="signed-only", Key=odd, Body=body, ContentType="application/x-test", Metadata={"m": "v 1"})
    got = s3.get_object(Bucket="signed-only", Key=odd)
    assert got["Body"].read() == body
    assert s3.get_object(Bucket="signed-only", Key=odd, Range="bytes=5-9")["Body"].read() == body[5:10]
    listed = s3.list_objects_v2(Bucket="signed-only", Prefix="dir with space/", Delimiter="/", MaxKeys=10)
    assert [o["Key"] for o in listed["Contents"]] == [odd]
    s3.copy_object(Bucket="signed-only", Key="copy.bin", CopySource={"Bucket": "signed-only", "Key": odd})
    mib = 1024 * 1024
    path = tmp_path / "parts.bin"
    path.write_bytes(os.urandom(11 * mib))
    s3.upload_file(
        str(path),
        "signed-only",
        "parts.bin",
        Config=TransferConfig(multipart_threshold=5 * mib, multipart_chunksize=5 * mib),
    )
    assert s3.head_object(Bucket="signed-only", Key="parts.bin")["ContentLength"] == 11 * mib
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "signed-only", "Key": odd}, ExpiresIn=60)
    assert httpx.get(url, timeout=30).content == body
    answer = s3.delete_objects(Bucket="signed-only", Delete={"Objects": [{"Key": "copy.bin"}, {"Key": "parts.bin"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["copy.bin", "parts.bin"]
    s3.close()


def test_the_wrong_upstream_secret_is_an_internal_error(
    server: Server, strict_moto: tuple[str, str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    url, key, _ = strict_moto
    front = start_front(server, tmp_path_factory.mktemp("front-wrong"), url, key, "wrong/secret/value", BUCKETS)
    try:
        s3 = front.client(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
        with pytest.raises(ClientError) as failed:
            s3.put_object(Bucket="signed-only", Key="x", Body=b"x")
        assert failed.value.response["Error"]["Code"] == "InternalError"
        assert "signature" not in failed.value.response["Error"]["Message"].lower()
        s3.close()
    finally:
        stop(front.proc)
