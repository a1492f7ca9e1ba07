"""Which listing rows can be priced: values no listing can have, or missing ones pricing needs.

A value outside :data:`airbnb.schema.DOMAINS` (0 guests, latitude 999, a 500-star score) would be
priced confidently and absurdly, and a row whose place or size is missing or does not parse cannot
be priced at all: such rows are refused before anything is cast or imputed, and
:class:`ListingValueError` names each value (listing id, column, value, allowed range). Rows
are checked as the text a listings file holds (:func:`as_text`), parsed the ETL's way.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ConfigError, UserError
from .etl.config import BATHROOM_COLUMNS, ESSENTIAL_COLUMNS, REQUIRED_LISTING_COLUMNS, EtlError
from .schema import domain_violations

# A listing to price needs the model inputs, not the price, the scrape date or the id.
PREDICT_COLUMNS = [c for c in REQUIRED_LISTING_COLUMNS if c not in ("id", "last_scraped", "price")]
SHOWN_REJECTIONS = 5  # values a ListingValueError message lists; ``rejected`` has them all


class ListingValueError(UserError, ValueError):
    """Listing rows with a value no listing can have (pricing them would give an absurd price) or
    without one pricing needs (place, size).

    ``rejected`` has one row per such value: ``listing_id`` (the row's position when the rows have
    no id), ``column``, ``value`` (as parsed: rates as fractions, scores in stars) and ``allowed``.
    """

    def __init__(self, message: str, rejected: pd.DataFrame):
        super().__init__(message)
        self.rejected = rejected


def checked_month(month) -> int:
    """A month 1-12 as int (numpy integers too); a bool, float or text is refused, never rounded."""
    if isinstance(month, (bool, np.bool_)) or not isinstance(month, (int, np.integer)) or not 1 <= month <= 12:
        raise ConfigError(f"month must be an integer from 1 to 12, got {month!r}")
    return int(month)


def require_listing_columns(raw: pd.DataFrame) -> None:
    missing = [c for c in PREDICT_COLUMNS if c not in raw.columns]
    if not any(c in raw.columns for c in BATHROOM_COLUMNS):
        missing.append("bathrooms_text")
    if missing:
        raise EtlError(f"listings are missing column(s) {', '.join(map(repr, missing))} needed to price them")


def rejected_values(values: pd.DataFrame, ids: pd.Series | None, text: pd.DataFrame | None = None
              ) -> tuple[pd.DataFrame, np.ndarray]:
    """The values outside their domain as (listing_id, column, value, allowed), by listing id or
    else by row position, and which rows have none. Positions, not labels: an index may repeat.
    With the rows' raw ``text``, also each essential input that is missing or does not parse
    (such a row cannot be placed or sized), with its text as the value."""
    found = domain_violations(values.reset_index(drop=True))
    if text is not None:
        gaps = values[ESSENTIAL_COLUMNS].reset_index(drop=True).isna()
        rows, columns = np.nonzero(gaps.to_numpy())
        missing = pd.DataFrame({"row": rows, "column": gaps.columns[columns],
                                "value": [text[c].iloc[r] if pd.notna(text[c].iloc[r]) else ""
                                          for r, c in zip(rows, gaps.columns[columns])],
                                "allowed": "a number (required)"})
        found = pd.concat([found, missing], ignore_index=True).sort_values(["row", "column"], kind="stable",
                                                                          ignore_index=True)
    positions = found.pop("row").to_numpy(dtype=np.int64)
    found.insert(0, "listing_id", positions if ids is None else ids.iloc[positions].reset_index(drop=True))
    found.index = pd.Index(positions, name="row")  # each value's row: an id may be missing or repeat
    return found, ~np.isin(np.arange(len(values)), positions)


def refusal(rejected: pd.DataFrame, by_id: bool) -> ListingValueError:
    """The error for ``rejected``: one line per value, the first SHOWN_REJECTIONS of them."""
    name = "listing" if by_id else "row"
    lines = [f"{name} {r.listing_id}: {r.column} {r.value}, allowed {r.allowed}"
             for r in rejected.head(SHOWN_REJECTIONS).itertuples()]
    if len(rejected) > SHOWN_REJECTIONS:
        lines.append(f"... and {len(rejected) - SHOWN_REJECTIONS} more (see .rejected)")
    heading = f"{len(rejected)} value(s) no listing can have or missing; such rows are not priced:"
    return ListingValueError("\n  ".join([heading, *lines]), rejected)


def as_frame(listings) -> pd.DataFrame:
    """Listings as passed (a DataFrame, dicts or one dict) as a frame indexed by position."""
    if isinstance(listings, pd.DataFrame):
        return listings.reset_index(drop=True)
    if isinstance(listings, dict):
        return pd.DataFrame([listings])
    return pd.DataFrame(list(listings))


def as_text(raw: pd.DataFrame) -> pd.DataFrame:
    """Every value as text (missing stays missing), as read from a listings file."""
    def text(col: pd.Series) -> pd.Series:
        return col if col.dtype == "str" else col.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    return raw.apply(text)


def reasons(rejected: pd.DataFrame) -> pd.Series:
    """Per row of ``rejected`` (a ListingValueError's, indexed by row), why it is not priced, in one line."""
    text = rejected["column"] + " " + rejected["value"].astype(str) + " (allowed " + rejected["allowed"] + ")"
    return text.groupby(level=0, sort=False).agg("; ".join)
