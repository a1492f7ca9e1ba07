"""The synthetic city: reproducible bytes, the real file formats, a ground truth that adds up and
agrees with the files, review statistics consistent with reviews.csv.gz, and atomic output."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airbnb import synthetic
from airbnb.io import file_sha256
from airbnb.synthetic import (AXES, LISTINGS_COLUMNS_2024, LISTINGS_COLUMNS_2025, CityConfig,
                              generate_city)

from conftest import ALBANY, NYC_SAMPLE, require_shared

SMALL = CityConfig(n_listings=300, n_months=4, seed=7)


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
def listings(city) -> pd.DataFrame:
    return read_listings(city.listings)


@pytest.fixture(scope="module")
def truth(city) -> pd.DataFrame:
    return pd.read_parquet(city.ground_truth)


@pytest.fixture(scope="module")
def reviews(city) -> pd.DataFrame:
    return pd.read_csv(city.reviews, dtype={"comments": str})


# --------------------------------------------------------------------------- reproducibility

def test_same_seed_gives_identical_files(city, tmp_path):
    again = generate_city(tmp_path / "again", SMALL, progress=False)
    assert tree_hashes(again.root) == tree_hashes(city.root)
    assert len(tree_hashes(city.root)) == SMALL.n_months + 3


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


def test_ground_truth_components_sum_to_price(truth):
    total = truth[["bias", *AXES, "noise"]].sum(axis=1)
    np.testing.assert_allclose(total, truth["price"], rtol=0, atol=1e-9)
    assert truth["price"].min() >= SMALL.min_price
    assert truth["seasonality"].nunique() == SMALL.n_months  # one effect per month
    assert truth.groupby("listing_id")["location"].nunique().max() == 1  # location is static
    assert abs(truth["noise"].mean()) < 0.05 * truth["price"].mean()


def test_written_price_parses_back_to_the_truth(listings, truth):
    parsed = parse_price(listings["price"])
    shown = truth["written_price"].notna().to_numpy()
    assert (np.abs(parsed[shown] - truth["price"][shown]) <= 0.5 + 1e-9).all()
    assert (parsed[shown] == truth["written_price"][shown]).all()
    dirty = listings["price"][~shown]
    assert dirty.isin(["", "$0.00"]).all() and len(dirty) > 0


def test_price_levels_are_nyc_like(tmp_path):
    files = generate_city(tmp_path / "levels", CityConfig(n_listings=3000, n_months=2, seed=11),
                          progress=False)
    frame = read_listings(files.listings)
    price = parse_price(frame["price"])
    by_room = price.groupby(frame["room_type"]).median()
    assert 100 <= price.median() <= 200
    assert 150 <= by_room["Entire home/apt"] <= 260 and 50 <= by_room["Private room"] <= 120
    assert price.max() >= 1000 and frame["price"].str.contains(",").any()  # "$1,250.00"
    by_borough = price.groupby(frame["neighbourhood_group_cleansed"]).median()
    assert by_borough["Manhattan"] > by_borough["Brooklyn"] > by_borough["Bronx"]


def test_truth_is_the_documented_function_of_the_written_columns(city, listings, truth):
    """Recompute every axis from the CSV text and city.json alone, as the model will see it."""
    manifest = json.loads(city.manifest.read_text())
    fallback = manifest["imputation_fallbacks"]

    def number(column: str, fill: float) -> pd.Series:
        return pd.to_numeric(listings[column], errors="coerce").fillna(fill)

    amenities = listings["amenities"].map(
        lambda text: sum(manifest["amenity_values"][a] for a in json.loads(text)))
    np.testing.assert_allclose(amenities, truth["amenities"], atol=1e-9)

    season = listings["last_scraped"].str[5:7].astype(int).astype(str).map(manifest["seasonal_effects"])
    np.testing.assert_allclose(season, truth["seasonality"])

    table = pd.DataFrame(manifest["neighbourhoods"]).set_index("name")
    lat, lon = number("latitude", np.nan), number("longitude", np.nan)
    km = np.hypot((lat - synthetic.MIDTOWN[0]) * 111.0, (lon - synthetic.MIDTOWN[1]) * 84.3)
    location = table["effect"].reindex(listings["neighbourhood_cleansed"]).to_numpy() \
        + 45 * np.exp(-km / 6) - 10
    np.testing.assert_allclose(location, truth["location"], atol=1e-9)

    text = listings["bathrooms_text"]
    baths = pd.to_numeric(text.str.extract(r"(\d+\.?\d*)")[0], errors="coerce")
    baths = baths.mask(text.str.contains("half-bath", case=False), 0.5).fillna(fallback["bathrooms_numeric"])
    shared = text.str.contains("shared", case=False)
    bedrooms, beds = number("bedrooms", fallback["bedrooms"]), number("beds", fallback["beds"])
    room = listings["room_type"]
    whole = room.isin(["Entire home/apt", "Hotel room"])
    size = (room.map(manifest["room_type_effects"])
            + listings["property_type"].map(manifest["property_type_effects"])
            + np.where(whole, 12, 6) * (listings["accommodates"].astype(int) - 2) + 4 * (beds - 1)
            + np.where(whole, 35 * (bedrooms - 1) + 15 * np.maximum(bedrooms - 1, 0) ** 2, 0)
            + np.where(room == "Entire home/apt", 25 * (baths - 1), 0) - 10 * shared)
    np.testing.assert_allclose(size, truth["size_capacity"], atol=1e-9)

    quality = sum(w * (number(c, fallback[c]) - 4.75) for c, w in manifest["review_score_weights"].items())
    for column, pivot, weight in (("host_response_rate", 0.95, 15), ("host_acceptance_rate", 0.90, 10)):
        rate = pd.to_numeric(listings[column].str.rstrip("%"), errors="coerce") / 100
        quality += weight * (rate.fillna(fallback[column]) - pivot)
    quality += (8 * (listings["host_is_superhost"] == "t") + 4 * (listings["host_identity_verified"] == "t")
                - 5 * (listings["instant_bookable"] == "t")
                + 4 * np.log1p(listings["number_of_reviews_ltm"].astype(int)))
    np.testing.assert_allclose(quality, truth["quality_reputation"], atol=1e-9)


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

    monkeypatch.setattr(synthetic, "_write_reviews", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_city(out, CityConfig(n_listings=100, n_months=2, seed=2), progress=False)
    assert tree_hashes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["city"]  # no staging directory left behind


def test_failed_first_generate_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, "_write_manifest", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        generate_city(tmp_path / "city", CityConfig(n_listings=50, n_months=1), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_regenerating_replaces_the_output(tmp_path):
    out = tmp_path / "city"
    generate_city(out, CityConfig(n_listings=60, n_months=2, seed=1), progress=False)
    files = generate_city(out, CityConfig(n_listings=60, n_months=1, seed=1), progress=False)
    assert len(list(out.glob("*/listings.csv.gz"))) == 1 == len(files.listings)
    assert [p.name for p in tmp_path.iterdir()] == ["city"]


def test_cli_writes_and_summarises(tmp_path, capsys):
    files = synthetic.main(["--out", str(tmp_path / "cli"), "--listings", "80", "--months", "2",
                            "--start-month", "2024-11", "--seed", "5", "--column-set", "2024",
                            "--no-progress"])
    assert [p.parent.name[:7] for p in files.listings] == ["2024-11", "2024-12"]
    out = capsys.readouterr().out
    assert "2 monthly snapshots" in out and "reviews" in out and str(tmp_path / "cli") in out


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="column_set"):
        CityConfig(column_set="2023")
    with pytest.raises(ValueError, match="start_month"):
        CityConfig(start_month="2025-13")
