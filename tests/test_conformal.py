"""The calibrated price range: the weighted split-conformal quantile, its record, and its coverage."""
from __future__ import annotations

import json
import logging
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from airbnb import conformal, evaluate, predict
from airbnb.conformal import Calibration, weighted_conformal_quantile
from airbnb.errors import ConfigError
from airbnb.predict import PricePredictor

from conftest import rerecord


def test_equal_weights_give_the_classical_split_conformal_rank():
    """n = 9 scores 1..9: coverage 0.8 is the ceil(10 * 0.8) = 8th smallest, 0.95 needs a 10th: unbounded."""
    scores = np.arange(9, 0, -1, dtype=float)  # unsorted on purpose
    q = weighted_conformal_quantile(scores, np.ones(9), [0.5, 0.8, 0.9, 0.95])
    assert list(q) == [5.0, 8.0, 9.0, math.inf]


def test_weights_move_the_quantile_by_their_mass():
    """Scores 1-4 with weights 1, .5, .5, 1 and the test point's 1: cumulative shares .25 .375 .5 .75."""
    q = weighted_conformal_quantile(np.array([4.0, 2.0, 3.0, 1.0]), np.array([1.0, 0.5, 0.5, 1.0]),
                                    [0.25, 0.3, 0.5, 0.6, 0.75, 0.8])
    assert list(q) == [1.0, 2.0, 3.0, 4.0, 4.0, math.inf]


def test_weighted_coverage_holds_on_fresh_rows():
    """Log-normal prices with noise that grows with the weight: the weighted range covers 80% of the
    weighted test rows (the unweighted range would not)."""
    rng = np.random.default_rng(0)

    def draw(n):
        w = rng.uniform(0.05, 1.0, n)
        price = np.exp(rng.normal(4.8, 0.6, n))
        listed = price * np.exp(rng.normal(0, 0.1 + 0.5 * w, n))
        return listed, price, w

    calibration = Calibration.fit(*draw(20_000))
    listed, price, w = draw(40_000)
    low, high = calibration.interval(price, 0.8)
    report = conformal.coverage_report(listed, low, high, w)
    assert report["coverage_weighted"] == pytest.approx(0.8, abs=0.015)
    assert report["coverage_unweighted"] > 0.83, "heavier rows are noisier: unweighted, the range is wide"
    assert np.allclose(high / price, np.exp(calibration.half_width(0.8))) and (low > 0).all()


def test_levels_interpolate_and_round_trip_through_json():
    calibration = Calibration.fit(*_toy_rows(500))
    again = Calibration.from_record(json.loads(json.dumps(calibration.to_record())))
    assert again == calibration
    assert calibration.half_width(0.5) < calibration.half_width(0.8) < calibration.half_width(0.95)
    mid = calibration.half_width(0.805)
    assert mid == pytest.approx((calibration.half_width(0.8) + calibration.half_width(0.81)) / 2)
    tiny = Calibration.fit(*_toy_rows(3))  # 3 rows cannot support an 80% range
    assert tiny.to_record()["half_widths"][79] is None
    assert Calibration.from_record(tiny.to_record()).interval([100.0], 0.8) == (np.array([0.0]), np.array([np.inf]))


@pytest.mark.parametrize("bad", [0, 1, 1.5, "0.8", True, None])
def test_coverage_must_be_a_share(bad):
    with pytest.raises(ConfigError, match="coverage must be a number from 0.01 to 0.99"):
        conformal.check_coverage(bad)


def _toy_rows(n):
    rng = np.random.default_rng(1)
    price = np.exp(rng.normal(5, 0.5, n))
    return price * np.exp(rng.normal(0, 0.3, n)), price, rng.uniform(0.1, 1, n)


# --------------------------------------------------------------------------- a trained run

def test_training_records_the_calibration_of_its_validation_rows(small_run):
    config = json.loads((small_run / "model_config.json").read_text())
    record = config["calibration"]
    assert record["split"] == "validation" and record["rows"] == config["rows"]["validation"]
    assert len(record["half_widths"]) == 99 and record["levels"][79] == 0.8
    widths = np.array(record["half_widths"], dtype=float)
    assert (np.diff(widths) >= 0).all() and 0 < widths[79] < 2


def test_predicted_prices_carry_their_range(small_run, small_table):
    predictor = PricePredictor.load(small_run)
    rows = pd.read_parquet(small_table).iloc[:200]
    got = predictor.predict_table(rows)
    assert list(got.columns[:4]) == ["listing_id", "month", "recommended_price", "price_low"]
    q = Calibration.from_record(predictor.config["calibration"]).half_width(0.8)
    np.testing.assert_allclose(got["price_high"] / got["recommended_price"], math.exp(q), rtol=1e-12)
    np.testing.assert_allclose(got["recommended_price"] / got["price_low"], math.exp(q), rtol=1e-12)
    narrow, wide = predictor.predict_table(rows, coverage=0.5), predictor.predict_table(rows, coverage=0.95)
    assert (narrow["price_high"] < got["price_high"]).all() and (wide["price_high"] > got["price_high"]).all()
    with pytest.raises(ConfigError, match="coverage"):
        predictor.predict_table(rows, coverage=80)


def test_a_run_without_calibration_gives_nan_with_one_warning(small_run, small_table, tmp_path, caplog):
    old = tmp_path / "old-run"
    shutil.copytree(small_run, old)
    config = json.loads((old / "model_config.json").read_text())
    del config["calibration"]
    (old / "model_config.json").write_text(json.dumps(config))
    rerecord(old)
    predictor = PricePredictor.load(old)
    rows = pd.read_parquet(small_table).iloc[:5]
    with caplog.at_level(logging.WARNING, logger="airbnb.predict"):
        first, second = predictor.predict_table(rows), predictor.predict_table(rows)
    assert first["price_low"].isna().all() and second["price_high"].isna().all()
    assert first["recommended_price"].notna().all()
    assert sum("no calibrated price range" in r.getMessage() for r in caplog.records) == 1


def test_metrics_report_the_test_split_coverage(small_run):
    ev = evaluate.evaluate_run(small_run, baselines=[])
    report = ev.to_dict()["price_range"]
    y, w = ev.rows["target_price"], ev.rows["estimated_occupancy_rate"]
    inside = (y >= ev.predictions["price_low"]) & (y <= ev.predictions["price_high"])
    assert report["calibrated_on"] == "validation" and report["coverage_target"] == 0.8
    assert report["coverage_weighted"] == pytest.approx(np.average(inside, weights=w))
    assert report["coverage_unweighted"] == pytest.approx(inside.mean())
    shares = [report["levels"][k]["coverage_weighted"] for k in ("0.50", "0.80", "0.90", "0.95")]
    assert shares == sorted(shares) and 0.6 < report["coverage_weighted"] < 0.95
    assert json.loads(json.dumps(ev.to_dict(), default=str))["price_range"]["rows"] == len(ev.rows)


def test_the_command_line_writes_the_range(small_run, small_city, tmp_path):
    out = tmp_path / "preds.csv"
    predict.main(["--artifacts", str(small_run), "--listings", str(small_city.listings[0]), "--month", "7",
                  "--output", str(out)])
    csv = pd.read_csv(out)
    assert {"price_low", "price_high"} <= set(csv.columns)
    assert ((csv["price_low"] < csv["recommended_price"]) & (csv["recommended_price"] < csv["price_high"])).all()
