"""Datasets: what ``run(data)`` accepts, normalised to a list of plain dicts.

``data`` may be:

- None: one dataset with nothing in it (the configuration alone is used);
- a mapping: one dataset;
- a list (or tuple, or any iterable that is not a string) of mappings: one
  dataset each; a plain string item is shorthand for the activity's key
  field (``{"prompt": s}`` for Request Image, ``{"id": s}`` for Download
  Image), so ``req.run(["a fox", "a cat"])`` works;
- a pandas DataFrame (pandas is imported only when such an object is
  passed): one dataset per row, columns are fields.

Values are made plain: numpy scalars become Python numbers, a float that
is a whole number becomes an int, and missing values (None, NaN, pandas NA)
leave the field out, so the configuration's value applies. That is the
seeds' rule: data supplied for a dataset takes precedence over the
activity's configuration (``merge``).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..contract import ValidationError

#: Dataset keys that mean another field (Download Image's ID field is ``image_id``).
ALIASES = {"image_id": "id"}


def _is_dataframe(obj: Any) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("pandas") and hasattr(obj, "to_dict") and hasattr(obj, "columns")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    mod = type(value).__module__ or ""
    if mod.startswith("pandas") and type(value).__name__ in ("NAType", "NaTType"):
        return True
    return False


def plain(value: Any) -> Any:
    """A JSON-friendly Python value: numpy scalars unwrapped, whole floats made ints."""
    mod = type(value).__module__ or ""
    if mod.startswith("numpy") and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if mod.startswith("numpy") and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _one(item: Any, index: int, key_field: str) -> dict[str, Any]:
    if isinstance(item, str):
        return {key_field: item}
    if not isinstance(item, Mapping):
        raise ValidationError(f"data[{index}]", "must be a mapping of field names to values "
                              f"(or a {key_field} string)", type(item).__name__)
    out: dict[str, Any] = {}
    for key, value in item.items():
        if not isinstance(key, str):
            raise ValidationError(f"data[{index}]", "field names must be strings", key)
        if _is_missing(value):
            continue
        name = ALIASES.get(key, key)
        if name in out and name != key:
            raise ValidationError(f"data[{index}].{key}", f"gives {name!r} twice")
        out[name] = plain(value)
    return out


def normalize(data: Any = None, *, key_field: str = "prompt") -> list[dict[str, Any]]:
    """The datasets of ``data`` as a list of dicts (see the module docstring)."""
    if data is None:
        return [{}]
    if isinstance(data, Mapping):
        return [_one(data, 0, key_field)]
    if _is_dataframe(data):
        import pandas  # noqa: F401 - it is installed: the object is one of its frames

        records = data.to_dict(orient="records")
        return [_one(r, i, key_field) for i, r in enumerate(records)]
    if isinstance(data, (str, bytes)):
        if isinstance(data, str):
            return [{key_field: data}]
        raise ValidationError("data", "must be a mapping, a list of mappings or a DataFrame",
                              type(data).__name__)
    if isinstance(data, Iterable):
        items = list(data)
        return [_one(item, i, key_field) for i, item in enumerate(items)]
    raise ValidationError("data", "must be a mapping, a list of mappings or a pandas DataFrame",
                          type(data).__name__)


def merge(config: Mapping[str, Any], dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration with every field the dataset gives replaced: the dataset wins."""
    out = {k: v for k, v in config.items() if not _is_missing(v)}
    out.update({k: v for k, v in dataset.items() if not _is_missing(v)})
    return out


__all__ = ["ALIASES", "merge", "normalize", "plain"]
