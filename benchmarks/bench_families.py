"""How fast a missing hub model is reported, and how long the hub families' loaders take on tiny layouts.

    python benchmarks/bench_families.py [--repeats 5]

Target (issue #6): a missing karlo / kandinsky-2.2 fails in under a second with a message naming the model,
with HF_HUB_OFFLINE=1, online with the hub refusing connections (an endpoint on a closed local port), and online
with the default endpoint (on a machine without internet, the case of a classroom laptop).
Each figure is the median of --repeats fresh attempts in this process (imports warmed up by a first attempt).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unclip import load_backend  # noqa: E402
from unclip.families import ModelUnavailable, fake_hub  # noqa: E402


def time_to_fail(name: str, repeats: int) -> tuple[float, str]:
    times, message = [], ""
    for _ in range(repeats + 1):  # the first one warms imports up and is dropped
        start = time.perf_counter()
        try:
            load_backend(name, device="cpu")
        except ModelUnavailable as e:
            message = str(e)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]), message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="empty-hf-cache-")
    for label, env in [("HF_HUB_OFFLINE=1", {"HF_HUB_OFFLINE": "1"}),
                       ("online, hub refuses connections", {"HF_HUB_OFFLINE": "", "HF_ENDPOINT": "http://127.0.0.1:9"}),
                       ("online, default endpoint", {"HF_HUB_OFFLINE": "", "HF_ENDPOINT": "https://huggingface.co"})]:
        os.environ.update(env)
        for name in ("karlo", "kandinsky-2.2"):
            seconds, message = time_to_fail(name, args.repeats)
            print(f"missing {name:14s} ({label}): fails in {seconds * 1000:6.1f} ms (median of {args.repeats})")
        print(f"  message: {message}")
    root = Path(tempfile.mkdtemp(prefix="fake-hub-"))
    fake_hub.save_karlo(root, fake_hub.karlo_components("tiny"))
    fake_hub.save_kandinsky(root, fake_hub.kandinsky_components())
    for label, path in [("karlo (tiny layout)", root / fake_hub.KARLO_DIR), ("kandinsky-2.2 (tiny layout)", root)]:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            load_backend(str(path), device="cpu")
            times.append(time.perf_counter() - start)
        print(f"load {label}: {statistics.median(times):.2f} s (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
