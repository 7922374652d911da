"""Which default settings? Decoder guidance (and prior guidance, decoder steps) swept on the eval's seen captions.

    python benchmarks/sweep_settings.py [--model tiny-emoji] [--n 48] [--decoder-guidance 1.5 3 5 7]
                                        [--prior-guidance 2] [--decoder-steps 12] [--prior-candidates 1 2]
                                        [--prior-pick clip first] [--mode prior] [--threads 2]
                                        [--precision fp32 bf16]

--prior-candidates: how many prior samples the model's own CLIP chooses between (the paper's best of 2); --prior-pick
first keeps the first of them instead, from the same noise (fewer candidates would shift the decoder's noise, drawn
after the prior's from each image's generator). The same CLIP gives the CLIP score, so `clip` against `first` shows
what the choice does to the score it is judged by.

--mode prior | text_embedding | caption_only: the ablation's conditioning (paper §5.1); --mode reconstruction:
the decoder given each render's own CLIP image embedding instead of the prior's sample, same noise (the eval's
`reconstruction`: the decoder's ceiling).

--breakdown: also print object recall split by object size, emoji vs shape, objects named and instances
(`unclip.eval.report.recall_by`), first for the renders themselves (the judge's ceiling), then for each row.

For every combination: images from the eval's seen-pair captions and seeds (unclip/eval/report.py), judged at
64 px by the saved judge, printed as one row (object recall, background accuracy, relation and colour accuracy,
CLIP score, seconds). Fixed seeds, so rows differ only by the setting. The model's defaults live in its
unclip_config.json ("defaults"); this script is how they were chosen.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--n", type=int, default=48, help="seen-pair captions per setting")
    p.add_argument("--decoder-guidance", type=float, nargs="+", default=[1.5, 3.0, 5.0, 7.0])
    p.add_argument("--prior-guidance", type=float, nargs="+", default=None, help="default: the model's")
    p.add_argument("--decoder-steps", type=int, nargs="+", default=None, help="default: the model's")
    p.add_argument("--prior-candidates", type=int, nargs="+", default=None, help="default: the model's")
    p.add_argument("--prior-pick", nargs="+", choices=["clip", "first"], default=["clip"],
                   help="clip: the candidate closest to the caption (the model's); first: the first one drawn")
    p.add_argument("--mode", default="prior", choices=["prior", "text_embedding", "caption_only", "reconstruction"])
    p.add_argument("--precision", nargs="+", choices=["fp32", "bf16"], default=["fp32"],
                   help="the denoisers' arithmetic (bf16: autocast, the app's default on CPUs with AMX)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--breakdown", action="store_true", help="object recall by size, kind, objects, instances")
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)

    import numpy as np
    import torch

    from unclip import pipeline
    from unclip.backend import resolve_precision
    from unclip.cli import open_backend
    from unclip.eval.judge import judge_images, load_judge
    from unclip.eval.report import eval_scenes, fidelity, generate_for, recall_by, reconstruct_for, renders
    from unclip.world import EmojiWorld

    if ns.threads:
        torch.set_num_threads(ns.threads)
    backend = open_backend(ns.model, None, "fp32")
    if backend is None:
        return 2
    judge = load_judge()
    if judge is None:
        print("error: no trained judge in models/judge-emoji (python -m unclip.eval.judge trains one)", file=sys.stderr)
        return 2
    world = EmojiWorld()
    scenes = eval_scenes(world, ns.n)  # the eval's seen captions
    true_z = ns.mode == "reconstruction"
    rendered = renders(world, scenes) if true_z or ns.breakdown else None
    if ns.breakdown and not ns.json:
        print(f"renders: {_breakdown(recall_by(world, scenes, judge_images(judge, rendered)))}", flush=True)
    base = backend.default_settings("prior" if true_z else ns.mode)
    base = replace(base, upsampler=replace(base.upsampler, enabled=False))
    rows = []
    closest_to_text = pipeline.closest_to_text
    for prec, dg, pg, ds, pc, pick in itertools.product(ns.precision, ns.decoder_guidance,
                                                        ns.prior_guidance or [base.prior.guidance],
                                                        ns.decoder_steps or [base.decoder.steps],
                                                        ns.prior_candidates or [base.prior.candidates],
                                                        ns.prior_pick):  # fmt: skip
        backend.models.compute_dtype = resolve_precision(prec, backend.models.device)
        pipeline.closest_to_text = closest_to_text if pick == "clip" else lambda candidates, _: candidates[:, 0]
        s = replace(base, decoder=replace(base.decoder, guidance=dg, steps=ds),
                    prior=replace(base.prior, guidance=pg, candidates=pc))
        backend.validate(s)
        t0 = time.perf_counter()
        images, scores = (reconstruct_for(backend, rendered, scenes, 0, False, settings=s) if true_z
                          else generate_for(backend, scenes, ns.mode, 0, False, settings=s))
        pred = judge_images(judge, images)
        row = {"precision": backend.precision, "decoder_guidance": dg, "prior_guidance": pg, "decoder_steps": ds,
               "prior_candidates": pc, "prior_pick": pick,
               **fidelity(world, scenes, pred),
               "clip_score": round(float(np.mean(scores)), 2), "seconds": round(time.perf_counter() - t0, 1)}
        if ns.breakdown:
            row["recall_by"] = recall_by(world, scenes, pred)
        rows.append(row)
        if not ns.json:
            print(f"{backend.precision}  decoder guidance {dg:4.1f}  prior guidance {pg:4.1f}  decoder steps {ds:3d}  "
                  f"prior candidates {pc} ({pick})  "
                  f"recall {row['object_recall']:.3f}  "
                  f"background {row['background_accuracy']:.3f}  relation {row['relation_accuracy']}  "
                  f"colour {row['color_accuracy']}  CLIP {row['clip_score']:.1f}  ({row['seconds']} s)", flush=True)
            if ns.breakdown:
                print(f"  {_breakdown(row['recall_by'])}", flush=True)
    pipeline.closest_to_text = closest_to_text
    if ns.json:
        print(json.dumps({"model": backend.name, "mode": ns.mode, "n": ns.n, "rows": rows}, indent=2))
    return 0


def _breakdown(by: dict[str, dict[str, dict[str, float]]]) -> str:
    """recall_by as one line: 'size small 0.10 (n 40), medium ... | kind ...'."""
    return " | ".join(f"{axis} " + ", ".join(f"{key} {c['recall']:.2f} (n {c['n']})" for key, c in cells.items())
                      for axis, cells in by.items())


if __name__ == "__main__":
    raise SystemExit(main())
