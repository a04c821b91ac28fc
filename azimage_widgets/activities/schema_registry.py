"""Data schemas: a shared registry with Refresh, and per-activity edits.

The registry holds, per (activity kind, api_version), the schema the
endpoint has: at first the contract's (``contract.schemas``); ``refresh``
regenerates it from the endpoint and tells every observer of that key (each
panel showing that schema), so one Refresh updates every panel that shares
it, as the seeds describe.

    await refresh_schema(conn, "request_image", "2023-06-01-preview")

Where the schema comes from on Refresh: a loopback endpoint (the emulator,
or a local proxy) is asked for its OpenAPI document at ``/openapi.json``;
for Azure (any other endpoint) the bundled spec of the selected version is
used, generated from ``contract.schemas`` by ``contract.openapi`` (Azure
does not serve an OpenAPI document, and the package does not ship
Microsoft's spec files). A loopback endpoint that answers 404 falls back to
the bundled spec too; ``SchemaDoc.source`` says which one was used.

``effective_schema`` is the schema an activity uses (its own edit, see
``schema_edit``, or the shared one); ``request_fields`` its top-level
request fields, which the request builder (``request_body``) follows.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from traitlets import HasTraits, Int

from ..contract import ValidationError
from ..contract.openapi import OPENAPI_PATH, activity_schemas, openapi_document
from ..contract.schemas import SchemaField, schemas_for


@dataclass(frozen=True)
class SchemaDoc:
    """The request and response fields of one (kind, api_version), and where they came from."""

    kind: str
    api_version: str
    request: tuple[SchemaField, ...]
    response: tuple[SchemaField, ...]
    source: str = "contract"
    refreshed: datetime | None = None


Key = tuple[str, str]


class SchemaRegistry(HasTraits):
    """The shared schemas by (kind, api_version), with observers per key."""

    version = Int(0, help="Bumped whenever a schema changes.")

    def __init__(self) -> None:
        super().__init__()
        self._docs: dict[Key, SchemaDoc] = {}
        self._observers: dict[Key, list[Callable[[SchemaDoc], None]]] = {}

    def get(self, kind: str, api_version: str) -> SchemaDoc:
        key = (kind, api_version)
        doc = self._docs.get(key)
        if doc is None:
            request, response = schemas_for(kind, api_version)
            doc = self._docs[key] = SchemaDoc(kind, api_version, request, response)
        return doc

    def set(self, doc: SchemaDoc) -> None:
        """Replace the shared schema of ``doc``'s key and tell its observers."""
        key = (doc.kind, doc.api_version)
        self._docs[key] = doc
        self.version += 1
        for cb in list(self._observers.get(key, ())):
            cb(doc)

    def reset(self, kind: str | None = None, api_version: str | None = None) -> None:
        """Back to the contract's schemas (all keys, or one)."""
        for key in list(self._docs):
            if (kind is None or key[0] == kind) and (api_version is None or key[1] == api_version):
                del self._docs[key]
                self.set(self.get(*key))

    def subscribe(self, kind: str, api_version: str,
                  callback: Callable[[SchemaDoc], None]) -> Callable[[], None]:
        """Call ``callback(doc)`` when that key's schema changes; returns the unsubscribe function."""
        key = (kind, api_version)
        self._observers.setdefault(key, []).append(callback)

        def unsubscribe() -> None:
            cbs = self._observers.get(key, [])
            if callback in cbs:
                cbs.remove(callback)
        return unsubscribe

    def observers(self, kind: str, api_version: str) -> int:
        return len(self._observers.get((kind, api_version), ()))


_REGISTRY = SchemaRegistry()


def registry() -> SchemaRegistry:
    """The session's shared schema registry."""
    return _REGISTRY


# -- refresh -------------------------------------------------------------------------
async def fetch_openapi(conn: Any, api_version: str) -> tuple[dict[str, Any], str]:
    """(document, source) for a connection: the endpoint's own document or the bundled spec."""
    from ..client.schema_fetch import fetch_schema_document

    doc = await fetch_schema_document(conn, api_version)
    if doc is not None:
        return doc, f"endpoint {conn.endpoint}{OPENAPI_PATH}"
    return openapi_document(api_version), f"bundled spec {api_version}"


async def refresh_schema(conn: Any, kind: str, api_version: str,
                         reg: SchemaRegistry | None = None) -> SchemaDoc:
    """Regenerate the shared schema of (kind, api_version) from the endpoint; observers update."""
    reg = reg or registry()
    doc, source = await fetch_openapi(conn, api_version)
    found = activity_schemas(doc)
    if kind not in found:
        raise ValidationError("schema", f"the endpoint's document has no {kind} schema")
    request, response = found[kind]
    new = SchemaDoc(kind, api_version, request, response, source, datetime.now(timezone.utc))
    reg.set(new)
    # the other kind of the same document is refreshed too: it is the same endpoint
    for other, (rq, rs) in found.items():
        if other != kind:
            reg.set(SchemaDoc(other, api_version, rq, rs, source, new.refreshed))
    return new


def effective_schema(activity: Any, reg: SchemaRegistry | None = None) -> SchemaDoc:
    """The schema an activity uses: its own edit, or the shared one."""
    base = (reg or registry()).get(activity.kind, activity.api_version)
    edit = getattr(activity, "schema_edit", None)
    if not edit:
        return base
    req = tuple(SchemaField(**d) for d in edit["request"])
    resp = tuple(SchemaField(**d) for d in edit["response"])
    return SchemaDoc(activity.kind, activity.api_version, req, resp, "edited", base.refreshed)


def request_fields(activity: Any, reg: SchemaRegistry | None = None) -> dict[str, SchemaField]:
    """Top-level request fields of the activity's effective schema, by name."""
    return {f.name: f for f in effective_schema(activity, reg).request if "." not in f.name}


__all__ = ["SchemaDoc", "SchemaRegistry", "effective_schema", "fetch_openapi", "refresh_schema",
           "registry", "request_fields"]
