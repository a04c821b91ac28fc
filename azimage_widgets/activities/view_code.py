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

Synchronous versions (2024-10-21, 2025-04-01-preview) are one call to
``/openai/deployments/{deployment}/images/generations`` answered with the
images: the curl is that call (the connection's deployment, else
``$AZURE_OPENAI_DEPLOYMENT``), and the version's settings (quality, style,
...) are named arguments in the Python and fields of the curl's body.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from ..contract import ValidationError, version_spec
from ..contract.image_models import uses_model_rules
from ..contract.limits import V1_PREVIEW_QUERY
from ..contract.routes import (
    SUBMIT_PATH,
    V1_GENERATIONS_PATH,
    operation_path,
)
from .code_connection import (
    ENV_DEPLOYMENT,
    PLACEHOLDER,
    any_deployment,
    curl_auth,
    curl_preamble,
    curl_url,
    deployment_of,
    generations_path,
    imports,
    is_pool,
    python_connection,
)
from .variables import is_reference, parse_reference


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


#: The public class a kind's live activities are looked up on (``aw.RequestImage.named``).
_CLASS_OF = {"request_image": "RequestImage", "download_image": "DownloadImage"}


def _live_name(activity: Any) -> str | None:
    """The activity's name when the shown code can reach it by that name in this kernel."""
    from .activity import registered

    name = getattr(activity, "name", None)
    live = isinstance(name, str) and registered(activity.kind).get(name) is activity
    return name if live and activity.kind in _CLASS_OF else None


def _client_expr(activity: Any, conn: Any) -> str:
    """The panel's shared client (it knows the panel's sync ids); a fresh one off a panel.
    A pool has its own client class."""
    cls = "PooledImageClient" if is_pool(conn) else "aw.ImageClient"
    return f"{cls}.shared(conn)" if _live_name(activity) else f"{cls}(conn)"


def _wrapped(activity: Any, conn: Any, head: list[str], body: list[str], func: str,
             results: tuple[str, ...]) -> str:
    """The code in one ``async def`` (its names stay local) awaited at the cell's top level.

    A live activity's connection is reached by name (``aw.RequestImage.named(...)``), so
    the code runs in the same kernel as-is, on the emulator or a keyed endpoint, without
    the key in the code or the environment; the environment-built connection a script
    would use is shown beside it as a comment.
    """
    name = _live_name(activity)
    script = python_connection(conn)
    if name is not None:
        conn_lines = [f"# the connection of the {activity.label} panel {name!r} in this kernel "
                      "(the key stays inside it);",
                      "# in a script, build it instead:",
                      *("# " + line for line in script),
                      f"conn = aw.{_CLASS_OF[activity.kind]}.named({name!r}).connection"]
    else:
        conn_lines = script
    out = [*head, "", f"async def {func}():",
           *("    " + line if line else "" for line in [*conn_lines, *body]),
           f"    return {', '.join(results)}",
           "",
           "",
           "# a notebook cell awaits it at top level; a script runs asyncio.run(" + func + "())",
           f"{', '.join('_aw_' + r for r in results)} = await {func}()"]
    return "\n".join(out)


def request_body(activity: Any) -> tuple[dict[str, Any], str | None]:
    """(JSON body the activity would submit, a note when its configuration is not runnable yet)."""
    from .request_body import build_request

    try:
        return build_request(activity).to_json(), None
    except ValidationError as exc:
        body = {"prompt": activity.prompt, "n": activity.n}
        if activity.size:
            body["size"] = activity.size
        return body, f"not runnable as configured: {exc}"


def _request_code(activity: Any) -> CodeSnippet:
    conn = _conn(activity)
    version = activity.api_version
    spec = version_spec(version)
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
    model_rules = uses_model_rules(version)  # on v1 the body's model is the deployment
    rest = {k: v for k, v in body.items()
            if k not in ("prompt", "n", "size", "user") and not (model_rules and k == "model")}
    # the version's own settings by name, as request_image takes them; other fields in the body
    call_args += [f"{k}={v!r}" for k, v in rest.items() if k in spec.option_names]
    extra = {k: v for k, v in rest.items() if k not in spec.option_names}
    if extra:
        call_args.append(f"extra_body={extra!r}")
    omitted = [k for k in ("n", "size") if k not in body]  # removed by a schema edit
    if omitted:
        call_args.append(f"omit={tuple(omitted)!r}")
    # a synchronous version needs a deployment: the connection's, else the environment's
    env_deployment = spec.is_sync and conn is not None and not any_deployment(conn)
    if env_deployment:
        call_args.append(f"deployment=os.environ[{ENV_DEPLOYMENT!r}]")
    elif model_rules and activity.deployment and activity.deployment != deployment_of(conn):
        call_args.append(f"deployment={activity.deployment!r}")
    if model_rules and activity.model and activity.model != getattr(conn, "model", None):
        call_args.append(f"model={activity.model!r}")  # whose rules apply; never sent
    head = imports(conn, b64=spec.is_sync) + [""]
    if note:
        head.append(f"# {note}")
    lines = [
        f"async with {_client_expr(activity, conn)} as client:",
        f"    op = await client.request_image({', '.join(call_args)})",
        "    print(op.id)",
    ]
    if spec.is_sync:
        kind = "PNG or JPEG" if spec.option("output_format") else "PNG"
        lines += [
            "    res = await client.download_image(op.id)  # the call answered with the images: no polling",
            "    images = [base64.b64decode(i.b64_json) if i.b64_json else await client.fetch_image(i.url)",
            f"              for i in res.items if i.ok]  # {kind} bytes",
        ]
        if spec.revised_prompt:
            lines.append("    print([i.revised_prompt for i in res.items])  # the prompt the model used")
        if spec.usage:
            lines.append("    print(res.usage)  # token counts")
    else:
        lines += [
            "    res = await client.download_image(op.id)  # polls until the images are ready",
            "    images = [await client.fetch_image(url) for url in res.urls]  # PNG bytes",
        ]
    python = _wrapped(activity, conn, head, lines, "_aw_request_image", ("op", "res", "images"))
    data = json.dumps(body, ensure_ascii=False)
    curl = curl_preamble(conn)
    if note:
        curl.append(f"# {note}")
    if spec.is_sync:
        if deployment_of(conn) is None:
            curl.append(f"# the deployment is read from ${ENV_DEPLOYMENT}")
        curl += [
            f"# one call ({spec.model}): the answer holds the images, data[].url (valid 24 h) "
            "or data[].b64_json (base64)",
            f"curl -sS -X POST {curl_url(conn, V1_GENERATIONS_PATH, V1_PREVIEW_QUERY)} \\"
            if spec.is_v1 else
            f"curl -sS -X POST {curl_url(conn, generations_path(conn), version)} \\",
            f"  {curl_auth(conn)} \\",
            '  -H "Content-Type: application/json" \\',
            f"  --data-raw {shlex.quote(data)}",
        ]
        return CodeSnippet(python, "\n".join(curl))
    curl += [
        "# 1. submit: the answer's operation-location header is the URL to poll",
        f"curl -sS -i -X POST {curl_url(conn, SUBMIT_PATH, version)} \\",
        f"  {curl_auth(conn)} \\",
        '  -H "Content-Type: application/json" \\',
        f"  --data-raw {shlex.quote(data)}",
        "",
        "# 2. poll until \"status\" is \"succeeded\"; result.data[].url are the images",
        f"curl -sS {curl_url(conn, operation_path(PLACEHOLDER), version)} \\",
        f"  {curl_auth(conn)}",
    ]
    return CodeSnippet(python, "\n".join(curl))


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
    spec = version_spec(version)
    expr, comment = _id_expression(activity.image_id)
    extra = "" if getattr(conn, "api_version", None) == version else f"  # api-version {version}"
    head = imports(conn, b64=spec.is_sync) + [""]
    lines = [f"op_id = {expr}{comment}"]
    if spec.is_sync:
        # nothing to poll: the ids are the client's own records of the request's answer
        lines += [
            f"# api-version {version} answers the Request Image call with the images; its id "
            "(sync-...) is known",
            "# only to the ImageClient that made that call (the panels share one per connection)",
            f"async with {_client_expr(activity, conn)} as client:",
            f"    res = await client.download_image(op_id){extra}  # the recorded answer",
            "    print(res.urls, res.expires)",
            "    images = [base64.b64decode(i.b64_json) if i.b64_json else await client.fetch_image(i.url)",
            "              for i in res.items if i.ok]",
        ]
        curl = [f"# api-version {version} ({spec.model}) has no operation to poll: the images came "
                "in the answer",
                "# of the Request Image call (see its View code: data[].url or data[].b64_json)"]
        python = _wrapped(activity, conn, head, lines, "_aw_download_image", ("res", "images"))
        return CodeSnippet(python, "\n".join(curl))
    lines += [
        f"async with {_client_expr(activity, conn)} as client:",
        f"    res = await client.download_image(op_id){extra}  # polls until terminal",
        "    print(res.urls, res.expires)",
        "    images = [await client.fetch_image(url) for url in res.urls]  # PNG bytes",
    ]
    python = _wrapped(activity, conn, head, lines, "_aw_download_image", ("res", "images"))
    literal = activity.image_id and not is_reference(activity.image_id)
    curl = curl_preamble(conn)
    if literal:
        curl.append(f"OPERATION_ID={shlex.quote(activity.image_id)}")
    else:
        reads = f" (the panel reads {activity.image_id})" if activity.image_id else ""
        curl.append(f"# set OPERATION_ID to the operation id{reads}")
    curl += [
        "# poll until \"status\" is \"succeeded\"; result.data[].url are the images (no key needed for them)",
        f"curl -sS {curl_url(conn, operation_path(PLACEHOLDER), version)} \\",
        f"  {curl_auth(conn)}",
    ]
    return CodeSnippet(python, "\n".join(curl))


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
