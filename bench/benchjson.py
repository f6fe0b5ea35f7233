"""`--json PATH` for the benches: every rich Table a bench prints, kept as data.

A bench calls `benchjson.record(args.json)` once after parsing its arguments; from then on each
`rich.console.Console.print` of a `Table` is also kept (title, column headers, cells as text), so
is each printed line of plain text ("notes"), and when the bench exits — normally, by SystemExit
or by an exception — the file is written:

    {"bench": "signin_throughput.py", "argv": [...], "status": "ok" | "error: …",
     "tables": [{"title": …, "columns": [...], "rows": [[...], ...]}], "notes": [...]}

`bench/run_all.py` reads these files; the tables are the figures the bench prints, so the JSON
never disagrees with the console. Nothing of Ostiary is imported here: a bench run against an
older tree (PYTHONPATH=<worktree>/src) records the same way.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _cell(value: Any) -> str:
    if isinstance(value, Text):
        return value.plain
    return str(value)


def table_data(table: Table) -> dict[str, Any]:
    columns = [_cell(c.header) for c in table.columns]
    cells = [[_cell(v) for v in c._cells] for c in table.columns]
    count = max((len(c) for c in cells), default=0)
    rows = [[col[i] if i < len(col) else "" for col in cells] for i in range(count)]
    return {"title": _cell(table.title or ""), "columns": columns, "rows": rows}


def _write() -> None:
    path = _state.get("path")
    if not path:
        return
    exc = sys.exc_info()[1] or _state.get("error")
    doc = {
        "bench": Path(sys.argv[0]).name,
        "argv": sys.argv[1:],
        "status": _state.get("status", "ok") if exc is None else f"error: {exc!r}",
        "tables": _state["tables"],
        "notes": _state["notes"],
        "extra": _state.get("extra", {}),
    }
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False))


def record(path: str | None) -> None:
    """Keep every Table (and line of text) printed from now on; write them to `path` at exit."""
    if not path or _state:
        return
    _state.update(path=path, tables=[], notes=[])
    original = Console.print

    def printing(self: Console, *objects: Any, **kwargs: Any) -> None:
        with _lock:
            for obj in objects:
                if isinstance(obj, Table):
                    _state["tables"].append(table_data(obj))
                elif isinstance(obj, str | Text):
                    _state["notes"].append(_cell(obj))
        original(self, *objects, **kwargs)

    Console.print = printing  # type: ignore[method-assign]
    hook = sys.excepthook

    def failed(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        _state["error"] = exc
        hook(kind, exc, tb)

    sys.excepthook = failed
    atexit.register(_write)


def note(key: str, value: Any) -> None:
    """A figure that is not in a table (kept under "extra")."""
    if _state:
        _state.setdefault("extra", {})[key] = value
