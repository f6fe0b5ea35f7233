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


def test_installs_are_pinned_by_the_constraints_file() -> None:
    """Both README commands install through constraints.txt, and it pins every package of this
    environment, so a new release on the registry cannot change what CI runs."""
    import importlib.metadata

    serve, test = _commands()[:2]
    assert "-c constraints.txt" in serve and "-c constraints.txt" in test
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned with ==: {line}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    installed = {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower(): dist.version
        for dist in importlib.metadata.distributions()
    }
    ignored = {"ostiary", "pip", "setuptools", "wheel"}
    unpinned = sorted(n for n in installed if n not in pins and n not in ignored)
    assert not unpinned, f"installed but not pinned in constraints.txt: {unpinned}"
    moved = sorted(n for n, v in installed.items() if n in pins and pins[n] != v)
    assert not moved, f"installed versions differ from constraints.txt: {moved}"
