"""What city to generate (:class:`CityConfig`) and where its files are (:class:`CityFiles`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .formats import COLUMN_SETS
from ..cli import check_bounds, check_types
from ..errors import ConfigError

PRICE_MODELS = ("additive", "multiplicative")  # see airbnb.synthetic


@dataclass(frozen=True)
class CityConfig:
    """What city to generate. Same config (including seed) => byte-identical files."""

    n_listings: int = 5000  # listings active at each snapshot (churn adds new ones over time)
    n_months: int = 12  # monthly snapshots
    start_month: str = "2025-01"  # YYYY-MM of the first snapshot
    history_months: int = 12  # months of bookings/reviews simulated before the first snapshot
    seed: int = 42
    column_set: str = "2025"  # "2025" (79 columns) or "2024" (older 75-column set)
    review_rate: float = 0.5  # P(a stay leaves a review); same meaning as the ETL's parameter
    avg_length_of_stay: float = 3.0  # nights per booking
    monthly_churn: float = 0.02  # share of listings leaving (and of new listings joining) per month
    missed_scrape_rate: float = 0.005  # chance an active listing is absent from one snapshot
    price_model: str = "multiplicative"  # or "additive" (the original city); see airbnb.synthetic
    noise_level: float = 0.10  # sd of the price noise as a fraction of the clean price (log sd)
    noise_persistence: float = 0.7  # share of noise variance that is a fixed per-listing offset
    price_elasticity: float = 3.0  # occupancy *= exp(-elasticity * (price / clean price - 1))
    min_price: float = 25.0  # prices are clipped here (the noise term absorbs the clip)
    blank_price_rate: float = 0.01  # listing-months whose price is written empty
    zero_price_rate: float = 0.001  # listing-months whose price is written "$0.00"
    gzip_level: int = 1  # fast; the files are re-read far more often than written
    # dollars off the quality term of a listing that has no reviews yet (new listings price lower;
    # 0 keeps the city as it was). Lets a test check the model learns a known cold-start effect.
    new_listing_discount: float = 0.0

    def __post_init__(self) -> None:
        check_types(self)
        check_bounds(self, {"n_listings": (1, 2_000_000), "n_months": (1, 600), "history_months": (0, 600),
                            "seed": (0, 2**63 - 1), "gzip_level": (0, 9)})
        if self.price_model not in PRICE_MODELS:
            raise ConfigError(f"price_model must be one of {list(PRICE_MODELS)}, got {self.price_model!r}")
        if self.column_set not in COLUMN_SETS:
            raise ConfigError(f"column_set must be one of {sorted(COLUMN_SETS)}, got {self.column_set!r}")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start_month):
            raise ConfigError(f"start_month must be YYYY-MM, got {self.start_month!r}")
        if not 0 < self.review_rate <= 1 or self.avg_length_of_stay <= 0:
            raise ConfigError("review_rate must be in (0, 1] and avg_length_of_stay > 0")
        if not 0 <= self.monthly_churn < 1 or not 0 <= self.noise_persistence <= 1:
            raise ConfigError("monthly_churn must be in [0, 1) and noise_persistence in [0, 1]")


@dataclass(frozen=True)
class CityFiles:
    """Where a generated city's files are."""

    root: Path
    listings: list[Path]  # one listings.csv.gz per snapshot, in date order
    reviews: Path
    ground_truth: Path
    manifest: Path
