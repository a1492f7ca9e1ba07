"""Evaluating a training run: model vs baselines on the held-out test split, metrics.json, buckets."""
from __future__ import annotations

import json

import numpy as np
import pytest

from airbnb import evaluate
from airbnb.model import AXES


@pytest.fixture(scope="module")
def evaluation(trained_city):
    _, result = trained_city
    return evaluate.evaluate_run(result.output_dir, baselines=["weighted_mean", "ridge"])


def test_additive_model_beats_the_mean_and_ridge(evaluation):
    m = evaluation.metrics
    model = m.loc[evaluate.MODEL_NAME]
    for baseline in ("weighted_mean", "ridge"):
        assert model["rmse_weighted"] < m.loc[baseline, "rmse_weighted"], baseline
        assert model["mape_weighted"] < m.loc[baseline, "mape_weighted"], baseline
    assert model["r2_weighted"] > 0.9


def test_evaluates_only_held_out_listings(evaluation, trained_city):
    _, result = trained_city
    test_ids = set(result.table.loc[result.splits == "test", "listing_id"])
    assert set(evaluation.rows["listing_id"]) == test_ids
    explained = evaluation.explained()
    np.testing.assert_allclose(explained[["bias", *AXES]].sum(axis=1), explained["predicted_price"], atol=1e-3)


def test_buckets_cover_every_row(evaluation):
    assert set(evaluation.buckets) == {"room_type", "neighbourhood_group_cleansed", "price_decile"}
    cold_start = {f"{model} reviews": table.droplevel("model") for model, table in
                  evaluation.cold_start.groupby(level="model")}
    assert len(cold_start) == len(evaluation.metrics)  # every model, by reviews in the last 12 months
    for name, table in {**evaluation.buckets, **cold_start}.items():
        assert table["n_rows"].sum() == len(evaluation.rows), name
        assert table["weight_share"].sum() == pytest.approx(1.0), name
    assert set(evaluation.buckets["neighbourhood_group_cleansed"].index) <= {
        "Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island"}


def test_metrics_json(evaluation, tmp_path):
    path = evaluate.write_metrics(evaluation, tmp_path / "metrics.json")
    saved = json.loads(path.read_text())
    assert saved["split"] == "test" and saved["rows"] == len(evaluation.rows)
    assert saved["models"][evaluate.MODEL_NAME]["mape_weighted"] == pytest.approx(
        evaluation.metrics.loc[evaluate.MODEL_NAME, "mape_weighted"])
    assert saved["data"]["sha256"] and len(saved["buckets"]["price_decile"]) == 10


def test_month_profile_moves_only_seasonality(evaluation):
    row = evaluation.examples(1).iloc[0]
    profile = evaluation.month_profile(row)
    assert list(profile["month"]) == list(range(1, 13))
    assert profile["location_factor"].nunique() == 1 and profile["seasonality_factor"].nunique() > 1
    np.testing.assert_allclose(profile[["bias", *AXES]].sum(axis=1), profile["recommended_price"], rtol=1e-9)


def test_missing_split_is_explained(trained_city):
    _, result = trained_city
    with pytest.raises(ValueError, match="no 'holdout' rows"):
        evaluate.evaluate_run(result.output_dir, split="holdout", baselines=[])
