"""The README opens with the two set-up commands, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_serve_and_test_commands() -> None:
    serve, test = _commands()[:2]
    assert "ostiary serve" in serve and "pip install ." in serve
    assert "pytest" in test and ".[test]" in test


def test_ci_runs_the_readme_test_command() -> None:
    test = _commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'TEST_COMMAND="{test}"' in ci
