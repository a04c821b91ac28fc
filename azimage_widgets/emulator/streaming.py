"""Streamed answers (``stream: true``): server-sent events, flushed one by one.

Each image of the job sends ``partial_images`` partial events, each a little
more formed than the one before (``sync_images.render_partial``, all drawn
before the image's first event, so the emulator's drawing does not compete
with a client on the same machine while it handles an event), then its
``completed`` event with ``usage``; images follow one another (the events
carry no image index, so order is what tells them apart). The job's events
are spaced evenly over ``processing_time``: event j of E leaves at
``j / E * processing_time`` after the request arrived, so a client sees the
first partial well before the image is done. Every event is flushed as soon
as it is written, and noted in ``state.stream_events`` with the time it left.

Event shape (CONTRACT.md section 4; the openai SDK's ImageGen*/ImageEdit*
event types): ``event: <type>`` then ``data: <json>`` and a blank line; the
JSON has ``type``, ``b64_json``, ``background``, ``created_at``,
``output_format``, ``quality``, ``size``, plus ``partial_image_index`` on a
partial and ``usage`` on a completed one. No ``[DONE]`` line: the stream ends
when the last image is completed.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

from tornado.iostream import StreamClosedError

from . import image_jobs
from .state import StreamRecord
from .sync_images import BadImage

if TYPE_CHECKING:
    from .sync_app import SyncHandler


def sse(event: dict[str, object]) -> str:
    """One server-sent event: its type as ``event:``, the JSON as one ``data:`` line."""
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def stream(h: SyncHandler, job: image_jobs.ImageJob) -> None:
    """Answer ``job`` as server-sent events; an input that does not decode is a 400 first."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    total = max(0.0, float(h.state.config.processing_time))
    slots = job.n * (job.partial_images + 1)
    try:  # the first image before any byte: a bad input image is still a plain 400
        first = await loop.run_in_executor(None, image_jobs.render, job, 0)
    except BadImage as exc:
        return h.invalid(str(exc), exc.param.split("[", 1)[0], "invalid_image")
    size = image_jobs.actual_size(job, job.images[0] if job.images else None)
    h.set_status(200)
    h.set_header("Content-Type", "text/event-stream; charset=utf-8")
    h.set_header("Cache-Control", "no-cache")
    h.set_header("X-Accel-Buffering", "no")
    sent = 0
    for index in range(job.n):
        final = first if index == 0 else await loop.run_in_executor(
            None, image_jobs.render, job, index)
        # every partial of the image is drawn before its first event leaves: the drawing
        # (tens of ms of CPU) never runs while a client handles an event it was just sent
        drawn = [await loop.run_in_executor(None, image_jobs.render_partial, job, final, step)
                 for step in range(job.partial_images)]
        for step in range(job.partial_images + 1):
            partial = step < job.partial_images
            raw = drawn[step] if partial else final
            sent += 1
            await asyncio.sleep(max(0.0, started + total * sent / slots - loop.time()))
            event = image_jobs.event(job, raw, int(time.time()), size, step if partial else None)
            h.write(sse(event))
            try:
                await h.flush()
            except StreamClosedError:  # the client went away: nobody to make images for
                return  # tornado finishes (and so records) the request
            h.state.stream_events.append(
                StreamRecord(h.request.path, str(event["type"]), time.monotonic()))
    h.finish()


__all__ = ["sse", "stream"]
