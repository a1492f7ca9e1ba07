"""A seeded synthetic NYC-like city written in the raw Inside Airbnb format.

Why it exists: the project needs default data that (1) needs no download, (2) exercises the ETL
with the same file layout, formats and dirt as real Inside Airbnb dumps, and (3) carries the
*true* per-axis price contributions, so tests can check what a model recovers.

Every axis starts from a *dollar term*: a known function of the columns the model sees, *as
they are written* (a blanked ``bedrooms`` counts as the median, an ``N/A`` rate as the mean, a
listing without reviews gets the mean review scores: what the ETL's imputation hands the model);
``FORMULAS`` spells them out. ``CityConfig.price_model`` says how the terms make the price.

``"multiplicative"`` (the default) -- prices are a product of factors, as in real markets:

    log(price) = log(bias) + location + size_capacity + quality_reputation + amenities
                 + seasonality + noise

``bias`` is the base price in dollars (``BASE_PRICE``, the price of a *reference listing*: an
entire rental unit for two with one bedroom, one bed and one bath whose dollar terms are
``REFERENCE_TERMS``), each axis column is that axis's *log* factor (``exp(axis)`` is the factor)
and ``noise`` is the log noise. An axis's factor is the additive city's relative price change
from moving that axis alone away from the reference listing,
``exp(axis) = max(1 + (dollar term - REFERENCE_TERMS[axis]) / BASE_PRICE, FACTOR_FLOOR)``, so the
two cities agree at the reference listing and use the same economics, but in the multiplicative
city a good location is worth more dollars for a big unit than for a shared room. In the
default city (5,000 listings, seed 42) the factors span: location x0.75-x1.46 (Manhattan's
median price is about twice the Bronx's), size x0.39 (shared rooms) to x5.0 at the 99th
percentile (large entire homes; x8.7 at the top), quality x0.85-x1.12 between the 5th and 95th
percentiles (a left tail down to x0.5 for poorly reviewed listings), amenities x0.84-x1.32
(5th-95th), seasonality x0.89-x1.11. The log noise is a Student-t with ``NOISE_T_DF`` (4)
degrees of freedom scaled to a standard deviation of ``noise_level``, split into a per-listing
and a per-listing-month part by ``noise_persistence`` as before. Prices come out heavy-tailed
like real Inside Airbnb dumps: median $130, mean $177, skewness 3.3, the 99th percentile 6.2x
the median and the maximum 14x; log prices have sd 0.63 and skewness 0.6 (additive city: median
$139, skewness 2.5, 99th percentile 4.7x, maximum 9x, log skewness 0.0).

Why multiplicative is the default: real nightly prices are multiplicative and heavy-tailed
(Albany's 2024-11 and Newark's 2025-09 dumps: price skewness 7.3 and 15.7, 99th percentile 3.8x
and 7.0x the median, log-price skewness 0.6 and 0.55, log sd 0.5 and 0.7). An additive-dollar
city would flatter an additive-dollar model: the figures measured on the default data should be
honest about real data. ``"additive"`` is the original city, byte for byte (same files for the
same config):

    price = bias + location + size_capacity + quality_reputation + amenities + seasonality + noise

with every term in dollars and a heteroscedastic Gaussian noise. In both models ``noise``
absorbs the clip at ``min_price``, so the terms always give ``price`` exactly; the manifest
(``city.json``) records ``price_model`` and the formulas of its mode, and
:func:`truth_in_dollars` turns either ground truth into dollar contributions that add up to the
price. Bookings fall when a listing is overpriced (``noise > 0``); reviews are a binomial
thinning of bookings, which is the relation the ETL's occupancy weight inverts.

Time runs in *periods*: period ``t`` starts at the scrape date ``d_t`` (early in month ``t``)
and ends at ``d_{t+1}``. The price scraped on ``d_t`` is in force for that period, and the
period's reviews are dated uniformly in ``(d_t, d_{t+1}]``. So a review never depends on a price
that itself depends on that review (``number_of_reviews_ltm`` enters the price), and no review is
dated after the last scrape. ``history_months`` periods are simulated before the first snapshot
so the first snapshot already has a year of reviews.

The ETL (:mod:`airbnb.etl`) knows nothing of this city: :func:`resolve_inputs`,
:func:`default_inputs` and :func:`ensure_default_table` hand it the built-in city's files, and
``python -m airbnb.synthetic --table PATH`` builds its modeling table.
"""
from __future__ import annotations

from airbnb.axes import AXES

from .cli import main, summarize
from .config import PRICE_MODELS, CityConfig, CityFiles
from .formats import (COLUMN_SETS, LISTINGS_COLUMNS_2024, LISTINGS_COLUMNS_2025, REVIEWS_COLUMNS,
                      SCORE_COLUMNS)
from .generator import ensure_city, generate_city
from .simulation import OCCUPANCY_CAP_NIGHTS
from .table import default_inputs, ensure_default_table, resolve_inputs
from .truth import (BASE_PRICE, BIAS, FACTOR_FLOOR, FORMULAS, FORMULAS_BY_MODEL, GROUND_TRUTH_SCHEMA,
                    MIDTOWN, MULTIPLICATIVE_FORMULAS, NOISE_T_DF, REFERENCE_TERMS, ROOM_EFFECT,
                    SCORE_PIVOT, SCORE_WEIGHTS, SEASONAL_DEMAND, SEASONAL_EFFECT, truth_in_dollars)

__all__ = [
    "AXES", "BASE_PRICE", "BIAS", "COLUMN_SETS", "FACTOR_FLOOR", "FORMULAS", "FORMULAS_BY_MODEL",
    "GROUND_TRUTH_SCHEMA", "LISTINGS_COLUMNS_2024", "LISTINGS_COLUMNS_2025", "MIDTOWN",
    "MULTIPLICATIVE_FORMULAS", "NOISE_T_DF", "OCCUPANCY_CAP_NIGHTS", "PRICE_MODELS", "REFERENCE_TERMS",
    "REVIEWS_COLUMNS", "ROOM_EFFECT", "SCORE_COLUMNS", "SCORE_PIVOT", "SCORE_WEIGHTS", "SEASONAL_DEMAND",
    "SEASONAL_EFFECT", "CityConfig", "CityFiles", "default_inputs", "ensure_city", "ensure_default_table",
    "generate_city", "main", "resolve_inputs", "summarize", "truth_in_dollars",
]
