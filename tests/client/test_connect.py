"""The composition layer (``azimage_widgets.connect``) and the client layer's boundaries.

``aw.Connection.from_env()`` reads the environment (and starts the embedded
emulator when no endpoint is set); the client layer's Connection is a value
that does no I/O and imports no emulator; every client module imports on its
own (no import cycles inside ``client/``); a pool and a connection share one
face (``ConnectionLike``) and each has its explicit client class.
"""
from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import types
from pathlib import Path

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets import connect
from azimage_widgets.client import (
    Connection,
    ConnectionLike,
    ConnectionPool,
    ImageClient,
    PooledImageClient,
    client_for,
)

KEY = "unit-fake-key-QWERTY-9876"
EP = "https://res.openai.azure.com"
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "azimage_widgets" / "client"


# -- Connection.from_env -------------------------------------------------------------

def test_from_env_with_key():
    c = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP + "/", "AZURE_OPENAI_API_KEY": KEY,
                             "AZURE_OPENAI_DEPLOYMENT": "dalle"})
    assert c.endpoint == EP and c.auth_kind == "api-key" and c.deployment == "dalle"
    assert c.api_version == "v1"  # an Azure resource today: the v1 API


def test_from_env_bad_version():
    with pytest.raises(aw.ValidationError):
        aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": KEY,
                             "AZURE_OPENAI_API_VERSION": "1999-01-01"})


def test_from_env_no_key_without_azure_identity(monkeypatch):
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import fails
    with pytest.raises(aw.ValidationError) as ei:
        aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_DEPLOYMENT": "d"})
    assert ei.value.field == "AZURE_OPENAI_API_KEY"
    assert "azure-identity" in str(ei.value)


async def test_from_env_no_key_uses_default_azure_credential(monkeypatch):
    seen = {}
    fake = types.ModuleType("azure.identity")

    class DefaultAzureCredential:  # noqa: D401 - a stand-in
        pass

    def get_bearer_token_provider(cred, scope):
        seen["scope"] = scope
        seen["cred"] = type(cred).__name__
        return lambda: "entra-token"

    fake.DefaultAzureCredential = DefaultAzureCredential
    fake.get_bearer_token_provider = get_bearer_token_provider
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", fake)
    c = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP,
                             "AZURE_OPENAI_API_VERSION": "2023-06-01-preview"})
    assert seen == {"scope": "https://cognitiveservices.azure.com/.default",
                    "cred": "DefaultAzureCredential"}
    assert await c.auth_headers(EP + "/openai/x") == {"Authorization": "Bearer entra-token"}


def test_from_env_without_endpoint_uses_embedded_emulator(monkeypatch):
    import azimage_widgets

    fake = types.ModuleType("azimage_widgets.emulator")
    fake.embedded = lambda: types.SimpleNamespace(endpoint="http://127.0.0.1:4321", api_key=KEY)
    # setattr first: its look-up of the old value runs the package's lazy import, which
    # must find the real module, or the fake is what gets restored afterwards.
    monkeypatch.setattr(azimage_widgets, "emulator", fake, raising=False)
    monkeypatch.setitem(sys.modules, "azimage_widgets.emulator", fake)
    c = aw.Connection.from_env({"AZURE_OPENAI_API_KEY": "ignored"})
    assert c.endpoint == "http://127.0.0.1:4321" and c.auth_kind == "api-key"


# -- aw.Connection: the value plus its constructors -------------------------------------------

def test_aw_connection_is_the_value_with_constructors():
    assert issubclass(aw.Connection, Connection) and aw.Connection is connect.Connection
    for name in ("from_env", "pool", "aclose"):
        assert hasattr(aw.Connection, name)
        assert not hasattr(Connection, name), f"client.Connection.{name}: the value does no I/O"
    c = aw.Connection(EP, api_key=KEY, deployment="d")
    assert repr(c).startswith("Connection(") and KEY not in repr(c)
    restored = pickle.loads(pickle.dumps(c))
    assert type(restored) is aw.Connection and restored.endpoint == EP
    assert restored.deployment == "d" and restored.auth_kind is None
    assert KEY.encode() not in pickle.dumps(c)


def test_from_env_gives_aw_connection():
    c = connect.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": KEY + "\n",
                          "AZURE_OPENAI_DEPLOYMENT": "d"})
    assert type(c) is aw.Connection and c.auth_kind == "api-key"


def test_making_a_connection_does_no_io(monkeypatch):
    import socket

    def refuse(*a, **kw):
        raise AssertionError("a Connection opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    called = []
    Connection(EP, token_provider=lambda: called.append(1) or "tok", timeout=5, max_retries=1)
    Connection("http://localhost:1", api_key=KEY)
    assert called == []  # the token provider is asked only when a request is sent


# -- a pool and a connection: one face, explicit clients ----------------------------------------

def test_pool_and_connection_share_a_face_and_have_explicit_clients():
    a = Connection(EP, api_key=KEY)
    b = Connection("https://other.openai.azure.com", api_key=KEY)
    pool = aw.Connection.pool([a, b])
    assert isinstance(a, ConnectionLike) and isinstance(pool, ConnectionLike)
    assert not isinstance("https://x", ConnectionLike)
    assert "__new__" not in vars(ImageClient)  # ImageClient(x) is always an ImageClient
    with pytest.raises(aw.ValidationError) as ei:
        ImageClient(pool)  # type: ignore[arg-type]
    assert ei.value.field == "conn" and "PooledImageClient" in str(ei.value)
    assert type(client_for(pool)) is PooledImageClient
    assert type(client_for(a)) is ImageClient
    assert type(PooledImageClient(pool)) is PooledImageClient
    assert client_for(pool).connection is pool and client_for(a).connection is a
    with pytest.raises(aw.ValidationError):
        client_for("https://x")  # type: ignore[arg-type]
    with pytest.raises(aw.ValidationError):
        PooledImageClient(a)  # type: ignore[arg-type]


async def test_shared_client_of_either_kind():
    from azimage_widgets.client import shared_client

    a = Connection(EP, api_key=KEY)
    pool = ConnectionPool([a, Connection("https://other.openai.azure.com", api_key=KEY)])
    try:
        assert type(shared_client(pool)) is PooledImageClient
        assert shared_client(pool) is shared_client(pool) is PooledImageClient.shared(pool)
        assert type(shared_client(a)) is ImageClient and shared_client(a) is ImageClient.shared(a)
        with pytest.raises(aw.ValidationError):
            ImageClient.shared(pool)
    finally:
        await ImageClient.close_shared()


# -- auth: an httpx.Auth for the endpoint's origin only -----------------------------------------

@pytest.mark.parametrize(("url", "gets_key"), [
    (EP + "/openai/x?api-version=1", True),
    ("https://res.openai.azure.com:443/y", True),
    ("https://RES.openai.azure.com/y", True),
    ("http://res.openai.azure.com/y", False),          # another scheme
    ("https://res.openai.azure.com:8443/y", False),    # another port
    ("https://res.openai.azure.com.evil.com/y", False),
    ("https://blob.example.com/img.png?sig=abc", False),
])
async def test_auth_attaches_the_key_only_for_the_endpoint_origin(url, gets_key):
    seen: list[httpx.Headers] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    conn = Connection(EP, api_key=KEY)
    assert isinstance(conn.auth, httpx.Auth)
    async with httpx.AsyncClient(auth=conn.auth, transport=httpx.MockTransport(record)) as http:
        await http.get(url)
    assert (seen[0].get("api-key") == KEY) is gets_key
    assert gets_key or "authorization" not in seen[0]


async def test_bearer_auth_and_a_restored_connection():
    seen: list[httpx.Headers] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200)

    async def provider() -> str:
        return " tok-123 \n"

    conn = Connection(EP, token_provider=provider)
    async with httpx.AsyncClient(auth=conn.auth, transport=httpx.MockTransport(record)) as http:
        await http.get(EP + "/x")
        await http.get("https://blob.example.com/x")
        restored = pickle.loads(pickle.dumps(conn))
        await http.get("https://blob.example.com/x", auth=restored.auth)  # no credentials needed
        with pytest.raises(aw.ValidationError, match="credentials"):
            await http.get(EP + "/x", auth=restored.auth)
    assert seen[0]["authorization"] == "Bearer tok-123"
    assert "authorization" not in seen[1] and len(seen) == 3


# -- the client layer's imports -------------------------------------------------------------------

def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in ``path`` that runs (TYPE_CHECKING blocks skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 and not base:  # from . import x
                found += [(1, alias.name) for alias in node.names]
            else:
                found.append((node.level, base))
        elif isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
    return found


def test_client_layer_imports_only_contract_below_it():
    for path in sorted(CLIENT.glob("*.py")):
        for level, module in _imports(path):
            absolute = module if level == 0 else ("azimage_widgets." + module if level == 2 else "")
            first = absolute.split(".")[1] if absolute.startswith("azimage_widgets.") else ""
            assert first in ("", "contract"), f"{path.name} imports {absolute} (even lazily)"


def test_no_import_cycles_inside_client():
    graph: dict[str, set[str]] = {}
    for path in sorted(CLIENT.glob("*.py")):
        graph[path.stem] = {module.split(".")[0] for level, module in _imports(path)
                            if level == 1 and module}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or nxt == node:
                continue
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(trail + [nxt])}"
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("module", sorted(p.stem for p in CLIENT.glob("*.py") if p.stem != "__init__"))
def test_each_client_module_imports_on_its_own(module):
    code = (f"import importlib, sys; importlib.import_module('azimage_widgets.client.{module}'); "
            "print('azimage_widgets.emulator' in sys.modules, 'azimage_widgets.connect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    assert out == ["False", "False"]
