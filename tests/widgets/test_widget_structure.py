"""The widgets package stays easy to read: no import circles, small modules, panels built once."""
from __future__ import annotations

import ast
import uuid
from pathlib import Path

from traitlets import observe

import azimage_widgets as aw
from azimage_widgets.widgets import ActivityPanel

PACKAGE = Path(aw.__file__).parent / "widgets"
MAX_LINES = 400


def _widget_imports(path: Path) -> set[str]:
    """Modules of the widgets package that ``path`` imports, at any depth (functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("azimage_widgets.widgets."):
                found.add(node.module.split(".")[2])
    return {m for m in found if (PACKAGE / f"{m}.py").exists()}


def _graph() -> dict[str, set[str]]:
    return {p.stem: _widget_imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_no_import_circles_inside_widgets():
    graph = _graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif len(path) < len(graph):
                visit(nxt, path + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []


def test_the_panel_base_imports_no_panel_kind():
    kinds = {"widget_request_image", "widget_download_image"}
    assert not (_graph()["widget_panel"] & kinds)


def test_modules_are_small_and_named_widget_something():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert {n: s for n, s in sizes.items() if s > MAX_LINES} == {}
    assert all(n == "__init__.py" or n.startswith("widget_") for n in sizes)


def test_a_panel_assigns_its_children_once_with_every_part_built():
    class Recording(aw.RequestImagePanel):
        @observe("children")
        def _record(self, change):
            self.__dict__.setdefault("seen", []).append(change["new"])

    panel = Recording(name=f"once-{uuid.uuid4().hex[:8]}", namespace={})
    try:
        built = [c for c in panel.seen if c]  # ipywidgets' Box.__init__ sets () first
        assert len(built) == 1
        children = built[0]
        assert children[0] is panel.frame and children[-1] is panel.code_view
        assert panel.view_code_button in panel.buttons.children
        assert panel.step1.children and panel.fields["prompt"] in panel.step1.children
    finally:
        panel.close()


def test_panel_kinds_name_their_activity_class():
    for cls in (aw.RequestImagePanel, aw.DownloadImagePanel):
        assert issubclass(cls, ActivityPanel)
        assert cls.activity_class.kind in ("request_image", "download_image")
        saved = cls(name=f"cfg-{uuid.uuid4().hex[:8]}", namespace={})
        try:
            again = cls.from_config(saved.to_config(), name=f"cfg2-{uuid.uuid4().hex[:8]}",
                                    namespace={})
            assert type(again) is cls and again.activity.kind == cls.activity_class.kind
            again.close()
        finally:
            saved.close()
