"""Time in periods: bookings and reviews between scrapes, and the state of each monthly snapshot.

Period ``t`` starts at the scrape date ``d_t`` and ends at ``d_{t+1}``; its price is the one
scraped on ``d_t`` and its reviews are dated in ``(d_t, d_{t+1}]`` (see :mod:`airbnb.synthetic`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from airbnb.axes import AXES

from .timeline import year_start
from .truth import BASE_PRICE, BIAS, SEASONAL_DEMAND, SEASONAL_EFFECT, log_factor, noise_draws

if TYPE_CHECKING:
    from .city import City
    from .config import CityConfig
    from .timeline import Timeline

OCCUPANCY_CAP_NIGHTS = 255  # Inside Airbnb caps estimated_occupancy_l365d at 70% of a year


@dataclass(frozen=True)
class _PeriodReviews:
    lo: int  # reviews are dated in (lo, hi]
    hi: int
    counts: np.ndarray  # per listing
    listing: np.ndarray  # per review, grouped by listing
    day: np.ndarray


class ReviewLog:
    """All simulated reviews, kept per period so window counts only touch overlapping periods."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.periods: list[_PeriodReviews] = []
        self.total = np.zeros(n, np.int64)
        self.first = np.full(n, -1, np.int64)
        self.last = np.full(n, -1, np.int64)

    def add(self, lo: int, hi: int, counts: np.ndarray, rng: np.random.Generator) -> None:
        """Date ``counts[i]`` reviews of listing ``i`` uniformly in (lo, hi]."""
        listing = np.repeat(np.arange(self.n), counts)
        day = lo + 1 + rng.integers(0, hi - lo, len(listing))
        day = day[np.lexsort((day, listing))]  # by listing, then date
        ends = np.cumsum(counts)
        has = counts > 0
        is_first = has & (self.first < 0)
        self.first[is_first] = day[(ends - counts)[is_first]]
        self.last[has] = day[ends[has] - 1]
        self.total += counts
        self.periods.append(_PeriodReviews(lo, hi, counts, listing, day))

    def reviews(self) -> tuple[np.ndarray, np.ndarray]:
        """(listing, day) of every review so far."""
        if not self.periods:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return (np.concatenate([p.listing for p in self.periods]),
                np.concatenate([p.day for p in self.periods]))

    def count(self, lo: int, hi: int) -> np.ndarray:
        """Reviews per listing dated in (lo, hi]."""
        out = np.zeros(self.n, np.int64)
        for p in self.periods:
            if p.lo >= lo and p.hi <= hi:
                out += p.counts
            elif p.hi > lo and p.lo < hi:
                inside = (p.day > lo) & (p.day <= hi)
                out += np.bincount(p.listing[inside], minlength=self.n)
        return out


@dataclass(frozen=True)
class Snapshot:
    """One monthly scrape: which listings it holds and their review/price state on that day."""

    day: int
    rows: np.ndarray  # listing indices, ascending (= id order)
    terms: dict[str, np.ndarray]  # bias, AXES, noise, price for the rows
    total: np.ndarray
    ltm: np.ndarray
    l30d: np.ndarray
    ly: np.ndarray
    first: np.ndarray
    last: np.ndarray
    nights_l365d: np.ndarray  # booked in the 12 periods before the scrape, capped

    @property
    def folder(self) -> str:
        return str(np.datetime64(self.day, "D"))


class Simulation:
    """Walks the periods in time order, yielding a ``Snapshot`` at each snapshot's scrape date.

    Everything is vectorised over listings; the only Python loop is over the ~24 periods.
    """

    def __init__(self, city: City, timeline: Timeline, config: CityConfig,
                 rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        self.city, self.timeline, self.config, self.rng = city, timeline, config, rng
        self.noise_rng = noise_rng  # the Student-t mixing draws (multiplicative city only)
        self.log = ReviewLog(city.n)
        self.nights: list[np.ndarray] = []  # nights booked per period

    def __iter__(self) -> Iterator[Snapshot]:
        days = self.timeline.scrape_day
        for p, day in enumerate(days):
            day = int(day)
            k = p - self.timeline.n_history  # snapshot index (negative in the history)
            month = int(self.timeline.month[p])
            ltm = self.log.count(day - 365, day)
            terms = self._price_terms(month, ltm)
            if k >= 0:
                yield self._snapshot(k, day, terms, ltm)
            if p + 1 < len(days):
                self._book(k, day, int(days[p + 1]), month, terms)

    def _price_terms(self, month: int, ltm: np.ndarray) -> dict[str, np.ndarray]:
        """The true price terms of every listing for a period (inactive ones included; unused).

        Dollars in the additive city; the multiplicative city turns the same dollar terms into
        log factors (``_multiplicative``).
        """
        city, cfg = self.city, self.config
        quality = np.where(self.log.total > 0, city.quality_with_scores,
                           city.quality_without_scores - cfg.new_listing_discount) + 4.0 * np.log1p(ltm)
        terms = {"bias": np.full(city.n, BIAS), "location": city.location,
                 "size_capacity": city.size_capacity, "quality_reputation": quality,
                 "amenities": city.amenities,
                 "seasonality": np.full(city.n, SEASONAL_EFFECT[month - 1])}
        rho = cfg.noise_persistence
        if cfg.price_model == "multiplicative":
            return self._multiplicative(terms, rho)
        clean = sum(terms.values())
        z = np.sqrt(rho) * city.noise_z + np.sqrt(1 - rho) * self.rng.standard_normal(city.n)
        price = np.maximum(clean + cfg.noise_level * np.abs(clean) * z, cfg.min_price)
        terms["noise"] = price - clean  # absorbs the clip, so the terms always sum to price
        terms["price"] = price
        return terms

    def _multiplicative(self, dollars: dict[str, np.ndarray], rho: float) -> dict[str, np.ndarray]:
        """Log factors from the dollar terms, a base price, and heavy-tailed log noise."""
        city, cfg = self.city, self.config
        terms = {"bias": np.full(city.n, BASE_PRICE),
                 **{axis: log_factor(axis, dollars[axis]) for axis in AXES}}
        log_clean = np.log(BASE_PRICE) + sum(terms[axis] for axis in AXES)
        monthly = noise_draws(self.rng.standard_normal(city.n), cfg, self.noise_rng)
        z = np.sqrt(rho) * city.noise_z + np.sqrt(1 - rho) * monthly
        price = np.maximum(np.exp(log_clean + cfg.noise_level * z), cfg.min_price)
        terms["noise"] = np.log(price) - log_clean  # absorbs the clip: the log identity is exact
        terms["price"] = price
        return terms

    def _overpricing(self, terms: dict[str, np.ndarray]) -> np.ndarray:
        """(price - clean price) / clean price: > 0 when the noise pushed the price up."""
        if self.config.price_model == "multiplicative":
            return np.expm1(terms["noise"])
        clean = terms["price"] - terms["noise"]
        return terms["noise"] / np.maximum(clean, self.config.min_price)

    def _book(self, k: int, lo: int, hi: int, month: int, terms: dict[str, np.ndarray]) -> None:
        """Bookings and reviews of the period (lo, hi]: overpriced listings are booked less."""
        city, cfg = self.city, self.config
        active = (city.created <= lo) & (k < city.exit_snap)
        overpricing = self._overpricing(terms)
        occupancy = np.minimum(0.95, city.base_demand * SEASONAL_DEMAND[month - 1]
                               * np.exp(-cfg.price_elasticity * overpricing))
        bookings = self.rng.poisson(occupancy * active * (hi - lo) / cfg.avg_length_of_stay)
        self.nights.append(np.minimum(np.round(bookings * cfg.avg_length_of_stay), hi - lo))
        self.log.add(lo, hi, self.rng.binomial(bookings, cfg.review_rate), self.rng)

    def _snapshot(self, k: int, day: int, terms: dict[str, np.ndarray], ltm: np.ndarray
                  ) -> Snapshot:
        city, log = self.city, self.log
        present = (city.first_snap <= k) & (k < city.exit_snap)
        present &= self.rng.random(city.n) >= self.config.missed_scrape_rate
        rows = np.flatnonzero(present)
        nights = np.sum(self.nights[-12:], axis=0) if self.nights else np.zeros(city.n)
        return Snapshot(
            day=day, rows=rows,
            terms={name: values[rows] for name, values in terms.items()},
            total=log.total[rows], ltm=ltm[rows], l30d=log.count(day - 30, day)[rows],
            ly=log.count(year_start(day, -1) - 1, year_start(day) - 1)[rows],
            first=log.first[rows], last=log.last[rows],
            nights_l365d=np.minimum(nights[rows], OCCUPANCY_CAP_NIGHTS).astype(np.int64))
