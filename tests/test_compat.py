"""docs/compatibility.md is generated from the registry and must be current."""

from __future__ import annotations

from pathlib import Path

import botocore

from ostiary.compat import counts, render
from ostiary.protocol.models import service_spec
from ostiary.protocol.registry import implemented, load_handlers

DOC = Path(__file__).resolve().parent.parent / "docs" / "compatibility.md"


def _implemented_rows(text: str) -> set[tuple[str, str]]:
    """(service, operation) of every row marked implemented."""
    rows: set[tuple[str, str]] = set()
    service = ""
    for line in text.splitlines():
        if line.startswith("## "):
            service = line[3:].strip()
        elif line.startswith("| ") and "| implemented |" in line:
            rows.add((service, line.split("|")[1].strip()))
    return rows


def test_compatibility_doc_is_current() -> None:
    """Exactly current for the botocore it names; under another botocore (the package registry moves
    on), at least the implemented operations must agree with the registry."""
    assert DOC.exists(), "run `ostiary compat`"
    current = render()
    text = DOC.read_text()
    if f"botocore {botocore.__version__}:" in text:
        assert text == current, "docs/compatibility.md is stale: run `ostiary compat`"
    else:
        assert _implemented_rows(text) == _implemented_rows(current), "run `ostiary compat`"


def test_every_registered_operation_exists_in_its_model() -> None:
    load_handlers()
    for service in counts():
        names = set(service_spec(service).model.operation_names)
        for op in implemented(service):
            assert op in names, f"{service}:{op} is not an operation of the botocore model"
