"""The ``%image`` line magic and ``%%image`` cell magic (``%load_ext azimage_widgets``).

    %image a red fox in the snow --size 512x512 -n 2
    %image a lighthouse at dusk -o lighthouse --api-version 2025-04-01-preview --quality high

    %%image --size 1024x1024
    A watercolour of a red fox in the snow,
    seen from far away, morning light.

Each call runs a Request Image activity (layer 3) with the notebook's
connection (``Connection.from_env()``: the embedded emulator when no endpoint
is set; ``--conn NAME`` takes a Connection variable instead), shows a status
line and the preview grid inline, and binds the run's ``Operations`` to
``_image`` (or the ``-o`` name): ``_image.ids``, ``_image.results``.

The options are the Request Image panel's fields and are checked by the
same rules (the activity's validators, i.e. the contract): a bad value
prints ``field: rule`` and nothing is sent. The cell waits for the images, so
the next cell (and Run All) sees the bound result; the run happens on a
loop of its own in a worker thread, because the kernel's loop is busy
running this very cell. Interrupting the kernel cancels the run.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from traitlets import TraitError

from .contract import API_VERSIONS, ValidationError
from .contract.limits import OPTION_NAMES

#: The variable a run is bound to when no ``-o`` is given.
DEFAULT_OUTPUT = "_image"
#: Options taking whole numbers (parsed here, so a non-number reaches the rule's message).
_INT_OPTIONS = frozenset({"n", "output_compression", "partial_images"})
#: Live previews a run streams when the model can and ``--live`` is not given.
DEFAULT_LIVE = 2


class OptionError(Exception):
    """A magic option that could not be read (unknown option, missing value)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel's process
        raise OptionError(message)


def _parser() -> _Parser:
    p = _Parser(prog="%image", add_help=False, allow_abbrev=False,
                description="Generate images from a prompt, show them inline and bind the result.")
    p.add_argument("prompt", nargs="*", help="What to draw (%%image: the cell's text).")
    p.add_argument("--size", "-s", help="One of the api-version's sizes, e.g. 1024x1024.")
    p.add_argument("-n", "--n", dest="n", metavar="N", help="Number of images (1 to the version's most).")
    p.add_argument("--api-version", dest="api_version", metavar="VERSION",
                   help=f"One of {', '.join(API_VERSIONS)} (default: the connection's).")
    p.add_argument("--deployment", help="The deployment (v1 and the synchronous versions).")
    p.add_argument("--model", help="The deployment's model, e.g. gpt-image-2 (default: the "
                                   "connection's, else read from the deployment's name).")
    for name in OPTION_NAMES:
        p.add_argument("--" + name.replace("_", "-"), dest=name, metavar=name.upper(),
                       help="Where the api-version has it (as in the panel's Optional settings).")
    p.add_argument("--moderation", help="low or auto (today's models).")
    p.add_argument("--live", dest="partial_images", metavar="N",
                   help=f"Live previews: 0..3 partial images streamed before each image "
                        f"(default {DEFAULT_LIVE} where the model streams, else 0).")
    p.add_argument("--user", help="An end-user label sent to the service.")
    p.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="NAME",
                   help=f"The variable the result is bound to (default {DEFAULT_OUTPUT}).")
    p.add_argument("--name", help="The activity's name (default: a fresh one).")
    p.add_argument("--conn", metavar="VARIABLE",
                   help="A Connection variable of the notebook (default Connection.from_env()).")
    p.add_argument("--no-preview", dest="preview", action="store_false",
                   help="Bind the result without showing the images.")
    return p


PARSER = _parser()
USAGE = PARSER.format_help()


@dataclass
class ImageCall:
    """One parsed call: the prompt and the settings for the activity."""

    prompt: str
    settings: dict[str, Any] = field(default_factory=dict)
    output: str = DEFAULT_OUTPUT
    name: str | None = None
    conn: str | None = None
    preview: bool = True


def _number(text: str) -> Any:
    """``text`` as an int when it is one; as given otherwise (the rule then names it)."""
    try:
        return int(text)
    except ValueError:
        return text


def parse(line: str, cell: str | None = None) -> ImageCall:
    """Read ``%image`` options from ``line`` (and, for ``%%image``, the prompt from ``cell``).

    Words are split on whitespace only, so an apostrophe or quote in a prompt
    stays as typed. OptionError for an unknown option or a missing value.
    """
    ns = PARSER.parse_intermixed_args(line.split())
    words = " ".join(ns.prompt)
    prompt = "\n".join(part for part in (words, (cell or "").strip()) if part).strip()
    if len(prompt) >= 2 and prompt[0] == prompt[-1] and prompt[0] in "\"'":
        prompt = prompt[1:-1]  # one quoted prompt: the quotes are not part of it
    settings: dict[str, Any] = {}
    for name in ("api_version", "deployment", "model", "size", "n", *OPTION_NAMES, "moderation",
                 "partial_images", "user"):
        value = getattr(ns, name)
        if value is not None:
            settings[name] = _number(value) if name in _INT_OPTIONS else value
    return ImageCall(prompt, settings, ns.output, ns.name, ns.conn, ns.preview)


def make_activity(call: ImageCall, conn: Any, namespace: MutableMapping[str, Any]) -> Any:
    """The Request Image activity of ``call``; ValidationError naming the field and its rule.

    The settings go through the activity's own validators in the panel's order
    (the version first: it decides sizes, n and options), then the whole
    request is checked, so nothing invalid is ever sent.
    """
    from .activities.request_image import RequestImage

    activity = RequestImage(conn, name=call.name, namespace=namespace, replace=call.name is not None)
    try:
        for name, value in call.settings.items():
            try:
                setattr(activity, name, value)
            except TraitError:  # not even of the trait's type (-n two): the contract's rule says why
                _check_type(activity, name, value)
                raise
        if call.preview and "partial_images" not in call.settings:
            from .activities.model_settings import allowed

            if allowed(activity, "partial_images", DEFAULT_LIVE):
                activity.partial_images = DEFAULT_LIVE  # the model streams: show it forming
        activity.prompt = call.prompt
        activity.output = call.output
        activity.request()  # the whole request (a blank prompt, ...)
    except BaseException:
        activity.close()
        raise
    return activity


def _check_type(activity: Any, name: str, value: Any) -> None:
    """ValidationError with the contract's rule for a value the trait's type refused."""
    from .contract import version_spec
    from .contract.models import check_n, check_option

    spec = version_spec(activity.api_version)
    if name == "n":
        check_n(spec, value)
    elif name in OPTION_NAMES:
        check_option(spec, name, value)
    raise ValidationError(name, "must be a whole number" if name in _INT_OPTIONS else "must be text",
                          value)


def _run_in_thread(activity: Any, preview: bool) -> Any:
    """Run ``activity.generate`` on a loop of its own; KeyboardInterrupt cancels it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="azimage-%image", daemon=True)
    thread.start()
    try:
        future = asyncio.run_coroutine_threadsafe(activity.generate(follow=preview), loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise
    finally:
        async def _finish() -> None:
            await loop.shutdown_asyncgens()  # the loop's shared client closes here

        asyncio.run_coroutine_threadsafe(_finish(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class ImageView:
    """The inline output of one call: a status line and the preview grid."""

    def __init__(self, activity: Any, preview: bool) -> None:
        from ipywidgets import HTML, VBox

        from .widgets.widget_previews import PreviewGrid

        self.activity = activity
        self._shown: Any = None
        self.status = HTML()
        self.status.add_class("azimage-magic-status")
        self.previews = PreviewGrid(prefix=activity.name)
        self.root = VBox([self.status, self.previews] if preview else [self.status])
        self.root.add_class("azimage-magic")
        activity.observe(self._on_state, names="state")
        activity.observe(self._on_partial, names="partial")
        self._on_state()

    def _on_partial(self, change: Any) -> None:
        """A streamed partial image replaces its tile's picture in place."""
        event = change["new"]
        if event is not None:
            self.previews.show_partial(getattr(event, "image_index", 0), event.partial_index,
                                       event.image_bytes, self.activity.partial_images)

    def _on_state(self, _change: Any = None) -> None:
        state = self.activity.state
        if state.error:
            from .activities import format_error
            from .widgets.widget_colours import tone

            self.status.value = (f'<span style="color:{tone("error")}"><b>Failed</b>'
                                 f" &middot; {html.escape(format_error(state.error))}</span>")
            return
        text = html.escape(state.message) if state.message else ""
        self.status.value = f"<b>{html.escape(state.status.value)}</b>" + (f" &middot; {text}"
                                                                           if text else "")
        if state.results and state.results != self._shown:  # tiles once per set of results
            self._shown = state.results
            self.previews.show(state.results)


def run_magic(line: str, cell: str | None, namespace: MutableMapping[str, Any],
              display: Any = None) -> Any:
    """What ``%image`` / ``%%image`` do; returns the Operations (None when nothing was sent)."""
    try:
        call = parse(line, cell)
    except OptionError as exc:
        print(f"%image: {exc}\n\n{USAGE}")
        return None
    conn = _connection(call, namespace)
    if conn is None:
        return None
    try:
        activity = make_activity(call, conn, namespace)
    except ValidationError as exc:
        shown = "" if exc.value is None else f" (got {exc.value!r})"
        print(f"%image: {exc.field.replace('_', '-')}: {exc.limit}{shown}. Nothing was sent.")
        return None
    view = ImageView(activity, call.preview)
    if display is None:
        from IPython.display import display
    display(view.root)
    try:
        return _run_in_thread(activity, call.preview)
    except Exception:  # noqa: BLE001 - the status line shows it; no traceback for a refusal
        return None
    finally:
        activity.close()


def _connection(call: ImageCall, namespace: Mapping[str, Any]) -> Any:
    from .client import Connection
    from .connect import from_env

    if call.conn is None:
        return from_env()
    conn = namespace.get(call.conn)
    if not isinstance(conn, Connection):
        print(f"%image: conn: {call.conn!r} is not a Connection variable of this notebook. "
              f"Nothing was sent.")
        return None
    return conn


#: What ``%image?`` shows.
MAGIC_DOC = f"""Generate images inline: ``%image PROMPT [options]``, or ``%%image [options]``
with the prompt in the cell. The result (``Operations``: ``.ids``, ``.results``)
is bound to ``{DEFAULT_OUTPUT}`` or the ``-o`` name; bad options print the
field and its rule, and nothing is sent.

{USAGE}"""


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%image`` and ``%%image`` (``%load_ext azimage_widgets``)."""

    def image_magic(line: str, cell: str | None = None) -> None:
        run_magic(line, cell, ipython.user_ns)

    image_magic.__doc__ = MAGIC_DOC
    ipython.register_magic_function(image_magic, "line_cell", "image")


def unload_ipython_extension(ipython: Any) -> None:
    """Remove ``%image`` again (``%unload_ext azimage_widgets``)."""
    magics = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        magics[kind].pop("image", None)


__all__ = ["DEFAULT_OUTPUT", "MAGIC_DOC", "ImageCall", "ImageView", "OptionError", "load_ipython_extension",
           "make_activity", "parse", "run_magic", "unload_ipython_extension"]
