"""Run notebooks/quickstart.ipynb headless (nbclient) and say what it made.

The main job of `make demo`: with no AZURE_OPENAI_ENDPOINT the notebook
generates images on the embedded emulator; with one, on Azure. The executed
notebook (with its widget state, thumbnails included) is written to build/.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _pin_kernel_to_this_python() -> None:
    """Make the "python3" kernelspec run this interpreter (the venv's).

    A developer's own ~/.local/share/jupyter/kernels/python3 would otherwise
    win over the venv's and start some other Python without the package.
    """
    base = tempfile.mkdtemp(prefix="azimage-demo-kernels-")
    atexit.register(shutil.rmtree, base, True)
    kdir = Path(base) / "kernels" / "python3"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(kdir.parents[1]) + (os.pathsep + old if old else "")


def main(argv: list[str]) -> int:
    _pin_kernel_to_this_python()
    source = (Path(argv[1]) if len(argv) > 1 else ROOT / "notebooks" / "quickstart.ipynb").resolve()
    out = ROOT / "build" / f"{source.stem}.executed.ipynb"
    nb = nbformat.read(source, as_version=4)
    started = time.monotonic()
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}},
                            store_widget_state=True)
    client.execute()
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print(f"ran {source.relative_to(ROOT)} in {time.monotonic() - started:.1f} s")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                sys.stdout.write("  " + output["text"].replace("\n", "\n  ").rstrip() + "\n")
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    images = sum(1 for m in state.get("state", {}).values()
                 if m.get("model_name") == "ImageModel"
                 and any(b.get("path") == ["value"] and b.get("data") for b in m.get("buffers", [])))
    print(f"executed notebook: {out.relative_to(ROOT)} ({images} image previews in its widget state)")
    bin_dir = Path(sys.executable).parent
    if sys.executable.startswith(str(ROOT)):
        bin_dir = bin_dir.relative_to(ROOT)
    print(f"look at it in JupyterLab: {bin_dir}/jupyter lab {out.relative_to(ROOT)}"
          "   (`make lab` opens notebooks/)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
