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
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

import airbnb
from airbnb.config import DEFAULT_CITY_DIR
from airbnb.io import atomic_dir, file_sha256, write_json
from airbnb.axes import AXES
from airbnb.log import get_logger
from airbnb.schema import ROOM_TYPES

log = get_logger(__name__)

# --------------------------------------------------------------------------- file formats

LISTINGS_COLUMNS_2024: tuple[str, ...] = (
    "id", "listing_url", "scrape_id", "last_scraped", "source", "name", "description",
    "neighborhood_overview", "picture_url", "host_id", "host_url", "host_name", "host_since",
    "host_location", "host_about", "host_response_time", "host_response_rate",
    "host_acceptance_rate", "host_is_superhost", "host_thumbnail_url", "host_picture_url",
    "host_neighbourhood", "host_listings_count", "host_total_listings_count",
    "host_verifications", "host_has_profile_pic", "host_identity_verified", "neighbourhood",
    "neighbourhood_cleansed", "neighbourhood_group_cleansed", "latitude", "longitude",
    "property_type", "room_type", "accommodates", "bathrooms", "bathrooms_text", "bedrooms",
    "beds", "amenities", "price", "minimum_nights", "maximum_nights", "minimum_minimum_nights",
    "maximum_minimum_nights", "minimum_maximum_nights", "maximum_maximum_nights",
    "minimum_nights_avg_ntm", "maximum_nights_avg_ntm", "calendar_updated", "has_availability",
    "availability_30", "availability_60", "availability_90", "availability_365",
    "calendar_last_scraped", "number_of_reviews", "number_of_reviews_ltm",
    "number_of_reviews_l30d", "first_review", "last_review", "review_scores_rating",
    "review_scores_accuracy", "review_scores_cleanliness", "review_scores_checkin",
    "review_scores_communication", "review_scores_location", "review_scores_value", "license",
    "instant_bookable", "calculated_host_listings_count",
    "calculated_host_listings_count_entire_homes", "calculated_host_listings_count_private_rooms",
    "calculated_host_listings_count_shared_rooms", "reviews_per_month",
)
# The 2025 files insert four columns right after number_of_reviews_l30d.
_ADDED_2025 = ("availability_eoy", "number_of_reviews_ly", "estimated_occupancy_l365d",
               "estimated_revenue_l365d")
_SPLIT_2025 = LISTINGS_COLUMNS_2024.index("number_of_reviews_l30d") + 1
LISTINGS_COLUMNS_2025: tuple[str, ...] = (
    LISTINGS_COLUMNS_2024[:_SPLIT_2025] + _ADDED_2025 + LISTINGS_COLUMNS_2024[_SPLIT_2025:])
COLUMN_SETS: dict[str, tuple[str, ...]] = {"2024": LISTINGS_COLUMNS_2024,
                                           "2025": LISTINGS_COLUMNS_2025}
REVIEWS_COLUMNS = ("listing_id", "id", "date", "reviewer_id", "reviewer_name", "comments")

PRICE_MODELS = ("additive", "multiplicative")
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

# --------------------------------------------------------------------------- the city's truth

BIAS = 48.0
# Dollars added to every listing in each calendar month (Jan..Dec): summer and December peaks.
SEASONAL_EFFECT = (-14.0, -11.0, -5.0, 0.0, 6.0, 10.0, 9.0, 7.0, 8.0, 9.0, 3.0, 15.0)
# Multiplier on every listing's booking rate in each calendar month.
SEASONAL_DEMAND = (0.80, 0.82, 0.92, 1.00, 1.05, 1.12, 1.15, 1.12, 1.05, 1.05, 0.98, 1.08)
MIDTOWN = (40.7580, -73.9855)
OCCUPANCY_CAP_NIGHTS = 255  # Inside Airbnb caps estimated_occupancy_l365d at 70% of a year
ROOM_EFFECT = (30.0, -15.0, -25.0, 30.0)  # in schema.ROOM_TYPES order
SCORE_WEIGHTS = {  # dollars per review-score point above SCORE_PIVOT
    "review_scores_rating": 20.0, "review_scores_cleanliness": 8.0,
    "review_scores_checkin": 3.0, "review_scores_communication": 3.0,
    "review_scores_location": 8.0, "review_scores_value": 5.0,
}
SCORE_PIVOT = 4.75
SCORE_COLUMNS = ("review_scores_rating", "review_scores_accuracy", "review_scores_cleanliness",
                 "review_scores_checkin", "review_scores_communication",
                 "review_scores_location", "review_scores_value")
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

# The multiplicative city (see the module docstring). Its reference listing is an entire rental
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

BOROUGHS = ("Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island")
BOROUGH_SHARE = (0.42, 0.38, 0.15, 0.04, 0.01)
BOROUGH_RADIUS_KM = (0.7, 0.9, 1.1, 1.0, 1.5)
# Room-type shares per borough (ROOM_TYPES order): Manhattan has the most entire homes and hotels.
ROOM_SHARE = ((0.62, 0.34, 0.015, 0.025), (0.54, 0.445, 0.012, 0.003),
              (0.42, 0.56, 0.015, 0.005), (0.38, 0.60, 0.02, 0.0), (0.52, 0.47, 0.01, 0.0))

# (name, borough index, latitude, longitude, share of its borough's listings, dollar effect)
NEIGHBOURHOODS: tuple[tuple[str, int, float, float, float, float], ...] = (
    ("Midtown", 0, 40.7549, -73.9840, 8, 27.5), ("Hell's Kitchen", 0, 40.7638, -73.9918, 7, 22.5),
    ("Theater District", 0, 40.7590, -73.9845, 2, 30), ("Chelsea", 0, 40.7465, -74.0014, 4, 30),
    ("Upper West Side", 0, 40.7870, -73.9754, 6, 17.5),
    ("Upper East Side", 0, 40.7736, -73.9566, 6, 17.5), ("Harlem", 0, 40.8116, -73.9465, 7, 0),
    ("East Harlem", 0, 40.7957, -73.9389, 4, -2.5), ("East Village", 0, 40.7265, -73.9815, 5, 22.5),
    ("West Village", 0, 40.7358, -74.0036, 3, 42.5),
    ("Greenwich Village", 0, 40.7336, -73.9991, 2, 40),
    ("Lower East Side", 0, 40.7150, -73.9843, 3, 20), ("SoHo", 0, 40.7233, -74.0030, 2, 50),
    ("Tribeca", 0, 40.7163, -74.0086, 1, 60), ("Financial District", 0, 40.7075, -74.0113, 4, 27.5),
    ("Chinatown", 0, 40.7158, -73.9970, 2, 12.5), ("Little Italy", 0, 40.7191, -73.9973, 1, 22.5),
    ("Nolita", 0, 40.7230, -73.9949, 1, 37.5), ("NoHo", 0, 40.7265, -73.9927, 1, 45),
    ("Murray Hill", 0, 40.7479, -73.9757, 3, 22.5), ("Kips Bay", 0, 40.7423, -73.9801, 2, 20),
    ("Gramercy", 0, 40.7368, -73.9845, 1.5, 27.5), ("Flatiron District", 0, 40.7411, -73.9897, 1, 40),
    ("Battery Park City", 0, 40.7116, -74.0158, 0.6, 35), ("Civic Center", 0, 40.7130, -74.0030, 0.4, 25),
    ("Two Bridges", 0, 40.7110, -73.9950, 0.4, 10), ("Stuyvesant Town", 0, 40.7316, -73.9778, 0.3, 15),
    ("Washington Heights", 0, 40.8417, -73.9394, 4, -7.5), ("Inwood", 0, 40.8677, -73.9212, 1.2, -10),
    ("Morningside Heights", 0, 40.8100, -73.9625, 1.2, 2.5),
    ("Roosevelt Island", 0, 40.7612, -73.9503, 0.3, 7.5), ("Marble Hill", 0, 40.8762, -73.9104, 0.1, -12.5),
    ("Williamsburg", 1, 40.7081, -73.9571, 9, 20), ("Bedford-Stuyvesant", 1, 40.6872, -73.9418, 10, 0),
    ("Bushwick", 1, 40.6958, -73.9171, 6, -2.5), ("Crown Heights", 1, 40.6694, -73.9422, 5, -2.5),
    ("Greenpoint", 1, 40.7305, -73.9515, 3, 17.5), ("Park Slope", 1, 40.6710, -73.9814, 2, 15),
    ("Prospect Heights", 1, 40.6775, -73.9692, 1.2, 12.5), ("Fort Greene", 1, 40.6892, -73.9742, 1.5, 15),
    ("Clinton Hill", 1, 40.6897, -73.9661, 1.5, 10), ("Boerum Hill", 1, 40.6848, -73.9844, 0.6, 17.5),
    ("Cobble Hill", 1, 40.6860, -73.9969, 0.4, 20), ("Carroll Gardens", 1, 40.6795, -73.9991, 0.7, 17.5),
    ("Brooklyn Heights", 1, 40.6959, -73.9956, 0.7, 25), ("DUMBO", 1, 40.7033, -73.9881, 0.3, 40),
    ("Downtown Brooklyn", 1, 40.6928, -73.9903, 0.8, 20), ("Red Hook", 1, 40.6734, -74.0080, 0.3, 7.5),
    ("Gowanus", 1, 40.6733, -73.9900, 0.5, 10), ("Sunset Park", 1, 40.6455, -74.0124, 1.5, -7.5),
    ("Windsor Terrace", 1, 40.6539, -73.9757, 0.4, 2.5), ("Kensington", 1, 40.6394, -73.9721, 0.8, -7.5),
    ("Flatbush", 1, 40.6415, -73.9594, 2, -7.5), ("East Flatbush", 1, 40.6415, -73.9300, 1.8, -10),
    ("Prospect-Lefferts Gardens", 1, 40.6590, -73.9500, 1.2, -5),
    ("Ditmas Park", 1, 40.6360, -73.9630, 0.2, -5), ("Midwood", 1, 40.6204, -73.9599, 0.5, -7.5),
    ("Borough Park", 1, 40.6339, -73.9968, 0.6, -7.5), ("Bay Ridge", 1, 40.6264, -74.0299, 0.6, -5),
    ("Bensonhurst", 1, 40.6139, -73.9922, 0.5, -10), ("Dyker Heights", 1, 40.6215, -74.0139, 0.2, -7.5),
    ("Sheepshead Bay", 1, 40.5868, -73.9543, 0.6, -7.5), ("Brighton Beach", 1, 40.5781, -73.9597, 0.4, -5),
    ("Coney Island", 1, 40.5755, -73.9707, 0.2, -10), ("Gravesend", 1, 40.5973, -73.9794, 0.4, -10),
    ("Canarsie", 1, 40.6402, -73.9060, 0.8, -12.5), ("Flatlands", 1, 40.6226, -73.9300, 0.4, -12.5),
    ("East New York", 1, 40.6590, -73.8759, 1.0, -15), ("Cypress Hills", 1, 40.6776, -73.8900, 0.5, -12.5),
    ("Brownsville", 1, 40.6626, -73.9087, 0.5, -15), ("Columbia St", 1, 40.6870, -74.0010, 0.1, 15),
    ("Vinegar Hill", 1, 40.7037, -73.9823, 0.1, 25), ("South Slope", 1, 40.6609, -73.9863, 0.6, 10),
    ("Manhattan Beach", 1, 40.5784, -73.9418, 0.1, 0), ("Bergen Beach", 1, 40.6204, -73.9065, 0.1, -10),
    ("Mill Basin", 1, 40.6093, -73.9180, 0.1, -7.5), ("Bath Beach", 1, 40.6018, -74.0049, 0.2, -10),
    ("Fort Hamilton", 1, 40.6145, -74.0310, 0.2, -7.5), ("Navy Yard", 1, 40.7003, -73.9720, 0.1, 10),
    ("Sea Gate", 1, 40.5770, -74.0100, 0.05, -5), ("Gerritsen Beach", 1, 40.5870, -73.9240, 0.05, -7.5),
    ("Astoria", 2, 40.7644, -73.9235, 8, 0), ("Long Island City", 2, 40.7447, -73.9485, 5, 12.5),
    ("Sunnyside", 2, 40.7433, -73.9196, 3, -2.5), ("Woodside", 2, 40.7454, -73.9031, 2.5, -5),
    ("Jackson Heights", 2, 40.7557, -73.8831, 3, -5), ("Elmhurst", 2, 40.7362, -73.8801, 3, -5),
    ("East Elmhurst", 2, 40.7615, -73.8648, 3, -2.5), ("Corona", 2, 40.7450, -73.8643, 1.5, -10),
    ("Flushing", 2, 40.7675, -73.8331, 6, -2.5), ("Forest Hills", 2, 40.7181, -73.8448, 2, 0),
    ("Rego Park", 2, 40.7256, -73.8624, 1, -2.5), ("Ridgewood", 2, 40.7043, -73.9018, 4, -2.5),
    ("Maspeth", 2, 40.7237, -73.9126, 1, -7.5), ("Middle Village", 2, 40.7168, -73.8818, 0.6, -7.5),
    ("Glendale", 2, 40.7015, -73.8805, 0.6, -7.5), ("Kew Gardens", 2, 40.7091, -73.8290, 0.8, -5),
    ("Richmond Hill", 2, 40.6995, -73.8313, 1.5, -10), ("Jamaica", 2, 40.7027, -73.7890, 4, -7.5),
    ("Ozone Park", 2, 40.6794, -73.8507, 1.2, -10), ("Woodhaven", 2, 40.6890, -73.8580, 1, -10),
    ("South Ozone Park", 2, 40.6719, -73.8169, 1.5, -7.5), ("St. Albans", 2, 40.6930, -73.7580, 1.2, -7.5),
    ("Springfield Gardens", 2, 40.6632, -73.7627, 1.5, -5), ("Rosedale", 2, 40.6603, -73.7355, 0.8, -7.5),
    ("Laurelton", 2, 40.6700, -73.7470, 0.6, -7.5), ("Cambria Heights", 2, 40.6940, -73.7370, 0.6, -7.5),
    ("Queens Village", 2, 40.7170, -73.7470, 1, -10), ("Hollis", 2, 40.7118, -73.7620, 0.4, -10),
    ("Jamaica Estates", 2, 40.7167, -73.7820, 0.3, -2.5), ("Fresh Meadows", 2, 40.7359, -73.7904, 0.6, -5),
    ("Bayside", 2, 40.7686, -73.7745, 1.2, -2.5), ("Whitestone", 2, 40.7860, -73.8090, 0.4, -2.5),
    ("College Point", 2, 40.7868, -73.8459, 0.6, -5), ("Little Neck", 2, 40.7637, -73.7320, 0.2, -2.5),
    ("Douglaston", 2, 40.7660, -73.7470, 0.2, -2.5), ("Bellerose", 2, 40.7280, -73.7180, 0.3, -7.5),
    ("Briarwood", 2, 40.7090, -73.8150, 0.6, -7.5), ("Arverne", 2, 40.5920, -73.7980, 0.8, 2.5),
    ("Far Rockaway", 2, 40.6001, -73.7557, 0.6, -7.5), ("Rockaway Beach", 2, 40.5860, -73.8150, 0.8, 5),
    ("Belle Harbor", 2, 40.5760, -73.8490, 0.2, 7.5), ("Ditmars Steinway", 2, 40.7750, -73.9110, 2.5, -2.5),
    ("Howard Beach", 2, 40.6580, -73.8380, 0.4, -7.5), ("Kew Gardens Hills", 2, 40.7290, -73.8220, 0.5, -7.5),
    ("Bay Terrace", 2, 40.7800, -73.7770, 0.2, -5),
    ("Mott Haven", 3, 40.8090, -73.9229, 2, -7.5), ("Port Morris", 3, 40.8010, -73.9130, 0.5, -5),
    ("Concourse", 3, 40.8280, -73.9220, 1.5, -10), ("Concourse Village", 3, 40.8240, -73.9160, 0.8, -10),
    ("Highbridge", 3, 40.8380, -73.9270, 1, -12.5), ("Fordham", 3, 40.8616, -73.8905, 1.2, -12.5),
    ("Kingsbridge", 3, 40.8780, -73.9050, 1.2, -12.5), ("Riverdale", 3, 40.8900, -73.9120, 0.6, -5),
    ("Belmont", 3, 40.8550, -73.8870, 0.6, -12.5), ("Pelham Bay", 3, 40.8500, -73.8330, 0.6, -12.5),
    ("Throgs Neck", 3, 40.8180, -73.8200, 0.6, -10), ("Parkchester", 3, 40.8380, -73.8600, 0.8, -12.5),
    ("Williamsbridge", 3, 40.8780, -73.8570, 0.8, -15), ("Wakefield", 3, 40.8940, -73.8550, 0.8, -15),
    ("Morris Park", 3, 40.8520, -73.8500, 0.5, -12.5), ("Mount Hope", 3, 40.8480, -73.9060, 0.6, -15),
    ("Longwood", 3, 40.8240, -73.8950, 0.7, -12.5), ("Hunts Point", 3, 40.8120, -73.8840, 0.3, -15),
    ("Soundview", 3, 40.8250, -73.8680, 0.7, -12.5), ("City Island", 3, 40.8470, -73.7870, 0.3, 2.5),
    ("Norwood", 3, 40.8760, -73.8790, 0.6, -12.5), ("University Heights", 3, 40.8610, -73.9130, 0.6, -15),
    ("Tremont", 3, 40.8470, -73.8990, 0.6, -15), ("Melrose", 3, 40.8240, -73.9100, 0.5, -12.5),
    ("Co-op City", 3, 40.8740, -73.8290, 0.2, -15), ("Van Nest", 3, 40.8440, -73.8650, 0.3, -12.5),
    ("Spuyten Duyvil", 3, 40.8810, -73.9170, 0.2, -7.5), ("Allerton", 3, 40.8660, -73.8590, 0.8, -15),
    ("St. George", 4, 40.6437, -74.0736, 1.5, -7.5), ("Tompkinsville", 4, 40.6370, -74.0780, 1.5, -10),
    ("Stapleton", 4, 40.6270, -74.0770, 1, -10), ("Clifton", 4, 40.6190, -74.0720, 0.5, -12.5),
    ("Rosebank", 4, 40.6150, -74.0690, 0.5, -12.5), ("New Brighton", 4, 40.6420, -74.0900, 0.5, -10),
    ("West Brighton", 4, 40.6330, -74.1100, 0.6, -10), ("Port Richmond", 4, 40.6330, -74.1370, 0.4, -12.5),
    ("Mariners Harbor", 4, 40.6350, -74.1580, 0.4, -12.5), ("Great Kills", 4, 40.5540, -74.1510, 0.4, -7.5),
    ("Tottenville", 4, 40.5080, -74.2370, 0.3, -7.5), ("New Springville", 4, 40.5900, -74.1620, 0.3, -10),
    ("Silver Lake", 4, 40.6260, -74.0940, 0.3, -10), ("Grymes Hill", 4, 40.6200, -74.0940, 0.2, -10),
    ("Midland Beach", 4, 40.5730, -74.0930, 0.3, -7.5), ("South Beach", 4, 40.5860, -74.0700, 0.4, -7.5),
    ("Randall Manor", 4, 40.6350, -74.1000, 0.3, -10), ("Castleton Corners", 4, 40.6130, -74.1210, 0.2, -10),
    ("Eltingville", 4, 40.5430, -74.1640, 0.3, -7.5), ("Arrochar", 4, 40.5960, -74.0720, 0.3, -10),
)

# (property_type, room index, dollar effect, weight in Manhattan/Brooklyn, weight elsewhere)
PROPERTY_TYPES: tuple[tuple[str, int, float, float, float], ...] = (
    ("Entire rental unit", 0, 0, 62, 45), ("Entire condo", 0, 15, 8, 6),
    ("Entire home", 0, 10, 5, 22), ("Entire townhouse", 0, 25, 4, 6), ("Entire loft", 0, 30, 4, 1),
    ("Entire serviced apartment", 0, 35, 5, 1), ("Entire guest suite", 0, -10, 3, 8),
    ("Entire place", 0, 0, 2, 2), ("Entire vacation home", 0, 20, 1, 2),
    ("Entire guesthouse", 0, -5, 1, 3), ("Entire cottage", 0, 10, 0.2, 1),
    ("Entire villa", 0, 60, 0.2, 0.8), ("Entire bungalow", 0, 5, 0.2, 1),
    ("Tiny home", 0, -20, 0.2, 0.6),
    ("Private room in rental unit", 1, 0, 65, 45), ("Private room in home", 1, -5, 10, 30),
    ("Private room in townhouse", 1, 5, 7, 8), ("Private room in condo", 1, 5, 6, 5),
    ("Private room in loft", 1, 5, 3, 1), ("Private room in bed and breakfast", 1, 15, 2, 2),
    ("Private room in guest suite", 1, 5, 2, 4), ("Private room in hostel", 1, -15, 2, 0.5),
    ("Private room in serviced apartment", 1, 10, 2, 0.5), ("Private room in guesthouse", 1, 0, 1, 2),
    ("Private room in bungalow", 1, 0, 0.2, 1),
    ("Shared room in rental unit", 2, 0, 50, 40), ("Shared room in hostel", 2, -10, 25, 5),
    ("Shared room in home", 2, 0, 10, 40), ("Shared room in loft", 2, 0, 8, 2),
    ("Shared room in condo", 2, 0, 7, 5),
    ("Room in hotel", 3, 0, 55, 60), ("Room in boutique hotel", 3, 20, 30, 20),
    ("Room in aparthotel", 3, 10, 10, 10), ("Room in serviced apartment", 3, 10, 5, 10),
)

# --------------------------------------------------------------------------- amenities


@dataclass(frozen=True)
class _AmenityGroup:
    """Mutually exclusive amenity strings: a listing has at most one line of each group."""

    p_home: float  # inclusion probability for entire homes and hotel rooms
    p_room: float  # ... for private and shared rooms
    variants: tuple[tuple[str, float, float], ...]  # (string, dollar value, relative frequency)


def _english_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _one(name: str, p_home: float, p_room: float, value: float) -> _AmenityGroup:
    return _AmenityGroup(p_home, p_room, ((name, value, 1.0),))


def _branded(item: str, value: float, brands: Sequence[str], p_home: float, p_room: float,
             styles: Sequence[str] = ("",), extra: Sequence[tuple[str, float, float]] = ()
             ) -> _AmenityGroup:
    """The generic line (most common) plus the brand lines real hosts type ("Samsung refrigerator")."""
    variants = [(item[0].upper() + item[1:], value, 40.0), *extra]
    variants += [(f"{b} {s}{item}", value, 0.3) for b in brands for s in styles]
    return _AmenityGroup(p_home, p_room, tuple(variants))


def _listed(prefix: str, base_value: float, items: Sequence[str], k_max: int, p_home: float,
            p_room: float) -> _AmenityGroup:
    """"Coffee maker: drip coffee maker, french press, and Nespresso"-style lines."""
    variants = [(prefix, base_value, 20.0)]
    for k in range(1, k_max + 1):
        variants += [(f"{prefix}: {_english_list(c)}", base_value + 0.3 * k, 2.0 / k)
                     for c in combinations(items, k)]
    return _AmenityGroup(p_home, p_room, tuple(variants))


_APPLIANCE_BRANDS = ("Samsung", "LG", "GE", "Frigidaire", "Whirlpool", "Bosch", "KitchenAid",
                     "Haier", "Hotpoint", "Maytag", "Smeg", "Viking", "Wolf", "Sub-Zero", "Amana")
_TOILETRY_BRANDS = ("Dove", "Suave", "Head and Shoulders", "Pantene", "TRESemme", "Aveda",
                    "Malin+Goetz", "Le Labo", "Molton Brown", "Aesop", "Kirkland", "Method",
                    "Dr. Bronner's", "Native", "Nonspecific", "Generic", "Suave ", "Dove ",
                    "Generic ", "Mrs. Meyer's")
_SPEAKER_BRANDS = ("Sonos", "Bose", "JBL", "Marshall", "Sony", "Harman Kardon", "Yamaha",
                   "Bang & Olufsen", "Amazon Echo", "Apple HomePod")
_STREAMING = ("Netflix", "Roku", "Amazon Prime Video", "Hulu", "HBO Max", "Disney+", "Apple TV",
              "Chromecast", "Fire TV", "standard cable", "premium cable")


def _tv_group() -> _AmenityGroup:
    variants = [("TV", 0.6, 30.0), ("HDTV", 0.9, 8.0), ("TV with standard cable", 0.9, 6.0),
                ("HDTV with Netflix", 1.2, 4.0), ("TV with Roku", 0.9, 2.0)]
    combos = [c for k in (1, 2, 3) for c in combinations(_STREAMING, k)]
    for size in (32, 40, 42, 43, 48, 50, 55, 58, 60, 65, 70, 75, 85):
        value = 0.9 + (size - 32) / 30
        variants += [(f"{size} inch HDTV", value, 0.5), (f"{size} inch TV", value - 0.3, 0.2)]
        variants += [(f"{size} inch HDTV with {', '.join(c)}", value + 0.3, 0.02) for c in combos]
    variants += [(f"HDTV with {', '.join(c)}", 1.2, 0.05) for c in combos]
    return _AmenityGroup(0.80, 0.50, tuple(variants))


def _wifi_group() -> _AmenityGroup:
    variants = [("Wifi", 0.6, 60.0)]
    variants += [(f"Fast wifi \u2013 {n} Mbps", 1.8, 0.15) for n in range(100, 1001, 3)]
    variants += [(f"Wifi \u2013 {n} Mbps", 0.6, 0.1) for n in range(10, 100)]
    return _AmenityGroup(0.97, 0.95, tuple(variants))


def _stove_group() -> _AmenityGroup:
    kinds = ("gas", "electric", "induction")
    extra = [(f"{k.capitalize()} stove", 0.6, 5.0) for k in kinds]
    extra += [(f"Stainless steel {k} stove", 0.9, 3.0) for k in kinds]
    variants = [("Stove", 0.6, 40.0), *extra]
    variants += [(f"{b} {s}{k} stove", 0.9, 0.2) for b in _APPLIANCE_BRANDS for k in kinds
                 for s in ("", "stainless steel ")]
    return _AmenityGroup(0.62, 0.40, tuple(variants))


def _oven_group() -> _AmenityGroup:
    kinds = ("oven", "single oven", "double oven")
    variants = [("Oven", 0.6, 40.0), ("Single oven", 0.6, 4.0), ("Double oven", 1.2, 1.0),
                ("Stainless steel oven", 0.9, 4.0), ("Stainless steel single oven", 0.9, 2.0)]
    variants += [(f"{b} {s}{k}", 0.9, 0.2) for b in _APPLIANCE_BRANDS for k in kinds
                 for s in ("", "stainless steel ")]
    return _AmenityGroup(0.62, 0.38, tuple(variants))


def _group(p_home: float, p_room: float, *variants: tuple[str, float, float]) -> _AmenityGroup:
    return _AmenityGroup(p_home, p_room, tuple(variants))


def _amenity_groups() -> tuple[_AmenityGroup, ...]:
    """The city's amenity vocabulary, values and frequencies (a fixed part of the city's truth)."""
    simple = (
        ("Smoke alarm", .95, .93, 0.3), ("Carbon monoxide alarm", .88, .85, 0.3),
        ("Kitchen", .93, .80, 2.4), ("Essentials", .85, .85, 0.6), ("Hangers", .80, .80, 0.2),
        ("Hot water", .80, .72, 0.3), ("Hair dryer", .78, .68, 0.6), ("Iron", .72, .66, 0.3),
        ("Bed linens", .70, .66, 0.6), ("Dishes and silverware", .80, .60, 0.6),
        ("Cooking basics", .74, .52, 0.6), ("Microwave", .76, .62, 0.6),
        ("Fire extinguisher", .70, .60, 0.3), ("First aid kit", .56, .46, 0.3),
        ("Dedicated workspace", .62, .58, 1.2), ("Long term stays allowed", .60, .60, 0),
        ("Self check-in", .70, .55, 0.6), ("Extra pillows and blankets", .50, .42, 0.6),
        ("Cleaning products", .55, .45, 0.3), ("Freezer", .55, .38, 0.3),
        ("Dining table", .52, .30, 0.6), ("Wine glasses", .48, .25, 0.3), ("Toaster", .42, .28, 0.3),
        ("Hot water kettle", .40, .32, 0.3), ("Room-darkening shades", .35, .33, 0.6),
        ("Luggage dropoff allowed", .28, .30, 0.6), ("Laundromat nearby", .30, .30, 0),
        ("Private entrance", .42, .18, 1.2), ("Keypad", .30, .20, 0.6), ("Lockbox", .20, .15, 0.3),
        ("Smart lock", .20, .15, 0.9), ("Exterior security cameras on property", .35, .35, -0.6),
        ("Ceiling fan", .25, .25, 0.6), ("Portable fans", .20, .22, 0.3), ("Baking sheet", .36, .20, 0.2),
        ("Blender", .25, .12, 0.3), ("Dishwasher", .45, .22, 1.8), ("Bathtub", .45, .35, 1.2),
        ("Elevator", .35, .20, 2.4), ("Building staff", .10, .04, 7.2),
        ("Books and reading material", .25, .20, 0.6), ("Board games", .12, .08, 0.6),
        ("Ethernet connection", .12, .10, 0.6), ("Coffee", .45, .35, 0.3),
        ("Drying rack for clothing", .18, .14, 0.2), ("Window AC unit", .25, .35, 1.2),
        ("Portable air conditioning", .06, .08, 1.2), ("Portable heater", .08, .10, 0.3),
        ("Free street parking", .25, .30, 0.6), ("Pets allowed", .18, .12, 1.2),
        ("Smoking allowed", .03, .04, -3.6), ("Host greets you", .06, .18, 0.6),
        ("Cleaning available during stay", .10, .12, 1.8), ("Single level home", .10, .05, 1.2),
        ("Outdoor furniture", .15, .08, 1.2), ("Outdoor dining area", .12, .06, 1.2),
        ("Fire pit", .03, .01, 2.4), ("Bidet", .05, .04, 1.2), ("Safe", .05, .04, 0.6),
        ("Kitchenette", .03, .05, 1.2), ("Trash compactor", .02, .01, 0.6), ("Rice maker", .06, .05, 0.3),
        ("Bread maker", .02, .01, 0.3), ("Barbecue utensils", .05, .02, 0.3),
        ("Noise decibel monitors on property", .06, .02, -0.6), ("Breakfast", .02, .04, 3.6),
        ("Hammock", .01, .005, 0.6), ("Bikes", .02, .01, 1.2), ("Piano", .02, .01, 3),
        ("Ping pong table", .02, .005, 3), ("Pool table", .015, .005, 4.8),
        ("Movie theater", .005, .001, 12), ("Record player", .03, .01, 1.2),
        ("Arcade games", .005, .002, 3), ("Outdoor shower", .005, .002, 2.4),
        ("Outdoor kitchen", .01, .003, 4.8), ("Sun loungers", .02, .01, 1.2),
        ("Beach essentials", .01, .005, 0.6), ("Kayak", .002, .001, 1.2),
        ("Lock on bedroom door", .05, .62, 1.2), ("Private living room", .05, .08, 4.8),
        ("Shower gel", .40, .35, 0.3), ("Mini fridge", .05, .15, 0.6), ("Waterfront", .01, .005, 15),
        ("Children\u2019s dinnerware", .10, .03, 0.6), ("Baby safety gates", .03, .01, 0.6),
        ("Outlet covers", .04, .01, 0.6), ("Window guards", .05, .02, 0.6),
        ("Babysitter recommendations", .03, .01, 0.6), ("Changing table", .02, .005, 0.6),
        ("Baby bath", .03, .01, 0.6), ("Mosquito net", .01, .01, 0), ("Pocket wifi", .01, .01, 0.6),
        ("City skyline view", .12, .06, 9), ("Park view", .05, .03, 4.8), ("River view", .04, .02, 9),
        ("Bay view", .01, .005, 6), ("Garden view", .05, .04, 1.8), ("Courtyard view", .05, .04, 0.6),
        ("Harbor view", .01, .003, 9), ("Ocean view", .004, .002, 12), ("Beach view", .003, .001, 9),
    )
    groups = [_one(*row) for row in simple]
    groups += [
        _wifi_group(), _tv_group(), _stove_group(), _oven_group(),
        _branded("refrigerator", 0.6, _APPLIANCE_BRANDS, .80, .62, ("", "stainless steel ")),
        _branded("shampoo", 0.3, _TOILETRY_BRANDS, .62, .55),
        _branded("conditioner", 0.3, _TOILETRY_BRANDS, .42, .32),
        _branded("body soap", 0.3, _TOILETRY_BRANDS, .48, .40),
        _branded("sound system", 1.8, _SPEAKER_BRANDS, .06, .02, ("", "Bluetooth "),
                 extra=[("Bluetooth sound system", 1.8, 20.0)]),
        _listed("Coffee maker", 0.6, ("drip coffee maker", "Keurig coffee machine", "Nespresso",
                                      "french press", "pour-over coffee", "espresso machine"),
                3, .55, .32),
        _listed("Clothing storage", 0.3, ("walk-in closet", "closet", "wardrobe", "dresser"), 3,
                .50, .45),
        _listed("Exercise equipment", 2.4, ("free weights", "treadmill", "yoga mat",
                                            "stationary bike", "elliptical", "workout bench"),
                2, .04, .01),
        _listed("Game console", 1.2, ("PS4", "PS5", "Xbox One", "Xbox Series X",
                                      "Nintendo Switch"), 2, .04, .01),
        _listed("Children\u2019s books and toys", 0.6,
                ("ages 0-2 years old", "2-5 years old", "5-10 years old", "10+ years old"), 2,
                .08, .02),
        _group(.50, .28, ("Washer", 1.8, 20), ("Free washer \u2013 In unit", 3, 12),
               ("Free washer \u2013 In building", 1.2, 8), ("Paid washer \u2013 In building", 0.3, 5),
               ("Washer \u2013\u00a0In unit", 3, 1), ("Washer \u2013\u00a0In building", 1.2, 1)),
        _group(.46, .25, ("Dryer", 1.2, 20), ("Free dryer \u2013 In unit", 2.4, 12),
               ("Free dryer \u2013 In building", 0.6, 8), ("Paid dryer \u2013 In building", 0.3, 5),
               ("Dryer \u2013\u00a0In unit", 2.4, 1), ("Dryer \u2013\u00a0In building", 0.6, 1)),
        _group(.12, .10, ("Free parking on premises", 4.8, 20),
               ("Free residential garage on premises", 6, 3),
               ("Free parking garage on premises \u2013 1 space", 7.2, 1),
               ("Free carport on premises \u2013 1 space", 4.8, 0.5),
               *[(f"Free driveway parking on premises \u2013 {n} spaces", 4.8, 1) for n in (2, 3, 4, 8)],
               *[(f"Free parking on premises \u2013 {n} space" + ("s" if n > 1 else ""), 4.8, 1)
                 for n in (1, 2, 4)]),
        _group(.20, .10, ("Paid parking off premises", 0.6, 20), ("Paid parking garage off premises", 0.6, 6),
               ("Paid parking lot off premises", 0.6, 4), ("Paid street parking off premises", 0.3, 3),
               ("Paid parking on premises", 1.8, 5),
               *[(f"Paid parking lot on premises \u2013 {n} spaces", 1.8, 0.5) for n in (2, 5, 20)]),
        _group(.04, .015, ("Pool", 15, 10), ("Shared pool", 12, 10),
               ("Shared outdoor pool - available seasonally, open 24 hours", 12, 3),
               ("Shared indoor pool - available all year, open specific hours, heated", 13.2, 2),
               ("Shared outdoor rooftop pool - available seasonally, open specific hours", 18, 2),
               ("Private pool", 36, 2),
               ("Private outdoor pool - available seasonally, open 24 hours, heated", 36, 1),
               ("Private indoor pool - available all year, heated, salt water", 42, 0.3)),
        _group(.03, .01, ("Hot tub", 12, 10), ("Shared hot tub", 7.2, 6), ("Private hot tub", 24, 3),
               ("Shared hot tub - available all year, open 24 hours", 7.2, 2),
               ("Private hot tub - available all year, open 24 hours", 24, 1)),
        _group(.01, .003, ("Sauna", 7.2, 3), ("Shared sauna", 6, 3), ("Private sauna", 15, 1)),
        _group(.14, .06, ("Gym", 4.8, 10), ("Shared gym in building", 4.8, 6), ("Gym in building", 4.8, 3),
               ("Private gym in building", 15, 1), ("Free gym nearby", 1.2, 1)),
        _group(.06, .02, ("Indoor fireplace", 6, 10), ("Indoor fireplace: gas", 4.8, 3),
               ("Indoor fireplace: electric", 3, 3), ("Indoor fireplace: wood-burning", 7.2, 2),
               ("Indoor fireplace: ethanol", 3.6, 0.5)),
        _group(.08, .03, ("BBQ grill", 3, 10), ("BBQ grill: gas", 3, 3), ("BBQ grill: charcoal", 3, 2),
               ("Private BBQ grill: gas", 3.6, 1), ("Shared BBQ grill: charcoal", 1.8, 1)),
        _group(.80, .72, ("Air conditioning", 3, 30), ("Central air conditioning", 4.2, 6),
               ("AC - split type ductless system", 3.6, 3)),
        _group(.90, .85, ("Heating", 0.6, 30), ("Central heating", 1.2, 6), ("Radiant heating", 1.2, 4),
               ("Heating - split type ductless system", 1.2, 2)),
        _group(.08, .02, ("Crib", 1.2, 10), ("Crib - always at the listing", 1.2, 3),
               ("Crib - available upon request", 1.2, 3)),
        _group(.08, .02, ("Pack \u2019n play/Travel crib", 0.6, 10),
               ("Pack \u2019n play/Travel crib - always at the listing", 0.6, 4),
               ("Pack \u2019n play/Travel crib - available upon request", 0.6, 3)),
        _group(.08, .02, ("High chair", 0.6, 10), ("High chair - always at the listing", 0.6, 3),
               ("Standalone high chair", 0.6, 2), ("Standalone high chair - available upon request", 0.6, 1),
               ("Folding or convertible high chair - always at the listing", 0.6, 1)),
        _group(.05, .05, ("Housekeeping - available at extra cost", 1.2, 5),
               ("Housekeeping - included with your stay", 4.8, 2),
               ("Housekeeping - available at extra cost, available daily", 1.8, 1)),
        _group(.01, .005, ("EV charger", 3, 3), ("EV charger - level 1", 2.4, 2),
               ("EV charger - level 2", 3.6, 2), ("EV charger - level 2, Tesla only", 3.6, 0.5)),
        _group(.18, .12, ("Backyard", 4.8, 6), ("Private backyard \u2013 Fully fenced", 6, 4),
               ("Private backyard \u2013 Not fully fenced", 5.4, 2), ("Private backyard", 5.4, 2),
               ("Shared backyard \u2013 Fully fenced", 2.4, 3),
               ("Shared backyard \u2013 Not fully fenced", 1.8, 3), ("Shared backyard", 1.8, 1)),
        _group(.22, .10, ("Patio or balcony", 6, 5), ("Private patio or balcony", 7.2, 5),
               ("Shared patio or balcony", 2.4, 3)),
    ]
    return tuple(groups)


AMENITY_GROUPS = _amenity_groups()

# --------------------------------------------------------------------------- text material

FIRST_NAMES = (
    "Michael", "John", "David", "Sarah", "Jennifer", "Jessica", "Daniel", "Matthew", "Laura",
    "Andrew", "Mark", "Chris", "Sue", "James", "Brian", "Lisa", "Amanda", "Elizabeth", "Mike",
    "Emily", "Ryan", "Robert", "Ashley", "Nicole", "Joseph", "Kevin", "Rachel", "Justin",
    "Melissa", "Thomas", "Maria", "Jose", "Carlos", "Ana", "Luis", "Sofia", "Juan", "Camila",
    "Wei", "Li", "Yuki", "Hiroshi", "Min", "Ji-woo", "Priya", "Rahul", "Aisha", "Mohammed",
    "Fatima", "Omar", "Olga", "Ivan", "Anna", "Katarzyna", "Pierre", "Camille", "Lukas", "Emma",
    "Noah", "Olivia", "Liam", "Ava", "Ethan", "Mia", "Lucas", "Chloe", "Giulia", "Marco",
    "Alessandro", "Hannah", "Jonas", "Lea", "Sven", "Ingrid", "Kwame", "Ama", "Chinedu", "Zara",
    "Tyler", "Brandon", "Megan", "Lauren", "Stephanie", "Kimberly", "Heather", "Patrick",
    "Sean", "Kathleen", "Grace", "Benjamin", "Samuel", "Alexander", "Isabella", "Victoria",
    "Natalie", "Jonathan", "Eric", "Steven", "Paul", "Karen", "Nancy", "Betty", "Helen", "Sam",
    "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Dana", "Francesca", "Rosa",
    "Miguel", "Diego", "Valentina", "Mateo", "Elena", "Dmitri", "Natasha", "Yan", "Mei",
    "Jos\u00e9", "Zo\u00eb", "Fran\u00e7ois", "S\u00f8ren", "Bj\u00f6rn", "In\u00e9s",
    "\u0415\u0432\u0433\u0435\u043d\u0438\u0439", "\u5a77", "Anne-Marie", "Mary Ann",
    "Jean-Luc", "Mary & Tom", "The Smiths", "Kate And Jake",
)
COMPANY_HOSTS = ("Blueground", "Sonder", "Bluebird", "Mint House", "Placemakr", "Lyric",
                 "Kasa", "RoomPicks", "Rhino", "Lucky Hosts", "Zeus", "Landing", "Furnished Finder",
                 "Hotel Henri", "The Local NYC")
HOST_LOCATIONS = ("New York, NY", "Brooklyn, NY", "Queens, NY", "Bronx, NY", "Staten Island, NY",
                  "United States", "Jersey City, NJ", "Miami, FL", "Los Angeles, CA",
                  "London, United Kingdom", "Paris, France", "")
HOST_LOCATION_P = (0.595, 0.08, 0.03, 0.01, 0.005, 0.05, 0.02, 0.01, 0.01, 0.005, 0.005, 0.18)
HOST_ABOUT = (
    "I love meeting new people and sharing my city.",
    "Born and raised in New York, I know all the best spots.",
    "We are a couple who love to travel, cook, and host.",
    "Professional host with years of experience, here to make your stay easy.",
    "Artist, musician, and coffee lover.",
    "Hi! I'm a teacher and I've lived in the neighborhood for 10 years.",
    "Welcome!<br /><br />We manage a small collection of apartments across the city.",
    "Traveler, foodie, runner, and proud New Yorker.",
    "Retired nurse, grandmother of three, and a \"super\" early riser.",
    "Hosting since 2012. I respond quickly, usually within the hour.",
    "Our team is available 24/7 for anything you need during your stay.",
    "Designer by day, amateur chef by night.",
)
NAME_ADJECTIVES = ("Sunny", "Cozy", "Spacious", "Bright", "Modern", "Charming", "Quiet", "Stylish",
                   "Renovated", "Luxury", "Huge", "Lovely", "Beautiful", "Clean", "Chic", "Classic",
                   "Elegant", "Airy", "Serene", "Artsy", "Peaceful", "Gorgeous", "Comfy", "Budget")
LANDMARKS = (  # per borough, in BOROUGHS order
    ("Central Park", "Times Square", "the High Line", "Columbia University", "the subway"),
    ("Prospect Park", "the L train", "Barclays Center", "McCarren Park", "the Brooklyn Bridge"),
    ("Astoria Park", "LaGuardia", "JFK", "Flushing Meadows", "the 7 train"),
    ("Yankee Stadium", "the Bronx Zoo", "the 4 train", "Fordham University", "the subway"),
    ("the Staten Island Ferry", "the beach", "the SI Railway", "Snug Harbor", "the ferry"),
)
ROOM_WORDS = (("apartment", "apt", "flat", "home", "loft", "duplex", "garden apartment"),
              ("room", "bedroom", "private room", "guest room"),
              ("shared room", "bunk in shared room", "bed in dorm"),
              ("hotel room", "king room", "queen room", "double room", "suite"))
DESCRIPTION_SENTENCES = (
    "Bright, serene room in a renovated apartment in an elevator building.",
    "The space is clean, comfortable, and close to the subway.",
    "Enjoy a stylish experience at this centrally-located place.",
    "Fully furnished, with linens and towels provided.",
    "Perfect for couples, solo travelers, and business travelers.",
    "<b>The space</b><br />Queen bed, desk, closet, and plenty of natural light.",
    "<b>Guest access</b><br />Guests have access to the kitchen and living room.",
    "<b>Other things to note</b><br />No parties, no smoking, quiet hours after 10pm.",
    "Walk to restaurants, bars, cafes, and parks in minutes.",
    "The building has a laundry room, a bike room, and a roof deck.",
    "Please note: the apartment is a 4th floor walk-up.",
    "We offer monthly discounts for stays of 30 nights or more.",
)
OVERVIEW_SENTENCES = (
    "is full of great restaurants, cafes, and bars.",
    "is a quiet, tree-lined residential area.",
    "is one of the most vibrant neighborhoods in New York.",
    "has easy access to several subway lines.",
    "is known for its parks, brownstones, and weekend markets.",
    "is close to museums, shops, and nightlife.",
)
REVIEW_OPENERS = (
    "Great place to stay.", "Lovely apartment!", "Perfect location.", "We had a wonderful time.",
    "Very clean and comfortable.", "Highly recommend!", "Exactly as described.",
    "The host was super responsive.", "Nice room for the price.", "Cozy and quiet.",
    "Amazing stay, would come back.", "Good value.", "The place was fine.",
    "Convenient to the subway.", "Beautiful space,", "Check-in was easy,",
    "Honestly, it was OK.", "Our second stay here!", "Spotless.", "Wonderful host,",
)
REVIEW_BODIES = (
    "close to everything we wanted to see.", "the bed was comfortable and the shower was great.",
    "a bit noisy at night, but that's New York.",
    "the neighborhood has great restaurants, cafes, and bars.",
    "communication was quick and clear.", "we felt right at home.",
    "the kitchen had everything we needed.", "would definitely stay again!",
    "a short walk to the train.", "the photos don't do it justice.",
    "smaller than expected, but clean.", "great for a short business trip.",
    "the host left us water, coffee and snacks.", "thanks for everything!",
    "the heating was a little weak in the evening.", "perfect for a family of four.",
    "easy to get to Manhattan.", "very safe area.",
    "we loved the \"little extras\" in the room.",
    "the AC worked well, which was important in July.",
)
REVIEW_SPECIALS = (
    "Great stay.<br/>The apartment was clean and the host was responsive.<br/>",
    "Everything was perfect!\nWould recommend to friends.",
    "Muy bien ubicado, limpio y acogedor.",
    "Tr\u00e8s bon s\u00e9jour, appartement propre et bien situ\u00e9.",
    "Sehr sch\u00f6ne Wohnung, gerne wieder!",
    "\u975e\u5e38\u597d\u7684\u623f\u4e1c\uff0c\u623f\u95f4\u5e72\u51c0\u3002",
    "The host canceled this reservation 3 days before arrival. This is an automated posting.",
    ".",
    "Great \"hidden gem\" \u2013 quiet, clean, and central.",
    "Good location, but:<br/>- no hot water one morning<br/>- thin walls",
    "Nice place.\n\nThe host, Maria, was great, and the check-in was smooth.",
)

# --------------------------------------------------------------------------- public API


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
    price_model: str = "multiplicative"  # or "additive" (the original city); see the module doc
    noise_level: float = 0.10  # sd of the price noise as a fraction of the clean price (log sd)
    noise_persistence: float = 0.7  # share of noise variance that is a fixed per-listing offset
    price_elasticity: float = 3.0  # occupancy *= exp(-elasticity * (price / clean price - 1))
    min_price: float = 25.0  # prices are clipped here (the noise term absorbs the clip)
    blank_price_rate: float = 0.01  # listing-months whose price is written empty
    zero_price_rate: float = 0.001  # listing-months whose price is written "$0.00"
    gzip_level: int = 1  # fast; the files are re-read far more often than written

    def __post_init__(self) -> None:
        if self.price_model not in PRICE_MODELS:
            raise ValueError(f"price_model must be one of {list(PRICE_MODELS)}, got {self.price_model!r}")
        if self.column_set not in COLUMN_SETS:
            raise ValueError(f"column_set must be one of {sorted(COLUMN_SETS)}, got {self.column_set!r}")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start_month):
            raise ValueError(f"start_month must be YYYY-MM, got {self.start_month!r}")
        if self.n_listings < 1 or self.n_months < 1 or self.history_months < 0:
            raise ValueError("n_listings and n_months must be >= 1, history_months >= 0")
        if not 0 < self.review_rate <= 1 or self.avg_length_of_stay <= 0:
            raise ValueError("review_rate must be in (0, 1] and avg_length_of_stay > 0")
        if not 0 <= self.monthly_churn < 1 or not 0 <= self.noise_persistence <= 1:
            raise ValueError("monthly_churn must be in [0, 1) and noise_persistence in [0, 1]")


@dataclass(frozen=True)
class CityFiles:
    """Where a generated city's files are."""

    root: Path
    listings: list[Path]  # one listings.csv.gz per snapshot, in date order
    reviews: Path
    ground_truth: Path
    manifest: Path


def generate_city(out_dir: str | os.PathLike, config: CityConfig = CityConfig(),
                  progress: bool = True) -> CityFiles:
    """Generate the city into ``out_dir``, replacing any previous content only on success."""
    out_dir = Path(out_dir)
    rng = _streams(config.seed)
    timeline = _Timeline.make(config, rng["timeline"])
    city = _build_city(config, timeline, rng)
    with atomic_dir(out_dir) as stage:
        listing_paths, ground_truth, appeared = [], [], np.zeros(city.n, bool)
        simulation = _Simulation(city, timeline, config, rng["simulation"], rng["noise"])
        for snap in tqdm(simulation, total=config.n_months, disable=not progress,
                         desc="snapshots", unit="snapshot"):
            path = stage / snap.folder / "listings.csv.gz"
            ground_truth.append(_write_snapshot(path, city, snap, config, rng["snapshots"]))
            listing_paths.append(path)
            appeared[snap.rows] = True
        truth = pa.concat_tables(ground_truth)
        pq.write_table(truth, stage / "ground_truth.parquet")
        n_reviews = _write_reviews(stage / "reviews.csv.gz", city, simulation.log, appeared,
                                   config, rng["reviews"])
        counts = {"listings": truth.num_rows, "reviews": n_reviews,
                  "distinct_listings": int(appeared.sum())}
        _write_manifest(stage, city, config, listing_paths, counts)
    rel = [p.relative_to(stage) for p in listing_paths]
    return CityFiles(root=out_dir, listings=[out_dir / p for p in rel],
                     reviews=out_dir / "reviews.csv.gz",
                     ground_truth=out_dir / "ground_truth.parquet", manifest=out_dir / "city.json")


def ensure_city(out_dir: str | os.PathLike, config: CityConfig = CityConfig(),
                progress: bool = True) -> CityFiles:
    """The city in ``out_dir`` if it was generated with ``config``; otherwise generate it now."""
    out_dir = Path(out_dir)
    manifest = out_dir / "city.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("config") == asdict(config):
        snapshots = sorted(out_dir.glob("*/listings.csv.gz"))
        return CityFiles(out_dir, snapshots, out_dir / "reviews.csv.gz",
                         out_dir / "ground_truth.parquet", manifest)
    log.info("generating the synthetic city in %s (%s listings, seed %s): no download needed",
             out_dir, config.n_listings, config.seed)
    return generate_city(out_dir, config, progress)


# --------------------------------------------------------------------------- random streams


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, so changing one part does not reshuffle the others."""
    names = ("timeline", "population", "hosts", "places", "units", "amenities", "scores",
             "text", "simulation", "snapshots", "reviews", "noise")
    # spawn() keys child i by i alone, so appending a stream leaves the earlier ones unchanged.
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(s) for name, s in zip(names, children)}


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(probs))[:, None] > cdf).sum(axis=1), probs.shape[1] - 1)


def _pick(rng: np.random.Generator, pool: Sequence[str], n: int,
          p: Sequence[float] | None = None) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.choice(len(pool), size=n, p=p)]


# --------------------------------------------------------------------------- time


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


@dataclass(frozen=True)
class _Timeline:
    """Scrape dates of the history periods followed by the snapshot periods (days since epoch)."""

    scrape_day: np.ndarray
    month: np.ndarray  # calendar month 1..12 of each scrape
    n_history: int

    @classmethod
    def make(cls, config: CityConfig, rng: np.random.Generator) -> "_Timeline":
        n = config.history_months + config.n_months
        months = np.datetime64(config.start_month, "M") - config.history_months + np.arange(n)
        day = months.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 5, n)
        return cls(day, months.astype(np.int64) % 12 + 1, config.history_months)

    def snapshot_days(self) -> np.ndarray:
        return self.scrape_day[self.n_history:]


# --------------------------------------------------------------------------- the static city

# Airbnb ids grow with creation time; new listings got 18-digit ids from 2021 on.
_LISTING_ID_ANCHORS = (("2008-08-01", 2.0e3), ("2010-01-01", 2.0e5), ("2012-01-01", 1.0e6),
                       ("2014-01-01", 2.5e6), ("2016-01-01", 1.0e7), ("2018-01-01", 2.2e7),
                       ("2019-06-01", 3.6e7), ("2021-03-01", 4.8e7), ("2021-03-02", 4.8e17),
                       ("2023-01-01", 7.9e17), ("2025-01-01", 1.28e18), ("2030-01-01", 2.5e18))
_USER_ID_ANCHORS = (("2008-01-01", 1.0e3), ("2012-01-01", 1.5e6), ("2014-01-01", 1.0e7),
                    ("2016-01-01", 5.0e7), ("2018-01-01", 1.5e8), ("2020-01-01", 3.0e8),
                    ("2022-01-01", 4.5e8), ("2024-01-01", 5.8e8), ("2030-01-01", 9.0e8))
_REVIEW_ID_ANCHORS = (("2008-01-01", 1.0e4), ("2014-01-01", 1.5e7), ("2017-01-01", 1.24e8),
                      ("2019-01-01", 3.65e8), ("2021-01-01", 7.2e8), ("2021-06-01", 3.8e17),
                      ("2022-01-01", 5.3e17), ("2023-01-01", 7.9e17), ("2024-01-01", 1.06e18),
                      ("2025-01-01", 1.283e18), ("2030-01-01", 2.5e18))


def _ids_from_days(days: np.ndarray, anchors: tuple, rng: np.random.Generator) -> np.ndarray:
    """Time-ordered unique ids shaped like Airbnb's (``days`` must be sorted)."""
    x = np.array([_day(d) for d, _ in anchors], dtype=float)
    y = np.array([v for _, v in anchors])
    ids = np.interp(days + rng.random(len(days)), x, y).astype(np.int64)
    big = ids > 10**12
    ids[big] = ids[big] // 1000 * 1000 + rng.integers(0, 1000, int(big.sum()))
    steps = np.arange(len(ids), dtype=np.int64)
    return np.maximum.accumulate(ids - steps) + steps  # strictly increasing, hence unique


@dataclass
class _City:
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


def _build_city(config: CityConfig, timeline: _Timeline, rng: dict[str, np.random.Generator]) -> _City:
    created, first_snap, exit_snap = _population(config, timeline, rng["population"])
    n = len(created)
    ids = _ids_from_days(created, _LISTING_ID_ANCHORS, rng["population"])
    nbhd, lat, lon = _places(n, rng["places"])
    borough = np.array([row[1] for row in NEIGHBOURHOODS])[nbhd]
    units = _Units.make(borough, rng["units"])
    amen_json, amen_value, amenity_values = _amenities(units.room, rng["amenities"])
    hosts = _Hosts.make(created, nbhd, rng["hosts"])
    scores = _review_scores(n, rng["scores"])
    instant = rng["scores"].random(n) < 0.3
    fallbacks = _fallbacks(units, scores, hosts)
    host_terms = _host_quality(hosts, fallbacks)[hosts.of_listing] - 5.0 * instant
    score_terms = sum(w * (scores[:, SCORE_COLUMNS.index(c)] - SCORE_PIVOT)
                      for c, w in SCORE_WEIGHTS.items())
    fallback_terms = sum(w * (fallbacks[c] - SCORE_PIVOT) for c, w in SCORE_WEIGHTS.items())
    columns = {
        **_listing_text_columns(ids, nbhd, units, scores, rng["text"]),
        **_unit_columns(units, config.column_set),
        **hosts.columns(rng["text"]),
        **_place_columns(nbhd, lat, lon),
        **_stay_rule_columns(n, rng["text"]),
        "amenities": _csv_escape(amen_json),
        "instant_bookable": pa.array(np.where(instant, "t", "f")),
    }
    return _City(
        n=n, id=ids, created=created, first_snap=first_snap, exit_snap=exit_snap,
        host=hosts.of_listing, room=units.room, borough=borough,
        base_demand=_base_demand(n, rng["population"]),
        noise_z=_noise_draws(rng["population"].standard_normal(n), config, rng["noise"]),
        location=_location_term(nbhd, lat, lon),
        size_capacity=_size_capacity_term(units, fallbacks),
        amenities=amen_value,
        quality_with_scores=host_terms + score_terms,
        quality_without_scores=host_terms + fallback_terms,
        scores=scores, columns=columns, availability_rate=rng["population"].beta(0.6, 0.6, n),
        fallbacks=fallbacks, amenity_values=amenity_values,
    )


def _population(config: CityConfig, timeline: _Timeline, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Creation day, first and exit snapshot of the initial listings plus the monthly entrants."""
    snap_days = timeline.snapshot_days()
    n0 = config.n_listings
    era = rng.choice(3, size=n0, p=(0.30, 0.20, 0.50))
    lo = np.array([_day("2009-01-01"), _day("2020-01-01"), _day("2023-01-01")])[era]
    hi = np.array([_day("2020-01-01"), _day("2023-01-01"), snap_days[0]])[era]
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


@dataclass(frozen=True)
class _Units:
    """Room type, property type and size of each listing, with which size fields are blank."""

    room: np.ndarray
    ptype: np.ndarray
    accommodates: np.ndarray
    bedrooms: np.ndarray
    beds: np.ndarray
    bath: np.ndarray  # number of baths
    bath_kind: np.ndarray  # 0 plain ("1 bath"), 1 shared, 2 private ("1 private bath")
    bedrooms_blank: np.ndarray
    beds_blank: np.ndarray
    bath_text_blank: np.ndarray
    bathrooms_blank: np.ndarray  # the numeric 2025 column

    @classmethod
    def make(cls, borough: np.ndarray, rng: np.random.Generator) -> "_Units":
        n = len(borough)
        room = _choice(rng, np.asarray(ROOM_SHARE)[borough])
        ptype = _property_types(room, borough, rng)
        entire, hotel = room == 0, room == 3
        studio_or_more = rng.choice(8, size=n, p=(.12, .47, .25, .10, .035, .015, .007, .003))
        bedrooms = np.where(entire, studio_or_more,
                            np.where(hotel, rng.choice([0, 1, 2], n, p=(.05, .9, .05)),
                                     rng.choice([1, 2], n, p=(.96, .04)))).astype(float)
        acc = np.where(entire, 2 * np.maximum(bedrooms, 1) + rng.choice([-1, 0, 0, 1, 2], n),
                       np.where(room == 2, rng.choice([1, 1, 2, 3, 4], n),
                                rng.choice([1, 2, 2, 2, 3, 4], n)))
        acc = np.clip(acc, 1, 16)
        beds = np.where(entire, np.maximum(bedrooms, 1) + rng.choice([0, 0, 0, 1, 1, 2], n),
                        np.where(room == 2, rng.choice([1, 2, 3, 4], n),
                                 rng.choice([1, 1, 1, 1, 1, 2], n)))
        beds = np.minimum(beds, 16).astype(float)
        bath, kind = cls._baths(room, bedrooms, rng)
        studio = entire & (bedrooms == 0)
        bedrooms_blank = rng.random(n) < np.where(studio, 0.5, 0.04)
        bath_text_blank = rng.random(n) < 0.004
        return cls(room=room, ptype=ptype, accommodates=acc.astype(np.int64), bedrooms=bedrooms,
                   beds=beds, bath=bath, bath_kind=kind, bedrooms_blank=bedrooms_blank,
                   beds_blank=rng.random(n) < 0.04, bath_text_blank=bath_text_blank,
                   bathrooms_blank=bath_text_blank | (rng.random(n) < 0.03))

    @staticmethod
    def _baths(room: np.ndarray, bedrooms: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
        n = len(room)
        extra = 0.5 * rng.binomial(2 * np.maximum(bedrooms - 1, 0).astype(np.int64), 0.45)
        entire_bath = 1 + extra + 0.5 * (rng.random(n) < 0.12)
        entire_bath = np.where(rng.random(n) < 0.005, 0.5, entire_bath)
        entire_bath = np.where(rng.random(n) < 0.003, 0.0, entire_bath)
        room_bath = rng.choice([1, 1.5, 2, 3, 0.5, 0], n, p=(.80, .06, .09, .02, .02, .01))
        bath = np.where(room == 0, entire_bath, np.where(room == 3, rng.choice([1, 2], n, p=(.95, .05)),
                                                         room_bath))
        kind = np.select(
            [room == 0, room == 1, room == 2],
            [np.where(rng.random(n) < 0.03, 1, 0), rng.choice(3, n, p=(.17, .58, .25)),
             np.ones(n, np.int64)],
            rng.choice([0, 2], n))
        kind = np.where((kind == 2) & (bath > 1), 0, kind)  # "private" is only said of one bath
        return bath, kind

    def seen(self, fallbacks: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bedrooms, beds, baths and shared-ness as the model sees them (blanks -> fallbacks)."""
        bedrooms = np.where(self.bedrooms_blank, fallbacks["bedrooms"], self.bedrooms)
        beds = np.where(self.beds_blank, fallbacks["beds"], self.beds)
        bath = np.where(self.bath_text_blank, fallbacks["bathrooms_numeric"], self.bath)
        shared = (self.bath_kind == 1) & ~self.bath_text_blank
        return bedrooms, beds, bath, shared

    def bath_text(self) -> np.ndarray:
        """Inside Airbnb's wording: "1 bath", "1.5 shared baths", "Private half-bath", ..."""
        number = np.where(self.bath % 1 == 0, self.bath.astype(np.int64).astype(str),
                          self.bath.astype(str)).astype(object)
        word = np.array(["", " shared", " private"], dtype=object)[self.bath_kind]
        plural = np.where(self.bath == 1, " bath", " baths").astype(object)
        half = np.array(["Half-bath", "Shared half-bath", "Private half-bath"],
                        dtype=object)[self.bath_kind]
        text = np.where(self.bath == 0.5, half, number + word + plural)
        return np.where(self.bath_text_blank, "", text)


def _property_types(room: np.ndarray, borough: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rooms = np.array([p[1] for p in PROPERTY_TYPES])
    inner = np.array([p[3] for p in PROPERTY_TYPES]) * (rooms[None, :] == np.arange(4)[:, None])
    outer = np.array([p[4] for p in PROPERTY_TYPES]) * (rooms[None, :] == np.arange(4)[:, None])
    table = np.stack([inner, outer], axis=1)  # (room, zone, type)
    return _choice(rng, table[room, (borough >= 2).astype(np.int64)])


def _amenities(room: np.ndarray, rng: np.random.Generator
               ) -> tuple[pa.Array, np.ndarray, dict[str, float]]:
    """Each listing's amenities JSON list and its dollar value; the value of every string."""
    n, groups = len(room), AMENITY_GROUPS
    p = np.array([[g.p_home, g.p_room] for g in groups], dtype=np.float32)
    p = p[:, ((room == 1) | (room == 2)).astype(np.int64)].T  # (listing, group)
    richness = rng.normal(0.0, 1.0, n).astype(np.float32)[:, None]
    logit = np.log(p / (1 - p)) + richness
    included = rng.random((n, len(groups)), dtype=np.float32) < 1 / (1 + np.exp(-logit))
    included[rng.random(n) < 0.002] = False  # the rare "[]" rows of real dumps
    strings = [v[0] for g in groups for v in g.variants]
    values = np.array([v[1] for g in groups for v in g.variants])
    string_id = np.empty((n, len(groups)), np.int64)
    offset = 0
    for j, g in enumerate(groups):
        weight = np.array([v[2] for v in g.variants])
        cdf = np.cumsum(weight) / weight.sum()
        string_id[:, j] = offset + np.minimum(np.searchsorted(cdf, rng.random(n)), len(cdf) - 1)
        offset += len(g.variants)
    order = np.argsort(np.where(included, rng.random(included.shape, dtype=np.float32), 2.0), axis=1)
    sid = np.take_along_axis(string_id, order, axis=1)
    count = included.sum(axis=1)
    flat = sid[np.arange(len(groups))[None, :] < count[:, None]]
    tokens = pa.array([json.dumps(s) for s in strings])
    lists = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(count)]), pa.int32()),
                                     tokens.take(pa.array(flat)))
    text = pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")
    value = np.where(included, values[string_id], 0.0).sum(axis=1)
    return text, value, dict(zip(strings, values.tolist()))


def _review_scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Latent review scores: clustered near 4.8 with a long left tail, many exact 5.0s."""
    rating = 5 - rng.gamma(1.2, 0.2, n)
    rating = np.where(rng.random(n) < 0.12, 5.0, rating)
    offsets = np.array([0.0, 0.0, -0.05, 0.05, 0.05, 0.02, -0.08])
    scores = rating[:, None] + offsets + rng.normal(0, 0.12, (n, len(offsets))) * (rating[:, None] < 5)
    scores[:, 0] = rating
    return np.round(np.clip(scores, 1.0, 5.0), 2)


@dataclass(frozen=True)
class _Hosts:
    """Host attributes (one row per host) and each listing's host."""

    of_listing: np.ndarray
    id: np.ndarray
    since: np.ndarray
    size: np.ndarray  # listings of the host in the city
    response_rate: np.ndarray  # percent; -1 = "N/A", -2 = empty
    acceptance_rate: np.ndarray
    superhost: np.ndarray  # "t", "f" or ""
    identity_verified: np.ndarray
    neighbourhood: np.ndarray

    @classmethod
    def make(cls, created: np.ndarray, nbhd: np.ndarray, rng: np.random.Generator) -> "_Hosts":
        n = len(created)
        # Most hosts have one listing; a few companies have hundreds (at most ~1.5% of the city).
        tier = rng.choice(6, size=n, p=(.78, .10, .05, .045, .02, .005))
        low, high = np.array([1, 2, 3, 4, 11, 51])[tier], np.array([2, 3, 4, 11, 51, 300])[tier]
        size = np.minimum(rng.integers(low, high), max(1, int(0.015 * n)))
        size = size[: np.searchsorted(np.cumsum(size), n) + 1]
        size[-1] -= size.sum() - n
        of_listing = np.empty(n, np.int64)
        of_listing[rng.permutation(n)] = np.repeat(np.arange(len(size)), size)
        h = len(size)
        first_created = np.full(h, np.iinfo(np.int64).max)
        np.minimum.at(first_created, of_listing, created)
        since = np.maximum(first_created - rng.exponential(400, h).astype(np.int64), _day("2008-08-01"))
        order = np.argsort(since, kind="stable")
        ids = np.empty(h, np.int64)
        ids[order] = _ids_from_days(since[order], _USER_ID_ANCHORS, rng)
        first_listing = np.full(h, n)
        np.minimum.at(first_listing, of_listing, np.arange(n))
        response = np.where(rng.random(h) < 0.6, 100, np.clip(100 - rng.gamma(1.0, 12, h), 0, 99))
        acceptance = np.where(rng.random(h) < 0.35, 100, np.clip(100 - rng.gamma(1.2, 12, h), 0, 99))
        response = np.select([rng.random(h) < 0.12, rng.random(h) < 0.02], [-1, -2], response)
        acceptance = np.select([rng.random(h) < 0.06, rng.random(h) < 0.02], [-1, -2], acceptance)
        return cls(of_listing=of_listing, id=ids, since=since, size=size,
                   response_rate=response.astype(np.int64), acceptance_rate=acceptance.astype(np.int64),
                   superhost=rng.choice(np.array(["t", "f", ""]), h, p=(.30, .68, .02)),
                   identity_verified=rng.random(h) < 0.85,
                   neighbourhood=np.where(rng.random(h) < 0.75, nbhd[first_listing], -1))

    def columns(self, rng: np.random.Generator) -> dict[str, pa.Array]:
        """The host_* CSV columns, per listing."""
        h = len(self.id)
        company = self.size >= 20
        name = np.where(company, _pick(rng, COMPANY_HOSTS, h), _pick(rng, FIRST_NAMES, h))
        about = _pick(rng, HOST_ABOUT, h) + np.where(
            rng.random(h) < 0.3, _pick(rng, ("\n", " ", "<br /><br />"), h) + _pick(rng, HOST_ABOUT, h), "")
        about = np.where(rng.random(h) < 0.45, "", about)
        response_time = _pick(rng, ("within an hour", "within a few hours", "within a day",
                                    "a few days or more"), h, p=(.68, .17, .11, .04))
        response_time = np.where(self.response_rate == -1, "N/A", response_time)
        has_pic = rng.random(h) < 0.97
        pic = ("https://a0.muscache.com/im/pictures/user/User-" + self.id.astype(str).astype(object)
               + "/original/" + _hex_uuids(rng, h) + ".jpeg?aki_policy=")
        total = self.size + np.where(rng.random(h) < 0.15, rng.integers(1, 20, h), 0)
        nbhd_names = np.array([r[0] for r in NEIGHBOURHOODS] + [""], dtype=object)
        per_host = {
            "host_id": _int_text(self.id),
            "host_url": "https://www.airbnb.com/users/show/" + self.id.astype(str).astype(object),
            "host_name": name,
            "host_since": _date_text(self.since),
            "host_location": _pick(rng, HOST_LOCATIONS, h, p=HOST_LOCATION_P),
            "host_about": about,
            "host_response_time": response_time,
            "host_response_rate": _percent_text(self.response_rate),
            "host_acceptance_rate": _percent_text(self.acceptance_rate),
            "host_is_superhost": self.superhost,
            "host_thumbnail_url": np.where(has_pic, pic + "profile_small",
                                           "https://a0.muscache.com/defaults/user_pic-50x50.png?v=3"),
            "host_picture_url": np.where(has_pic, pic + "profile_x_medium",
                                         "https://a0.muscache.com/defaults/user_pic-225x225.png?v=3"),
            "host_neighbourhood": nbhd_names[self.neighbourhood],
            "host_listings_count": _int_text(self.size),
            "host_total_listings_count": _int_text(total),
            "host_verifications": _pick(rng, ("['email', 'phone']", "['email', 'phone', 'work_email']",
                                              "['phone']", "['phone', 'work_email']"), h,
                                        p=(.75, .15, .09, .01)),
            "host_has_profile_pic": np.where(has_pic, "t", "f"),
            "host_identity_verified": np.where(self.identity_verified, "t", "f"),
        }
        take = pa.array(self.of_listing)
        return {k: _csv_escape(_as_arrow(v)).take(take) for k, v in per_host.items()}


def _base_demand(n: int, rng: np.random.Generator) -> np.ndarray:
    """Each listing's booking rate before season and price: a dormant minority, then a spread."""
    dormant = rng.random(n) < 0.17
    return np.where(dormant, rng.uniform(0.0, 0.05, n), rng.beta(1.6, 2.2, n))


def _fallbacks(units: _Units, scores: np.ndarray, hosts: _Hosts) -> dict[str, float]:
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


# --------------------------------------------------------------------------- price terms


def _km_from_midtown(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.hypot((lat - MIDTOWN[0]) * 111.0, (lon - MIDTOWN[1]) * 84.3)


def _location_term(nbhd: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    effect = np.array([r[5] for r in NEIGHBOURHOODS], dtype=float)[nbhd]
    return effect + 45.0 * np.exp(-_km_from_midtown(lat, lon) / 6.0) - 10.0


def _size_capacity_term(units: _Units, fallbacks: dict) -> np.ndarray:
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


def _log_factor(axis: str, dollars: np.ndarray) -> np.ndarray:
    """The multiplicative city's log term of ``axis`` from the additive city's dollar term."""
    return np.log(np.maximum(1.0 + (dollars - REFERENCE_TERMS[axis]) / BASE_PRICE, FACTOR_FLOOR))


def _noise_draws(z: np.ndarray, config: CityConfig, rng: np.random.Generator) -> np.ndarray:
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


def _host_quality(hosts: _Hosts, fallbacks: dict) -> np.ndarray:
    """The host part of quality_reputation (per host)."""
    def seen(rate: np.ndarray, name: str) -> np.ndarray:
        return np.where(rate >= 0, rate / 100, fallbacks[name])

    return (15.0 * (seen(hosts.response_rate, "host_response_rate") - 0.95)
            + 10.0 * (seen(hosts.acceptance_rate, "host_acceptance_rate") - 0.90)
            + 8.0 * (hosts.superhost == "t") + 4.0 * hosts.identity_verified)


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class _PeriodReviews:
    lo: int  # reviews are dated in (lo, hi]
    hi: int
    counts: np.ndarray  # per listing
    listing: np.ndarray  # per review, grouped by listing
    day: np.ndarray


class _ReviewLog:
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
class _Snapshot:
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


def _year_start(day: int, shift: int = 0) -> int:
    """January 1st of the year of ``day``, shifted by ``shift`` years (days since epoch)."""
    year = np.datetime64(int(day), "D").astype("datetime64[Y]") + shift
    return int(year.astype("datetime64[D]").astype(np.int64))


class _Simulation:
    """Walks the periods in time order, yielding a ``_Snapshot`` at each snapshot's scrape date.

    Everything is vectorised over listings; the only Python loop is over the ~24 periods.
    """

    def __init__(self, city: _City, timeline: _Timeline, config: CityConfig,
                 rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        self.city, self.timeline, self.config, self.rng = city, timeline, config, rng
        self.noise_rng = noise_rng  # the Student-t mixing draws (multiplicative city only)
        self.log = _ReviewLog(city.n)
        self.nights: list[np.ndarray] = []  # nights booked per period

    def __iter__(self) -> Iterator[_Snapshot]:
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
                           city.quality_without_scores) + 4.0 * np.log1p(ltm)
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
                 **{axis: _log_factor(axis, dollars[axis]) for axis in AXES}}
        log_clean = np.log(BASE_PRICE) + sum(terms[axis] for axis in AXES)
        monthly = _noise_draws(self.rng.standard_normal(city.n), cfg, self.noise_rng)
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
                  ) -> _Snapshot:
        city, log = self.city, self.log
        present = (city.first_snap <= k) & (k < city.exit_snap)
        present &= self.rng.random(city.n) >= self.config.missed_scrape_rate
        rows = np.flatnonzero(present)
        nights = np.sum(self.nights[-12:], axis=0) if self.nights else np.zeros(city.n)
        return _Snapshot(
            day=day, rows=rows,
            terms={name: values[rows] for name, values in terms.items()},
            total=log.total[rows], ltm=ltm[rows], l30d=log.count(day - 30, day)[rows],
            ly=log.count(_year_start(day, -1) - 1, _year_start(day) - 1)[rows],
            first=log.first[rows], last=log.last[rows],
            nights_l365d=np.minimum(nights[rows], OCCUPANCY_CAP_NIGHTS).astype(np.int64))


# --------------------------------------------------------------------------- CSV text


def _as_arrow(values) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, pa.string())


def _csv_escape(values) -> pa.Array:
    """Quote a text column the way Python's csv module (and Inside Airbnb) does: only if needed."""
    arr = _as_arrow(values)
    needs = pc.match_substring_regex(arr, r'[",\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


def _int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, np.int64)), pa.string())


def _float_text(values: np.ndarray, blank: np.ndarray | None = None, integral: bool = False
                ) -> pa.Array:
    """Shortest round-trip text ("4.6", "5.0", "17640.0"); ``integral`` writes 1.0 as "1"."""
    text = pc.cast(pa.array(np.asarray(values, float)), pa.string())
    if not integral:
        whole = pc.match_substring_regex(text, r"^-?\d+$")
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return text if blank is None else pc.if_else(pa.array(blank), "", text)


def _date_text(days: np.ndarray) -> pa.Array:
    """YYYY-MM-DD; negative days mean "no date" and give an empty field."""
    days = np.asarray(days, np.int64)
    text = pc.cast(pa.array(np.maximum(days, 0).astype(np.int32), pa.date32()), pa.string())
    return pc.if_else(pa.array(days < 0), "", text)


def _percent_text(rate: np.ndarray) -> pa.Array:
    text = pc.binary_join_element_wise(_int_text(rate), "%", "")
    return pc.if_else(pa.array(rate == -1), "N/A", pc.if_else(pa.array(rate == -2), "", text))


def _price_text(dollars: np.ndarray) -> pa.Array:
    """"$95.00", "$1,250.00" (whole dollars below a million)."""
    dollars = np.asarray(dollars, np.int64)
    small = pc.binary_join_element_wise("$", _int_text(dollars), ".00", "")
    big = pc.binary_join_element_wise("$", _int_text(dollars // 1000), ",",
                                      pc.utf8_lpad(_int_text(dollars % 1000), 3, "0"), ".00", "")
    return pc.if_else(pa.array(dollars >= 1000), big, small)


def _hex_uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random UUID-looking strings, as in Airbnb's picture URLs."""
    digits = np.array(list("0123456789abcdef"))
    parts = [np.ascontiguousarray(digits[rng.integers(0, 16, (n, k))]).view(f"<U{k}").ravel()
             .astype(object) for k in (8, 4, 4, 4, 12)]
    return parts[0] + "-" + parts[1] + "-" + parts[2] + "-" + parts[3] + "-" + parts[4]


def _write_csv_gz(path: Path, header: Sequence[str], columns: Sequence[pa.Array], level: int,
                  chunk_rows: int = 200_000) -> None:
    """Write pre-escaped text columns as CSV into a reproducible gzip (mtime 0, fixed name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(columns[0])
    with open(path, "wb") as raw, gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw,
                                                compresslevel=level, mtime=0) as gz:
        gz.write((",".join(header) + "\n").encode())
        for start in range(0, n, chunk_rows):
            part = [c.slice(start, chunk_rows) for c in columns]
            lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*part, ","), "\n", "")
            gz.write(_string_bytes(lines))


def _string_bytes(arr: pa.Array) -> memoryview:
    """The concatenated bytes of a string array, without a Python string per row."""
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset: arr.offset + len(arr) + 1]
    return memoryview(arr.buffers()[2])[offsets[0]: offsets[-1]]


# --------------------------------------------------------------------------- static columns


def _listing_text_columns(ids: np.ndarray, nbhd: np.ndarray, units: _Units, scores: np.ndarray,
                          rng: np.random.Generator) -> dict[str, pa.Array]:
    """Names, descriptions and URLs: short synthetic text with real dumps' HTML, commas, newlines."""
    n = len(ids)
    nbhd_name = np.array([r[0] for r in NEIGHBOURHOODS], dtype=object)[nbhd]
    borough = np.array([r[1] for r in NEIGHBOURHOODS])[nbhd]
    adjective = _pick(rng, NAME_ADJECTIVES, n)
    words = np.array([_pick(rng, w, n) for w in ROOM_WORDS])[units.room, np.arange(n)]
    size = np.where((units.room == 0) & (units.bedrooms >= 1),
                    units.bedrooms.astype(np.int64).astype(str).astype(object) + "BR ",
                    np.where((units.room == 0) & (units.bedrooms == 0), "Studio ", "")).astype(object)
    short_type = np.array([p[0].removeprefix("Entire ").capitalize() for p in PROPERTY_TYPES],
                          dtype=object)[units.ptype]
    listing_card = (short_type + " in " + np.array(BOROUGHS, dtype=object)[borough] + " \u00b7 \u2605"
                    + scores[:, 0].astype(str).astype(object) + " \u00b7 "
                    + _counted(units.bedrooms, "bedroom") + " \u00b7 " + _counted(units.beds, "bed")
                    + " \u00b7 " + units.bath_text())
    landmark = np.array([_pick(rng, w, n) for w in LANDMARKS])[borough, np.arange(n)]
    nickname = _pick(rng, ("Little Gem", "The Nest", "Hideaway", "Oasis", "Sanctuary"), n)
    names = np.stack([
        adjective + " " + words + " in " + nbhd_name,
        adjective + " " + size + words + " near " + landmark,
        adjective + ", " + _pick(rng, NAME_ADJECTIVES, n) + " " + words + " \u2013 " + nbhd_name,
        listing_card,
        '"' + nickname + '" ' + words + " by " + landmark,
        np.char.upper((adjective + " " + words).astype(str)).astype(object) + "!! " + nbhd_name,
    ])
    name = names[rng.choice(len(names), n, p=(.35, .25, .12, .15, .08, .05)), np.arange(n)]
    sentences = [_pick(rng, DESCRIPTION_SENTENCES, n) for _ in range(3)]
    joiner = _pick(rng, ("<br /><br />", " ", "\n"), n, p=(.6, .32, .08))
    description = (sentences[0] + joiner + "Located in " + nbhd_name + ", "
                   + np.array(BOROUGHS, dtype=object)[borough] + "."
                   + joiner + sentences[1]
                   + np.where(rng.random(n) < 0.5, joiner + sentences[2], ""))
    description = np.where(rng.random(n) < 0.02, "", description)
    has_overview = rng.random(n) < 0.55
    overview = nbhd_name + " " + _pick(rng, OVERVIEW_SENTENCES, n) + np.where(
        rng.random(n) < 0.4, "<br /><br />It also " + _pick(rng, OVERVIEW_SENTENCES, n), "")
    id_text = ids.astype(str).astype(object)
    picture = ("https://a0.muscache.com/pictures/miso/Hosting-" + id_text + "/original/"
               + _hex_uuids(rng, n) + ".jpeg")
    registration = "OSE-STRREG-" + np.char.zfill(rng.integers(1, 10**7, n).astype(str), 7).astype(object)
    return {
        "id": _int_text(ids),
        "listing_url": _as_arrow("https://www.airbnb.com/rooms/" + id_text),
        "name": _csv_escape(name),
        "description": _csv_escape(description),
        "neighborhood_overview": _csv_escape(np.where(has_overview, overview, "")),
        "neighbourhood": _as_arrow(np.where(has_overview, "Neighborhood highlights", "")),
        "picture_url": _as_arrow(picture),
        "license": _as_arrow(np.select([rng.random(n) < 0.08, rng.random(n) < 0.06],
                                       [registration, "Exempt"], "")),
    }


def _counted(values: np.ndarray, noun: str) -> np.ndarray:
    """"1 bedroom", "3 beds"."""
    whole = values.astype(np.int64)
    return whole.astype(str).astype(object) + " " + noun + np.where(whole == 1, "", "s").astype(object)


def _unit_columns(units: _Units, column_set: str) -> dict[str, pa.Array]:
    """Property/size columns. 2025 files write 1.0-style numbers and fill ``bathrooms``."""
    integral = column_set == "2024"
    bathrooms = _float_text(units.bath, units.bathrooms_blank) if column_set == "2025" else \
        pa.array([""] * len(units.bath))
    return {
        "property_type": _as_arrow(np.array([p[0] for p in PROPERTY_TYPES], dtype=object)[units.ptype]),
        "room_type": _as_arrow(np.array(ROOM_TYPES, dtype=object)[units.room]),
        "accommodates": _int_text(units.accommodates),
        "bathrooms": bathrooms,
        "bathrooms_text": _as_arrow(units.bath_text()),
        "bedrooms": _float_text(units.bedrooms, units.bedrooms_blank, integral),
        "beds": _float_text(units.beds, units.beds_blank, integral),
    }


def _place_columns(nbhd: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, pa.Array]:
    names = np.array([r[0] for r in NEIGHBOURHOODS], dtype=object)
    boroughs = np.array(BOROUGHS, dtype=object)[np.array([r[1] for r in NEIGHBOURHOODS])]
    return {"neighbourhood_cleansed": _as_arrow(names[nbhd]),
            "neighbourhood_group_cleansed": _as_arrow(boroughs[nbhd]),
            "latitude": _float_text(lat, integral=True), "longitude": _float_text(lon, integral=True)}


def _stay_rule_columns(n: int, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Minimum/maximum nights: NYC's 30-night rule makes 30 the most common minimum."""
    min_n = rng.choice([1, 2, 3, 4, 5, 7, 14, 30, 31, 60, 90], n,
                       p=(.06, .08, .08, .03, .03, .03, .02, .50, .08, .04, .05))
    max_n = rng.choice([30, 60, 90, 120, 180, 365, 730, 1125], n, p=(.03, .04, .06, .05, .07, .30, .10, .35))
    max_n = np.maximum(max_n, min_n)
    max_min = np.where(rng.random(n) < 0.1, min_n + rng.integers(1, 30, n), min_n)
    return {
        "minimum_nights": _int_text(min_n), "maximum_nights": _int_text(max_n),
        "minimum_minimum_nights": _int_text(min_n), "maximum_minimum_nights": _int_text(max_min),
        "minimum_maximum_nights": _int_text(max_n), "maximum_maximum_nights": _int_text(max_n),
        "minimum_nights_avg_ntm": _float_text(np.round((min_n + max_min) / 2, 1)),
        "maximum_nights_avg_ntm": _float_text(max_n.astype(float)),
        "calendar_updated": pa.array([""] * n),
    }


# --------------------------------------------------------------------------- writers


def _write_snapshot(path: Path, city: _City, snap: _Snapshot, config: CityConfig,
                    rng: np.random.Generator) -> pa.Table:
    """Write one listings.csv.gz; return its ground-truth rows (same order)."""
    rows, n = snap.rows, len(snap.rows)
    take = pa.array(rows)
    dollars = np.minimum(np.round(snap.terms["price"]), 999_999).astype(np.int64)
    dirt = rng.random(n)
    blank = dirt < config.blank_price_rate
    zero = (dirt >= config.blank_price_rate) & (dirt < config.blank_price_rate + config.zero_price_rate)
    price = pc.if_else(pa.array(blank), "", _price_text(np.where(zero, 0, dollars)))
    dynamic = {
        "scrape_id": pa.array([_scrape_id(snap.day, rng)] * n, pa.string()),
        "last_scraped": _date_text(np.full(n, snap.day)),
        "calendar_last_scraped": _date_text(np.full(n, snap.day)),
        "source": pa.array(np.where(rng.random(n) < 0.15, "previous scrape", "city scrape")),
        "price": _csv_escape(price),
        **_availability_columns(city.availability_rate[rows], snap.day, rng),
        **_review_columns(city, snap),
        **_host_count_columns(city, rows),
    }
    revenue = snap.nights_l365d.astype(float) * np.where(zero, 0, dollars)
    dynamic["estimated_revenue_l365d"] = _float_text(revenue, blank)
    columns = [dynamic[c] if c in dynamic else city.columns[c].take(take)
               for c in COLUMN_SETS[config.column_set]]
    _write_csv_gz(path, COLUMN_SETS[config.column_set], columns, config.gzip_level)
    return _ground_truth(city, snap, np.where(blank | zero, np.nan, dollars.astype(float)))


def _scrape_id(day: int, rng: np.random.Generator) -> str:
    """Inside Airbnb's scrape id: when the run started (the day before) as YYYYMMDDhhmmss."""
    start = str(np.datetime64(day - 1, "D")).replace("-", "")
    seconds = int(rng.integers(0, 86400))
    return f"{start}{seconds // 3600:02d}{seconds % 3600 // 60:02d}{seconds % 60:02d}"


def _availability_columns(rate: np.ndarray, day: int, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Calendar availability, monotone in the horizon like real calendars."""
    n = len(rate)
    a30 = rng.binomial(30, rate)
    a60 = a30 + rng.binomial(30, rate)
    a90 = a60 + rng.binomial(30, rate)
    a365 = a90 + rng.binomial(275, rate)
    eoy = rng.binomial(_year_start(day, 1) - 1 - day, rate)
    return {"availability_30": _int_text(a30), "availability_60": _int_text(a60),
            "availability_90": _int_text(a90), "availability_365": _int_text(a365),
            "availability_eoy": _int_text(eoy),
            "has_availability": pa.array(np.where((a365 == 0) & (rng.random(n) < 0.5), "", "t"))}


def _review_columns(city: _City, snap: _Snapshot) -> dict[str, pa.Array]:
    """Review counts and dates as of the scrape; scores only once a listing has reviews."""
    none = snap.total == 0
    age = snap.day - snap.first
    per_month = np.where(age <= 30, snap.total, snap.total / ((age + 1) / (365 / 12)))
    scores = city.scores[snap.rows]
    out = {c: _float_text(scores[:, j], none) for j, c in enumerate(SCORE_COLUMNS)}
    out.update({
        "number_of_reviews": _int_text(snap.total), "number_of_reviews_ltm": _int_text(snap.ltm),
        "number_of_reviews_l30d": _int_text(snap.l30d), "number_of_reviews_ly": _int_text(snap.ly),
        "first_review": _date_text(snap.first), "last_review": _date_text(snap.last),
        "reviews_per_month": _float_text(np.round(per_month, 2), none),
        "estimated_occupancy_l365d": _int_text(snap.nights_l365d),
    })
    return out


def _host_count_columns(city: _City, rows: np.ndarray) -> dict[str, pa.Array]:
    """calculated_host_listings_count*: the host's listings in *this* snapshot, by room type."""
    host, room = city.host[rows], city.room[rows]
    size = int(city.host.max()) + 1
    counts = {"": np.bincount(host, minlength=size)}
    for suffix, r in (("_entire_homes", 0), ("_private_rooms", 1), ("_shared_rooms", 2)):
        counts[suffix] = np.bincount(host[room == r], minlength=size)
    return {f"calculated_host_listings_count{s}": _int_text(c[host]) for s, c in counts.items()}


def _ground_truth(city: _City, snap: _Snapshot, written_price: np.ndarray) -> pa.Table:
    n = len(snap.rows)
    month = str(np.datetime64(snap.day, "D").astype("datetime64[M]"))
    boroughs = np.array(BOROUGHS, dtype=object)[city.borough[snap.rows]]
    data = {"listing_id": pa.array(city.id[snap.rows]), "year_month": pa.array([month] * n),
            "snapshot_date": pa.array(np.full(n, snap.day, np.int32), pa.date32()),
            **{k: pa.array(snap.terms[k]) for k in ("bias", *AXES, "noise", "price")},
            "written_price": pa.array(written_price),
            "neighbourhood_group_cleansed": pa.array(boroughs, pa.string())}
    return pa.table(data, schema=GROUND_TRUTH_SCHEMA)


def _write_reviews(path: Path, city: _City, log: _ReviewLog, appeared: np.ndarray,
                   config: CityConfig, rng: np.random.Generator) -> int:
    """reviews.csv.gz for every listing that appears in some snapshot, by listing then date."""
    listing, day = log.reviews()
    keep = appeared[listing]
    listing, day = listing[keep], day[keep]
    n = len(listing)
    by_date = np.argsort(day, kind="stable")
    review_id = np.empty(n, np.int64)
    review_id[by_date] = _ids_from_days(day[by_date], _REVIEW_ID_ANCHORS, rng)
    signup = day - rng.integers(0, 3000, n)  # reviewers' accounts predate their reviews
    by_signup = np.argsort(signup, kind="stable")
    reviewer = np.empty(n, np.int64)
    reviewer[by_signup] = _ids_from_days(signup[by_signup], _USER_ID_ANCHORS, rng)
    order = np.lexsort((review_id, listing))
    comments = _csv_escape([_sentence(o, b) for o in REVIEW_OPENERS for b in REVIEW_BODIES]
                           + list(REVIEW_SPECIALS))
    n_plain = len(REVIEW_OPENERS) * len(REVIEW_BODIES)
    special = rng.random(n) < 0.04
    comment_id = np.where(special, n_plain + rng.integers(0, len(REVIEW_SPECIALS), n),
                          rng.integers(0, n_plain, n))
    names = _csv_escape(list(FIRST_NAMES))
    columns = [_int_text(city.id[listing[order]]), _int_text(review_id[order]),
               _date_text(day[order]), _int_text(reviewer[order]),
               names.take(pa.array(rng.integers(0, len(FIRST_NAMES), n))),
               comments.take(pa.array(comment_id))]
    _write_csv_gz(path, REVIEWS_COLUMNS, columns, config.gzip_level, chunk_rows=500_000)
    return n


def _sentence(opener: str, body: str) -> str:
    """Join two review fragments, capitalising the second after a full stop."""
    return f"{opener} {body[0].upper() + body[1:] if opener[-1] in '.!' else body}"


def _write_manifest(stage: Path, city: _City, config: CityConfig, listing_paths: list[Path],
                    rows: dict[str, int]) -> None:
    """city.json: everything needed to audit the city (no wall-clock times: reproducible bytes)."""
    files = [*listing_paths, stage / "reviews.csv.gz", stage / "ground_truth.parquet"]
    radius = {b: r for b, r in zip(BOROUGHS, BOROUGH_RADIUS_KM)}
    manifest = {
        "generator": "airbnb.synthetic",
        "package_version": airbnb.__version__,
        "config": asdict(config),
        "snapshots": [p.parent.name for p in listing_paths],
        "rows": rows,
        "price_model": config.price_model,
        "formulas": FORMULAS_BY_MODEL[config.price_model],
        "bias": BIAS if config.price_model == "additive" else BASE_PRICE,
        "seasonal_effects": {str(m + 1): v for m, v in enumerate(SEASONAL_EFFECT)},
        "seasonal_demand": {str(m + 1): v for m, v in enumerate(SEASONAL_DEMAND)},
        "room_type_effects": dict(zip(ROOM_TYPES, ROOM_EFFECT)),
        "property_type_effects": {p[0]: p[2] for p in PROPERTY_TYPES},
        "review_score_weights": SCORE_WEIGHTS,
        "neighbourhoods": [{"name": r[0], "borough": BOROUGHS[r[1]], "lat": r[2], "lon": r[3],
                            "radius_km": radius[BOROUGHS[r[1]]], "effect": r[5]}
                           for r in NEIGHBOURHOODS],
        "imputation_fallbacks": city.fallbacks,
        "amenity_values": city.amenity_values,
        "files": [{"path": p.relative_to(stage).as_posix(), "sha256": file_sha256(p)} for p in files],
    }
    if config.price_model == "multiplicative":
        manifest.update({"base_price": BASE_PRICE, "reference_terms": REFERENCE_TERMS,
                         "factor_floor": FACTOR_FLOOR, "noise_t_df": NOISE_T_DF})
    write_json(stage / "city.json", manifest)


# --------------------------------------------------------------------------- CLI


def summarize(files: CityFiles, seconds: float | None = None) -> str:
    """One paragraph: what was written where."""
    manifest = json.loads(files.manifest.read_text())
    rows, cfg = manifest["rows"], manifest["config"]
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    return (f"Wrote a synthetic city to {files.root}{took}: {len(files.listings)} monthly snapshots "
            f"({manifest['snapshots'][0]} .. {manifest['snapshots'][-1]}, column set "
            f"{cfg['column_set']}, {manifest['price_model']} prices) with {rows['listings']:,} "
            f"listing-month rows of {rows['distinct_listings']:,} distinct listings, "
            f"{rows['reviews']:,} reviews in {files.reviews.name}, per-axis price truth in {files.ground_truth.name} and the "
            f"manifest in {files.manifest.name} (seed {cfg['seed']}).")


def main(argv: Sequence[str] | None = None) -> CityFiles:
    defaults = CityConfig()
    parser = argparse.ArgumentParser(prog="python -m airbnb.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_CITY_DIR, help="output directory")
    parser.add_argument("--listings", type=int, default=defaults.n_listings,
                        help="listings active at each snapshot")
    parser.add_argument("--months", type=int, default=defaults.n_months, help="monthly snapshots")
    parser.add_argument("--start-month", default=defaults.start_month, help="YYYY-MM of the first snapshot")
    parser.add_argument("--history-months", type=int, default=defaults.history_months,
                        help="months of reviews simulated before the first snapshot")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--column-set", choices=sorted(COLUMN_SETS), default=defaults.column_set,
                        help="Inside Airbnb column layout to write")
    parser.add_argument("--review-rate", type=float, default=defaults.review_rate,
                        help="probability that a stay leaves a review")
    parser.add_argument("--avg-length-of-stay", type=float, default=defaults.avg_length_of_stay,
                        help="nights per booking")
    parser.add_argument("--price-model", choices=PRICE_MODELS, default=defaults.price_model,
                        help="multiplicative (log-additive factors, heavy-tailed; default) or "
                             "additive (dollar terms, the original city)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    config = CityConfig(n_listings=args.listings, n_months=args.months, start_month=args.start_month,
                        history_months=args.history_months, seed=args.seed,
                        column_set=args.column_set, review_rate=args.review_rate,
                        avg_length_of_stay=args.avg_length_of_stay, price_model=args.price_model)
    started = time.perf_counter()
    files = generate_city(args.out, config, progress=not args.no_progress)
    print(summarize(files, time.perf_counter() - started))
    return files


if __name__ == "__main__":
    main()
