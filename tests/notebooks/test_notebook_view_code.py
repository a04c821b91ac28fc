"""What View code shows runs unchanged in a new cell of the same notebook (nbclient).

The kernel has no AZURE_OPENAI_* variables; the panels talk to the embedded
emulator through ``Connection.from_env()`` and to a second emulator through a
keyed ``Connection`` whose key is nowhere in the environment. The shown code is
read from a cell's output and pasted, as is, into a new cell.
"""
from __future__ import annotations

import nbformat
from nbclient import NotebookClient

SETUP = [
    "import os\nimport azimage_widgets as aw\n"
    "keyed_emu = aw.emulator.start()\n"
    "conn = aw.Connection(keyed_emu.endpoint, api_key=keyed_emu.api_key)\n"
    "print('key in environment:', 'AZURE_OPENAI_API_KEY' in os.environ)",
    "req = aw.RequestImagePanel(conn, name='vc fox', prompt='a fox in the snow', size='256x256', n=2)\n"
    "env_req = aw.RequestImagePanel(name='vc env', prompt='a heron', size='256x256', n=1)\n"
    "fox_op = await req.submit()",
    "dl = aw.DownloadImagePanel(conn, name='vc get', image_id='[fox_op][0]')",
]


def _outputs_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _run(client: NotebookClient, nb, source: str):
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "\n".join("\n".join(e.get("traceback", [])) for e in errors)
    return cell


def test_view_code_runs_as_is_in_a_new_cell(kernel_env):
    nb = nbformat.v4.new_notebook()
    client = NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(kernel_env)}})
    with client.setup_kernel():
        assert "key in environment: False" in _outputs_text(_run(client, nb, SETUP[0]))
        for source in SETUP[1:]:
            _run(client, nb, source)
        key = _outputs_text(_run(client, nb, "print(keyed_emu.api_key)")).strip()
        assert len(key) > 10
        checks = {
            "req": "print(_aw_res.status, len(_aw_images), on_keyed_emu(_aw_op.id))",
            "env_req": "print(_aw_res.status, len(_aw_images), on_keyed_emu(_aw_op.id))",
            "dl": "print(_aw_res.status, len(_aw_images), _aw_res.id == fox_op.ids[0])",
        }
        _run(client, nb, "def on_keyed_emu(op_id):\n"
                         "    return any(op_id in r.path for r in keyed_emu.requests)")
        expected = {"req": "succeeded 2 True", "env_req": "succeeded 1 False", "dl": "succeeded 2 True"}
        for panel, check in checks.items():
            shown = _outputs_text(_run(client, nb, f"print(aw.view_code({panel}).python)"))
            assert key not in shown and ".named(" in shown, shown
            _run(client, nb, shown)  # pasted unchanged
            assert _outputs_text(_run(client, nb, check)).strip() == expected[panel]
            # the user's names are untouched: conn is still the keyed emulator's connection
            same = _outputs_text(_run(client, nb, "print(conn.endpoint == keyed_emu.endpoint)"))
            assert same.strip() == "True"
