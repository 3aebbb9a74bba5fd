"""Open a report in headless Chromium and collect what a reader would notice."""
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync", "--disable-quic"]


def open_report(path: Path) -> dict:
    """Title, sizes of pictures, console errors and network requests of the page at ``path``."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        errors, requests = [], []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        url = path.resolve().as_uri()
        page.goto(url, wait_until="load")
        boxes = [element.bounding_box() for element in page.query_selector_all("svg, img")]
        seen = {"title": page.title(), "boxes": boxes, "errors": errors,
                "requests": [r for r in requests if r != url], "text": page.inner_text("body")}
        browser.close()
    return seen
