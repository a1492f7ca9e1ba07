"""A run's report, opened in headless Chromium: its headline numbers are metrics.json's.

Two runs of the one command (``airbnb.run``): a 150-listing synthetic city with smoke training and
2-fold cross-validation (runs everywhere), and Albany's real files through the city route
(``--city``; skipped without ``../shared``). Both cross-validate, so the report quotes the
cross-validated figure. Chromium as in tests/test_browser.py (skips with the reason when none is
installed).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml

from airbnb import run as runner
from airbnb.etl import summary_path
from airbnb.evaluate import MODEL_NAME

from conftest import REPO
from test_browser import CHROMIUM_FLAGS, chromium  # noqa: F401  (the fixture)


def cross_validated(metrics: dict) -> tuple[dict[str, float], dict[str, float], str]:
    """(mean, sd) weighted MAPE per model over the folds, and the best baseline's name."""
    mean, sd = ({name: m["mape_weighted"] for name, m in metrics["cv"][k].items()} for k in ("mean", "sd"))
    return mean, sd, min((name for name in mean if name != MODEL_NAME), key=mean.get)


def check_report(chromium: str, run_dir: Path) -> str:
    """Open the run's report.html: its headline is metrics.json's cross-validated figures as
    displayed (one decimal, in %), its medians cover the table's neighbourhoods, its links resolve.
    Returns the page's text."""
    from playwright.sync_api import sync_playwright

    metrics = json.loads((run_dir / "metrics.json").read_text())
    mean, sd, best = cross_validated(metrics)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            page = browser.new_page()
            page.goto((run_dir / "report.html").resolve().as_uri())
            for name, shown in ((MODEL_NAME, "#model-mape"), (best, "#baseline-mape")):
                assert page.inner_text(shown) == f"{100 * mean[name]:.1f}%"
                assert float(page.get_attribute(shown, "data-value")) == mean[name]
            headline = page.inner_text(".headline")
            assert f"{100 * mean[MODEL_NAME]:.1f}% ± {100 * sd[MODEL_NAME]:.1f}" in headline
            assert f"{100 * mean[best]:.1f}% ± {100 * sd[best]:.1f}" in headline
            assert page.inner_text("#best-baseline") == best
            assert page.inner_text("#source") == f"{metrics['cv']['k']}-fold cross-validation"
            assert page.inner_text("#trust").startswith("Trust the cross-validation figure")
            table = pd.read_parquet(metrics["data"]["path"])
            shown = page.locator("table.neighbourhoods tbody tr").count()
            assert shown == min(30, table["neighbourhood_cleansed"].nunique())
            for stage in runner.STAGES:  # every output is linked, and the links resolve
                href = page.get_attribute(f"a[href='{stage}.ipynb']", "href")
                assert (run_dir / href).is_file()
            return page.inner_text("body")
        finally:
            browser.close()


def test_the_report_shows_the_runs_cross_validated_headline(chromium, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="airbnb")
    params = {**yaml.safe_load((REPO / "params" / "smoke.yaml").read_text()), "city_dir": str(tmp_path / "city"),
              "city_listings": 150, "data_path": str(tmp_path / "t.parquet"), "cv": 2}
    run_dir = runner.run(None, tmp_path / "run", params=params)
    mean, _, _ = cross_validated(json.loads((run_dir / "metrics.json").read_text()))
    assert f"report: {run_dir / 'report.html'}" in caplog.text
    assert f"run complete: model's weighted MAPE {100 * mean[MODEL_NAME]:.1f}%" in caplog.text
    check_report(chromium, run_dir)


def test_an_albany_runs_report_shows_its_metrics(chromium, albany_city_run):
    """The city route on Albany's real files: the report's headline is its metrics.json's, and it
    says how many listings the ETL dropped for want of recent reviews (the table's summary)."""
    text = check_report(chromium, albany_city_run)
    metrics = json.loads((albany_city_run / "metrics.json").read_text())
    summary = json.loads(summary_path(metrics["data"]["path"]).read_text())
    dropped = next(s for s in summary["steps"] if s["step"] == "positive_weight")["dropped"]["zero_weight"]
    assert text.startswith("albany: nightly price model report")
    assert f"{summary['rows_out']:,} listing-months of {summary['listings_out']:,} listings kept" in text
    assert f"dropped {dropped:,} of " in text and "no review in the 90 days before their scrape" in text
