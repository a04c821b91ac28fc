"""%image / %%image without a kernel: parsing, the contract's checks, a real run on the emulator.

``run_magic`` is what the registered magic calls; here it gets a plain dict as
the notebook's namespace and a list's ``append`` as ``display``.
"""
from __future__ import annotations

import io

import helpers
import pytest
from PIL import Image as PILImage
from test_widgets import with_class

import azimage_widgets as aw
from azimage_widgets.magic import MAGIC_DOC, OptionError, parse, run_magic


def test_options_and_prompt_words_mix_freely():
    call = parse("a red fox --size 512x512 in the snow -n 2 -o fox --quality high")
    assert call.prompt == "a red fox in the snow"
    assert call.settings == {"size": "512x512", "n": 2, "quality": "high"}
    assert call.output == "fox" and call.preview


def test_cell_prompt_keeps_its_lines_and_apostrophes():
    call = parse("--size 1024x1024", "A fox's den,\nseen from far away.\n")
    assert call.prompt == "A fox's den,\nseen from far away."
    assert call.settings == {"size": "1024x1024"} and call.output == "_image"
    assert parse('"a quoted prompt" -n 1').prompt == "a quoted prompt"


def test_unknown_option_is_an_option_error():
    with pytest.raises(OptionError, match="bogus"):
        parse("a fox --bogus 3")
    with pytest.raises(OptionError):
        parse("a fox --size")  # no value


def test_help_names_every_panel_field():
    for option in ("--size", "-n", "--api-version", "--quality", "--style", "--response-format",
                   "--output-format", "--background", "--output-compression", "-o", "--conn"):
        assert option in MAGIC_DOC


@pytest.mark.parametrize(("line", "field", "rule"), [
    ("a fox -n 9", "n:", "1 to 5"),
    ("a fox -n two", "n:", ""),
    ("a fox --size 7x7", "size:", "must be one of"),
    ("a fox --api-version 1999-01-01", "api-version:", "must be one of"),
    ("", "prompt:", ""),
    ("a fox -o 1bad", "output:", ""),
])
def test_a_bad_option_prints_field_and_rule_and_sends_nothing(emu, conn, capsys, line, field, rule):
    ns = {"conn": conn}
    shown = []
    assert run_magic(f"{line} --conn conn", None, ns, display=shown.append) is None
    out = capsys.readouterr().out
    assert f"%image: {field}" in out and rule in out and "Nothing was sent" in out
    assert shown == [] and "_image" not in ns
    assert helpers.api_requests(emu, "POST") == []


def test_a_run_binds_the_result_and_shows_the_previews(emu, conn):
    ns = {"conn": conn}
    shown = []
    ops = run_magic("a red fox in the snow --size 512x512 -n 2 --conn conn", None, ns,
                    display=shown.append)
    assert ops is not None and ns["_image"] is ops and len(ops.ids) == 1
    (result,) = ops.results
    assert len(result.images) == 2 and all(im.size == (512, 512) for im in result.images)
    (root,) = shown
    thumbs = with_class(root, "azimage-thumb")
    assert len(thumbs) == 2 and all(max(PILImage.open(io.BytesIO(t.value)).size) <= 256 for t in thumbs)
    assert "succeeded" in with_class(root, "azimage-magic-status")[0].value
    body = helpers.api_requests(emu, "POST")[0]
    assert body is not None


def test_cell_magic_prompt_and_output_name(emu, conn):
    ns = {"conn": conn}
    ops = run_magic("-o fox --no-preview --conn conn", "a fox\nin the snow", ns, display=lambda w: None)
    assert ns["fox"] is ops and "_image" not in ns and ops.ids


def test_conn_must_name_a_connection(capsys):
    assert run_magic("a fox --conn nope", None, {"nope": 3}, display=lambda w: None) is None
    assert "conn: 'nope' is not a Connection" in capsys.readouterr().out


def test_the_extension_hooks_are_served_lazily_not_stored():
    from azimage_widgets import magic

    assert aw.load_ipython_extension is magic.load_ipython_extension
    assert aw.unload_ipython_extension is magic.unload_ipython_extension
    assert "load_ipython_extension" not in vars(aw) and "load_ipython_extension" not in dir(aw)


def test_a_model_that_streams_shows_live_previews_then_the_images(emu, monkeypatch):
    from azimage_widgets.widgets.widget_previews import PreviewGrid

    conn = aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version="v1",
                         deployment="gpt-image-2")
    partials: list[int] = []
    original = PreviewGrid.show_partial

    def spy(self, image_index, partial_index, data, partials_total=2):  # type: ignore[no-untyped-def]
        partials.append(partial_index)
        assert PILImage.open(io.BytesIO(data)).size  # a real picture, before the final one
        return original(self, image_index, partial_index, data, partials_total)

    monkeypatch.setattr(PreviewGrid, "show_partial", spy)
    shown = []
    ops = run_magic("a red fox --size 1024x1024 --quality low --conn conn", None, {"conn": conn},
                    display=shown.append)
    assert ops is not None and len(ops.results[0].images) == 1
    assert partials == [0, 1]  # the default live previews, in order
    sent = [e.type for e in emu.stream_events]
    assert sent == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    (root,) = shown
    assert len(with_class(root, "azimage-thumb")) == 1  # the final image took the partial's tile


def test_live_zero_and_the_seeds_version_do_not_stream(emu, conn):
    v1 = aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version="v1",
                       deployment="gpt-image-2")
    ops = run_magic("a fox --live 0 --conn v1", None, {"v1": v1}, display=lambda w: None)
    assert ops is not None and ops.results[0].images and emu.stream_events == []
    assert parse("a fox --live 3 --deployment d --model gpt-image-2 --moderation low").settings == {
        "deployment": "d", "model": "gpt-image-2", "moderation": "low", "partial_images": 3}
    ops = run_magic("a fox --conn conn", None, {"conn": conn}, display=lambda w: None)
    assert ops is not None and ops.results[0].images and emu.stream_events == []
