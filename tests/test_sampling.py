"""The sampling loop against an oracle: a denoiser that knows the clean sample x0 must lead every scheduler to it.

This is what catches schedule bugs that random-weight models hide (e.g. dividing by sqrt(abar) ~ 0 at the
first 'trailing' timestep of the cosine schedule).
"""

from __future__ import annotations

import pytest
import torch
from conftest import OnMPS

from unclip.families.tiny import scheduler_configs
from unclip.sampling import (
    SCHEDULERS,
    classifier_free_guidance,
    ddim_invert,
    drain,
    make_scheduler,
    predict_x0,
    q_sample,
    randn,
    sample_loop,
    solve_ddim_step,
)


def oracle(scheduler, x0: torch.Tensor, error: float = 0.02):
    """A near-perfect model for a known x0: eps (or x0, for sample models) plus a small fixed error, as a trained
    model has. A perfect eps would hide division by sqrt(abar) ~ 0 (x0 = (x - sqrt(1-abar) eps) / sqrt(abar)
    is then exact); a real model's error is amplified by it."""
    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        wobble = error * torch.sin(7 * x)  # deterministic, bounded model error
        if scheduler.config.prediction_type == "sample":
            return x0 + wobble
        abar = scheduler.alphas_cumprod[int(t)]
        eps = (x - abar.sqrt() * x0) / (1 - abar).sqrt()
        if scheduler.config.prediction_type == "v_prediction":
            return abar.sqrt() * eps - (1 - abar).sqrt() * x0 + wobble
        return eps + wobble
    return denoise


def config(stage: str) -> dict:
    """The tiny model's training schedules; "decoder-eps" is an epsilon decoder (Karlo's kind, older tiny)."""
    if stage == "decoder-eps":
        return scheduler_configs(decoder_target="epsilon")["decoder"]
    return scheduler_configs()[stage]


# UnCLIPScheduler reads epsilon or x0 only (refused for the v-prediction tiny decoder and upsampler, tested below),
# so it runs on the prior and on an epsilon decoder (Karlo's kind).
CASES = [(stage, name) for stage in ("decoder", "decoder-eps", "upsampler", "prior") for name in sorted(SCHEDULERS)
         if name != "unclip" or stage in ("prior", "decoder-eps")]


@pytest.mark.parametrize(("stage", "name"), CASES)
@pytest.mark.parametrize("steps", [4, 12])
def test_every_scheduler_reaches_the_oracles_sample(stage, name, steps):
    scheduler = make_scheduler(name, config(stage))
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    shape = (8,) if stage == "prior" else (3, 8, 8)
    x0 = torch.rand((2, *shape), generator=torch.Generator().manual_seed(9)) * 1.6 - 0.8  # inside [-1, 1]
    out = drain(sample_loop(oracle(scheduler, x0), scheduler, randn(shape, gens, torch.device("cpu"), torch.float32),
                            steps=steps, generators=gens, stage=stage))
    assert out.abs().max() < 1.5, f"{name} diverged on {stage}"
    torch.testing.assert_close(out, x0, atol=0.1, rtol=0)


@pytest.mark.parametrize("stage", ["decoder", "decoder-eps", "upsampler"])
@pytest.mark.parametrize("name", ["ddim", "dpm++", "ddpm"])
def test_a_models_error_is_not_amplified_at_the_first_step(stage, name):
    """At t = T-1 the cosine schedule has abar ~ 0: an unclipped x0 estimate turns a 0.1 error in eps into ~60,
    and a real model then sees an input far outside anything it was trained on. Every intermediate sample
    must stay in the range of unit noise."""
    scheduler = make_scheduler(name, config(stage))
    x0 = torch.zeros(2, 3, 8, 8)
    peaks = []

    def record(x: torch.Tensor, i: int, t_prev: int) -> torch.Tensor:
        peaks.append(x.abs().max().item())
        return x

    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    drain(sample_loop(oracle(scheduler, x0, error=0.1), scheduler, randn((3, 8, 8), gens, torch.device("cpu"),
                                                                         torch.float32),
                      steps=12, generators=gens, stage=stage, hook=record))
    assert max(peaks) < 5, f"{name}: intermediate samples reached {max(peaks):.1f}"


def test_sample_loop_yields_one_progress_per_step_with_previews():
    scheduler = make_scheduler("ddim", scheduler_configs()["decoder"])
    x0 = torch.zeros(1, 3, 8, 8)
    gen = sample_loop(oracle(scheduler, x0, error=0.0), scheduler, torch.randn(1, 3, 8, 8), steps=5,
                      generators=[torch.Generator()], stage="decoder")
    events = list(gen)
    assert [e.step for e in events] == [1, 2, 3, 4, 5] and all(e.total == 5 for e in events)
    assert events[-1].preview.shape == (1, 3, 8, 8) and events[-1].preview.abs().max() <= 1
    with pytest.raises(ValueError, match="decoder: 1 generators for a batch of 2; pass one per image"):
        next(sample_loop(oracle(scheduler, x0), scheduler, torch.randn(2, 3, 8, 8), steps=5,
                         generators=[torch.Generator()], stage="decoder"))  # fmt: skip


def test_guidance_of_one_is_the_conditional_model_and_scale_extrapolates():
    model = lambda x, t, c: x * 0 + c["v"]  # noqa: E731  (a model whose output is its conditioning)
    cond, uncond = {"v": torch.full((2, 3), 2.0)}, {"v": torch.full((2, 3), 1.0)}
    x = torch.zeros(2, 3)
    assert torch.equal(classifier_free_guidance(model, 1.0, cond, uncond)(x, 0), cond["v"])
    torch.testing.assert_close(classifier_free_guidance(model, 3.0, cond, uncond)(x, 0), torch.full((2, 3), 4.0))


def test_unknown_scheduler_is_refused():
    with pytest.raises(ValueError, match="scheduler must be one of"):
        make_scheduler("euler", scheduler_configs()["decoder"])


def test_the_unclip_scheduler_refuses_a_v_prediction_model():
    with pytest.raises(ValueError, match="'unclip' scheduler reads epsilon or x0 predictions.*'v_prediction'"):
        make_scheduler("unclip", scheduler_configs()["decoder"])
    make_scheduler("unclip", config("decoder-eps"))  # Karlo's kind is fine


@pytest.mark.parametrize("stage", ["decoder", "decoder-eps"])
def test_the_x0_preview_matches_the_models_prediction_type(stage):
    scheduler = make_scheduler("ddim", config(stage))
    x0 = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1)) - 0.5
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    t = torch.tensor(500)
    torch.testing.assert_close(predict_x0(scheduler, oracle(scheduler, x0, error=0.0)(x, t), x, t), x0,
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["ddim", "dpm++"])  # the deterministic ones
@pytest.mark.parametrize("steps", [12, 16])
def test_a_step_hook_is_told_the_timestep_the_step_went_to(name, steps):
    """Inpainting's hook noises the known pixels to `t_prev` and pastes them in beside the step's sample, so t_prev
    must be the timestep the step went to. From an exact model's x0 and the noise it implied at t, that sample is
    q(x_t_prev | x0, noise). DDIM goes to t - T // steps, not to the next 'trailing' timestep (833, not 832)."""
    scheduler = make_scheduler(name, config("decoder"))  # v-prediction: an exact x0 even at abar ~ 0
    x0 = (torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(9)) * 1.6 - 0.8).double()
    model, noise, told = oracle(scheduler, x0, error=0.0), [], []

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = scheduler.alphas_cumprod[int(t)].double()
        noise.append((x - abar.sqrt() * x0) / (1 - abar).sqrt())  # the noise x holds, as the model reads it
        return model(x, t)

    def check(x: torch.Tensor, i: int, t_prev: int) -> torch.Tensor:
        if t_prev >= 0:
            torch.testing.assert_close(x, q_sample(scheduler.alphas_cumprod.double(), x0, noise[-1], t_prev))
            told.append(t_prev)
        return x

    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    drain(sample_loop(denoise, scheduler, randn((3, 8, 8), gens, torch.device("cpu"), torch.float64),
                      steps=steps, generators=gens, stage="decoder", hook=check))
    assert len(told) == steps - 1


@pytest.mark.parametrize("stage", ["prior", "upsampler"])
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_every_scheduler_clips_an_x0_model_to_its_training_range(stage, name):
    """The prior (x0 clipped to +-5 in training) and the tiny upsampler (+-1) predict x0. DDIM, DDPM and the
    unclip scheduler clip it (clip_sample); DPM-Solver++ ignores clip_sample and let a wild x0 through."""
    scheduler = make_scheduler(name, config(stage))
    limit = scheduler.config.clip_sample_range
    shape = (8,) if stage == "prior" else (3, 8, 8)
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    out = drain(sample_loop(lambda x, t: torch.full_like(x, 3 * limit), scheduler,
                            randn(shape, gens, torch.device("cpu"), torch.float32), steps=6, generators=gens,
                            stage=stage))  # fmt: skip
    assert out.max() <= limit * 1.01 and out.min() > 0.5 * limit


# -- DDIM inversion ----------------------------------------------------------------------------------------------
def fixed_outputs(seed: int = 0):
    """A 'model' whose output depends on the timestep only, one fixed random tensor per t: with it, DDIM's step is
    affine in x, so inverting it step by step must be exact."""
    outputs: dict[int, torch.Tensor] = {}

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        key = int(t)
        if key not in outputs:
            outputs[key] = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed * 10_000 + key),
                                       dtype=x.dtype)  # fmt: skip
        return outputs[key]
    return denoise


@pytest.mark.parametrize("stage", ["decoder", "decoder-eps"])
@pytest.mark.parametrize("steps", [3, 12])
def test_ddim_from_the_inverted_noise_gives_the_sample_back(stage, steps):
    """The inverse step solves DDIM's step t -> s for x_t (the step pairs as DDIM's own: s = t - T // steps, and
    abar = 1 past the end). Measured: 1e-7 (v) and 9e-5 (epsilon: diffusers works out abar's square roots in float32,
    and the epsilon form divides by sqrt(abar), 5e-5 at t = T - 1); pairing t with the next listed timestep
    instead: 5e-3 to 0.1."""
    conf = {**config(stage), "clip_sample": False}  # the inverse does not undo clipping (documented)
    denoise = fixed_outputs()
    x0 = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    progress = list_and_value(ddim_invert(denoise, make_scheduler("ddim", conf), x0, steps=steps))
    x_t = progress.value
    assert [p.step for p in progress.items] == list(range(1, steps + 1))
    assert {p.stage for p in progress.items} == {"inversion"} and progress.items[-1].preview.shape == x0.shape
    assert (x_t - x0).abs().mean() > 0.1  # it did move
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    back = drain(sample_loop(denoise, make_scheduler("ddim", conf), x_t, steps=steps, generators=gens,
                             stage="decoder", preview=False))  # fmt: skip
    torch.testing.assert_close(back, x0, atol=5e-4, rtol=0)


def test_ddim_inversion_runs_for_a_model_on_a_device_without_float64():
    """The solve is in float64 on the CPU, whatever device the model is on (MPS has none): the same x_T as a CPU
    model's, in the model's dtype (the stand-in cannot show the move back to the device)."""
    conf = config("decoder")
    x0 = torch.rand((1, 3, 8, 8), generator=torch.Generator().manual_seed(5)) * 2 - 1
    expected = list_and_value(ddim_invert(fixed_outputs(), make_scheduler("ddim", conf), x0, steps=4)).value
    progress = list_and_value(ddim_invert(fixed_outputs(), make_scheduler("ddim", conf), x0.as_subclass(OnMPS),
                                          steps=4))  # fmt: skip
    assert progress.value.dtype == torch.float32 and len(progress.items) == 4
    torch.testing.assert_close(progress.value.as_subclass(torch.Tensor), expected, atol=0, rtol=0)


@pytest.mark.parametrize("name", ["ddpm", "unclip"])
def test_a_learned_variance_is_read_by_the_samplers_that_can(name):
    """A learned-variance model (Karlo's decoder, as the paper's: 6 channels, the last 3 the variance's
    interpolation) under DDPM or UnCLIP's own sampler: the variance it predicts sets the noise each step adds.
    DDPM used to be forced to a fixed variance, which threw Karlo's away."""
    conf = {**config("decoder-eps"), "variance_type": "learned_range"}

    def run(v: float) -> torch.Tensor:
        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return torch.cat([0.1 * x, torch.full_like(x, v)], dim=1)
        x = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(0))
        return drain(sample_loop(denoise, make_scheduler(name, conf), x, steps=6, preview=False, stage="decoder",
                                 generators=[torch.Generator().manual_seed(1)]))  # fmt: skip
    assert make_scheduler(name, conf).config.variance_type == "learned_range"
    assert (run(1.0) - run(-1.0)).abs().max() > 1e-3  # the largest variance against the smallest
    assert make_scheduler(name, config("decoder-eps")).config.variance_type in ("fixed_small", "fixed_small_log")


def test_ddim_inversion_refuses_an_x0_model():
    """An x0 model's last DDIM step returns its prediction whatever x_t was: there is nothing to solve for."""
    with pytest.raises(ValueError, match="DDIM inversion needs an epsilon or v_prediction model, not 'sample'"):
        solve_ddim_step("sample", torch.zeros(1), torch.zeros(1), torch.tensor(0.9), torch.tensor(0.5))


class list_and_value:  # noqa: N801 - reads as a function
    """Run a generator to the end: its yielded items and its return value."""

    def __init__(self, gen):
        self.items = []
        while True:
            try:
                self.items.append(next(gen))
            except StopIteration as stop:
                self.value = stop.value
                return


def test_eta_is_ddims_and_draws_from_each_images_generator():
    """DDIM with eta > 0 adds noise from each image's own generator (a batch equals its single runs); another
    scheduler refuses eta rather than ignore it."""
    conf = config("decoder")
    x0 = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(9)) * 1.6 - 0.8

    def run(seeds: list[int], eta: float, name: str = "ddim") -> torch.Tensor:
        scheduler = make_scheduler(name, conf)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        x = torch.ones((len(seeds), 3, 8, 8))  # the same start: only eta's noise tells the runs apart
        return drain(sample_loop(oracle(scheduler, x0[:len(seeds)], error=0.3), scheduler, x, steps=4,
                                 generators=gens, stage="decoder", eta=eta))  # fmt: skip

    batch = run([1, 2], 1.0)
    torch.testing.assert_close(batch[1:], run([2, 2], 1.0)[1:], atol=1e-6, rtol=0)
    assert (batch - run([3, 4], 1.0)).abs().max() > 1e-3  # other seeds, other noise
    torch.testing.assert_close(run([1, 2], 0.0), run([3, 4], 0.0))  # eta 0: no noise drawn from them
    with pytest.raises(ValueError, match="decoder: eta is DDIM's, not DPMSolverMultistepScheduler's"):
        run([1, 2], 0.5, "dpm++")
