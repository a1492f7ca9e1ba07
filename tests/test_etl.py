"""ETL: parsers, the review window, real Inside Airbnb files, bad input and atomic output."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from airbnb import etl, io
from airbnb.etl import parsing, reading, writing
from airbnb.schema import REVIEW_SCORE_COLUMNS, TABLE_SCHEMA

from conftest import ALBANY, NYC_SAMPLE, require_shared, write_listings, write_reviews


def s(*values):
    return pd.Series(list(values), dtype="str")


# --------------------------------------------------------------------------- parsers

def test_parse_price():
    out = etl.parse_price(s("$1,250.00", "", None, "$95", "abc", "$0.00"))
    assert out.iloc[0] == 1250.0 and out.iloc[3] == 95.0 and out.iloc[5] == 0.0
    assert out.iloc[[1, 2, 4]].isna().all()


@pytest.mark.parametrize("text, number, kind", [
    ("2.5 baths", 2.5, "private"),
    ("Half-bath", 0.5, "private"),
    ("1 shared bath", 1.0, "shared"),
    ("Shared half-bath", 0.5, "shared"),
    ("Private half-bath", 0.5, "private"),
    ("1 private bath", 1.0, "private"),
    ("0 baths", 0.0, "private"),
    ("3 Shared Baths", 3.0, "shared"),
])
def test_parse_bathrooms(text, number, kind):
    n, k = etl.parse_bathrooms(s(text))
    assert n.iloc[0] == number and k.iloc[0] == kind


def test_parse_bathrooms_missing_is_nan_private():
    n, k = etl.parse_bathrooms(s(None, "bath"))
    assert n.isna().all() and list(k) == ["private", "private"]


def test_parse_rate_and_bool():
    rates = etl.parse_rate(s("95%", "100%", "N/A", "", None, "0%"))
    assert rates.iloc[0] == pytest.approx(0.95) and rates.iloc[1] == 1.0 and rates.iloc[5] == 0.0
    assert rates.iloc[2:5].isna().all()
    bools = etl.parse_bool(s("t", "f", "", None, "x"))
    assert bools.iloc[0] is np.True_ or bools.iloc[0] == True  # noqa: E712
    assert bools.iloc[1] == False  # noqa: E712
    assert bools.iloc[2:].isna().all()


def test_median_imputation_of_bedrooms(tmp_path):
    rows = [{"id": i, "bedrooms": b} for i, b in enumerate(["1", "2", "", "5", "3"], start=1)]
    listings = write_listings(tmp_path / "listings.csv", rows)
    table, summary = etl.build_table(listings)
    df = table.to_pandas().set_index("listing_id")
    assert df.loc[3, "bedrooms"] == 2.5  # median of 1, 2, 3, 5
    assert summary["imputation"]["bedrooms"] == {"method": "median", "value": 2.5, "n_imputed": 1}


def test_mean_imputation_of_rates_and_scores(tmp_path):
    rows = [{"id": 1, "host_response_rate": "90%", "review_scores_rating": "4.0"},
            {"id": 2, "host_response_rate": "N/A", "review_scores_rating": ""},
            {"id": 3, "host_response_rate": "70%", "review_scores_rating": "5.0"}]
    table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows))
    df = table.to_pandas().set_index("listing_id")
    assert df.loc[2, "host_response_rate"] == pytest.approx(0.8)
    assert df.loc[2, "review_scores_rating"] == pytest.approx(4.5)


def test_malformed_amenities_become_empty_lists_training_accepts(tmp_path, monkeypatch):
    rows = [{"id": 1, "amenities": '["Wifi", "Kitchen"]'},
            {"id": 2, "amenities": '["Wifi", "Kitch'},   # cut short: not JSON
            {"id": 3, "amenities": '{"Wifi": true}'},    # JSON, not a list
            {"id": 4, "amenities": '["Wifi", 3]'},        # a list, not of strings
            {"id": 5, "amenities": '["Wifi", "Kitch'},   # the same malformed text again
            {"id": 6, "amenities": '["Wifi", "Kitchen"]'},
            {"id": 7, "amenities": ""}]                   # no amenities at all: valid
    calls = []
    real = parsing.parse_amenities
    monkeypatch.setattr(parsing, "parse_amenities", lambda text: calls.append(text) or real(text))
    out = tmp_path / "t.parquet"
    summary = etl.run_etl(write_listings(tmp_path / "listings.csv", rows), output=out)
    assert sorted(calls) == sorted(['["Wifi", "Kitchen"]', '["Wifi", "Kitch', '{"Wifi": true}', '["Wifi", 3]'])
    amenities = pd.read_parquet(out).set_index("listing_id")["amenities"]
    assert amenities[[1, 6]].tolist() == ['["Wifi", "Kitchen"]'] * 2
    assert amenities[[2, 3, 4, 5]].tolist() == ["[]"] * 4 and pd.isna(amenities[7])
    assert summary["parse_issues"]["amenities_unparseable"] == 4
    assert [real(text) for text in amenities] == [["Wifi", "Kitchen"], [], [], [], [], ["Wifi", "Kitchen"], []]


def test_impossible_values_drop_the_row_or_are_imputed(tmp_path):
    rows = [{"id": 1, "bedrooms": "2"},
            {"id": 2, "bedrooms": "200", "review_scores_cleanliness": "7"},
            {"id": 3, "bedrooms": "4", "host_response_rate": "150%"},
            {"id": 4, "accommodates": "0"},
            {"id": 5, "latitude": "412", "longitude": "-500"},
            {"id": 6, "longitude": "-190"},
            {"id": 7, "beds": "-1", "number_of_reviews_ltm": "20000", "bathrooms_text": "60 baths"}]
    reviews = write_reviews(tmp_path / "reviews.csv", [(i, "2024-11-01") for i in range(1, 8)])
    table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows), reviews)
    df = table.to_pandas().set_index("listing_id")
    assert df.index.tolist() == [1, 2, 3, 7]
    steps = {s["step"]: s for s in summary["steps"]}
    assert steps["possible_values"]["dropped"] == {"impossible_accommodates": 1, "impossible_latitude": 1,
                                                   "impossible_longitude": 1}
    assert (steps["possible_values"]["rows_in"], steps["possible_values"]["rows_out"]) == (7, 4)
    assert df.loc[2, "bedrooms"] == 2.0  # median of 2, 4 and 1 (the default)
    assert df.loc[2, "review_scores_cleanliness"] == pytest.approx(4.7)  # mean of the others
    assert df.loc[3, "host_response_rate"] == pytest.approx(0.95)
    assert (df.loc[7, "beds"], df.loc[7, "number_of_reviews_ltm"], df.loc[7, "bathrooms_numeric"]) == (1.0, 0, 1.0)
    issues = summary["parse_issues"]
    assert {k: v for k, v in issues.items() if k.endswith("_impossible") and v} == {
        "bedrooms_impossible": 1, "review_scores_cleanliness_impossible": 1, "host_response_rate_impossible": 1,
        "beds_impossible": 1, "number_of_reviews_ltm_impossible": 1, "bathrooms_numeric_impossible": 1}
    assert issues["review_scores_rating_impossible"] == 0
    assert summary["imputation"]["bedrooms"]["n_imputed"] == 1


OLD_SCORES = [{"review_scores_rating": "95", **dict.fromkeys(REVIEW_SCORE_COLUMNS[1:], "9")},
              {"review_scores_rating": "80", **dict.fromkeys(REVIEW_SCORE_COLUMNS[1:], "10")}]


def test_impossible_prices_and_ids_and_far_coordinates_never_enter_the_table(tmp_path):
    """Issue 22: an infinite or 1e308 price entered the table (as inf), id 1e30 wrapped to a negative
    id and turned the file's ids into floats, -5 was kept, a listing at 0,0 stayed in New York."""
    big = "1234567890123456789"  # a real Airbnb id: beyond a float's exact integers
    rows = [{"id": i} for i in range(1, 9)] + [
        {"id": 20, "price": "inf"}, {"id": 21, "price": "$1e308"}, {"id": 22, "price": "$250,000.00"},
        {"id": "1e30"}, {"id": "-5"}, {"id": "4.5"}, {"id": big},
        {"id": 30, "latitude": "0", "longitude": "0"}, {"id": 31, "latitude": "-73.9", "longitude": "40.7"},
        {"id": 32, "latitude": "41.2", "longitude": "-73.9"}]  # 56 km north: a suburb, kept
    listings = write_listings(tmp_path / "nyc" / "listings.csv", rows)
    summary = etl.run_etl(listings, output=tmp_path / "t.parquet")
    table = pd.read_parquet(tmp_path / "t.parquet")
    steps = {s["step"]: s["dropped"] for s in summary["steps"]}
    assert steps["parse_keys"] == {"invalid_id": 3}
    assert steps["valid_price"] == {"impossible_price": 3}
    assert steps["possible_values"] == {"far_from_city": 2}
    assert sorted(table["listing_id"]) == [*range(1, 9), 32, int(big)]
    assert table["target_price"].between(1, 100_000).all()


def test_old_score_scale_is_turned_into_stars_per_file(tmp_path):
    """A 2019 dump (rating 20-100, sub-scores 2-10) beside a 0-5 one: only the old file is rescaled,
    even though the new one has a stray impossible rating above 5."""
    old = write_listings(tmp_path / "2019-11" / "listings.csv",
                         [{"id": i, "last_scraped": "2019-11-04", **OLD_SCORES[i - 1]} for i in (1, 2)])
    new = write_listings(tmp_path / "2024-11" / "listings.csv",
                         [{"id": 1, "review_scores_rating": "4.0"}, {"id": 2, "review_scores_rating": "47"},
                          {"id": 3, "review_scores_rating": "5.0"}])
    table, summary = etl.build_table([old, new])
    df = table.to_pandas().set_index(["listing_id", "year_month"])
    assert df.loc[[(1, "2019-11"), (2, "2019-11")], "review_scores_rating"].tolist() == [4.75, 4.0]
    assert df.loc[[(1, "2019-11"), (2, "2019-11")], "review_scores_value"].tolist() == [4.5, 5.0]
    assert df.loc[[(1, "2024-11"), (3, "2024-11")], "review_scores_rating"].tolist() == [4.0, 5.0]
    assert df.loc[(2, "2024-11"), "review_scores_rating"] == pytest.approx(4.4375)  # mean of 4.75, 4, 4, 5
    assert df.loc[(1, "2024-11"), "review_scores_value"] == pytest.approx(4.7)  # 0-5 sub-scores untouched
    assert summary["rescaled_scores"] == {str(old): REVIEW_SCORE_COLUMNS}
    assert summary["parse_issues"]["review_scores_rating_impossible"] == 1


def test_prediction_parsing_rescales_old_scores_the_same_way(tmp_path):
    """Raw rows without a file label (what prediction parses) are judged as one file."""
    old = etl.read_csv_columns(write_listings(tmp_path / "listings.csv", OLD_SCORES), etl.REQUIRED_LISTING_COLUMNS)
    parsed = etl.parse_listing_features(old)
    assert parsed["review_scores_rating"].tolist() == [4.75, 4.0]
    assert parsed["review_scores_checkin"].tolist() == [4.5, 5.0]
    one_new = etl.parse_listing_features(old.assign(review_scores_rating="4.5"))
    assert one_new["review_scores_rating"].tolist() == [4.5, 4.5]


# --------------------------------------------------------------------------- review window

def test_review_window_hand_computed(tmp_path):
    listings = [
        write_listings(tmp_path / "2024-11" / "listings.csv", [
            {"id": 1, "last_scraped": "2024-11-05"},
            {"id": 2, "last_scraped": "2024-11-05"},
        ]),
        write_listings(tmp_path / "2025-01" / "listings.csv", [
            {"id": 1, "last_scraped": "2025-01-03"},
            {"id": 3, "last_scraped": "2025-01-03"},
        ]),
    ]
    reviews = write_reviews(tmp_path / "reviews.csv", [
        (1, "2024-11-20"), (1, "2024-10-01"), (1, "2024-09-30"),  # window of 2024-11: Sep, Oct, Nov
        (1, "2024-08-31"),                                          # too old for 2024-11
        (1, "2024-12-15"), (1, "2025-01-02"),                       # window of 2025-01: Nov, Dec, Jan
        (2, "2024-06-01"),                                          # only old reviews -> weight 0
        (3, "2024-11-30"), (3, "2024-11-01"),                       # Dec -> Jan year change; Dec empty
    ])
    table, summary = etl.build_table(listings, reviews, etl.EtlConfig(0.5, 3.0))
    got = table.to_pandas().set_index(["listing_id", "year_month"])["reviews_in_last_90_days"].to_dict()
    assert got == {(1, "2024-11"): 3, (1, "2025-01"): 3, (3, "2025-01"): 2}
    weights = table.to_pandas().set_index(["listing_id", "year_month"])["estimated_occupancy_rate"]
    # 3 reviews / 0.5 = 6 bookings * 3 nights = 18 nights / 90 days
    assert weights[(1, "2024-11")] == pytest.approx(0.2)
    assert summary["weight_method"]["method"] == "reviews_file"
    dropped = {s["step"]: s["dropped"] for s in summary["steps"]}
    assert dropped["positive_weight"] == {"zero_weight": 1}


def test_weight_is_capped_at_one(tmp_path):
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}])
    reviews = write_reviews(tmp_path / "reviews.csv", [(1, "2024-11-01")] * 40)
    table, _ = etl.build_table(listings, reviews)
    assert table.column("estimated_occupancy_rate").to_pylist() == [1.0]
    assert table.column("reviews_in_last_90_days").to_pylist() == [40]


def test_two_scrapes_in_one_month_keep_the_latest(tmp_path):
    write_listings(tmp_path / "a" / "listings.csv", [{"id": 1, "last_scraped": "2024-11-02", "price": "$80.00"}])
    write_listings(tmp_path / "b" / "listings.csv", [{"id": 1, "last_scraped": "2024-11-28", "price": "$120.00"}])
    table, summary = etl.build_table(tmp_path)
    assert table.column("target_price").to_pylist() == [120.0]
    assert table.column("snapshot_date").to_pylist()[0].isoformat() == "2024-11-28"
    assert summary["steps"][2]["dropped"] == {"older_scrape_same_month": 1}


def test_weight_without_reviews_file(tmp_path):
    rows = [{"id": 1, "number_of_reviews_ltm": "73"}, {"id": 2, "number_of_reviews_ltm": "0"}]
    table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows))
    # 73 reviews a year -> 18 in 90 days -> 36 bookings -> 108 nights -> capped at 1
    assert table.column("listing_id").to_pylist() == [1]
    assert table.column("reviews_in_last_90_days").to_pylist() == [18]
    assert table.column("estimated_occupancy_rate").to_pylist() == [1.0]
    assert summary["weight_method"] == {"method": "listings_columns", "rows": {"number_of_reviews_ltm": 2}}


def test_weight_from_estimated_occupancy(tmp_path):
    rows = [{"id": 1, "estimated_occupancy_l365d": "73"}, {"id": 2, "estimated_occupancy_l365d": ""}]
    table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows))
    weights = dict(zip(table.column("listing_id").to_pylist(), table.column("estimated_occupancy_rate").to_pylist()))
    assert weights[1] == pytest.approx(73 / 365)
    assert summary["weight_method"]["rows"] == {"estimated_occupancy_l365d": 1, "number_of_reviews_ltm": 1}


# --------------------------------------------------------------------------- bad input

def test_missing_required_column_names_file_and_column(tmp_path):
    path = write_listings(tmp_path / "listings.csv", [{"id": 1}], drop=("room_type",))
    with pytest.raises(etl.EtlError, match=r"listings\.csv.*'room_type'"):
        etl.build_table(path)


def test_missing_bathrooms_columns(tmp_path):
    path = write_listings(tmp_path / "listings.csv", [{"id": 1}], drop=("bathrooms_text", "bathrooms"))
    with pytest.raises(etl.EtlError, match="bathrooms_text"):
        etl.build_table(path)


def test_nothing_left_names_the_filter(tmp_path):
    path = write_listings(tmp_path / "listings.csv", [{"id": 1, "price": ""}, {"id": 2, "price": "$0.00"}])
    with pytest.raises(etl.EtlError, match="valid_price"):
        etl.build_table(path)


def test_unparseable_values_are_counted(tmp_path):
    rows = [{"id": 1, "price": "$1,250.00", "bathrooms_text": "many baths", "host_response_rate": "fast"},
            {"id": 2, "price": "call me"}, {"id": 3, "price": "$-5.00"}, {"id": 4, "latitude": ""},
            {"id": 5}]
    table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows))
    assert table.column("target_price").to_pylist() == [1250.0, 100.0]
    issues = summary["parse_issues"]
    assert issues["price_unparseable"] == 1
    assert issues["bathrooms_text_unparseable"] == 1
    assert issues["host_response_rate_unparseable"] == 1
    steps = {s["step"]: s["dropped"] for s in summary["steps"]}
    assert steps["valid_price"] == {"unparseable_price": 1, "nonpositive_price": 1}
    assert steps["essential_inputs"] == {"missing_latitude": 1}


def test_a_column_empty_in_the_whole_file_gets_the_neutral_value(tmp_path, caplog):
    """Real dumps carry e.g. host_response_rate as "N/A" throughout: impute, record, warn, go on."""
    rows = [{"id": i, "host_response_rate": "N/A", "bedrooms": "", "host_acceptance_rate": f"{50 + i}%"}
            for i in (1, 2, 3)]
    import logging

    logger = logging.getLogger("airbnb.etl")  # the airbnb logger stops propagating once set up
    logger.addHandler(caplog.handler)
    try:
        table, summary = etl.build_table(write_listings(tmp_path / "listings.csv", rows))
    finally:
        logger.removeHandler(caplog.handler)
    df = table.to_pandas()
    assert (df["host_response_rate"] == etl.NEUTRAL_FILL["host_response_rate"]).all()
    assert (df["bedrooms"] == etl.NEUTRAL_FILL["bedrooms"]).all()
    imputation = summary["imputation"]
    assert imputation["host_response_rate"] == {"method": "neutral", "value": 0.95, "n_imputed": 3}
    assert imputation["bedrooms"]["method"] == "neutral"
    assert imputation["host_acceptance_rate"]["method"] == "mean"  # the other columns as before
    assert "'host_response_rate' has no values at all" in caplog.text


def _gzip_listings(path: Path, damage: str) -> Path:
    """A real gzip of a listings (or reviews) file, then damaged the way a broken download is."""
    plain = tmp = path.with_name("plain.csv")
    if path.name.startswith("reviews"):
        write_reviews(tmp, [(i, "2024-11-01") for i in range(3000)])
    else:
        write_listings(tmp, [{"id": i} for i in range(3000)])
    data = gzip.compress(plain.read_bytes())
    path.write_bytes({"cut_in_half": data[:len(data) // 2], "cut_in_the_header": data[:40],
                      "not_gzip": plain.read_bytes()}[damage])
    plain.unlink()
    return path


@pytest.mark.parametrize("damage", ["cut_in_half", "cut_in_the_header", "not_gzip"])
@pytest.mark.parametrize("kind", ["listings", "reviews"])
def test_damaged_gzip_input_names_the_file(tmp_path, kind, damage):
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}])
    broken = _gzip_listings(tmp_path / f"{kind}.csv.gz", damage)
    args = (broken, None) if kind == "listings" else (listings, broken)
    with pytest.raises(etl.EtlError) as raised:
        etl.build_table(*args)
    assert str(raised.value).startswith(f"{broken} is truncated or not a gzip/CSV file (")


def _unwritable(tmp_path: Path, case: str, monkeypatch) -> tuple[Path, str]:
    """An output path that cannot be written, and what the error must say about it."""
    folder = tmp_path / "out"
    folder.mkdir()
    if case == "folder":
        (folder / "t.parquet").mkdir()
        return folder / "t.parquet", "is a folder"
    if case == "parent_is_a_file":
        (folder / "notes.txt").write_text("x")
        return folder / "notes.txt" / "sub" / "t.parquet", "is a file, not a folder"
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anyway: make the check see what a user would
        real = os.access
        monkeypatch.setattr(writing.os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    return folder / "t.parquet", "is not writable"


@pytest.mark.parametrize("case", ["folder", "parent_is_a_file", "read_only"])
def test_unwritable_output_fails_before_reading_any_input(tmp_path, monkeypatch, case):
    listings = write_listings(tmp_path / "in" / "listings.csv", [{"id": 1}])
    output, says = _unwritable(tmp_path, case, monkeypatch)
    before = sorted((tmp_path / "out").rglob("*"))

    def read(*args, **kwargs):
        raise AssertionError("an input was read before the output was checked")

    monkeypatch.setattr(reading, "read_header", read)
    monkeypatch.setattr(reading, "read_csv_columns", read)
    try:
        with pytest.raises(etl.EtlError) as raised:
            etl.run_etl(listings, output=output)
        message = str(raised.value)
        assert says in message and "--output" in message and "\n" not in message
        assert str(output) in message or str(output / "table.parquet") in message
        assert sorted((tmp_path / "out").rglob("*")) == before
    finally:
        (tmp_path / "out").chmod(0o755)


@pytest.mark.parametrize("failure", ["no_space_for_the_second_temp_file", "output_became_a_folder"])
def test_write_failure_is_an_etl_error_and_leaves_no_temp_file(tmp_path, monkeypatch, failure):
    out = tmp_path / "out" / "table.parquet"
    etl.run_etl(write_listings(tmp_path / "listings.csv", [{"id": 1}]), output=out)
    before = out.read_bytes(), etl.summary_path(out).read_bytes()
    table, summary = etl.build_table(write_listings(tmp_path / "l2.csv", [{"id": 9}]))
    if failure == "output_became_a_folder":
        out = tmp_path / "out" / "folder.parquet"
        out.mkdir()
    else:
        real, made = io.tempfile.mkstemp, []

        def mkstemp(**kwargs):
            if made:
                raise OSError(28, "No space left on device", kwargs["dir"])
            made.append(real(**kwargs))
            return made[-1]

        monkeypatch.setattr(io.tempfile, "mkstemp", mkstemp)
    with pytest.raises(etl.EtlError, match=f"cannot write {out} "):
        etl.write_table(table, summary, out)
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == sorted(["table.parquet", "table.summary.json", *([out.name] if out.is_dir() else [])])
    assert (out.parent / "table.parquet").read_bytes() == before[0]
    assert (out.parent / "table.summary.json").read_bytes() == before[1]


def test_no_matching_files(tmp_path):
    with pytest.raises(etl.EtlError, match="no listings file matches"):
        etl.build_table(tmp_path / "nope*.csv")


def test_failed_write_keeps_previous_output(tmp_path, monkeypatch):
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}])
    out = tmp_path / "out" / "table.parquet"
    etl.run_etl(listings, output=out)
    before = out.read_bytes()

    def broken(table, where, **kw):
        with open(where, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(writing.pq, "write_table", broken)
    with pytest.raises(etl.EtlError, match=r"cannot write .*table\.parquet \(disk full\)"):
        etl.run_etl(write_listings(tmp_path / "l2.csv", [{"id": 9}]), output=out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["table.parquet", "table.summary.json"]


@pytest.mark.parametrize("failing", ["table.parquet", "table.summary.json"])
def test_table_and_summary_are_published_together(tmp_path, monkeypatch, failing):
    """A failure while moving either new file into place leaves the old pair, never a mix."""
    import os

    from airbnb import io

    out = tmp_path / "out" / "table.parquet"
    etl.run_etl(write_listings(tmp_path / "listings.csv", [{"id": 1}]), output=out)
    before = out.read_bytes(), etl.summary_path(out).read_bytes()
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == failing and Path(src).suffix == ".tmp":
            raise OSError("device gone")
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", replace)
    with pytest.raises(etl.EtlError, match="device gone"):
        etl.run_etl(write_listings(tmp_path / "l2.csv", [{"id": 9}, {"id": 10}]), output=out)
    assert (out.read_bytes(), etl.summary_path(out).read_bytes()) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["table.parquet", "table.summary.json"]


def test_cli_writes_table_and_summary(tmp_path):
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}, {"id": 2, "price": ""}])
    out = tmp_path / "t.parquet"
    etl.main(["--listings", str(listings), "--output", str(out), "--review-rate", "0.25"])
    summary = json.loads(etl.summary_path(out).read_text())
    assert summary["parameters"] == {"review_rate": 0.25, "avg_length_of_stay": 3.0}
    assert summary["rows_out"] == 1 and pq.read_table(out).num_rows == 1
    assert summary["inputs"]["listings"][0]["sha256"] and summary["neighbourhood_groups"] == {"Harlem": "Manhattan"}


def test_cli_error_is_a_clean_exit(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        etl.main(["--listings", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "t.parquet")])
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"error: no listings file matches '{tmp_path / 'missing.csv'}'\n"


@pytest.mark.parametrize("case", ["truncated_listings", "output_is_a_folder"])
def test_cli_user_error_is_one_line_and_exit_1(tmp_path, case):
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}])
    output = tmp_path / "t.parquet"
    if case == "truncated_listings":
        listings = named = _gzip_listings(tmp_path / "listings.csv.gz", "cut_in_half")
    else:
        output.mkdir()
        named = output
    done = subprocess.run([sys.executable, "-m", "airbnb.etl", "--listings", str(listings), "--output", str(output)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and str(named) in done.stderr


def test_etl_killed_mid_write_keeps_the_previous_table_and_the_next_run_cleans_up(tmp_path):
    """SIGKILL while the new Parquet is half written: the old pair stays byte-identical, and the
    next run succeeds, removing the killed writer's temp files but not those of a live writer."""
    out = tmp_path / "out" / "table.parquet"
    etl.run_etl(write_listings(tmp_path / "l1.csv", [{"id": 1}]), output=out)
    before = out.read_bytes(), etl.summary_path(out).read_bytes()
    second, marker = write_listings(tmp_path / "l2.csv", [{"id": 5}, {"id": 6}]), tmp_path / "writing"
    code = f"""
import pathlib, time
import pyarrow.parquet as pq
from airbnb import etl

def stalled(table, where, **kwargs):
    with open(where, "wb") as f:
        f.write(b"PAR1" + bytes(4096))
        f.flush()
    pathlib.Path({str(marker)!r}).touch()
    time.sleep(300)

pq.write_table = stalled
etl.run_etl({str(second)!r}, output={str(out)!r})
"""
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert writer.poll() is None, writer.stderr.read().decode()
            assert time.monotonic() < deadline, "the ETL never reached the write"
            time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=60)  # reaped: a zombie would still count as a live writer
    assert (out.read_bytes(), etl.summary_path(out).read_bytes()) == before
    host = os.uname().nodename
    stale = sorted(p.name for p in out.parent.glob(".*.tmp"))
    assert [name.split(f".{host}.")[0] for name in stale] == [".table.parquet", ".table.summary.json"]
    assert all(f".{host}.{writer.pid}." in name for name in stale)
    live = out.parent / f".table.parquet.{host}.{os.getpid()}.abcd1234.tmp"  # a writer that still runs
    live.write_bytes(b"in progress")

    etl.run_etl(second, output=out)
    assert pq.read_table(out).column("listing_id").to_pylist() == [5, 6]
    assert json.loads(etl.summary_path(out).read_text())["rows_out"] == 2
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([live.name, "table.parquet", "table.summary.json"])


# --------------------------------------------------------------------------- the ETL reads what it is given

def test_etl_and_features_never_load_the_synthetic_city(tmp_path):
    """The generator calls the ETL, never the reverse: not at import, not in a run, not in its error."""
    listings = write_listings(tmp_path / "listings.csv", [{"id": 1}])
    code = f"""
import sys
import airbnb.etl, airbnb.features
airbnb.etl.run_etl({str(listings)!r}, output={str(tmp_path / "t.parquet")!r})
try:
    airbnb.etl.run_etl(None, output={str(tmp_path / "u.parquet")!r})
except airbnb.etl.EtlError:
    pass
print(sorted(m for m in sys.modules if m.split(".")[:2] == ["airbnb", "synthetic"]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_run_etl_without_listings_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may appear here (the built-in city used to be generated)
    with pytest.raises(etl.EtlError) as raised:
        etl.run_etl(None, output="out/t.parquet")
    message = str(raised.value)
    assert "pass listings.csv[.gz] files" in message
    assert "python -m airbnb.synthetic --table out/t.parquet" in message
    assert list(tmp_path.iterdir()) == []


def test_cli_without_listings_exits_with_the_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "airbnb.etl", "--output", str(tmp_path / "t.parquet")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: no listings given") and done.stderr.count("\n") == 1
    assert f"python -m airbnb.synthetic --table {tmp_path / 't.parquet'}" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- real files

def assert_exact_schema(path):
    schema = pq.read_schema(path).remove_metadata()
    assert schema.equals(TABLE_SCHEMA), schema


def test_albany_real_files(tmp_path):
    folder = require_shared(ALBANY)
    out = tmp_path / "albany.parquet"
    summary = etl.run_etl(folder / "listings.csv.gz", folder / "reviews.csv.gz", out)
    assert_exact_schema(out)
    df = pd.read_parquet(out)
    assert len(df) > 0 and summary["rows_out"] == len(df)
    assert (df["estimated_occupancy_rate"] > 0).all() and (df["estimated_occupancy_rate"] <= 1).all()
    assert (df["target_price"] > 0).all() and df["year_month"].eq("2024-11").all()
    required = ["listing_id", "year_month", "target_price", "estimated_occupancy_rate", "snapshot_date",
                "reviews_in_last_90_days", "bedrooms", "beds", "bathrooms_numeric", "review_scores_rating"]
    assert df[required].notna().all().all()
    # the window really uses the reviews file: recompute one listing by hand
    reviews = pd.read_csv(folder / "reviews.csv.gz", usecols=["listing_id", "date"], parse_dates=["date"])
    lid = df.sort_values("reviews_in_last_90_days").iloc[-1]["listing_id"]
    mine = reviews[(reviews.listing_id == lid) & (reviews.date >= "2024-09-01") & (reviews.date < "2024-12-01")]
    assert df.set_index("listing_id").loc[lid, "reviews_in_last_90_days"] == len(mine)


def test_nyc_2025_sample_newer_columns(tmp_path):
    folder = require_shared(NYC_SAMPLE)
    out = tmp_path / "nyc.parquet"
    summary = etl.run_etl(folder / "listings.csv", output=out)
    assert_exact_schema(out)
    assert summary["rows_out"] > 0
    assert "estimated_occupancy_l365d" in summary["weight_method"]["rows"]
    with_reviews = etl.run_etl(folder / "listings.csv", folder / "reviews.csv", tmp_path / "nyc2.parquet")
    assert with_reviews["weight_method"]["method"] == "reviews_file" and with_reviews["rows_out"] > 0


# --------------------------------------------------------------------------- synthetic city

def test_synthetic_city_table(small_city, small_table):
    assert_exact_schema(small_table)
    df = pd.read_parquet(small_table)
    truth = pd.read_parquet(small_city.ground_truth).set_index(["listing_id", "year_month"])
    assert df["year_month"].nunique() == 12 and df["listing_id"].nunique() > 250
    joined = df.join(truth.drop(columns=["amenities", "snapshot_date"]), on=["listing_id", "year_month"], how="left")
    assert joined["price"].notna().all(), "every table row has its ground truth"
    np.testing.assert_allclose(joined["target_price"], joined["written_price"], rtol=1e-6)
    summary = json.loads(etl.summary_path(small_table).read_text())
    assert set(summary["neighbourhood_groups"].values()) <= {"Manhattan", "Brooklyn", "Queens", "Bronx",
                                                              "Staten Island"}
    assert summary["steps"][0]["rows_in"] == len(truth)
