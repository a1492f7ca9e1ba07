"""Many cities in one table: the city column, training across cities or within one, pricing in a city."""
from __future__ import annotations

import dataclasses
import pandas as pd
import pytest
import torch

from airbnb import etl, train
from airbnb.artifacts import load_table, table_cities
from airbnb.errors import ConfigError
from airbnb.predict import PricePredictor, read_listings_file
from airbnb.schema import TableError, read_table


@pytest.fixture(scope="module")
def cities(tmp_path_factory):
    """Two small synthetic cities (two snapshots each, with reviews), their table together and
    Springfield's alone."""
    from airbnb.synthetic import CityConfig, generate_city

    root = tmp_path_factory.mktemp("cities")
    springfield = generate_city(root / "springfield", CityConfig(n_listings=150, seed=3, n_months=2), progress=False)
    shelbyville = generate_city(root / "shelbyville", CityConfig(n_listings=150, seed=4, n_months=2), progress=False)
    both, alone = root / "both.parquet", root / "springfield.parquet"
    etl.run_etl([springfield.root, shelbyville.root], [springfield.reviews, shelbyville.reviews], both)
    etl.run_etl(springfield.root, springfield.reviews, alone)
    return {"both": both, "alone": alone, "springfield": springfield, "root": root}


def fit(data_path, out, **settings):
    return train.train(train.configure(data_path=str(data_path), output_dir=str(out), epochs=2, ensemble_size=1,
                                       progress=False, **settings))


def test_one_table_holds_both_cities_named_by_their_folders(cities):
    summary = etl.run_etl([cities["springfield"].root], cities["springfield"].reviews, cities["root"] / "t.parquet")
    assert list(summary["cities"]) == ["springfield"]
    table = load_table(cities["both"])
    assert table_cities(cities["both"]) == ["shelbyville", "springfield"]
    assert table["city"].value_counts().to_dict().keys() == {"shelbyville", "springfield"}
    only, alone = load_table(cities["both"], cities=["springfield"]), load_table(cities["alone"])
    keys = ["listing_id", "year_month", "target_price", "amenities"]  # imputed values use the whole table's statistics
    pd.testing.assert_frame_equal(only[keys], alone[keys])
    with pytest.raises(TableError, match="no rows of 'ogdenville'.*shelbyville, springfield"):
        load_table(cities["both"], cities=["ogdenville"])


def test_a_table_from_before_the_city_column_is_one_city_named_after_its_file(cities, tmp_path):
    old = tmp_path / "albany.parquet"
    read_table(cities["alone"]).drop_columns(["city"]).to_pandas().to_parquet(old)
    assert set(load_table(old)["city"]) == {"albany"}


@pytest.fixture(scope="module")
def across(cities, tmp_path_factory):
    """A model trained across both cities (its artifacts folder)."""
    out = tmp_path_factory.mktemp("across")
    result = fit(cities["both"], out)
    assert result.processor.cities == ["shelbyville", "springfield"]
    assert tuple(result.model.embeddings["city"].weight.shape) == (3, train.TrainConfig().city_embedding_dim)
    return out


def test_training_across_cities_gives_the_location_axis_a_city_input(cities, across):
    predictor = PricePredictor.load(across)
    raw = read_listings_file(cities["springfield"].listings[0]).head(20)
    with pytest.raises(ConfigError, match="several cities .shelbyville, springfield.*city="):
        predictor.predict(raw, month=1)
    with pytest.raises(ConfigError, match="'ogdenville' is not one the model was trained on"):
        predictor.predict(raw, month=1, city="ogdenville")
    here, there = predictor.predict(raw, 1, city="springfield"), predictor.predict(raw, 1, city="shelbyville")
    assert (here["recommended_price"] > 0).all() and not here["location_factor"].equals(there["location_factor"])
    for axis in ("size_capacity", "quality_reputation", "amenities", "seasonality"):  # the city moves only location
        pd.testing.assert_series_equal(here[f"{axis}_factor"], there[f"{axis}_factor"])


def test_a_model_of_one_city_is_the_model_without_the_city_column(cities, tmp_path):
    """One city has no city input: trained on one city of the two-city table, or on a one-city
    table with or without the city column (a table from before it), the model is the same."""
    filtered = fit(cities["both"], tmp_path / "filtered", cities=["springfield"])
    assert "city" not in filtered.model.embeddings
    assert filtered.table["city"].eq("springfield").all()
    old = tmp_path / "springfield.parquet"
    read_table(cities["alone"]).drop_columns(["city"]).to_pandas().to_parquet(old)
    alone, before = fit(cities["alone"], tmp_path / "alone"), fit(old, tmp_path / "before")
    a, b = alone.model.state_dict(), before.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    raw = read_listings_file(cities["springfield"].listings[0]).head(5)
    predictor = PricePredictor.load(tmp_path / "alone")
    pd.testing.assert_frame_equal(predictor.predict(raw, 1), predictor.predict(raw, 1, city="springfield"))


def test_the_baselines_see_the_city_only_in_a_table_of_several(cities):
    from airbnb.baselines import BaselineDesign

    assert "city" in BaselineDesign().fit(load_table(cities["both"])).columns
    assert "city" not in BaselineDesign().fit(load_table(cities["alone"])).columns  # as before the column existed


def test_the_explorer_prices_a_listing_in_the_city_chosen(cities, across):
    """A model of several cities: the explorer's city control picks the city priced in, and the
    neighbourhoods offered and the comparables shown are that city's."""
    from airbnb.explore import Explorer
    from airbnb.explore_app import ExplorerApp
    from airbnb.explore_listing import ExploreError

    explorer = Explorer.load(across)
    table = load_table(cities["both"])
    ids = {c: set(table.loc[table["city"] == c, "listing_id"]) for c in ("shelbyville", "springfield")}
    assert explorer.cities == ["shelbyville", "springfield"]
    start = explorer.default_listing(month=3)
    assert start.city == "shelbyville" and start.listing_id in ids["shelbyville"] and start.month == 3
    moved = explorer.change(start, city="springfield")
    assert moved.city == "springfield" and moved.listing_id in ids["springfield"] and moved.month == 3
    quote = explorer.quote(moved)
    assert len(quote.comparables) == 5 and set(quote.comparables["listing_id"]) <= ids["springfield"]
    row = moved.to_row()
    assert row["city"].tolist() == ["springfield"]
    assert quote.price == pytest.approx(PricePredictor.load(across).predict_table(row)["recommended_price"][0])
    elsewhere = explorer.quote(dataclasses.replace(moved, city="shelbyville"))  # the same listing, the other city
    assert elsewhere.steps.set_index("step").loc["location", "dollars"] != \
        quote.steps.set_index("step").loc["location", "dollars"]
    known = set(explorer.vocabs["neighbourhood_cleansed"][1:])  # the model's vocabulary (rare names are <UNK>)
    assert set(explorer.options("springfield")["neighbourhood_cleansed"]) == \
        known & set(table.loc[table["city"] == "springfield", "neighbourhood_cleansed"]) != known
    with pytest.raises(ExploreError, match="'ogdenville' is not one the model was trained on"):
        explorer.change(start, city="ogdenville")
    with pytest.raises(ExploreError, match="choose the city.*shelbyville, springfield"):
        explorer.quote(dataclasses.replace(moved, city=None))

    page = ExplorerApp(explorer)
    assert page.city.options == ("shelbyville", "springfield") and page.quote.listing.city == "shelbyville"
    page.city.value = "springfield"
    assert page.quote.listing.city == "springfield" and page.quote.listing.listing_id in ids["springfield"]
    assert set(page.controls["neighbourhood_cleansed"].options) == set(explorer.options("springfield")[
        "neighbourhood_cleansed"])
    page.listing_id.value = str(next(iter(ids["shelbyville"] - ids["springfield"])))  # a listing of the other city
    assert page.city.value == "shelbyville" and page.quote.listing.city == "shelbyville"


def test_a_city_without_its_reviews_file_is_refused_not_dropped(cities, tmp_path):
    """Weighted by reviews files, a city whose file is missing would lose every row (zero weight)."""
    springfield, shelbyville = cities["springfield"], cities["root"] / "shelbyville"
    with pytest.raises(etl.EtlError, match="no reviews file of 'shelbyville' among --reviews.*without --reviews"):
        etl.run_etl([springfield.root, shelbyville], springfield.reviews, tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()
    summary = etl.run_etl([springfield.root, shelbyville], None, tmp_path / "t.parquet")  # the listings' own columns
    assert list(summary["cities"]) == ["shelbyville", "springfield"]
    one = etl.run_etl(springfield.root, springfield.reviews, tmp_path / "one.parquet", etl.EtlConfig(city="both"))
    assert list(one["cities"]) == ["both"]  # one city named for all: its one reviews file is enough
