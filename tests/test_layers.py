"""The package's layers, read from its source: no import cycles inside a subpackage, and each
layer imports only those below it (docs/architecture.md).

Imports are read with ``ast``, so a function-level import counts like a top-level one (a cycle
hidden inside a function is still a cycle); only imports under ``if TYPE_CHECKING:`` are left
out, as they never run.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "azimage_widgets"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
SUBPACKAGES = ("contract", "client", "activities", "widgets", "emulator", "store")

#: What each layer must never import (docs/architecture.md).
FORBIDDEN = {
    "contract": {"client", "activities", "widgets", "emulator", "store"},
    "client": {"activities", "widgets", "emulator", "store"},
    "activities": {"widgets", "emulator"},
    "emulator": {"client", "activities", "widgets", "store"},
    "store": {"client", "activities", "widgets", "emulator"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for stmt in child.orelse:
                yield from _import_nodes(ast.Module(body=[stmt], type_ignores=[]))
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        else:
            yield from _import_nodes(child)


def imported_names(path: Path, source: str | None = None) -> set[str]:
    """Every dotted name a module imports at run time (relative imports made absolute)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in _import_nodes(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            base = f"{base}.{node.module}" if node.module else base
        else:
            base = node.module or ""
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """``{module: package modules it imports}``; ``from pkg import name`` counts as pkg.name when
    that is a module, else as pkg."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for dotted in imported_names(path):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                deps.add(dotted)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def subpackage_cycles(sub: str) -> list[list[str]]:
    prefix = f"{PACKAGE}.{sub}."
    graph = import_graph()
    inner = {m: {d for d in deps if d.startswith(prefix)} for m, deps in graph.items()
             if m.startswith(prefix)}
    return cycles(inner)


def layer_violations(sub: str) -> list[str]:
    prefix = f"{PACKAGE}.{sub}"
    bad = []
    for module, deps in sorted(import_graph().items()):
        if module != prefix and not module.startswith(prefix + "."):
            continue
        for dep in sorted(deps):
            layer = dep.split(".")[1] if dep.count(".") >= 1 else ""
            if layer in FORBIDDEN[sub]:
                bad.append(f"{module} imports {dep}")
    return bad


# -- the checker itself can fail ---------------------------------------------------------------
def test_cycle_finder_sees_a_cycle_and_a_clean_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_reader_counts_function_level_imports_but_not_type_checking() -> None:
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from .widget_a import A\n"
           "else:\n    from .widget_b import B\n"
           "def f():\n    from ..client import thing\n")
    names = imported_names(ROOT / "widgets" / "probe.py", src)
    assert "azimage_widgets.widgets.widget_a" not in names
    assert "azimage_widgets.widgets.widget_b" in names
    assert "azimage_widgets.client" in names


# -- the package -------------------------------------------------------------------------------
@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_no_import_cycles_inside(sub: str) -> None:
    assert (ROOT / sub / "__init__.py").exists()
    assert subpackage_cycles(sub) == []


@pytest.mark.parametrize("sub", sorted(FORBIDDEN))
def test_layer_imports_only_below(sub: str) -> None:
    assert layer_violations(sub) == []
