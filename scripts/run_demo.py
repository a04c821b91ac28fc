"""Run notebooks/quickstart.ipynb headless (nbclient) and say what it made.

The main job of `make demo`: with no AZURE_OPENAI_ENDPOINT the notebook
generates images on the embedded emulator; with one, on Azure. The executed
notebook (with its widget state, thumbnails included) is written to build/.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
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
    print("open it with `make lab` (JupyterLab on notebooks/ and build/)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
