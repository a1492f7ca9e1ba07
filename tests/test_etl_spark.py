"""The Spark engine builds the pandas engine's table: same schema, rows, values and summary counts.

One local[2] Spark session serves the module (starting one takes ~15 s). Without PySpark (the
``[spark]`` extra) or Java these tests skip, except on CI, where ``make test`` installs both.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

from airbnb import artifacts, etl
from airbnb.schema import REVIEW_SCORE_COLUMNS, TABLE_SCHEMA, read_table

from conftest import ALBANY, SHARED_DATA, require_shared, write_listings, write_reviews
from test_panel import write_panel

if not os.environ.get("CI"):
    pytest.importorskip("pyspark", reason="the Spark engine's extra is not installed (pip install -e '.[spark]')")
    if not shutil.which("java"):
        pytest.skip("the Spark engine needs Java 17+ (none on PATH)", allow_module_level=True)

from airbnb.etl import spark as etl_spark  # noqa: E402

NEWARK = SHARED_DATA / "newark-2025-09"
# Small and bounded: two cores at most, few shuffle partitions, no UI.
TEST_SPARK = etl.EtlConfig(spark_master="local[2]", spark_conf=[
    "spark.sql.shuffle.partitions=2", "spark.default.parallelism=2", "spark.ui.enabled=false",
    "spark.driver.memory=1g", "spark.sql.adaptive.coalescePartitions.initialPartitionNum=2"])


@pytest.fixture(scope="module")
def spark():
    session = etl_spark.session(TEST_SPARK)
    yield session
    session.stop()


def build_both(tmp_path, spark, listings, reviews=None, config=etl.EtlConfig()):
    """Both engines' summaries and output paths for the same inputs."""
    pandas_out, spark_out = tmp_path / "pandas.parquet", tmp_path / "spark"
    by_pandas = etl.run_etl(listings, reviews, pandas_out, config)
    by_spark = etl_spark.run_etl(listings, reviews, spark_out, config, spark=spark)
    return (pandas_out, by_pandas), (spark_out, by_spark)


def assert_same_tables(pandas_out, spark_out):
    """Row by row after sorting by (listing_id, year_month), floats within 1e-9 (relative)."""
    written = pads.dataset(spark_out, format="parquet").schema  # the data files, without the partition keys
    assert {f.name: f.type for f in written} == {f.name: f.type for f in TABLE_SCHEMA if f.name in written.names}
    assert sorted(p.name.split("=")[0] for p in spark_out.iterdir() if not p.name.startswith((".", "_"))) \
        == ["city"] * len(list(spark_out.glob("city=*")))
    a = read_table(pandas_out).to_pandas().sort_values(["listing_id", "year_month"], ignore_index=True)
    b = read_table(spark_out).to_pandas().sort_values(["listing_id", "year_month"], ignore_index=True)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=0)


def assert_same_summaries(a: dict, b: dict):
    """Every count the same; fill values within 1e-9; only the output, engine and time differ."""
    assert (a["engine"], b["engine"]) == ("pandas", "spark")
    skip = {"output", "engine", "seconds", "imputation"}
    assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}
    assert a["imputation"].keys() == b["imputation"].keys()
    for column, record in a["imputation"].items():
        other = b["imputation"][column]
        assert (record["method"], record["n_imputed"]) == (other["method"], other["n_imputed"]), column
        assert record["value"] == pytest.approx(other["value"], rel=1e-9), column


def test_engines_agree_on_the_synthetic_city(small_city, small_table, spark, tmp_path):
    """12 monthly snapshots of a 300-listing city with its reviews file."""
    out = tmp_path / "spark"
    by_spark = etl_spark.run_etl(small_city.root, small_city.reviews, out, spark=spark)
    assert_same_tables(small_table, out)
    assert_same_summaries(json.loads(etl.summary_path(small_table).read_text()), by_spark)
    assert by_spark["steps"][0]["rows_in"] > 3000 and len(list(out.glob("city=city/year_month=*"))) == 12
    assert json.loads(etl.summary_path(out).read_text())["rows_out"] == by_spark["rows_out"]


def test_engines_agree_on_albany(spark, tmp_path):
    folder = require_shared(ALBANY)
    (a, by_pandas), (b, by_spark) = build_both(tmp_path, spark, folder / "listings.csv.gz", folder / "reviews.csv.gz")
    assert_same_tables(a, b)
    assert_same_summaries(by_pandas, by_spark)
    assert by_spark["cities"] == {"albany": by_pandas["rows_out"]}


def test_engines_agree_on_a_panel(spark, tmp_path):
    """Snapshots of one city over time: spreadsheet dates, a reduced scrape whose amenities come from
    each listing's other snapshots, and a reviews file that covers only the earlier months."""
    root = write_panel(tmp_path / "albany-panel")
    write_listings(root / "2023-07-03" / "listings.csv", [
        {"id": 1, "last_scraped": "7/3/2023", "amenities": '["Oven"]'}, {"id": 5, "last_scraped": "7/3/2023"},
        {"id": 6, "last_scraped": "July 3"}])
    write_listings(root / "2025-03-02" / "listings.csv", [
        {"id": 1, "last_scraped": "2025-03-02", "estimated_occupancy_l365d": "40"},
        {"id": 2, "last_scraped": "2025-03-02", "estimated_occupancy_l365d": ""}])
    reviews = write_reviews(tmp_path / "reviews.csv", [(1, "2024-11-01"), (2, "2024-12-01"), (5, "2023-06-01")])
    assert tmp_path.name != "albany"  # one city: its reviews file, whatever its folder
    (pandas_out, a), (spark_out, b) = build_both(tmp_path, spark, root, reviews)
    assert_same_tables(pandas_out, spark_out)
    assert_same_summaries(a, b)
    assert a["parse_issues"]["last_scraped_spreadsheet_date"] == 2 and len(a["reduced_scrapes"]) == 1
    assert set(a["weight_method"]["rows"]) == {"reviews_file", "estimated_occupancy_l365d", "number_of_reviews_ltm"}


def test_real_panel_engines_agree(spark, tmp_path):
    panel = require_shared(SHARED_DATA / "albany-panel")
    (pandas_out, a), (spark_out, b) = build_both(tmp_path, spark, panel, ALBANY / "reviews.csv.gz")
    assert_same_tables(pandas_out, spark_out)
    assert_same_summaries(a, b)


def test_engines_agree_on_newark(spark, tmp_path):
    """No reviews file: the weight comes from estimated_occupancy_l365d (2025 columns)."""
    folder = require_shared(NEWARK)
    (a, by_pandas), (b, by_spark) = build_both(tmp_path, spark, folder / "listings.csv.gz")
    assert_same_tables(a, b)
    assert_same_summaries(by_pandas, by_spark)
    assert "estimated_occupancy_l365d" in by_spark["weight_method"]["rows"]


OLD_SCALE = {"review_scores_rating": "95", **dict.fromkeys(REVIEW_SCORE_COLUMNS[1:], "9")}


def two_cities(root):
    """Two cities in Inside Airbnb's layouts, with every kind of row the steps treat apart."""
    springfield = [
        {"id": 1}, {"id": 2, "price": ""}, {"id": 3, "price": "$0.00"}, {"id": 4, "price": "call me"},
        {"id": "x5"}, {"id": 6, "last_scraped": "yesterday"}, {"id": 7, "latitude": ""},
        {"id": 8, "accommodates": "0"}, {"id": 9, "latitude": "412", "longitude": "-500"},
        {"id": 10, "bedrooms": "200", "review_scores_cleanliness": "7", "host_response_rate": "150%"},
        {"id": 11, "amenities": '["Wifi", "Kitch'}, {"id": 12, "amenities": '{"Wifi": true}'},
        {"id": 13, "bathrooms_text": "Shared half-bath", "host_is_superhost": "x", "beds": ""},
        {"id": 14, "host_response_rate": "N/A", "bedrooms": "many"},
        {"id": 15, "price": "$80.00"}, {"id": 15, "price": "$90.00"},  # the same scrape twice: the last counts
        {"id": 16, "number_of_reviews_ltm": "0"}, {"id": 17, "neighbourhood_cleansed": "Downtown",
                                                    "neighbourhood_group_cleansed": "Center"},
        {"id": "1e30"}, {"id": "-5"}, {"id": 18, "price": "inf"}, {"id": 19, "price": "$1e308"},  # issue 22
        {"id": 20, "latitude": "0", "longitude": "0"}, {"id": 21, "latitude": "-73.9", "longitude": "40.7"},
    ]
    write_listings(root / "springfield-2024-11" / "listings.csv", springfield)
    write_reviews(root / "springfield-2024-11" / "reviews.csv",
                  [(i, "2024-11-01") for i in range(1, 18)] + [(1, "2024-09-30"), (16, "2024-08-01"), (3, "bad")])
    old = [{"id": 101, "last_scraped": "2019-10-05", **OLD_SCALE}, {"id": 102, "last_scraped": "2019-10-05", **OLD_SCALE},
           {"id": 103, "last_scraped": "2019-10-05", "price": "$1,250.00"},
           {"id": 105, "last_scraped": "2019-10-05", **OLD_SCALE}]
    write_listings(root / "shelbyville" / "2019-10-05" / "listings.csv", old)
    later = [{"id": 101, "last_scraped": "2019-10-20", "price": "$70.00", **OLD_SCALE},  # later scrape, same month
             {"id": 102, "last_scraped": "2019-11-02"}, {"id": 104, "last_scraped": "2019-11-02", "review_scores_rating": "47"}]
    path = write_listings(root / "shelbyville" / "2019-11-02" / "data" / "listings.csv", later)
    with open(path, "rb") as plain, gzip.open(path.with_suffix(".csv.gz"), "wb") as packed:
        packed.write(plain.read())
    path.unlink()
    write_reviews(root / "shelbyville" / "reviews.csv",
                  [(101, "2019-10-01"), (102, "2019-11-01"), (104, "2019-11-01"), (105, "2019-09-15")])
    return [root / "springfield-2024-11", root / "shelbyville"], sorted(map(str, root.glob("*/reviews.csv")))


def test_engines_agree_on_two_cities_with_every_kind_of_row(spark, tmp_path):
    listings, reviews = two_cities(tmp_path / "in")
    (a, by_pandas), (b, by_spark) = build_both(tmp_path, spark, listings, reviews)
    assert_same_tables(a, b)
    assert_same_summaries(by_pandas, by_spark)
    assert by_spark["cities"] == {"shelbyville": 4, "springfield": 9}
    assert by_spark["rescaled_scores"][str(tmp_path / "in/shelbyville/2019-10-05/listings.csv")] == REVIEW_SCORE_COLUMNS
    assert by_spark["parse_issues"]["amenities_unparseable"] == 2 and by_spark["parse_issues"]["reviews_unparseable"] == 1
    steps = {s["step"]: s["dropped"] for s in by_spark["steps"]}
    assert steps["parse_keys"] == {"invalid_id": 3, "invalid_last_scraped": 1}
    assert steps["valid_price"]["impossible_price"] == 2 and steps["possible_values"]["far_from_city"] == 2
    assert steps["latest_scrape_per_month"] == {"older_scrape_same_month": 2}
    table = artifacts.load_table(b, cities=["shelbyville"])
    assert set(table["city"]) == {"shelbyville"} and table.loc[table.listing_id == 101, "target_price"].tolist() == [70.0]
    assert sorted(p.name for p in (b / "city=shelbyville").iterdir()) == ["year_month=2019-10", "year_month=2019-11"]


def test_a_neighbourhood_in_two_groups_keeps_its_first_rows(spark, tmp_path):
    """The group of a neighbourhood's first row (by listing and month), as the pandas engine keeps it."""
    rows = [{"id": i, "neighbourhood_cleansed": "Downtown", "neighbourhood_group_cleansed": group}
            for i, group in ((3, "North"), (1, "Center"), (2, "North"))]
    write_listings(tmp_path / "in" / "springfield-2024-11" / "listings.csv", rows)
    (a, by_pandas), (b, by_spark) = build_both(tmp_path, spark, tmp_path / "in")
    assert_same_tables(a, b)
    assert_same_summaries(by_pandas, by_spark)
    assert by_spark["neighbourhood_groups"] == {"Downtown": "Center"}


def test_the_city_flag_names_every_file(spark, tmp_path):
    listings, _ = two_cities(tmp_path / "in")
    config = etl.EtlConfig(city="capital-city")
    (a, by_pandas), (b, by_spark) = build_both(tmp_path, spark, listings, config=config)
    assert_same_tables(a, b)
    assert list(by_spark["cities"]) == ["capital-city"] and [p.name for p in b.glob("city=*")] == ["city=capital-city"]


def test_cli_engine_spark_writes_a_partitioned_table_training_reads(spark, tmp_path):
    listings = write_listings(tmp_path / "metropolis-2024-11" / "listings.csv", [{"id": i} for i in range(1, 6)])
    out = tmp_path / "table"
    summary = etl.main(["--engine", "spark", "--listings", str(listings), "--output", str(out)])
    assert summary["engine"] == "spark" and summary["rows_out"] == 5
    table = artifacts.load_table(out)
    assert table["listing_id"].tolist() == [1, 2, 3, 4, 5] and set(table["city"]) == {"metropolis"}
    digest = artifacts.table_digest(out)
    assert len(digest) == 64 and digest == artifacts.table_digest(out)
    again = etl.main(["--engine", "spark", "--listings", str(listings), "--output", str(out)])  # replaces it
    assert again["rows_out"] == 5 and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_damaged_input_and_unwritable_output_are_one_line_errors(spark, tmp_path, capsys):
    listings = write_listings(tmp_path / "listings.csv", [{"id": i} for i in range(3000)])
    broken = tmp_path / "broken" / "listings.csv.gz"
    broken.parent.mkdir()
    data = gzip.compress(listings.read_bytes())
    broken.write_bytes(data[:len(data) // 2])
    with pytest.raises(etl.EtlError, match=f"^{broken} is truncated or not a gzip/CSV file"):
        etl_spark.run_etl(broken, output=tmp_path / "t", spark=spark)
    folder = tmp_path / "notes"
    (folder / "mine.txt").parent.mkdir()
    (folder / "mine.txt").write_text("keep me")
    with pytest.raises(etl.EtlError, match="is a folder that is not a modeling table"):
        etl_spark.run_etl(listings, output=folder, spark=spark)
    assert (folder / "mine.txt").read_text() == "keep me"
    other = write_listings(tmp_path / "other" / "listings.csv", [{"id": 1}])
    with pytest.raises(etl.EtlError, match="no reviews file of 'other' among --reviews"):  # its rows would be lost
        etl_spark.run_etl([listings, other], write_reviews(tmp_path / "reviews.csv", []), tmp_path / "t", spark=spark)
    (tmp_path / "reviews.csv").unlink()
    shutil.rmtree(tmp_path / "other")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
    np.testing.assert_equal(sorted(p.name for p in tmp_path.iterdir()), ["broken", "listings.csv", "notes"])
