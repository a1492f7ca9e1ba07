"""The accuracy benchmark's own logic: which real cities it finds, and how it states a result."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
try:
    import fold_assignments
    import own_city_route
    import quality
finally:
    sys.path.pop(0)


def test_every_inside_airbnb_folder_is_a_city(tmp_path):
    (tmp_path / "springfield-2025-01").mkdir()
    (tmp_path / "springfield-2025-01" / "listings.csv.gz").write_bytes(b"")
    (tmp_path / "springfield-2025-01" / "reviews.csv.gz").write_bytes(b"")
    for date in ("2024-01-02", "2023-12-01"):  # a panel: snapshot folders, no reviews of its own
        (tmp_path / "springfield-panel" / date).mkdir(parents=True)
        (tmp_path / "springfield-panel" / date / "listings.csv").write_bytes(b"")
    (tmp_path / "nyc-sample").mkdir()
    (tmp_path / "nyc-sample" / "listings.csv").write_bytes(b"")
    (tmp_path / "notes").mkdir()  # no listings: not a city
    (tmp_path / "README.md").write_text("")
    found = quality.real_cities(tmp_path)
    assert list(found) == ["nyc-sample", "springfield-2025-01", "springfield-panel"]
    assert found["springfield-2025-01"] == ("Springfield (2025-01)", [tmp_path / "springfield-2025-01" / "listings.csv.gz"],
                                            tmp_path / "springfield-2025-01" / "reviews.csv.gz")
    label, listings, reviews = found["springfield-panel"]
    assert label == "Springfield (panel)" and reviews is None
    assert listings == [tmp_path / "springfield-panel" / d / "listings.csv" for d in ("2023-12-01", "2024-01-02")]
    assert found["nyc-sample"][0] == "NYC (sample)"
    assert quality.real_cities(tmp_path / "absent") == {}


@pytest.mark.parametrize("model, expected", [(0.18, "behind the best baseline (`lightgbm`) by 0.50 points"),
                                             (0.17, "ahead of the best baseline (`lightgbm`) by 0.50 points")])
def test_the_verdict_names_the_best_baseline_and_the_gap(model, expected):
    cv = pd.DataFrame({quality.HEADLINE + "_mean": [model, 0.19, 0.175, 0.18]},
                      index=["model, preset default", "model, preset original", "lightgbm", "ridge"])
    assert quality.verdict(cv) == f"the model is {expected}"


def test_slow_baselines_are_left_out_only_on_larger_tables(tmp_path):
    table = tmp_path / "t.parquet"
    pd.DataFrame({"listing_id": range(10)}).to_parquet(table)
    every = ["lightgbm", "ebm", "ridge", "ebm_interactions"]
    assert quality.chosen_baselines(every, table, 0) == (every, [])
    assert quality.chosen_baselines(every, table, 10) == (every, [])
    assert quality.chosen_baselines(every, table, 9) == (["lightgbm", "ridge"], ["ebm", "ebm_interactions"])


def test_fold_assignments_reads_a_gap_against_its_standard_error():
    rows = [{"assignment": 42, "model": 17.0, "network alone": 18.0, "lightgbm": 17.5},
            {"assignment": 1, "model": 17.2, "network alone": 17.6, "lightgbm": 17.4}]
    text = fold_assignments.markdown({"Newark": rows})
    assert "| Newark | 42 | 17.00% | 18.00% | 17.50% |" in text
    assert "| Newark | mean | **17.10%** | **17.80%** | **17.45%** |" in text
    # model − LightGBM: -0.5 and -0.2 (mean -0.35, se 0.15); the network alone: +0.5, +0.2
    assert "-0.35 ± 0.15 (at or ahead on 2 of 2)" in text
    assert "+0.35 ± 0.15 (at or ahead on 0 of 2)" in text


def test_own_city_route_sets_the_route_against_cv_on_the_same_listings():
    row = {"listings": 137, "seconds": 47.0, "route model": 18.73, "cv model": 17.43, "same model": 18.83,
           "folds model": "16.01–18.95%", "route lightgbm": 18.88, "cv lightgbm": 17.85, "same lightgbm": 18.77,
           "folds lightgbm": "16.50–19.20%"}
    text = own_city_route.markdown({"Newark": row})
    assert "| Newark | model | 137 | 18.73% | 17.43% | 16.01–18.95% | 18.83% | +1.30 | -0.10 |" in text
    assert "| Newark | lightgbm | 137 | 18.88% | 17.85% | 16.50–19.20% | 18.77% | +1.03 | +0.11 |" in text
    assert "- Newark: the route took 47 s" in text
