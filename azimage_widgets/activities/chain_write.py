"""The write step of an Operation: a dataset's images and a JSON sidecar in a folder.

``write_result`` saves ``<name>-<index>-<image number>.png`` and
``<name>-<index>.json`` (prompt, size, n, id, created, expires, the image
files, refused images). ``write_step`` runs it off the event loop and logs
it (activity column ``write``). A dataset resumed from the batch journal
whose files are already in the folder (its sidecar names them, with the same
operation id) is not written again: ``written_before`` finds them.
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .failures import error_info, format_error
from .oplog import OperationLog

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def safe_name(name: str) -> str:
    """A file-name-safe form of an activity name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "activity"


def _iso(dt: Any) -> str | None:
    return dt.isoformat() if dt is not None else None


def write_result(folder: Path, name: str, index: int, result: Any,
                 request: dict[str, Any] | None = None) -> list[Path]:
    """Save a DownloadResult's images and its JSON sidecar; the paths written (sidecar last)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{safe_name(name)}-{index}"
    request = dict(request or {})
    written: list[Path] = []
    files = []
    for slot in result.slots:
        if slot.data is None or not slot.ok:
            continue
        ext = "png" if slot.data.startswith(PNG_SIGNATURE) else \
            (getattr(slot.image, "format", None) or "bin").lower()
        path = folder / f"{base}-{slot.index + 1}.{ext}"
        path.write_bytes(slot.data)
        written.append(path)
        files.append(path.name)
    size = request.get("size")
    if size is None and result.images:
        w, h = result.images[0].size
        size = f"{w}x{h}"
    sidecar = {
        "activity": name,
        "dataset": index,
        "prompt": request.get("prompt"),
        "size": size,
        "n": len(result.slots),
        "id": result.id,
        "status": result.status,
        "created": _iso(result.created),
        "expires": _iso(result.expires),
        "images": files,
        "refused": [{"image": s.index + 1, "code": s.error_code, "message": s.error_message}
                    for s in result.errors],
    }
    meta = folder / f"{base}.json"
    meta.write_text(json.dumps(sidecar, indent=2, ensure_ascii=False), encoding="utf-8")
    written.append(meta)
    return written


def written_before(folder: Path, name: str, index: int, result: Any) -> list[Path] | None:
    """The files an earlier run wrote for this dataset and result (sidecar last), or None
    when any is missing or the sidecar is another operation's."""
    meta = folder / f"{safe_name(name)}-{index}.json"
    try:
        side = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(side, dict) or side.get("id") != result.id:
        return None
    files = [folder / str(f) for f in side.get("images") or []]
    if not all(p.is_file() for p in files):
        return None
    return [*files, meta]


async def write_step(log: OperationLog, operation: str, clock: Callable[[], float],
                     folder: Path, name: str, index: int, result: Any,
                     request: dict[str, Any], *, reuse: bool = False) -> None:
    """Write (or with ``reuse``, find already written) one dataset's files; logged once.
    ``result.files`` gets the paths (sidecar last)."""
    t0 = clock()
    found: list[Path] | None = None
    if reuse:
        found = await asyncio.to_thread(written_before, folder, name, index, result)
    try:
        paths = found if found is not None else \
            await asyncio.to_thread(write_result, folder, name, index, result, request)
    except Exception as exc:
        log.add(activity="write", kind="write", dataset=index, status="failed",
                operation_id=result.id, message=format_error(error_info(exc)),
                duration=clock() - t0, operation=operation, code="write")
        raise
    result.files = paths
    what = "already there, not written again: " if found else ""
    log.add(activity="write", kind="write", dataset=index, status="succeeded",
            operation_id=result.id, message=f"{what}{len(paths) - 1} image file(s) and "
            f"{paths[-1].name} in {folder}", duration=clock() - t0, operation=operation)


__all__ = ["PNG_SIGNATURE", "safe_name", "write_result", "write_step", "written_before"]
