"""The explorer as a web page: Voilà on a free localhost port, driven by headless Chromium.

Needs a Chromium (Debian's ``chromium``: ``make test`` installs it when missing and root); Playwright's
Python API drives it (``executable_path``, no browser download). Without any Chromium the test
skips and says so. Server and browser are stopped by the test, every wait bounded.

``AIRBNB_SCREENSHOT=docs/explorer.png pytest tests/test_browser.py`` (``make screenshot``) also
writes the README's screenshot.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from airbnb.explore import Explorer, ExploreConfig
from airbnb.explore_html import LINK_STYLE
from airbnb.explore_server import running_server

from conftest import ALBANY

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


@contextlib.contextmanager
def opened(chromium: str, url: str, log: Path, profile: Path):
    """Headless Chromium on the explorer page, once its first price is shown; closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
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
            yield page
        finally:
            context.close()


def test_the_page_reprices_when_a_control_changes(chromium, served, tmp_path):
    url, log = served
    with opened(chromium, url, log, tmp_path / "profile") as page:
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


def test_an_albany_run_in_the_browser(chromium, albany_city_run, tmp_path):
    """A real city's run (the one command on Albany): the page states the run's error against the
    best baseline as its metrics.json has it, opens on the month its data saw (November) without a
    warning, names the port it is served on, links comparables to Airbnb as links, gives distances
    in km, and prices a listing the ETL left out of the table from its raw row, at the price the
    package gives."""
    import json

    import pandas as pd

    from airbnb.evaluate import MODEL_NAME
    from airbnb.predict import read_listings_file

    metrics = json.loads((albany_city_run / "metrics.json").read_text())
    table_path, artifacts = metrics["data"]["path"], albany_city_run / "artifacts"
    cv_mean, cv_sd = ({name: m["mape_weighted"] for name, m in metrics["cv"][k].items()} for k in ("mean", "sd"))
    best = min((name for name in cv_mean if name != MODEL_NAME), key=cv_mean.get)
    table_ids = set(pd.read_parquet(table_path, columns=["listing_id"])["listing_id"])
    raw = read_listings_file(ALBANY / "listings.csv.gz")
    dropped = next(int(i) for i in raw["id"] if int(i) not in table_ids)
    expected = Explorer.load(artifacts)
    expected = expected.quote(expected.listing_from_id(dropped, month=11))
    with running_server(ExploreConfig(artifacts_dir=str(artifacts)), tmp_path, start_seconds=SERVER_START_S) as url, \
            opened(chromium, url, tmp_path / "voila.log", tmp_path / "profile") as page:
        for name, shown in ((MODEL_NAME, "model-mape"), (best, "baseline-mape")):
            assert page.inner_text(f".airbnb-explore-{shown}") == f"{100 * cv_mean[name]:.1f}%"
            assert float(page.get_attribute(f".airbnb-explore-{shown}", "data-value")) == cv_mean[name]
        accuracy = page.inner_text(".airbnb-explore-accuracy")
        assert f"{100 * cv_mean[MODEL_NAME]:.1f}% ± {100 * cv_sd[MODEL_NAME]:.1f}" in accuracy
        assert page.inner_text(".airbnb-explore-best-baseline") == best
        assert page.inner_text(".airbnb-explore-source") == "2-fold cross-validation"
        port = url.rstrip("/").rsplit(":", 1)[1]
        header = page.inner_text(".airbnb-explore-header")
        assert f":{port}/" in header and (port == "8866" or "8866" not in page.inner_text("body"))
        assert page.input_value(".explore-month input") == "11"
        assert "not in the training table" not in page.inner_text("body")
        links = page.locator(".airbnb-explore-comparable a.airbnb-explore-link")
        assert links.count() == 5
        assert links.first.get_attribute("href").startswith("https://www.airbnb.com/rooms/")
        style = links.first.evaluate("a => [getComputedStyle(a).textDecorationLine, getComputedStyle(a).color]")
        assert style == ["underline", "rgb(21, 101, 192)"] and "#1565c0" in LINK_STYLE
        kms = page.eval_on_selector_all(".airbnb-explore-km", "els => els.map(e => e.innerText)")
        assert len(kms) == 5 and all(k.endswith(" km") for k in kms), kms

        before = page.get_attribute(PRICE, "data-price")
        set_text(page, "listing-id", str(dropped))
        price = wait_for_new_price(page, before)
        assert price == pytest.approx(expected.price, rel=1e-6)
        assert f"listing {dropped} is not in the run's table" in page.inner_text(".explore-notes")
        own = page.locator(f"{PRICE} a.airbnb-explore-link")
        assert own.get_attribute("href") == f"https://www.airbnb.com/rooms/{dropped}"
