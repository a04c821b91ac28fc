"""PromptArea: a text area with a browser-native ``maxlength`` and a live counter (anywidget).

ipywidgets' Textarea has no ``maxlength``, so a cap enforced only in Python
can refuse a paste whole or put the text back and move the caret. Here the
browser enforces the cap while the user types (typing stops at the cap, the
caret stays where it was; a paste is cut to the room left, with a note under
the area saying so), and Python enforces it again whatever a front end sends:
a longer value, from a comm message or from kernel code, is cut to
``max_chars`` and ``note`` says how much was dropped.

The ESM and CSS are inline and self-contained (no remote imports: they load
offline in JupyterLab, Notebook 7, Voila and VS Code) and take their colours
from JupyterLab's CSS variables, with fallbacks where those are not defined.

CSS classes inside the widget: ``azimage-prompt-label``, ``azimage-prompt-text``
(the ``<textarea>``), ``azimage-prompt-counter`` (``n / max``) and
``azimage-prompt-note`` (the note about a cut).
"""
from __future__ import annotations

from typing import Any

import anywidget
from traitlets import Bool, Int, Unicode, validate

from ..contract import PROMPT_MAX_CHARS

_ESM = r"""
function render({ model, el }) {
  el.classList.add("azimage-pa");
  const label = document.createElement("label");
  label.className = "azimage-prompt-label";
  const box = document.createElement("div");
  box.className = "azimage-pa-box";
  const ta = document.createElement("textarea");
  ta.className = "azimage-prompt-text";
  const foot = document.createElement("div");
  foot.className = "azimage-pa-foot";
  const note = document.createElement("span");
  note.className = "azimage-prompt-note";
  note.setAttribute("role", "status");
  const counter = document.createElement("span");
  counter.className = "azimage-prompt-counter";
  foot.append(note, counter);
  box.append(ta, foot);
  el.append(label, box);
  const cap = () => model.get("max_chars");
  const count = () => {
    counter.textContent = ta.value.length + " / " + cap();
    counter.classList.toggle("azimage-pa-full", ta.value.length >= cap());
  };
  const showNote = () => { note.textContent = model.get("note"); };
  const fromModel = () => {
    const v = model.get("value");
    if (ta.value !== v) ta.value = v;  // only when it differs: the caret stays put
    ta.maxLength = cap();
    ta.rows = model.get("rows");
    ta.placeholder = model.get("placeholder");
    ta.disabled = model.get("disabled");
    label.textContent = model.get("description");
    label.style.display = model.get("description") ? "" : "none";
    count();
  };
  ta.addEventListener("paste", (ev) => {
    const text = (ev.clipboardData || window.clipboardData).getData("text") || "";
    const room = cap() - (ta.value.length - (ta.selectionEnd - ta.selectionStart));
    if (text.length > room) {
      const cut = text.length - Math.max(room, 0);
      model.set("note", "Pasted text cut to fit " + cap() + " characters: the last " + cut +
                " of " + text.length + " were left out.");
      // the note goes with the pasted value (one message, from the input handler); with no
      // room left nothing is inserted and no input follows, so it goes now
      if (room <= 0) model.save_changes();
    }
  });
  ta.addEventListener("input", () => {
    count();
    model.set("value", ta.value);
    model.save_changes();
  });
  model.on("change:value", fromModel);
  model.on("change:max_chars", fromModel);
  model.on("change:rows", fromModel);
  model.on("change:placeholder", fromModel);
  model.on("change:disabled", fromModel);
  model.on("change:description", fromModel);
  model.on("change:note", showNote);
  fromModel();
  showNote();
  return () => {
    for (const n of ["value", "max_chars", "rows", "placeholder", "disabled", "description"]) {
      model.off("change:" + n, fromModel);
    }
    model.off("change:note", showNote);
  };
}
export default { render };
"""

_CSS = """
.azimage-pa { display: flex; gap: 8px; align-items: flex-start; box-sizing: border-box;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #1f1f1f); }
.azimage-pa .azimage-prompt-label { flex: 0 0 var(--azimage-label-width, 80px); text-align: right;
  padding-top: 4px; }
.azimage-pa .azimage-pa-box { flex: 1 1 auto; min-width: 0; display: flex; flex-direction: column; }
.azimage-pa textarea { box-sizing: border-box; width: 100%; resize: vertical;
  font: inherit; padding: 4px 8px; color: var(--jp-widgets-input-color, var(--jp-ui-font-color1, #1f1f1f));
  background: var(--jp-widgets-input-background-color, var(--jp-layout-color1, #fff));
  border: var(--jp-border-width, 1px) solid
    var(--jp-widgets-input-border-color, var(--jp-border-color1, #9e9e9e)); }
.azimage-pa textarea:focus { outline: none;
  border-color: var(--jp-widgets-input-focus-border-color, var(--jp-brand-color1, #1976d2)); }
.azimage-pa .azimage-pa-foot { display: flex; gap: 8px; justify-content: space-between;
  font-size: var(--jp-ui-font-size0, 11px); }
.azimage-pa .azimage-prompt-note { color: var(--jp-warn-color0, var(--jp-ui-font-color1, #8a4b00)); }
.azimage-pa .azimage-prompt-counter { color: var(--jp-ui-font-color2, #555); margin-left: auto; }
.azimage-pa .azimage-prompt-counter.azimage-pa-full { color: var(--jp-ui-font-color1, #1f1f1f);
  font-weight: bold; }
"""


def cut_note(length: int, limit: int, *, pasted: bool = False) -> str:
    """The note shown when ``length`` characters were cut to ``limit``."""
    what = "Pasted text" if pasted else "Text"
    return (f"{what} cut to fit {limit} characters: the last {length - limit} of {length} "
            f"were left out.")


class PromptArea(anywidget.AnyWidget):
    """A text area capped at ``max_chars`` in the browser (``maxlength``) and in Python."""

    _esm = _ESM
    _css = _CSS

    value = Unicode("", help="The text; never longer than max_chars.").tag(sync=True)
    max_chars = Int(PROMPT_MAX_CHARS, help="The cap: the textarea's maxlength.").tag(sync=True)
    note = Unicode("", help="Why the last text was cut; empty when nothing was.").tag(sync=True)
    description = Unicode("", help="The label left of the area.").tag(sync=True)
    placeholder = Unicode("").tag(sync=True)
    rows = Int(4).tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.observe(self._forget_note, names="value")

    @validate("value")
    def _cap(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if len(value) <= self.max_chars:
            return value
        kept = value[: self.max_chars]
        self.note = cut_note(len(value), self.max_chars)
        # While a front-end update is applied ipywidgets does not echo the value it came
        # with: tell the front end what was kept, or it keeps showing the longer text.
        if self.comm is not None:
            self._send({"method": "update", "state": {"value": kept}, "buffer_paths": []})
        return kept

    def _forget_note(self, change: Any) -> None:
        """A shorter text clears an old note (a cut leaves the text at the cap)."""
        if self.note and len(change["new"]) < self.max_chars:
            self.note = ""

    @property
    def counter(self) -> str:
        """``n / max``, as the widget shows it."""
        return f"{len(self.value)} / {self.max_chars}"


__all__ = ["PromptArea", "cut_note"]
