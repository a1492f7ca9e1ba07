"""The city's truth: each axis's dollar term, the multiplicative city's log factors, the formulas
``city.json`` records, and either ground truth in dollars (the price model is described in
:mod:`airbnb.synthetic`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from airbnb.axes import AXES

from .catalogues import NEIGHBOURHOODS, PROPERTY_TYPES
from .config import PRICE_MODELS

if TYPE_CHECKING:
    from .units import Hosts, Units  # annotations only
    from .config import CityConfig

# --------------------------------------------------------------------------- dollar terms

BIAS = 48.0
# Dollars added to every listing in each calendar month (Jan..Dec): summer and December peaks.
SEASONAL_EFFECT = (-14.0, -11.0, -5.0, 0.0, 6.0, 10.0, 9.0, 7.0, 8.0, 9.0, 3.0, 15.0)
# Multiplier on every listing's booking rate in each calendar month.
SEASONAL_DEMAND = (0.80, 0.82, 0.92, 1.00, 1.05, 1.12, 1.15, 1.12, 1.05, 1.05, 0.98, 1.08)
MIDTOWN = (40.7580, -73.9855)
ROOM_EFFECT = (30.0, -15.0, -25.0, 30.0)  # in schema.ROOM_TYPES order
SCORE_WEIGHTS = {  # dollars per review-score point above SCORE_PIVOT
    "review_scores_rating": 20.0, "review_scores_cleanliness": 8.0,
    "review_scores_checkin": 3.0, "review_scores_communication": 3.0,
    "review_scores_location": 8.0, "review_scores_value": 5.0,
}
SCORE_PIVOT = 4.75
FORMULAS = {
    "price": "max(bias + location + size_capacity + quality_reputation + amenities + seasonality"
             " + raw_noise, min_price); noise = price - (all other terms)",
    "bias": f"{BIAS}",
    "location": "neighbourhood effect + 45*exp(-km_to_midtown/6) - 10, "
                f"km_to_midtown = equirectangular distance from {MIDTOWN}",
    "size_capacity": "room_type effect + property_type effect + (12 for Entire home/apt and "
                     "Hotel room, else 6)*(accommodates-2) + 4*(beds-1) + "
                     "[Entire home/apt, Hotel room] (35*(bedrooms-1) + "
                     "15*max(bedrooms-1,0)^2) + [Entire home/apt] 25*(bathrooms-1) - 10*shared_bath;"
                     " blank bedrooms/beds/bathrooms_text use the fallbacks (medians)",
    "quality_reputation": "sum_c w_c*(score_c - 4.75) + 15*(response_rate - 0.95) + "
                          "10*(acceptance_rate - 0.90) + 8*superhost + 4*identity_verified - "
                          "5*instant_bookable + 4*log1p(number_of_reviews_ltm); empty scores and "
                          "rates use the fallbacks (means); empty superhost counts as f",
    "amenities": "sum of amenity_values over the listing's amenities list",
    "seasonality": "seasonal_effect[month of last_scraped]",
    "raw_noise": "noise_level * clean_price * (sqrt(rho)*z_listing + sqrt(1-rho)*z_listing_month)",
    "occupancy": "min(0.95, base_demand * seasonal_demand[month] * exp(-price_elasticity * "
                 "noise / clean_price)); bookings ~ Poisson(occupancy*days/avg_length_of_stay); "
                 "reviews ~ Binomial(bookings, review_rate)",
}

# The multiplicative city (see the package docstring). Its reference listing is an entire rental
# unit for 2 guests (1 bedroom, 1 bed, 1 bath; size term $30) with a location term of $10, a
# quality term of $15 and amenities worth $30 (all about the default city's medians), in a month
# without seasonal effect; it costs BASE_PRICE in both cities.
REFERENCE_TERMS = {"location": 10.0, "size_capacity": 30.0, "quality_reputation": 15.0,
                   "amenities": 30.0, "seasonality": 0.0}
BASE_PRICE = BIAS + sum(REFERENCE_TERMS.values())  # $133
FACTOR_FLOOR = 0.1  # no axis factor below x0.1 (never reached by the default city)
NOISE_T_DF = 4.0  # degrees of freedom of the Student-t log noise
MULTIPLICATIVE_FORMULAS = {
    "price": "max(bias * exp(location + size_capacity + quality_reputation + amenities + "
             "seasonality + raw_noise), min_price); noise = log(price) - log(bias) - (all axes)",
    "bias": f"{BASE_PRICE} (dollars: the reference listing's price)",
    **{axis: f"log(max(1 + ({axis}_dollars - {REFERENCE_TERMS[axis]}) / {BASE_PRICE}, "
             f"{FACTOR_FLOOR}))" for axis in AXES},
    **{f"{axis}_dollars": FORMULAS[axis] for axis in AXES},
    "raw_noise": f"noise_level * (sqrt(rho)*t_listing + sqrt(1-rho)*t_listing_month), t ~ "
                 f"Student-t with {NOISE_T_DF:g} degrees of freedom scaled to unit variance",
    "occupancy": "min(0.95, base_demand * seasonal_demand[month] * exp(-price_elasticity * "
                 "(exp(noise) - 1))); bookings ~ Poisson(occupancy*days/avg_length_of_stay); "
                 "reviews ~ Binomial(bookings, review_rate)",
}
FORMULAS_BY_MODEL = {"additive": FORMULAS, "multiplicative": MULTIPLICATIVE_FORMULAS}


def formulas(config) -> dict[str, str]:
    """The formulas of ``config``'s price model, with the new-listing discount when it has one."""
    out = dict(FORMULAS_BY_MODEL[config.price_model])
    if config.new_listing_discount:
        key = "quality_reputation" if config.price_model == "additive" else "quality_reputation_dollars"
        out[key] += f"; a listing without reviews yet loses {config.new_listing_discount:g} (new_listing_discount)"
    return out

# One row per listing-month. Additive city: bias, the axes and noise are dollars summing to price.
# Multiplicative city: bias is the base price in dollars, the axes and noise are log factors and
# log(bias) + axes + noise = log(price). city.json's "price_model" says which; truth_in_dollars()
# gives dollar contributions for either.
GROUND_TRUTH_SCHEMA = pa.schema([
    ("listing_id", pa.int64()), ("year_month", pa.string()), ("snapshot_date", pa.date32()),
    ("bias", pa.float64()), *[(axis, pa.float64()) for axis in AXES], ("noise", pa.float64()),
    ("price", pa.float64()), ("written_price", pa.float64()),
    ("neighbourhood_group_cleansed", pa.string()),
])

# --------------------------------------------------------------------------- price terms


def _km_from_midtown(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.hypot((lat - MIDTOWN[0]) * 111.0, (lon - MIDTOWN[1]) * 84.3)


def location_term(nbhd: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    effect = np.array([r[5] for r in NEIGHBOURHOODS], dtype=float)[nbhd]
    return effect + 45.0 * np.exp(-_km_from_midtown(lat, lon) / 6.0) - 10.0


def size_capacity_term(units: Units, fallbacks: dict) -> np.ndarray:
    bedrooms, beds, bath, shared = units.seen(fallbacks)
    extra_bedrooms = bedrooms - 1
    whole_unit = (units.room == 0) | (units.room == 3)
    guest_term = np.where(whole_unit, 12.0, 6.0) * (units.accommodates - 2)
    bedroom_term = np.where(whole_unit,
                            35.0 * extra_bedrooms + 15.0 * np.maximum(extra_bedrooms, 0) ** 2, 0.0)
    bath_term = np.where(units.room == 0, 25.0 * (bath - 1), 0.0)
    return (np.asarray(ROOM_EFFECT)[units.room] + np.array([p[2] for p in PROPERTY_TYPES])[units.ptype]
            + guest_term + 4.0 * (beds - 1) + bedroom_term + bath_term
            - 10.0 * shared)


def log_factor(axis: str, dollars: np.ndarray) -> np.ndarray:
    """The multiplicative city's log term of ``axis`` from the additive city's dollar term."""
    return np.log(np.maximum(1.0 + (dollars - REFERENCE_TERMS[axis]) / BASE_PRICE, FACTOR_FLOOR))


def noise_draws(z: np.ndarray, config: CityConfig, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise from standard normals ``z``: ``z`` itself in the additive city, a
    Student-t with ``NOISE_T_DF`` degrees of freedom (z / sqrt(chi2/df), rescaled) otherwise."""
    if config.price_model == "additive":
        return z
    return z * np.sqrt((NOISE_T_DF - 2.0) / rng.chisquare(NOISE_T_DF, len(z)))


def truth_in_dollars(truth, price_model: str):
    """A copy of a ground-truth frame with every term in dollars, adding up to ``price``.

    Additive truth is already in dollars (returned as a copy). Multiplicative truth
    (``log(bias) + axes + noise = log(price)``) is split with the logarithmic-mean (LMDI)
    weights: term_k * (price - bias) / log(price / bias), i.e. ``price - bias`` shared in
    proportion to each term's log factor. Exact, order-free, and at price == bias the weight is
    ``bias``. ``price_model`` is the city's ``city.json["price_model"]``.
    """
    if price_model not in PRICE_MODELS:
        raise ValueError(f"price_model must be one of {list(PRICE_MODELS)}, got {price_model!r}")
    out = truth.copy()
    if price_model == "additive":
        return out
    terms = [*AXES, "noise"]
    total = out[terms].sum(axis=1).to_numpy()
    bias = out["bias"].to_numpy()
    small = np.abs(total) < 1e-12
    weight = np.where(small, bias, bias * np.expm1(total) / np.where(small, 1.0, total))
    for term in terms:
        out[term] = out[term].to_numpy() * weight
    return out


def host_quality(hosts: Hosts, fallbacks: dict) -> np.ndarray:
    """The host part of quality_reputation (per host)."""
    def seen(rate: np.ndarray, name: str) -> np.ndarray:
        return np.where(rate >= 0, rate / 100, fallbacks[name])

    return (15.0 * (seen(hosts.response_rate, "host_response_rate") - 0.95)
            + 10.0 * (seen(hosts.acceptance_rate, "host_acceptance_rate") - 0.90)
            + 8.0 * (hosts.superhost == "t") + 4.0 * hosts.identity_verified)
