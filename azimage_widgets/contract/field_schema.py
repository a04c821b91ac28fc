"""Data-schema fields as a JSON schema: the one conversion both OpenAPI documents use.

``SchemaField`` names are dotted paths (``result.data[].url``); the JSON schema
nests them as objects and arrays, keeping order, types, required flags and
descriptions. It sits below ``openapi`` and ``openapi_v1`` so neither imports the other
for it.
"""
from __future__ import annotations

from typing import Any

from .schemas import SchemaField


def _tokens(name: str) -> list[str]:
    """``result.data[].url`` -> ["result", "data", "[]", "url"]."""
    out: list[str] = []
    for part in name.split("."):
        if part.endswith("[]"):
            out.extend([part[:-2], "[]"])
        else:
            out.append(part)
    return out


def fields_to_json_schema(fields: tuple[SchemaField, ...] | list[SchemaField]) -> dict[str, Any]:
    """An object JSON schema with the fields' nesting, order, types, required flags and descriptions."""
    root: dict[str, Any] = {"type": "object", "properties": {}}
    for f in fields:
        toks = _tokens(f.name)
        node = root
        for i, tok in enumerate(toks):
            last = i == len(toks) - 1
            if tok == "[]":
                node = node.setdefault("items", {"type": "object"})
                continue
            if node.get("type") != "object":
                node["type"] = "object"
            props = node.setdefault("properties", {})
            child = props.setdefault(tok, {})
            if last:
                child["type"] = f.type
                if f.description:
                    child["description"] = f.description
                if f.required:
                    req = node.setdefault("required", [])
                    if tok not in req:
                        req.append(tok)
            node = child
    return root


__all__ = ["fields_to_json_schema"]
