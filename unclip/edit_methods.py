"""`UnCLIP.vary / inpaint / zoom_out` (+ `*_stream`, `*_job`): validation at the edge, then `unclip.edit.run_edit`.

A mixin so backend.py stays short; it relies only on the backend's public methods (encode_text, encode_image,
image_embeds_for, empty_text, default_settings) and its `models`. Images arrive as anything
`unclip.uploads` reads (a path, file bytes, a PIL image); each `*_stream` yields `Progress` after every denoising
step (so a UI can show progress and stop) and returns an `Edit`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from typing import Any

from PIL import Image

from unclip.edit import CONDITIONS, Edit, EditJob, feathered, run_edit
from unclip.masks import ANCHORS, zoom_canvas
from unclip.sampling import Progress, drain
from unclip.settings import (
    LIMITS,
    GenerateSettings,
    InvalidInput,
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_prompt,
    image_seeds,
)
from unclip.uploads import (
    Source,
    Upload,
    describe_crop,
    inspect_upload,
    mask_from_alpha,
    mask_from_image,
    working_image,
    working_mask,
)

EDIT_LIMITS = {"strength": (0.0, 1.0), "eta": (0.0, 1.0), "feather": (0, 64), "factor": (1.1, 4.0)}
ETA_AND_STRENGTH = ("strength must be 1 with eta: eta varies the image's DDIM inversion (the paper's way), strength "
                    "a noised copy of it (SDEdit); pick one")  # fmt: skip
EMPTY_MASK = ("mask is empty: paint the region to repaint (or upload a mask, or an image whose transparent "
              "pixels mark the region)")  # fmt: skip
BLACK_MASK = "mask is empty: none of it is white (white = repaint); paint or upload one that marks the region"
MASK_OUTSIDE = ("mask is empty where the model works: what it marks lies outside the centred square the image is "
                "cropped to; mark a region inside it")  # fmt: skip
FULL_MASK_INVERTED = "mask is empty once inverted: it marks the whole image, so invert leaves nothing to repaint"
EditStream = Generator[Progress, None, Edit]


class EditMethods:
    """DALL·E 2's image tools, mixed into `unclip.backend.UnCLIP`."""

    models: Any
    name: str

    # -- shared checks ---------------------------------------------------------------------------------------
    def output_side(self, settings: GenerateSettings) -> int:
        """The side of the images an edit returns: the decoder's (64) times the upsampler's factor when on."""
        low = self.models.low_res_size
        return low * self.models.upsample_factor if settings.upsampler.enabled else low

    def _check_edit(self, n: Any, seed: Any, settings: GenerateSettings | None, prompt: Any, condition: Any
                    ) -> tuple[int, int, GenerateSettings, str, str]:  # fmt: skip
        condition = as_choice("condition", condition, CONDITIONS)
        prompt = as_prompt(prompt, allow_empty=True)
        if not prompt and condition == "prompt":
            raise InvalidInput("prompt is empty: describe what to paint, e.g. 'a dog', or guide by the image alone "
                               "(condition 'image')")
        settings = self.validate(settings or self.default_settings())  # type: ignore[attr-defined]
        return as_int("n", n, *LIMITS["n"]), as_int("seed", seed, *LIMITS["seed"]), settings, prompt, condition

    def _working(self, image: Source | Upload, settings: GenerateSettings) -> tuple[Upload, Image.Image, str]:
        """The upload, its centre-cropped working square, and a sentence saying what the crop did."""
        up = image if isinstance(image, Upload) else inspect_upload(image, "image")
        side = self.output_side(settings)
        work, _ = working_image(up.image, side)
        return up, work, describe_crop(up.size, side)

    # -- variations ---------------------------------------------------------------------------------------------
    def vary_job(self, image: Source | Upload, n: int = 4, seed: int = 0, strength: float = 1.0, prompt: str = "",
                 settings: GenerateSettings | None = None, eta: float | None = None) -> EditJob:  # fmt: skip
        """A variations request, validated (raises InvalidInput naming the field) and ready for `run_edit`. No
        model runs, so a UI can check a request before it starts (the `*_job` methods all work this way)."""
        n, seed, settings, prompt, _ = self._check_edit(n, seed, settings, prompt, "image")
        strength = as_float("strength", strength, *EDIT_LIMITS["strength"])
        options: dict[str, Any] = {"strength": strength}
        if eta is not None:
            eta = as_float("eta", eta, *EDIT_LIMITS["eta"])
            if strength < 1.0:
                raise InvalidInput(ETA_AND_STRENGTH)
            settings = settings.for_inversion()
            options = {"method": "ddim inversion", "eta": eta}
        up, work, crop = self._working(image, settings)
        return EditJob("vary", work, prompt, "image", image_seeds(seed, n), settings, {**options, "input": crop},
                       strength=strength, eta=eta, notes=up.notes, picture=up.image)  # fmt: skip

    def vary_stream(self, image: Source | Upload, n: int = 4, seed: int = 0, strength: float = 1.0,
                    prompt: str = "", settings: GenerateSettings | None = None, eta: float | None = None
                    ) -> EditStream:  # fmt: skip
        """Image -> CLIP image embedding -> decoder -> upsampler, n variations (seeds seed, seed + 1, ...).
        strength 1 = from pure noise (only the embedding is kept); lower = SDEdit from a noised copy of the input.
        eta (0-1; with strength 1): the paper's variations instead, its DDIM inversion decoded with DDIM at this
        eta (0 gives the input back; more, further from it)."""
        return (yield from run_edit(self, self.vary_job(image, n, seed, strength, prompt, settings, eta)))

    def vary(self, image: Source | Upload, n: int = 4, seed: int = 0, strength: float = 1.0, prompt: str = "",
             settings: GenerateSettings | None = None, eta: float | None = None) -> Edit:  # fmt: skip
        return drain(self.vary_stream(image, n, seed, strength, prompt, settings, eta))

    # -- inpainting ---------------------------------------------------------------------------------------------
    def inpaint_job(self, image: Source | Upload, mask: Source | None = None, prompt: str = "", n: int = 1,
                    seed: int = 0, feather: int = 8, invert: bool = False, condition: str = "prompt",
                    settings: GenerateSettings | None = None) -> EditJob:  # fmt: skip
        """An inpainting request, validated and ready for `run_edit` (see `vary_job`)."""
        n, seed, settings, prompt, condition = self._check_edit(n, seed, settings, prompt, condition)
        radius = as_int("feather", feather, *EDIT_LIMITS["feather"])
        up, work, crop = self._working(image, settings)
        invert = as_bool("invert", invert)
        notes = list(up.notes)
        binary = self._mask(up, mask, invert, self.output_side(settings), notes)
        options = {"feather": radius, "invert": invert, "condition": condition, "input": crop}
        return EditJob("inpaint", work, prompt, condition, image_seeds(seed, n), settings, options,
                       mask=feathered(binary, radius), notes=notes, picture=up.image)  # fmt: skip

    def inpaint_stream(self, image: Source | Upload, mask: Source | None = None, prompt: str = "", n: int = 1,
                       seed: int = 0, feather: int = 8, invert: bool = False, condition: str = "prompt",
                       settings: GenerateSettings | None = None) -> EditStream:  # fmt: skip
        """Repaint the masked region (mask: white = repaint; None: the image's transparent pixels, as DALL·E).
        condition 'prompt': the prompt through the prior (settings.mode); 'image': the image's own embedding."""
        job = self.inpaint_job(image, mask, prompt, n, seed, feather, invert, condition, settings)
        return (yield from run_edit(self, job))

    def inpaint(self, image: Source | Upload, mask: Source | None = None, prompt: str = "", n: int = 1,
                seed: int = 0, feather: int = 8, invert: bool = False, condition: str = "prompt",
                settings: GenerateSettings | None = None) -> Edit:  # fmt: skip
        return drain(self.inpaint_stream(image, mask, prompt, n, seed, feather, invert, condition, settings))

    @staticmethod
    def _mask(up: Upload, mask: Source | None, invert: bool, side: int, notes: list[str]) -> Image.Image:
        """The binary working mask (L side×side, 255 = repaint); refuses an empty one. A mask of another shape
        than the image is stretched to it, and `notes` says so."""
        full = mask_from_alpha(up.alpha) if mask is None else mask_from_image(mask, "mask", notes)
        if full is None:
            raise InvalidInput(EMPTY_MASK)
        (mw, mh), (w, h) = full.size, up.size
        if abs(mw * h - mh * w) > 0.01 * mh * w:  # another aspect ratio: a scaled copy of the image's is fine
            notes.append(f"the mask ({mw}×{mh}) is not the image's shape ({w}×{h}): it was stretched to fit")
        if invert:  # at full size (masks here are 0/255), so that the shrink below keeps a thin region either way;
            # a mask and its inverse then both repaint the working pixels their boundary straddles
            if full.getextrema()[0] == 255:
                raise InvalidInput(FULL_MASK_INVERTED)
            full = full.point(lambda v: 255 - v)
        binary = working_mask(full, up.size, side)
        if binary.getextrema()[1] == 0:
            if mask is None:
                raise InvalidInput(EMPTY_MASK)
            raise InvalidInput(MASK_OUTSIDE if full.getextrema()[1] > 0 else BLACK_MASK)
        return binary

    # -- zoom-out -----------------------------------------------------------------------------------------------
    def zoom_out_job(self, image: Source | Upload, factor: float = 2.0, anchor: str = "center", prompt: str = "",
                     n: int = 1, seed: int = 0, feather: int = 8, condition: str = "image",
                     settings: GenerateSettings | None = None) -> EditJob:  # fmt: skip
        """A zoom-out request, validated and ready for `run_edit` (see `vary_job`)."""
        n, seed, settings, prompt, condition = self._check_edit(n, seed, settings, prompt, condition)
        factor = as_float("factor", factor, *EDIT_LIMITS["factor"])
        anchor = as_choice("anchor", anchor, ANCHORS)
        radius = as_int("feather", feather, *EDIT_LIMITS["feather"])
        up, work, crop = self._working(image, settings)
        canvas = zoom_canvas(work, factor, anchor)
        options = {"factor": factor, "anchor": anchor, "feather": radius, "condition": condition, "input": crop}
        return EditJob("zoom_out", canvas.image, prompt, condition, image_seeds(seed, n), settings, options,
                       mask=feathered(canvas.mask, radius), embed_from=work, box=canvas.box, notes=up.notes,
                       picture=up.image)

    def zoom_out_stream(self, image: Source | Upload, factor: float = 2.0, anchor: str = "center",
                        prompt: str = "", n: int = 1, seed: int = 0, feather: int = 8, condition: str = "image",
                        settings: GenerateSettings | None = None) -> EditStream:  # fmt: skip
        """The image shrunk by `factor` into a canvas of its own size (at `anchor`), the border generated.
        condition 'image' (default): the original's CLIP embedding, so the scene continues; 'prompt': the prompt."""
        job = self.zoom_out_job(image, factor, anchor, prompt, n, seed, feather, condition, settings)
        return (yield from run_edit(self, job))

    def zoom_out(self, image: Source | Upload, factor: float = 2.0, anchor: str = "center", prompt: str = "",
                 n: int = 1, seed: int = 0, feather: int = 8, condition: str = "image",
                 settings: GenerateSettings | None = None) -> Edit:  # fmt: skip
        return drain(self.zoom_out_stream(image, factor, anchor, prompt, n, seed, feather, condition, settings))


def with_upsampler(settings: GenerateSettings, enabled: bool) -> GenerateSettings:
    """A copy with the upsampler on or off (the eval judges 64 px images)."""
    return replace(settings, upsampler=replace(settings.upsampler, enabled=enabled))
