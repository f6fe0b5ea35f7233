"""Running Amplify v6 (the npm package aws-amplify, pinned in tests/js) from the Python tests: each
script in tests/js prints one JSON line and exits non-zero on failure."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"


def run(script: str, *args: str, check: bool = True) -> dict[str, Any]:
    """Run ``node tests/js/<script> <args>`` (npm ci first when aws-amplify is not installed)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed for the JavaScript client tests")
    if not (JS / "node_modules" / "aws-amplify").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=600)
    out = subprocess.run([node, str(JS / script), *args], capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing: {out.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    if check:
        assert out.returncode == 0 and result.get("ok"), result
    return result
