"""How fast does the price explorer answer a control change? (target: under 300 ms)

    python benchmarks/explore.py [--artifacts runs/default/artifacts] [--changes 40] [--browser-changes 12]

Two measurements on one run (default: ``make run``'s, the 5,000-listing synthetic city and its
five-member ensemble):

- **in the kernel**: the explorer's page (``airbnb.explore_app.ExplorerApp``) in this process;
  each change sets a control's value and times everything it triggers: the listing changed, the
  model pricing it for 12 months, its comparables among the table's listings, the five HTML
  outputs rebuilt (the widgets' messages have no browser to go to here);
- **in a browser**: the page served by Voilà on a free localhost port and driven by headless
  Chromium (Playwright, Debian's ``chromium``): the time from typing a new guest count and Enter
  until the page shows the new price (the kernel's work, the widget messages both ways and the
  browser's redraw). Skipped with a note when no Chromium is installed.

Writes the ``explore`` section of BENCHMARKS.md with the machine and this command.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from run import update_markdown  # benchmarks/run.py: BENCHMARKS.md sections with the machine line

from airbnb.explore import ExploreConfig, Explorer
from airbnb.explore_app import ExplorerApp
from airbnb.explore_server import running_server

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ms(values) -> str:
    values = np.asarray(values) * 1000
    return f"{np.median(values):.0f} | {np.percentile(values, 95):.0f} | {values.max():.0f}"


def in_kernel(artifacts: Path, changes: int) -> tuple[list[str], dict]:
    started = time.perf_counter()
    explorer = Explorer.load(artifacts)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    page = ExplorerApp(explorer)
    first = time.perf_counter() - started
    rng = np.random.default_rng(0)
    amenities = list(page.controls["amenities"].value)
    neighbourhoods = explorer.options()["neighbourhood_cleansed"]
    kinds = {
        "guests (accommodates 1–8)": ("accommodates", [int(v) for v in np.arange(changes) % 8 + 1]),
        "month (1–12)": ("month", [int(v) for v in np.arange(changes) % 12 + 1]),
        "amenities (one removed, then put back)": ("amenities", [amenities[:-1] if i % 2 == 0 else amenities
                                                                  for i in range(changes)]),
        "neighbourhood (another one each time)": ("neighbourhood_cleansed",
                                                  list(rng.choice(neighbourhoods, changes))),
        "review score (rating)": ("review_scores_rating", [round(4.0 + 0.02 * (i % 50), 2) for i in range(changes)]),
    }
    rows, everything = [], []
    for label, (name, values) in kinds.items():
        times = []
        for value in values:
            t0 = time.perf_counter()
            page.controls[name].value = value
            times.append(time.perf_counter() - t0)
            assert page.quote is not None, page.notes.value
        everything += times
        rows.append(f"| {label} | {len(times)} | {ms(times)} |")
    ids = rng.choice(explorer.listing_ids(), min(changes, len(explorer.listing_ids())), replace=False)
    times = []
    for listing_id in ids:
        t0 = time.perf_counter()
        page.listing_id.value = str(listing_id)
        times.append(time.perf_counter() - t0)
    rows.append(f"| start from a listing ID (all controls refilled) | {len(times)} | {ms(times)} |")
    everything += times
    rows.append(f"| **every change above** | {len(everything)} | **{ms(everything)}** |")
    return rows, {"load_s": loaded, "first_s": first, "listings": len(explorer.listing_ids()),
                  "members": len(explorer.predictor.config.get("ensemble") or [1]), "all": everything}


def in_browser(artifacts: Path, changes: int) -> tuple[str, dict] | None:
    chromium = os.environ.get("AIRBNB_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("skipping the browser measurement: no chromium installed", flush=True)
        return None
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="explore-bench-") as folder, \
            running_server(ExploreConfig(artifacts_dir=str(artifacts)), Path(folder)) as url, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(Path(folder) / "profile"), executable_path=chromium,
                                                       headless=True, args=CHROMIUM_FLAGS,
                                                       viewport={"width": 1280, "height": 1100})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            started = time.perf_counter()
            page.goto(url, timeout=300_000, wait_until="domcontentloaded")
            page.wait_for_selector(".airbnb-explore-price[data-price]:not([data-price=''])", timeout=300_000)
            first = time.perf_counter() - started
            box = page.locator(".explore-accommodates input")
            times = []
            for i in range(changes):
                before = page.get_attribute(".airbnb-explore-price", "data-price")
                value = str(2 + i % 6)
                if box.input_value() == value:
                    value = str(8)
                box.fill(value)
                t0 = time.perf_counter()
                box.press("Enter")
                page.wait_for_function("b => { const e = document.querySelector('.airbnb-explore-price');"
                                       " return e && e.dataset.price && e.dataset.price !== b; }", arg=before,
                                       timeout=30_000)
                times.append(time.perf_counter() - t0)
        finally:
            context.close()
    row = f"| guests typed + Enter → new price shown | {len(times)} | {ms(times)} |"
    return row, {"first_s": first, "all": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", default="runs/default/artifacts", help="a run's artifacts (relative to the repo)")
    parser.add_argument("--changes", type=int, default=40, help="changes per kind of control, in the kernel")
    parser.add_argument("--browser-changes", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.ERROR)
    artifacts = REPO / args.artifacts  # an absolute path stays as given
    if not (artifacts / "model_config.json").is_file():
        raise SystemExit(f"error: no run in {artifacts}: make run trains the default run")
    load = os.getloadavg()[0]
    rows, kernel = in_kernel(artifacts, args.changes)
    browser = in_browser(artifacts, args.browser_changes)
    worst = max(np.percentile(kernel["all"], 95), np.percentile(browser[1]["all"], 95) if browser else 0) * 1000
    body = "\n".join([
        "## Price explorer: update after a control change (`benchmarks/explore.py`)", "",
        f"The explorer of `{args.artifacts}` ({kernel['listings']:,} table listings whose axis contributions are "
        f"computed once per session, a {kernel['members']}-member ensemble). *In the kernel*: "
        "`ExplorerApp` in one process, each change a control's new value and everything it triggers (the "
        "listing priced for 12 months in one model call, its 5 comparables, the page's HTML rebuilt). *In a "
        "browser*: the page served by Voilà on localhost and driven by headless Chromium (Playwright); from Enter "
        "in the guests box until the page shows the new price. Target: under 300 ms.", "",
        "| change | changes | median (ms) | p95 (ms) | max (ms) |", "|---|---|---|---|---|", *rows,
        *([browser[0]] if browser else ["| in a browser | – | no chromium installed | | |"]), "",
        f"Opening the run (model, table, every listing's contributions): {kernel['load_s']:.1f} s; the first "
        f"quote and widgets: {kernel['first_s'] * 1000:.0f} ms"
        + (f"; the page's first render in the browser (kernel start, imports, opening the run): "
           f"{browser[1]['first_s']:.0f} s." if browser else "."),
        f"Target under 300 ms: {'met' if worst < 300 else 'NOT met'} (slowest p95 {worst:.0f} ms).", "",
        f"Load average (1 min) when it started / ended: {load:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        "cores (other work on the machine slows every figure)."])
    print(body)
    update_markdown({"explore": body})


if __name__ == "__main__":
    main()
