"""The baselines' one feature frame of modeling-table rows (SPEC §3.1), learned from training rows,
and their label: log price and the occupancy weight, checked (:func:`log_target`).

Its columns are those the neural model's axes read (:func:`airbnb.axes.input_columns`), typed by
the table schema, in the plain form LightGBM users give them: the categorical columns as pandas
``Categorical`` (which LightGBM and HistGradientBoosting split on natively), the numeric and
boolean columns as float64 with missing values left as NaN (the boosters route them themselves),
the month with its (sin, cos), the trend, and the multi-hot of the training rows' frequent
amenities. Cyclical month, trend and amenity vocabulary are the neural model's own
(:mod:`airbnb.features`), so both see the same inputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .axes import YEARS_BEFORE_LATEST, input_columns
from .errors import UserError
from .features import AmenityVocabulary, cyclical, latest_month, years_before
from .schema import BOOL_COLUMNS, CITY, TABLE_SCHEMA

# The table columns the neural model's axes read (airbnb.axes), by their Arrow type: the same
# information, in the plain form the standard learners take. Everything else is ignored.
INPUT_COLUMNS = input_columns()
REQUIRED_COLUMNS = input_columns(optional=False)  # a listing to price has no snapshot month: priced as of the latest
_TYPES = {c: TABLE_SCHEMA.field(c).type for c in INPUT_COLUMNS}
SPECIAL_COLUMNS = ["month", "amenities", "year_month"]  # month, (sin, cos) and trend; amenities as multi-hot
CATEGORICAL_COLUMNS = [c for c, t in _TYPES.items() if pa.types.is_string(t) and c not in SPECIAL_COLUMNS]
BOOLEAN_COLUMNS = [c for c in BOOL_COLUMNS if c in INPUT_COLUMNS]  # the schema's True/False columns
NUMERIC_COLUMNS = [c for c in INPUT_COLUMNS if c not in {*CATEGORICAL_COLUMNS, *BOOLEAN_COLUMNS, *SPECIAL_COLUMNS}]
MONTH_COLUMNS = ["month", "month_sin", "month_cos", YEARS_BEFORE_LATEST]
AMENITY_PREFIX = "amenity: "
TARGET, WEIGHT = "target_price", "estimated_occupancy_rate"
# Never inputs: the target, the weight (SPEC §3.2), identifiers and the weight's own ingredient.
NOT_INPUTS = [TARGET, WEIGHT, "listing_id", "snapshot_date", "reviews_in_last_90_days"]


class BaselineError(UserError, ValueError):
    """Rows or arguments the baselines cannot use; the message names the column or name."""


def require_columns(rows: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise BaselineError(f"{what} lack column(s) {', '.join(map(repr, missing))} "
                            "(pass modeling-table rows, SPEC §3.1)")


@dataclass
class BaselineDesign:
    """Modeling-table rows -> the baselines' feature frame; ``fit`` on training rows only.

    Categories and the amenity vocabulary come from the training rows, so a category or amenity
    seen only in evaluated rows is unknown (NaN / no column), as it would be for a new listing.
    ``transform`` is row-wise: a row's features never depend on the other rows passed with it.
    Amenity columns are uint8 (0/1): at 400k rows x 256 amenities that is 100 MB, not 800 MB.
    """

    amenities: AmenityVocabulary = field(default_factory=AmenityVocabulary)
    categories: dict[str, list[str]] = field(default_factory=dict)
    latest_month: int | None = None  # the trend's reference, as the neural model's (airbnb.features)

    def fit(self, train_rows: pd.DataFrame) -> "BaselineDesign":
        require_columns(train_rows, INPUT_COLUMNS, "training rows")
        self.categories = {col: sorted(train_rows[col].dropna().astype(str).unique())
                           for col in CATEGORICAL_COLUMNS}
        if len(self.categories[CITY]) < 2:  # one city: no city input, as the neural model has none
            del self.categories[CITY]
        self.amenities.fit(train_rows["amenities"])
        self.latest_month = latest_month(train_rows)
        return self

    @property
    def columns(self) -> list[str]:
        return [*self.categories, *NUMERIC_COLUMNS, *BOOLEAN_COLUMNS, *MONTH_COLUMNS, *self.amenity_columns]

    @property
    def amenity_columns(self) -> list[str]:
        return [AMENITY_PREFIX + name for name in self.amenities.names]

    def transform(self, rows: pd.DataFrame) -> pd.DataFrame:
        if not self.categories:
            raise BaselineError("BaselineDesign is not fitted: call fit(train_rows) first")
        require_columns(rows, REQUIRED_COLUMNS, "rows")
        data: dict[str, object] = {col: _categorical(rows[col], categories)
                                   for col, categories in self.categories.items()}
        for col in NUMERIC_COLUMNS:
            data[col] = _floats(rows[col], col)
        for col in BOOLEAN_COLUMNS:
            data[col] = _booleans(rows[col], col)
        month = _floats(rows["month"], "month")
        data["month"] = month
        data["month_sin"], data["month_cos"] = cyclical(month, 12).T
        data[YEARS_BEFORE_LATEST] = years_before(rows, self.latest_month).astype(np.float64)
        base = pd.DataFrame(data, index=rows.index)
        multihot = pd.DataFrame(self.amenities.transform(rows["amenities"]), index=rows.index,
                                columns=self.amenity_columns)
        return pd.concat([base, multihot], axis=1)


def _categorical(values: pd.Series, categories: list[str]) -> pd.Categorical:
    """Values as the training categories; unseen or missing -> NaN."""
    keys = values.astype(object)
    codes = pd.Index(categories, dtype=object).get_indexer(keys.where(keys.isna(), keys.astype(str)))
    return pd.Categorical.from_codes(codes, categories=categories)


def _floats(values: pd.Series, col: str) -> np.ndarray:
    try:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"column {col!r} must be numeric, got dtype {values.dtype}") from exc


def _booleans(values: pd.Series, col: str) -> np.ndarray:
    """True/False -> 1.0/0.0, missing -> NaN (the boosters learn where missing goes)."""
    try:
        return values.astype("boolean").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"column {col!r} must be boolean (True/False/missing), "
                            f"got dtype {values.dtype}") from exc


# --------------------------------------------------------------------------- the label

def log_target(y_price, weight, what: str = "training") -> tuple[np.ndarray, np.ndarray]:
    """(log price, weight) as float64; prices must be > 0, weights >= 0 with a positive sum."""
    y = np.asarray(y_price, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    if y.ndim != 1 or w.shape != y.shape:
        raise BaselineError(f"{what} prices and weights must be 1-D of equal length, got {y.shape} and {w.shape}")
    if not (np.isfinite(y).all() and (y > 0).all()):
        raise BaselineError(f"{what} prices must be finite and > 0 (log price is the target)")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise BaselineError(f"{what} weights must be finite, >= 0 and have a positive sum")
    return np.log(y), w


def has_validation(X_val, y_val, w_val) -> bool:
    """Whether validation rows were given (all three of X, y and w, or none)."""
    given = [v is not None for v in (X_val, y_val, w_val)]
    if any(given) and not all(given):
        raise BaselineError("pass all of X_val, y_val and w_val, or none")
    return all(given) and len(X_val) > 0
