"""The city's files: one listings.csv.gz per snapshot (with its ground-truth rows), reviews.csv.gz
and the city.json manifest."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airbnb import __version__
from airbnb.axes import AXES
from airbnb.io import file_sha256, write_json
from airbnb.schema import ROOM_TYPES

from .catalogues import (BOROUGH_RADIUS_KM, BOROUGHS, FIRST_NAMES, NEIGHBOURHOODS, PROPERTY_TYPES,
                         REVIEW_BODIES, REVIEW_OPENERS, REVIEW_SPECIALS)
from .formats import (COLUMN_SETS, REVIEWS_COLUMNS, SCORE_COLUMNS, csv_escape, date_text, float_text,
                      int_text, price_text, write_csv_gz)
from .timeline import REVIEW_ID_ANCHORS, USER_ID_ANCHORS, ids_from_days, year_start
from .truth import (BASE_PRICE, BIAS, FACTOR_FLOOR, GROUND_TRUTH_SCHEMA, NOISE_T_DF, formulas,
                    REFERENCE_TERMS, ROOM_EFFECT, SCORE_WEIGHTS, SEASONAL_DEMAND, SEASONAL_EFFECT)

if TYPE_CHECKING:
    from .city import City
    from .config import CityConfig
    from .simulation import ReviewLog, Snapshot


def write_snapshot(path: Path, city: City, snap: Snapshot, config: CityConfig,
                   rng: np.random.Generator) -> pa.Table:
    """Write one listings.csv.gz; return its ground-truth rows (same order)."""
    rows, n = snap.rows, len(snap.rows)
    take = pa.array(rows)
    dollars = np.minimum(np.round(snap.terms["price"]), 999_999).astype(np.int64)
    dirt = rng.random(n)
    blank = dirt < config.blank_price_rate
    zero = (dirt >= config.blank_price_rate) & (dirt < config.blank_price_rate + config.zero_price_rate)
    price = pc.if_else(pa.array(blank), "", price_text(np.where(zero, 0, dollars)))
    dynamic = {
        "scrape_id": pa.array([_scrape_id(snap.day, rng)] * n, pa.string()),
        "last_scraped": date_text(np.full(n, snap.day)),
        "calendar_last_scraped": date_text(np.full(n, snap.day)),
        "source": pa.array(np.where(rng.random(n) < 0.15, "previous scrape", "city scrape")),
        "price": csv_escape(price),
        **_availability_columns(city.availability_rate[rows], snap.day, rng),
        **_review_columns(city, snap),
        **_host_count_columns(city, rows),
    }
    revenue = snap.nights_l365d.astype(float) * np.where(zero, 0, dollars)
    dynamic["estimated_revenue_l365d"] = float_text(revenue, blank)
    columns = [dynamic[c] if c in dynamic else city.columns[c].take(take)
               for c in COLUMN_SETS[config.column_set]]
    write_csv_gz(path, COLUMN_SETS[config.column_set], columns, config.gzip_level)
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
    eoy = rng.binomial(year_start(day, 1) - 1 - day, rate)
    return {"availability_30": int_text(a30), "availability_60": int_text(a60),
            "availability_90": int_text(a90), "availability_365": int_text(a365),
            "availability_eoy": int_text(eoy),
            "has_availability": pa.array(np.where((a365 == 0) & (rng.random(n) < 0.5), "", "t"))}


def _review_columns(city: City, snap: Snapshot) -> dict[str, pa.Array]:
    """Review counts and dates as of the scrape; scores only once a listing has reviews."""
    none = snap.total == 0
    age = snap.day - snap.first
    per_month = np.where(age <= 30, snap.total, snap.total / ((age + 1) / (365 / 12)))
    scores = city.scores[snap.rows]
    out = {c: float_text(scores[:, j], none) for j, c in enumerate(SCORE_COLUMNS)}
    out.update({
        "number_of_reviews": int_text(snap.total), "number_of_reviews_ltm": int_text(snap.ltm),
        "number_of_reviews_l30d": int_text(snap.l30d), "number_of_reviews_ly": int_text(snap.ly),
        "first_review": date_text(snap.first), "last_review": date_text(snap.last),
        "reviews_per_month": float_text(np.round(per_month, 2), none),
        "estimated_occupancy_l365d": int_text(snap.nights_l365d),
    })
    return out


def _host_count_columns(city: City, rows: np.ndarray) -> dict[str, pa.Array]:
    """calculated_host_listings_count*: the host's listings in *this* snapshot, by room type."""
    host, room = city.host[rows], city.room[rows]
    size = int(city.host.max()) + 1
    counts = {"": np.bincount(host, minlength=size)}
    for suffix, r in (("_entire_homes", 0), ("_private_rooms", 1), ("_shared_rooms", 2)):
        counts[suffix] = np.bincount(host[room == r], minlength=size)
    return {f"calculated_host_listings_count{s}": int_text(c[host]) for s, c in counts.items()}


def _ground_truth(city: City, snap: Snapshot, written_price: np.ndarray) -> pa.Table:
    n = len(snap.rows)
    month = str(np.datetime64(snap.day, "D").astype("datetime64[M]"))
    boroughs = np.array(BOROUGHS, dtype=object)[city.borough[snap.rows]]
    data = {"listing_id": pa.array(city.id[snap.rows]), "year_month": pa.array([month] * n),
            "snapshot_date": pa.array(np.full(n, snap.day, np.int32), pa.date32()),
            **{k: pa.array(snap.terms[k]) for k in ("bias", *AXES, "noise", "price")},
            "written_price": pa.array(written_price),
            "neighbourhood_group_cleansed": pa.array(boroughs, pa.string())}
    return pa.table(data, schema=GROUND_TRUTH_SCHEMA)


def write_reviews(path: Path, city: City, log: ReviewLog, appeared: np.ndarray,
                  config: CityConfig, rng: np.random.Generator) -> int:
    """reviews.csv.gz for every listing that appears in some snapshot, by listing then date."""
    listing, day = log.reviews()
    keep = appeared[listing]
    listing, day = listing[keep], day[keep]
    n = len(listing)
    by_date = np.argsort(day, kind="stable")
    review_id = np.empty(n, np.int64)
    review_id[by_date] = ids_from_days(day[by_date], REVIEW_ID_ANCHORS, rng)
    signup = day - rng.integers(0, 3000, n)  # reviewers' accounts predate their reviews
    by_signup = np.argsort(signup, kind="stable")
    reviewer = np.empty(n, np.int64)
    reviewer[by_signup] = ids_from_days(signup[by_signup], USER_ID_ANCHORS, rng)
    order = np.lexsort((review_id, listing))
    comments = csv_escape([_sentence(o, b) for o in REVIEW_OPENERS for b in REVIEW_BODIES]
                          + list(REVIEW_SPECIALS))
    n_plain = len(REVIEW_OPENERS) * len(REVIEW_BODIES)
    special = rng.random(n) < 0.04
    comment_id = np.where(special, n_plain + rng.integers(0, len(REVIEW_SPECIALS), n),
                          rng.integers(0, n_plain, n))
    names = csv_escape(list(FIRST_NAMES))
    columns = [int_text(city.id[listing[order]]), int_text(review_id[order]),
               date_text(day[order]), int_text(reviewer[order]),
               names.take(pa.array(rng.integers(0, len(FIRST_NAMES), n))),
               comments.take(pa.array(comment_id))]
    write_csv_gz(path, REVIEWS_COLUMNS, columns, config.gzip_level, chunk_rows=500_000)
    return n


def _sentence(opener: str, body: str) -> str:
    """Join two review fragments, capitalising the second after a full stop."""
    return f"{opener} {body[0].upper() + body[1:] if opener[-1] in '.!' else body}"


def write_manifest(stage: Path, city: City, config: CityConfig, listing_paths: list[Path],
                   rows: dict[str, int]) -> None:
    """city.json: everything needed to audit the city (no wall-clock times: reproducible bytes)."""
    files = [*listing_paths, stage / "reviews.csv.gz", stage / "ground_truth.parquet"]
    radius = {b: r for b, r in zip(BOROUGHS, BOROUGH_RADIUS_KM)}
    manifest = {
        "generator": "airbnb.synthetic",
        "package_version": __version__,
        "config": asdict(config),
        "snapshots": [p.parent.name for p in listing_paths],
        "rows": rows,
        "price_model": config.price_model,
        "formulas": formulas(config),
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
