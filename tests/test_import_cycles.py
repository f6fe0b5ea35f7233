"""No import cycles between the modules of src/ostiary (issue 12 item 2).

The graph is read from the source with ``ast``, not by importing it: every ``import`` and
``from … import …`` statement counts, at module level AND inside functions (an import moved into a
function still couples the two modules; it only hides the cycle from the interpreter). Imports under
``if TYPE_CHECKING:`` are left out: they never run, and mypy resolves cycles among annotations.
``from ostiary.x import y`` is an edge to ``ostiary.x.y`` when that is a module, else to ``ostiary.x``.

A cycle is a strongly connected component of more than one module (or a module importing itself).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "ostiary"

# The cycles that exist while issue 12 is being worked through, each the exact set of modules of one
# strongly connected component (names without the leading "ostiary."). The list may only shrink:
# the test fails on a cycle that is not listed AND on a listed cycle that no longer exists, so
# whoever breaks a cycle removes (or narrows) its entry here in the same commit.
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()  # none left (issue 12 item 2)

# The same rule one level up, between the packages directly under ostiary (app.py, cli.py and the
# other top-level modules count as packages of their own).
# None left: the access decision code (principals, authorization, SigV4 key lookup, the policy engine)
# moved to access/, which protocol and iam both import; bounded JSON is ostiary/jsonlimits.py and the
# SigV4 signing key crypto/sigv4_keys.py, below both (issue 12 item 2).
ALLOWED_PACKAGE_CYCLES: frozenset[frozenset[str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, with whether it sits inside a function; TYPE_CHECKING blocks skipped."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), in_function)
        else:
            inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from _imports(node, inner)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return {n for n in names if n in known}
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    found = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:
            found.add(sub)
        elif base in known:
            found.add(base)
    return found


def _graph() -> tuple[dict[str, set[str]], int]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    in_functions = 0
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, in_function in _imports(tree):
            targets = _targets(node, module, path.name == "__init__.py", known)
            graph[module] |= targets
            in_functions += in_function and bool(targets)
    return graph, in_functions


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Tarjan's strongly connected components (iterative), keeping those that form a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.add(frozenset(component))
    return found


def _short(component: frozenset[str]) -> str:
    names = sorted(m.removeprefix(f"{ROOT}.") for m in component)
    return "frozenset({" + ", ".join(f'"{n}"' for n in names) + "})"


def test_no_import_cycles() -> None:
    graph, in_functions = _graph()
    assert in_functions == 0, f"{in_functions} imports of ostiary modules are made inside functions"
    _check(_cycles(graph), ALLOWED_CYCLES, "ALLOWED_CYCLES")


def test_function_level_imports_are_explained() -> None:
    """Imports belong at the top of the module (issue 12 item 2). The only exception is a deliberate lazy
    import of an optional or heavy third-party package, which says so on its line: ``# lazy: <why>``."""
    unexplained = []
    for module, path in _modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines), filename=str(path))
        for node, in_function in _imports(tree):
            if in_function and "# lazy:" not in lines[node.lineno - 1]:
                unexplained.append(f"{path.relative_to(SRC)}:{node.lineno} ({module})")
    assert not unexplained, "function-level imports without a '# lazy: <why>' comment:\n" + "\n".join(unexplained)


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {package(m): set() for m in graph}
    for module, targets in graph.items():
        packages[package(module)] |= {package(t) for t in targets} - {package(module)}
    return packages


def _check(cycles: set[frozenset[str]], allowed: frozenset[frozenset[str]], name: str) -> None:
    cycles = {frozenset(m.removeprefix(f"{ROOT}.") for m in c) for c in cycles}
    new = cycles - allowed
    gone = allowed - cycles
    message = []
    if new:
        message.append(f"import cycles not in {name}:\n" + "\n".join(_short(c) for c in new))
    if gone:
        message.append(
            f"{name} lists cycles that no longer exist (remove them):\n" + "\n".join(_short(c) for c in gone)
        )
    if message:
        message.append("the cycles now:\n" + ",\n".join(_short(c) for c in sorted(cycles, key=sorted)))
    assert not message, "\n\n".join(message)


def test_no_package_cycles() -> None:
    graph, _ = _graph()
    _check(_cycles(_packages(graph)), ALLOWED_PACKAGE_CYCLES, "ALLOWED_PACKAGE_CYCLES")


def test_graph_sees_function_level_imports() -> None:
    """The reader resolves submodules and relative imports, and finds imports inside functions."""
    tree = ast.parse(
        "import ostiary.b\n"
        "from ostiary import c\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ostiary import d\n"
        "def f():\n"
        "    from .e import thing\n"
        "    from ostiary.c import name\n"
    )
    known = {"ostiary", "ostiary.a", "ostiary.b", "ostiary.c", "ostiary.d", "ostiary.e"}
    edges = [(_targets(node, "ostiary.a", False, known), inside) for node, inside in _imports(tree)]
    assert edges == [
        ({"ostiary.b"}, False),
        ({"ostiary.c"}, False),
        (set(), False),
        ({"ostiary.e"}, True),
        ({"ostiary.c"}, True),
    ]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert _cycles(graph) == {frozenset({"a", "b", "c"}), frozenset({"d"})}
