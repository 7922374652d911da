"""The explorer tab's handlers, closed over the one shared backend. Per-user data lives in a gr.State holding an
`ExplorerState` (an immutable `unclip.explore_collection.Session` + the colouring); every handler returns a new
one. Maths comes from `unclip.explore*`; here values are only validated, routed and formatted.

Public API (see the README): `project`, `interpolate`, `text_diff`. The decoding ones are generators that yield after
every denoising step, so Stop (`cancels=`) closes them between two steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from components.common import count, follow, format_warnings, literal, preview_grid, shorten, user_errors
from components.explorer_plot import COLOR_BY, MapView, map_figure, point_image
from unclip import Generation, UnCLIP
from unclip.analysis import stage_similarities
from unclip.explore import (
    NOISE,
    Strip,
    check_settings,
    check_strip,
    check_text_diff,
    square,
    strip_steps,
    with_decoder,
)
from unclip.explore_collection import (
    PROBE_SIZE,
    Point,
    Session,
    collection_gap,
    content_hash,
    embed_images,
    embed_texts,
    ensure_layout,
    gap_points,
    looks_like_ref,
    neighbours,
    new_session,
    parse_ref,
    thumbnail,
)
from unclip.explore_projection import check_projection, umap_ready, wait_for_umap
from unclip.images import read_metadata
from unclip.settings import LIMITS, GenerateSettings, InvalidInput, as_bool, as_choice, as_int, as_prompt
from unclip.uploads import load_upload

Number = float | int | str
GAP_REFERENCE = 0.82  # Liang et al. 2022's centroid distance for CLIP


@dataclass(frozen=True)
class ExplorerState:
    session: Session
    color_by: str = "kind"


def _frames(strip: Strip, name: str) -> list[tuple[Image.Image, str]]:
    return [(im, f"{name}={f:g} · {a:.1f}°") for im, f, a in zip(strip.images, strip.fractions, strip.angles,
                                                                   strict=True)]  # fmt: skip


def made_by(meta: dict[str, Any]) -> str:
    """How a PNG was made, from its metadata: an edit's operation, a strip's tool, else Generate's mode (an edit's
    'mode' is only its settings' default)."""
    return meta.get("operation") or meta.get("tool") or meta.get("mode") or "generated"


def generated_caption(meta: dict[str, Any]) -> str:
    """A point's caption from a PNG's metadata: the prompt (else what made it), the seed and how it was made."""
    how, seed = made_by(meta), meta.get("seed", "?")
    return f"{meta['prompt']} (seed {seed}, {how})" if meta.get("prompt") else f"{how} (seed {seed})"


def upload_names(files: list[str]) -> list[str]:
    """How messages name the uploads of Add points: 'image', or which one when one of several is bad."""
    return [f"image {i + 1} of {len(files)} ({Path(f).name})" if len(files) > 1 else "image"
            for i, f in enumerate(files)]  # fmt: skip


class ExplorerHandlers:
    def __init__(self, backend: UnCLIP, probe_size: int = PROBE_SIZE):
        self.backend, self.probe_size = backend, probe_size

    # -- state -------------------------------------------------------------------------------------------------
    def current(self, state: ExplorerState | None) -> ExplorerState:
        return state if isinstance(state, ExplorerState) else ExplorerState(new_session(self.backend, self.probe_size))

    def placed(self, st: ExplorerState) -> ExplorerState:
        """The session with every point placed in its layout (PCA 2-D until a projection is asked for)."""
        lay = st.session.layout
        args = (lay.method, lay.dims, lay.remove_gap) if lay else ("pca", 2, False)
        return replace(st, session=ensure_layout(st.session, *args))

    def summary(self, st: ExplorerState, note: str = "") -> str:
        s = st.session
        lay, gap = s.layout, collection_gap(s.collection)
        what = {"pca": "PCA", "umap": "UMAP (cosine)"}[lay.used] + f" {lay.dims}-D"
        if lay.method == "umap" and lay.used == "pca":
            what += " (too few points for UMAP)"
        gap_off = " · modality means removed before projecting (the distance below is of the raw embeddings)" \
            if lay.remove_gap else ""
        text = (f"**{len(s.collection)} points**: {len(s.probe) // 2} emoji-world scenes (image + caption) and "
                f"{len(s.added)} of yours · {what}{gap_off}.")  # fmt: skip
        if gap is not None:
            text += (f" Image–text centroid distance **{gap.centroid_distance:.2f}** (cosine between the centroids "
                     f"{gap.centroid_cosine:.2f}; Liang et al. measured {GAP_REFERENCE} for CLIP).")  # fmt: skip
        return text + (f"\n\n{note}" if note else "")

    def render(self, st: ExplorerState, note: str = "") -> tuple[Any, str, Any, ExplorerState]:
        """(map, summary, picker choices, state) after placing any new points."""
        fig, info, refs, st = self.render_parts(st, note)
        return fig, info, gr.Dropdown(choices=refs), st

    def render_parts(self, st: ExplorerState, note: str = "") -> tuple[Any, str, list[str], ExplorerState]:
        """`render` with the picker's choices as a plain list (usable while the page is being built)."""
        st = self.placed(st)
        s, lay = st.session, st.session.layout
        c = s.collection
        explained = lay.model.explained if lay.used == "pca" else ()
        title = f"{lay.used.upper()} of {len(c)} CLIP embeddings" + (" (modality means removed)" if lay.remove_gap
                                                                      else "")  # fmt: skip
        view = MapView(lay.array(c.ids), list(c.points), lay.used, st.color_by, s.path, s.links, s.selected,
                       explained, title)  # fmt: skip
        refs = [p.ref for p in reversed(s.added.points)] + [p.ref for p in s.probe.points]
        return map_figure(view), self.summary(st, note), refs, st

    # -- resolving what the user named -------------------------------------------------------------------------
    def point(self, st: ExplorerState, value: Any, name: str) -> Point | None:
        """'#12 ...' -> the point (InvalidInput if there is none); anything else -> None (a typed caption)."""
        text = as_prompt(value, name, allow_empty=True)
        if not text:  # as_prompt's own message spoke of captions only
            raise InvalidInput(f"{name} is empty: give a point such as #0 (from the map's list), or a caption such as "
                               "'a cat above a pizza'")
        pid = parse_ref(text)
        if pid is None:
            if looks_like_ref(text):  # meant as a point but is none: say so, not decode it as a caption
                raise InvalidInput(f"{name}: {shorten(text)!r} is not a point; a point is # and its number, such as #0")
            return None
        p = st.session.point(pid)
        if p is None:
            raise InvalidInput(f"{name}: there is no point #{pid} in the collection (pick one from the list)")
        return p

    def add_texts(self, st: ExplorerState, texts: list[str], source: str = "typed") -> tuple[ExplorerState, list[int]]:
        points = [Point(0, "text", source, t, key=t) for t in texts]
        session, ids = st.session.add(points, embed_texts(self.backend, texts))
        return replace(st, session=session), ids

    def add_images(self, st: ExplorerState, images: list[np.ndarray], captions: list[str], source: str,
                   makers: list[str] | None = None, prompts: list[str] | None = None
                   ) -> tuple[ExplorerState, list[int]]:  # fmt: skip
        """uint8 (H, W, 3) images -> image points (deduplicated by their pixels); `makers`: each one's `made_by`,
        `prompts`: the caption each was made from ("" for none)."""
        embeds = embed_images(self.backend, images)
        blank = [""] * len(images)
        points = [Point(0, "image", source, cap, thumb=thumbnail(im), key=content_hash(im.tobytes()), made_by=by,
                        prompt=prompt)
                  for im, cap, by, prompt in zip(images, captions, makers or blank, prompts or blank, strict=True)]
        session, ids = st.session.add(points, embeds)
        return replace(st, session=session), ids

    def endpoint(self, st: ExplorerState, value: Any, name: str, use_prior: bool) -> tuple[ExplorerState, Any, str]:
        """A point or a typed caption -> (state, what `interpolate_stream` takes, a short label)."""
        p = self.point(st, value, name)
        if p is None:  # a caption: put it on the map too
            text = as_prompt(value, name)
            st, _ = self.add_texts(st, [text])
            return st, text, f"“{shorten(text)}”"
        if p.kind == "text" and use_prior:
            return st, p.caption, f"#{p.id}"
        return st, st.session.embed_of(p.id), f"#{p.id}"

    def add_path(self, st: ExplorerState, strip: Strip, label: str, name: str, kind: str) -> ExplorerState:
        """A strip's pictures as the map's path (the latest path replaces the one before)."""
        points = [Point(0, kind, "path", f"{label} · {name}={f:g}", thumb=thumbnail(np.asarray(im)))
                  for im, f in zip(strip.images, strip.fractions, strict=True)]  # fmt: skip
        session, ids = st.session.add(points, strip.embeds, replace_source="path")
        return replace(st, session=replace(session, path=tuple(ids)))

    def settings(self, decoder_steps: Any, decoder_guidance: Any, upsampler: Any, mode: str = "prior") -> Any:
        s = with_decoder(self.backend.default_settings(mode), decoder_steps, decoder_guidance, upsampler)
        return check_settings(self.backend, s)

    # -- checks: what each run validates before any model work; its check event runs one alone ---------------
    # (`common.check_first`: a refused request is a toast, and the map and the strip stay as they were)
    def check_interpolate(self, start: str, end: str, steps: Number = 8, seed: Number = 0, use_prior: bool = True,
                          decoder_steps: Number = 12, decoder_guidance: Number = 3.0, upsampler: bool = False,
                          noise: str = "seed", state: ExplorerState | None = None
                          ) -> tuple[int, int, GenerateSettings, tuple[Image.Image, Image.Image] | None]:  # fmt: skip
        """Steps, seed, settings and, for noise 'inversion', the two ends' pictures (their 64 px thumbnails)."""
        st = self.current(state)
        with user_errors():
            steps, seed = check_strip(steps, seed)
            as_bool("use_prior", use_prior)
            inversion = as_choice("noise", noise, NOISE) == "inversion"
            settings = self.settings(decoder_steps, decoder_guidance, upsampler)
            ends = [self.point(st, start, "start"), self.point(st, end, "end")]  # a '#id' that exists, or a caption
            if not inversion:
                return steps, seed, settings, None
            pictures = tuple(self.point_picture(p, name) for p, name in zip(ends, ("start", "end"), strict=True))
        return steps, seed, settings, pictures  # type: ignore[return-value]

    @staticmethod
    def point_picture(p: Point | None, name: str) -> Image.Image:
        """An image point's picture (its 64 px thumbnail), what noise 'inversion' inverts; InvalidInput otherwise."""
        if p is None or p.modality != "image" or p.thumb is None:
            what = "a caption" if p is None else f"#{p.id} is a text point"
            raise InvalidInput(f"{name} must be an image point when every frame starts from the two pictures' DDIM "
                               f"inversions ({what}): pick an image point, or start every frame from one seed's "
                               "noise")  # fmt: skip
        return Image.fromarray(p.thumb)

    def check_text_diff(self, image: str | None = None, point: str = "", from_caption: str = "",
                        to_caption: str = "", steps: Number = 6, max_theta: Number = 0.5, seed: Number = 0,
                        decoder_steps: Number = 12, decoder_guidance: Number = 3.0, upsampler: bool = False,
                        noise: str = "inversion", state: ExplorerState | None = None
                        ) -> tuple[int, int, GenerateSettings, Image.Image | Point]:  # fmt: skip
        """Steps, seed, settings and the picture to edit: the upload, decoded once here, else the picked image
        point."""
        st = self.current(state)
        with user_errors():  # in the form's order: the picture first, then the captions
            source = load_upload(image, "image") if image else self.image_point(st, point)
            steps, _, seed, _, _ = check_text_diff(steps, max_theta, seed, from_caption, to_caption)
            as_choice("noise", noise, NOISE)
            settings = self.settings(decoder_steps, decoder_guidance, upsampler)
        return steps, seed, settings, source

    def check_gap(self, prompt: str = "", k: Number = 4, seed: Number = 0, decoder_steps: Number = 12,
                  decoder_guidance: Number = 3.0, upsampler: bool = False, state: ExplorerState | None = None
                  ) -> tuple[str, int, int, GenerateSettings]:  # fmt: skip
        with user_errors():
            settings = self.settings(decoder_steps, decoder_guidance, upsampler)
            k = as_int("prior samples k", k, *LIMITS["n"])  # checked here so the message names this field, not n
            return self.backend.check(prompt, k, seed, settings, mode="prior")

    def check_add(self, texts: str = "", files: list[str] | None = None, state: ExplorerState | None = None
                  ) -> tuple[list[str], list[np.ndarray]]:  # fmt: skip
        """The typed lines and the uploads' pixels."""
        lines = [" ".join(t.split()) for t in (texts or "").splitlines() if t.strip()]
        with user_errors():
            if not lines and not files:
                raise InvalidInput("nothing to add: type a caption (one per line) or upload an image")
            files = files or []
            return lines, [np.asarray(square(load_upload(f, name))) for f, name in zip(files, upload_names(files),
                                                                                         strict=True)]  # fmt: skip

    # -- public handlers ---------------------------------------------------------------------------------------
    def project(self, method: str = "pca", dims: Number = 2, color_by: str = "kind", remove_modality_gap: bool = False,
                refit: bool = False, state: ExplorerState | None = None) -> Iterator[tuple]:  # fmt: skip
        """Project the collection (probe set, your generations, uploads, texts) to 2-D/3-D with PCA or UMAP
        (cosine). The layout is kept when points are added; refit=True fits it again.
        Returns: map (plotly), summary, point picker choices."""
        with user_errors():
            method, dims = check_projection(method, dims)
            color_by = as_choice("color by", color_by, COLOR_BY)
            gap = as_bool("remove_modality_gap", remove_modality_gap)
        st = replace(self.current(state), color_by=color_by)
        if method == "umap" and not umap_ready():
            pca = replace(st, session=ensure_layout(st.session, "pca", dims, gap))
            yield self.render(pca, "⏳ UMAP is still compiling (first use in this process): PCA meanwhile.")[:3] + (
                gr.skip(),)
            wait_for_umap()
        with user_errors():
            st = replace(st, session=ensure_layout(st.session, method, dims, gap, refit=bool(refit)))
        yield self.render(st)

    def refit(self, method: str = "pca", dims: Number = 2, color_by: str = "kind", remove_modality_gap: bool = False,
              state: ExplorerState | None = None) -> Iterator[tuple]:  # fmt: skip
        """`project` with a fresh fit (the layout otherwise stays put when points are added)."""
        yield from self.project(method, dims, color_by, remove_modality_gap, True, state)

    def interpolate(self, start: str, end: str, steps: Number = 8, seed: Number = 0, use_prior: bool = True,
                    decoder_steps: Number = 12, decoder_guidance: Number = 3.0, upsampler: bool = False,
                    noise: str = "seed", state: ExplorerState | None = None,
                    progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008
        """Slerp between two points (a '#id' from the collection, or any caption) in `steps` steps and decode
        every step from the same noise (noise 'seed'), or, between two image points, from the slerp of their
        DDIM inversions (noise 'inversion', the paper's §3.2), so the ends redraw the two pictures. Returns:
        preview, strip (PNG), map with the path, summary, choices."""
        st = self.current(state)
        steps, seed, settings, pictures = self.check_interpolate(start, end, steps, seed, use_prior, decoder_steps,
                                                                 decoder_guidance, upsampler, noise,
                                                                 state)  # fmt: skip
        with user_errors():
            st, a, a_label = self.endpoint(st, start, "start", use_prior)
            st, b, b_label = self.endpoint(st, end, "end", use_prior)
        priors = sum(isinstance(x, str) for x in (a, b)) if use_prior else 0
        ends = (self.recorded(st, start), self.recorded(st, end))
        stream = self.backend.interpolate_stream(a, b, steps, seed, use_prior, settings, labels=ends, noise=noise,
                                                 pictures=pictures)  # fmt: skip
        inversions = 0 if pictures is None else 2
        strip = yield from follow(stream, progress, strip_steps(settings, priors, inversions), other_outputs=5)
        st = self.add_path(st, strip, f"{a_label} → {b_label}", "t", "interpolation step")
        note = (f"Path {literal(a_label)} → {literal(b_label)}: {steps} steps, {strip.angles[-1]:.1f}° of arc, "
                f"seed {seed}.")
        if strip.reconstruction is not None:
            note += (f" Every frame starts from the slerp of the two pictures' DDIM inversions: the ends redraw them "
                     f"within {strip.reconstruction:.1f} levels of 255 on average.")  # fmt: skip
        if strip.angles[-1] < 0.05:
            note += " Both ends are the same embedding, so every frame is the same image: pick two different points."
        note += format_warnings(strip.warnings)
        yield preview_grid(strip.images, columns=steps), _frames(strip, "t"), *self.render(st, note)

    def text_diff(self, image: str | None = None, point: str = "", from_caption: str = "", to_caption: str = "",
                  steps: Number = 6, max_theta: Number = 0.5, seed: Number = 0, decoder_steps: Number = 12,
                  decoder_guidance: Number = 3.0, upsampler: bool = False, noise: str = "inversion",
                  state: ExplorerState | None = None, progress: gr.Progress = gr.Progress()  # noqa: B008
                  ) -> Iterator[tuple]:  # fmt: skip
        """Paper §3.3: z_d = normalise(z_to - z_from); decode slerp(z_image, z_d, theta) for theta = 0 ..
        max_theta. The image is an upload, or else a '#id' image point. noise: 'inversion' (every frame from the
        picture's DDIM inversion, as in the paper's Fig. 5) or 'seed'. Returns: preview, strip, map, summary,
        choices."""
        st = self.current(state)
        steps, seed, settings, source = self.check_text_diff(image, point, from_caption, to_caption, steps, max_theta,
                                                             seed, decoder_steps, decoder_guidance, upsampler, noise,
                                                             state)  # fmt: skip
        st, z, label = self.edit_source(st, source)
        recorded = label if isinstance(source, Image.Image) else self.recorded(st, point)
        # the picture to invert: an upload at its own size (a latent decoder works at 512 px or more), a point's
        # 64 px thumbnail (all a point keeps)
        picture = source if isinstance(source, Image.Image) else Image.fromarray(source.thumb)
        stream = self.backend.text_diff_stream(z, from_caption, to_caption, steps, max_theta, seed, settings,
                                               label=recorded, noise=noise, picture=picture)  # fmt: skip
        strip = yield from follow(stream, progress, strip_steps(settings, 0, int(noise == "inversion")),
                                  other_outputs=5)  # fmt: skip
        src, dst = shorten(as_prompt(from_caption)), shorten(as_prompt(to_caption))
        st = self.add_path(st, strip, f"{label}: “{src}” → “{dst}”", "θ", "text-diff step")
        note = (f"Text diff of {literal(label)} from “{literal(src)}” to “{literal(dst)}”: θ up to "
                f"{strip.fractions[-1]:g}, seed {seed}.")
        if strip.reconstruction is not None:
            note += (f" Every frame starts from the picture's DDIM inversion: θ = 0 redraws it within "
                     f"{strip.reconstruction:.1f} levels of 255 on average (decoder guidance 1 redraws it closest).")
        note += format_warnings(strip.warnings)
        yield preview_grid(strip.images, columns=steps), _frames(strip, "θ"), *self.render(st, note)

    def recorded(self, st: ExplorerState, typed: str) -> str:
        """An endpoint as the strip's PNGs record it: a typed caption itself; a point, '#id · its caption' (the id
        is this session's, the caption says what it was)."""
        p = self.point(st, typed, "point")
        if p is None:
            return as_prompt(typed, "point")
        return f"#{p.id} · {p.caption}" if p.caption else f"#{p.id}"

    def edit_source(self, st: ExplorerState, source: Image.Image | Point) -> tuple[ExplorerState, Any, str]:
        """The picture a text diff edits (`check_text_diff`): an upload, added to the map (as every upload, a
        256 px square), or an image point."""
        if isinstance(source, Image.Image):
            st, ids = self.add_images(st, [np.asarray(square(source))], ["uploaded image"], "upload")
            return st, st.session.embed_of(ids[0]), f"upload #{ids[0]}"
        return st, st.session.embed_of(source.id), f"#{source.id}"

    def image_point(self, st: ExplorerState, point: Any) -> Point:
        """The image point a text diff edits when nothing was uploaded."""
        if not isinstance(point, str) or not point.strip():
            raise InvalidInput("image is missing: upload a picture or pick an image point such as '#0'")
        p = self.point(st, point, "image")
        if p is None or p.modality != "image":
            what = "a caption" if p is None else f"#{p.id} is a text point"
            raise InvalidInput(f"image must be an image point such as '#0' ({what}): text diffs edit an image")
        return p

    # -- private handlers (UI only) ------------------------------------------------------------------------------
    def use_for_diff(self, picked: str, state: ExplorerState) -> tuple[Any, Any]:
        """"Use for text diff": the picked point into the diff's point box and the caption it was made from into
        "From" (emptied for an upload, which has none: the last point's caption would describe another picture),
        if a text diff can start from it; else say why now (it only failed at Apply) and leave both boxes."""
        try:
            if not picked:
                raise InvalidInput("nothing is picked: pick an image point above first")
            p = self.image_point(self.current(state), picked)
        except InvalidInput as e:
            gr.Warning(str(e))
            return gr.skip(), gr.skip()
        return picked, p.prompt

    def load(self, state: ExplorerState | None = None) -> tuple:
        """A session's first map (the shared probe set, PCA 2-D); the page is built with it already drawn."""
        return self.render(self.current(state))

    def add_points(self, texts: str = "", files: list[str] | None = None, state: ExplorerState | None = None
                   ) -> tuple:  # fmt: skip
        """Typed texts (one per line) and uploaded images -> new points, placed in the current layout."""
        st = self.current(state)
        lines, images = self.check_add(texts, files, state)
        first = st.session.next_id
        if lines:
            st, _ = self.add_texts(st, lines)
        if images:
            st, _ = self.add_images(st, images, [f"upload {Path(f).name}" for f in files or []], "upload")
        new = st.session.next_id - first  # a caption or a picture already on the map is not added twice
        known = len(lines) + len(images) - new
        already = f" ({known} already on the map or given twice)" if known else ""
        return self.render(st, f"Added {count(new, 'new point')}{already}.")

    def record_generated(self, gallery: list | None, state: ExplorerState | None = None) -> tuple:
        """Images another tab just generated (its PNG gallery changed) -> image points, captioned by their
        prompt from the PNG metadata. Same pixels twice are kept once."""
        st = self.current(state)
        items = [item[0] if isinstance(item, (tuple, list)) else item for item in gallery or []]
        paths = [p for p in items if isinstance(p, str)]
        if not paths:
            return self.render(st)
        images, captions, makers, prompts = [], [], [], []
        for path in paths:
            meta = read_metadata(path)
            if not meta:  # not made here: zoom-out's "original" frame is the user's own picture
                continue
            with Image.open(path) as im:
                images.append(np.asarray(im.convert("RGB")))
            captions.append(generated_caption(meta))
            makers.append(made_by(meta))
            prompts.append(meta.get("prompt") or "")
        if images:
            st, _ = self.add_images(st, images, captions, "generated", makers, prompts)
        return self.render(st)

    def pick(self, ref: str | None = None, state: ExplorerState | None = None) -> tuple:
        """A point chosen in the picker -> its picture, details, 8 nearest neighbours, the map with a ring."""
        st = self.current(state)
        return self.show_point(st, self.picked_point(st, ref))

    def picked_point(self, st: ExplorerState, ref: str | None) -> Point | None:
        with user_errors():
            return self.point(st, ref, "point") if ref else None

    def show_point(self, st: ExplorerState, p: Point | None) -> tuple:
        """`pick`'s outputs for point `p` (None: nothing picked)."""
        if p is None:
            fig, _, _, st = self.render(st)
            return None, "Pick a point to see it and its nearest neighbours.", [], fig, st
        near = neighbours(st.session, p.id)
        details = (f"**{literal(p.ref)}**  \n{p.kind} · {p.origin} · category {p.category}  \n“{literal(p.caption)}”"
                   f"  \nNearest (cosine): {near[0][1]:.3f} {literal(near[0][0].ref)}" if near else "")  # fmt: skip
        gallery = [(point_image(q), f"#{q.id} · {sim:.3f}") for q, sim in near]
        fig, _, _, st = self.render(replace(st, session=replace(st.session, selected=p.id)))
        return point_image(p, 192), details, gallery, fig, st

    def pick_clicked(self, ref: str | None = None, state: ExplorerState | None = None) -> tuple:
        """A point clicked on the map ("#12") -> the picker showing it, and all that `pick` shows."""
        st = self.current(state)
        p = self.picked_point(st, ref)
        return (p.ref if p is not None else gr.skip()), *self.show_point(st, p)

    def modality_gap(self, prompt: str = "", k: Number = 4, seed: Number = 0, decoder_steps: Number = 12,
                     decoder_guidance: Number = 3.0, upsampler: bool = False, state: ExplorerState | None = None,
                     progress: gr.Progress = gr.Progress()) -> Iterator[tuple]:  # fmt: skip  # noqa: B008
        """One prompt's text embedding, k prior samples and the k generated images' CLIP embeddings on the map,
        with their cosine similarities. Returns: preview, gallery, table, map, summary, choices."""
        st = self.current(state)
        prompt, k, seed, settings = self.check_gap(prompt, k, seed, decoder_steps, decoder_guidance, upsampler, state)
        up = settings.upsampler.steps if settings.upsampler.enabled else 0
        total = settings.prior.steps + settings.decoder.steps + up
        gen = yield from follow(self.backend.generate_stream(prompt, k, seed, settings=settings), progress, total,
                                other_outputs=6)  # fmt: skip
        st = self.add_gap(st, gen)
        sims = stage_similarities(gen)
        rows = [list(r) for r in zip(sims["seed"], sims["text_vs_input"], sims["input_vs_result"],
                                     sims["text_vs_result"], strict=True)]  # fmt: skip
        note = (f"“{literal(shorten(prompt))}”: cos(text, prior sample) averages {np.mean(sims['text_vs_input']):.2f}; "
                f"cos(prior sample, image) {np.mean(sims['input_vs_result']):.2f}.")  # fmt: skip
        note += format_warnings(gen.warnings)
        gallery = [(im, f"seed {s}") for im, s in zip(gen.images, gen.seeds, strict=True)]
        yield preview_grid(gen.images, columns=k), gallery, rows, *self.render(st, note)

    def add_gap(self, st: ExplorerState, gen: Generation) -> ExplorerState:
        """The prompt, its prior samples and its images as points (replacing the last prompt's), linked."""
        points, embeds, pairs = gap_points(gen)
        session, ids = st.session.add(points, embeds, replace_source="gap")
        return replace(st, session=replace(session, links=tuple((ids[a], ids[b]) for a, b in pairs)))
