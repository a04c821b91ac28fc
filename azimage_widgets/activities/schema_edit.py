"""Per-activity schema edits: the rules and the draft that makes one.

An edit is an activity's own copy of its schemas, kept in the activity's
``schema_edit`` setting (so it is saved with the configuration, discarded
with Discard Changes, and exported by ``to_config``); None means "the
shared schema". ``SchemaDraft`` makes an edit: add, delete, rename, reorder
fields, change types. Rules (``check_edit``), checked on every assignment:

- names are dotted paths of identifiers, ``[]`` marks list items; unique;
  a nested field's parent exists with type object (or array for ``[]``);
- types: string, integer, number, boolean, object, array;
- newly added fields have cardinality [0, 1] (not required);
- the request keeps what the endpoint needs: Request Image keeps ``prompt``
  (a required string), Download Image exactly ``id``; a field the contract
  knows keeps the contract's type (``n`` stays an integer) so the endpoint
  accepts it; Request Image request fields are top-level (the body is flat).

How an edit changes a run (see ``dataset_runs``): the request fields of the
effective schema are what a dataset may give and what is sent: a field
added by an edit (for example ``user`` after deleting and re-adding it, or
``response_format``) is sent when a dataset or the configuration gives it;
an optional field removed by the edit is never sent, and a dataset that
gives it is refused, naming the field.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..contract import ValidationError
from ..contract.schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE, SchemaField, schemas_for
from .schema_registry import (
    SchemaRegistry,
    effective_schema,
    registry,
)

TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "object", "array")
PARTS: tuple[str, ...] = ("request", "response")
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\[\])?$")

#: Request fields the contract knows, with the type the endpoint takes.
KNOWN_REQUEST_TYPES: dict[str, dict[str, str]] = {
    REQUEST_IMAGE: {"prompt": "string", "n": "integer", "size": "string", "user": "string",
                    "response_format": "string"},
    DOWNLOAD_IMAGE: {"id": "string"},
}
#: The request field an activity cannot run without.
KEY_FIELD = {REQUEST_IMAGE: "prompt", DOWNLOAD_IMAGE: "id"}


# -- edits ---------------------------------------------------------------------------
def field_dict(f: SchemaField) -> dict[str, Any]:
    return {"name": f.name, "type": f.type, "required": f.required, "description": f.description}


def _parent(name: str) -> tuple[str, str] | None:
    """(parent field name, "object" | "array") of a nested name, or None at the top."""
    if "." not in name:
        return None
    head = name.rsplit(".", 1)[0]
    if head.endswith("[]"):
        return head[:-2], "array"
    return head, "object"


def check_fields(kind: str, part: str, items: Any, base: Iterable[SchemaField]) -> tuple[SchemaField, ...]:
    """Validate one part (request/response) of an edit; the fields, or ValidationError."""
    where = f"schema.{part}"
    if not isinstance(items, (list, tuple)):
        raise ValidationError(where, "must be a list of fields")
    out: list[SchemaField] = []
    seen: dict[str, SchemaField] = {}
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if isinstance(item, SchemaField):
            item = field_dict(item)
        if not isinstance(item, Mapping):
            raise ValidationError(at, "must be a field with name, type, required, description")
        extra = set(item) - {"name", "type", "required", "description"}
        if extra:
            raise ValidationError(at, f"unknown key {sorted(extra)[0]!r}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{at}.name", "must be a non-empty string", name)
        if not all(_SEGMENT.match(seg) for seg in name.split(".")) or name.endswith("[]"):
            raise ValidationError(f"{at}.name", "must be identifiers joined by '.', with [] "
                                  "after a list's name (e.g. result.data[].url)", name)
        if name in seen:
            raise ValidationError(f"{at}.name", f"duplicate field {name!r}")
        typ = item.get("type", "string")
        if typ not in TYPES:
            raise ValidationError(f"{at}.type", f"must be one of {', '.join(TYPES)}", typ)
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise ValidationError(f"{at}.required", "must be true or false", required)
        desc = item.get("description", "")
        if not isinstance(desc, str):
            raise ValidationError(f"{at}.description", "must be a string", desc)
        parent = _parent(name)
        if parent is not None:
            pname, ptype = parent
            p = seen.get(pname)
            if p is None:
                raise ValidationError(f"{at}.name", f"its parent {pname!r} must come before it")
            if p.type != ptype:
                raise ValidationError(f"{at}.name", f"its parent {pname!r} must be of type {ptype}")
        f = SchemaField(name, typ, required, desc)
        seen[name] = f
        out.append(f)
    if part == "request":
        known = KNOWN_REQUEST_TYPES.get(kind, {})
        key = KEY_FIELD.get(kind)
        names = [f.name for f in out]
        if key and key not in seen:
            raise ValidationError(f"{where}", f"must keep the {key!r} field: the endpoint needs it")
        if key and (seen[key].type != "string" or not seen[key].required):
            raise ValidationError(f"{where}.{key}", "must stay a required string")
        for f in out:
            if f.name in known and f.type != known[f.name]:
                raise ValidationError(f"{where}.{f.name}.type",
                                      f"the endpoint takes {known[f.name]} for {f.name!r}", f.type)
        if kind == DOWNLOAD_IMAGE and names != ["id"]:
            raise ValidationError(where, "Download Image sends only the id (in the URL path); "
                                  "other request fields cannot be sent")
        if kind == REQUEST_IMAGE:
            nested = [n for n in names if "." in n]
            if nested:
                raise ValidationError(f"{where}.{nested[0]}",
                                      "the request body is flat: nest values inside an object field")
    return tuple(out)


def check_edit(kind: str, api_version: str, edit: Any,
               reg: SchemaRegistry | None = None) -> dict[str, list[dict[str, Any]]] | None:
    """A normalised edit (``{"request": [...], "response": [...]}``) or None; ValidationError if bad."""
    if edit is None:
        return None
    if not isinstance(edit, Mapping):
        raise ValidationError("schema", "an edit is a mapping with 'request' and 'response' lists")
    unknown = set(edit) - set(PARTS)
    if unknown:
        raise ValidationError("schema", f"unknown part {sorted(unknown)[0]!r} (request, response)")
    base = (reg or registry()).get(kind, api_version)
    contract_req, contract_resp = schemas_for(kind, api_version)
    out: dict[str, list[dict[str, Any]]] = {}
    for part in PARTS:
        shared = base.request if part == "request" else base.response
        ref = list(shared) + list(contract_req if part == "request" else contract_resp)
        items = edit.get(part)
        fields_ = shared if items is None else check_fields(kind, part, items, ref)
        out[part] = [field_dict(f) for f in fields_]
    return out


class SchemaDraft:
    """An edit being made: start from an activity's effective schema, change it, then ``apply``.

    Every operation checks the result at once and raises ValidationError
    (leaving the draft as it was) when it breaks a rule of ``check_edit``.
    """

    def __init__(self, kind: str, api_version: str,
                 request: Iterable[SchemaField], response: Iterable[SchemaField],
                 reg: SchemaRegistry | None = None) -> None:
        self.kind = kind
        self.api_version = api_version
        self.reg = reg or registry()
        self.parts: dict[str, list[dict[str, Any]]] = {
            "request": [field_dict(f) for f in request],
            "response": [field_dict(f) for f in response]}

    @classmethod
    def of(cls, activity: Any, reg: SchemaRegistry | None = None) -> SchemaDraft:
        doc = effective_schema(activity, reg)
        return cls(activity.kind, activity.api_version, doc.request, doc.response, reg)

    # -- helpers -------------------------------------------------------------
    def _part(self, part: str) -> list[dict[str, Any]]:
        if part not in PARTS:
            raise ValidationError("part", "must be 'request' or 'response'", part)
        return self.parts[part]

    def _index(self, part: str, name: str) -> int:
        for i, f in enumerate(self._part(part)):
            if f["name"] == name:
                return i
        raise ValidationError("name", f"no field {name!r} in the {part} schema")

    def _subtree(self, part: str, name: str) -> list[int]:
        """Indexes of the field and every field nested under it."""
        items = self._part(part)
        return [i for i, f in enumerate(items)
                if f["name"] == name or f["name"].startswith(name + ".")
                or f["name"].startswith(name + "[].")]

    def _commit(self, part: str, new: list[dict[str, Any]]) -> None:
        trial = dict(self.parts)
        trial[part] = new
        check_edit(self.kind, self.api_version, trial, self.reg)
        self.parts[part] = new

    def names(self, part: str) -> list[str]:
        return [f["name"] for f in self._part(part)]

    # -- operations ------------------------------------------------------------
    def add(self, part: str, name: str, type: str = "string", description: str = "",
            after: str | None = None) -> None:
        """Add a field (cardinality [0, 1]) at the end, or after ``after`` and its children."""
        items = [dict(f) for f in self._part(part)]
        new = {"name": name, "type": type, "required": False, "description": description}
        if after is None:
            parent = _parent(name)
            if parent is not None:  # after the parent's subtree
                pos = max(self._subtree(part, parent[0]) or [len(items) - 1]) + 1
            else:
                pos = len(items)
        else:
            pos = max(self._subtree(part, after) or [self._index(part, after)]) + 1
        items.insert(pos, new)
        self._commit(part, items)

    def delete(self, part: str, name: str) -> None:
        """Delete a field and every field nested under it."""
        self._index(part, name)
        drop = set(self._subtree(part, name))
        self._commit(part, [dict(f) for i, f in enumerate(self._part(part)) if i not in drop])

    def rename(self, part: str, old: str, new: str) -> None:
        """Rename a field; fields nested under it move with it."""
        self._index(part, old)
        if new == old:
            return
        out = []
        for f in self._part(part):
            f = dict(f)
            n = f["name"]
            if n == old:
                f["name"] = new
            elif n.startswith(old + "."):
                f["name"] = new + n[len(old):]
            elif n.startswith(old + "[]."):
                f["name"] = new + n[len(old):]
            out.append(f)
        self._commit(part, out)

    def set_type(self, part: str, name: str, type: str) -> None:
        """Change a field's type (a field that had children must keep a type that can hold them)."""
        i = self._index(part, name)
        items = [dict(f) for f in self._part(part)]
        items[i]["type"] = type
        self._commit(part, items)

    def set_description(self, part: str, name: str, description: str) -> None:
        i = self._index(part, name)
        items = [dict(f) for f in self._part(part)]
        items[i]["description"] = description
        self._commit(part, items)

    def move(self, part: str, name: str, offset: int) -> None:
        """Move a field (with its children) ``offset`` places among its siblings (-1: up)."""
        items = [dict(f) for f in self._part(part)]
        block = self._subtree(part, name)
        parent = _parent(name)
        sibling_names = [f["name"] for f in items if _parent(f["name"]) == parent]
        pos = sibling_names.index(name)
        target = max(0, min(len(sibling_names) - 1, pos + offset))
        if target == pos:
            return
        moving = [items[i] for i in block]
        rest = [f for i, f in enumerate(items) if i not in set(block)]
        other = sibling_names[target]
        # insert before the target sibling (moving up) or after its subtree (moving down)
        rest_names = [f["name"] for f in rest]
        anchor = rest_names.index(other)
        if offset > 0:
            while anchor + 1 < len(rest) and (rest_names[anchor + 1].startswith(other + ".")
                                              or rest_names[anchor + 1].startswith(other + "[].")):
                anchor += 1
            anchor += 1
        self._commit(part, rest[:anchor] + moving + rest[anchor:])

    # -- result ------------------------------------------------------------------
    def to_edit(self) -> dict[str, list[dict[str, Any]]]:
        out = check_edit(self.kind, self.api_version, self.parts, self.reg)
        assert out is not None
        return out

    def apply(self, activity: Any) -> None:
        """Make this the activity's edit (saved with its configuration on Save/Finished)."""
        if activity.kind != self.kind:
            raise ValidationError("schema", f"this draft is a {self.kind} schema")
        activity.schema_edit = self.to_edit()


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list, tuple)}


def check_value(name: str, typ: str, value: Any) -> Any:
    """``value`` if it fits the schema type ``typ``; ValidationError naming the field otherwise."""
    ok = _PY_TYPES.get(typ, (object,))
    if typ in ("integer", "number") and isinstance(value, bool):
        raise ValidationError(name, f"must be {typ}", value)
    if not isinstance(value, ok):
        raise ValidationError(name, f"must be {typ} (the request schema's type)",
                              type(value).__name__)
    return list(value) if typ == "array" and isinstance(value, (list, tuple)) else value


__all__ = ["KEY_FIELD", "KNOWN_REQUEST_TYPES", "SchemaDraft", "TYPES", "check_edit", "check_fields",
           "check_value", "field_dict"]
