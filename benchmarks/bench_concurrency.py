"""Several visitors at once: how long each waits for their images, with the model queue running 1 or 2 at a time.

    python benchmarks/bench_concurrency.py [--model tiny-emoji] [--visitors 4] [--rounds 3] [--limits 1 2]

Starts one `python app.py --concurrency C` per limit C, then, round after round and alternating between the
servers (so both see the same machine), has `--visitors` clients each ask /generate for 4 images at the default
settings at the same moment. Prints, per limit: the median time to the first visitor's images, the median over
all visitors, the median time until the last one has theirs, and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_generate import peak_rss_mb, serving_app  # noqa: E402

from unclip.backend import PRECISIONS  # noqa: E402

PROMPT = "a red apple left of a cat"


def one_round(url: str, visitors: int, seed: int) -> list[float]:
    """Seconds each visitor waited, from the common start to their images, sorted."""
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(visitors)]
    start = time.perf_counter()

    def visit(i: int) -> float:
        clients[i].predict(prompt=PROMPT, n=4, seed=seed + 10 * i, api_name="/generate")
        return time.perf_counter() - start

    with ThreadPoolExecutor(visitors) as pool:
        return sorted(pool.map(visit, range(visitors)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--visitors", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limits", type=int, nargs="+", default=[1, 2], help="the --concurrency values compared")
    p.add_argument("--precision", choices=PRECISIONS, default=os.environ.get("UNCLIP_PRECISION", "auto"))
    ns = p.parse_args()
    waits: dict[int, list[list[float]]] = {c: [] for c in ns.limits}
    with ExitStack() as stack:
        servers = {c: stack.enter_context(serving_app(ns.model, ns.precision, extra=["--concurrency", str(c)]))
                   for c in ns.limits}  # fmt: skip
        for url, _, _ in servers.values():
            one_round(url, 1, seed=0)  # warm-up: first-run costs (allocations, caches) out of the figures
        for r in range(ns.rounds):
            for c in ns.limits if r % 2 == 0 else ns.limits[::-1]:
                waits[c].append(one_round(servers[c][0], ns.visitors, seed=100 * r))
        rss = {c: peak_rss_mb(proc.pid) for c, (_, proc, _) in servers.items()}
    print(f"{ns.visitors} visitors at once, each /generate n=4 at the default settings; {ns.rounds} rounds, "
          f"medians over rounds; {ns.model}, {os.cpu_count()} CPUs")
    for c in ns.limits:
        first = statistics.median(w[0] for w in waits[c])
        every = statistics.median(x for w in waits[c] for x in w)
        last = statistics.median(w[-1] for w in waits[c])
        print(f"--concurrency {c}: first visitor {first:.2f} s, any visitor {every:.2f} s, last visitor "
              f"{last:.2f} s; server peak RSS {rss[c]:.0f} MB")


if __name__ == "__main__":
    main()
