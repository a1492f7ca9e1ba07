"""Each row's weight, its estimated occupancy (SPEC §3.3): reviews in the 90 days before the
scrape -> bookings -> nights -> a share of the window, capped at 1.

The reviews come from the reviews files where they cover the row's month, else from the
listing's own columns (``estimated_occupancy_l365d``, else ``number_of_reviews_ltm``). The
formulas are plain arithmetic, so the Spark engine runs them on its columns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..log import get_logger
from ..schema import CITY
from .config import REVIEW_COLUMNS, WEIGHT_CAP, WINDOW_DAYS, EtlConfig, Summary
from .parsing import parse_ids
from .reading import read_csv_columns

log = get_logger(__package__)
# How a row's 90-day review count is known: its reviews file, else its listing's own columns.
WEIGHT_METHODS = ("reviews_file", "estimated_occupancy_l365d", "number_of_reviews_ltm")


def month_index(dates: pd.Series) -> pd.Series:
    """Months since year 0: consecutive calendar months differ by exactly 1 (Dec -> Jan too)."""
    return dates.dt.year.astype("int64") * 12 + dates.dt.month.astype("int64") - 1


def reviews_in_window(listing_ids: pd.Series, months: pd.Series, reviews: pd.DataFrame,
                      window_months: int = 3) -> pd.Series:
    """Reviews in each row's month and the ``window_months - 1`` calendar months before it.

    ``reviews`` has ``listing_id`` (int64) and ``month`` (a :func:`month_index`). Months without
    reviews count as 0.
    """
    counts = reviews.groupby(["listing_id", "month"]).size()
    total = np.zeros(len(listing_ids), dtype=np.int64)
    for lag in range(window_months):
        keys = pd.MultiIndex.from_arrays([listing_ids.to_numpy(), months.to_numpy() - lag])
        total += counts.reindex(keys, fill_value=0).to_numpy()
    return pd.Series(total, index=listing_ids.index)


def parse_reviews(raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Reviews' ``listing_id`` (int64) and ``month`` (:func:`month_index`), and how many were
    undated or unparseable (left out)."""
    ids = parse_ids(raw["listing_id"])
    dates = pd.to_datetime(raw["date"], errors="coerce", format="%Y-%m-%d")
    bad = ids.isna().to_numpy() | dates.isna().to_numpy()
    return pd.DataFrame({"listing_id": ids[~bad].astype("int64"), "month": month_index(dates[~bad])}), int(bad.sum())


def reviews_city(path: Path, cities: Sequence[str], config: EtlConfig) -> str:
    """The city a reviews file belongs to: the table's one city, else its folder's (:func:`~airbnb.etl.reading.inputs`
    checked that each city has one)."""
    return cities[0] if len(cities) == 1 else config.city_of(path)


def read_reviews(paths: Sequence[Path], listings: pd.DataFrame, issues: dict, config: EtlConfig
                 ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Review months of the ``listings`` in the table (undated or unparseable reviews are counted),
    and per city the last month its reviews files cover (:func:`reviews_cover`)."""
    parsed = [parse_reviews(read_csv_columns(path, REVIEW_COLUMNS)) for path in paths]
    issues["reviews_unparseable"] = sum(bad for _, bad in parsed)
    cities = list(listings[CITY].cat.categories)  # every listings file's, as the Spark engine's
    last = reviews_cover([(reviews_city(p, cities, config), frame["month"].max()) for p, (frame, _) in zip(paths, parsed)])
    listing_ids = listings["listing_id"]
    reviews = pd.concat([frame for frame, _ in parsed], ignore_index=True)
    return reviews[reviews["listing_id"].isin(listing_ids.unique())], last


def reviews_cover(last_months: Iterable[tuple[str, float]]) -> dict[str, int]:
    """Per city, the last month (:func:`month_index`) of its reviews files' latest review.

    A reviews file ends when it was downloaded: a later snapshot's 90 days are not in it (a panel
    of snapshots from 2023 to 2025 with a reviews file of 2024-11), and would count no review and
    lose every row as zero weight. Those rows take the weight from their own columns instead
    (:func:`reviews_from_listings`), counted per method in the summary's ``weight_method``."""
    last: dict[str, int] = {}
    for city, month in last_months:
        if month is not None and not pd.isna(month):
            last[city] = max(last.get(city, -1), int(month))
    return last


def review_counts(df: pd.DataFrame, reviews: pd.DataFrame, last: dict[str, int], config: EtlConfig
                  ) -> tuple[pd.Series, pd.Series]:
    """The 90-day review count of each row and its method: from the reviews file where it covers
    the row's month (:func:`reviews_cover`), else from the listing's own columns."""
    months = month_index(df["snapshot_date"])
    covered = months.to_numpy() <= df[CITY].astype("str").map(last).fillna(-1).to_numpy()
    from_listings, method = reviews_from_listings(df, config)
    count = reviews_in_window(df["listing_id"], months, reviews).astype("float64").where(covered, from_listings)
    return count, method.where(~covered, "reviews_file")


def month_text(month: int) -> str:
    """A :func:`month_index` as ``YYYY-MM``."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def occupancy_from_reviews(reviews_90d, config: EtlConfig, minimum=np.minimum):
    """SPEC §3.3: reviews -> bookings -> nights -> share of the 90-day window, capped at 1.

    Plain arithmetic, so the same formula serves a pandas Series and a Spark column (pass the
    engine's element-wise ``minimum``)."""
    nights = reviews_90d / config.review_rate * config.avg_length_of_stay
    return minimum(WEIGHT_CAP, nights / WINDOW_DAYS)


def listing_review_counts(ltm, occupancy_l365d, config: EtlConfig):
    """The two 90-day review counts a listing's own columns give: ``number_of_reviews_ltm`` scaled
    from 365 to 90 days, and the count that would produce ``estimated_occupancy_l365d``'s nights
    (plain arithmetic: pandas Series or Spark columns)."""
    nights = occupancy_l365d * WINDOW_DAYS / 365.0
    return ltm * WINDOW_DAYS / 365.0, nights / config.avg_length_of_stay * config.review_rate


def reviews_from_listings(df: pd.DataFrame, config: EtlConfig) -> tuple[pd.Series, pd.Series]:
    """Without a reviews file: a 90-day review count from the listing's own columns.

    ``estimated_occupancy_l365d`` (2025 files) gives nights; it is turned into the review count
    that would produce them. Otherwise ``number_of_reviews_ltm`` is scaled from 365 to 90 days.
    Returns the (fractional) count and, per row, the method used.
    """
    if "estimated_occupancy_l365d" not in df:
        from_ltm, _ = listing_review_counts(df["number_of_reviews_ltm"], np.nan, config)
        return from_ltm, pd.Series("number_of_reviews_ltm", index=df.index)
    from_ltm, from_occupancy = listing_review_counts(df["number_of_reviews_ltm"], df["estimated_occupancy_l365d"],
                                                     config)
    use = from_occupancy.notna()
    method = np.where(use, "estimated_occupancy_l365d", "number_of_reviews_ltm")
    return from_occupancy.where(use, from_ltm), pd.Series(method, index=df.index)


def weight_method_record(rows: dict[str, int], last: dict[str, int] | None = None, reviews_read: int = 0) -> dict:
    """The summary's ``weight_method`` (logged): the rows weighted by each method; with reviews
    files (``last``: per city the month they end, :func:`reviews_cover`) the reviews read too."""
    if last is None:
        record = {"method": "listings_columns", "rows": rows}
    else:
        record = {"method": "reviews_file", "rows": rows, "reviews_read": reviews_read,
                  "reviews_end": {city: month_text(m) for city, m in sorted(last.items())}}
    log.info("weight method: %s", record)
    return record


def attach_weight(df: pd.DataFrame, reviews_paths: Sequence[Path], config: EtlConfig,
                  summary: Summary) -> pd.DataFrame:
    """The rows with their weight (``estimated_occupancy_rate``) and 90-day review count; those
    of zero weight are dropped (the ``positive_weight`` step)."""
    df = df.copy()
    if reviews_paths:
        reviews, last = read_reviews(reviews_paths, df, summary.parse_issues, config)
        count, method = review_counts(df, reviews, last, config)
        reviews_read = len(reviews)
    else:
        count, method = reviews_from_listings(df, config)
        last, reviews_read = None, 0
    summary.weight_method = weight_method_record({k: int(v) for k, v in method.value_counts().items()}, last,
                                                 reviews_read)
    count = count.fillna(0.0)
    df["reviews_in_last_90_days"] = np.rint(count).astype("int32")
    df["estimated_occupancy_rate"] = occupancy_from_reviews(count, config)
    keep = df["estimated_occupancy_rate"] > 0
    summary.step("positive_weight", len(df), int(keep.sum()), {"zero_weight": (~keep).sum()})
    listings = df["listing_id"].nunique()
    log.info("%s", zero_weight_note(int((~keep).sum()), len(df), listings - df.loc[keep, "listing_id"].nunique(),
                                    listings))
    return df[keep]


def zero_weight_note(rows_dropped: int, rows_in: int, listings_dropped: int | None = None,
                     listings_in: int | None = None) -> str:
    """One sentence on the rows dropped for want of recent reviews, and why."""
    whole = f" ({listings_dropped:,} of {listings_in:,} listings)" if listings_dropped is not None else ""
    return (f"dropped {rows_dropped:,} of {rows_in:,} listing-months{whole} with no review in the {WINDOW_DAYS} "
            "days before their scrape: their estimated occupancy, the weight every row is trained and scored "
            "with, is zero, so they say nothing about what guests pay")
