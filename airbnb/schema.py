"""The modeling table's contract (SPEC §3.1): column order, Arrow types and required columns.

Every module that reads or writes the table uses these definitions, so the schema lives here once.
"""
import pyarrow as pa

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


class TableError(ValueError):
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
