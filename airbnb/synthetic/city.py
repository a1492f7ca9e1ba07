"""The static city: every listing ever active, with its place, unit, amenities, host and scores,
and the static price terms of the truth."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .amenities import draw_amenities
from .catalogues import BOROUGH_RADIUS_KM, BOROUGH_SHARE, NEIGHBOURHOODS
from .columns import host_columns, listing_text_columns, place_columns, stay_rule_columns, unit_columns
from .draws import choice
from .formats import SCORE_COLUMNS, csv_escape
from .timeline import LISTING_ID_ANCHORS, Timeline, ids_from_days, parse_day
from .truth import SCORE_PIVOT, SCORE_WEIGHTS, host_quality, location_term, noise_draws, size_capacity_term
from .units import Hosts, Units

if TYPE_CHECKING:
    from .config import CityConfig


@dataclass
class City:
    """Every listing ever active, in id order, with what the simulation and the writer need."""

    n: int
    id: np.ndarray
    created: np.ndarray  # day the listing went online
    first_snap: np.ndarray  # first snapshot index the listing can appear in
    exit_snap: np.ndarray  # first snapshot index it no longer appears in
    host: np.ndarray  # host index, for calculated_host_listings_count
    room: np.ndarray  # index into ROOM_TYPES
    borough: np.ndarray
    base_demand: np.ndarray
    noise_z: np.ndarray  # persistent part of the price noise (unit sd; Student-t if multiplicative)
    location: np.ndarray  # the static price terms
    size_capacity: np.ndarray
    amenities: np.ndarray
    quality_with_scores: np.ndarray  # quality term without the ltm part, once scores are shown
    quality_without_scores: np.ndarray  # ... while the listing has no reviews
    scores: np.ndarray  # (n, 7) in SCORE_COLUMNS order, 2 decimals
    columns: dict[str, pa.Array]  # static CSV columns, already CSV-escaped, per listing
    availability_rate: np.ndarray  # share of calendar days left open
    fallbacks: dict[str, float]  # what blanks count as in the truth (the ETL's imputations)
    amenity_values: dict[str, float]  # dollar value of every amenity string


def build_city(config: CityConfig, timeline: Timeline, rng: dict[str, np.random.Generator]) -> City:
    created, first_snap, exit_snap = _population(config, timeline, rng["population"])
    n = len(created)
    ids = ids_from_days(created, LISTING_ID_ANCHORS, rng["population"])
    nbhd, lat, lon = _places(n, rng["places"])
    borough = np.array([row[1] for row in NEIGHBOURHOODS])[nbhd]
    units = Units.make(borough, rng["units"])
    amen_json, amen_value, amenity_values = draw_amenities(units.room, rng["amenities"])
    hosts = Hosts.make(created, nbhd, rng["hosts"])
    scores = _review_scores(n, rng["scores"])
    instant = rng["scores"].random(n) < 0.3
    fallbacks = _fallbacks(units, scores, hosts)
    host_terms = host_quality(hosts, fallbacks)[hosts.of_listing] - 5.0 * instant
    score_terms = sum(w * (scores[:, SCORE_COLUMNS.index(c)] - SCORE_PIVOT)
                      for c, w in SCORE_WEIGHTS.items())
    fallback_terms = sum(w * (fallbacks[c] - SCORE_PIVOT) for c, w in SCORE_WEIGHTS.items())
    columns = {
        **listing_text_columns(ids, nbhd, units, scores, rng["text"]),
        **unit_columns(units, config.column_set),
        **host_columns(hosts, rng["text"]),
        **place_columns(nbhd, lat, lon),
        **stay_rule_columns(n, rng["text"]),
        "amenities": csv_escape(amen_json),
        "instant_bookable": pa.array(np.where(instant, "t", "f")),
    }
    return City(
        n=n, id=ids, created=created, first_snap=first_snap, exit_snap=exit_snap,
        host=hosts.of_listing, room=units.room, borough=borough,
        base_demand=_base_demand(n, rng["population"]),
        noise_z=noise_draws(rng["population"].standard_normal(n), config, rng["noise"]),
        location=location_term(nbhd, lat, lon),
        size_capacity=size_capacity_term(units, fallbacks),
        amenities=amen_value,
        quality_with_scores=host_terms + score_terms,
        quality_without_scores=host_terms + fallback_terms,
        scores=scores, columns=columns, availability_rate=rng["population"].beta(0.6, 0.6, n),
        fallbacks=fallbacks, amenity_values=amenity_values,
    )


def _population(config: CityConfig, timeline: Timeline, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Creation day, first and exit snapshot of the initial listings plus the monthly entrants."""
    snap_days = timeline.snapshot_days()
    n0 = config.n_listings
    era = rng.choice(3, size=n0, p=(0.30, 0.20, 0.50))
    lo = np.array([parse_day("2009-01-01"), parse_day("2020-01-01"), parse_day("2023-01-01")])[era]
    hi = np.array([parse_day("2020-01-01"), parse_day("2023-01-01"), snap_days[0]])[era]
    created = [lo + (rng.random(n0) * (hi - lo)).astype(np.int64)]
    first = [np.zeros(n0, np.int64)]
    for k in range(1, config.n_months):
        m = rng.binomial(n0, config.monthly_churn)
        created.append(snap_days[k - 1] + 1 + rng.integers(0, snap_days[k] - snap_days[k - 1], m))
        first.append(np.full(m, k))
    created, first = np.concatenate(created), np.concatenate(first)
    life = rng.geometric(config.monthly_churn, len(created)) if config.monthly_churn > 0 else \
        np.full(len(created), config.n_months)
    order = np.argsort(created, kind="stable")
    return created[order], first[order], (first + life)[order]


def _places(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbourhood (NYC-like borough shares), and a point scattered around its centroid."""
    table = NEIGHBOURHOODS
    boro = np.array([r[1] for r in table])
    weight = np.array([r[4] for r in table], dtype=float)
    share = np.asarray(BOROUGH_SHARE)[boro] * weight / np.bincount(boro, weights=weight)[boro]
    nbhd = rng.choice(len(table), size=n, p=share / share.sum())
    radius_km = np.asarray(BOROUGH_RADIUS_KM)[boro[nbhd]]
    lat = np.array([r[2] for r in table])[nbhd] + rng.normal(0, 0.5, n) * radius_km / 111.0
    lon = np.array([r[3] for r in table])[nbhd] + rng.normal(0, 0.5, n) * radius_km / 84.3
    return nbhd, np.round(lat, 5), np.round(lon, 5)


def _review_scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Latent review scores: clustered near 4.8 with a long left tail, many exact 5.0s."""
    rating = 5 - rng.gamma(1.2, 0.2, n)
    rating = np.where(rng.random(n) < 0.12, 5.0, rating)
    offsets = np.array([0.0, 0.0, -0.05, 0.05, 0.05, 0.02, -0.08])
    scores = rating[:, None] + offsets + rng.normal(0, 0.12, (n, len(offsets))) * (rating[:, None] < 5)
    scores[:, 0] = rating
    return np.round(np.clip(scores, 1.0, 5.0), 2)


def _base_demand(n: int, rng: np.random.Generator) -> np.ndarray:
    """Each listing's booking rate before season and price: a dormant minority, then a spread."""
    dormant = rng.random(n) < 0.17
    return np.where(dormant, rng.uniform(0.0, 0.05, n), rng.beta(1.6, 2.2, n))


def _fallbacks(units: Units, scores: np.ndarray, hosts: Hosts) -> dict[str, float]:
    """What the ETL will impute for blanks: medians of size fields, means of scores and rates."""
    def rate_mean(rate: np.ndarray) -> float:
        per_listing = rate[hosts.of_listing]
        return float(per_listing[per_listing >= 0].mean() / 100)

    out = {"bedrooms": float(np.median(units.bedrooms[~units.bedrooms_blank])),
           "beds": float(np.median(units.beds[~units.beds_blank])),
           "bathrooms_numeric": float(np.median(units.bath[~units.bath_text_blank])),
           "host_response_rate": rate_mean(hosts.response_rate),
           "host_acceptance_rate": rate_mean(hosts.acceptance_rate)}
    out.update({c: float(scores[:, SCORE_COLUMNS.index(c)].mean()) for c in SCORE_WEIGHTS})
    return out
