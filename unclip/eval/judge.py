"""The judge: a small CNN trained only on rendered ground truth, used to score generated images.

For a 64 px image it predicts, per world label, presence (multi-label) and the centre of that label's
instances; the background; and each shape kind's colour. From these the eval computes object recall,
background accuracy, relation accuracy (centres compared as the relation says) and colour binding.
It never sees a generated image in training, so it cannot learn the generator's quirks; its renders are
degraded (blur, contrast, noise) so that a slightly soft generated image is still in its training range.

Version 2 (this file) is fully convolutional and reads positions from its own label maps: on 256 unseen renders
it finds 99.8% of objects where version 1 (flatten and classify) found 70% (seen pairs) and 52% (held-out).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from unclip.families.hub import read_json
from unclip.images import to_tensor
from unclip.world import EmojiWorld, Scene
from unclip.world.catalog import SHAPE_COLORS, SHAPES

JUDGE_DIR = Path(__file__).resolve().parents[2] / "models" / "judge-emoji"
VERSION = 2  # 1: a flatten-and-classify CNN; 2: fully convolutional label maps (this file)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation),
                         nn.BatchNorm2d(cout), nn.SiLU())


class Judge(nn.Module):
    """Fully convolutional, so one detector is shared by every position: a 16x16 map of per-label scores.

    Presence of a label is the log-mean-exp of its map (a soft max over positions); its centre is the
    expectation of the position under the softmax of that map; a shape's colour is read from the features the
    shape's own map attends to (so colour binds to the right shape). The background comes from pooled features.
    """

    def __init__(self, n_labels: int, n_backgrounds: int, n_shapes: int, n_colors: int, width: int = 32):
        super().__init__()
        self.sizes = (n_labels, n_backgrounds, n_shapes, n_colors)
        w = width
        self.features = nn.Sequential(  # 64 px -> 32 -> 16; receptive field about 45 px at the end
            _conv(5, w // 2), _conv(w // 2, w, stride=2), _conv(w, w), _conv(w, 2 * w, stride=2),
            _conv(2 * w, 2 * w), _conv(2 * w, 3 * w), _conv(3 * w, 3 * w, dilation=2))
        self.label_map = nn.Conv2d(3 * w, n_labels, 1)
        self.background = nn.Linear(2 * 3 * w, n_backgrounds)
        self.shape_color = nn.Linear(3 * w + 1, n_colors + 1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """(B, 3, 64, 64) in [-1, 1] -> label logits (B, L) (a softmax: which objects), centres (B, L, 2) in
        [0, 1], background logits (B, G), shape colour logits (B, S, C + 1) (last = shape absent)."""
        b, _, h, w = x.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        coords = torch.stack([xs, ys]).to(x).expand(b, 2, h, w)  # CoordConv: lets a border look different
        f = self.features(torch.cat([x, coords], 1))  # (B, F, 16, 16)
        n, g, s, c = self.sizes
        scores = self.label_map(f).flatten(2)  # (B, L, P)
        presence = scores.logsumexp(-1) - math.log(scores.shape[-1])
        attend = scores.softmax(-1)  # (B, L, P): where each label is
        gh, gw = f.shape[-2:]
        cy, cx = torch.meshgrid((torch.arange(gh) + 0.5) / gh, (torch.arange(gw) + 0.5) / gw, indexing="ij")
        grid = torch.stack([cx.flatten(), cy.flatten()], -1).to(x)  # (P, 2) in [0, 1]
        shape_feats = torch.einsum("bsp,bfp->bsf", attend[:, n - s:], f.flatten(2))  # shapes are the last labels
        pooled = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
        return {"presence": presence, "centre": attend @ grid, "background": self.background(pooled),
                "shape_color": self.shape_color(torch.cat([shape_feats, presence[:, n - s:, None]], -1))}


def targets(world: EmojiWorld, scenes: list[Scene]) -> dict[str, Tensor]:
    labels = {name: i for i, name in enumerate(world.labels)}
    shapes, colors = {s: i for i, s in enumerate(SHAPES)}, {c: i for i, c in enumerate(SHAPE_COLORS)}
    n = len(scenes)
    presence, centre = torch.zeros(n, len(labels)), torch.zeros(n, len(labels), 2)
    counts = torch.zeros(n, len(labels))
    shape_color = torch.full((n, len(shapes)), len(colors), dtype=torch.long)
    for i, scene in enumerate(scenes):
        for o in scene.objects:
            k = labels[o.label]
            presence[i, k] = 1
            centre[i, k] += torch.tensor([(o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2])
            counts[i, k] += 1
            if o.label in shapes and o.color in colors:
                shape_color[i, shapes[o.label]] = colors[o.color]
    centre = centre / counts.clamp_min(1)[..., None]
    background = torch.tensor([world.backgrounds.index(s.background) for s in scenes])
    return {"presence": presence, "centre": centre, "background": background, "shape_color": shape_color}


def judge_loss(pred: dict[str, Tensor], tgt: dict[str, Tensor]) -> Tensor:
    present = tgt["presence"][..., None]
    centre = (F.l1_loss(pred["centre"], tgt["centre"], reduction="none") * present).sum() / present.sum().clamp_min(1)
    share = tgt["presence"] / tgt["presence"].sum(1, keepdim=True)  # soft target: uniform over the scene's labels
    return (-(share * F.log_softmax(pred["presence"], dim=1)).sum(1).mean()
            + F.cross_entropy(pred["background"], tgt["background"])
            + F.cross_entropy(pred["shape_color"].flatten(0, 1), tgt["shape_color"].flatten()) + 5 * centre)


def new_judge(world: EmojiWorld) -> Judge:
    if world.labels[-len(SHAPES):] != list(SHAPES):
        raise ValueError("the judge expects the world's shape labels last, in catalog order")
    return Judge(len(world.labels), len(world.backgrounds), len(SHAPES), len(SHAPE_COLORS))


def degrade(x: Tensor, gen: torch.Generator) -> Tensor:
    """Make clean renders look more like generated 64 px images: per image, a random Gaussian blur (sigma up to
    1.2 px), a contrast/brightness jitter of up to 10% and noise up to 0.08. x: (B, 3, H, W) in [-1, 1]."""
    b = x.shape[0]
    u = torch.rand(b, 4, generator=gen)
    sigma = 1.2 * u[:, 0]
    taps = torch.arange(-3, 4, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps[None] / sigma.clamp_min(1e-3)[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(3, 0)  # (3B, 7): one kernel per channel
    y = x.reshape(1, 3 * b, *x.shape[-2:])
    y = F.conv2d(F.pad(y, (3, 3, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=3 * b)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="replicate"), kernel[:, None, :, None], groups=3 * b)
    y = y.view_as(x) * (0.9 + 0.2 * u[:, 1, None, None, None]) + (0.2 * u[:, 2, None, None, None] - 0.1)
    noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return (y + 0.08 * u[:, 3, None, None, None] * noise).clamp(-1, 1)


def train_judge(out: Path = JUDGE_DIR, steps: int = 4000, batch: int = 64, seed: int = 0) -> Judge:
    """Train on freshly rendered, degraded scenes (split 'any': the judge may know every pair), save safetensors,
    and record its own scores on renders it never saw (the eval's seen-split scenes) in judge.json."""
    from unclip.eval.report import eval_scenes, fidelity, renders

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    world = EmojiWorld()
    judge = new_judge(world)
    opt = torch.optim.AdamW(judge.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    t0 = time.time()
    for step in range(steps):
        images, _, scenes = world.batch(batch, seed=10**9 + seed * 10**7 + step, size=64, split="any")
        loss = judge_loss(judge(degrade(to_tensor(images), gen)), targets(world, scenes))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f"[judge] step {step + 1}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    judge.eval()
    scenes = eval_scenes(world, 256)  # the eval's seen captions
    on_renders = fidelity(world, scenes, judge_images(judge, renders(world, scenes)))
    print(f"[judge] on 256 unseen renders: {on_renders}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in judge.state_dict().items()}
    save_file(half, out / "judge.safetensors")  # fp16 on disk, float32 once loaded
    (out / "judge.json").write_text(json.dumps({"labels": world.labels, "backgrounds": world.backgrounds,
                                                "shapes": list(SHAPES), "colors": list(SHAPE_COLORS),
                                                "version": VERSION, "steps": steps, "batch": batch,
                                                "seconds": round(time.time() - t0),
                                                "on_renders": on_renders}))
    return judge


def load_judge(directory: Path = JUDGE_DIR) -> Judge | None:
    path = directory / "judge.safetensors"
    if not path.exists():
        return None
    retrain = "Retrain it: python -m unclip.eval.judge"
    try:
        meta = read_json(directory / "judge.json", "the judge's world and version")
    except OSError as e:  # missing, unreadable
        raise ValueError(f"judge: {directory / 'judge.json'} is missing or damaged ({e}). {retrain}") from None
    except ValueError as e:  # not JSON, not an object
        raise ValueError(f"judge: {e}. {retrain}") from None
    version = meta.get("version", 1)
    if version != VERSION:
        raise ValueError(f"judge: {directory} holds a version-{version} judge; this code reads version {VERSION}. "
                         "Retrain it: python -m unclip.eval.judge")
    world = EmojiWorld()  # its outputs are indices into these lists: another world's would be misread silently
    now = {"labels": world.labels, "backgrounds": world.backgrounds, "shapes": SHAPES, "colors": SHAPE_COLORS}
    for key, names in now.items():
        if list(meta.get(key, [])) != list(names):
            raise ValueError(f"judge: {directory} was trained on another emoji world (its {key} differ from this "
                             "code's). Retrain it: python -m unclip.eval.judge")
    judge = new_judge(world)
    try:
        judge.load_state_dict(load_file(path))
    except (SafetensorError, RuntimeError, OSError) as e:  # a damaged file, or weights of another architecture
        raise ValueError(f"judge: {path} does not load ({str(e).splitlines()[0][:200]}). {retrain}") from None
    return judge.eval()


@torch.no_grad()
def judge_images(judge: Judge, images: Tensor) -> dict[str, np.ndarray]:
    """(B, 3, H, W) in [-1, 1] -> numpy predictions: label probabilities (softmax), centres, argmax classes."""
    if images.shape[-1] != 64:
        images = F.interpolate(images, size=(64, 64), mode="bilinear", antialias=True)
    p = judge(images.float().cpu())
    return {"presence": p["presence"].softmax(-1).numpy(), "centre": p["centre"].numpy(),
            "background": p["background"].argmax(-1).numpy(), "shape_color": p["shape_color"].argmax(-1).numpy()}


def main(argv: list[str] | None = None) -> int:
    """`python -m unclip.eval.judge [--steps N] [--batch B] [--threads T] [--out DIR]`: (re)train the judge."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m unclip.eval.judge", description=main.__doc__)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(JUDGE_DIR))
    ns = p.parse_args(argv)
    from unclip.settings import MAX_THREADS, THREADS_ALLOWED
    from unclip.train.common import MAX_BATCH

    for flag, ok, allowed in [("steps", ns.steps >= 1, "at least 1"),
                              ("batch", 1 <= ns.batch <= MAX_BATCH, f"from 1 to {MAX_BATCH}"),
                              ("threads", 0 <= ns.threads <= MAX_THREADS, THREADS_ALLOWED),
                              ("seed", 0 <= ns.seed < 2**63, "from 0 to 2**63 - 1")]:  # fmt: skip
        if not ok:
            p.error(f"--{flag} must be {allowed}, got {getattr(ns, flag)}")
    from unclip.settings import InvalidInput, writable_dir

    out = Path(ns.out)
    try:  # refused before the half hour of training, not after it
        writable_dir(out, "--out", create=True)
        bad = next((f for f in (out / "judge.safetensors", out / "judge.json")
                    if f.exists() and not os.access(f, os.W_OK)), None)  # fmt: skip
        if bad is not None:
            raise InvalidInput(f"--out: {bad} cannot be written; give another --out or make it writable")
    except InvalidInput as e:
        p.error(str(e))
    if ns.threads:
        torch.set_num_threads(ns.threads)
    train_judge(out, ns.steps, ns.batch, ns.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
