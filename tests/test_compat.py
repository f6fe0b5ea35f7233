"""docs/compatibility.md is generated from the registry and must be current."""

from __future__ import annotations

from pathlib import Path

from ostiary.compat import counts, render
from ostiary.protocol.models import service_spec
from ostiary.protocol.registry import implemented, load_handlers

DOC = Path(__file__).resolve().parent.parent / "docs" / "compatibility.md"


def test_compatibility_doc_is_current() -> None:
    assert DOC.exists(), "run `ostiary compat`"
    assert DOC.read_text() == render(), "docs/compatibility.md is stale: run `ostiary compat`"


def test_every_registered_operation_exists_in_its_model() -> None:
    load_handlers()
    for service in counts():
        names = set(service_spec(service).model.operation_names)
        for op in implemented(service):
            assert op in names, f"{service}:{op} is not an operation of the botocore model"
