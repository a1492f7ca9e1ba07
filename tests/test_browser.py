"""The explorer as a web page: Voilà on a free localhost port, driven by headless Chromium.

Needs a Chromium (Debian's ``chromium``: ``make test`` installs it when missing and root); Playwright's
Python API drives it (``executable_path``, no browser download). Without any Chromium the test
skips and says so. Server and browser are stopped by the test, every wait bounded.

``AIRBNB_SCREENSHOT=docs/explorer.png pytest tests/test_browser.py`` (``make screenshot``) also
writes the README's screenshot.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from airbnb.explore import ExploreConfig
from airbnb.explore_app import running_server

# Flags that work on this project's machines (no sandbox as root, no GPU, nothing fetched from outside).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 120  # the port opens (Voilà imports in 5-15 s)
PAGE_RENDER_S = 240  # kernel start, imports, loading the run and the first quote (a busy 2-core machine)
UPDATE_S = 30  # one re-price after a control change


def find_chromium() -> str | None:
    """$AIRBNB_CHROMIUM, else a chromium on the PATH (Debian's package: /usr/bin/chromium)."""
    for candidate in (os.environ.get("AIRBNB_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium found (install Debian's chromium package: make test does so as root, or set "
                    "AIRBNB_CHROMIUM to a Chromium executable)")
    return found


@pytest.fixture
def served(chromium, trained_city, tmp_path):
    """The explorer of a trained synthetic city served by Voilà on a free port; stopped afterwards."""
    _, result = trained_city
    with running_server(ExploreConfig(artifacts_dir=str(result.output_dir)), tmp_path, start_seconds=SERVER_START_S) \
            as url:
        yield url, tmp_path / "voila.log"


PRICE = ".airbnb-explore-price"


def shown_price(page) -> float:
    return float(page.get_attribute(PRICE, "data-price"))


def wait_for_new_price(page, before: str) -> float:
    page.wait_for_function("before => { const e = document.querySelector('.airbnb-explore-price');"
                           " return e && e.dataset.price && e.dataset.price !== before; }", arg=before,
                           timeout=UPDATE_S * 1000)
    return shown_price(page)


def breakdown(page) -> tuple[list[float], float]:
    steps = page.eval_on_selector_all(".airbnb-explore-step", "els => els.map(e => parseFloat(e.dataset.dollars))")
    return steps, float(page.get_attribute(".airbnb-explore-total", "data-total"))


def set_text(page, control: str, value: str) -> None:
    box = page.locator(f".explore-{control} input")
    box.fill(value)
    box.press("Enter")


def test_the_page_reprices_when_a_control_changes(chromium, served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, log = served
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1180}, timeout=60_000)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(UPDATE_S * 1000)
            page.goto(url, timeout=PAGE_RENDER_S * 1000, wait_until="domcontentloaded")
            try:
                page.wait_for_selector(f"{PRICE}[data-price]:not([data-price=''])", timeout=PAGE_RENDER_S * 1000)
            except Exception:
                pytest.fail(f"the explorer did not render:\n{page.inner_text('body')[:2000]}\n"
                            f"{log.read_text()[-3000:]}")

            two = shown_price(page)
            if page.input_value(".explore-accommodates input") != "2":
                before = page.get_attribute(PRICE, "data-price")
                set_text(page, "accommodates", "2")
                two = wait_for_new_price(page, before)
            set_text(page, "accommodates", "6")
            six = wait_for_new_price(page, page.get_attribute(PRICE, "data-price"))
            assert six != pytest.approx(two, rel=1e-4), "6 guests are priced unlike 2"
            steps, total = breakdown(page)
            assert len(steps) == 6 and sum(steps) == pytest.approx(six, abs=1e-4) and total == pytest.approx(six)
            low, high = (float(page.get_attribute(PRICE, a)) for a in ("data-low", "data-high"))
            assert 0 < low < six < high
            assert page.locator(".airbnb-explore-comparable").count() == 5
            assert page.locator(".airbnb-explore-curve circle").count() == 12
            page.wait_for_timeout(300)  # let the layout settle before the picture
            page.screenshot(path=str(tmp_path / "explorer.png"))
            if os.environ.get("AIRBNB_SCREENSHOT"):
                shutil.copy(tmp_path / "explorer.png", os.environ["AIRBNB_SCREENSHOT"])

            # bad input: a message in the page, never a traceback or a price
            set_text(page, "accommodates", "0")
            page.wait_for_selector(".airbnb-explore-error", timeout=UPDATE_S * 1000)
            assert "accommodates" in page.inner_text(".airbnb-explore-error")
            assert page.get_attribute(PRICE, "data-price") == "" and "Traceback" not in page.content()
            set_text(page, "accommodates", "3")
            wait_for_new_price(page, "")
            set_text(page, "neighbourhood_cleansed", "Atlantis")
            page.wait_for_function("() => (document.querySelector('.airbnb-explore-seen') || {}).innerText"
                                   "?.includes('<UNK>')", timeout=UPDATE_S * 1000)
            assert shown_price(page) > 0
        finally:
            context.close()
