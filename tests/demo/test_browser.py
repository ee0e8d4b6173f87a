"""A real browser (Debian's chromium, headless, driven by playwright) uploads a video, asks, and sees the timeline.

Needs ``apt-get install chromium`` and ``pip install playwright`` (no browser download: the system chromium is used).
``VIDLLM_DEMO_SCREENSHOT=docs/demo.png`` also saves the screenshot there (the README's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WAIT_MS = 30_000


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def wait_js(page, expression: str) -> None:
    """Wait until ``expression`` is true, polling on an interval (locator waits stalled here; they poll on frames)."""
    page.wait_for_function(expression, polling=250, timeout=WAIT_MS)


def chat_has(page, text: str) -> None:
    wait_js(page, f"(document.querySelector('#vidllm-chat')?.innerText || '').includes({text!r})")


def upload(page, path: Path) -> None:
    """Set the upload input's file, as choosing it in the file dialog does."""
    wait_js(page, "document.querySelector('input[type=file]') !== null")
    page.query_selector("input[type=file]").set_input_files(str(path))


def test_browser_uploads_asks_and_sees_the_timeline(server, browser, example_video, bad_upload, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(server)

    wait_js(page, "document.body.innerText.includes('shapes.mp4')")
    page.get_by_text("shapes.mp4", exact=True).first.click()  # the example video
    chat_has(page, "Loaded shapes.mp4")

    upload(page, bad_upload)
    chat_has(page, "is not a video this demo can read")

    upload(page, example_video)
    chat_has(page, "Loaded shapes.mp4")
    wait_js(page, "document.querySelector('#vidllm-video video') !== null")

    page.query_selector("#vidllm-question textarea").fill("When is the red square visible?")
    page.query_selector("#vidllm-ask").click()
    chat_has(page, "2.0 to 6.5 seconds")
    wait_js(page, "document.querySelectorAll('#vidllm-timeline rect.vidllm-interval').length === 2")

    page.query_selector_all("#vidllm-timeline rect.vidllm-interval")[1].click()  # seeks to the interval's start
    wait_js(page, "document.querySelector('#vidllm-video video').currentTime > 8.5")

    shot = tmp_path / "demo.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("VIDLLM_DEMO_SCREENSHOT"):
        page.screenshot(path=os.environ["VIDLLM_DEMO_SCREENSHOT"], full_page=True)
