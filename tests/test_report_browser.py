"""A small run's report, opened in headless Chromium: its headline numbers are metrics.json's.

The run is the one command (``airbnb.run``) on a 150-listing synthetic city with smoke training
and 2-fold cross-validation, so the report quotes the cross-validated figure. Chromium as in
tests/test_browser.py (skips with the reason when none is installed).
"""
from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
import yaml

from airbnb import run as runner
from airbnb.evaluate import MODEL_NAME

from conftest import REPO
from test_browser import CHROMIUM_FLAGS, chromium  # noqa: F401  (the fixture)


def test_the_report_shows_the_runs_cross_validated_headline(chromium, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="airbnb")
    params = {**yaml.safe_load((REPO / "params" / "smoke.yaml").read_text()), "city_dir": str(tmp_path / "city"),
              "city_listings": 150, "data_path": str(tmp_path / "t.parquet"), "cv": 2}
    run_dir = runner.run(None, tmp_path / "run", params=params)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cv = {name: values["mape_weighted"] for name, values in metrics["cv"]["mean"].items()}
    best = min((name for name in cv if name != MODEL_NAME), key=cv.get)
    assert f"report: {run_dir / 'report.html'}" in caplog.text
    assert f"run complete: model's weighted MAPE {100 * cv[MODEL_NAME]:.1f}%" in caplog.text

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            page = browser.new_page()
            page.goto((run_dir / "report.html").resolve().as_uri())
            assert float(page.get_attribute("#model-mape", "data-value")) == pytest.approx(cv[MODEL_NAME], rel=1e-12)
            assert page.inner_text("#model-mape") == f"{100 * cv[MODEL_NAME]:.1f}%"
            assert page.inner_text("#best-baseline") == best
            assert float(page.get_attribute("#baseline-mape", "data-value")) == pytest.approx(cv[best], rel=1e-12)
            assert page.inner_text("#source") == "2-fold cross-validation"
            assert page.inner_text("#trust").startswith("Trust the cross-validation figure")
            table = pd.read_parquet(params["data_path"])
            shown = page.locator("table.neighbourhoods tbody tr").count()
            assert shown == min(30, table["neighbourhood_cleansed"].nunique())
            for stage in runner.STAGES:  # every output is linked, and the links resolve
                href = page.get_attribute(f"a[href='{stage}.ipynb']", "href")
                assert (run_dir / href).is_file()
        finally:
            browser.close()
