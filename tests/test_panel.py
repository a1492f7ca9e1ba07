"""A panel of snapshots read as one city, the seasonality trend, and evaluation forward in time."""
from __future__ import annotations

import json

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
    assert processor.latest_month_ == int(latest[:4]) * 12 + int(latest[5:]) - 1
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
    predictor.processor.months_seen_ = (1, 2, 3, 4, 5, 6)  # as if trained on the first half-year only
    effects = evaluate.month_effects(predictor, rows)
    assert effects["month"].tolist() == list(range(1, 13))
    assert effects["seen"].tolist() == [True] * 6 + [False] * 6
    assert (effects.loc[~effects["seen"], ["effect", "sd"]] == 0).all().all()
    seen = effects[effects["seen"]]
    assert (seen["sd"] > 0).all()  # five members, each its own curve
    assert seen["effect"].max() - seen["effect"].min() > 1.0  # the synthetic city's seasons, in dollars


def test_forward_command_prints_every_model_and_each_test_month(small_run, small_table, tmp_path, capsys):
    """``python -m airbnb.evaluate --forward-until M``: the run's configuration trained on the months up
    to M, every model scored on the same later rows, the per-month table printed and written."""
    table = pd.read_parquet(small_table)
    months = sorted(table["year_month"].unique())
    output = tmp_path / "forward.json"
    result = evaluate.main(["--artifacts", str(small_run), "--data-path", str(small_table), "--forward-until",
                            months[-3], "--baselines", "ridge", "weighted_mean", "--output", str(output)])
    printed = capsys.readouterr().out
    assert f"trained on the snapshots up to {months[-3]}" in printed
    assert f"{months[-2]}, {months[-1]}: {len(table[table['year_month'] > months[-3]]):,} listing-months" in printed
    for model in (evaluate.MODEL_NAME, "ridge", "weighted_mean"):
        assert printed.count(model) >= 2  # in the overall table and in the per-month one
    per_month = evaluate.month_summary(result.months)
    assert list(per_month.index) == [evaluate.MODEL_NAME, "ridge", "weighted_mean"]
    assert list(per_month.columns) == [f"{m} ({(table['year_month'] == m).sum()} rows)" for m in months[-2:]]
    assert per_month.loc["ridge"].iloc[0] == round(100 * result.months.loc[("ridge", months[-2]), "mape_weighted"], 1)
    assert per_month.to_string() in printed
    saved = json.loads(output.read_text())["forward"]["metrics"]
    assert saved["ridge"]["mape_weighted"] == pytest.approx(result.metrics.loc["ridge", "mape_weighted"])
    assert result.config["epochs"] == 2  # the run's own configuration (small_run trains 2 epochs)
    assert "forward split: worse than the best baseline" in printed or "better than the best baseline" in printed


@pytest.mark.parametrize("argv, message", [
    (["--data-path", "t.parquet", "--forward-until", "2025-3"], "forward_until must be a month YYYY-MM, got '2025-3'"),
    (["--data-path", "t.parquet", "--forward-until", "2025-03", "--cv", "5"], "forward_until and cv are two"),
    (["--forward-until", "2025-03"], "--forward-until needs a table: --data-path TABLE"),
])
def test_forward_command_refuses_a_bad_month_cv_at_once_and_no_table(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        evaluate.main(argv)
    assert stop.value.code == 1 and message in capsys.readouterr().err


# --------------------------------------------------------------------------- the year curve when pricing

@pytest.fixture(scope="module")
def panel_run(small_table, tmp_path_factory):
    """(table, artifacts) of a one-member run on a small panel shaped like Albany's: months 7-10 of one
    year, then 1, 3 and 11 of the next (2, 4, 5, 6 and 12 never covered), so the trend input varies."""
    table = pd.read_parquet(small_table)
    month = table["month"].astype(int)
    table = table[month.isin([1, 3, 7, 8, 9, 10, 11])].copy()
    earlier = table["month"].astype(int).between(7, 10)
    table.loc[earlier, "year_month"] = "2024-" + table.loc[earlier, "year_month"].str[5:]
    root = tmp_path_factory.mktemp("small-panel")
    table.to_parquet(root / "panel.parquet", index=False)
    train.train(train.TrainConfig(data_path=str(root / "panel.parquet"), output_dir=str(root / "run"), epochs=3,
                                  ensemble_size=1, progress=False))
    return table.reset_index(drop=True), root / "run"


def test_explorer_and_predict_show_the_learned_year_curve_at_the_latest_level(panel_run, small_city):
    """A price 'for month m' is m at the latest year's level (trend input 0) wherever a listing is
    priced: the explorer's 12-month curve and ``predict``'s are the model's month effects; months the
    training rows never covered are flagged and get no seasonality."""
    from airbnb.axes import SEEN_MONTH
    from airbnb.explore import Explorer
    from airbnb.explore_html import curve_svg
    from airbnb.predict import PricePredictor, read_listings_file

    table, run = panel_run
    explorer = Explorer.load(run)
    predictor = explorer.predictor
    unseen = [2, 4, 5, 6, 12]
    assert predictor.processor.months_seen_ == (1, 3, 7, 8, 9, 10, 11)
    # a listing whose latest snapshot is in the earlier year: its own level is not the latest
    old = table[table["year_month"] < "2025"].sort_values("year_month").drop_duplicates("listing_id", keep="last")
    old = old[~old["listing_id"].isin(table.loc[table["year_month"] > "2025", "listing_id"])]
    assert len(old), "the small panel has listings that left after the earlier year"
    row = old.iloc[[0]]
    quote = explorer.quote(explorer.listing_from_id(int(row["listing_id"].iloc[0])))
    assert quote.as_of == "2025-11" and "every month at 2025-11's price level" in curve_svg(quote)
    effects = evaluate.month_effects(predictor, row)
    curve = predictor.predict_months(row.drop(columns="year_month"))
    np.testing.assert_allclose(quote.months["recommended_price"], curve["recommended_price"], rtol=1e-5)
    np.testing.assert_allclose(curve["seasonality"], effects["effect"], rtol=1e-5, atol=1e-6)
    assert quote.months.loc[quote.months[SEEN_MONTH] == False, "month"].tolist() == unseen  # noqa: E712
    assert (curve.loc[curve["month"].isin(unseen), "seasonality"] == 0).all()
    assert effects.loc[effects["seen"], "effect"].abs().max() > 0.01  # the seen months carry the learned curve
    at_own_level = predictor.predict_months(row)  # its snapshot's year_month: the trend input is not 0
    assert np.abs(at_own_level["recommended_price"] - curve["recommended_price"]).max() > 0.01
    # predict: raw rows of a listings file priced for each month get the same curve (the seasonality
    # factor reads only the month and the trend input), not the curve at an earlier year's level
    raw = read_listings_file(sorted(small_city.root.glob("*/listings.csv*"))[0]).head(20)
    priced = pd.concat([predictor.predict(raw, month=m) for m in range(1, 13)], ignore_index=True)
    factors = priced.pivot(index="listing_id", columns="month", values="seasonality_factor").to_numpy()
    np.testing.assert_allclose(factors, np.tile(curve["seasonality_factor"], (len(factors), 1)), rtol=1e-5)
    assert np.abs(at_own_level["seasonality_factor"] - curve["seasonality_factor"]).max() > 1e-4
    assert sorted(priced.loc[~priced[SEEN_MONTH], "month"].unique()) == unseen


def test_the_evaluate_notebook_s_month_profile_is_at_the_latest_level(panel_run):
    table, run = panel_run
    evaluation = evaluate.evaluate_run(run, baselines=[])
    rows = evaluation.rows
    row = rows[rows["year_month"] < "2025"].iloc[0]
    profile = evaluation.month_profile(row)
    at_latest = evaluation.predictor.predict_months(rows.loc[[row.name]].drop(columns="year_month"))
    np.testing.assert_allclose(profile["recommended_price"], at_latest["recommended_price"], rtol=1e-6)
    at_own_level = evaluation.predictor.predict_months(rows.loc[[row.name]])
    assert np.abs(at_own_level["seasonality_factor"] - profile["seasonality_factor"]).max() > 1e-4
