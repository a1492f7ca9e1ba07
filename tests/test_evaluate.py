"""Metrics against hand-computed values and bucket tables (the baselines: test_baselines.py)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from airbnb.metrics import (
    METRICS,
    bucket_metrics,
    metric_columns,
    metrics_table,
    price_deciles,
    regression_metrics,
    review_buckets,
    split_intervals,
)

# Three listings: errors +10, -20, 0 on prices 100, 200, 400; the third has weight 0.
Y = np.array([100.0, 200.0, 400.0])
P = np.array([110.0, 180.0, 400.0])
W = np.array([1.0, 3.0, 0.0])


# --------------------------------------------------------------------------- metrics

def test_unweighted_metrics_match_hand_computation():
    m = regression_metrics(Y, P)
    assert m["mape"] == pytest.approx((10 / 100 + 20 / 200 + 0) / 3)  # 0.0667
    assert m["mae"] == pytest.approx((10 + 20 + 0) / 3)  # 10
    assert m["rmse"] == pytest.approx(math.sqrt((100 + 400 + 0) / 3))  # sqrt(166.7)
    # mean 700/3; SS_tot = 133.3² + 33.3² + 166.7² = 140000/3; SS_res = 500 -> 1 - 3/280
    assert m["r2"] == pytest.approx(1 - 3 / 280)
    assert m["rmse_log"] == pytest.approx(math.sqrt((math.log(1.1) ** 2 + math.log(0.9) ** 2) / 3))


def test_weighted_metrics_match_hand_computation_and_differ():
    m = regression_metrics(Y, P, W)
    assert m["mape"] == pytest.approx((1 * 0.1 + 3 * 0.1) / 4)  # 0.1
    assert m["mae"] == pytest.approx((1 * 10 + 3 * 20) / 4)  # 17.5
    assert m["rmse"] == pytest.approx(math.sqrt((1 * 100 + 3 * 400) / 4))  # sqrt(325)
    # weighted mean (100 + 600)/4 = 175; SS_tot = 75² + 3·25² = 7500; SS_res = 1300
    assert m["r2"] == pytest.approx(1 - 1300 / 7500)
    assert m["rmse_log"] == pytest.approx(math.sqrt((math.log(1.1) ** 2 + 3 * math.log(0.9) ** 2) / 4))
    unweighted = regression_metrics(Y, P)
    assert all(m[k] != pytest.approx(unweighted[k]) for k in METRICS)


def test_perfect_predictions():
    m = regression_metrics(Y, Y, W)
    assert m["mape"] == 0 and m["mae"] == 0 and m["rmse"] == 0 and m["rmse_log"] == 0
    assert m["r2"] == 1


def test_nonpositive_predictions_are_clipped_to_one_dollar_for_log_error():
    m = regression_metrics([100.0, 100.0], [-5.0, 0.0])
    assert m["rmse_log"] == pytest.approx(math.log(100))
    assert np.isnan(m["r2"])  # every true price equal: nothing to explain


@pytest.mark.parametrize("kwargs, name", [
    (dict(y_true=Y, y_pred=P[:2]), "y_pred"),
    (dict(y_true=Y, y_pred=[1.0, np.nan, 3.0]), "y_pred"),
    (dict(y_true=[100.0, 0.0, 5.0], y_pred=P), "y_true"),
    (dict(y_true=[100.0, np.inf, 5.0], y_pred=P), "y_true"),
    (dict(y_true=Y, y_pred=P, weights=[1.0, -1.0, 1.0]), "weights"),
    (dict(y_true=Y, y_pred=P, weights=[0.0, 0.0, 0.0]), "weights"),
    (dict(y_true=Y, y_pred=P, weights=[1.0, 1.0]), "weights"),
])
def test_bad_inputs_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        regression_metrics(**kwargs)


def test_metrics_table_rows_columns_and_json():
    table = metrics_table(Y, {"model": P, "perfect": Y}, W)
    assert list(table.index) == ["model", "perfect"] and table.index.name == "model"
    assert list(table.columns) == metric_columns()
    assert table.loc["model", "mae_weighted"] == pytest.approx(17.5)
    assert table.loc["model", "mae_unweighted"] == pytest.approx(10)
    assert json.loads(json.dumps(table.to_dict(orient="index")))["perfect"]["r2_weighted"] == 1
    with pytest.raises(ValueError, match=r"predictions\['bad'\]"):
        metrics_table(Y, {"bad": P[:2]}, W)
    with pytest.raises(ValueError, match="weights"):
        metrics_table(Y, {"model": P}, None)


# --------------------------------------------------------------------------- buckets

def test_a_split_interval_is_the_textbook_one_for_many_alike_listings():
    """400 listings with independent errors: the 90% interval of the mean error is about
    mean ± 1.645 standard errors, and a model against itself has no gap."""
    rng = np.random.default_rng(3)
    y = np.full(400, 100.0)
    model, other = y * (1 + rng.uniform(0, 0.4, 400)), y * (1 + rng.uniform(0, 0.6, 400))
    found = split_intervals(y, {"m": model, "o": other, "same": model}, np.ones(400), np.arange(400), "m")
    errors = model / y - 1
    se = errors.std(ddof=1) / np.sqrt(400)
    lo, hi = found["mape_weighted"]["m"]
    assert lo == pytest.approx(errors.mean() - 1.645 * se, abs=0.25 * se)
    assert hi == pytest.approx(errors.mean() + 1.645 * se, abs=0.25 * se)
    assert found["gap"]["same"] == [0.0, 0.0] and "m" not in found["gap"]
    gap_lo, gap_hi = found["gap"]["o"]  # m's errors are smaller: its gap to o is negative
    assert gap_hi < 0 and gap_lo < (errors.mean() - (other / y - 1).mean()) < gap_hi
    assert (found["level"], found["unit"], found["reference"]) == (0.9, "listing", "m")


def test_a_split_interval_resamples_listings_not_rows():
    """A listing's months move together: two identical rows per listing give the interval of one row
    per listing, not a narrower one."""
    rng = np.random.default_rng(4)
    y, p = rng.uniform(50, 300, 60), rng.uniform(50, 300, 60)
    once = split_intervals(y, {"m": p}, np.ones(60), np.arange(60), "m")
    twice = split_intervals(np.repeat(y, 2), {"m": np.repeat(p, 2)}, np.ones(120), np.repeat(np.arange(60), 2), "m")
    assert twice["mape_weighted"] == once["mape_weighted"]


def test_a_split_interval_draws_in_chunks_as_in_one(monkeypatch):
    """A large city's draws are made a chunk at a time (memory); the interval is the same."""
    from airbnb import metrics

    rng = np.random.default_rng(5)
    y, p, q = rng.uniform(50, 300, 80), rng.uniform(50, 300, 80), rng.uniform(50, 300, 80)
    whole = split_intervals(y, {"m": p, "o": q}, np.ones(80), np.arange(80), "m")
    monkeypatch.setattr(metrics, "BOOTSTRAP_CELLS", 80 * 7)  # 7 draws at a time, the last chunk shorter
    assert split_intervals(y, {"m": p, "o": q}, np.ones(80), np.arange(80), "m") == whole


def test_review_bucket_edges():
    buckets = review_buckets(pd.Series([0, 1, 4, 5, 11, 250]))
    assert list(buckets) == ["0", "1–4", "1–4", "5+", "5+", "5+"]
    assert buckets.cat.ordered and list(buckets.cat.categories) == ["0", "1–4", "5+"]
    with pytest.raises(ValueError, match="number_of_reviews_ltm"):
        review_buckets([-1, 3])


def test_price_deciles_have_ten_ordered_levels_even_with_ties():
    prices = np.r_[np.full(40, 100.0), np.random.default_rng(0).uniform(25, 900, 60)]
    deciles = price_deciles(prices)
    levels = list(deciles.cat.categories)
    assert deciles.cat.ordered and len(levels) == 10
    assert levels[0].startswith("D1 ($") and levels[9].startswith("D10 ($")
    assert (deciles.value_counts() == 10).all()
    lows = prices.min() == pd.Series(prices).groupby(deciles.cat.codes).min().iloc[0]
    assert lows and pd.Series(prices).groupby(deciles.cat.codes).max().is_monotonic_increasing


def test_bucket_metrics_rows_and_weight_shares():
    rng = np.random.default_rng(1)
    y = rng.uniform(30, 600, 200)
    p = y * rng.uniform(0.8, 1.2, 200)
    w = rng.uniform(0, 1, 200)
    deciles = price_deciles(y)
    table = bucket_metrics(y, p, w, deciles)
    assert list(table.index) == list(deciles.cat.categories)  # D1..D10, not D1, D10, D2
    assert table["n_rows"].sum() == 200 and table["weight_share"].sum() == pytest.approx(1)
    first = np.flatnonzero(deciles.cat.codes == 0)
    assert table.iloc[0]["rmse_weighted"] == pytest.approx(regression_metrics(y[first], p[first], w[first])["rmse"])


def test_bucket_metrics_keep_missing_bucket_rows():
    groups = pd.Series(["Manhattan", None, "Brooklyn"], name="neighbourhood_group_cleansed")
    table = bucket_metrics(Y, P, W, groups)
    assert table["n_rows"].sum() == 3 and table["weight_share"].sum() == pytest.approx(1)
    assert table.index.name == "neighbourhood_group_cleansed"
    with pytest.raises(ValueError, match="buckets"):
        bucket_metrics(Y, P, W, groups[:2])
