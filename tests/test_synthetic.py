"""The synthetic city: reproducible bytes, the real file formats, a ground truth that adds up and
agrees with the files (additive dollars or multiplicative log factors), a heavy-tailed price
distribution, review statistics consistent with reviews.csv.gz, and atomic output."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from airbnb import etl, synthetic
from airbnb.synthetic import generator
from airbnb.io import file_sha256
from airbnb.schema import TABLE_SCHEMA
from airbnb.synthetic import (AXES, LISTINGS_COLUMNS_2024, LISTINGS_COLUMNS_2025, PRICE_MODELS,
                              CityConfig, ensure_city, generate_city, truth_in_dollars)

from conftest import ALBANY, NYC_SAMPLE, require_shared

SMALL = CityConfig(n_listings=300, n_months=4, seed=7)  # the default price model: multiplicative
SMALL_ADDITIVE = replace(SMALL, price_model="additive")
CONFIGS = {"multiplicative": SMALL, "additive": SMALL_ADDITIVE}

# Pins the additive city's bytes: SHA-256 of SMALL_ADDITIVE's files, computed with the generator
# as it was before the price_model option existed (commit 814e0c3, where SMALL was additive).
# city.json necessarily changed (it records price_model), so it is pinned by the SHA-256 of its
# content without price_model and package_version (json.dumps(..., sort_keys=True)). The ground
# truth's Parquet bytes are not pinned: its float64 columns come from numpy's SIMD exp/log, whose
# last bit differs between CPUs, so its content rounded to 6 decimals is pinned instead (and the
# manifest without the Parquet file's own checksum, its floats rounded).
ADDITIVE_SMALL_SHA256 = {
    "2025-01-05/listings.csv.gz": "0f0e8fcb496dff35cb04d7501ea7b35363dbb0440a49fb4592a84fb7d2fb9ac8",
    "2025-02-01/listings.csv.gz": "8ff4b7ce7573b761e8c5404c975d51dd14e11f0f5add138d0d1cb54bd9d46187",
    "2025-03-03/listings.csv.gz": "dd96a8c5510419910986f390ec96bd2ada8875aed1dd9d8eb69b2dcf421e53bf",
    "2025-04-04/listings.csv.gz": "bdb6fdb09c637dd4671b1380b10258c2739ebf7c2d38827b0de2dfcc1a6cbe8f",
    "reviews.csv.gz": "084cb6afce3df6cf3958eaf5f2fdfcb898ce9b0865810a903d97e0825199100f",
}
ADDITIVE_SMALL_TRUTH_SHA256 = "31c539f24e25d516eb21c8c14b71e4389218139bc5f1d067b7924bdb028a59de"
ADDITIVE_SMALL_MANIFEST_SHA256 = "304851babb724de2b6fe742c260d8e54c34713cc738092a8709c98e872bd8c89"


def tree_hashes(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): file_sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file()}


def read_listings(files) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in files],
                     ignore_index=True)


def parse_price(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.replace(r"[$,]", "", regex=True), errors="coerce")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return generate_city(tmp_path_factory.mktemp("city") / "nyc", SMALL, progress=False)


@pytest.fixture(scope="module")
def additive_city(tmp_path_factory):
    return generate_city(tmp_path_factory.mktemp("additive") / "nyc", SMALL_ADDITIVE, progress=False)


@pytest.fixture(scope="module")
def listings(city) -> pd.DataFrame:
    return read_listings(city.listings)


@pytest.fixture(scope="module")
def additive_listings(additive_city) -> pd.DataFrame:
    return read_listings(additive_city.listings)


@pytest.fixture(scope="module")
def truth(city) -> pd.DataFrame:
    return pd.read_parquet(city.ground_truth)


@pytest.fixture(scope="module")
def additive_truth(additive_city) -> pd.DataFrame:
    return pd.read_parquet(additive_city.ground_truth)


def of_model(request, name: str, price_model: str):
    """The ``name`` fixture (city, listings, truth) of the city with ``price_model``."""
    return request.getfixturevalue(name if price_model == "multiplicative" else f"additive_{name}")


@pytest.fixture(scope="module")
def reviews(city) -> pd.DataFrame:
    return pd.read_csv(city.reviews, dtype={"comments": str})


# --------------------------------------------------------------------------- reproducibility

@pytest.mark.parametrize("price_model", PRICE_MODELS)
def test_same_seed_gives_identical_files(request, tmp_path, price_model):
    city = of_model(request, "city", price_model)
    again = generate_city(tmp_path / "again", CONFIGS[price_model], progress=False)
    assert tree_hashes(again.root) == tree_hashes(city.root)
    assert len(tree_hashes(city.root)) == SMALL.n_months + 3


def test_default_price_model_is_multiplicative(city):
    assert CityConfig().price_model == "multiplicative" == SMALL.price_model
    manifest = json.loads(city.manifest.read_text())
    assert manifest["price_model"] == manifest["config"]["price_model"] == "multiplicative"
    assert manifest["formulas"] == synthetic.MULTIPLICATIVE_FORMULAS
    assert manifest["bias"] == manifest["base_price"] == synthetic.BASE_PRICE


def test_additive_city_is_byte_identical_to_the_original_generator(additive_city):
    hashes = tree_hashes(additive_city.root)
    assert {k: v for k, v in hashes.items()
            if k not in ("city.json", "ground_truth.parquet")} == ADDITIVE_SMALL_SHA256
    truth = pd.read_parquet(additive_city.ground_truth).round(6).to_csv(index=False)
    assert hashlib.sha256(truth.encode()).hexdigest() == ADDITIVE_SMALL_TRUTH_SHA256
    manifest = json.loads(additive_city.manifest.read_text())
    assert manifest.pop("price_model") == manifest["config"].pop("price_model") == "additive"
    assert manifest["config"].pop("new_listing_discount") == 0.0  # a later option, off
    assert manifest["formulas"] == synthetic.FORMULAS and manifest["bias"] == synthetic.BIAS
    manifest.pop("package_version")
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "ground_truth.parquet"]
    digest = hashlib.sha256(json.dumps(rounded(manifest), sort_keys=True).encode()).hexdigest()
    assert digest == ADDITIVE_SMALL_MANIFEST_SHA256


def rounded(value, digits: int = 9):
    """``value`` with every float rounded: a last-bit difference between CPUs must not count."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def test_price_models_share_the_city_but_not_the_prices(listings, additive_listings):
    """Same seed: the same listings; only prices (and what reacts to them: bookings, reviews) differ."""
    static = ["neighbourhood_cleansed", "latitude", "room_type", "accommodates", "amenities",
              "host_id", "description"]
    keys = ["id", "last_scraped"]
    joined = listings.merge(additive_listings, on=keys, suffixes=("", "_additive"))
    assert len(joined) > 0.95 * len(listings)
    for column in static:
        assert (joined[column] == joined[f"{column}_additive"]).all(), column
    assert (joined["price"] != joined["price_additive"]).mean() > 0.9


def test_new_listing_discount_lowers_only_listings_without_reviews(tmp_path):
    """Additive city, same seed: listings without reviews yet (blank scores) lose the discount from
    their quality term; the others keep theirs. (The two cities' random draws part ways once a
    clipped price changes a booking, so the comparison is of averages.)"""
    config = dict(n_listings=400, n_months=3, seed=5, price_model="additive")

    def quality_by_reviews(city) -> pd.Series:
        truth = pd.read_parquet(city.ground_truth)
        rows = pd.concat([pd.read_csv(f, usecols=["id", "last_scraped", "number_of_reviews"]) for f in city.listings])
        rows = rows.assign(year_month=rows["last_scraped"].str[:7]).rename(columns={"id": "listing_id"})
        joined = truth.merge(rows, on=["listing_id", "year_month"])
        return joined.groupby(joined["number_of_reviews"] == 0)["quality_reputation"].mean()

    plain = quality_by_reviews(generate_city(tmp_path / "plain", CityConfig(**config), progress=False))
    discounted = generate_city(tmp_path / "new", CityConfig(**config, new_listing_discount=20.0), progress=False)
    new = quality_by_reviews(discounted)
    assert new[True] - plain[True] == pytest.approx(-20.0, abs=5.0)
    assert new[False] - plain[False] == pytest.approx(0.0, abs=2.0)
    assert "new_listing_discount" in json.loads(discounted.manifest.read_text())["formulas"]["quality_reputation"]


def test_different_seed_gives_different_data(city, tmp_path):
    other = generate_city(tmp_path / "other", CityConfig(n_listings=300, n_months=4, seed=8),
                          progress=False)
    ours, theirs = tree_hashes(city.root), tree_hashes(other.root)
    assert all(ours[name] != theirs.get(name) for name in ["reviews.csv.gz", "ground_truth.parquet"])
    assert read_listings(other.listings)["price"].tolist() != read_listings(city.listings)["price"].tolist()


# --------------------------------------------------------------------------- file formats

def test_layout_and_manifest(city):
    manifest = json.loads(city.manifest.read_text())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert listed == {k: v for k, v in tree_hashes(city.root).items() if k != "city.json"}
    assert [p.parent.name for p in city.listings] == manifest["snapshots"]
    days = pd.to_datetime(manifest["snapshots"])
    assert list(days.month) == [1, 2, 3, 4] and days.day.max() <= 5
    assert manifest["config"]["seed"] == SMALL.seed


@pytest.mark.parametrize("column_set, expected", [("2024", LISTINGS_COLUMNS_2024),
                                                  ("2025", LISTINGS_COLUMNS_2025)])
def test_listings_have_the_exact_real_columns(tmp_path, column_set, expected):
    files = generate_city(tmp_path / column_set,
                          CityConfig(n_listings=150, n_months=2, seed=3, column_set=column_set),
                          progress=False)
    frame = read_listings(files.listings)
    assert list(frame.columns) == list(expected)
    assert len(expected) == {"2024": 75, "2025": 79}[column_set]
    assert (frame["bathrooms"] == "").all() == (column_set == "2024")
    typed = pd.read_csv(files.listings[0])  # default parsing (type inference) works too
    assert typed.shape[1] == len(expected) and typed["id"].dtype == np.int64


def test_column_constants_match_real_inside_airbnb_headers():
    old = pd.read_csv(require_shared(ALBANY) / "listings.csv.gz", nrows=0).columns
    new = pd.read_csv(require_shared(NYC_SAMPLE) / "listings.csv", nrows=0).columns
    assert list(old) == list(LISTINGS_COLUMNS_2024)
    assert list(new) == list(LISTINGS_COLUMNS_2025)


def test_field_formats_look_like_inside_airbnb(listings):
    price = listings["price"]
    assert price[price != ""].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.00").all()
    rates = listings["host_response_rate"]
    assert rates[~rates.isin(["", "N/A"])].str.fullmatch(r"\d{1,3}%").all()
    assert {"N/A", ""} <= set(rates)
    assert set(listings["instant_bookable"]) == {"t", "f"}
    assert set(listings["host_is_superhost"]) <= {"t", "f", ""}
    assert listings["last_scraped"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    ids = listings["id"].astype(np.int64)
    assert ids.min() < 10**8 and ids.max() > 10**17  # old short ids and new 18-digit ids
    baths = set(listings["bathrooms_text"])
    assert {"1 bath", "1 shared bath", "1 private bath", ""} <= baths
    assert all(t == "" or t.endswith(("bath", "baths")) for t in baths)
    text = listings["description"] + listings["host_about"] + listings["name"]
    assert text.str.contains("<br />").any() and text.str.contains("\n").any()
    assert text.str.contains(",").any() and listings["name"].str.contains('"').any()


def test_amenities_are_json_lists_from_a_rich_vocabulary(city, listings):
    lists = listings["amenities"].map(json.loads)
    lengths = lists.map(len)
    assert 20 <= lengths.median() <= 50 and lengths.max() >= 60
    distinct = {a for items in lists for a in items}
    assert len(distinct) >= 100
    assert any(a.startswith("Fast wifi \u2013") for a in distinct)
    vocabulary = json.loads(city.manifest.read_text())["amenity_values"]
    assert len(vocabulary) >= 1000 and distinct <= set(vocabulary)
    assert vocabulary["Private pool"] > vocabulary["Wifi"] and vocabulary["Gym"] > vocabulary["Hangers"]


def test_neighbourhoods_cover_five_boroughs(city, listings):
    table = pd.DataFrame(json.loads(city.manifest.read_text())["neighbourhoods"])
    assert len(table) >= 100 and table["name"].is_unique
    assert set(table["borough"]) == {"Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island"}
    assert set(listings["neighbourhood_group_cleansed"]) <= set(table["borough"])
    assert set(listings["neighbourhood_cleansed"]) <= set(table["name"])
    shares = listings["neighbourhood_group_cleansed"].value_counts(normalize=True)
    assert shares["Manhattan"] + shares["Brooklyn"] > 0.65
    # each listing lies near its neighbourhood's centroid
    merged = listings.merge(table, left_on="neighbourhood_cleansed", right_on="name")
    km = np.hypot((merged["latitude"].astype(float) - merged["lat"]) * 111,
                  (merged["longitude"].astype(float) - merged["lon"]) * 84)
    assert km.median() < 1.5


def test_listings_churn_between_snapshots(listings):
    per_snapshot = listings.groupby("last_scraped")["id"].apply(set)
    assert listings.groupby("last_scraped")["last_scraped"].size().between(250, 350).all()
    first, last = per_snapshot.iloc[0], per_snapshot.iloc[-1]
    assert first - last and last - first  # some left, some joined


# --------------------------------------------------------------------------- ground truth

def test_ground_truth_aligns_with_listing_rows(listings, truth):
    keys = pd.DataFrame({"listing_id": listings["id"].astype(np.int64),
                         "snapshot_date": pd.to_datetime(listings["last_scraped"]).dt.date})
    assert len(truth) == len(listings)
    assert (truth[["listing_id", "snapshot_date"]].reset_index(drop=True) == keys).all().all()
    assert not truth.duplicated(["listing_id", "year_month"]).any()
    assert (truth["year_month"] == listings["last_scraped"].str[:7]).all()
    assert (truth["neighbourhood_group_cleansed"] == listings["neighbourhood_group_cleansed"]).all()
    assert truth["listing_id"].dtype == np.int64


def test_ground_truth_components_sum_to_price(additive_truth):
    """Additive city: every term is dollars and they add up to the price."""
    truth = additive_truth
    total = truth[["bias", *AXES, "noise"]].sum(axis=1)
    np.testing.assert_allclose(total, truth["price"], rtol=0, atol=1e-9)
    assert truth["price"].min() >= SMALL.min_price
    assert truth["seasonality"].nunique() == SMALL.n_months  # one effect per month
    assert truth.groupby("listing_id")["location"].nunique().max() == 1  # location is static
    assert abs(truth["noise"].mean()) < 0.05 * truth["price"].mean()


def test_ground_truth_log_terms_sum_to_log_price(truth):
    """Multiplicative city: log(bias) + the axes' log factors + log noise = log(price), exactly."""
    total = np.log(truth["bias"]) + truth[list(AXES)].sum(axis=1) + truth["noise"]
    np.testing.assert_allclose(total, np.log(truth["price"]), rtol=0, atol=1e-9)
    assert (truth["bias"] == synthetic.BASE_PRICE).all()
    assert truth["price"].min() >= SMALL.min_price
    assert truth["seasonality"].nunique() == SMALL.n_months
    assert truth.groupby("listing_id")["location"].nunique().max() == 1
    assert abs(truth["noise"].mean()) < 0.02 and 0.07 < truth["noise"].std() < 0.13


def test_min_price_clip_is_absorbed_by_the_noise(tmp_path):
    files = generate_city(tmp_path / "clip", CityConfig(n_listings=200, n_months=1, seed=3,
                                                         min_price=100.0), progress=False)
    truth = pd.read_parquet(files.ground_truth)
    clipped = truth["price"] == 100.0
    assert 0.2 < clipped.mean() < 0.8
    total = np.log(truth["bias"]) + truth[list(AXES)].sum(axis=1) + truth["noise"]
    np.testing.assert_allclose(total, np.log(truth["price"]), rtol=0, atol=1e-9)
    assert (truth.loc[clipped, "noise"] > 0).mean() > 0.9  # cheap listings were lifted to the floor


@pytest.mark.parametrize("price_model", PRICE_MODELS)
def test_written_price_parses_back_to_the_truth(request, price_model):
    listings, truth = of_model(request, "listings", price_model), of_model(request, "truth", price_model)
    parsed = parse_price(listings["price"])
    shown = truth["written_price"].notna().to_numpy()
    assert (np.abs(parsed[shown] - truth["price"][shown]) <= 0.5 + 1e-9).all()
    assert (parsed[shown] == truth["written_price"][shown]).all()
    dirty = listings["price"][~shown]
    assert dirty.isin(["", "$0.00"]).all() and len(dirty) > 0


@pytest.fixture(scope="module")
def big_cities(tmp_path_factory) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """A 3,000-listing, 2-month city per price model: (listings, ground truth)."""
    root = tmp_path_factory.mktemp("levels")
    out = {}
    for model in PRICE_MODELS:
        files = generate_city(root / model, CityConfig(n_listings=3000, n_months=2, seed=11,
                                                       price_model=model), progress=False)
        out[model] = read_listings(files.listings), pd.read_parquet(files.ground_truth)
    return out


@pytest.mark.parametrize("price_model", PRICE_MODELS)
def test_price_levels_are_nyc_like(big_cities, price_model):
    frame, _ = big_cities[price_model]
    price = parse_price(frame["price"])
    by_room = price.groupby(frame["room_type"]).median()
    assert 100 <= price.median() <= 200
    assert 150 <= by_room["Entire home/apt"] <= 260 and 50 <= by_room["Private room"] <= 120
    assert price.max() >= 1000 and frame["price"].str.contains(",").any()  # "$1,250.00"
    by_borough = price.groupby(frame["neighbourhood_group_cleansed"]).median()
    assert by_borough["Manhattan"] > by_borough["Brooklyn"] > by_borough["Bronx"]
    assert 1.6 < by_borough["Manhattan"] / by_borough["Bronx"] < 2.8


def test_multiplicative_prices_are_heavy_tailed(big_cities, truth):
    """Like real Inside Airbnb dumps: a long right tail in dollars, log prices near symmetric."""
    for price in (big_cities["multiplicative"][1]["price"], truth["price"]):
        assert stats.skew(price) > 2
        assert price.quantile(0.99) > 4 * price.median() and price.max() > 7 * price.median()
        assert 0 < stats.skew(np.log(price)) < 1  # roughly symmetric, slightly right-skewed
        assert 0.5 < np.log(price).std() < 0.8
    additive = big_cities["additive"][1]["price"]
    multiplicative = big_cities["multiplicative"][1]["price"]
    assert stats.skew(multiplicative) > stats.skew(additive)
    assert stats.skew(np.log(multiplicative)) > stats.skew(np.log(additive)) + 0.3
    # Student-t log noise: beyond 3 and 4 sd a Gaussian leaves 0.27% and 0.006% of the rows
    noise = big_cities["multiplicative"][1]["noise"]
    assert (noise.abs() > 3 * noise.std()).mean() > 0.006 and (noise.abs() > 4 * noise.std()).mean() > 0.001


def test_multiplicative_factors_are_in_plausible_ranges(big_cities):
    frame, truth = big_cities["multiplicative"]
    factor = np.exp(truth[list(AXES)])
    room = frame["room_type"].to_numpy()
    bedrooms = pd.to_numeric(frame["bedrooms"], errors="coerce").to_numpy()

    def between(values, lo, hi):
        return lo <= values.min() and values.max() <= hi

    location = factor["location"]
    assert between(location, 0.6, 1.8) and location.quantile(0.95) / location.quantile(0.05) > 1.5
    size = factor["size_capacity"]
    assert between(size, 0.3, 12) and size.quantile(0.99) > 3
    assert size[room == "Shared room"].median() < 0.6 < 0.9 < size[room == "Entire home/apt"].median()
    assert size[(room == "Entire home/apt") & (bedrooms >= 3)].median() > 2
    assert between(factor["quality_reputation"].quantile([0.05, 0.95]), 0.8, 1.2)
    assert factor["quality_reputation"].min() > 0.3
    assert between(factor["amenities"].quantile([0.05, 0.95]), 0.75, 1.35)
    assert between(factor["seasonality"], 0.85, 1.15)
    assert between(factor.median(), 0.85, 1.15)  # a typical listing is near the reference listing


def dollar_terms(manifest: dict, listings: pd.DataFrame) -> dict[str, pd.Series]:
    """Every axis's dollar term recomputed from the CSV text and city.json, as the model sees it."""
    fallback = manifest["imputation_fallbacks"]

    def number(column: str, fill: float) -> pd.Series:
        return pd.to_numeric(listings[column], errors="coerce").fillna(fill)

    out = {"amenities": listings["amenities"].map(
        lambda text: sum(manifest["amenity_values"][a] for a in json.loads(text)))}
    out["seasonality"] = listings["last_scraped"].str[5:7].astype(int).astype(str).map(
        manifest["seasonal_effects"])

    table = pd.DataFrame(manifest["neighbourhoods"]).set_index("name")
    lat, lon = number("latitude", np.nan), number("longitude", np.nan)
    km = np.hypot((lat - synthetic.MIDTOWN[0]) * 111.0, (lon - synthetic.MIDTOWN[1]) * 84.3)
    out["location"] = table["effect"].reindex(listings["neighbourhood_cleansed"]).to_numpy() \
        + 45 * np.exp(-km / 6) - 10

    text = listings["bathrooms_text"]
    baths = pd.to_numeric(text.str.extract(r"(\d+\.?\d*)")[0], errors="coerce")
    baths = baths.mask(text.str.contains("half-bath", case=False), 0.5).fillna(fallback["bathrooms_numeric"])
    shared = text.str.contains("shared", case=False)
    bedrooms, beds = number("bedrooms", fallback["bedrooms"]), number("beds", fallback["beds"])
    room = listings["room_type"]
    whole = room.isin(["Entire home/apt", "Hotel room"])
    out["size_capacity"] = (
        room.map(manifest["room_type_effects"])
        + listings["property_type"].map(manifest["property_type_effects"])
        + np.where(whole, 12, 6) * (listings["accommodates"].astype(int) - 2) + 4 * (beds - 1)
        + np.where(whole, 35 * (bedrooms - 1) + 15 * np.maximum(bedrooms - 1, 0) ** 2, 0)
        + np.where(room == "Entire home/apt", 25 * (baths - 1), 0) - 10 * shared)

    quality = sum(w * (number(c, fallback[c]) - 4.75) for c, w in manifest["review_score_weights"].items())
    for column, pivot, weight in (("host_response_rate", 0.95, 15), ("host_acceptance_rate", 0.90, 10)):
        rate = pd.to_numeric(listings[column].str.rstrip("%"), errors="coerce") / 100
        quality += weight * (rate.fillna(fallback[column]) - pivot)
    quality += (8 * (listings["host_is_superhost"] == "t") + 4 * (listings["host_identity_verified"] == "t")
                - 5 * (listings["instant_bookable"] == "t")
                + 4 * np.log1p(listings["number_of_reviews_ltm"].astype(int)))
    out["quality_reputation"] = quality
    return out


def test_truth_is_the_documented_function_of_the_written_columns(additive_city, additive_listings,
                                                                 additive_truth):
    """Additive city: recompute every axis in dollars from the CSV text and city.json alone."""
    manifest = json.loads(additive_city.manifest.read_text())
    for axis, dollars in dollar_terms(manifest, additive_listings).items():
        np.testing.assert_allclose(dollars, additive_truth[axis], rtol=1e-12, atol=1e-9, err_msg=axis)
    assert (additive_truth["bias"] == manifest["bias"]).all()


def test_log_truth_is_the_documented_function_of_the_written_columns(city, listings, truth):
    """Multiplicative city: log(max(1 + (dollars - reference) / base price, floor)) per axis."""
    manifest = json.loads(city.manifest.read_text())
    base, floor, reference = manifest["base_price"], manifest["factor_floor"], manifest["reference_terms"]
    assert set(reference) == set(AXES) and base == manifest["bias"] == 48 + sum(reference.values())
    for axis, dollars in dollar_terms(manifest, listings).items():
        expected = np.log(np.maximum(1 + (dollars - reference[axis]) / base, floor))
        np.testing.assert_allclose(expected, truth[axis], rtol=1e-12, atol=1e-9, err_msg=axis)
        assert manifest["formulas"][f"{axis}_dollars"] == synthetic.FORMULAS[axis]
    assert (truth["bias"] == base).all()


@pytest.mark.parametrize("price_model", PRICE_MODELS)
def test_truth_in_dollars_adds_up_to_the_price(request, price_model):
    truth = of_model(request, "truth", price_model)
    dollars = truth_in_dollars(truth, price_model)
    assert dollars is not truth and list(dollars.columns) == list(truth.columns)
    np.testing.assert_allclose(dollars[["bias", *AXES, "noise"]].sum(axis=1), truth["price"],
                               rtol=1e-12, atol=1e-6)
    if price_model == "additive":
        pd.testing.assert_frame_equal(dollars, truth)
    else:
        assert (np.sign(dollars[list(AXES)]) == np.sign(truth[list(AXES)])).all().all()
        # a term's dollars are its log factor times the logarithmic mean of price and bias
        weight = (truth["price"] - truth["bias"]) / np.log(truth["price"] / truth["bias"])
        np.testing.assert_allclose(dollars["location"], truth["location"] * weight, rtol=1e-9)
    at_base = truth.iloc[:1].assign(**{a: 0.0 for a in [*AXES, "noise"]}, price=truth["bias"].iloc[0])
    assert truth_in_dollars(at_base, price_model)[[*AXES, "noise"]].eq(0).all().all()
    with pytest.raises(ValueError, match="price_model"):
        truth_in_dollars(truth, "log")


@pytest.mark.parametrize("price_model", PRICE_MODELS)
def test_overpriced_listings_are_booked_less(big_cities, price_model):
    """noise > 0 means overpriced in both models: the most overpriced fifth books fewer nights."""
    listings, truth = big_cities[price_model]
    last = (listings["last_scraped"] == listings["last_scraped"].max()).to_numpy()
    nights = listings.loc[last, "estimated_occupancy_l365d"].astype(int).to_numpy()
    noise = truth.loc[last, "noise"].to_numpy()
    overpriced, underpriced = noise > np.quantile(noise, 0.8), noise < np.quantile(noise, 0.2)
    assert nights[overpriced].mean() < 0.85 * nights[underpriced].mean()


# --------------------------------------------------------------------------- reviews

def _reviews_in(reviews: pd.DataFrame, listing_id: int, lo, hi) -> int:
    dates = reviews.loc[reviews["listing_id"] == listing_id, "date"]
    return int(((dates > lo) & (dates <= hi)).sum())


def test_review_columns_agree_with_the_reviews_file(listings, reviews):
    reviews = reviews.assign(date=pd.to_datetime(reviews["date"]))
    sample = listings.sample(120, random_state=0)
    for listing_id, scraped, ltm, l30d, total, first, last in zip(
            sample["id"].astype(np.int64), pd.to_datetime(sample["last_scraped"]),
            sample["number_of_reviews_ltm"].astype(int), sample["number_of_reviews_l30d"].astype(int),
            sample["number_of_reviews"].astype(int), sample["first_review"], sample["last_review"]):
        assert ltm == _reviews_in(reviews, listing_id, scraped - pd.Timedelta(days=365), scraped)
        assert l30d == _reviews_in(reviews, listing_id, scraped - pd.Timedelta(days=30), scraped)
        own = reviews.loc[(reviews["listing_id"] == listing_id) & (reviews["date"] <= scraped), "date"]
        assert total == len(own)
        assert (first, last) == ((own.min().date().isoformat(), own.max().date().isoformat())
                                 if total else ("", ""))
    assert (sample["number_of_reviews_ltm"].astype(int) > 0).mean() > 0.5


def test_review_scores_blank_exactly_without_reviews(listings):
    none = listings["number_of_reviews"] == "0"
    assert none.any() and (~none).any()
    for column in synthetic.SCORE_COLUMNS + ("reviews_per_month", "first_review"):
        assert (listings[column] == "")[none].all() and (listings[column] != "")[~none].all()
    scores = listings.loc[~none, "review_scores_rating"].astype(float)
    assert scores.between(0, 5).all() and 4.5 <= scores.median() <= 5


def test_reviews_file_is_clean_and_never_after_the_last_scrape(listings, reviews):
    assert list(reviews.columns) == list(synthetic.REVIEWS_COLUMNS)
    assert reviews["id"].is_unique
    assert reviews["date"].max() <= listings["last_scraped"].max()
    assert set(reviews["listing_id"]) <= set(listings["id"].astype(np.int64))
    assert reviews["comments"].str.contains(",").any()
    assert reviews["comments"].str.contains("\n").any() and reviews["comments"].str.contains("<br/>").any()


def test_occupancy_estimates_match_bookings_and_price(listings):
    occupancy = listings["estimated_occupancy_l365d"].astype(int)
    assert occupancy.between(0, synthetic.OCCUPANCY_CAP_NIGHTS).all() and occupancy.max() > 100
    priced = parse_price(listings["price"]).notna()
    revenue = listings.loc[priced, "estimated_revenue_l365d"].astype(float)
    np.testing.assert_allclose(revenue, occupancy[priced] * parse_price(listings["price"])[priced])
    assert (listings.loc[listings["price"] == "", "estimated_revenue_l365d"] == "").all()


def test_some_listings_have_no_reviews_in_the_last_three_months(listings, reviews):
    """The ETL drops these (zero weight); real dumps have plenty of them."""
    reviews = reviews.assign(month=pd.PeriodIndex(reviews["date"], freq="M"))
    counts = reviews.groupby(["listing_id", "month"]).size()
    month = pd.PeriodIndex(listings["last_scraped"], freq="M")
    recent = sum(counts.reindex(pd.MultiIndex.from_arrays(
        [listings["id"].astype(np.int64), month - lag])).fillna(0).to_numpy() for lag in range(3))
    assert 0.08 <= (recent == 0).mean() <= 0.35


# --------------------------------------------------------------------------- atomic output

def test_failed_generate_keeps_the_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "city"
    generate_city(out, CityConfig(n_listings=100, n_months=2, seed=1), progress=False)
    before = tree_hashes(out)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generator, "write_reviews", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_city(out, CityConfig(n_listings=100, n_months=2, seed=2), progress=False)
    assert tree_hashes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["city"]  # no staging directory left behind


def test_failed_first_generate_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "write_manifest", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        generate_city(tmp_path / "city", CityConfig(n_listings=50, n_months=1), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_regenerating_replaces_the_output(tmp_path):
    out = tmp_path / "city"
    generate_city(out, CityConfig(n_listings=60, n_months=2, seed=1), progress=False)
    files = generate_city(out, CityConfig(n_listings=60, n_months=1, seed=1), progress=False)
    assert len(list(out.glob("*/listings.csv.gz"))) == 1 == len(files.listings)
    assert [p.name for p in tmp_path.iterdir()] == ["city"]


def test_ensure_city_regenerates_only_when_the_config_changes(tmp_path, monkeypatch):
    out = tmp_path / "city"
    config = CityConfig(n_listings=60, n_months=1, seed=1, price_model="additive")
    ensure_city(out, config, progress=False)
    before = tree_hashes(out)
    other = replace(config, price_model="multiplicative")
    ensure_city(out, other, progress=False)
    assert json.loads((out / "city.json").read_text())["price_model"] == "multiplicative"
    assert tree_hashes(out)["ground_truth.parquet"] != before["ground_truth.parquet"]
    monkeypatch.setattr(generator, "generate_city", lambda *a, **k: pytest.fail("regenerated"))
    files = ensure_city(out, other, progress=False)
    assert files.ground_truth.is_file() and len(files.listings) == 1


@pytest.mark.parametrize("price_model", [None, *PRICE_MODELS])
def test_cli_writes_and_summarises(tmp_path, capsys, price_model):
    flag = [] if price_model is None else ["--price-model", price_model]
    files = synthetic.main(["--out", str(tmp_path / "cli"), "--listings", "80", "--months", "2",
                            "--start-month", "2024-11", "--seed", "5", "--column-set", "2024",
                            "--no-progress", *flag])
    assert [p.parent.name[:7] for p in files.listings] == ["2024-11", "2024-12"]
    out = capsys.readouterr().out
    assert "2 monthly snapshots" in out and "reviews" in out and str(tmp_path / "cli") in out
    expected = price_model or "multiplicative"
    assert f"{expected} prices" in out
    assert json.loads(files.manifest.read_text())["config"]["price_model"] == expected


def test_cli_table_builds_the_city_modeling_table(tmp_path, capsys):
    table = tmp_path / "city.parquet"
    files = synthetic.main(["--out", str(tmp_path / "city"), "--listings", "200", "--months", "2", "--seed", "5",
                            "--review-rate", "0.4", "--no-progress", "--table", str(table)])
    assert pq.read_schema(table).remove_metadata().equals(TABLE_SCHEMA)
    df, truth = pd.read_parquet(table), pd.read_parquet(files.ground_truth)
    assert 0 < len(df) <= len(truth) and set(df["listing_id"]) <= set(truth["listing_id"])
    summary = json.loads(etl.summary_path(table).read_text())
    assert [Path(f["path"]) for f in summary["inputs"]["listings"]] == files.listings
    assert summary["inputs"]["reviews"]["path"] == str(files.reviews)
    assert summary["parameters"] == {"review_rate": 0.4, "avg_length_of_stay": 3.0}, "the city's own rates"
    assert f"Wrote its modeling table to {table}" in capsys.readouterr().out


def test_resolve_inputs_gives_the_user_files_or_the_built_in_city(tmp_path):
    assert synthetic.resolve_inputs("mine/*.csv", "r.csv", tmp_path / "city") == ("mine/*.csv", "r.csv")
    assert not (tmp_path / "city").exists()
    config = CityConfig(n_listings=50, n_months=1, seed=1)
    listings, reviews = synthetic.resolve_inputs(None, None, tmp_path / "city", config)
    assert (listings, reviews) == (tmp_path / "city", tmp_path / "city" / "reviews.csv.gz") and reviews.is_file()
    with pytest.raises(etl.EtlError, match="a reviews file was given without listings files"):
        synthetic.resolve_inputs(None, "r.csv", tmp_path / "city", config)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="price_model"):
        CityConfig(price_model="log")
    with pytest.raises(ValueError, match="column_set"):
        CityConfig(column_set="2023")
    with pytest.raises(ValueError, match="start_month"):
        CityConfig(start_month="2025-13")
