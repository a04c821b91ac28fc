"""The package's public API: a short, static ``__all__`` that is exactly what it exports."""
from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import pytest

import azimage_widgets as aw

ROOT = Path(__file__).resolve().parents[2]

#: The notebook API. Changing it is a decision: update this list with it.
EXPECTED = {
    "Connection", "ImageClient",
    "RequestImagePanel", "DownloadImagePanel", "OperationPanel", "CompareGrid", "history",
    "RequestImage", "DownloadImage", "Operation", "Compare",
    "OperationLog", "OperationLogView", "default_log", "view_code",
    "ImageOperation", "ImageResult", "PartialImage",
    "AzimageError", "ApiError", "ValidationError", "ContentFilterError", "ThrottledError",
    "OperationTimeout", "ImageFetchError",
}


def _static_all(path: Path) -> list[str]:
    """``__all__`` as written in the file: a literal list of strings, or the test fails."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            value = ast.literal_eval(node.value)  # ValueError for a computed list
            assert isinstance(value, list) and all(isinstance(v, str) for v in value)
            return value
    raise AssertionError(f"no __all__ in {path}")


def test_all_is_static_short_and_pinned():
    written = _static_all(ROOT / "azimage_widgets" / "__init__.py")
    assert written == aw.__all__
    assert len(written) == len(set(written)), "duplicates in __all__"
    assert set(written) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_exported_name_is_importable(name):
    value = getattr(aw, name)
    assert value is not None
    assert getattr(value, "__name__", name) == name  # the thing itself, not its module
    namespace: dict[str, object] = {}
    exec(f"from azimage_widgets import {name}", namespace)
    assert namespace[name] is value


def _subpackage(value: object) -> bool:
    return isinstance(value, types.ModuleType) and value.__name__.startswith("azimage_widgets.")


def test_public_names_not_in_all_are_flagged():
    for name in aw.__all__:  # load every lazy name first: loading must not add others
        getattr(aw, name)
    stray = sorted(name for name, value in vars(aw).items()
                   if not name.startswith("_") and name not in aw.__all__ and not _subpackage(value))
    assert stray == []
    listed = sorted(name for name in dir(aw)
                    if not name.startswith("_") and name not in aw.__all__
                    and not _subpackage(getattr(aw, name)))
    assert listed == []


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="ConnectionPool"):
        aw.ConnectionPool  # noqa: B018 - the look-up is the test
    with pytest.raises(ImportError):
        exec("from azimage_widgets import ImageStore", {})


def test_subpackages_load_on_attribute_access():
    assert aw.emulator.__name__ == "azimage_widgets.emulator"
    assert aw.store.ImageStore.__name__ == "ImageStore"


def test_contract_all_is_static_and_complete():
    from azimage_widgets import contract

    written = _static_all(ROOT / "azimage_widgets" / "contract" / "__init__.py")
    assert written == contract.__all__
    for name in written:
        assert getattr(contract, name) is not None
    stray = sorted(name for name, value in vars(contract).items()
                   if not name.startswith("_") and name not in written
                   and not isinstance(value, types.ModuleType))
    assert stray == []


def test_import_loads_nothing_heavy():
    """``import azimage_widgets`` in a fresh interpreter: none of the heavy dependencies."""
    code = ("import sys, azimage_widgets\n"
            "heavy = ('httpx', 'ipywidgets', 'tornado', 'PIL', 'traitlets', 'jupyter_server')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
            "print(sorted(m for m in sys.modules if m.startswith('azimage_widgets.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.splitlines()
    assert out == ["[]", "[]"]
