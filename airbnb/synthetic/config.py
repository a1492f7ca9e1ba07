"""What city to generate (:class:`CityConfig`) and where its files are (:class:`CityFiles`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .formats import COLUMN_SETS
from ..errors import ConfigError
from ..settings import Literal, Range, Text, settings

PRICE_MODELS = ("additive", "multiplicative")  # see airbnb.synthetic


@settings(frozen=True)
class CityConfig:
    """What city to generate. Same config (including seed) => byte-identical files."""

    n_listings: Range(int, 1, 2_000_000) = 5000  # listings active at each snapshot (churn adds new ones over time)
    n_months: Range(int, 1, 600) = 12  # monthly snapshots
    start_month: Text = "2025-01"  # YYYY-MM of the first snapshot
    history_months: Range(int, 0, 600) = 12  # months of bookings/reviews simulated before the first snapshot
    seed: Range(int, 0, 2**63 - 1) = 42
    column_set: Literal[tuple(COLUMN_SETS)] = "2025"  # "2025" (79 columns) or "2024" (older 75-column set)
    review_rate: Range(float, gt=0, le=1) = 0.5  # P(a stay leaves a review); same meaning as the ETL's parameter
    avg_length_of_stay: Range(float, gt=0) = 3.0  # nights per booking
    monthly_churn: Range(float, 0, lt=1) = 0.02  # share of listings leaving (and of new listings joining) per month
    missed_scrape_rate: float = 0.005  # chance an active listing is absent from one snapshot
    price_model: Literal[PRICE_MODELS] = "multiplicative"  # or "additive" (the original city); see airbnb.synthetic
    noise_level: float = 0.10  # sd of the price noise as a fraction of the clean price (log sd)
    noise_persistence: Range(float, 0, 1) = 0.7  # share of noise variance that is a fixed per-listing offset
    price_elasticity: float = 3.0  # occupancy *= exp(-elasticity * (price / clean price - 1))
    min_price: float = 25.0  # prices are clipped here (the noise term absorbs the clip)
    blank_price_rate: float = 0.01  # listing-months whose price is written empty
    zero_price_rate: float = 0.001  # listing-months whose price is written "$0.00"
    gzip_level: Range(int, 0, 9) = 1  # fast; the files are re-read far more often than written
    # dollars off the quality term of a listing that has no reviews yet (new listings price lower;
    # 0 keeps the city as it was). Lets a test check the model learns a known cold-start effect.
    new_listing_discount: float = 0.0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start_month):
            raise ConfigError(f"start_month must be YYYY-MM, got {self.start_month!r}")


@dataclass(frozen=True)
class CityFiles:
    """Where a generated city's files are."""

    root: Path
    listings: list[Path]  # one listings.csv.gz per snapshot, in date order
    reviews: Path
    ground_truth: Path
    manifest: Path
