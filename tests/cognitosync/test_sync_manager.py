"""The Cognito Sync Manager for JavaScript (``amazon-cognito-js`` over the AWS SDK for JavaScript v2,
pinned in tests/js): one user signed in on two devices syncs a dataset through Ostiary, and a
conflicting change is resolved by the second device's onConflict callback (tests/js/cognito_sync.js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cognitosync.conftest import sync_setup
from tests.conftest import Server

SCRIPT = Path(__file__).resolve().parent.parent / "js" / "cognito_sync.js"


def test_two_devices_sync_and_resolve_a_conflict(server: Server) -> None:
    node = shutil.which("node")
    if node is None or not (SCRIPT.parent / "node_modules" / "amazon-cognito-js").exists():
        pytest.fail("Node.js and tests/js's node_modules (npm ci) are needed")
    w = sync_setup(server)
    _, tokens = w.user()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(SCRIPT.parent),
        "OSTIARY_URL": server.url,
        "IDENTITY_POOL_ID": w.pool_id,
        "PROVIDER": w.provider,
        "ID_TOKEN": tokens["IdToken"],
        "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
    }
    ran = subprocess.run(
        [node, str(SCRIPT)], cwd=SCRIPT.parent, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr + ran.stdout
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    identity = w.identity_for(tokens["IdToken"])
    assert seen["phoneIdentity"] == seen["tabletIdentity"] == identity
    assert seen["pulled"] == {"score": "10", "level": "1"}
    assert seen["conflicts"] == [{"key": "score", "local": "15", "remote": "20"}]
    assert seen["phone"] == seen["tablet"] == {"score": "35", "level": "1"}
    # what the server holds: the resolved value, written by the second device's last sync
    sync = server.client("cognito-sync")
    records = sync.list_records(IdentityPoolId=w.pool_id, IdentityId=identity, DatasetName="game")
    assert {r["Key"]: r["Value"] for r in records["Records"]} == {"score": "35", "level": "1"}
    assert records["DatasetSyncCount"] == 3
