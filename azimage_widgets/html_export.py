"""Static HTML of an executed notebook whose widgets render offline.

``nbconvert --to html`` renders the saved widget state (thumbnails and all)
only with a widget renderer, which it loads from a CDN unless told
otherwise. ``scripts/fetch_widget_renderer.sh`` packs one with npm
(``@jupyter-widgets/html-manager@^1`` and ``requirejs@2``, into
``build/widget-renderer``); ``stage_renderer`` copies the files it needs
(``embed-amd.js`` and ``require.js``, 3.7 MB, the icon fonts, 3 MB, and
anywidget's AMD build when anywidget is installed) next to the HTML, and
``export_html`` points nbconvert at them with relative URLs, so the output
folder works from ``file://`` or any static web server::

    python -m azimage_widgets.html_export executed.ipynb out/notebook.html

is the same as staging the renderer into ``out/widget-renderer`` and running::

    jupyter nbconvert --to html executed.ipynb --output-dir out \\
      --HTMLExporter.widget_renderer_url=widget-renderer/embed-amd.js \\
      --HTMLExporter.require_js_url=widget-renderer/require.js

The notebook must have been executed with its widget state stored
(JupyterLab: Settings > Save Widget State Automatically; nbclient:
``store_widget_state=True``).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

#: Environment variable naming the renderer folder (the one holding node_modules/).
ENV_RENDERER = "AZIMAGE_WIDGET_RENDERER"
#: Where scripts/fetch_widget_renderer.sh puts it, relative to the repository.
DEFAULT_RENDERER = Path(__file__).resolve().parents[1] / "build" / "widget-renderer"
#: The folder next to the HTML that receives the renderer's files.
STAGED_DIR = "widget-renderer"
RENDERER_URL = f"{STAGED_DIR}/embed-amd.js"
REQUIRE_URL = f"{STAGED_DIR}/require.js"
#: anywidget's AMD module, next to the HTML (require.js's base folder).
ANYWIDGET_JS = "anywidget.js"
#: Where the widget CSS looks for its icon fonts, next to the HTML.
FONTS_DIR = "@jupyter-widgets"
_FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")


def find_renderer(path: str | os.PathLike[str] | None = None) -> Path:
    """The html-manager ``dist`` folder's parent tree; FileNotFoundError says how to fetch it."""
    root = Path(path or os.environ.get(ENV_RENDERER) or DEFAULT_RENDERER)
    dist = root / "node_modules" / "@jupyter-widgets" / "html-manager" / "dist"
    require = root / "node_modules" / "requirejs" / "require.js"
    if not (dist / "embed-amd.js").is_file() or not require.is_file():
        raise FileNotFoundError(
            f"no widget renderer in {root}: run scripts/fetch_widget_renderer.sh {root} "
            f"(npm installs @jupyter-widgets/html-manager@^1 and requirejs@2 there)")
    return root


def stage_renderer(dest_dir: str | os.PathLike[str], renderer: str | os.PathLike[str] | None = None) -> Path:
    """Copy embed-amd.js and require.js into ``dest_dir/widget-renderer``, the icon fonts into
    ``dest_dir/@jupyter-widgets``; returns the former."""
    root = find_renderer(renderer)
    dist = root / "node_modules" / "@jupyter-widgets" / "html-manager" / "dist"
    target = Path(dest_dir) / STAGED_DIR
    target.mkdir(parents=True, exist_ok=True)
    # The bundled widget modules are AMD modules named "@jupyter-widgets/...", so webpack's public
    # path (where the icon fonts are looked up) becomes "<HTML folder>/@jupyter-widgets/".
    fonts = Path(dest_dir) / FONTS_DIR
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copy2(dist / "embed-amd.js", target / "embed-amd.js")
    for f in dist.iterdir():
        if f.suffix in _FONT_SUFFIXES:
            shutil.copy2(f, fonts / f.name)
    shutil.copy2(root / "node_modules" / "requirejs" / "require.js", target / "require.js")
    amd = anywidget_amd()
    if amd is not None:
        shutil.copy2(amd, Path(dest_dir) / ANYWIDGET_JS)
    return target


def anywidget_amd() -> Path | None:
    """anywidget's AMD build (its classic-notebook extension), or None when not installed.

    The html-manager loads a widget module it does not bundle with require.js, by
    name: widgets made with anywidget (the prompt area, the mask painter) need the
    module "anywidget", which require.js looks up as ``anywidget.js`` next to the HTML.
    """
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("nbextensions"):
        candidate = Path(folder) / "anywidget" / "index.js"
        if candidate.is_file():
            return candidate
    return None


def export_html(notebook: Any, out_html: str | os.PathLike[str],
                renderer: str | os.PathLike[str] | None = None, template: str = "lab") -> Path:
    """Write ``notebook`` (a path or a NotebookNode) as HTML with an offline widget renderer."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, (str, os.PathLike)) \
        else notebook
    out = Path(out_html)
    stage_renderer(out.parent, renderer)
    exporter = HTMLExporter(template_name=template, widget_renderer_url=RENDERER_URL,
                            require_js_url=REQUIRE_URL)
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(body, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m azimage_widgets.html_export EXECUTED.ipynb OUT.html", file=sys.stderr)
        return 2
    print(export_html(args[0], args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
