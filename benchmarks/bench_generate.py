"""Speed and memory of the default path, printed as figures (never asserted: machines here are noisy).

    python benchmarks/bench_generate.py [--model tiny-emoji] [--runs 5] [--threads 2] [--precision auto]

Prints: the median (and min/max) latency of generate(n=4) at the model's default settings on the current
device and precision (auto, as the app: bf16 autocast on CPUs with AMX), per stage; the app's start-up time to
its first HTTP response; and the peak RSS of both processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_edit import timed  # noqa: E402  (one timing loop for every benchmark)

from unclip.backend import PRECISIONS  # noqa: E402


def time_generate(model: str, runs: int, n: int, precision: str) -> dict:
    from unclip import load_backend

    t0 = time.perf_counter()
    backend = load_backend(model, precision=precision)
    load_s = time.perf_counter() - t0
    t = timed(lambda seed: backend.generate_stream("a red apple left of a cat", n=n, seed=seed), runs)
    return {"model": backend.name, "device": str(backend.models.device), "precision": backend.precision,
            "load_s": load_s, **t,
            "settings": backend.default_settings().to_dict()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving_app(model: str, precision: str, timeout: float = 300, extra: Sequence[str] = ()
                ) -> Iterator[tuple[str, subprocess.Popen, float]]:  # fmt: skip
    """`python app.py [extra]` on a free port: (url, process, seconds to its first HTTP 200); stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--model", model, "--precision", precision, "--port", str(port),
                             *extra], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.perf_counter() - t0 > timeout:
                    raise SystemExit(f"the app did not answer at {url} within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield url, proc, time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB."""
    hwm = next((line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("VmHWM")), "0")  # fmt: skip
    return int(hwm) / 1024


def time_app_start(model: str, precision: str) -> dict:
    """Seconds from `python app.py` to the first HTTP 200, and the server's peak RSS (VmHWM) then."""
    with serving_app(model, precision) as (_, proc, startup):
        rss = peak_rss_mb(proc.pid)
    return {"startup_s": startup, "server_peak_rss_mb": rss}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.environ.get("UNCLIP_MODEL", "tiny-emoji"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("-n", type=int, default=4)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--precision", choices=PRECISIONS, default=os.environ.get("UNCLIP_PRECISION", "auto"),
                   help="as app.py (auto: bf16 on CPUs with AMX; env UNCLIP_PRECISION), for both measurements")
    p.add_argument("--skip-app", action="store_true")
    ns = p.parse_args()
    import torch

    if ns.threads:
        torch.set_num_threads(ns.threads)
    g = time_generate(ns.model, ns.runs, ns.n, ns.precision)
    med = statistics.median(g["totals"])
    print(f"model {g['model']} on {g['device']} ({torch.get_num_threads()} threads, {g['precision']}), "
          f"load {g['load_s']:.1f} s")
    print(f"generate(n={ns.n}) median {med:.2f} s  (min {min(g['totals']):.2f}, max {max(g['totals']):.2f}, "
          f"{ns.runs} runs)")
    print("  per stage (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in g["stages"].items()))
    print(f"  benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not ns.skip_app:
        a = time_app_start(ns.model, ns.precision)
        print(f"app start-up to first response {a['startup_s']:.1f} s, server peak RSS "
              f"{a['server_peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
