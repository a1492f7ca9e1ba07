"""K-fold cross-validation grouped by listing: the folds, the scores and the CLI's errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airbnb import evaluate, train
from airbnb.metrics import metric_columns

from conftest import cli_error


@pytest.fixture(scope="module")
def table(small_table):
    return pd.read_parquet(small_table)


@pytest.mark.parametrize("k", [2, 5])
def test_folds_are_disjoint_by_listing_and_test_each_listing_once(table, k):
    folds = train.cv_splits(table["listing_id"], k, test_size=0.2)
    assert len(folds) == k
    tested = []
    for split in folds:
        assert set(split) == {"train", "validation", "test"}
        listings = {name: set(table.loc[split == name, "listing_id"]) for name in ("train", "validation", "test")}
        assert not listings["train"] & listings["validation"]
        assert not listings["train"] & listings["test"] and not listings["validation"] & listings["test"]
        tested.extend(listings["test"])
    assert sorted(tested) == sorted(table["listing_id"].unique())  # each listing tested exactly once


def test_validation_share_is_test_size_of_all_listings(table):
    n = table["listing_id"].nunique()
    for split in train.cv_splits(table["listing_id"], 4, test_size=0.2):
        share = table.loc[split == "validation", "listing_id"].nunique() / n
        assert share == pytest.approx(0.2, abs=0.02)


@pytest.fixture(scope="module")
def cv(small_table, tmp_path_factory):
    config = train.configure(data_path=str(small_table), epochs=4, ensemble_size=2, progress=False,
                             output_dir=str(tmp_path_factory.mktemp("unused")))
    return evaluate.cross_validate(config, 3, baselines=["weighted_mean", "lightgbm"], progress=False)


def test_every_model_is_scored_on_every_fold(cv, table):
    assert cv.k == 3 and len(cv.folds) == 3 * 3
    assert list(cv.mean.index) == [evaluate.MODEL_NAME, "weighted_mean", "lightgbm"]
    per_model = cv.folds.groupby("model")["test_rows"].sum()
    assert (per_model == len(table)).all()  # the folds' test rows are the whole table, once
    assert np.isfinite(cv.folds[metric_columns()].to_numpy()).all()


def test_cold_start_buckets_pool_every_fold(cv, table):
    """The review buckets of all folds' test rows together: each model, every row once."""
    from airbnb.metrics import REVIEW_BUCKETS, review_buckets

    cold = cv.cold_start
    assert set(cold.index.get_level_values("model")) == set(cv.mean.index)
    for model, buckets in cold.groupby(level="model"):
        assert buckets["n_rows"].sum() == len(table), model
    expected = review_buckets(table["number_of_reviews_ltm"]).value_counts()
    got = cold.loc[evaluate.MODEL_NAME, "n_rows"]
    assert {b: got[b] for b in got.index} == {b: expected[b] for b in REVIEW_BUCKETS if expected[b]}
    assert json.loads(json.dumps(cv.to_dict()))["cold_start"][0]["model"] == evaluate.MODEL_NAME


def test_month_table_pools_every_fold(cv, table):
    """Every model's errors per snapshot month over all folds' test rows: each row once, and the
    months' weighted errors add up to the pooled one."""
    months = cv.months
    assert set(months.index.get_level_values("model")) == set(cv.mean.index)
    got = months.loc["weighted_mean", "n_rows"]
    assert got.to_dict() == table["year_month"].value_counts().sort_index().to_dict()
    assert months.loc[evaluate.MODEL_NAME, "weight_share"].sum() == pytest.approx(1.0)
    assert json.loads(json.dumps(cv.to_dict()))["months"][0]["year_month"] == table["year_month"].min()


def test_out_of_fold_predictions_rescore_each_fold(cv, table):
    """Every row once, priced by its fold's models: a fold's rows give back that fold's metrics."""
    from airbnb.metrics import regression_metrics

    oof = cv.predictions
    assert len(oof) == len(table) and not oof.duplicated(["listing_id", "year_month"]).any()
    assert set(cv.mean.index) <= set(oof.columns)
    assert oof.groupby("listing_id")["fold"].nunique().max() == 1  # a listing is tested in one fold
    for fold, rows in oof.groupby("fold"):
        got = regression_metrics(rows["target_price"], rows["lightgbm"], rows["estimated_occupancy_rate"])["mape"]
        expected = cv.folds.query("fold == @fold and model == 'lightgbm'")["mape_weighted"].item()
        assert got == pytest.approx(expected)
    assert "predictions" not in cv.to_dict()  # the record stays small


def test_mean_and_sd_are_over_the_folds(cv):
    mape = cv.folds.pivot(index="fold", columns="model", values="mape_weighted")
    np.testing.assert_allclose(cv.mean["mape_weighted"], mape.mean()[cv.mean.index])
    np.testing.assert_allclose(cv.sd["mape_weighted"], mape.std(ddof=1)[cv.mean.index])
    summary = cv.summary()
    best = summary.index[0]
    assert cv.mean.loc[best, "mape_weighted"] == cv.mean["mape_weighted"].min()
    assert summary.loc[best, "mape_weighted"] == (f"{100 * cv.mean.loc[best, 'mape_weighted']:.2f}% ± "
                                                 f"{100 * cv.sd.loc[best, 'mape_weighted']:.2f}")


def test_the_model_beats_the_weighted_mean(cv):
    assert cv.mean.loc[evaluate.MODEL_NAME, "mape_weighted"] < cv.mean.loc["weighted_mean", "mape_weighted"]


def test_record_is_json(cv, tmp_path):
    saved = json.loads(json.dumps(cv.to_dict()))
    assert saved["k"] == 3 and saved["grouped_by"] == "listing_id" and len(saved["folds"]) == 9
    assert saved["config"]["epochs"] == 4


@pytest.mark.parametrize("k", [1, 0, 2.5, True])
def test_bad_fold_count_is_named(small_table, k):
    with pytest.raises(ValueError, match="cv must be an integer >= 2"):
        evaluate.cross_validate(train.configure(data_path=str(small_table)), k)


def test_too_few_listings_for_the_folds(table):
    with pytest.raises(ValueError, match="too few listings"):
        train.cv_splits(table["listing_id"].iloc[:3], 5, 0.2)


def test_cli_errors_are_clean(small_table, tmp_path, capsys):
    assert "cv must be an integer" in cli_error(capsys, evaluate.main, ["--data-path", str(small_table), "--cv", "1"])
    assert "baseline" in cli_error(capsys, evaluate.main, ["--data-path", str(small_table), "--cv", "2",
                                                          "--baselines", "xgboost"])
    # no run where --artifacts points
    assert "no-run not found" in cli_error(capsys, evaluate.main, ["--artifacts", str(tmp_path / "no-run"), "--cv", "3"])
