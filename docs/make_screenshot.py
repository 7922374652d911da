"""Regenerate docs/screenshot.png: the app on the bundled model, after Generate, in headless Debian chromium.

    python docs/make_screenshot.py [--model tiny-emoji] [--prompt "..."] [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="tiny-emoji")
    p.add_argument("--prompt", default="a red apple left of a cat")
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    ns = p.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "app.py", "--model", ns.model, "--port", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url, wait_until="load")
            page.locator("#prompt textarea").fill(ns.prompt)
            page.locator("#generate-btn").click()
            page.wait_for_function("document.querySelectorAll('#generate-gallery img').length >= 4", timeout=300_000)
            page.mouse.move(0, 0)  # off the Generate button, which would show its hover colour
            page.wait_for_timeout(1500)
            page.screenshot(path=ns.out, full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(ns.out)


if __name__ == "__main__":
    main()
