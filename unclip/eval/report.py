"""`python -m unclip eval --model NAME [--json]`: the bundled model's report card, fixed seeds.

JSON keys (documented in the README):
    clip_r1                 CLIP text->image R@1 (cosine) among 100 unseen rendered scenes
    prior_alignment         mean cos(prior sample, true image embedding) vs cos(text embedding, true image
                            embedding) on 100 unseen scenes: how much of the modality gap the prior closes
    judge_on_renders        the judge's own scores on real renders (how far to trust it)
    judge_chance            the same renders scored against another scene's caption: what an image that
                            ignores its caption would get (the floor every generated score is read against)
    judge_chance_heldout    the same for the held-out-pair scenes (the floor fidelity.heldout is read against)
    fidelity.seen/heldout   judge scores of images generated (mode "prior") from captions of training-split
                            scenes / held-out-pair scenes: object_recall, background_accuracy (captions that
                            name the background), relation_accuracy, color_accuracy (per shape kind a caption
                            gives one colour), clip_score, n and what each accuracy is over (n_backgrounds,
                            n_relations: captions; n_colors: shape kinds); an accuracy over nothing is null
    fidelity.seen_pairs     the same for training-split captions that name two distinct objects, as every
                            held-out caption does (about half of fidelity.seen's name one): seen pairs against
                            held-out pairs, like for like
    ablation.<mode>         the same on the seen captions for prior / text_embedding / caption_only (§5.1)
    reconstruction          the same on the seen captions with each render's own CLIP image embedding in place
                            of the prior's sample (same noise): the decoder's ceiling. The gap from
                            judge_on_renders down to it is the decoder's; from it down to fidelity.seen, the prior's
    frechet_clip            Fréchet distance between CLIP image features of the n generated (seen captions, mode
                            prior) and 4n rendered scenes; biased by the set sizes: compare runs of one --n only
    frechet_clip_renders    the same for n other rendered scenes in place of the generated ones: the floor at this n
    embedding_reliance      per timestep t: the decoder's x0 error with the scene's own CLIP image embedding,
                            another scene's and the null one (empty caption); gain = shuffled - own > 0 when
                            the decoder reads z_i (unclip/eval/reliance.py); null for latent decoders
    settings (as run: upsampler.enabled = --upsample), model, precision (fp32 unless --precision bf16), n, seed,
    upsample, seconds
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from unclip.backend import UnCLIP
from unclip.eval.judge import JUDGE_DIR, Judge, judge_images, load_judge, train_judge
from unclip.eval.metrics import clip_retrieval, prior_alignment
from unclip.eval.reliance import embedding_reliance, measurable
from unclip.images import to_tensor
from unclip.models import encode_image
from unclip.sampling import drain
from unclip.settings import InvalidInput, writable_dir
from unclip.world import EmojiWorld, Scene
from unclip.world.catalog import SHAPE_COLORS, SHAPES

MAX_N, MAX_SEED = 1000, 2**32 - 1  # --n: 1000 captions a split already take hours on a CPU; --seed: the app's range
SPATIAL = {"left of": (0, -1), "right of": (0, 1), "above": (1, -1), "below": (1, 1)}  # (axis, sign of a - b)


def fidelity(world: EmojiWorld, scenes: list[Scene], pred: dict[str, np.ndarray]) -> dict[str, float]:
    """Judge predictions vs each caption's ground truth. An object counts as found when it is among the judge's
    k likeliest labels, k = the number of distinct objects the caption names. Background accuracy is over the
    captions that name the background (`Scene.names_background`): the others leave it to the model."""
    index, shapes = {name: i for i, name in enumerate(world.labels)}, list(SHAPES)
    recall, bg, rel, col = [], [], [], []
    for k, scene in enumerate(scenes):
        found = found_objects(index, scene, pred["presence"][k])
        recall.append(np.mean(list(found.values())))
        if scene.names_background:
            bg.append(world.backgrounds[pred["background"][k]] == scene.background)
        colours: dict[str, set[str]] = {}  # shape kind -> the colours the caption gives it
        for o in scene.objects:
            if o.label in SHAPES and o.color:
                colours.setdefault(o.label, set()).add(o.color)
        for label, named in colours.items():  # the judge has one colour per shape kind: score each kind once,
            if len(named) == 1:  # and only where the caption gives it one colour ("three red circles" counts once)
                c = pred["shape_color"][k, shapes.index(label)]  # len(SHAPE_COLORS) = "no such shape"
                col.append(bool(c < len(SHAPE_COLORS) and SHAPE_COLORS[c] in named))
        a = [o.label for o in scene.objects if o.group == 0]
        b = [o.label for o in scene.objects if o.group == 1]
        if scene.relation in SPATIAL and a and b and a[0] != b[0]:
            axis, sign = SPATIAL[scene.relation]
            ca, cb = pred["centre"][k, index[a[0]], axis], pred["centre"][k, index[b[0]], axis]
            rel.append(bool(found[a[0]] and found[b[0]] and np.sign(ca - cb) == sign))
    mean = lambda xs: round(float(np.mean(xs)), 4) if xs else None
    return {"object_recall": mean(recall), "background_accuracy": mean(bg), "relation_accuracy": mean(rel),
            "color_accuracy": mean(col), "n": len(scenes), "n_backgrounds": len(bg), "n_relations": len(rel),
            "n_colors": len(col)}


def found_objects(index: dict[str, int], scene: Scene, presence: np.ndarray) -> dict[str, bool]:
    """Each object the caption names -> whether it is among the judge's k likeliest labels, k = the number of
    distinct objects the caption names (`index`: label -> the judge's output index)."""
    labels = sorted(set(scene.labels))
    top = set(np.argsort(-presence)[: len(labels)].tolist())
    return {lab: index[lab] in top for lab in labels}


def recall_by(world: EmojiWorld, scenes: list[Scene], pred: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Object recall (as in `fidelity`) per named object, split by what might make an object hard to draw: its
    sprite size class (the largest of its instances), emoji vs coloured shape, how many distinct objects the
    caption names, and how many instances of it there are. Each cell: {"recall", "n"} (n objects)."""
    index = {name: i for i, name in enumerate(world.labels)}
    cells: dict[str, dict[str, list[bool]]] = {"size": {}, "kind": {}, "objects named": {}, "instances": {}}
    order = {"small": 0, "medium": 1, "large": 2}
    for k, scene in enumerate(scenes):
        named = found_objects(index, scene, pred["presence"][k])
        for lab, found in named.items():
            objs = [o for o in scene.objects if o.label == lab]
            keys = {"size": max((o.size for o in objs), key=order.__getitem__),
                    "kind": "shape" if objs[0].category == "shape" else "emoji",
                    "objects named": str(len(named)), "instances": str(len(objs))}
            for axis, key in keys.items():
                cells[axis].setdefault(key, []).append(found)
    return {axis: {key: {"recall": round(float(np.mean(v)), 4), "n": len(v)} for key, v in sorted(groups.items())}
            for axis, groups in cells.items()}


EVAL_SEEDS = {"train": 50_000, "heldout": 60_000}  # the eval's scenes: seen and held-out-pair captions


def eval_scenes(world: EmojiWorld, n: int, split: str = "train", pairs: bool = False) -> list[Scene]:
    """The eval's fixed scenes for a split (also what the judge and benchmarks/sweep_settings.py score). With
    `pairs`, only the scenes that name two distinct objects, as every held-out one does: the split's seeds are
    read on until there are n of them."""
    scenes, seed = [], EVAL_SEEDS[split]
    while len(scenes) < n:
        scene = world.sample(seed=seed, split=split)
        seed += 1
        if not pairs or len(set(scene.labels)) == 2:
            scenes.append(scene)
    return scenes


def renders(world: EmojiWorld, scenes: list[Scene]) -> torch.Tensor:
    """The scenes' ground-truth renders, (N, 3, 64, 64) in [-1, 1]."""
    return to_tensor(np.stack([world.render(s, 64) for s in scenes]))


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017):
    |mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^1/2).

    With fewer images than feature dimensions (48 < 128 in the eval) the covariances are singular, and with images
    alike (`--n 2`) nearly zero: scipy's sqrtm of C_a C_b then returned NaN now and then (silently, under the
    warning it gives for singular matrices). The trace of the root is taken instead as that of
    (A^1/2 C_b A^1/2)^1/2 with A = C_a, a symmetric positive semi-definite matrix with the same eigenvalues as
    C_a C_b: eigenvalues only, finite for the finite features of two or more images, and equal to sqrtm's to 6
    digits where that is finite."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return max(float(d), 0.0)  # (rounding: identical sets gave -4e-6)


def generate_for(backend: UnCLIP, scenes: list[Scene], mode: str, seed: int, upsample: bool,
                 batch: int = 16, settings=None, embeds: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, list[float]]:  # fmt: skip
    """One image per scene caption, batched; returns (N, 3, S, S) images in [-1, 1] (S: 64, or the upsampler's
    size with `upsample`) and CLIP scores. `settings`
    (default: the model's defaults for `mode`) is what benchmarks/sweep_settings.py varies; `embeds` (N, D)
    replaces the mode's image embeddings (see `reconstruct_for`)."""
    s = settings or backend.default_settings(mode)
    s = replace(s, upsampler=replace(s.upsampler, enabled=upsample))
    images, scores = [], []
    for i in range(0, len(scenes), batch):
        chunk = scenes[i:i + batch]
        g = drain(backend.run_stream([sc.caption for sc in chunk], [seed + i + j for j in range(len(chunk))], s,
                                     None if embeds is None else embeds[i:i + batch]))
        images.append(to_tensor(g.images) if upsample else g.low_res.cpu())  # `--upsample` judged 64 px
        scores += g.clip_scores
    return torch.cat(images), scores


def reconstruct_for(backend: UnCLIP, rendered: torch.Tensor, scenes: list[Scene], seed: int, upsample: bool,
                    batch: int = 16, settings=None) -> tuple[torch.Tensor, list[float]]:
    """As `generate_for` in mode "prior", with each scene's true CLIP image embedding (of its render,
    `rendered` = renders(world, scenes)) in place of the prior's sample, and the same noise: the decoder's ceiling,
    what a perfect prior would give."""
    true = backend.encode_image(rendered)  # (N, D)
    return generate_for(backend, scenes, "prior", seed, upsample, batch, settings, embeds=true)


def evaluate(backend: UnCLIP, n: int = 48, seed: int = 0, upsample: bool = False, judge: Judge | None = None) -> dict:
    """The whole report card (keys in the module docstring). Trains the judge first if none is saved."""
    if n < 2:
        raise ValueError(f"n must be at least 2 (a Fréchet distance needs two images per set), got {n}")
    t0 = time.time()
    world, judge = EmojiWorld(), judge or load_judge() or train_judge()
    seen, held = eval_scenes(world, n, "train"), eval_scenes(world, n, "heldout")
    seen_renders = renders(world, seen)
    on_renders, on_held = judge_images(judge, seen_renders), judge_images(judge, renders(world, held))
    defaults = backend.default_settings()
    report = {"model": backend.name, "precision": backend.precision, "n": n, "seed": seed, "upsample": upsample,
              "settings": replace(defaults, upsampler=replace(defaults.upsampler, enabled=upsample)).to_dict(),
              "clip_r1": round(clip_retrieval(backend.models, world, n=100, seed=10_000), 4),
              "prior_alignment": prior_alignment(backend, world),
              "judge_on_renders": fidelity(world, seen, on_renders),
              "judge_chance": fidelity(world, seen[1:] + seen[:1], on_renders),
              "judge_chance_heldout": fidelity(world, held[1:] + held[:1], on_held)}
    ablation, seen_images = {}, None
    for mode in backend.modes:
        images, scores = generate_for(backend, seen, mode, seed, upsample)
        ablation[mode] = {**fidelity(world, seen, judge_images(judge, images)),
                          "clip_score": round(float(np.mean(scores)), 2)}
        seen_images = images if mode == "prior" else seen_images
    images, scores = generate_for(backend, held, "prior", seed, upsample)
    report["fidelity"] = {"seen": ablation["prior"], "heldout": {**fidelity(world, held, judge_images(judge, images)),
                                                                 "clip_score": round(float(np.mean(scores)), 2)}}
    report["ablation"] = ablation
    images, scores = reconstruct_for(backend, seen_renders, seen, seed, upsample)
    report["reconstruction"] = {**fidelity(world, seen, judge_images(judge, images)),
                                "clip_score": round(float(np.mean(scores)), 2)}
    size = seen_images.shape[-1]
    ref, other = (world.batch(m, seed=s, size=size)[0] for m, s in ((4 * n, 70_000), (n, 80_000)))  # renders
    gen_f, ref_f, other_f = (encode_image(backend.models, x).cpu().numpy()  # (in chunks: models.encode_image)
                             for x in (seen_images, to_tensor(ref), to_tensor(other)))  # fmt: skip
    report["frechet_clip"] = round(frechet(gen_f, ref_f), 4)
    report["frechet_clip_renders"] = round(frechet(other_f, ref_f), 4)  # the floor: n renders in place of n images
    report["embedding_reliance"] = embedding_reliance(backend.models, world) if measurable(backend.models) else None
    pairs = eval_scenes(world, n, "train", pairs=True)  # last: every figure above stays as it was before this row
    images, scores = generate_for(backend, pairs, "prior", seed, upsample)
    report["fidelity"]["seen_pairs"] = {**fidelity(world, pairs, judge_images(judge, images)),
                                        "clip_score": round(float(np.mean(scores)), 2)}
    report["seconds"] = round(time.time() - t0, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    from unclip.cli import add_precision_arg, add_threads_arg, open_backend

    p = argparse.ArgumentParser(prog="python -m unclip eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--n", type=int, default=48, help="captions per split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--upsample", action="store_true", help="judge the 256 px outputs (downscaled) instead of 64 px")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_precision_arg(p, "fp32")  # the shipped figures: the same on every host
    add_threads_arg(p)
    ns = p.parse_args(argv)
    if not 2 <= ns.n <= MAX_N:
        print(f"error: --n must be from 2 (a Fréchet distance needs two images per set) to {MAX_N}, got {ns.n}",
              file=sys.stderr)
        return 2
    if not 0 <= ns.seed <= MAX_SEED:
        print(f"error: --seed must be from 0 to {MAX_SEED}, got {ns.seed}", file=sys.stderr)
        return 2
    try:  # before the model: a judge that no longer fits this world is refused at once
        judge = load_judge()
        if judge is None:  # evaluate trains one first, into JUDGE_DIR: refused now if that cannot be written
            writable_dir(JUDGE_DIR, "the judge's folder", create=True)
            print(f"note: no judge in {JUDGE_DIR}: training it first (4000 steps, about 30 minutes on 2 CPU cores)",
                  file=sys.stderr)
    except (ValueError, InvalidInput) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    backend = open_backend(ns.model, None, ns.precision, ns.threads)
    if backend is None:
        return 2
    if ns.upsample and backend.models.upsampler is None:
        print(f"error: --upsample: {backend.name} has no upsampler", file=sys.stderr)
        return 2
    report = evaluate(backend, n=ns.n, seed=ns.seed, upsample=ns.upsample, judge=judge)
    print(json.dumps(report, indent=2) if ns.json else format_report(report))
    return 0


def format_report(r: dict) -> str:
    cols = ("object_recall", "background_accuracy", "relation_accuracy", "color_accuracy", "clip_score")
    pa = r["prior_alignment"]
    head = (f"model {r['model']} ({r.get('precision', 'fp32')})   CLIP R@1 (100 unseen scenes) {r['clip_r1']:.3f}   "
            f"Fréchet-CLIP {r['frechet_clip']:.3f} (renders: {r['frechet_clip_renders']:.3f})   ({r['seconds']} s)\n"
            f"cos to the true image embedding: prior sample {pa['cos_prior_truth']:.3f}, "
            f"text embedding {pa['cos_text_truth']:.3f}")
    lines = [head, "",
             f"{'':22}" + "".join(f"{c[:14]:>16}" for c in cols)]
    rows = [("judge on renders", r["judge_on_renders"]), ("chance (wrong caption)", r["judge_chance"])]
    rows += [("chance, held-out pairs", r["judge_chance_heldout"])] if r.get("judge_chance_heldout") else []
    rows += [("prior, seen captions", r["fidelity"]["seen"])]
    rows += [("prior, seen pairs", r["fidelity"]["seen_pairs"])] if r["fidelity"].get("seen_pairs") else []
    rows += [("prior, held-out pairs", r["fidelity"]["heldout"])] + [(m, r["ablation"][m]) for m in r["ablation"]]
    rows += [("true z_i (decoder cap)", r["reconstruction"])] if r.get("reconstruction") else []
    for name, row in rows:
        lines.append(f"{name:22}" + "".join(f"{row.get(c) if row.get(c) is not None else '-':>16}" for c in cols))
    if r.get("embedding_reliance"):
        gains = ", ".join(f"t={t} {row['gain']:+.3f}" for t, row in r["embedding_reliance"].items())
        lines += ["", f"decoder's use of z_i (x0 MSE, shuffled minus own embedding): {gains}"]
    return "\n".join(lines)
