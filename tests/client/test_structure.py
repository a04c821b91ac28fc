"""The client layer's shape: small modules, no import cycles, a capped read that returns bytes."""
from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from azimage_widgets.client.capped import read_capped
from azimage_widgets.client.exchange import Answer, exchange

CLIENT = Path(__file__).resolve().parents[2] / "azimage_widgets" / "client"
#: The send chain and what uses it; each says what it holds in its name.
SEND_CHAIN = ["image_client", "send", "retry", "exchange", "capped", "operations", "generations",
              "poll", "fetch", "batch", "shared"]


def client_imports(path: Path, *, lazy: bool) -> set[str]:
    """The client modules ``path`` imports (``lazy``: also inside functions; never TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 1 and (top or lazy):
                if child.module:
                    found.add(child.module.split(".")[0])
                else:
                    found.update(a.name for a in child.names)
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            visit(child, inner)

    visit(tree, True)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                found.append(path + [nxt])
            elif nxt not in path and nxt > path[0]:
                walk(nxt, path + [nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def graph(*, lazy: bool) -> dict[str, set[str]]:
    return {p.stem: client_imports(p, lazy=lazy) for p in CLIENT.glob("*.py") if p.stem != "__init__"}


def test_send_chain_modules_exist_and_are_small():
    for name in SEND_CHAIN:
        lines = (CLIENT / f"{name}.py").read_text().count("\n")
        assert lines < 400, f"client/{name}.py has {lines} lines"


def test_no_import_cycles_in_the_client_at_module_level():
    assert cycles(graph(lazy=False)) == []


def test_no_import_cycles_in_the_client_even_through_lazy_imports():
    """Function-level imports count too (they only hide a cycle from the interpreter)."""
    assert cycles(graph(lazy=True)) == []


async def test_the_capped_read_returns_bytes_and_leaves_the_response_unread():
    async def chunks():  # a streamed body, as the network gives it (not loaded up front)
        yield b'{"id": '
        yield b'"x"}'

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        async with http.stream("GET", "http://h/x") as resp:
            body = await read_capped(resp, 100, lambda status, size: ValueError(size))
            assert body == b'{"id": "x"}'
            with pytest.raises(httpx.ResponseNotRead):
                resp.content  # noqa: B018 - nothing was written into the response
        got = await exchange(http, http.build_request("GET", "http://h/x"), budget=5,
                             max_bytes=100, too_large=lambda status, size: ValueError(size))
    assert isinstance(got, Answer) and got.json() == {"id": "x"}


async def test_the_capped_read_stops_at_the_cap():
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 1000)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(ValueError, match="longer|1000 bytes"):
            await exchange(http, http.build_request("GET", "http://h/x"), budget=5,
                           max_bytes=100, too_large=lambda status, size: ValueError(size))


#: ``module: expression`` pairs that may read another object's underscore name, with the reason.
PRIVATE_ACCESS_ALLOWED = {
    # a classmethod marks the instance of its own class it has just made as the shared one
    "image_client: client._is_shared",
}


def private_accesses(path: Path) -> list[str]:
    """``obj._name`` in ``path`` where ``obj`` is not ``self`` or ``cls`` (dunders aside)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") \
                or (node.attr.startswith("__") and node.attr.endswith("__")):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"{path.stem}: {ast.unparse(node)}")
    return found


def test_no_client_module_reaches_into_another_objects_private_names():
    """Each class keeps its underscore names to itself; others use its (internal) surface,
    e.g. ImageClient's sender/generations/http()/pause() for streaming.py and v1.py."""
    found = {hit for p in sorted(CLIENT.glob("*.py")) for hit in private_accesses(p)}
    assert found - PRIVATE_ACCESS_ALLOWED == set()
    assert PRIVATE_ACCESS_ALLOWED <= found  # an allowance no longer needed is dropped


def test_the_private_access_check_can_fail(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(client):\n    return client._send, self._ok, cls._ok, x.__class__\n")
    assert private_accesses(sample) == ["sample: client._send"]
