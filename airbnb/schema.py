"""The modeling table's contract (SPEC §3.1): column order, Arrow types and required columns.

Every module that reads or writes the table uses these definitions, so the schema lives here once.
"""
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from .errors import UserError

TABLE_SCHEMA = pa.schema(
    [
        pa.field("listing_id", pa.int64(), nullable=False),
        pa.field("year_month", pa.string(), nullable=False),
        pa.field("target_price", pa.float32(), nullable=False),
        pa.field("estimated_occupancy_rate", pa.float32(), nullable=False),
        pa.field("latitude", pa.float32()),
        pa.field("longitude", pa.float32()),
        pa.field("neighbourhood_cleansed", pa.string()),
        pa.field("property_type", pa.string()),
        pa.field("room_type", pa.string()),
        pa.field("accommodates", pa.int32()),
        pa.field("bedrooms", pa.float32()),
        pa.field("beds", pa.float32()),
        pa.field("bathrooms_numeric", pa.float32()),
        pa.field("bathrooms_type", pa.string()),
        pa.field("amenities", pa.string()),
        pa.field("review_scores_rating", pa.float32()),
        pa.field("review_scores_cleanliness", pa.float32()),
        pa.field("review_scores_checkin", pa.float32()),
        pa.field("review_scores_communication", pa.float32()),
        pa.field("review_scores_location", pa.float32()),
        pa.field("review_scores_value", pa.float32()),
        pa.field("number_of_reviews_ltm", pa.int32()),
        pa.field("host_is_superhost", pa.bool_()),
        pa.field("host_response_rate", pa.float32()),
        pa.field("host_acceptance_rate", pa.float32()),
        pa.field("host_identity_verified", pa.bool_()),
        pa.field("instant_bookable", pa.bool_()),
        pa.field("month", pa.int32()),
        pa.field("snapshot_date", pa.date32(), nullable=False),
        pa.field("reviews_in_last_90_days", pa.int32(), nullable=False),
    ]
)

TABLE_COLUMNS = TABLE_SCHEMA.names
REQUIRED_TABLE_COLUMNS = [f.name for f in TABLE_SCHEMA if not f.nullable]

REVIEW_SCORE_COLUMNS = [
    "review_scores_rating",
    "review_scores_cleanliness",
    "review_scores_checkin",
    "review_scores_communication",
    "review_scores_location",
    "review_scores_value",
]
RATE_COLUMNS = ["host_response_rate", "host_acceptance_rate"]
BOOL_COLUMNS = ["host_is_superhost", "host_identity_verified", "instant_bookable"]
MEDIAN_IMPUTED = ["bedrooms", "beds", "bathrooms_numeric"]
MEAN_IMPUTED = REVIEW_SCORE_COLUMNS + RATE_COLUMNS

# The four room types Inside Airbnb publishes, in a fixed order (one-hot positions).
ROOM_TYPES = ["Entire home/apt", "Private room", "Shared room", "Hotel room"]
BATHROOM_TYPES = ["private", "shared"]

# Optional context columns carried beside the table for reporting (never model inputs).
CONTEXT_COLUMNS = ["neighbourhood_group_cleansed"]


@dataclass(frozen=True)
class Domain:
    """The values a parsed column can take; a value outside is impossible, not merely unusual."""

    low: float
    high: float
    reason: str

    def violates(self, values: pd.Series) -> pd.Series:
        """True where a value is outside [low, high] (infinite included); missing passes (it is imputed)."""
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return numbers.notna() & ~numbers.between(self.low, self.high)


# Declared once for every parsed value a listing can give (rates as fractions, the 0-5 star scale).
DOMAINS: dict[str, Domain] = {
    "accommodates": Domain(1, 16, "Airbnb's guest limit"),
    **{c: Domain(0, 50, "a count of rooms") for c in ["bedrooms", "beds", "bathrooms_numeric"]},
    **{c: Domain(0, 5, "a 0-5 star score") for c in REVIEW_SCORE_COLUMNS},
    **{c: Domain(0, 1, "a rate of 0-100%") for c in RATE_COLUMNS},
    "number_of_reviews_ltm": Domain(0, 10_000, "reviews in twelve months"),
    "latitude": Domain(-90, 90, "a latitude"),
    "longitude": Domain(-180, 180, "a longitude"),
    "month": Domain(1, 12, "a calendar month"),
}


def domain_violations(df: pd.DataFrame) -> pd.DataFrame:
    """One row per impossible value of ``df``: (row, column, value, allowed), in row order."""
    found = [pd.DataFrame({"row": df.index[bad], "column": column, "value": df.loc[bad, column].astype("str"),
                           "allowed": f"{domain.low:g} to {domain.high:g} ({domain.reason})"})
             for column, domain in DOMAINS.items() if column in df and (bad := domain.violates(df[column])).any()]
    if not found:
        return pd.DataFrame(columns=["row", "column", "value", "allowed"])
    return pd.concat(found, ignore_index=True).sort_values(["row", "column"], kind="stable", ignore_index=True)


class TableError(UserError, ValueError):
    """A modeling table that breaks the contract; the message names the file and column."""


def validate_table(df, source: str = "table") -> None:
    """Fail early, naming the column, when a table lacks a column or has nulls in a required one."""
    missing = [c for c in TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise TableError(f"{source}: missing column(s) {', '.join(map(repr, missing))} "
                         "(build the table with airbnb.etl)")
    nulls = [c for c in REQUIRED_TABLE_COLUMNS if df[c].isna().any()]
    if nulls:
        raise TableError(f"{source}: required column(s) {', '.join(map(repr, nulls))} contain missing values")
    if len(df) == 0:
        raise TableError(f"{source}: the table has no rows")


def cast_like_table(df):
    """Give the table's columns in ``df`` the table's numeric precision (e.g. float32 coordinates).

    Rows parsed outside the ETL (a listing to price) then produce bit-identical model inputs.
    """
    for f in TABLE_SCHEMA:
        if f.name in df and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type)):
            df[f.name] = df[f.name].astype(f.type.to_pandas_dtype())
    return df
