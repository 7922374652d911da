"""Numbers for the UI's stage view: how the three embeddings of one request relate (paper §5.1, Fig. 8).

For every image of a `Generation`:
    z_t   the CLIP text embedding of the prompt                      (D,)
    z_in  the embedding the decoder was given (prior sample in mode "prior", z_t itself in mode
          "text_embedding", the learned null vector in mode "caption_only")    (D,)
    z_out the CLIP image embedding of the final image                (D,)
and the three cosine similarities between them. The UI only formats these; it does no tensor maths.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from unclip.backend import Generation, UnCLIP


def stage_similarities(generation: Generation) -> dict[str, list[Any]]:
    """Per image: seed, cos(z_t, z_in), cos(z_in, z_out), cos(z_t, z_out) and the CLIP score, rounded to 3 places."""
    given = generation.image_embeds.float()  # (B, D)
    text = generation.text_embeds if generation.text_embeds_all is None else generation.text_embeds_all
    text = text.float().reshape(-1, given.shape[-1])  # (1 or B, D): one prompt, or one per image
    result = generation.result_embeds.float()  # (B, D)

    def cos(a: Tensor, b: Tensor) -> list[float]:
        return [round(c, 3) for c in F.cosine_similarity(a, b, dim=-1).tolist()]

    return {
        "seed": list(generation.seeds),
        "text_vs_input": cos(text, given),
        "input_vs_result": cos(given, result),
        "text_vs_result": cos(text, result),
        "clip_score": generation.clip_scores,
    }


def stage_shapes(backend: UnCLIP) -> dict[str, int]:
    """The sizes the 'how this works' panels quote: tokens, embedding width D, decoder and final image sides."""
    models = backend.models
    low = models.low_res_size
    return {
        "tokens": models.context_length,
        "embed_dim": models.embed_dim,
        "low_res": low,
        "high_res": low * models.upsample_factor,
    }


__all__ = ["stage_shapes", "stage_similarities"]
