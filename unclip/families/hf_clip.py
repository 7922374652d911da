"""CLIP from `transformers` (Karlo, Kandinsky 2.2) behind the same two calls the pipeline makes of open_clip.

    HFClip.encode_captions(prompts) -> TextEncoding   (tokens, mask, pooled projected embedding, token states)
    HFClip.encode_image(pixels)     -> (B, D)         (pixels already resized and normalised by clip_preprocess)

Text is encoded exactly as diffusers' UnCLIPPipeline / KandinskyV22PriorPipeline do it: padded to the
tokenizer's max length (77), `text_embeds` and `last_hidden_state` of CLIPTextModelWithProjection, the
attention mask as the token mask. Embeddings are not normalised (these priors were trained on raw ones).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from torch import Tensor, nn

from unclip.models import TextEncoding

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class ImageEncoderMissing(RuntimeError):
    """The family was loaded without its CLIP image encoder, and an operation needs one."""


class HFClip(nn.Module):
    """A transformers CLIP text tower (+ tokenizer) and, optionally, its vision tower."""

    def __init__(self, text_encoder: nn.Module, tokenizer: Any, image_encoder: nn.Module | None = None,
                 image_size: int = 224, mean: tuple[float, ...] = OPENAI_MEAN, std: tuple[float, ...] = OPENAI_STD,
                 missing_image_encoder: str = "", processor: Any = None):
        super().__init__()
        self.text_encoder, self.image_encoder, self.tokenizer = text_encoder, image_encoder, tokenizer
        self.image_size, self.mean, self.std = int(image_size), tuple(mean), tuple(std)
        self.missing_image_encoder = missing_image_encoder  # what to tell the user when it is needed
        self.processor = processor  # the checkpoint's CLIPImageProcessor (None: none saved), for uploaded pictures
        self.execution_device: torch.device | None = None  # set when the backend offloads weights to the CPU
        # transformers' fast tokenizer keeps padding and truncation on one shared object, set by each call: two
        # requests at once (the app's GPU concurrency) saw each other's settings ("Unable to create tensor")
        self._tokenizing = threading.Lock()

    @property
    def context_length(self) -> int:
        return int(self.tokenizer.model_max_length)

    @property
    def device(self) -> torch.device:
        return self.execution_device or next(self.text_encoder.parameters()).device

    def count_tokens(self, text: str) -> int:
        with self._tokenizing:
            return len(self.tokenizer(text).input_ids)

    @torch.no_grad()
    def encode_captions(self, prompts: list[str]) -> TextEncoding:
        with self._tokenizing:
            batch = self.tokenizer(prompts, padding="max_length", max_length=self.context_length, truncation=True,
                                   return_tensors="pt")
        tokens = batch.input_ids.to(self.device)  # (B, 77)
        out = self.text_encoder(tokens)
        truncated = tuple(self.count_tokens(p) > self.context_length for p in prompts)
        return TextEncoding(tokens, batch.attention_mask.bool().to(self.device), out.text_embeds,
                            out.last_hidden_state, truncated)

    @torch.no_grad()
    def encode_image(self, pixels: Tensor) -> Tensor:
        """(B, 3, S, S) normalised pixels -> `image_embeds` (B, D)."""
        if self.image_encoder is None:
            raise ImageEncoderMissing(self.missing_image_encoder or "this model was loaded without a CLIP image "
                                      "encoder, so it cannot embed images")
        return self.image_encoder(pixel_values=pixels).image_embeds

    @torch.no_grad()
    def zero_image_embeds(self) -> Tensor:
        """Kandinsky's 'no image' embedding: the vision tower on an all-zero (already normalised) input, (1, D)."""
        if self.image_encoder is None:
            raise ImageEncoderMissing(self.missing_image_encoder)
        p = next(self.image_encoder.parameters())
        zeros = torch.zeros(1, 3, self.image_size, self.image_size, device=self.execution_device or p.device,
                            dtype=p.dtype)
        return self.image_encoder(pixel_values=zeros).image_embeds


def load_hf_clip(text_dir: Path, tokenizer_dir: Path, image_dir: Path | None, processor_dir: Path | None,
                 dtype: torch.dtype, missing_image_encoder: str = "") -> HFClip:
    """Each tower through transformers' own `from_pretrained` (safetensors only)."""
    from transformers import (
        CLIPImageProcessor,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
        CLIPVisionModelWithProjection,
    )
    from transformers.utils import logging

    logging.disable_progress_bar()

    kw: dict[str, Any] = {"use_safetensors": True, "dtype": dtype}
    text = _weights(text_dir, lambda: CLIPTextModelWithProjection.from_pretrained(text_dir, **kw))
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    check_tokenizer(tokenizer, tokenizer_dir, text.config)
    image = _weights(image_dir, lambda: CLIPVisionModelWithProjection.from_pretrained(image_dir, **kw)) \
        if image_dir else None  # fmt: skip
    size, mean, std, processor = 224, OPENAI_MEAN, OPENAI_STD, None
    if image is not None:
        size = int(image.config.image_size)
    if processor_dir and (processor_dir / "preprocessor_config.json").is_file():
        processor = CLIPImageProcessor.from_pretrained(processor_dir)  # its defaults: OpenAI's mean and std
        mean, std = tuple(processor.image_mean), tuple(processor.image_std)
    return HFClip(text, tokenizer, image, size, mean, std, missing_image_encoder, processor)


def _weights(folder: Path, load: Callable[[], nn.Module]) -> nn.Module:
    """transformers lets a damaged weights file's SafetensorError out (diffusers turns it into an OSError): the
    OSError naming the folder that the family loaders catch, as for every other part."""
    try:
        return load()
    except SafetensorError as e:
        raise OSError(f"{folder}: a weights file is damaged (safetensors: {e})") from None


def check_tokenizer(tokenizer: Any, folder: Path, text_config: Any) -> None:
    """An empty or partial tokenizer/ folder loads without complaint (a 2-token vocabulary, an unbounded length)
    and failed at the first caption; OSError naming the folder instead."""
    files = {p.name for p in folder.glob("*")} if folder.is_dir() else set()
    if "tokenizer.json" not in files and not {"vocab.json", "merges.txt"} <= files:
        raise OSError(f"{folder}: no tokenizer in it (tokenizer.json, or vocab.json and merges.txt): is the "
                      "download complete?")
    if len(tokenizer) > text_config.vocab_size or tokenizer.model_max_length > text_config.max_position_embeddings:
        raise OSError(f"{folder}: this tokenizer ({len(tokenizer)} tokens, captions up to "
                      f"{tokenizer.model_max_length}) does not fit the text encoder beside it ({text_config.vocab_size}"
                      f" tokens, {text_config.max_position_embeddings} positions)")
