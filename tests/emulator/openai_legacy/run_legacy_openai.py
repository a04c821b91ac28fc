"""Run with the python of a venv that has openai==0.28.1 and requests (no Pillow):

    .venv-openai028/bin/python tests/emulator/openai_legacy/run_legacy_openai.py ENDPOINT KEY [PROMPT]

An official client nobody here wrote, unchanged: ``openai.Image.create`` on the
asynchronous Azure flow (api-version 2023-06-01-preview) against ENDPOINT, then
each returned URL downloaded with plain ``requests`` and no key, and checked to
be a 512x512 PNG from its signature and IHDR chunk. Prints one JSON line and
exits 0 when every check passed, 1 otherwise. KEY must be a fake one: it is
visible in the process list.
"""
import hashlib
import json
import struct
import sys
import time
import traceback

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WANT_SIZE = (512, 512)
N = 2


def png_dimensions(data):
    """(width, height) from a PNG's IHDR chunk; ValueError if it is not a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG: bad signature")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise ValueError("not a PNG: first chunk is not IHDR")
    return struct.unpack(">II", data[16:24])


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, key = argv[1], argv[2]
    prompt = argv[3] if len(argv) == 4 else "a lighthouse in a storm, drawn by openai 0.28.1"
    out = {"ok": False, "prompt": prompt, "checks": {}}
    try:
        import openai
        import requests

        out["openai"] = openai.version.VERSION
        openai.api_type = "azure"
        openai.api_base = endpoint
        openai.api_version = "2023-06-01-preview"
        openai.api_key = key
        t0 = time.perf_counter()
        result = openai.Image.create(prompt=prompt, n=N, size="512x512")
        out["create_seconds"] = round(time.perf_counter() - t0, 3)
        urls = [item["url"] for item in result["data"]]
        out["urls"] = len(urls)
        out["checks"]["n_urls"] = len(urls) == N
        images = []
        for url in urls:
            r = requests.get(url, timeout=30)  # plain GET: no api-key, no Authorization
            info = {"status": r.status_code, "bytes": len(r.content),
                    "sha256": hashlib.sha256(r.content).hexdigest(),
                    "key_sent": "api-key" in r.request.headers
                                or "Authorization" in r.request.headers}
            try:
                info["size"] = list(png_dimensions(r.content))
            except ValueError as exc:
                info["size"] = None
                info["error"] = str(exc)
            images.append(info)
        out["images"] = images
        out["checks"]["downloads_200"] = bool(images) and all(i["status"] == 200 for i in images)
        out["checks"]["png_512x512"] = bool(images) and all(
            i["size"] == list(WANT_SIZE) for i in images)
        out["checks"]["no_key_sent"] = not any(i["key_sent"] for i in images)
        out["checks"]["distinct_images"] = len({i["sha256"] for i in images}) == len(images)
        out["ok"] = all(out["checks"].values())
    except Exception as exc:  # reported in the JSON line, exit 1
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=5)
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
