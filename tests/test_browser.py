"""A real browser on the app: Debian's chromium driven by playwright (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def page(app_url: str) -> Any:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app_url, wait_until="load")  # not "networkidle": gr.State keeps a heartbeat stream open
        page.locator("#prompt textarea").wait_for(timeout=60_000)
        yield page
        browser.close()


def set_number(page: Any, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_generate_in_the_browser(page: Any, tmp_path: Path) -> None:
    page.locator("#advanced").get_by_text("Advanced").click()
    for stage in ("prior_steps", "decoder_steps", "upsampler_steps"):  # seconds on a shared CPU
        set_number(page, stage, 2)
    page.locator("#prompt textarea").fill("a blue circle above a yellow star")
    set_number(page, "n", 2)
    page.locator("#generate-btn").click()
    images = page.locator("#generate-gallery img")
    images.first.wait_for(state="visible", timeout=120_000)
    assert images.count() >= 1
    page.wait_for_function("document.querySelectorAll('#generate-gallery img').length >= 2", timeout=60_000)
    assert "CLIP score" in page.locator("#generate-gallery").inner_text()
    assert "2 images" in page.locator("#generate-info").inner_text()
    shot = tmp_path / "generate.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
