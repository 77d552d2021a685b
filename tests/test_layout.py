"""The package's shape: short files, no import circles, no module reaching into another's private members."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
FILES = sorted(SRC.rglob("*.py"))
PRIVATE = re.compile(r"\b(det|detector|reference)\._[a-z]")


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The reconad modules ``path`` imports anywhere (module level or inside functions)."""
    found = set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                   else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def test_every_source_file_is_under_400_lines():
    long = {str(p.relative_to(SRC)): n for p in FILES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"files over 400 lines: {long}"


def test_no_module_touches_a_detectors_private_members():
    hits = [f"{p.relative_to(SRC)}:{i}: {line.strip()}" for p in FILES
            for i, line in enumerate(p.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert not hits, "\n".join(hits)


def test_there_is_no_import_circle():
    modules = {_module(p): p for p in FILES}
    graph = {name: {m for m in _imports(path, set(modules)) if m != name} for name, path in modules.items()}
    for name in graph:  # a package's __init__ is imported before its submodules: ignore parent edges
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, "import circle: " + " -> ".join(cycle)
