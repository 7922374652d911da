"""`UnCLIP.interpolate / text_diff / decode_embeddings` (+ `*_stream`): thin methods over `unclip.explore`.

A mixin so backend.py stays short. Endpoints are a caption (str), an image (PIL, or a file as a Path or bytes;
read as every tab reads an upload, `unclip.uploads`) or a CLIP embedding (D,);
every `*_stream` yields `Progress` after each denoising step and returns its result, the plain method drains it.

    backend.interpolate("a red apple", "a cat", steps=8, seed=0)       -> Strip (images, embeds, fractions...)
    backend.text_diff(image, "a photo of a cat", "a photo of a dog")   -> Strip (from the image's DDIM inversion)
    backend.decode_embeddings(z, seed=0)                                 -> list of PIL images, same noise each
"""

from __future__ import annotations

from collections.abc import Generator

from PIL import Image
from torch import Tensor

from unclip import explore
from unclip.explore import Endpoint, Strip
from unclip.sampling import Progress, drain
from unclip.settings import GenerateSettings
from unclip.uploads import Source


class ExploreMethods:
    """The embedding explorer's model-side operations, mixed into `unclip.backend.UnCLIP`."""

    def decode_embeddings_stream(self, embeds: Tensor, seed: int = 0, settings: GenerateSettings | None = None,
                                 caption: str = "") -> Generator[Progress, None, list[Image.Image]]:  # fmt: skip
        """CLIP image embeddings (N, D) -> N images, all decoded from the same noise (`seed`)."""
        return explore.decode_stream(self, embeds, seed, settings, caption)  # type: ignore[arg-type]

    def decode_embeddings(self, embeds: Tensor, seed: int = 0, settings: GenerateSettings | None = None,
                          caption: str = "") -> list[Image.Image]:  # fmt: skip
        return drain(self.decode_embeddings_stream(embeds, seed, settings, caption))

    def interpolate_stream(self, start: Endpoint, end: Endpoint, steps: int = 8, seed: int = 0,
                           use_prior: bool = True, settings: GenerateSettings | None = None,
                           labels: tuple[str, str] | None = None, noise: str = "seed",
                           pictures: tuple[Source | None, Source | None] | None = None
                           ) -> Generator[Progress, None, Strip]:  # fmt: skip
        """Slerp from start to end in `steps` steps, each decoded with the same noise (captions go through the
        prior when use_prior, else their CLIP text embedding is used as is). `labels`: what the PNGs record
        as the ends (default: a caption itself, else its kind). noise='inversion': two picture ends, each frame
        from the slerp of their DDIM inversions, so the ends redraw the pictures (`pictures`: those of embedding
        ends)."""
        return explore.interpolate_stream(self, start, end, steps, seed, use_prior, settings,  # type: ignore[arg-type]
                                          labels, noise, pictures)  # fmt: skip

    def interpolate(self, start: Endpoint, end: Endpoint, steps: int = 8, seed: int = 0, use_prior: bool = True,
                    settings: GenerateSettings | None = None, noise: str = "seed",
                    pictures: tuple[Source | None, Source | None] | None = None) -> Strip:  # fmt: skip
        return drain(self.interpolate_stream(start, end, steps, seed, use_prior, settings, noise=noise,
                                             pictures=pictures))  # fmt: skip

    def text_diff_stream(self, image: Endpoint, from_caption: str, to_caption: str, steps: int = 6,
                         max_theta: float = 0.5, seed: int = 0, settings: GenerateSettings | None = None,
                         label: str | None = None, noise: str = "inversion", picture: Source | None = None
                         ) -> Generator[Progress, None, Strip]:  # fmt: skip
        """Paper §3.3: move the image's embedding towards normalise(z_to - z_from) by theta = 0 .. max_theta.
        `image`: a PIL image, an image file (path or bytes) or its CLIP image embedding (D,); `label`: what the
        PNGs record as the image (default: the file's name, else its kind). noise='inversion' (default, the
        paper's Fig. 5) decodes every frame from the picture's DDIM inversion, so theta = 0 gives it back: give
        `picture` too when `image` is an embedding; noise='seed' decodes from the seed's noise."""
        return explore.text_diff_stream(self, image, from_caption, to_caption, steps, max_theta, seed,  # type: ignore[arg-type]
                                        settings, label, noise, picture)  # fmt: skip

    def text_diff(self, image: Endpoint, from_caption: str, to_caption: str, steps: int = 6,
                  max_theta: float = 0.5, seed: int = 0, settings: GenerateSettings | None = None,
                  noise: str = "inversion", picture: Source | None = None) -> Strip:  # fmt: skip
        return drain(self.text_diff_stream(image, from_caption, to_caption, steps, max_theta, seed, settings,
                                           noise=noise, picture=picture))  # fmt: skip


__all__ = ["ExploreMethods", "Strip"]
