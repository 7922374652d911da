"""The judge: a small CNN trained only on rendered ground truth, used to score generated images.

For a 64 px image it predicts, per world label, presence (multi-label) and the centre of that label's
instances; the background; and each shape kind's colour. From these the eval computes object recall,
background accuracy, relation accuracy (centres compared as the relation says) and colour binding.
It never sees a generated image in training, so it cannot learn the generator's quirks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from unclip.images import to_tensor
from unclip.world import EmojiWorld, Scene
from unclip.world.catalog import SHAPE_COLORS, SHAPES

JUDGE_DIR = Path(__file__).resolve().parents[2] / "models" / "judge-emoji"


def _block(cin: int, cout: int, convs: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.SiLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class Judge(nn.Module):
    def __init__(self, n_labels: int, n_backgrounds: int, n_shapes: int, n_colors: int, width: int = 32):
        super().__init__()
        self.sizes = (n_labels, n_backgrounds, n_shapes, n_colors)
        self.features = nn.Sequential(_block(5, width, 1), _block(width, 2 * width), _block(2 * width, 4 * width))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * width * 64, 512), nn.SiLU(),
                                  nn.Linear(512, 3 * n_labels + n_backgrounds + n_shapes * (n_colors + 1)))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """(B, 3, 64, 64) in [-1, 1] -> label logits (B, L) (a softmax: which objects), centres (B, L, 2) in
        [0, 1], background logits (B, G), shape colour logits (B, S, C + 1) (last = shape absent)."""
        b, _, h, w = x.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        coords = torch.stack([xs, ys]).to(x).expand(b, 2, h, w)  # CoordConv: position is what relations need
        out = self.head(self.features(torch.cat([x, coords], 1)))
        n, g, s, c = self.sizes
        return {"presence": out[:, :n], "centre": out[:, n:3 * n].view(b, n, 2).sigmoid(),
                "background": out[:, 3 * n:3 * n + g], "shape_color": out[:, 3 * n + g:].view(b, s, c + 1)}


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
    return Judge(len(world.labels), len(world.backgrounds), len(SHAPES), len(SHAPE_COLORS))


def train_judge(out: Path = JUDGE_DIR, steps: int = 1200, batch: int = 64, seed: int = 0) -> Judge:
    """Train on freshly rendered scenes (split 'any': the judge may know every pair) and save safetensors."""
    torch.manual_seed(seed)
    world = EmojiWorld()
    judge = new_judge(world)
    opt = torch.optim.AdamW(judge.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    t0 = time.time()
    for step in range(steps):
        images, _, scenes = world.batch(batch, seed=10**9 + step, size=64, split="any")
        x = to_tensor(images)
        x = x + 0.05 * torch.randn_like(x)  # generated images are never this clean
        loss = judge_loss(judge(x), targets(world, scenes))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f"[judge] step {step + 1}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    judge.eval()
    out.mkdir(parents=True, exist_ok=True)
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in judge.state_dict().items()}
    save_file(half, out / "judge.safetensors")  # fp16 on disk, float32 once loaded
    (out / "judge.json").write_text(json.dumps({"labels": world.labels, "backgrounds": world.backgrounds,
                                                "shapes": list(SHAPES), "colors": list(SHAPE_COLORS),
                                                "steps": steps, "batch": batch, "seconds": round(time.time() - t0)}))
    return judge


def load_judge(directory: Path = JUDGE_DIR) -> Judge | None:
    path = directory / "judge.safetensors"
    if not path.exists():
        return None
    judge = new_judge(EmojiWorld())
    judge.load_state_dict(load_file(path))
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
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(JUDGE_DIR))
    ns = p.parse_args(argv)
    if ns.threads:
        torch.set_num_threads(ns.threads)
    train_judge(Path(ns.out), ns.steps, ns.batch, ns.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
