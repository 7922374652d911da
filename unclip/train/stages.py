"""The four trainers as `Stage`s: each names the module it trains and its loss on step i's batch.

Data comes from the procedural emoji world, generated per step from a seed (nothing stored). Frozen parts are
read from the model dir; the trained part is a copy whose EMA is exported back into it (`Stage.export`).

    clip       contrastive loss (open_clip's ClipLoss) on 64 px scenes and their captions
    prior      diffusion prior: x0-prediction of the normalised CLIP image embedding (paper §2.2, Karlo)
    decoder    v-prediction (or epsilon, per its scheduler config) at 64 px, conditioned Karlo-style,
               caption drop 0.3 / embedding drop 0.1
    upsampler  x0 as bicubic + residual (or epsilon) on random 128 px crops, low-res input noise-augmented (§2.1)
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from open_clip.loss import ClipLoss
from torch import Tensor, nn

from unclip.images import to_tensor
from unclip.models import TextEncoding, UnCLIPModels, clip_preprocess, encode_image, encode_text, text_tower
from unclip.pipeline import decoder_conditioning, downscale, upsampler_condition
from unclip.train import previews
from unclip.train.common import WEIGHTINGS, Stage, TrainArgs, batch_seed
from unclip.train.data import Scenes
from unclip.world import EmojiWorld

CAPTION_DROP, EMBEDDING_DROP, PRIOR_TEXT_DROP = 0.3, 0.1, 0.1


def _rand(step: int, seed: int) -> torch.Generator:
    """The step's own generator for timesteps, noise and dropout: resuming replays the same draws, and another
    --seed gives other draws (as it gives other scenes)."""
    return torch.Generator("cpu").manual_seed(batch_seed("noise", step, seed))


def _where_rows(drop: Tensor, a: TextEncoding, b: TextEncoding) -> TextEncoding:
    """Rows of `b` where drop is True, else rows of `a` (b broadcast from one row)."""
    def pick(x: Tensor, y: Tensor) -> Tensor:
        d = drop.view(-1, *([1] * (x.ndim - 1)))
        return torch.where(d, y.expand_as(x), x)
    return TextEncoding(pick(a.tokens, b.tokens), pick(a.mask, b.mask), pick(a.embeds, b.embeds),
                        pick(a.states, b.states), a.truncated)


def _noised(scheduler: DDPMScheduler, x0: Tensor, g: torch.Generator, high_noise: float = 0.0
            ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """q(x_t | x0): (x_t, t, noise) for a random timestep per row (Ho et al. eq. 4).

    high_noise = p draws a share p of the timesteps from the noisiest 10% (t >= 0.9 T) instead of uniformly.
    Why the decoder needs it: with the cosine schedule a 64 px x_t still shows the scene's mean colour up to
    t ~ 0.98 T (the mean of 4096 pixels averages the noise away), so under uniform sampling only ~2% of draws
    ever require the CLIP embedding to know the background, and the decoder learns to ignore it (measured
    here: identical x0 predictions for the true embedding and the null one after 1,900 steps)."""
    n, T = x0.shape[0], scheduler.config.num_train_timesteps
    t = torch.randint(0, T, (n,), generator=g)
    if high_noise > 0:
        high = torch.randint(int(0.9 * T), T, (n,), generator=g)
        t = torch.where(torch.rand(n, generator=g) < high_noise, high, t)
    t = t.to(x0.device)
    noise = torch.randn(x0.shape, generator=g).to(x0.device, x0.dtype)
    return scheduler.add_noise(x0, noise, t), t, noise


def diffusion_loss(scheduler: DDPMScheduler, out: Tensor, x0: Tensor, noise: Tensor, t: Tensor,
                   weighting: str = "min-snr", gamma: float = 5.0, cap: float = 100.0) -> Tensor:
    """Weighted MSE of a diffusion model's output against its target: the noise (prediction_type "epsilon") or
    the velocity v = sqrt(abar) eps - sqrt(1 - abar) x0 ("v_prediction", Salimans & Ho 2022).

    Weights are chosen in x0 terms, w(t) * |x0_hat - x0|^2, and converted: the epsilon loss equals the x0 loss
    times SNR, the v loss the x0 loss times (SNR + 1).
    min-snr  w = min(SNR, gamma) (Hang et al. 2023): faster convergence of detail; high noise barely counts.
    v        w = SNR + 1, the plain v loss: x0 errors count fully at high noise, the only steps where the decoder
             must read the CLIP embedding to know the scene. For an epsilon model the weight 1 / abar is capped
             at `cap`, which is also why an epsilon model stays poor there: its x0 estimate divides the output's
             error by sqrt(abar) (x 64 at t = 0.99 T). The bundled decoder therefore predicts v."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be min-snr or v, got {weighting!r}")
    kind = scheduler.config.prediction_type
    if kind not in ("epsilon", "v_prediction"):
        raise ValueError(f"prediction_type must be epsilon or v_prediction, got {kind!r}")
    abar = scheduler.alphas_cumprod.to(t.device)[t]
    snr = abar / (1 - abar)
    w_x0 = snr.clamp(max=gamma) if weighting == "min-snr" else snr + 1
    if kind == "epsilon":
        target, weight = noise, (w_x0 / snr).clamp(max=cap)
    else:
        target, weight = scheduler.get_velocity(x0, noise, t), w_x0 / (snr + 1)
    per_image = F.mse_loss(out.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (weight * per_image).mean()


def clip_stage(models: UnCLIPModels, world: EmojiWorld, args: TrainArgs) -> Stage:
    module = copy.deepcopy(models.clip)
    loss_fn = ClipLoss()
    scenes = Scenes(world, args, models.clip_image_size, models.device)

    def loss(step: int) -> Tensor:
        images, captions = scenes(step)
        img = module.encode_image(clip_preprocess(models, images), normalize=True)  # (B, D)
        tokens = models.tokenizer(captions).to(models.device)  # (B, 77)
        used = int(tokens.argmax(dim=1).max()) + 1  # positions up to the last end-of-text token
        txt = F.normalize(text_tower(module, tokens[:, :used])[1], dim=-1)  # (B, D), same as 77 positions
        return loss_fn(img, txt, module.logit_scale.exp())

    def clamp_temperature() -> None:  # as open_clip's trainer: logits at most 100 x cosine, or the loss can blow up
        module.logit_scale.clamp_(0, math.log(100))

    return Stage("clip", module, loss, lambda ema: models.clip.load_state_dict(ema.state_dict()),
                 previews.clip_preview(models, world), clamp_temperature)


def set_prior_statistics(models: UnCLIPModels, world: EmojiWorld, prior: nn.Module, n: int = 2048) -> None:
    """clip_mean / clip_std: the per-dimension statistics the prior normalises image embeddings with."""
    images, _, _ = world.batch(n, seed=123_456, size=models.clip_image_size)
    emb = torch.cat([encode_image(models, to_tensor(images[i:i + 256]).to(models.device)) for i in range(0, n, 256)])
    with torch.no_grad():
        prior.clip_mean.copy_(emb.mean(0, keepdim=True))
        prior.clip_std.copy_(emb.std(0, keepdim=True).clamp_min(1e-4))


def prior_stage(models: UnCLIPModels, world: EmojiWorld, args: TrainArgs) -> Stage:
    module = copy.deepcopy(models.prior)
    set_prior_statistics(models, world, module)
    scheduler = DDPMScheduler.from_config(models.scheduler_configs["prior"])
    empty = encode_text(models, [""])
    scenes = Scenes(world, args, models.clip_image_size, models.device)

    def loss(step: int) -> Tensor:
        g = _rand(step, args.seed)
        images, captions = scenes(step)
        mean, std = module.clip_mean.detach(), module.clip_std.detach()  # fixed statistics, not trained
        target = (encode_image(models, images) - mean) / std  # (B, D) normalised
        drop = (torch.rand(args.batch, generator=g) < PRIOR_TEXT_DROP).to(models.device)
        text = _where_rows(drop, encode_text(models, captions), empty)  # dropped text -> guidance baseline
        xt, t, _ = _noised(scheduler, target, g)
        pred = module(xt, timestep=t, proj_embedding=text.embeds, encoder_hidden_states=text.states,
                      attention_mask=text.mask).predicted_image_embedding
        return F.mse_loss(pred.float(), target.float())

    return Stage("prior", module, loss, lambda ema: models.prior.load_state_dict(ema.state_dict()),
                 previews.prior_preview(models, world))


def decoder_stage(models: UnCLIPModels, world: EmojiWorld, args: TrainArgs) -> Stage:
    module = nn.ModuleDict({"decoder": copy.deepcopy(models.decoder), "text_proj": copy.deepcopy(models.text_proj)})
    scheduler = DDPMScheduler.from_config(models.scheduler_configs["decoder"])
    empty = encode_text(models, [""])
    view = copy.copy(models)  # the frozen parts + the module being trained, for decoder_conditioning
    view.decoder, view.text_proj = module["decoder"], module["text_proj"]
    scenes = Scenes(world, args, models.decoder.config.sample_size, models.device)

    def loss(step: int) -> Tensor:
        g = _rand(step, args.seed)
        x0, captions = scenes(step)
        emb = encode_image(models, x0)  # (B, D) unit norm
        drop_cap = (torch.rand(args.batch, generator=g) < CAPTION_DROP).to(models.device)
        drop_emb = (torch.rand(args.batch, generator=g) < EMBEDDING_DROP).to(models.device)[:, None]
        null = module["text_proj"].learned_classifier_free_guidance_embeddings[None]
        cond = decoder_conditioning(view, torch.where(drop_emb, null, emb),
                                    _where_rows(drop_cap, encode_text(models, captions), empty))
        xt, t, noise = _noised(scheduler, x0, g, args.high_noise)
        out = module["decoder"](xt, t, encoder_hidden_states=cond["hidden"], class_labels=cond["additive"],
                                attention_mask=cond["mask"]).sample
        return diffusion_loss(scheduler, out, x0, noise, t, weighting=args.weighting)

    def export(ema: nn.Module) -> None:
        models.decoder.load_state_dict(ema["decoder"].state_dict())
        models.text_proj.load_state_dict(ema["text_proj"].state_dict())

    return Stage("decoder", module, loss, export, previews.decoder_preview(models, world))


def upsampler_stage(models: UnCLIPModels, world: EmojiWorld, args: TrainArgs, crop: int = 128) -> Stage:
    module = copy.deepcopy(models.upsampler)
    scheduler = DDPMScheduler.from_config(models.scheduler_configs["upsampler"])
    p = models.upsampler_patch
    scenes = Scenes(world, args, models.upsampler.config.sample_size * p, models.device)

    def loss(step: int) -> Tensor:
        g = _rand(step, args.seed)
        hi, _ = scenes(step)
        i, j = (torch.randint(0, hi.shape[-1] - crop + 1, (2,), generator=g)).tolist()
        hi = hi[..., i:i + crop, j:j + crop]  # (B, 3, crop, crop)
        low = downscale(models, hi)
        sigma = torch.rand(low.shape[0], 1, 1, 1, generator=g).to(low) * 0.1  # noise augmentation
        low = low + sigma * torch.randn(low.shape, generator=g).to(low)
        up = upsampler_condition(models, low, hi.shape[-2:])  # as the sampler makes it
        xt, t, noise = _noised(scheduler, hi, g)
        out = F.pixel_shuffle(module(F.pixel_unshuffle(torch.cat([xt, up], 1), p), t).sample, p)
        if models.upsampler_residual:  # x0-prediction as bicubic + residual (config.UpsamplerConfig)
            return F.mse_loss((up + out).float(), hi.float())
        return diffusion_loss(scheduler, out, hi, noise, t)

    return Stage("upsampler", module, loss, lambda ema: models.upsampler.load_state_dict(ema.state_dict()),
                 previews.upsampler_preview(models, world))


STAGES = {"clip": clip_stage, "prior": prior_stage, "decoder": decoder_stage, "upsampler": upsampler_stage}
