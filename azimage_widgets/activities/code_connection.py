"""How a "View code" snippet reaches the service: the connection built in Python with the
secret read from the environment, and curl's auth header, preamble and URL.

Never the key: Python reads ``os.environ["AZURE_OPENAI_API_KEY"]`` (``_1``, ``_2``, ... for
the members of a pool) and curl sends ``$AZURE_OPENAI_API_KEY`` (``$AZURE_OPENAI_TOKEN`` for a
token connection). A pool is shown as the pool in Python; curl talks to its first member.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..contract.routes import API_KEY_HEADER, DEPLOYMENTS_PREFIX, GENERATIONS_SUFFIX

ENV_KEY = "AZURE_OPENAI_API_KEY"
ENV_TOKEN = "AZURE_OPENAI_TOKEN"
ENV_DEPLOYMENT = "AZURE_OPENAI_DEPLOYMENT"
TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"


def conn_members(conn: Any) -> list[Any]:
    members = getattr(conn, "connections", None)
    return list(members) if members is not None else ([conn] if conn is not None else [])


def python_connection(conn: Any, indent: str = "") -> list[str]:
    """Lines that build ``conn`` with the secret read from the environment."""
    if conn is None:
        return [f"{indent}conn = aw.Connection.from_env()  # AZURE_OPENAI_ENDPOINT / _API_KEY / _API_VERSION"]
    members = conn_members(conn)
    if len(members) > 1 or getattr(conn, "connections", None) is not None:
        lines = [f"{indent}conn = aw.Connection.pool(["]
        for i, m in enumerate(members, 1):
            lines += [f"{indent}    " + line for line in one_connection(m, f"_{i}")]
            lines[-1] += ","
        lines.append(f"{indent}])")
        return lines
    built = one_connection(conn, "")
    built[0] = "conn = " + built[0]
    return [indent + line for line in built]


def one_connection(conn: Any, suffix: str) -> list[str]:
    args = [f"endpoint={conn.endpoint!r},"]
    if getattr(conn, "auth_kind", None) == "token":
        args.append(f"token_provider=get_bearer_token_provider(DefaultAzureCredential(), {TOKEN_SCOPE!r}),")
    else:
        args.append(f"api_key=os.environ[{(ENV_KEY + suffix)!r}],")
    args.append(f"api_version={conn.api_version!r},")
    if getattr(conn, "deployment", None):
        args.append(f"deployment={conn.deployment!r},")
    if getattr(conn, "model", None):
        args.append(f"model={conn.model!r},")
    return ["aw.Connection(", *("    " + a for a in args), ")"]


def uses_token(conn: Any) -> bool:
    return any(getattr(m, "auth_kind", None) == "token" for m in conn_members(conn))


def imports(conn: Any, *, b64: bool = False) -> list[str]:
    lines = ["import os", "", "import azimage_widgets as aw"]
    if is_pool(conn):
        lines.append("from azimage_widgets.client import PooledImageClient")
    if b64:
        lines.insert(0, "import base64")
    if uses_token(conn):
        lines.insert(2, "from azure.identity import DefaultAzureCredential, get_bearer_token_provider")
        lines.insert(0, "")
        lines = lines[1:]
    return lines


def is_pool(conn: Any) -> bool:
    return getattr(conn, "connections", None) is not None


def key_var(conn: Any) -> str:
    """The key's variable: the first member's (``_1``) in a pool, as in the Python."""
    return ENV_KEY + ("_1" if getattr(conn, "connections", None) is not None else "")


def curl_auth(conn: Any) -> str:
    first = conn_members(conn)[0] if conn_members(conn) else None
    if first is not None and getattr(first, "auth_kind", None) == "token":
        return f'-H "Authorization: Bearer ${ENV_TOKEN}"'
    return f'-H "{API_KEY_HEADER}: ${key_var(conn)}"'


def curl_preamble(conn: Any) -> list[str]:
    members = conn_members(conn)
    lines: list[str] = []
    if len(members) > 1:
        lines.append(f"# a pool of {len(members)} endpoints: curl talks to one, the first")
    if members and getattr(members[0], "auth_kind", None) == "token":
        lines.append(f"# {ENV_TOKEN}=$(az account get-access-token --resource "
                     "https://cognitiveservices.azure.com --query accessToken -o tsv)")
    else:
        lines.append(f"# the key is read from ${key_var(conn)}; it is never shown here")
    return lines


PLACEHOLDER = "OPERATION_ID"
#: Stands for the deployment read from the environment (no URL or name holds a NUL).
DEPLOYMENT_MARK = "\x00deployment\x00"


def deployment_of(conn: Any) -> str | None:
    """The deployment curl calls: the (first) connection's; None: read from the environment."""
    members = conn_members(conn)
    name = getattr(members[0], "deployment", None) if members else None
    return name if isinstance(name, str) and name.strip() else None


def any_deployment(conn: Any) -> bool:
    return any(isinstance(getattr(m, "deployment", None), str) and m.deployment.strip()
               for m in conn_members(conn))


def generations_path(conn: Any) -> str:
    name = deployment_of(conn)
    shown = DEPLOYMENT_MARK if name is None else quote(name.strip(), safe="")
    return DEPLOYMENTS_PREFIX + shown + GENERATIONS_SUFFIX


def curl_url(conn: Any, path: str, version: str) -> str:
    """The URL in double quotes for a POSIX shell, ``$OPERATION_ID`` (and the deployment) left to expand."""
    members = conn_members(conn)
    endpoint = members[0].endpoint if members else "AZURE_OPENAI_ENDPOINT"
    url = f"{endpoint}{path}?api-version={quote(version, safe='')}"
    for ch in ("\\", '"', "$", "`"):
        url = url.replace(ch, "\\" + ch)
    url = url.replace(PLACEHOLDER, "${OPERATION_ID}")
    url = url.replace(DEPLOYMENT_MARK, "${" + ENV_DEPLOYMENT + "}")
    if not members:
        url = url.replace("AZURE_OPENAI_ENDPOINT", "${AZURE_OPENAI_ENDPOINT}", 1)
    return '"' + url + '"'


__all__ = [
    "DEPLOYMENT_MARK", "ENV_DEPLOYMENT", "ENV_KEY", "ENV_TOKEN", "PLACEHOLDER", "TOKEN_SCOPE",
    "any_deployment", "conn_members", "curl_auth", "curl_preamble", "curl_url", "deployment_of",
    "generations_path", "imports", "is_pool", "key_var", "one_connection", "python_connection",
    "uses_token",
]
