"""One sampling loop for every stage, over a denoiser callable (k-diffusion style).

Classifier-free guidance is a wrapper around the model; inpainting and zoom-out are a `hook` that edits the
sample after each step (GLIDE's notebook does the same). The loop is a generator: it yields `Progress` after
every step (with an x0 preview for image stages), so a UI can show progress and stop by closing it.

Maths (Ho et al. 2020, eq. 4 and 15): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, hence
x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t). The schedulers (diffusers) do the stepping.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    UnCLIPScheduler,
)
from torch import Tensor

Denoiser = Callable[[Tensor, Tensor], Tensor]  # (x_t, t) -> model output (eps or x0, per the scheduler)
StepHook = Callable[[Tensor, int, int], Tensor]  # (x_prev, step index, t_prev) -> x_prev (masks, zoom-out)

SCHEDULERS: dict[str, type] = {
    "ddim": DDIMScheduler,
    "dpm++": DPMSolverMultistepScheduler,
    "ddpm": DDPMScheduler,
    "unclip": UnCLIPScheduler,
}
_EXTRA: dict[str, dict[str, Any]] = {  # what each needs beyond the base (training) config
    "ddim": {"timestep_spacing": "trailing", "set_alpha_to_one": True},
    "dpm++": {"timestep_spacing": "trailing", "algorithm_type": "dpmsolver++", "solver_order": 2,
              "final_sigmas_type": "zero"},
    "ddpm": {"timestep_spacing": "trailing"},  # and a fixed variance unless the model learned one (make_scheduler)
    "unclip": {},
}
# "trailing" spacing starts at t = T - 1, where the cosine schedule has abar ~ 0: an epsilon model's x0 estimate
# (x - sqrt(1 - abar) eps) / sqrt(abar) divides by ~0 there (a v model's, sqrt(abar) x - sqrt(1 - abar) v, does
# not). DDIM/DDPM keep the training config's x0 clipping (clip_sample); DPM-Solver++ ignores it, so an epsilon or
# v pixel model gets the equivalent clamp through thresholding at 1.0 (images live in [-1, 1]), and an x0 model
# (the prior, clipped to +-5; the tiny upsampler) has its output clamped in `sample_loop` (thresholding with a
# limit above 1 would rescale, not clip).


@dataclass(frozen=True)
class Progress:
    """One finished step of one stage."""

    stage: str  # "prior" | "decoder" | "upsampler"
    step: int  # 1-based
    total: int
    preview: Tensor | None = None  # x0 estimate (B, 3, H, W) in [-1, 1]; None for the prior


def make_scheduler(name: str, base_config: dict[str, Any]):
    """A fresh scheduler per call: they keep per-run state (DPM-Solver's history), so they are never shared."""
    if name not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {sorted(SCHEDULERS)}, got {name!r}")
    config = {**base_config, **_EXTRA[name]}
    kind = base_config.get("prediction_type", "epsilon")
    if name == "dpm++" and kind in ("epsilon", "v_prediction") and base_config.get("clip_sample"):
        limit = float(base_config.get("clip_sample_range", 1.0))  # pixel models only; latents are not clipped
        config.update(thresholding=True, dynamic_thresholding_ratio=1.0, sample_max_value=limit)
    if name == "ddpm" and config.get("variance_type") not in ("learned", "learned_range"):
        config["variance_type"] = "fixed_small"  # a learned one (Karlo's decoder, as the paper's) is read, as UnCLIP's
    if name == "unclip":
        if config.get("beta_schedule", "squaredcos_cap_v2") != "squaredcos_cap_v2":
            raise ValueError(f"the 'unclip' scheduler needs the cosine noise schedule; this stage was trained "
                             f"with {config['beta_schedule']!r}: pick ddim, dpm++ or ddpm")
        if kind not in ("epsilon", "sample"):
            raise ValueError(f"the 'unclip' scheduler reads epsilon or x0 predictions; this stage predicts "
                             f"{kind!r}: pick ddim, dpm++ or ddpm")
        if config.get("variance_type") not in ("fixed_small_log", "learned_range"):
            config["variance_type"] = "fixed_small_log"
    return SCHEDULERS[name].from_config(config)


def randn(shape: Sequence[int], generators: Sequence[torch.Generator], device: torch.device,
          dtype: torch.dtype) -> Tensor:
    """(len(generators), *shape) noise, row i drawn from generators[i] on the CPU: batch == single runs."""
    rows = [torch.randn((1, *shape), generator=g, dtype=torch.float32) for g in generators]
    return torch.cat(rows).to(device=device, dtype=dtype)


def classifier_free_guidance(model: Callable[[Tensor, Tensor, dict[str, Tensor]], Tensor], scale: float,
                             cond: dict[str, Tensor], uncond: dict[str, Tensor]) -> Denoiser:
    """eps = eps(x|empty) + s * (eps(x|c) - eps(x|empty)), both halves in one batched call (GLIDE eq. 6)."""
    if scale == 1.0:
        return lambda x, t: model(x, t, cond)
    both = {k: torch.cat([uncond[k], cond[k]]) for k in cond}

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        out = model(torch.cat([x, x]), t, both)
        u, c = out.chunk(2)
        channels = x.shape[1] if x.ndim == 4 else out.shape[1]
        guided = u[:, :channels] + scale * (c[:, :channels] - u[:, :channels])
        return torch.cat([guided, c[:, channels:]], dim=1)  # a learned variance (if any) comes from c

    return denoise


def predict_x0(scheduler, output: Tensor, x: Tensor, t: Tensor) -> Tensor:
    """x0 from the model output: eq. 15 of Ho et al. for epsilon prediction, Salimans & Ho (2022) for v."""
    if scheduler.config.prediction_type == "sample":
        return output
    abar = scheduler.alphas_cumprod.to(x.device)[int(t)].to(x.dtype)
    if scheduler.config.prediction_type == "v_prediction":
        return abar.sqrt() * x - (1 - abar).sqrt() * output
    return (x - (1 - abar).sqrt() * output) / abar.sqrt()


def q_sample(alphas_cumprod: Tensor, x0: Tensor, noise: Tensor, t: int) -> Tensor:
    """x_t ~ q(x_t | x0) = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (Ho et al. 2020, eq. 4); t < 0 gives x0 itself."""
    if t < 0:
        return x0
    abar = alphas_cumprod.to(x0.device)[t].to(x0.dtype)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def sdedit_steps(steps: int, strength: float) -> int:
    """Steps SDEdit runs (Meng et al. 2022): the last round(strength * steps) of the schedule, at least 1."""
    return steps if strength >= 1.0 else max(1, round(strength * steps))


def sample_loop(denoise: Denoiser, scheduler, x: Tensor, *, steps: int, generators: Sequence[torch.Generator],
                stage: str, hook: StepHook | None = None, preview: bool = True, init: Tensor | None = None,
                strength: float = 1.0, to_pixels: Callable[[Tensor], Tensor] | None = None, eta: float = 0.0
                ) -> Generator[Progress, None, Tensor]:
    """Run `steps` denoising steps from noise `x`; yields Progress, returns the final sample. With `preview`, each
    Progress carries the x0 estimate, through `to_pixels` when the stage denoises latents. `eta` (DDIM only): the
    share of DDPM's noise each step adds back (0: deterministic), drawn from `generators`.

    With `init` and strength < 1 (SDEdit), start part-way: x = q(x_t | x0 = init) with noise `x` at the first
    of the last `sdedit_steps(steps, strength)` timesteps, and run only those."""
    scheduler.set_timesteps(steps, device=x.device)
    timesteps = scheduler.timesteps
    if init is not None and strength < 1.0:
        timesteps = timesteps[steps - sdedit_steps(steps, strength):]
        x = q_sample(scheduler.alphas_cumprod, init.to(x), x, int(timesteps[0]))
    else:
        x = x * scheduler.init_noise_sigma
    channels = x.shape[1] if x.ndim == 4 else None
    # only these two read a predicted variance (other schedulers may carry the key from a shared config, unused)
    learned_variance = isinstance(scheduler, (DDPMScheduler, UnCLIPScheduler)) and \
        scheduler.config.get("variance_type") in ("learned", "learned_range")
    # Stochastic steps draw one row per image, like `randn`, so a batch equals its single runs.
    if len(generators) != x.shape[0]:  # never fall back to the global RNG: same seed, same pixels
        raise ValueError(f"{stage}: {len(generators)} generators for a batch of {x.shape[0]}; pass one per image")
    step_gen = list(generators)
    if eta and not isinstance(scheduler, DDIMScheduler):
        raise ValueError(f"{stage}: eta is DDIM's, not {type(scheduler).__name__}'s")
    x0_limit = dpm_x0_limit(scheduler)
    for i, t in enumerate(timesteps):
        out = denoise(scheduler.scale_model_input(x, t), t)
        if x0_limit is not None:
            out = out.clamp(-x0_limit, x0_limit)
        if channels is not None and out.shape[1] > channels and not learned_variance:
            out = out[:, :channels]  # a learned-variance model under a fixed-variance sampler
        kwargs: dict[str, Any] = {"generator": step_gen, **({"eta": eta} if eta else {})}
        t_prev = prev_timestep(scheduler, timesteps, i)
        if isinstance(scheduler, UnCLIPScheduler):
            kwargs["prev_timestep"] = None if t_prev < 0 else t_prev
        x0 = predict_x0(scheduler, out[:, :channels] if channels else out, x, t) if preview else None
        x = scheduler.step(out, t, x, **kwargs).prev_sample
        if hook is not None:
            x = hook(x, i, t_prev)
        if x0 is not None and channels:
            x0 = (to_pixels(x0) if to_pixels is not None else x0).clamp(-1, 1)
        yield Progress(stage, i + 1, len(timesteps), x0 if channels else None)
    return x


def ddim_invert(denoise: Denoiser, scheduler: DDIMScheduler, x0: Tensor, *, steps: int, stage: str = "inversion",
                to_pixels: Callable[[Tensor], Tensor] | None = None) -> Generator[Progress, None, Tensor]:
    """DDIM inversion (Song et al. 2021, §4.3; DALL·E 2 §3.1 and Fig. 5): run DDIM's ODE backwards, clean `x0` ->
    x_T, so that `sample_loop` with this DDIM scheduler (eta 0, same `steps`) from x_T gives x0 back.

    DDIM's step t -> s (s = `prev_timestep`; abar_s = 1 past the end) is affine in x_t for a fixed model output
    (`solve_ddim_step`). Each inverse step s -> t evaluates the model on the sample it has, x_s, at timestep t (it
    cannot see x_t yet: the usual approximation, small when steps are small) and solves that step for x_t. With a
    model output that does not depend on x the round trip is exact (tests); a real one drifts a little. Yields
    Progress with the noisier sample as its preview (the picture dissolving); returns x_T (B, C, H, W)."""
    scheduler.set_timesteps(steps, device=x0.device)
    timesteps = scheduler.timesteps
    abar = scheduler.alphas_cumprod.to("cpu", torch.float64)  # the solve in float64 on the CPU (cheap; abar_999 =
    # 2e-9; MPS has no float64)
    kind = scheduler.config.prediction_type
    x, here = x0.to("cpu", torch.float64), x0  # the solve's copy, and the sample on the model's device
    for j, i in enumerate(reversed(range(len(timesteps)))):  # the forward steps, last first
        t, s = int(timesteps[i]), prev_timestep(scheduler, timesteps, i)
        out = denoise(here, timesteps[i]).to("cpu", torch.float64)[:, :x.shape[1]]  # (a learned variance dropped)
        x = solve_ddim_step(kind, x, out, abar[s] if s >= 0 else torch.ones_like(abar[0]), abar[t])
        here = x.to(x0.device, x0.dtype)  # one move a step: the preview's, and the next step's input
        yield Progress(stage, j + 1, len(timesteps), (to_pixels(here) if to_pixels is not None else here).clamp(-1, 1))
    return here


def solve_ddim_step(kind: str, x_s: Tensor, out: Tensor, abar_s: Tensor, abar_t: Tensor) -> Tensor:
    """x_t such that DDIM's eta-0 step from x_t, with model output `out`, lands on x_s. With a = sqrt(abar),
    o = sqrt(1 - abar): x_s = a_s x0 + o_s eps, where
        epsilon: x0 = (x_t - o_t eps) / a_t, so           x_t = a_t / a_s (x_s - o_s eps) + o_t eps
        v:       x0 = a_t x_t - o_t v, eps = a_t v + o_t x_t, so
                                                           x_t = (x_s - (o_s a_t - a_s o_t) v) / (a_s a_t + o_s o_t)
    An x0 model cannot be inverted this way: its last step (to abar = 1) returns x0 whatever x_t was. DDIM clips x0
    when the config says clip_sample and the inverse does not, which costs a little (tiny-emoji, 8 scenes: mean
    4.2 levels off with the decoder's clipping, 3.2 without). diffusers' DDIMInverseScheduler instead turns the
    output (asked at t) into eps and x0 with x_s's abar: on the v-prediction tiny-emoji decoder at 12 trailing steps
    it redraws 24 scenes a median 14.8 levels off (one scene 210) against 4.4 (`benchmarks/bench_inversion.py`)."""
    a_s, o_s, a_t, o_t = abar_s.sqrt(), (1 - abar_s).sqrt(), abar_t.sqrt(), (1 - abar_t).sqrt()
    if kind == "epsilon":
        return a_t / a_s * (x_s - o_s * out) + o_t * out
    if kind == "v_prediction":
        return (x_s - (o_s * a_t - a_s * o_t) * out) / (a_s * a_t + o_s * o_t)
    raise ValueError(f"DDIM inversion needs an epsilon or v_prediction model, not {kind!r}")


def dpm_x0_limit(scheduler) -> float | None:
    """The clip_sample range DPM-Solver++ would ignore for a model that predicts x0 itself (None: nothing to do)."""
    config = scheduler.config
    if isinstance(scheduler, DPMSolverMultistepScheduler) and config.prediction_type == "sample" and \
            config.get("clip_sample"):
        return float(config.get("clip_sample_range", 1.0))
    return None


def prev_timestep(scheduler, timesteps: Tensor, i: int) -> int:
    """The timestep step i takes the sample to (-1: clean), which a hook noises the known pixels to. The next
    timestep in the list, except for DDIM, which steps to t - T // steps ('trailing' spacing rounds the list's:
    833 against 832 at 12 steps; abar differs by up to 1.6%)."""
    if isinstance(scheduler, DDIMScheduler):
        return max(int(timesteps[i]) - scheduler.config.num_train_timesteps // scheduler.num_inference_steps, -1)
    return int(timesteps[i + 1]) if i + 1 < len(timesteps) else -1


def drain(gen: Generator[Any, None, Any]) -> Any:
    """Run a stage generator to the end and return its value (for callers that want no progress)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
