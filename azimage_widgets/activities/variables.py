"""``[variable]`` references in activity fields, and output binding.

A field such as Download Image's ID holds either a literal value or a
reference to a variable of the notebook, resolved when the activity runs:

    [fox_id]            the variable ``fox_id``
    [fox_ids][0]        item 0 of ``fox_ids`` (negative indexes work)
    [res]["key"]        item ``"key"`` of ``res`` (single or double quotes)
    [ops][0][1]         any number of indexes

Nothing is evaluated: the text is parsed by a small grammar (a Python
identifier, then integer or quoted-string subscripts) and looked up with
``mapping[name]`` and ``obj[index]`` only. Attribute access, calls and
expressions are refused.

The namespace is, in order: the mapping given explicitly; the IPython user
namespace when running in IPython (``get_ipython().user_ns``); otherwise the
``__main__`` module's globals (a script).
"""
from __future__ import annotations

import keyword
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from ..contract import ValidationError, check_operation_id

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INDEX = r"\[\s*(?:-?\d+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')\s*\]"
_REFERENCE = re.compile(rf"^\[\s*(?P<name>{_NAME})\s*\](?P<indexes>(?:{_INDEX})*)$")
_ONE_INDEX = re.compile(r"\[\s*(-?\d+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')\s*\]")


class VariableError(ValidationError):
    """A ``[variable]`` reference that cannot be parsed or resolved; names the field and variable."""

    def __init__(self, field: str, reference: str, reason: str) -> None:
        self.reference = reference
        super().__init__(field, f"{reference}: {reason}")


@dataclass(frozen=True)
class VariableRef:
    """A parsed ``[name][index]...`` reference."""

    name: str
    indexes: tuple[int | str, ...] = ()

    @property
    def text(self) -> str:
        parts = [f"[{self.name}]"]
        for idx in self.indexes:
            parts.append(f"[{idx!r}]" if isinstance(idx, str) else f"[{idx}]")
        return "".join(parts)

    def resolve(self, namespace: Any = None, *, field: str = "value") -> Any:
        """The referenced value; VariableError when the name or an index is missing."""
        ns = default_namespace() if namespace is None else namespace
        try:
            value = ns[self.name]
        except (KeyError, TypeError):
            raise VariableError(
                field, self.text,
                f"the variable {self.name!r} is not defined in the notebook "
                f"(define it in a cell, or run the activity that binds it first)",
            ) from None
        path = f"[{self.name}]"
        for idx in self.indexes:
            shown = f"[{idx!r}]" if isinstance(idx, str) else f"[{idx}]"
            try:
                value = value[idx]
            except (IndexError, KeyError) as exc:
                kind = "index out of range" if isinstance(exc, IndexError) else "no such key"
                raise VariableError(field, self.text, f"{path}{shown}: {kind}") from None
            except TypeError:
                raise VariableError(
                    field, self.text,
                    f"{path} is a {type(value).__name__} and cannot be indexed with {shown}",
                ) from None
            path += shown
        return value


def is_reference(text: Any) -> bool:
    """True when ``text`` starts like a reference (``[``): it must then parse as one."""
    return isinstance(text, str) and text.strip().startswith("[")


def parse_reference(text: str, *, field: str = "value") -> VariableRef:
    """Parse ``[name][0]["key"]``; VariableError names the field when it is not that shape."""
    src = text.strip()
    m = _REFERENCE.match(src)
    if m is None:
        raise VariableError(
            field, src,
            "not a variable reference; write [name], optionally followed by indexes "
            "such as [0] or [\"key\"]",
        )
    name = m.group("name")
    if keyword.iskeyword(name):
        raise VariableError(field, src, f"{name!r} is a Python keyword, not a variable")
    indexes: list[int | str] = []
    for tok in _ONE_INDEX.findall(m.group("indexes")):
        if tok[0] in "\"'":
            indexes.append(_unquote(tok))
        else:
            indexes.append(int(tok))
    return VariableRef(name, tuple(indexes))


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def resolve(text: str, namespace: Any = None, *, field: str = "value") -> Any:
    """``text`` itself when it is a literal; the referenced value when it is ``[...]``."""
    if not is_reference(text):
        return text
    return parse_reference(text, field=field).resolve(namespace, field=field)


def operation_id(value: Any, namespace: Any = None, *, field: str = "id") -> str:
    """The operation id ``value`` names: an id string, a ``[variable]`` holding one, or anything
    with a string ``.id`` (an ImageOperation, a DownloadResult). ValidationError(field) otherwise,
    by the contract's rule for ids (``check_operation_id``)."""
    reference = value.strip() if isinstance(value, str) and is_reference(value.strip()) else None
    if reference is not None:
        value = parse_reference(reference, field=field).resolve(namespace, field=field)
    if not isinstance(value, str) and isinstance(getattr(value, "id", None), str):
        value = value.id
    if not isinstance(value, str) or not value.strip():
        reason = f"must be an operation id string, got {type(value).__name__}"
        if reference is not None:
            raise VariableError(field, reference, reason)
        raise ValidationError(field, "must be an operation id string or a [variable]",
                              type(value).__name__)
    value = value.strip()
    try:
        return check_operation_id(value, field=field)
    except ValidationError as exc:
        if reference is not None:
            raise VariableError(field, reference, exc.limit) from None
        raise


def default_namespace() -> MutableMapping[str, Any]:
    """The IPython user namespace when in IPython, else ``__main__``'s globals."""
    try:
        from IPython import get_ipython  # noqa: PLC0415 - optional

        shell = get_ipython()
    except Exception:  # IPython missing or broken
        shell = None
    if shell is not None and getattr(shell, "user_ns", None) is not None:
        ns: MutableMapping[str, Any] = shell.user_ns
        return ns
    import __main__

    main_ns: MutableMapping[str, Any] = __main__.__dict__
    return main_ns


def check_output_name(name: Any, *, field: str = "output") -> str:
    """A valid variable name to bind a result to ("" or None: no binding)."""
    if name is None or name == "":
        return ""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValidationError(field, "must be a Python variable name such as fox or fox_ids", name)
    return name


def bind(name: str, value: Any, namespace: Any = None) -> None:
    """Assign ``value`` to the variable ``name`` in the namespace (no-op for an empty name)."""
    if not name:
        return
    ns = default_namespace() if namespace is None else namespace
    ns[check_output_name(name)] = value


__all__ = [
    "VariableError", "VariableRef", "bind", "check_output_name", "default_namespace",
    "is_reference", "operation_id", "parse_reference", "resolve",
]
