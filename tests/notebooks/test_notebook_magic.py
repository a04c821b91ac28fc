"""%load_ext azimage_widgets, %image and %%image in a real kernel under nbclient (embedded emulator).

The kernel has no AZURE_OPENAI_* variables, so Connection.from_env() is the
embedded emulator. Later cells read what the magics bound, so Run All works
without waiting by hand.
"""
from __future__ import annotations

import nbformat
from test_notebooks import WIDGET_STATE, WIDGET_VIEW, _execute, _text

CELLS = [
    "%load_ext azimage_widgets",
    "import sys\nprint('widgets loaded at start:', 'ipywidgets' in sys.modules)",
    "%image a red fox in the snow --size 512x512 -n 2",
    "print('bound:', len(_image.ids), 'op;', [im.size for im in _image.results[0].images])",
    "%%image -o lighthouse --size 256x256\nA lighthouse at dusk,\nwaves below.",
    "print('cell magic:', lighthouse.results[0].images[0].size)",
    "%image a fox -n 9",
    "print('after bad option:', len(_image.ids), _image.results[0].images[0].size)",
    # what %image? shows (the pager's text is not a cell output under nbclient)
    "print(get_ipython().find_line_magic('image').__doc__)",
]


def test_image_magics_generate_bind_and_validate(tmp_path, kernel_env):  # noqa: F811
    path = tmp_path / "magic.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    nb = _execute(path, kernel_env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = _text(nb)
    # %load_ext loads the magic module, not the widgets (they load on the first %image)
    assert "widgets loaded at start: False" in text
    assert "bound: 1 op; [(512, 512), (512, 512)]" in text
    assert "cell magic: (256, 256)" in text
    # the bad option: its field and rule, nothing sent, _image still the first run
    assert "%image: n: must be from 1 to" in text and "Nothing was sent" in text
    assert "after bad option: 1 (512, 512)" in text
    # %image? documents the options (the magic's docstring)
    assert "--size" in text and "--api-version" in text and "-o NAME" in text
    # the previews are widgets in the saved notebook: two thumbnails, then one
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    views = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 2 and all(v in state for v in views)
    thumbs = [m for m in state.values() if "azimage-thumb" in m["state"].get("_dom_classes", [])]
    assert len(thumbs) == 3
