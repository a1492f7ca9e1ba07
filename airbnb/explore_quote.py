"""What a quote is made of, apart from the session that prices it (:class:`airbnb.explore.Explorer`):
the :class:`Quote` the page shows, its waterfall, the notes on inputs the model cannot know, the
axis space comparables are found in and distances on the ground.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .axes import AXES, AXIS_LABELS, SEEN_MONTH
from .explore_listing import Listing
from .features import UNK, FeatureProcessor

EARTH_RADIUS_KM = 6371.0
COMPARABLE_AXES = tuple(a for a in AXES if a != "seasonality")  # months differ between table rows


@dataclass
class Quote:
    """Everything the page shows for one listing."""

    listing: Listing
    price: float
    price_low: float  # NaN: the run has no calibrated range
    price_high: float
    coverage: float
    steps: pd.DataFrame  # the waterfall: step, label, dollars, factor, start, end (the dollars add up to price)
    months: pd.DataFrame  # month, recommended_price, price_low, price_high, month_seen
    comparables: pd.DataFrame  # listing_id, distance, km, listed_price, year_month, model_price, ..., url
    seen_as: dict[str, str]  # how the model sees the categorical inputs (an unknown one as <UNK>)
    notes: list[str] = field(default_factory=list)
    url: str | None = None  # the listing's page on Airbnb (a real city's listing started from its id)
    # every month is priced at this snapshot month's level (YYYY-MM: the training table's latest; None: unknown)
    as_of: str | None = None


def seen_as(listing: Listing, vocabularies: dict) -> tuple[dict[str, str], list[str]]:
    """How the model sees the listing's names (an unknown one as <UNK>), and notes on the inputs
    it does not know."""
    notes = []
    seen = {}
    for column, label in (("neighbourhood_cleansed", "neighbourhood"), ("property_type", "property type")):
        value = getattr(listing, column)
        known = value is not None and value in vocabularies[column][1:]
        seen[column] = value if known else UNK
        if value is None:
            notes.append(f"{label} is not known for this listing: priced as {UNK}")
        elif not known:
            notes.append(f"{label} {value!r} is not one the model knows: priced as {UNK} (the average "
                         f"{label}; coordinates: the city's centre)" if column == "neighbourhood_cleansed" else
                         f"{label} {value!r} is not one the model knows: priced as {UNK}")
    for column, label in (("host_is_superhost", "superhost"), ("instant_bookable", "instant bookable"),
                          ("room_type", "room type")):
        if getattr(listing, column) is None:
            notes.append(f"{label} is not known for this listing: priced as unknown (set it to price it)")
    return seen, notes


def input_notes(listing: Listing, row: pd.Series, processor: FeatureProcessor) -> list[str]:
    """Notes on a priced row's month and sizes the training listings never had."""
    notes = []
    covered = list(processor.months_seen_)
    if not bool(row[SEEN_MONTH]):
        notes.append(f"month {listing.month} is not in the training table (it covers {covered}): it gets no "
                     "seasonality (the training months' average)")
    ranges = processor.ranges_ or {}
    for column, label in (("accommodates", "guests"), ("bedrooms", "bedrooms"), ("beds", "beds"),
                          ("bathrooms_numeric", "bathrooms"), ("number_of_reviews_ltm", "reviews in 12 months")):
        lo, hi = ranges.get(column, (-math.inf, math.inf))
        value = getattr(listing, column)
        if column in processor.scalers_ and not lo <= value <= hi:
            notes.append(f"{value:g} {label} is outside the training listings' {lo:g}–{hi:g}: priced as "
                         f"{min(max(value, lo), hi):g}")
        elif column not in processor.scalers_ and value not in processor.vocabs_.get(column, [value]):
            notes.append(f"{value:g} {label} is not a value the training listings had: priced as {UNK}")
    return notes


def waterfall(row: pd.Series, multiplicative: bool) -> pd.DataFrame:
    """The waterfall: base price, then each axis's dollars; ``end`` of the last step is the price."""
    names = ["bias", *AXES]
    dollars = np.array([float(row[n]) for n in names])
    ends = np.cumsum(dollars)
    factors = [math.nan, *(float(row[f"{a}_factor"]) if multiplicative else math.nan for a in AXES)]
    return pd.DataFrame({"step": names, "label": [AXIS_LABELS[n] for n in names], "dollars": dollars,
                         "factor": factors, "start": ends - dollars, "end": ends})


def axis_space(priced: pd.DataFrame, multiplicative: bool) -> np.ndarray:
    """Rows' coordinates in axis space (log factors, or dollars for a dollar model)."""
    if multiplicative:
        return np.log(priced[[f"{a}_factor" for a in COMPARABLE_AXES]].to_numpy(np.float64))
    return priced[list(COMPARABLE_AXES)].to_numpy(np.float64)


def km_between(point: tuple[float, float], others: np.ndarray) -> np.ndarray:
    """Great-circle distances in km from ``point`` (latitude, longitude) to each (latitude, longitude) row."""
    lat1, lon1 = np.deg2rad(point)
    lat2, lon2 = np.deg2rad(others[:, 0]), np.deg2rad(others[:, 1])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
