"""The modeling table's contract (SPEC §3.1): column order, Arrow types and required columns.

Every module that reads or writes the table uses these definitions, so the schema lives here once.
A table is one Parquet file (the pandas ETL) or a folder of Parquet files partitioned by city and
month, ``city=<name>/year_month=<YYYY-MM>/`` (the Spark ETL); :func:`read_table` reads either,
optionally only some cities. ``city`` is the last column (SPEC §3.1's amendment for many cities);
a table written before it existed is one city, named after its file.
"""
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

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
        pa.field("city", pa.string(), nullable=False),
    ]
)

TABLE_COLUMNS = TABLE_SCHEMA.names
REQUIRED_TABLE_COLUMNS = [f.name for f in TABLE_SCHEMA if not f.nullable]
CITY = "city"
# A partitioned table's folders: city=<name>/year_month=<YYYY-MM>/ (a training run reads a subset).
PARTITION_COLUMNS = [CITY, "year_month"]
# The grain: one row per listing-month, in this order in every table (SPEC §3.1).
ROW_KEY = ["listing_id", "year_month"]

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


# A listed nightly price above this (or infinite) is a placeholder or a typo, not a price: Airbnb's
# dearest listings ask tens of thousands of dollars, and hosts block dates with $999,999.
MAX_PRICE = 100_000.0


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


# --------------------------------------------------------------------------- the city and reading a table

# A snapshot folder (2024-11-04) or a dated city folder's suffix (albany-2024-11).
_DATE = r"\d{4}-\d{2}(?:-\d{2})?"


def city_from_path(path: str | Path) -> str:
    """The city a listings file belongs to, named by its folder.

    Inside Airbnb lays its dumps out as ``<city>/<date>/data/listings.csv.gz``, this project's
    synthetic city as ``<city>/<date>/listings.csv.gz`` and ``../shared`` as
    ``<city>-<YYYY-MM>/listings.csv.gz``: the nearest folder that is neither ``data`` nor a date,
    without a trailing date or ``-panel`` (``albany-2024-11`` and ``albany-panel/2025-03-02`` -> ``albany``).
    """
    for folder in Path(path).absolute().parents:
        if folder.name != "data" and not re.fullmatch(_DATE, folder.name):
            return re.sub(rf"-({_DATE}|panel)$", "", folder.name) or folder.name
    return "city"


def is_partitioned_table(path: str | Path) -> bool:
    """Whether ``path`` is a partitioned table folder: nothing but ``city=...`` folders and
    hidden or ``_``-prefixed bookkeeping files (what the Spark ETL writes)."""
    path = Path(path)
    if not path.is_dir():
        return False
    entries = [p for p in path.iterdir() if not p.name.startswith((".", "_"))]
    return bool(entries) and all(p.is_dir() and p.name.startswith(f"{CITY}=") for p in entries)


def read_table(path: str | Path, cities=None) -> pa.Table:
    """A modeling table (a Parquet file or a partitioned folder) as Arrow with exactly
    :data:`TABLE_SCHEMA`, only the rows of ``cities`` when given (a folder reads only theirs).

    A partitioned table comes sorted like a file, by :data:`ROW_KEY`, so either layout gives the
    same rows in the same order. A file written before tables had a city is one city, named after
    the file (``albany.parquet`` -> ``albany``).
    """
    path = Path(path)
    wanted = None if not cities else pads.field(CITY).isin(list(cities))
    if path.is_dir():
        partitioning = pads.partitioning(pa.schema([TABLE_SCHEMA.field(c) for c in PARTITION_COLUMNS]), flavor="hive")
        data = pads.dataset(path, format="parquet", partitioning=partitioning)
        table = data.to_table(filter=wanted).sort_by([(c, "ascending") for c in ROW_KEY])
    else:
        data = pads.dataset(path, format="parquet")
        if CITY not in data.schema.names:
            table = data.to_table()
            table = table.append_column(CITY, pa.array([path.stem] * table.num_rows, pa.string()))
            table = table.filter(wanted) if wanted is not None else table
        else:
            table = data.to_table(filter=wanted)
    missing = [c for c in TABLE_COLUMNS if c not in table.column_names]
    if missing:
        raise TableError(f"{path}: missing column(s) {', '.join(map(repr, missing))} (build the table with airbnb.etl)")
    return pa.Table.from_arrays([table[c].cast(TABLE_SCHEMA.field(c).type) for c in TABLE_COLUMNS],
                                schema=TABLE_SCHEMA)


def table_frame(table: pa.Table) -> pd.DataFrame:
    """A table as pandas, the same dtypes whoever wrote it (booleans nullable, as the ETL makes them)."""
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
