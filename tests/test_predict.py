"""Price recommendation from artifacts: raw rows, table rows, CLI, and bad input."""
from __future__ import annotations

import contextlib
import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

from airbnb import predict, train
from airbnb.errors import ConfigError, UserError
from airbnb.etl import EtlError
from airbnb.model import AXES
from airbnb.artifacts import ArtifactsError
from airbnb.breakdown import FACTOR_COLUMNS
from airbnb.predict import ListingValueError, PricePredictor
from airbnb.schema import DOMAINS

from conftest import cli_error, trained_on_one_month


@pytest.fixture(scope="module")
def trained(small_table, tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    result = train.train(train.TrainConfig(data_path=str(small_table), output_dir=str(out), epochs=2, progress=False))
    return result, PricePredictor.load(out)


def test_matches_training_time_predictions(trained):
    result, predictor = trained
    expected = result.breakdown("validation")
    rows = result.table[result.splits == "validation"]
    got = predictor.predict_table(rows)
    np.testing.assert_allclose(got["recommended_price"], expected["predicted_price"], rtol=1e-5)
    np.testing.assert_allclose(got[AXES[0]], expected[AXES[0]], rtol=1e-4, atol=1e-3)
    assert predictor.processor.location == result.processor.location
    assert predictor.processor.location.first_octave == train.TrainConfig().location_first_octave > 0


def test_breakdown_sums_to_the_price(trained):
    _, predictor = trained
    got = predictor.predict_table(trained[0].table.iloc[:50])
    np.testing.assert_allclose(got[["bias", *AXES]].sum(axis=1), got["recommended_price"], atol=1e-3)


def test_axes_are_centred_on_training_rows(trained):
    """Log-price model: each axis's log factor averages 0 over training rows (the base price is the
    average listing's); the factors multiply the base price into the price exactly."""
    result, _ = trained
    train_rows = result.breakdown("train")
    weights = train_rows["estimated_occupancy_rate"]
    for axis in AXES:
        assert abs(np.average(np.log(train_rows[f"{axis}_factor"]), weights=weights)) < 1e-4, axis
    product = train_rows["bias"] * np.prod([train_rows[f"{axis}_factor"] for axis in AXES], axis=0)
    np.testing.assert_allclose(product, train_rows["predicted_price"], rtol=1e-5)


def test_original_preset_axes_are_centred_dollars(small_table, tmp_path):
    result = train.train(train.configure("original", data_path=str(small_table), output_dir=str(tmp_path),
                                         epochs=1, amenities_encoding="bag_sum", progress=False))
    train_rows = result.breakdown("train")
    assert not any(column.endswith("_factor") for column in train_rows)
    for axis in AXES:
        assert abs(np.average(train_rows[axis], weights=train_rows["estimated_occupancy_rate"])) < 0.05, axis


def test_raw_listing_rows_price_like_table_rows(trained, small_city):
    """A snapshot's raw text rows give the table rows' numbers (rows the ETL did not need to impute)."""
    result, predictor = trained
    # the latest snapshot: raw rows are priced as of the training rows' latest month, where the trend input is 0
    snapshot = small_city.listings[-1]
    raw = predict.read_listings_file(snapshot)
    complete = raw.dropna(subset=["bedrooms", "beds", "bathrooms_text", "review_scores_rating",
                                  "review_scores_value", "host_response_rate", "host_acceptance_rate",
                                  "review_scores_cleanliness", "review_scores_checkin",
                                  "review_scores_communication", "review_scores_location"])
    month = int(snapshot.parent.name[5:7])
    from_raw = predictor.predict(complete, month=month).set_index("listing_id")
    table = result.table[result.table["year_month"] == snapshot.parent.name[:7]]
    from_table = predictor.predict_table(table).set_index("listing_id")
    common = from_raw.index.intersection(from_table.index)
    assert len(common) > 100
    np.testing.assert_allclose(from_raw.loc[common, "recommended_price"], from_table.loc[common, "recommended_price"],
                               rtol=1e-5)


def test_dicts_with_unseen_neighbourhood(trained, small_city):
    _, predictor = trained
    row = predict.read_listings_file(small_city.listings[0]).iloc[0].to_dict()
    row.update(neighbourhood_cleansed="Atlantis", property_type="Entire lighthouse")
    one = predictor.predict(row, month=7)
    assert len(one) == 1 and np.isfinite(one["recommended_price"]).all()
    july, january = one, predictor.predict([row], month=1)
    assert july["seasonality"].iloc[0] != january["seasonality"].iloc[0]
    # a log-price model's factors are per axis; its dollars share the month's price change
    assert july["location_factor"].iloc[0] == pytest.approx(january["location_factor"].iloc[0])
    assert july["seasonality_factor"].iloc[0] != january["seasonality_factor"].iloc[0]


@contextlib.contextmanager
def warnings_logged(name: str = "airbnb.predict"):
    """The warning messages the ``name`` logger emits inside the block."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def one_snapshot(small_table, tmp_path_factory):
    """A model trained on one month of the small city, as on a city with one Inside Airbnb snapshot."""
    rows, out = trained_on_one_month(small_table, tmp_path_factory, "last", epochs=2)
    return rows, PricePredictor.load(out)


def test_a_month_the_table_never_covered_gets_no_seasonality(one_snapshot):
    rows, predictor = one_snapshot
    seen = int(rows["month"].iloc[0])
    with warnings_logged() as warned:
        priced = predictor.predict_months(rows.iloc[:20])
    assert len(warned) == 1 and "not in the training table" in warned[0] and f"[{seen}]" in warned[0]
    other = priced[priced["month"] != seen]
    assert len(other) == 20 * 11 and not other["month_seen"].any() and priced.loc[priced["month"] == seen, "month_seen"].all()
    assert (other["seasonality"] == 0).all() and (other["seasonality_factor"] == 1).all()
    # the base price is the snapshot month's: every unseen month prices a listing alike
    spread = other.groupby("listing_id")["recommended_price"].agg(lambda v: v.max() / v.min() - 1)
    assert (spread < 1e-6).all()  # float32 rounding differs with a row's place in the batch
    np.testing.assert_allclose(other[["bias", *AXES]].sum(axis=1), other["recommended_price"], rtol=1e-9)
    with warnings_logged() as warned:
        predictor.predict_table(rows.iloc[:5])
    assert warned == [], "the training month warns nothing"


def test_inputs_far_outside_the_training_range_are_named_and_priced_sanely(trained, small_city):
    _, predictor = trained
    row = predict.read_listings_file(small_city.listings[0]).iloc[0].to_dict()
    ordinary = predictor.predict(row, month=7)
    assert ordinary["out_of_range"].iloc[0] == ""
    row.update(bedrooms="30", latitude="41.9")  # possible values (40 guests is not: over Airbnb's 16)
    with warnings_logged() as warned:
        odd = predictor.predict(row, month=7)
    assert odd["out_of_range"].iloc[0] == "latitude, bedrooms"
    assert len(warned) == 1 and "far outside the training range" in warned[0]
    price = odd["recommended_price"].iloc[0]
    assert np.isfinite(price) and 0 < price <= 3 * trained[0].table["target_price"].max()
    # held to the training range: a listing north of the city prices as its northernmost listings
    north = float(trained[0].table.loc[trained[0].splits == "train", "latitude"].max())
    row.update(latitude=str(north))
    assert predictor.predict(row, month=7)["recommended_price"].iloc[0] == pytest.approx(price, rel=1e-6)


def test_months_given_as_numpy_integers(trained, small_city):
    _, predictor = trained
    row = predict.read_listings_file(small_city.listings[0]).iloc[0].to_dict()
    assert predictor.predict(row, month=np.int64(7))["recommended_price"].iloc[0] == pytest.approx(
        predictor.predict(row, month=7)["recommended_price"].iloc[0])


@pytest.mark.parametrize("month", [0, 13, 7.5, "7"])
def test_month_outside_range(trained, month):
    _, predictor = trained
    with pytest.raises(ValueError, match="month"):
        predictor.predict({"id": 1}, month=month)


def test_missing_listing_column_is_named(trained, small_city):
    _, predictor = trained
    raw = predict.read_listings_file(small_city.listings[0]).drop(columns=["room_type"])
    with pytest.raises(EtlError, match="'room_type'"):
        predictor.predict(raw, month=3)


def test_artifacts_missing_a_file(trained, tmp_path):
    result, _ = trained
    shutil.copytree(result.output_dir, tmp_path / "a")
    (tmp_path / "a" / "feature_processor.npz").unlink()
    with pytest.raises(ArtifactsError, match="feature_processor.npz"):
        PricePredictor.load(tmp_path / "a")


def test_artifacts_from_an_incompatible_version(trained, tmp_path):
    result, _ = trained
    shutil.copytree(result.output_dir, tmp_path / "a")
    config = json.loads((tmp_path / "a" / "model_config.json").read_text())
    config["format_version"] = 0
    (tmp_path / "a" / "model_config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactsError, match="not compatible"):
        PricePredictor.load(tmp_path / "a")


def test_cli_writes_predictions(trained, small_city, tmp_path):
    result, _ = trained
    out = tmp_path / "preds.csv"
    predict.main(["--artifacts", str(result.output_dir), "--listings", str(small_city.listings[0]),
                  "--month", "7", "--output", str(out)])
    preds = pd.read_csv(out)
    assert list(preds.columns) == [*predict.PERSON_COLUMNS, "bias", *AXES, *FACTOR_COLUMNS, "month_seen",
                                   "out_of_range"]
    # '' reads back as missing; only listings the training rows never saw can be far outside their range
    flagged = set(preds.loc[preds["out_of_range"].notna(), "listing_id"])
    assert preds["month_seen"].all() and len(flagged) <= 0.02 * len(preds)
    assert not flagged & set(result.table.loc[result.splits == "train", "listing_id"])
    assert preds["not_priced"].isna().all()
    assert (preds["recommended_price"] > 0).all()
    assert len(preds) == len(pd.read_csv(small_city.listings[0])) and (preds["month"] == 7).all()
    assert ((preds["price_low"] < preds["recommended_price"]) & (preds["recommended_price"] < preds["price_high"])).all()
    wide = tmp_path / "wide.csv"
    predict.main(["--artifacts", str(result.output_dir), "--listings", str(small_city.listings[0]),
                  "--month", "7", "--output", str(wide), "--coverage", "0.95"])
    wide = pd.read_csv(wide)
    assert (wide["price_low"] <= preds["price_low"]).all() and (wide["price_high"] >= preds["price_high"]).all()
    assert (wide["price_high"] - wide["price_low"] > preds["price_high"] - preds["price_low"]).any()


def test_cli_output_is_for_a_person(trained, small_city, tmp_path, caplog):
    """Listed price, recommendation, the gap between them, name, neighbourhood and URL, per listing."""
    raw = pd.read_csv(small_city.listings[0], dtype=str).iloc[:4]
    raw.loc[0, "price"] = "$1,250.00"
    raw.to_csv(tmp_path / "listings.csv", index=False)
    with caplog.at_level(logging.INFO, logger="airbnb"):
        run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert preds["listing_id"].tolist() == raw["id"].astype(int).tolist()
    assert preds["name"].tolist() == raw["name"].tolist()
    assert preds["neighbourhood"].tolist() == raw["neighbourhood_cleansed"].str.strip().tolist()
    assert preds["url"].tolist() == raw["listing_url"].tolist()
    assert preds["listed_price"].iloc[0] == 1250.0
    np.testing.assert_allclose(preds["listed_price"], raw["price"].str.replace(r"[$,]", "", regex=True).astype(float))
    gap = 100 * (preds["listed_price"] / preds["recommended_price"] - 1)
    np.testing.assert_allclose(preds["gap_pct"], gap, rtol=1e-4, atol=0.01)  # the CSV keeps 2 decimals
    assert preds["gap_pct"].iloc[0] > 100, "listed at $1,250: far above any recommendation here"
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("priced ")]
    median = preds["recommended_price"].median()
    assert summary == [f"priced 4 listing(s) for month(s) 7 -> {tmp_path / 'preds.csv'}: recommended median "
                       f"${median:,.0f}, listed median ${preds['listed_price'].median():,.0f}; listed over 20% "
                       f"above the recommendation {int((gap > 20).sum())}, over 20% below {int((gap < -20).sum())} "
                       "(listing-months)"]


def test_cli_without_a_url_column_links_the_airbnb_page_of_the_id(trained, small_city, tmp_path):
    raw = pd.read_csv(small_city.listings[0], dtype=str).iloc[:2].drop(columns=["listing_url", "name", "price"])
    raw.to_csv(tmp_path / "listings.csv", index=False)
    run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert preds["url"].tolist() == [f"https://www.airbnb.com/rooms/{i}" for i in raw["id"]]
    assert preds["name"].isna().all() and preds["listed_price"].isna().all() and preds["gap_pct"].isna().all()


@pytest.mark.parametrize("text, months", [("7", [7]), ("6,7,8", [6, 7, 8]), ("1-12", list(range(1, 13))),
                                          ("1-3,12", [1, 2, 3, 12]), (" 2 - 3 , 3", [2, 3])])
def test_months_are_lists_and_ranges(text, months):
    assert predict.parse_months(text) == months


@pytest.mark.parametrize("text", ["0", "13", "3-1", "1-13", "july", "1-2-3", "", "7,"])
def test_months_that_are_not_months_are_refused(text):
    with pytest.raises(ConfigError, match=f"--months takes months 1-12 .*got {text!r}"):
        predict.parse_months(text)


def test_cli_prices_every_month_asked(trained, small_city, tmp_path):
    raw = pd.read_csv(small_city.listings[0], dtype=str).iloc[:3]
    raw.loc[1, "accommodates"] = "0"
    raw.to_csv(tmp_path / "listings.csv", index=False)
    result, predictor = trained
    predict.main(["--artifacts", str(result.output_dir), "--listings", str(tmp_path / "listings.csv"),
                  "--months", "1-3,7", "--output", str(tmp_path / "preds.csv")])
    preds = pd.read_csv(tmp_path / "preds.csv")
    ids = raw["id"].astype(int).tolist()
    # each priceable listing once per month, in the file's order; the unpriceable one once, in its place
    assert list(zip(preds["listing_id"], preds["month"].fillna(0).astype(int))) == [
        *[(ids[0], m) for m in (1, 2, 3, 7)], (ids[1], 0), *[(ids[2], m) for m in (1, 2, 3, 7)]]
    alone = predictor.predict(raw.iloc[[2]], month=2)
    row = preds[(preds["listing_id"] == ids[2]) & (preds["month"] == 2)]
    assert row["recommended_price"].iloc[0] == pytest.approx(alone["recommended_price"].iloc[0], abs=0.006)
    assert preds.loc[preds["listing_id"] == ids[1], "recommended_price"].isna().all()


def test_cli_month_flags_are_one_or_the_other(trained, small_city, tmp_path, capsys):
    result, _ = trained
    base = ["--artifacts", str(result.output_dir), "--listings", str(small_city.listings[0]),
            "--output", str(tmp_path / "p.csv")]
    for extra in ([], ["--month", "7", "--months", "1-3"]):
        with pytest.raises(SystemExit) as exited:
            predict.main([*base, *extra])
        assert exited.value.code == 2
        assert "--months" in capsys.readouterr().err
    assert cli_error(capsys, predict.main, [*base, "--months", "5-2"]) == (
        "error: --months takes months 1-12 as a list or ranges (7, 6,7,8, 1-12, 1-3,12), got '5-2'")


def test_cli_bad_month_is_a_clean_error(trained, small_city, tmp_path, capsys):
    result, _ = trained
    with pytest.raises(SystemExit) as exited:
        predict.main(["--artifacts", str(result.output_dir), "--listings", str(small_city.listings[0]),
                      "--month", "13", "--output", str(tmp_path / "p.csv")])
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: month must be an integer from 1 to 12, got 13\n"


# --------------------------------------------------------------------------- values no listing can have

def first_rows(small_city, n: int) -> pd.DataFrame:
    """The first ``n`` raw rows of a snapshot, as text (the way a listings file gives them)."""
    return predict.read_listings_file(small_city.listings[0]).iloc[:n].copy()


@pytest.mark.parametrize("column, text, parsed", [
    ("accommodates", "10000", "10000.0"),
    ("accommodates", "-10000", "-10000.0"),
    ("accommodates", "1e308", "1e+308"),
    ("accommodates", float("inf"), "inf"),
    ("accommodates", "0", "0.0"),
    ("latitude", "999", "999.0"),
    ("longitude", "-181", "-181.0"),
    ("review_scores_rating", "500", "500.0"),
    ("host_response_rate", "5000%", "50.0"),
])
def test_an_impossible_value_is_refused_naming_listing_and_column(trained, small_city, column, text, parsed):
    _, predictor = trained
    row = first_rows(small_city, 1).iloc[0].to_dict()
    row[column] = text
    with pytest.raises(ListingValueError) as refused:
        predictor.predict(row, month=7)
    domain = DOMAINS[column]
    assert refused.value.rejected.to_dict("records") == [
        {"listing_id": int(row["id"]), "column": column, "value": parsed,
         "allowed": f"{domain.low:g} to {domain.high:g} ({domain.reason})"}]
    assert f"listing {row['id']}: {column} {parsed}, allowed {domain.low:g} to {domain.high:g}" in str(refused.value)
    assert isinstance(refused.value, UserError) and isinstance(refused.value, ValueError)


def test_rows_without_ids_are_named_by_position(trained, small_city):
    _, predictor = trained
    rows = first_rows(small_city, 2).drop(columns="id")
    rows.loc[1, "accommodates"] = "10000"
    with pytest.raises(ListingValueError, match="row 1: accommodates 10000.0") as refused:
        predictor.predict(rows, month=7)
    assert refused.value.rejected[["listing_id", "column"]].to_dict("records") == [
        {"listing_id": 1, "column": "accommodates"}]


def test_skip_prices_the_other_rows_as_if_alone(trained, small_city):
    _, predictor = trained
    rows = first_rows(small_city, 3)
    rows.loc[1, ["accommodates", "latitude"]] = ["10000", "999"]
    ids = rows["id"].astype(int).tolist()
    got = predictor.predict(rows, month=7, on_invalid="skip")
    alone = predictor.predict(rows.drop(index=1), month=7)
    assert got["listing_id"].tolist() == [ids[0], ids[2]]
    np.testing.assert_allclose(got["recommended_price"], alone["recommended_price"], rtol=1e-6)
    assert got.attrs["rejected"][["listing_id", "column", "value"]].to_dict("records") == [
        {"listing_id": ids[1], "column": "accommodates", "value": "10000.0"},
        {"listing_id": ids[1], "column": "latitude", "value": "999.0"}]
    assert alone.attrs == {}, "only 'skip' adds the rejected values"
    assert predictor.predict(rows.drop(index=1), month=7, on_invalid="skip").attrs["rejected"].empty
    with pytest.raises(ListingValueError, match=f"(?s)2 value[(]s[)].*listing {ids[1]}: accommodates"):
        predictor.predict(rows, month=7)
    with pytest.raises(ListingValueError, match=f"listing {ids[1]}: latitude 999.0"):
        predictor.predict(rows.loc[[1]], month=7, on_invalid="skip")  # nothing left to price


def test_on_invalid_is_raise_or_skip(trained, small_city):
    _, predictor = trained
    with pytest.raises(ConfigError, match="on_invalid must be one of .*'ignore'"):
        predictor.predict(first_rows(small_city, 1), month=7, on_invalid="ignore")


def test_table_rows_with_impossible_values_are_refused(trained):
    result, predictor = trained
    rows = result.table.iloc[:3].copy()
    rows["accommodates"] = rows["accommodates"].astype("int64")
    rows.loc[rows.index[1], "accommodates"] = 10_000
    rows.loc[rows.index[2], "review_scores_rating"] = 500.0
    with pytest.raises(ListingValueError) as refused:
        predictor.predict_table(rows)
    assert refused.value.rejected[["listing_id", "column", "value"]].to_dict("records") == [
        {"listing_id": rows["listing_id"].iloc[1], "column": "accommodates", "value": "10000"},
        {"listing_id": rows["listing_id"].iloc[2], "column": "review_scores_rating", "value": "500.0"}]
    with pytest.raises(ListingValueError, match="month 13, allowed 1 to 12"):
        predictor.predict_months(result.table.iloc[:1], months=[7, 13])


def test_no_listings_is_a_clear_error(trained, small_city):
    _, predictor = trained
    with pytest.raises(EtlError, match="no listings to price"):
        predictor.predict(first_rows(small_city, 0), month=7)


def test_coordinates_far_outside_the_training_city_warn_naming_its_bounding_box(trained, small_city):
    _, predictor = trained
    row = first_rows(small_city, 1).iloc[0].to_dict()
    south, north = predictor.processor.ranges_["latitude"]
    row["latitude"] = str(north + 5 * (north - south))  # possible (a latitude), far from the city
    with warnings_logged() as warned:
        priced = predictor.predict(row, month=7)
    assert priced["out_of_range"].tolist() == ["latitude"]
    assert len(warned) == 1 and "1 of 1 listing(s)" in warned[0]
    box = f"1 of them lie far outside the training city's bounding box (latitude {south:.4f} to {north:.4f}"
    assert box in warned[0]


def run_cli(trained, listings, output):
    """``python -m airbnb.predict`` in-process (its exit status: 0 when it returns)."""
    result, _ = trained
    return predict.main(["--artifacts", str(result.output_dir), "--listings", str(listings), "--month", "7",
                         "--output", str(output)])


def test_cli_prices_the_possible_rows_and_lists_the_rejected_ones(trained, small_city, tmp_path, capsys):
    rows = first_rows(small_city, 3)
    rows.loc[1, "accommodates"] = "10000"
    rows.loc[1, "latitude"] = ""
    rows.to_csv(tmp_path / "listings.csv", index=False)
    with warnings_logged() as warned:
        run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    ids = rows["id"].astype(int).tolist()
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert preds["listing_id"].tolist() == ids, "a listing that cannot be priced is listed, in its place"
    assert preds["not_priced"].tolist()[::2] == [np.nan, np.nan] and preds[["recommended_price", "price_low"]].iloc[
        1].isna().all()
    assert preds["not_priced"].iloc[1] == ("accommodates 10000.0 (allowed 1 to 16 (Airbnb's guest limit)); "
                                           "latitude  (allowed a number (required))")
    assert preds["name"].iloc[1] == rows["name"].iloc[1]
    rejected = pd.read_csv(tmp_path / "preds.rejected.csv", dtype={"value": str}, keep_default_na=False)
    assert rejected.to_dict("records") == [
        {"listing_id": ids[1], "column": "accommodates", "value": "10000.0", "allowed": "1 to 16 (Airbnb's guest limit)"},
        {"listing_id": ids[1], "column": "latitude", "value": "", "allowed": "a number (required)"}]
    assert [w for w in warned if "not priced" in w] == [
        f"1 listing(s) of {tmp_path / 'listings.csv'} have a value no listing can have or lack one and are not priced: "
        f"see not_priced in {tmp_path / 'preds.csv'} (each value in {tmp_path / 'preds.rejected.csv'})"]
    assert capsys.readouterr().err == ""


def test_many_listings_outside_the_training_range_warn_in_one_summarising_line(trained, small_city):
    _, predictor = trained
    rows = first_rows(small_city, 6)
    rows["host_response_rate"] = "1%"  # possible, and below every training listing's
    rows.loc[[0, 1], "bedrooms"] = "30"
    with warnings_logged() as warned:
        priced = predictor.predict_months(predictor.to_table_rows(rows, 7), range(1, 13))
    assert len(priced) == 72 and (priced["out_of_range"] != "").all()
    assert warned == ["6 of 6 listing(s) have inputs far outside the training range, priced as the nearest training "
                      "listings (listings per input: host_response_rate 6, bedrooms 2; see out_of_range)"]


def test_cli_with_every_row_rejected_fails_naming_the_rejected_file(trained, small_city, tmp_path, capsys):
    rows = first_rows(small_city, 3).assign(accommodates="0")
    rows.to_csv(tmp_path / "listings.csv", index=False)
    with pytest.raises(SystemExit) as exited:
        run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err == (f"error: none of the 3 listing(s) in {tmp_path / 'listings.csv'} can be priced: each has a value "
                   f"no listing can have or lacks one (listed in {tmp_path / 'preds.rejected.csv'})\n")
    assert pd.read_csv(tmp_path / "preds.rejected.csv")["listing_id"].tolist() == rows["id"].astype(int).tolist()
    assert not (tmp_path / "preds.csv").exists()


def test_cli_on_a_file_without_rows_says_so(trained, small_city, tmp_path, capsys):
    first_rows(small_city, 0).to_csv(tmp_path / "listings.csv", index=False)
    with pytest.raises(SystemExit) as exited:
        run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'listings.csv'} has no listings\n"


def test_cli_removes_an_earlier_runs_rejected_file(trained, small_city, tmp_path, capsys):
    first_rows(small_city, 2).to_csv(tmp_path / "listings.csv", index=False)
    (tmp_path / "preds.rejected.csv").write_text("listing_id,column,value,allowed\n1,accommodates,0.0,1 to 16\n")
    run_cli(trained, tmp_path / "listings.csv", tmp_path / "preds.csv")
    assert len(pd.read_csv(tmp_path / "preds.csv")) == 2
    assert not (tmp_path / "preds.rejected.csv").exists()
    assert "Traceback" not in capsys.readouterr().err
