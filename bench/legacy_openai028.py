"""Run inside the openai==0.28.1 venv: one ``openai.Image.create`` on the asynchronous flow.

    .venv-openai028/bin/python bench/legacy_openai028.py ENDPOINT PROMPT N SIZE  (key on stdin)

Prints one JSON line: {"wall": seconds around the call, "urls": number of image URLs}.
The key comes on stdin so it never shows in a process list.
"""
import json
import sys
import time

import openai


def main() -> None:
    endpoint, prompt, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    openai.api_type = "azure"
    openai.api_base = endpoint
    openai.api_version = "2023-06-01-preview"
    openai.api_key = sys.stdin.readline().strip()
    t0 = time.perf_counter()
    result = openai.Image.create(prompt=prompt, n=n, size=size)
    wall = time.perf_counter() - t0
    urls = [d.get("url") for d in result["data"] if d.get("url")]
    print(json.dumps({"wall": wall, "urls": len(urls), "openai": openai.version.VERSION}))


if __name__ == "__main__":
    main()
