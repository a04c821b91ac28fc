""""View code": the Python (this package's API) and curl equivalent of an activity's configuration.

    snippet = view_code(req)        # req: a RequestImage / DownloadImage (or a panel over one)
    print(snippet.python)
    print(snippet.curl)

Never the key: the Python reads ``os.environ["AZURE_OPENAI_API_KEY"]`` and
curl sends ``$AZURE_OPENAI_API_KEY`` (``$AZURE_OPENAI_TOKEN`` for a token
connection), whatever the connection holds. Values are quoted for their
language (``repr`` for Python, POSIX shell quoting for curl), so a prompt with
quotes, ``$`` or newlines stays a literal. A connection pool is shown as the
pool in Python; curl, which talks to one endpoint, uses the first one.
"""
from __future__ import annotations

import json
import shlex
from urllib.parse import quote
from dataclasses import dataclass
from typing import Any

from ..contract import ValidationError
from ..contract.routes import API_KEY_HEADER, SUBMIT_PATH, operation_path
from .variables import is_reference, parse_reference

ENV_KEY = "AZURE_OPENAI_API_KEY"
ENV_TOKEN = "AZURE_OPENAI_TOKEN"
TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"


@dataclass(frozen=True)
class CodeSnippet:
    """The two renderings of one configuration."""

    python: str
    curl: str

    def __str__(self) -> str:
        return f"# Python\n{self.python}\n\n# curl\n{self.curl}"

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.python}\n```\n\n```bash\n{self.curl}\n```"


def _activity(obj: Any) -> Any:
    return getattr(obj, "activity", obj)


def _conn(activity: Any) -> Any:
    conn = getattr(activity, "conn", None)
    if conn is None:
        try:
            conn = activity.connection  # from_env: the emulator when nothing is set
        except Exception:  # noqa: BLE001 - code can be shown without a connection
            conn = None
    return conn


def _members(conn: Any) -> list[Any]:
    members = getattr(conn, "connections", None)
    return list(members) if members is not None else ([conn] if conn is not None else [])


def _python_connection(conn: Any, indent: str = "") -> list[str]:
    """Lines that build ``conn`` with the secret read from the environment."""
    if conn is None:
        return [f"{indent}conn = aw.Connection.from_env()  # AZURE_OPENAI_ENDPOINT / _API_KEY / _API_VERSION"]
    members = _members(conn)
    if len(members) > 1 or getattr(conn, "connections", None) is not None:
        lines = [f"{indent}conn = aw.Connection.pool(["]
        for i, m in enumerate(members, 1):
            lines += [f"{indent}    " + line for line in _one_connection(m, f"_{i}")]
            lines[-1] += ","
        lines.append(f"{indent}])")
        return lines
    built = _one_connection(conn, "")
    built[0] = "conn = " + built[0]
    return [indent + line for line in built]


def _one_connection(conn: Any, suffix: str) -> list[str]:
    args = [f"endpoint={conn.endpoint!r},"]
    if getattr(conn, "auth_kind", None) == "token":
        args.append(f"token_provider=get_bearer_token_provider(DefaultAzureCredential(), {TOKEN_SCOPE!r}),")
    else:
        args.append(f"api_key=os.environ[{(ENV_KEY + suffix)!r}],")
    args.append(f"api_version={conn.api_version!r},")
    if getattr(conn, "deployment", None):
        args.append(f"deployment={conn.deployment!r},")
    return ["aw.Connection(", *("    " + a for a in args), ")"]


def _uses_token(conn: Any) -> bool:
    return any(getattr(m, "auth_kind", None) == "token" for m in _members(conn))


def _imports(conn: Any) -> list[str]:
    lines = ["import os", "", "import azimage_widgets as aw"]
    if _uses_token(conn):
        lines.insert(2, "from azure.identity import DefaultAzureCredential, get_bearer_token_provider")
        lines.insert(0, "")
        lines = lines[1:]
    return lines


def _key_var(conn: Any) -> str:
    """The key's variable: the first member's (``_1``) in a pool, as in the Python."""
    return ENV_KEY + ("_1" if getattr(conn, "connections", None) is not None else "")


def _curl_auth(conn: Any) -> str:
    first = _members(conn)[0] if _members(conn) else None
    if first is not None and getattr(first, "auth_kind", None) == "token":
        return f'-H "Authorization: Bearer ${ENV_TOKEN}"'
    return f'-H "{API_KEY_HEADER}: ${_key_var(conn)}"'


def _curl_preamble(conn: Any) -> list[str]:
    members = _members(conn)
    lines: list[str] = []
    if len(members) > 1:
        lines.append(f"# a pool of {len(members)} endpoints: curl talks to one, the first")
    if members and getattr(members[0], "auth_kind", None) == "token":
        lines.append(f"# {ENV_TOKEN}=$(az account get-access-token --resource "
                     "https://cognitiveservices.azure.com --query accessToken -o tsv)")
    else:
        lines.append(f"# the key is read from ${_key_var(conn)}; it is never shown here")
    return lines


_PLACEHOLDER = "OPERATION_ID"


def _curl_url(conn: Any, path: str, version: str) -> str:
    """The URL in double quotes for a POSIX shell, with ``$OPERATION_ID`` left to expand."""
    members = _members(conn)
    endpoint = members[0].endpoint if members else "AZURE_OPENAI_ENDPOINT"
    url = f"{endpoint}{path}?api-version={quote(version, safe='')}"
    for ch in ("\\", '"', "$", "`"):
        url = url.replace(ch, "\\" + ch)
    url = url.replace(_PLACEHOLDER, "${OPERATION_ID}")
    if not members:
        url = url.replace("AZURE_OPENAI_ENDPOINT", "${AZURE_OPENAI_ENDPOINT}", 1)
    return '"' + url + '"'


def request_body(activity: Any) -> tuple[dict[str, Any], str | None]:
    """(JSON body the activity would submit, a note when its configuration is not runnable yet)."""
    from .runner import request_values

    note = None
    try:
        kwargs, extra, omit = request_values(activity, {})
    except ValidationError as exc:
        note = f"not runnable as configured: {exc}"
        kwargs = {"prompt": activity.prompt, "size": activity.size, "n": activity.n}
        extra, omit = {}, []
    body: dict[str, Any] = {"prompt": kwargs["prompt"]}
    if "n" not in omit:
        body["n"] = kwargs.get("n", 1)
    if "size" not in omit and kwargs.get("size"):
        body["size"] = kwargs["size"]
    if kwargs.get("user"):
        body["user"] = kwargs["user"]
    body.update(extra)
    return body, note


def _request_code(activity: Any) -> CodeSnippet:
    conn = _conn(activity)
    version = activity.api_version
    body, note = request_body(activity)
    call_args = [repr(body["prompt"])]
    if "size" in body:
        call_args.append(f"size={body['size']!r}")
    call_args.append(f"n={body.get('n', 1)!r}")
    if body.get("user"):
        call_args.append(f"user={body['user']!r}")
    conn_version = getattr(conn, "api_version", None)
    if conn_version != version:
        call_args.append(f"api_version={version!r}")
    extra = {k: v for k, v in body.items() if k not in ("prompt", "n", "size", "user")}
    if extra:
        call_args.append(f"extra_body={extra!r}")
    omitted = [k for k in ("n", "size") if k not in body]  # removed by a schema edit
    if omitted:
        call_args.append(f"omit={tuple(omitted)!r}")
    lines = _imports(conn) + [""]
    if note:
        lines.append(f"# {note}")
    lines += _python_connection(conn)
    lines += [
        "",
        "# in a notebook cell (top-level await); in a script, put it in an async def and asyncio.run it",
        "async with aw.ImageClient(conn) as client:",
        f"    op = await client.request_image({', '.join(call_args)})",
        "    print(op.id)",
        "    res = await client.download_image(op.id)  # polls until the images are ready",
        "    images = [await client.fetch_image(url) for url in res.urls]  # PNG bytes",
    ]
    data = json.dumps(body, ensure_ascii=False)
    curl = _curl_preamble(conn)
    if note:
        curl.append(f"# {note}")
    curl += [
        "# 1. submit: the answer's operation-location header is the URL to poll",
        f"curl -sS -i -X POST {_curl_url(conn, SUBMIT_PATH, version)} \\",
        f"  {_curl_auth(conn)} \\",
        '  -H "Content-Type: application/json" \\',
        f"  --data-raw {shlex.quote(data)}",
        "",
        "# 2. poll until \"status\" is \"succeeded\"; result.data[].url are the images",
        f"curl -sS {_curl_url(conn, operation_path(_PLACEHOLDER), version)} \\",
        f"  {_curl_auth(conn)}",
    ]
    return CodeSnippet("\n".join(lines), "\n".join(curl))


def _id_expression(image_id: str) -> tuple[str, str]:
    """(Python expression of the id, a comment) for a literal id or a [variable] reference."""
    if not image_id:
        return "'OPERATION_ID'", "  # the panel's ID field is empty"
    if is_reference(image_id):
        try:
            ref = parse_reference(image_id, field="image_id")
        except ValidationError:
            return repr(image_id), ""
        expr = ref.name + "".join(f"[{i!r}]" for i in ref.indexes)
        return f"{expr}.id if hasattr({expr}, 'id') else {expr}", f"  # the panel's {image_id}"
    return repr(image_id), ""


def _download_code(activity: Any) -> CodeSnippet:
    conn = _conn(activity)
    version = activity.api_version
    expr, comment = _id_expression(activity.image_id)
    extra = "" if getattr(conn, "api_version", None) == version else f"  # api-version {version}"
    lines = _imports(conn) + [""] + _python_connection(conn) + [
        "",
        "# in a notebook cell (top-level await); in a script, put it in an async def and asyncio.run it",
        f"op_id = {expr}{comment}",
        "async with aw.ImageClient(conn) as client:",
        f"    res = await client.download_image(op_id){extra}  # polls until terminal",
        "    print(res.urls, res.expires)",
        "    images = [await client.fetch_image(url) for url in res.urls]  # PNG bytes",
    ]
    literal = activity.image_id and not is_reference(activity.image_id)
    curl = _curl_preamble(conn)
    if literal:
        curl.append(f"OPERATION_ID={shlex.quote(activity.image_id)}")
    else:
        curl.append(f"# set OPERATION_ID to the operation id{(' (the panel reads ' + activity.image_id + ')') if activity.image_id else ''}")
    curl += [
        "# poll until \"status\" is \"succeeded\"; result.data[].url are the images (no key needed for them)",
        f"curl -sS {_curl_url(conn, operation_path(_PLACEHOLDER), version)} \\",
        f"  {_curl_auth(conn)}",
    ]
    return CodeSnippet("\n".join(lines), "\n".join(curl))


def view_code(obj: Any) -> CodeSnippet:
    """Python and curl for a Request Image / Download Image activity (or a panel over one)."""
    activity = _activity(obj)
    kind = getattr(activity, "kind", None)
    if kind == "request_image":
        return _request_code(activity)
    if kind == "download_image":
        return _download_code(activity)
    raise TypeError(f"no code view for {type(obj).__name__}")


__all__ = ["CodeSnippet", "request_body", "view_code"]
