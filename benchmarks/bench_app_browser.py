"""The Generate tab as a user sees it: wall time from the click to the summary, in headless Chromium.

    python benchmarks/bench_app_browser.py [--model tiny-emoji] [--runs 4] [--precision auto]

Starts `python app.py` (bench_generate.serving_app), drives Debian's chromium with playwright, and runs generate
(4 images, default settings, a new seed each run) `--runs` times; then sends an image to the Inpaint tab and runs
it `--runs` times again. Prints, for both, the median wall time (click to summary), the compute time the summary
reports, and the files the browser uploaded meanwhile. The second row watches a Gradio 6.31 browser-side cost:
once a gr.ImageEditor holding an image has been an input or output of a server event, every status message of
any later event makes the editor export its canvas and upload it again. The app keeps the editor out of every
server event (`components/send_to.py`, `components/inpaint.py`), so the two rows should match.
Browser and server share this machine's cores, as they do not on a Space.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generate import serving_app  # noqa: E402

from unclip.backend import PRECISIONS  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SUMMARY = "#generate-info"


def generate(page, seed: int, requests: list[str]) -> tuple[float, float, int]:
    """One run: (wall seconds, the seconds the summary reports, uploads during the run)."""
    box = page.locator("#seed input[type=number]")
    box.fill(str(seed))
    box.press("Enter")
    page.wait_for_timeout(300)
    before = page.locator(SUMMARY).inner_text()
    requests.clear()
    t0 = time.perf_counter()
    page.locator("#generate-btn").click()
    page.wait_for_function("([sel, b]) => { const e = document.querySelector(sel); "
                           "return e && e.innerText !== b && e.innerText.includes('images'); }",
                           arg=[SUMMARY, before], timeout=300_000)  # fmt: skip
    wall = time.perf_counter() - t0
    page.wait_for_timeout(1500)  # late messages (and their uploads) of this run
    reported = re.search(r"in ([0-9.]+) s", page.locator(SUMMARY).inner_text())
    return wall, float(reported.group(1)) if reported else float("nan"), sum("/upload" in u for u in requests)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="as app.py")
    ns = p.parse_args()
    from playwright.sync_api import sync_playwright

    with serving_app(ns.model, ns.precision) as (url, _, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url, wait_until="load")
        page.locator("#prompt textarea").fill("a cat above a pizza")
        generate(page, 1, requests)  # warm-up
        rows = {"plain": [generate(page, 10 * i, requests) for i in range(1, ns.runs + 1)]}
        page.locator("#generate-to-inpaint").click()
        page.locator("#inpaint-image canvas").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        page.get_by_role("tab", name="Generate", exact=True).first.click()
        rows["after an image was sent to Inpaint"] = [generate(page, 100 + 10 * i, requests) for i in range(ns.runs)]
        browser.close()
    print(f"Generate tab, 4 images, {ns.runs} runs each, headless chromium and the app on this machine")
    for name, runs in rows.items():
        print(f"  {name:36s} wall median {statistics.median(r[0] for r in runs):.2f} s, reported "
              f"{statistics.median(r[1] for r in runs):.2f} s, uploads per run {[r[2] for r in runs]}")


if __name__ == "__main__":
    main()
