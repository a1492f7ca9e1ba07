"""A listing as the explorer's controls hold it (:class:`Listing`), and the check that it is one.

Its fields are the modeling table's columns that describe a listing (:data:`airbnb.schema.TABLE_SCHEMA`,
in the table's order and with its types), and the controls' bounds are the schema's
:data:`~airbnb.schema.DOMAINS`: the explorer declares no column and no bound of its own.
"""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import UserError
from .etl.parsing import parse_amenities
from .schema import BATHROOM_TYPES, BOOL_COLUMNS, CITY, DOMAINS, RATE_COLUMNS, ROOM_TYPES, TABLE_SCHEMA, cast_like_table

# A table row's columns that are not the listing's: its snapshot, what it is fitted to and weighed by.
ROW_ONLY = ("year_month", "target_price", "estimated_occupancy_rate", "snapshot_date", "reviews_in_last_90_days")
# Not controls: kept from the listing the page started from (coordinates follow the neighbourhood).
KEPT = ("latitude", "longitude", *RATE_COLUMNS, "host_identity_verified")
# Last, None by default: the table listing it started from (None: edited from scratch) and, for a
# model of several cities, the one it is priced in (the page's city control).
OPTIONAL = ("listing_id", CITY)
CONTROLS = tuple(f.name for f in TABLE_SCHEMA if f.name not in (*ROW_ONLY, *KEPT, *OPTIONAL))  # what the page shows
# Checked against their domains in this order (the month first, as the page has always reported).
BOUNDED = ("month", *(c for c in (*CONTROLS, *KEPT) if c in DOMAINS and c != "month"))


class ExploreError(UserError, ValueError):
    """Input the explorer cannot price, or a run it cannot open; the message is shown in the page."""


class _TableRow:
    """A :class:`Listing`'s conversions from and to a modeling-table row."""

    @classmethod
    def from_row(cls, row: pd.Series, month: int | None = None) -> "Listing":
        """A modeling-table row as a listing (its amenity list parsed)."""
        values = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row.index}
        values["amenities"] = tuple(parse_amenities(row["amenities"]))
        values["month"] = int(row["month"] if month is None else month)
        values["listing_id"] = int(row["listing_id"]) if "listing_id" in row.index else None
        return cls(**{k: _plain(v) for k, v in values.items()})

    def to_row(self) -> pd.DataFrame:
        """One modeling-table row (the table's types) the predictor prices."""
        values = dataclasses.asdict(self)
        values["amenities"] = json.dumps(list(self.amenities))
        if values["listing_id"] is None:
            values.pop("listing_id")
        values[CITY] = values[CITY] or ""  # a one-city model has no city input: any name prices alike
        frame = pd.DataFrame([values])
        cast_like_table(frame)
        return frame


def _annotation(field: pa.Field):
    """A table column's type as a listing holds it: the amenity list parsed, a t/f column None when
    not known (a table row's missing t/f, priced as the model prices that)."""
    if field.name == "amenities":
        return tuple[str, ...]
    if pa.types.is_boolean(field.type):
        return bool | None
    return int if pa.types.is_integer(field.type) else float if pa.types.is_floating(field.type) else str


Listing = dataclasses.make_dataclass(
    "Listing", [(name, _annotation(TABLE_SCHEMA.field(name))) for name in (*CONTROLS, *KEPT)]
    + [(name, _annotation(TABLE_SCHEMA.field(name)) | None, None) for name in OPTIONAL],
    bases=(_TableRow,), frozen=True,
    namespace={"__module__": __name__, "__doc__": "The explorer's controls, in modeling-table terms (SPEC §3.1), "
                                                  "plus what it keeps unseen."})


def _plain(value):
    """numpy scalars as Python values (a frozen dataclass compares and prints plainly), a missing
    value as None; a float32 table value to 6 decimals (4.91, not 4.90999985: the same float32 again)."""
    if not isinstance(value, (str, tuple)) and pd.isna(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return round(value, 6) if isinstance(value, float) else value


def check_listing(listing: Listing) -> None:
    """Refuse what is not a listing, naming every bad control at once (ExploreError)."""
    problems = []
    for name in BOUNDED:
        domain, value = DOMAINS[name], getattr(listing, name)
        whole = pa.types.is_integer(TABLE_SCHEMA.field(name).type)
        ok_type = isinstance(value, (int, np.integer)) if whole else isinstance(value, (int, float, np.number))
        if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) \
                or not domain.low <= value <= domain.high:
            what = f"accommodates (guests; Airbnb's limit is {domain.high:g})" if name == "accommodates" else name
            problems.append(f"{what} must be {'a whole number' if whole else 'a number'} from {domain.low:g} to "
                            f"{domain.high:g}, got {value!r}")
    if listing.room_type is not None and listing.room_type not in ROOM_TYPES:
        problems.append(f"room type must be one of {', '.join(ROOM_TYPES)}, got {listing.room_type!r}")
    if listing.bathrooms_type not in BATHROOM_TYPES:
        problems.append(f"bathrooms must be {' or '.join(BATHROOM_TYPES)}, got {listing.bathrooms_type!r}")
    for name in ("neighbourhood_cleansed", "property_type"):  # None: a table row's missing name (<UNK>)
        value = getattr(listing, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{name.split('_')[0]} must be a name, got {getattr(listing, name)!r}")
    if not all(isinstance(a, str) for a in listing.amenities):
        problems.append("amenities must be names")
    for name in (c for c in (*CONTROLS, *KEPT) if c in BOOL_COLUMNS):
        if getattr(listing, name) is not None and not isinstance(getattr(listing, name), (bool, np.bool_)):
            problems.append(f"{name} must be true or false, got {getattr(listing, name)!r}")
    if problems:
        raise ExploreError("; ".join(problems))
