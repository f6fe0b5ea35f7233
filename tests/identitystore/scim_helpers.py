"""SCIM test helpers: `ostiary scim token …` run as an operator would, and an httpx client of a
store's SCIM endpoint."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.conftest import Server

SCIM_JSON = "application/scim+json"


def scim_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "scim",
            "token",
            *args,
            "--data-dir",
            str(server.data_dir),
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def new_token(server: Server, store_id: str) -> tuple[str, str]:
    """(token id, token) of a new SCIM token of the store."""
    made = scim_cli(server, "create", "--identity-store-id", store_id)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    token_id = made.stderr.split("Token id", 1)[1].split()[0]
    return token_id, token


def scim_client(server: Server, store_id: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/scim/{store_id}/v2",
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON},
        timeout=30,
    )
