"""A panel of snapshots read as one city, the seasonality trend, and evaluation forward in time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airbnb import etl, evaluate, train
from airbnb.errors import ConfigError
from airbnb.features import FeatureProcessor, years_before
from airbnb.schema import city_from_path

from conftest import SHARED_DATA, require_shared, write_listings, write_reviews

PANEL = SHARED_DATA / "albany-panel"


# --------------------------------------------------------------------------- the ETL

def test_spreadsheet_dates_are_read_and_counted_other_forms_refused(tmp_path):
    listings = write_listings(tmp_path / "listings.csv", [
        {"id": 1, "last_scraped": "7/3/2023"}, {"id": 2, "last_scraped": "2023-07-03"},
        {"id": 3, "last_scraped": "3 July 2023"}, {"id": 4, "last_scraped": "13/3/2023"}])
    table, summary = etl.build_table(listings)
    rows = table.to_pandas()
    assert rows["listing_id"].tolist() == [1, 2]
    assert rows["year_month"].tolist() == ["2023-07", "2023-07"] and rows["month"].tolist() == [7, 7]
    assert summary["parse_issues"]["last_scraped_spreadsheet_date"] == 1
    assert summary["steps"][1]["dropped"] == {"invalid_last_scraped": 2}


def write_panel(root, amenities_of_reduced: str = "[]"):
    """Three snapshots; the middle one a reduced scrape (no amenities at all)."""
    write_listings(root / "2024-10-05" / "listings.csv", [
        {"id": 1, "last_scraped": "2024-10-05", "amenities": '["Wifi"]'},
        {"id": 2, "last_scraped": "2024-10-05", "amenities": '["Pool"]'}])
    write_listings(root / "2024-11-05" / "listings.csv", [
        {"id": i, "last_scraped": "2024-11-05", "amenities": amenities_of_reduced} for i in (1, 2, 3, 4)])
    write_listings(root / "2024-12-05" / "listings.csv", [
        {"id": 1, "last_scraped": "2024-12-05", "amenities": '["Wifi", "Kitchen"]'},
        {"id": 3, "last_scraped": "2024-12-05", "amenities": '["Sauna"]'}])
    return root


def test_reduced_scrape_takes_amenities_from_the_listing_s_nearest_snapshot(tmp_path):
    panel = write_panel(tmp_path / "albany-panel")
    table, summary = etl.build_table(panel)
    got = table.to_pandas().set_index(["listing_id", "year_month"])["amenities"]
    assert got[(1, "2024-11")] == '["Wifi"]'  # the earlier snapshot first
    assert got[(2, "2024-11")] == '["Pool"]'
    assert got[(3, "2024-11")] == '["Sauna"]'  # else the later one
    assert got[(4, "2024-11")] == "[]"  # seen only in the reduced scrape: nothing to take
    assert got[(1, "2024-12")] == '["Wifi", "Kitchen"]'  # other snapshots unchanged
    reduced = str(panel / "2024-11-05" / "listings.csv")
    assert summary["reduced_scrapes"] == {reduced: {"column": "amenities", "rows": 4, "imputed": 3}}
    assert summary["rows_out"] == 8  # the snapshot is kept
    assert set(summary["cities"]) == {"albany"}  # a panel folder is its city


def test_a_snapshot_with_some_amenities_is_not_a_reduced_scrape(tmp_path):
    panel = write_panel(tmp_path / "panel")
    write_listings(panel / "2024-11-05" / "listings.csv", [
        {"id": 1, "last_scraped": "2024-11-05", "amenities": "[]"},
        {"id": 2, "last_scraped": "2024-11-05", "amenities": '["Iron"]'}])
    table, summary = etl.build_table(panel)
    assert summary["reduced_scrapes"] == {}
    got = table.to_pandas().set_index(["listing_id", "year_month"])["amenities"]
    assert got[(1, "2024-11")] == "[]"


def test_panel_folder_names_its_city():
    assert city_from_path("x/albany-panel/2025-03-02/listings.csv.gz") == "albany"
    assert city_from_path("x/albany-2024-11/listings.csv.gz") == "albany"


def test_reviews_weigh_only_the_months_they_cover(tmp_path):
    """A reviews file downloaded in 2024-11 says nothing of 2025's snapshots: their weight comes from
    the listings' own columns instead of a zero that would drop every row."""
    write_listings(tmp_path / "albany" / "2024-11-05" / "listings.csv", [{"id": 1, "last_scraped": "2024-11-05"}])
    write_listings(tmp_path / "albany" / "2025-03-02" / "listings.csv", [
        {"id": 1, "last_scraped": "2025-03-02", "estimated_occupancy_l365d": "73"},
        {"id": 2, "last_scraped": "2025-03-02", "number_of_reviews_ltm": "73"}])
    reviews = write_reviews(tmp_path / "albany" / "reviews.csv", [(1, "2024-11-01"), (1, "2024-10-01")])
    table, summary = etl.build_table(tmp_path / "albany", reviews)
    weights = table.to_pandas().set_index(["listing_id", "year_month"])["estimated_occupancy_rate"]
    assert weights[(1, "2024-11")] == pytest.approx(2 / 0.5 * 3 / 90)  # 2 reviews in the window
    assert weights[(1, "2025-03")] == pytest.approx(73 / 365)  # its estimated occupancy
    assert weights[(2, "2025-03")] == pytest.approx(1.0)  # 73 reviews a year: capped
    assert summary["weight_method"]["rows"] == {"reviews_file": 1, "estimated_occupancy_l365d": 1,
                                                "number_of_reviews_ltm": 1}
    assert summary["weight_method"]["reviews_end"] == {"albany": "2024-11"}


def test_real_panel_is_one_city_of_ten_months():
    table, summary = etl.build_table(require_shared(PANEL), SHARED_DATA / "albany-2024-11" / "reviews.csv.gz")
    rows = table.to_pandas()
    assert summary["cities"] == {"albany": len(rows)}
    assert sorted(rows["year_month"].unique()) == ["2023-07", "2023-08", "2023-09", "2023-10", "2024-01",
                                                   "2024-11", "2025-01", "2025-03", "2025-10", "2025-11"]
    # the four 2023 files were re-saved by a spreadsheet: every dated row of theirs is read
    assert (rows["year_month"] < "2024").sum() > 700
    assert summary["parse_issues"]["last_scraped_spreadsheet_date"] >= (rows["year_month"] < "2024").sum()
    reduced = summary["reduced_scrapes"]
    assert list(reduced) == [str(PANEL / "2024-01-06" / "listings.csv.gz")]
    assert reduced[str(PANEL / "2024-01-06" / "listings.csv.gz")]["imputed"] > 0.9 * \
        reduced[str(PANEL / "2024-01-06" / "listings.csv.gz")]["rows"]
    assert (rows.loc[rows["year_month"] == "2024-01", "amenities"] == "[]").mean() < 0.05
    assert rows.groupby("year_month").size().min() > 150  # no snapshot lost to zero weight


# --------------------------------------------------------------------------- the trend

def test_years_before_the_latest_month():
    rows = pd.DataFrame({"year_month": ["2023-07", "2024-07", "2025-03", "2025-11"]})
    latest = 2025 * 12 + 2  # 2025-03
    np.testing.assert_allclose(years_before(rows, latest), [-20 / 12, -8 / 12, 0.0, 0.0])  # never past latest
    np.testing.assert_array_equal(years_before(rows.drop(columns="year_month"), latest), np.zeros(4))
    np.testing.assert_array_equal(years_before(rows, None), np.zeros(4))


def test_processor_learns_the_latest_month_and_prices_now_without_one(small_table):
    table = pd.read_parquet(small_table)
    processor = FeatureProcessor().fit(table)
    latest = table["year_month"].max()
    assert processor.latest_month == int(latest[:4]) * 12 + int(latest[5:]) - 1
    trend = processor.transform(table)["years_before_latest"]
    assert trend.max() == 0 and trend.min() == pytest.approx(-(table["year_month"].nunique() - 1) / 12, abs=1e-6)
    no_month = processor.transform(table.drop(columns="year_month").head(3))["years_before_latest"]
    np.testing.assert_array_equal(no_month, np.zeros(3, dtype=np.float32))


# --------------------------------------------------------------------------- forward in time

def test_forward_splits_test_the_later_months_and_group_the_earlier_by_listing():
    table = pd.DataFrame({"listing_id": np.repeat(np.arange(40), 3),
                          "year_month": np.tile(["2024-11", "2025-03", "2025-10"], 40)})
    split = evaluate.forward_splits(table, "2025-03", 0.25)
    assert (split[table["year_month"] == "2025-10"] == "test").all()
    assert (split[table["year_month"] != "2025-10"] != "test").all()
    early = table[split != "test"].assign(split=split[split != "test"])
    assert early.groupby("listing_id")["split"].nunique().max() == 1  # a listing in one of train/validation
    assert 0.15 < (early.groupby("listing_id")["split"].first() == "validation").mean() < 0.35
    with pytest.raises(ConfigError, match="no test rows.*2024-11 to 2025-10"):
        evaluate.forward_splits(table, "2025-12", 0.25)
    with pytest.raises(ConfigError, match="no training rows"):
        evaluate.forward_splits(table, "2024-01", 0.25)
    with pytest.raises(ConfigError, match="YYYY-MM"):
        evaluate.forward_splits(table, "2025-3", 0.25)


def test_forward_validate_scores_every_model_per_test_month(small_table, tmp_path):
    table = pd.read_parquet(small_table)
    months = sorted(table["year_month"].unique())
    config = train.configure(data_path=str(small_table), output_dir=str(tmp_path), epochs=2, progress=False,
                             ensemble_size=1)
    result = evaluate.forward_validate(config, months[-3], baselines=["weighted_mean", "ridge"])
    assert list(result.metrics.index) == [evaluate.MODEL_NAME, "weighted_mean", "ridge"]
    tested = table[table["year_month"] > months[-3]]
    assert result.rows["test"] == len(tested)
    assert sorted(result.months.loc["ridge"].index) == months[-2:]
    assert result.months.loc["ridge", "n_rows"].sum() == len(tested)
    # the per-month errors are the test rows' errors: their weighted mean is the overall one
    m = result.months.loc[evaluate.MODEL_NAME]
    weighted = (m["mae_weighted"] * m["weight_share"]).sum()
    assert weighted == pytest.approx(result.metrics.loc[evaluate.MODEL_NAME, "mae_weighted"], rel=1e-6)
    assert 0 < result.metrics.loc[evaluate.MODEL_NAME, "mape_weighted"] < 1


def test_month_effects_per_member_and_zero_for_months_never_covered(small_run, small_table):
    from airbnb.predict import PricePredictor

    predictor = PricePredictor.load(small_run)
    rows = pd.read_parquet(small_table).head(60)
    predictor.processor.months_seen = (1, 2, 3, 4, 5, 6)  # as if trained on the first half-year only
    effects = evaluate.month_effects(predictor, rows)
    assert effects["month"].tolist() == list(range(1, 13))
    assert effects["seen"].tolist() == [True] * 6 + [False] * 6
    assert (effects.loc[~effects["seen"], ["effect", "sd"]] == 0).all().all()
    seen = effects[effects["seen"]]
    assert (seen["sd"] > 0).all()  # five members, each its own curve
    assert seen["effect"].max() - seen["effect"].min() > 1.0  # the synthetic city's seasons, in dollars
