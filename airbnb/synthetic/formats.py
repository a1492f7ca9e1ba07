"""Inside Airbnb's file layouts, and their fields written as text the way the real dumps write them.

The writers build whole text columns (pyarrow string arrays, already CSV-escaped) and join them
into CSV lines, so no Python string is made per row.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# --------------------------------------------------------------------------- layouts

LISTINGS_COLUMNS_2024: tuple[str, ...] = (
    "id", "listing_url", "scrape_id", "last_scraped", "source", "name", "description",
    "neighborhood_overview", "picture_url", "host_id", "host_url", "host_name", "host_since",
    "host_location", "host_about", "host_response_time", "host_response_rate",
    "host_acceptance_rate", "host_is_superhost", "host_thumbnail_url", "host_picture_url",
    "host_neighbourhood", "host_listings_count", "host_total_listings_count",
    "host_verifications", "host_has_profile_pic", "host_identity_verified", "neighbourhood",
    "neighbourhood_cleansed", "neighbourhood_group_cleansed", "latitude", "longitude",
    "property_type", "room_type", "accommodates", "bathrooms", "bathrooms_text", "bedrooms",
    "beds", "amenities", "price", "minimum_nights", "maximum_nights", "minimum_minimum_nights",
    "maximum_minimum_nights", "minimum_maximum_nights", "maximum_maximum_nights",
    "minimum_nights_avg_ntm", "maximum_nights_avg_ntm", "calendar_updated", "has_availability",
    "availability_30", "availability_60", "availability_90", "availability_365",
    "calendar_last_scraped", "number_of_reviews", "number_of_reviews_ltm",
    "number_of_reviews_l30d", "first_review", "last_review", "review_scores_rating",
    "review_scores_accuracy", "review_scores_cleanliness", "review_scores_checkin",
    "review_scores_communication", "review_scores_location", "review_scores_value", "license",
    "instant_bookable", "calculated_host_listings_count",
    "calculated_host_listings_count_entire_homes", "calculated_host_listings_count_private_rooms",
    "calculated_host_listings_count_shared_rooms", "reviews_per_month",
)
# The 2025 files insert four columns right after number_of_reviews_l30d.
_ADDED_2025 = ("availability_eoy", "number_of_reviews_ly", "estimated_occupancy_l365d",
               "estimated_revenue_l365d")
_SPLIT_2025 = LISTINGS_COLUMNS_2024.index("number_of_reviews_l30d") + 1
LISTINGS_COLUMNS_2025: tuple[str, ...] = (
    LISTINGS_COLUMNS_2024[:_SPLIT_2025] + _ADDED_2025 + LISTINGS_COLUMNS_2024[_SPLIT_2025:])
COLUMN_SETS: dict[str, tuple[str, ...]] = {"2024": LISTINGS_COLUMNS_2024,
                                           "2025": LISTINGS_COLUMNS_2025}
REVIEWS_COLUMNS = ("listing_id", "id", "date", "reviewer_id", "reviewer_name", "comments")
SCORE_COLUMNS = ("review_scores_rating", "review_scores_accuracy", "review_scores_cleanliness",
                 "review_scores_checkin", "review_scores_communication",
                 "review_scores_location", "review_scores_value")

# --------------------------------------------------------------------------- field text


def as_arrow(values) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, pa.string())


def csv_escape(values) -> pa.Array:
    """Quote a text column the way Python's csv module (and Inside Airbnb) does: only if needed."""
    arr = as_arrow(values)
    needs = pc.match_substring_regex(arr, r'[",\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


def int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, np.int64)), pa.string())


def float_text(values: np.ndarray, blank: np.ndarray | None = None, integral: bool = False
                ) -> pa.Array:
    """Shortest round-trip text ("4.6", "5.0", "17640.0"); ``integral`` writes 1.0 as "1"."""
    text = pc.cast(pa.array(np.asarray(values, float)), pa.string())
    if not integral:
        whole = pc.match_substring_regex(text, r"^-?\d+$")
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return text if blank is None else pc.if_else(pa.array(blank), "", text)


def date_text(days: np.ndarray) -> pa.Array:
    """YYYY-MM-DD; negative days mean "no date" and give an empty field."""
    days = np.asarray(days, np.int64)
    text = pc.cast(pa.array(np.maximum(days, 0).astype(np.int32), pa.date32()), pa.string())
    return pc.if_else(pa.array(days < 0), "", text)


def percent_text(rate: np.ndarray) -> pa.Array:
    text = pc.binary_join_element_wise(int_text(rate), "%", "")
    return pc.if_else(pa.array(rate == -1), "N/A", pc.if_else(pa.array(rate == -2), "", text))


def price_text(dollars: np.ndarray) -> pa.Array:
    """"$95.00", "$1,250.00" (whole dollars below a million)."""
    dollars = np.asarray(dollars, np.int64)
    small = pc.binary_join_element_wise("$", int_text(dollars), ".00", "")
    big = pc.binary_join_element_wise("$", int_text(dollars // 1000), ",",
                                      pc.utf8_lpad(int_text(dollars % 1000), 3, "0"), ".00", "")
    return pc.if_else(pa.array(dollars >= 1000), big, small)


def hex_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random UUID-looking strings, as in Airbnb's picture URLs."""
    digits = np.array(list("0123456789abcdef"))
    parts = [np.ascontiguousarray(digits[rng.integers(0, 16, (n, k))]).view(f"<U{k}").ravel()
             .astype(object) for k in (8, 4, 4, 4, 12)]
    return parts[0] + "-" + parts[1] + "-" + parts[2] + "-" + parts[3] + "-" + parts[4]


# --------------------------------------------------------------------------- files


def write_csv_gz(path: Path, header: Sequence[str], columns: Sequence[pa.Array], level: int,
                 chunk_rows: int = 200_000) -> None:
    """Write pre-escaped text columns as CSV into a reproducible gzip (mtime 0, fixed name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(columns[0])
    with open(path, "wb") as raw, gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw,
                                                compresslevel=level, mtime=0) as gz:
        gz.write((",".join(header) + "\n").encode())
        for start in range(0, n, chunk_rows):
            part = [c.slice(start, chunk_rows) for c in columns]
            lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*part, ","), "\n", "")
            gz.write(_string_bytes(lines))


def _string_bytes(arr: pa.Array) -> memoryview:
    """The concatenated bytes of a string array, without a Python string per row."""
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + len(arr) + 1]
    return memoryview(arr.buffers()[2])[offsets[0]: offsets[-1]]
