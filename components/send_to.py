""""Send to" buttons: pass a result from one tab into another tab's input, and switch to that tab.

Tabs are built one after another, so a source (Generate's gallery) may exist before its target (the Inpaint
tab's editor) or after it. Both register with a hub kept per gr.Blocks; a button is wired as soon as both
ends exist. A target tab registers with `target(label, component)`; a source adds its row of buttons with
`gallery_source(gallery, prefix)` (the selected image) or `image_source(image, prefix)`. All events are private
(not part of the API). The buttons' events are queued, without a concurrency limit: Gradio shows a gr.Warning
("nothing to send yet") only from a queued event; an unqueued one prints it in the server's log.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

TARGETS = ("Variations", "Inpaint", "Zoom out")  # tab labels in app.py, also the tab ids
NOTHING = "Nothing to send yet: run it first, then pick an image."
# browser-side, once the tab is shown (the element is hidden, offsetParent null, when nothing was sent)
SCROLL_TO = ("() => { const e = document.getElementById('%s');"
             " if (e && e.offsetParent) e.scrollIntoView({block: 'nearest'}); }")
Picker = Callable[..., str | None]  # source widget values -> the image file to send (None: nothing yet)


@dataclass
class _Target:
    component: gr.components.Component
    tab_id: str | int | None
    tabs: gr.Tabs | None
    then: dict[str, Any] | None  # an event run after an image arrived (fn, inputs, outputs)


@dataclass
class _Button:
    label: str
    button: gr.Button
    inputs: list[Any]
    pick: Picker


@dataclass
class _Hub:
    targets: dict[str, _Target] = field(default_factory=dict)
    pending: list[_Button] = field(default_factory=list)


_HUBS: weakref.WeakKeyDictionary[Any, _Hub] = weakref.WeakKeyDictionary()


def _hub() -> _Hub:
    root = gr.context.Context.root_block
    if root is None:
        raise RuntimeError("send_to: call inside a gr.Blocks context")
    return _HUBS.setdefault(root, _Hub())


def _enclosing_tab() -> tuple[str | int | None, gr.Tabs | None]:
    """The id of the gr.Tab being built and its gr.Tabs (None, None outside tabs)."""
    block = gr.context.Context.block
    while block is not None and not isinstance(block, gr.Tab):
        block = block.parent
    if block is None or not isinstance(block.parent, gr.Tabs):
        return None, None
    return block.id, block.parent


def _wire(b: _Button, t: _Target) -> None:
    switch = t.tabs is not None and t.tab_id is not None
    outputs = [t.component, t.tabs] if switch else [t.component]

    def send(*values: Any) -> Any:
        path = b.pick(*values)
        if path is None:
            gr.Warning(NOTHING)
            return (gr.skip(),) * len(outputs) if switch else gr.skip()
        return (path, gr.Tabs(selected=t.tab_id)) if switch else path

    sending = b.button.click(send, inputs=b.inputs, outputs=outputs, api_visibility="private",
                             concurrency_limit=None, show_progress="hidden")  # fmt: skip
    if t.component.elem_id:  # the tab opens where the page was scrolled to: bring the image into view
        sending.success(None, js=SCROLL_TO % t.component.elem_id, api_visibility="private", queue=False)
    if t.then is not None:
        sending.success(**t.then, api_visibility="private", concurrency_limit=None, show_progress="hidden")


def target(label: str, component: gr.components.Component, then: dict[str, Any] | None = None) -> None:
    """Register this tab's image input as where "Send to <label>" buttons put their image. `then`: an event's
    fn/inputs/outputs to run once an image was sent (for an input whose .change does not fire on a send)."""
    hub = _hub()
    tab_id, tabs = _enclosing_tab()
    hub.targets[label] = t = _Target(component, tab_id, tabs, then)
    for b in [b for b in hub.pending if b.label == label]:
        _wire(b, t)
        hub.pending.remove(b)


def buttons(inputs: list[Any], pick: Picker, prefix: str, exclude: str | None = None,
            caption: str = "Send the selected image to") -> list[gr.Button]:  # fmt: skip
    """A row of "→ Variations / → Inpaint / → Zoom out" buttons (minus `exclude`) sending `pick(*inputs)`."""
    hub, made = _hub(), []
    with gr.Row(elem_classes=["send-to"]):
        gr.Markdown(caption, elem_classes=["send-to-label"])
        for label in (t for t in TARGETS if t != exclude):
            slug = label.lower().replace(" ", "-")
            btn = gr.Button(f"→ {label}", size="sm", min_width=90, elem_id=f"{prefix}-to-{slug}")
            b = _Button(label, btn, inputs, pick)
            if label in hub.targets:
                _wire(b, hub.targets[label])
            else:
                hub.pending.append(b)
            made.append(btn)
    return made


def _pick_gallery(items: list[Any] | None, index: int | None) -> str | None:
    if not items:
        return None
    item = items[min(max(int(index or 0), 0), len(items) - 1)]
    return item[0] if isinstance(item, (tuple, list)) else item


def _selected(evt: gr.SelectData) -> int:
    return int(evt.index)


def gallery_source(gallery: gr.Gallery, prefix: str, exclude: str | None = None) -> list[gr.Button]:
    """Send buttons for a gallery: they send the image the user clicked (the first one until then)."""
    selected = gr.State(0)
    gallery.select(_selected, outputs=selected, api_visibility="private", queue=False, show_progress="hidden")
    gallery.change(lambda: 0, outputs=selected, api_visibility="private", queue=False, show_progress="hidden")
    return buttons([gallery, selected], _pick_gallery, prefix, exclude)


def image_source(image: gr.Image, prefix: str, exclude: str | None = None) -> list[gr.Button]:
    """Send buttons for a single result image (type "filepath": what the targets take)."""
    if image.type != "filepath":
        raise ValueError(f"{image.elem_id}: a send-to source must be gr.Image(type='filepath'), not {image.type!r}")
    return buttons([image], lambda path: path or None, prefix, exclude, caption="Send this image to")
