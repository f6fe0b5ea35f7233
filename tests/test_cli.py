"""`ostiary init | accounts | compat | --version` through the real command line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from ostiary import __version__


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    for k in list(full_env):
        if k.startswith("OSTIARY_"):
            full_env.pop(k)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ostiary.cli", *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_init_generates_root_key_once(tmp_path: Path) -> None:
    first = run("init", "--data-dir", str(tmp_path / "d"))
    assert first.returncode == 0, first.stderr
    creds = tmp_path / "d" / "root-credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "d" / "kek").stat().st_mode) == 0o600
    text = creds.read_text()
    akid = next(ln.split("=")[1].strip() for ln in text.splitlines() if ln.startswith("aws_access_key_id"))
    assert akid.startswith("AKIA") and len(akid) == 20
    assert akid in first.stderr  # printed once, with the examples
    assert "boto3" in first.stderr and "--endpoint-url" in first.stderr
    second = run("init", "--data-dir", str(tmp_path / "d"))
    assert second.returncode == 0
    assert akid not in second.stderr  # never printed again


def test_root_key_from_environment(tmp_path: Path) -> None:
    env = {
        "OSTIARY_ROOT_ACCESS_KEY_ID": "AKIAENVIRONMENTKEY01",
        "OSTIARY_ROOT_SECRET_ACCESS_KEY": "s3cr3t",
        "OSTIARY_ROOT_ACCOUNT_ID": "210987654321",
    }
    out = run("init", "--data-dir", str(tmp_path / "d"), env=env)
    assert out.returncode == 0, out.stderr
    assert "s3cr3t" not in out.stderr
    assert not (tmp_path / "d" / "root-credentials").exists()
    listing = run("accounts", "list", "--data-dir", str(tmp_path / "d"))
    assert "210987654321" in listing.stdout


def test_accounts_create_and_list(tmp_path: Path) -> None:
    d = str(tmp_path / "d")
    assert run("init", "--data-dir", d).returncode == 0
    created = run("accounts", "create", "--name", "team-b", "--account-id", "555555555555", "--data-dir", d)
    assert created.returncode == 0, created.stderr
    assert "555555555555" in created.stderr
    listing = run("accounts", "list", "--data-dir", d)
    assert "team-b" in listing.stdout and "555555555555" in listing.stdout
    dup = run("accounts", "create", "--name", "again", "--account-id", "555555555555", "--data-dir", d)
    assert dup.returncode != 0
    bad = run("accounts", "create", "--name", "bad", "--account-id", "12", "--data-dir", d)
    assert bad.returncode != 0 and "12 digits" in bad.stderr


def test_compat_check_detects_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "compat.md"
    assert run("compat", "--output", str(target)).returncode == 0
    assert run("compat", "--check", "--output", str(target)).returncode == 0
    target.write_text(target.read_text() + "edited by hand\n")
    assert run("compat", "--check", "--output", str(target)).returncode == 1
