"""unCLIP Studio: compose the Gradio app from components/ over ONE backend, then launch it.

    python app.py [--model tiny-emoji|tiny-random|karlo|kandinsky-2.2|DIR] [--offload] [--precision auto|fp32|bf16]
                  [--concurrency N] [--host 127.0.0.1] [--port 7860]

Environment (as Hugging Face Spaces sets it): UNCLIP_MODEL, UNCLIP_OFFLOAD=1, UNCLIP_PRECISION, UNCLIP_CONCURRENCY,
GRADIO_SERVER_NAME, GRADIO_SERVER_PORT, HF_HOME / HF_HUB_OFFLINE (where hub models are looked for); with SPACE_ID
set the app binds 0.0.0.0. Each tab is one `components/<tab>.py::build(backend)` call.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

# Gradio reads GRADIO_SERVER_PORT as it is imported, and a value that is not a number stops that import with a bare
# ValueError. Set such a value aside: parse_args refuses it with the flag's message, unless --port is given.
try:
    int(os.environ.get("GRADIO_SERVER_PORT") or 0)
    BAD_PORT_ENV = None
except ValueError:
    BAD_PORT_ENV = os.environ.pop("GRADIO_SERVER_PORT")

import gradio as gr  # noqa: E402 (after the check above)
from starlette.middleware import Middleware

from components import explorer, generate, inpaint, variations, zoom_out
from components.common import LIGHT, MAX_UPLOAD_MB, name_payload_errors, on_space, refuse_upload
from unclip import UnCLIP, load_backend
from unclip.backend import PRECISIONS
from unclip.families import load_error

TABS: list[tuple[str, Callable[[UnCLIP], None]]] = [
    ("Generate", generate.build),
    ("Variations", variations.build),
    ("Inpaint", inpaint.build),
    ("Zoom out", zoom_out.build),
    ("Embedding explorer", explorer.build),  # last: it records what the galleries of the tabs above show
]
PICTURES = ':is(#preview, [id$="-seen"], [id$="-preview"], #zoom-result)'  # pictures in a block of fixed height
CSS = """
.unclip-hidden { display: none !important; }  /* in the page for its scripts, not shown */
/* where the keyboard is: Gradio's text boxes and sliders showed no sign of focus, radios a faint one (keyboard QA) */
.gradio-container :is(textarea, input):focus-visible { outline: 2px solid var(--color-accent) !important;
  outline-offset: 1px; }
/* a result's file list: Gradio gives each file a "Remove this file" x even when the list is an output */
.result-files .label-clear-button { display: none; }
.notice { background: #fff4ce; border: 1px solid #e0b400; border-radius: 8px; padding: 4px 12px; color: #4a3b00; }
.notice * { color: #4a3b00 !important; }
#preview img, #explorer-strip img, #explorer-thumb img { image-rendering: pixelated; }
.pixelated img { image-rendering: pixelated; }
.send-to { align-items: center; gap: 6px; }
.send-to-label { flex-grow: 0 !important; min-width: max-content !important; }
.unclip-gallery .grid-wrap.fixed-height { min-height: 160px; max-height: none; }  /* Gradio: 450px, empty space */
/* a clicked result is shown over the grid, in its height: one row of tiles left it 106 px, smaller than a tile */
.unclip-gallery .gallery-container:has(> .preview) > .grid-wrap { min-height: 360px; }
[id$="-examples"] th, [id$="-examples"] td { white-space: normal !important; }  /* fit the column, no scroll */
.seed-row { align-items: flex-end !important; }
.seed-row button { margin-bottom: 10px !important; }  /* level with the seed box (its block pads 10 px below it) */
/* at most 256 px a tile: one image would fill the column (upscaled 2-3x), pushing the summary off-screen */
.unclip-gallery .grid-container { grid-template-columns: repeat(var(--grid-cols), minmax(0, 256px)) !important; }
/* side by side (a laptop), the results stay on screen while one scrolls the inputs down to the button */
@media (min-width: 768px) { .results-column { position: sticky; top: 0; align-self: flex-start; } }
/* a sticky column is a stacking context: a picture shown full screen from it stayed under the inputs' column */
.results-column:has(.fullscreen) { position: static !important; }
.gradio-container { overflow: clip !important; }  /* Gradio's "hidden" makes it a scroll box: nothing would stick */
/* the label above the picture, not over its top (the map's title; a preview's top rows; two lines on a phone) */
:is(#explorer-map, #explorer-neighbours, $PICTURES)
  [data-testid=block-label] {
  position: relative; top: 0; left: 0; margin: var(--block-label-margin) 0 0 var(--block-label-margin);
  align-self: flex-start; }
/* and the picture takes the rest of the block's fixed height, or the label would push its bottom out of it */
$PICTURES:has(> [data-testid=block-label]) {
  display: flex; flex-direction: column; }
$PICTURES > :is(.image-container, .empty) {
  flex: 1 1 0; min-height: 0; height: auto !important; }
/* dark mode: plotly draws the 2-D map in light colours; it takes the page's (3-D keeps them: its text is WebGL) */
.dark #explorer-map:has(.xy) .main-svg { background: transparent !important; }
.dark #explorer-map:has(.xy) rect.bg { fill: transparent !important; }
.dark #explorer-map:has(.xy) :is(.gtitle, .xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .legendtext,
                                 .textpoint text) { fill: var(--body-text-color) !important; }
/* the selected point's dark ring, in the legend */
.dark #explorer-map:has(.xy) .legendpoints path[style*="rgb(17, 17, 17)"] { stroke: var(--body-text-color) !important; }
.dark #explorer-map:has(.xy) .gridlayer path { stroke: var(--border-color-primary) !important; }
.dark #explorer-map:has(.xy) .modebar-btn path { fill: var(--body-text-color-subdued) !important; }
.dark #explorer-map:has(.xy) .modebar-group { background-color: transparent !important; }
/* Gradio cuts captions at 80% of a thumbnail: smaller, and wrapped if still too long */
.unclip-gallery .caption-label, #explorer-neighbours .caption-label {
  white-space: normal; max-width: calc(100% - 8px); font-size: var(--text-xs);
}
/* a phone: two tiles a row, not four of 70 px under a caption of four lines */
@media (max-width: 640px) {
  .unclip-gallery .grid-container { grid-template-columns: repeat(2, minmax(0, 256px)) !important; }
  #explorer-neighbours .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)) !important; }  /* all 8 */
}
""".replace("$PICTURES", PICTURES)
THEME = gr.themes.Soft(primary_hue="indigo")
PAGE_JS = "() => {" + "".join(f" try {{ ({script})(); }} catch (e) {{ console.error(e); }}"  # Gradio runs one
                             for script in (inpaint.SHRINK_UPLOADS_JS, explorer.MAP_CLICK_JS)) + " }"  # function
INTRO = (
    "# unCLIP Studio\nHow DALL·E 2 (unCLIP) turns words into pictures: **caption → CLIP text embedding → "
    "prior → CLIP image embedding → decoder (64 px) → upsampler (256 px)**. Model: `{name}` ({device}, {precision})."
)


def default_concurrency(backend: UnCLIP) -> int:
    """How many model runs at once: one on a CPU (two runs sharing its cores each take twice as long, so the first
    result comes later, and they hold their memory together) or with --offload (components move between devices);
    two on a GPU, which a second batch keeps busier."""
    offloading = backend.models.onload_hook is not None
    return 2 if backend.models.device.type == "cuda" and not offloading else 1


def build_demo(backend: UnCLIP, concurrency: int | None = None) -> gr.Blocks:
    """The whole app over one loaded backend (tests build it over tiny-random). Every event that runs a model waits
    in one queue (`components.common.MODEL_QUEUE`), `concurrency` at a time (default: `default_concurrency`).
    With --offload only one: each run moves the components it uses onto the GPU and others off it, so two at
    once would move them away from under each other; ValueError for more."""
    if concurrency is not None and concurrency > 1 and backend.models.onload_hook is not None:
        raise ValueError(f"--concurrency must be 1 with --offload (each run moves the components it uses onto the "
                         f"GPU and the others off it: two at once would move them from under each other), got "
                         f"{concurrency}")
    with gr.Blocks(title="unCLIP Studio", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO.format(name=backend.name, device=backend.models.device.type, precision=backend.precision))
        if backend.notice:
            gr.Markdown(f"⚠️ **{backend.notice}**", elem_classes=["notice"], elem_id="notice")
        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs"):  # on a phone, "menu" hid 3 of 5 tabs behind "⋯"
            for label, build in TABS:
                with gr.Tab(label, id=label):  # the id lets "send to" buttons switch tabs
                    build(backend)
        # a file over the upload limit that the page script could not shrink: it says so here (common.refuse_upload)
        refused = gr.Textbox(elem_id="upload-refused", elem_classes=["unclip-hidden"], container=False)
        gr.Button("refused upload", elem_id="upload-refused-btn", elem_classes=["unclip-hidden"]).click(
            refuse_upload, inputs=refused, **LIGHT)
    # the model queue takes the default limit; light events (checks, warnings, sends) have none
    demo.queue(default_concurrency_limit=concurrency or default_concurrency(backend), max_size=32)
    name_payload_errors(demo)
    return demo


class SettleCancel:
    """ASGI middleware that holds the reply to Gradio's /cancel for `delay` seconds.

    Stopping a run that still waits in the queue: Gradio 6.31's /cancel also puts an empty completion on the
    page's event stream. The browser's handling of it throws, and Gradio marks the run's outputs "error" (a red
    badge over the last results, with no message). The Stop itself then sets them "complete" once /cancel has
    answered, and whichever lands last stays: the two came within 40 ms of each other, and the badge stayed in 13
    of 40 stops in a standalone repro. Held 0.25 s, the stream's message lands first. A real error keeps its
    badge; Stop answers 0.25 s later.
    """

    def __init__(self, app: Any, delay: float = 0.25) -> None:
        self.app, self.delay = app, delay

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/cancel"):
            return await self.app(scope, receive, send)

        async def send_later(message: Any) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(self.delay)
            await send(message)

        await self.app(scope, receive, send_later)


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, **extra: Any) -> Any:
    """Launch with the app's safety settings: no share link, 10 MB uploads, no extra served paths; Stop of a
    queued run without a stray "Error" badge (`SettleCancel`); and the page script that shrinks a big image in
    Inpaint's editor, which would send it as a PNG over 10 MB, and an image file over 10 MB in the other tabs
    (`inpaint.SHRINK_UPLOADS_JS`); and the one that picks a point clicked on the explorer's map
    (`explorer.MAP_CLICK_JS`)."""
    return demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        allowed_paths=[],
        theme=THEME,
        css=CSS,
        js=PAGE_JS,
        app_kwargs={"middleware": [Middleware(SettleCancel)]},
        **extra,
    )


def whole_number(low: int, high: int | None, env: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` (to `high`), the message naming the flag's env variable too."""
    allowed = f"of at least {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed}, got {text!r} (from the flag or env "
                                             f"{env})")
        return value

    return parse


def check_can_listen(host: str, port: int) -> None:
    """Refuse, naming the flag, an address the server could not listen on, before the model loads (seconds, or
    minutes for a hub model) rather than after it in Gradio's traceback. Bound as Gradio binds (SO_REUSEADDR);
    a name such as localhost passes if any of its addresses can be bound."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        addresses = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        sys.exit(f"error: --host {host}: cannot resolve it ({e.strerror}); use 127.0.0.1, or 0.0.0.0 for every "
                 "network (env GRADIO_SERVER_NAME)")
    errors = []
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(address)
            return
        except OSError as e:
            errors.append(e)
    if any(e.errno == errno.EADDRINUSE for e in errors):
        sys.exit(f"error: --port {port} is in use on {host} (another app.py?); give another --port (env "
                 "GRADIO_SERVER_PORT)")
    if all(e.errno == errno.EADDRNOTAVAIL for e in errors):
        sys.exit(f"error: --host {host}: not an address of this machine; use 127.0.0.1, or 0.0.0.0 for every "
                 "network (env GRADIO_SERVER_NAME)")
    sys.exit(f"error: cannot listen on --host {host} --port {port}: {errors[0].strerror or errors[0]}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ
    default_host = env.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if on_space() else "127.0.0.1")
    parser = argparse.ArgumentParser(description="unCLIP Studio: a Gradio app that shows how DALL·E 2 works.")
    parser.add_argument(
        "--model",
        default=env.get("UNCLIP_MODEL", "tiny-emoji"),
        help="tiny-emoji (bundled, default), tiny-random, karlo, kandinsky-2.2, or a model directory: a tiny model "
        "you trained, or karlo / kandinsky-2.2 in the hub's layout (env UNCLIP_MODEL)",
    )
    parser.add_argument(
        "--offload",
        action="store_true",
        default=env.get("UNCLIP_OFFLOAD", "") in ("1", "true", "yes"),
        help="GPU: keep weights in CPU memory, move each component to the GPU only while it runs (env UNCLIP_OFFLOAD)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=env.get("UNCLIP_PRECISION", "auto"),
        help="the prior's, decoder's and upsampler's arithmetic: auto (bf16 on CPUs with AMX, about twice as fast; "
        "else the weights' own), fp32, bf16 (env UNCLIP_PRECISION)",
    )
    parser.add_argument(
        "--concurrency",
        type=whole_number(1, None, "UNCLIP_CONCURRENCY"),
        metavar="N",
        default=env.get("UNCLIP_CONCURRENCY") or None,  # argparse converts a string default with `type`
        help="how many model runs at once, across all tabs and visitors; the rest wait in line, told their place "
        "(env UNCLIP_CONCURRENCY; default 1 on a CPU or with --offload, 2 on a GPU)",
    )
    parser.add_argument(
        "--host",
        default=default_host,
        help="bind address (env GRADIO_SERVER_NAME); default 127.0.0.1, or 0.0.0.0 on Hugging Face Spaces",
    )
    parser.add_argument(
        "--port",
        type=whole_number(1, 65535, "GRADIO_SERVER_PORT"),
        default=env.get("GRADIO_SERVER_PORT") or BAD_PORT_ENV or "7860",  # a string default goes through `type`
        help="port (env GRADIO_SERVER_PORT, default 7860)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.offload and (args.concurrency or 1) > 1:  # before loading gigabytes of weights (build_demo says why)
        sys.exit(f"error: --concurrency must be 1 with --offload, got {args.concurrency}")
    check_can_listen(args.host, args.port)
    try:
        backend = load_backend(args.model, offload=args.offload, precision=args.precision)
    except (ValueError, OSError) as e:
        sys.exit(f"error: {load_error(e, args.model)}")
    if backend.notice:
        print(f"note: {backend.notice}", file=sys.stderr)
    demo = build_demo(backend, args.concurrency)
    try:
        launch(demo, host=args.host, port=args.port)
    except OSError as e:  # taken between the check and the launch
        sys.exit(f"error: cannot listen on --host {args.host} --port {args.port}: {e}")


if __name__ == "__main__":
    main()
