"""The "Advanced" panel every sampling tab shares: conditioning mode and each stage's sampler settings.

`stage_controls` returns its widgets keyed by handler parameter name (`prior_steps`, `decoder_guidance`, ...),
so tabs bind them with `inputs_kwargs` and the page layout never becomes the API. `to_settings` is the one place
those values become a `GenerateSettings`; the backend validates it.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from components.common import field_name, raw
from unclip import UnCLIP
from unclip.analysis import stage_shapes
from unclip.settings import LIMITS, MODE_HELP, DecoderSettings, GenerateSettings, PriorSettings, UpsamplerSettings

MODE_LABELS = {
    "prior": "Prior (full unCLIP)",
    "text_embedding": "Text embedding (no prior)",
    "caption_only": "Caption only",
}


def to_settings(
    mode: Any,
    prior_steps: Any,
    prior_guidance: Any,
    prior_candidates: Any,
    prior_scheduler: Any,
    decoder_steps: Any,
    decoder_guidance: Any,
    decoder_scheduler: Any,
    upsampler_steps: Any,
    upsampler_scheduler: Any,
    upsampler: Any,
) -> GenerateSettings:
    """UI/API values -> settings, unchecked on purpose: `backend.check` validates them and names the field."""
    return GenerateSettings(
        mode=mode,
        prior=PriorSettings(prior_steps, prior_guidance, prior_candidates, prior_scheduler),
        decoder=DecoderSettings(decoder_steps, decoder_guidance, decoder_scheduler),
        upsampler=UpsamplerSettings(upsampler_steps, upsampler_scheduler, upsampler),
    )


def control_values(s: GenerateSettings) -> dict[str, Any]:
    """`to_settings`' inverse: the value of each control, keyed by its parameter name."""
    p, d, u = s.prior, s.decoder, s.upsampler
    return {"mode": s.mode, "prior_steps": p.steps, "prior_guidance": p.guidance, "prior_candidates": p.candidates,
            "prior_scheduler": p.scheduler, "decoder_steps": d.steps, "decoder_guidance": d.guidance,
            "decoder_scheduler": d.scheduler, "upsampler_steps": u.steps, "upsampler_scheduler": u.scheduler,
            "upsampler": u.enabled}


def mode_radio(backend: UnCLIP, value: str, elem_id: str = "mode") -> gr.Radio:
    """The conditioning mode (paper §5.1), with one line of explanation per mode under it."""
    radio = raw(
        gr.Radio(
            [(MODE_LABELS[m], m) for m in backend.modes],
            value=value,
            label="Conditioning mode",
            info="What the decoder is given",
            elem_id=elem_id,
        )
    )
    lines = [f"- **{MODE_LABELS[m]}**: {MODE_HELP[m]}" for m in backend.modes]
    lines += [f"- ~~{MODE_LABELS[m]}~~: unavailable with {backend.name}: {why}"
              for m, why in backend.unavailable.items() if m in MODE_LABELS]
    gr.Markdown("\n".join(lines))
    return radio


def upsampler_checkbox(backend: UnCLIP, value: bool, low_res: int, elem_id: str) -> gr.Checkbox:
    """On/off for the upsampler; disabled, with the reason, for a family that has none (Kandinsky 2.2)."""
    if backend.models.upsampler is None:
        why = backend.unavailable.get("upsampler", "this model has no upsampler")
        return gr.Checkbox(value=False, label="Off", info=why, interactive=False, elem_id=elem_id)
    return gr.Checkbox(value=value, label=f"On (off: stop at {low_res} px)", elem_id=elem_id)


def scheduler_radio(backend: UnCLIP, stage: str, value: str, elem_id: str, interactive: bool = True) -> gr.Radio:
    """A stage's sampler: radio buttons, as there are 3-4 (Gradio's Dropdown stayed open over the labels below once
    Tab moved on, keyboard QA), offering only what the stage can use; a stage the model lacks (Kandinsky's
    upsampler) shows its one value, disabled."""
    choices = list(backend.stage_schedulers(stage)) if interactive else [value]
    return raw(gr.Radio(choices, value=value, label="Scheduler", elem_id=elem_id, interactive=interactive))


def stage_controls(backend: UnCLIP, d: GenerateSettings) -> dict[str, gr.components.Component]:
    """The Advanced accordion: conditioning mode and each stage's sampler. Keys = handler parameter names
    (also each widget's elem_id, for browser tests)."""
    lo, hi = LIMITS["steps"]
    glo, ghi = LIMITS["guidance"]
    shapes = stage_shapes(backend)

    def steps(name: str, value: int, interactive: bool = True) -> gr.Slider:
        return raw(gr.Slider(lo, hi, value=value, step=1, label="Steps", elem_id=name, interactive=interactive),
                   field_name(name))  # "Decoder steps": three sliders are labelled "Steps"

    def guidance(name: str, value: float, info: str) -> gr.Slider:
        return raw(gr.Slider(glo, ghi, value=value, step=0.25, label="Guidance scale", info=info, elem_id=name),
                   field_name(name))

    def scheduler(name: str, value: str, interactive: bool = True) -> gr.Radio:
        return scheduler_radio(backend, name.removesuffix("_scheduler"), value, name, interactive)

    with gr.Accordion("Advanced: conditioning mode and per-stage sampling", open=False, elem_id="advanced"):
        c: dict[str, gr.components.Component] = {"mode": mode_radio(backend, d.mode)}
        with gr.Row():
            with gr.Column(min_width=150):
                gr.Markdown("**Prior** (text → image embedding)")
                c["prior_steps"] = steps("prior_steps", d.prior.steps)
                c["prior_guidance"] = guidance("prior_guidance", d.prior.guidance, "1 = off (the paper's choice)")
                c["prior_candidates"] = raw(
                    gr.Slider(*LIMITS["candidates"], value=d.prior.candidates, step=1, label="Candidates",
                              info="sample k, keep the closest to the text", elem_id="prior_candidates")
                )  # fmt: skip
                c["prior_scheduler"] = scheduler("prior_scheduler", d.prior.scheduler)
            with gr.Column(min_width=150):
                gr.Markdown(f"**Decoder** (embedding → {shapes['low_res']} px)")
                c["decoder_steps"] = steps("decoder_steps", d.decoder.steps)
                c["decoder_guidance"] = guidance("decoder_guidance", d.decoder.guidance, "higher = closer to it")
                c["decoder_scheduler"] = scheduler("decoder_scheduler", d.decoder.scheduler)
            with gr.Column(min_width=150):
                gr.Markdown(f"**Upsampler** (→ {shapes['high_res']} px)")
                c["upsampler"] = upsampler_checkbox(backend, d.upsampler.enabled, shapes["low_res"], "upsampler")
                has = backend.models.upsampler is not None
                c["upsampler_steps"] = steps("upsampler_steps", d.upsampler.steps, has)
                c["upsampler_scheduler"] = scheduler("upsampler_scheduler", d.upsampler.scheduler, has)
    return c
