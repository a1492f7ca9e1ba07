"""Days since the epoch: the scrape timeline, and Airbnb-shaped ids that grow with time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .config import CityConfig


def parse_day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


@dataclass(frozen=True)
class Timeline:
    """Scrape dates of the history periods followed by the snapshot periods (days since epoch)."""

    scrape_day: np.ndarray
    month: np.ndarray  # calendar month 1..12 of each scrape
    n_history: int

    @classmethod
    def make(cls, config: CityConfig, rng: np.random.Generator) -> "Timeline":
        n = config.history_months + config.n_months
        months = np.datetime64(config.start_month, "M") - config.history_months + np.arange(n)
        day = months.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 5, n)
        return cls(day, months.astype(np.int64) % 12 + 1, config.history_months)

    def snapshot_days(self) -> np.ndarray:
        return self.scrape_day[self.n_history:]


# Airbnb ids grow with creation time; new listings got 18-digit ids from 2021 on.
LISTING_ID_ANCHORS = (("2008-08-01", 2.0e3), ("2010-01-01", 2.0e5), ("2012-01-01", 1.0e6),
                      ("2014-01-01", 2.5e6), ("2016-01-01", 1.0e7), ("2018-01-01", 2.2e7),
                      ("2019-06-01", 3.6e7), ("2021-03-01", 4.8e7), ("2021-03-02", 4.8e17),
                      ("2023-01-01", 7.9e17), ("2025-01-01", 1.28e18), ("2030-01-01", 2.5e18))
USER_ID_ANCHORS = (("2008-01-01", 1.0e3), ("2012-01-01", 1.5e6), ("2014-01-01", 1.0e7),
                   ("2016-01-01", 5.0e7), ("2018-01-01", 1.5e8), ("2020-01-01", 3.0e8),
                   ("2022-01-01", 4.5e8), ("2024-01-01", 5.8e8), ("2030-01-01", 9.0e8))
REVIEW_ID_ANCHORS = (("2008-01-01", 1.0e4), ("2014-01-01", 1.5e7), ("2017-01-01", 1.24e8),
                     ("2019-01-01", 3.65e8), ("2021-01-01", 7.2e8), ("2021-06-01", 3.8e17),
                     ("2022-01-01", 5.3e17), ("2023-01-01", 7.9e17), ("2024-01-01", 1.06e18),
                     ("2025-01-01", 1.283e18), ("2030-01-01", 2.5e18))


def ids_from_days(days: np.ndarray, anchors: tuple, rng: np.random.Generator) -> np.ndarray:
    """Time-ordered unique ids shaped like Airbnb's (``days`` must be sorted)."""
    x = np.array([parse_day(d) for d, _ in anchors], dtype=float)
    y = np.array([v for _, v in anchors])
    ids = np.interp(days + rng.random(len(days)), x, y).astype(np.int64)
    big = ids > 10**12
    ids[big] = ids[big] // 1000 * 1000 + rng.integers(0, 1000, int(big.sum()))
    steps = np.arange(len(ids), dtype=np.int64)
    return np.maximum.accumulate(ids - steps) + steps  # strictly increasing, hence unique


def year_start(day: int, shift: int = 0) -> int:
    """January 1st of the year of ``day``, shifted by ``shift`` years (days since epoch)."""
    year = np.datetime64(int(day), "D").astype("datetime64[Y]") + shift
    return int(year.astype("datetime64[D]").astype(np.int64))
