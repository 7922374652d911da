""""Send to" buttons: pass a result from one tab into another tab's input, and switch to that tab.

Tabs are built one after another, so a source (Generate's gallery) may exist before its target (the Inpaint
tab's editor) or after it. Both register with a hub kept per gr.Blocks; a button is wired as soon as both
ends exist. A target tab registers with `target(label, component)`; a source adds its row of buttons with
`gallery_source(gallery, prefix)` (the selected image), `galleries_source(galleries, prefix)` (the one picked
last in any of them) or `image_source(image, prefix)`. All events are private
(not part of the API). The buttons' events are queued, without a concurrency limit: Gradio shows a gr.Warning
("nothing to send yet") only from a queued event; an unqueued one prints it in the server's log.

The server puts the image in a hidden "incoming" gr.Image of the target; a browser-only step (`js`, no server
round trip) then copies it into the input and selects the tab. Gradio 6.31's browser keeps every component that
a server event has output in a table, and on each status message of any later event it asks each of them, and
everything inside them, for its value. Asked, a gr.ImageEditor holding an image exports its canvas and uploads
it, and gr.Tabs is asked for every component in the app. Sent to directly, as before, the editor and the tabs
made 140-180 uploads during each later Generate (benchmarks/RESULTS.md); the hidden image costs nothing.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from components.common import LIGHT, raw, reveal
from unclip.images import read_metadata

TARGETS = ("Variations", "Inpaint", "Zoom out")  # tab labels in app.py, also the tab ids
NOTHING = "Nothing to send yet: run it first, then pick an image."
SKIP = "{__type__: 'update'}"  # the wire form of gr.skip(): an output left as it is
Picker = Callable[..., str | None]  # source widget values -> the image file to send (None: nothing yet)


@dataclass
class _Target:
    component: gr.components.Component
    incoming: gr.Image  # hidden: where the server puts a sent image
    tab_id: str | int | None
    tabs: gr.Tabs | None
    arrivals: list[Any] = field(default_factory=list)  # the events after which an image is in
    followers: list[dict[str, Any]] = field(default_factory=list)  # events to run then (`then`)
    sends: list[Any] = field(default_factory=list)  # the arrivals from send buttons (not from examples)
    send_followers: list[dict[str, Any]] = field(default_factory=list)  # run after those (`clear_on_send`, `on_send`)

    def receive(self, event: Any, switch_tab: bool = True) -> Any:
        """After `event` (a server event that put an image's path, or None, in `incoming`): the image into the
        input and the tab selected, browser-side, then the `then` events. Returns the browser-side event."""
        arrived = event.success(**self.arrive(switch_tab))
        self.arrivals.append(arrived)
        for follower in self.followers:
            arrived.success(**follower)
        return arrived

    def then(self, fn: Callable[..., Any], outputs: list[Any], inputs: list[Any] | None = None) -> None:
        """Run `fn(path of the image that came, *inputs' values)` into `outputs` after each arrival, for an input
        whose .change does not fire on a value set by an event (gr.ImageEditor)."""
        _attach(self._follower(fn, outputs, inputs or []), self.followers, self.arrivals)

    def on_send(self, fn: Callable[..., Any], outputs: list[Any], inputs: list[Any] | None = None) -> None:
        """As `then`, but only after an image sent here from another tab (not after an example)."""
        _attach(self._follower(fn, outputs, inputs or []), self.send_followers, self.sends)

    def _follower(self, fn: Callable[..., Any], outputs: list[Any], inputs: list[Any]) -> dict[str, Any]:
        def follow(path: str | None, *values: Any) -> Any:  # nothing came ("nothing to send yet"): leave them
            if path:
                return fn(path, *values)
            return gr.skip() if len(outputs) == 1 else tuple(gr.skip() for _ in outputs)

        return {"fn": follow, "inputs": [self.incoming, *inputs], "outputs": outputs, "api_visibility": "private",
                "concurrency_limit": None, "show_progress": "hidden"}  # fmt: skip

    def clear_on_send(self, component: gr.components.Component) -> None:
        """Empty `component` when an image is sent here from another tab (not after an example, which may fill
        it with the image). Browser-side, at once: a server round trip could land after the user's next upload
        into it, and clear that."""
        follower = {"fn": None, "inputs": self.incoming, "outputs": component, "js": f"(x) => x ? null : {SKIP}",
                    "queue": False, "api_visibility": "private"}  # fmt: skip
        _attach(follower, self.send_followers, self.sends)

    def arrive(self, switch_tab: bool = True) -> dict[str, Any]:
        """A browser-only event: the incoming image into the input (an ImageEditor's background), and the tab
        selected; nothing changes when nothing came (the incoming value is empty)."""
        value = "{background: x, layers: [], composite: x}" if isinstance(self.component, gr.ImageEditor) else "x"
        outputs: list[Any] = [self.component]
        values = [value]
        if switch_tab and self.tabs is not None and self.tab_id is not None:
            outputs.append(self.tabs)
            values.append(f"{{__type__: 'update', selected: {json.dumps(self.tab_id)}}}")
        filled, unchanged = (f"[{', '.join(v)}]" for v in (values, [SKIP] * len(values)))
        return {"fn": None, "inputs": self.incoming, "outputs": outputs, "js": f"(x) => x ? {filled} : {unchanged}",
                "queue": False, "api_visibility": "private"}  # fmt: skip


def _attach(follower: dict[str, Any], followers: list[dict[str, Any]], events: list[Any]) -> None:
    """Run `follower` after each of `events`, and after those wired later (they run `followers`)."""
    followers.append(follower)
    for event in events:
        event.success(**follower)


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
    def send(*values: Any) -> str | None:
        path = b.pick(*values)
        if path is None:
            gr.Warning(NOTHING)
        return path

    sending = b.button.click(send, inputs=b.inputs, outputs=t.incoming, **LIGHT)
    arrived = t.receive(sending)
    t.sends.append(arrived)
    for follower in t.send_followers:
        arrived.success(**follower)
    if t.component.elem_id:  # the tab opens where the page was scrolled to: bring the image into view (hidden,
        reveal(arrived, t.component.elem_id)  # when nothing was sent: no scroll)


def target(label: str, component: gr.components.Component) -> _Target:
    """Register this tab's image input as where "Send to <label>" buttons put their image. Call it inside the tab,
    where it adds a hidden image (`incoming`); the returned target can also `receive` an Examples click into it
    and run `then` events after each arrival."""
    hub = _hub()
    tab_id, tabs = _enclosing_tab()
    incoming = raw(gr.Image(type="filepath", visible=False, label=component.label,
                            elem_id=f"{component.elem_id or label}-incoming"))  # fmt: skip  # a path, undecoded
    hub.targets[label] = t = _Target(component, incoming, tab_id, tabs)
    for b in [b for b in hub.pending if b.label == label]:
        _wire(b, t)
        hub.pending.remove(b)
    return t


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


def sent_caption(path: str) -> Any:
    """The caption of an image sent from another tab (its PNG metadata's prompt), for the target's prompt box, as
    A1111's "send to" carries the prompt. The box follows the picture: one without a caption (an upload, a
    caption-less variation) empties it, or the last picture's caption would stay, describing another picture."""
    try:
        prompt = read_metadata(path).get("prompt")
    except (OSError, ValueError):
        return gr.skip()
    return prompt.strip() if isinstance(prompt, str) else ""


def _pick_gallery(items: list[Any] | None, index: int | None) -> str | None:
    if not items:
        return None
    item = items[min(max(int(index or 0), 0), len(items) - 1)]
    return item[0] if isinstance(item, (tuple, list)) else item


def _kept(items: list[Any] | None, index: int | None) -> int:
    """The selection after the gallery's value changed, as Gradio's browser keeps it: the same index, or the last
    image when there are fewer now; the first after the gallery was empty."""
    return min(int(index or 0), len(items) - 1) if items else 0


def gallery_source(gallery: gr.Gallery, prefix: str, exclude: str | None = None) -> list[gr.Button]:
    """Send buttons for a gallery: they send the image the user sees selected (the first one until a click)."""
    return galleries_source([gallery], prefix, exclude, caption="Send the selected image to")


def galleries_source(galleries: list[gr.Gallery], prefix: str, exclude: str | None = None,
                     caption: str = "Send the picked image to") -> list[gr.Button]:  # fmt: skip
    """One row of send buttons under one or more galleries (Compare's: one per mode): they send the image last
    clicked in any of them (the first gallery's first image until a click, or after its preview is closed).
    A new run keeps the selection where it was, as the browser does: the buttons were reset to the first image
    while the gallery still showed the second, and that was the image sent (browser QA)."""
    picked = gr.State((0, 0))  # (which gallery, which image)

    def select_in(which: int) -> Callable[..., tuple[int, int]]:
        def select(evt: gr.SelectData) -> tuple[int, int]:
            return which, int(evt.index)
        return select

    def kept_in(which: int) -> Callable[..., Any]:
        def kept(items: list[Any] | None, pick: tuple[int, int]) -> Any:
            return (which, _kept(items, pick[1])) if pick[0] == which else gr.skip()
        return kept

    private = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    for which, gallery in enumerate(galleries):
        gallery.select(select_in(which), outputs=picked, **private)
        gallery.change(kept_in(which), inputs=[gallery, picked], outputs=picked, **private)
        gallery.preview_close(lambda: (0, 0), outputs=picked, **private)  # closed (x, Escape): nothing selected

    def pick(*values: Any) -> str | None:
        which, index = values[-1]
        return _pick_gallery(values[which], index)

    return buttons([*galleries, picked], pick, prefix, exclude, caption)


def image_source(image: gr.Image, prefix: str, exclude: str | None = None) -> list[gr.Button]:
    """Send buttons for a single result image (type "filepath": what the targets take)."""
    if image.type != "filepath":
        raise ValueError(f"{image.elem_id}: a send-to source must be gr.Image(type='filepath'), not {image.type!r}")
    return buttons([image], lambda path: path or None, prefix, exclude, caption="Send this image to")
