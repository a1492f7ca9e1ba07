"""The pandas engine's steps over a city's rows: keep the rows with a key, the latest scrape per
listing-month, a valid price, a possible size and place; mask impossible values; fill the
amenities of reduced scrapes; impute.

The imputation (:func:`fit_fill_values`, :func:`impute`) is also prediction's and the feature
processor's; the Spark engine shares the rules (:func:`fill_values_from`, :func:`far_from_city`,
:func:`reduced_scrapes_record`) and runs the steps its own way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..log import get_logger
from ..schema import (DOMAINS, MEAN_IMPUTED, MEDIAN_IMPUTED, RATE_COLUMNS, REVIEW_SCORE_COLUMNS, ROW_KEY,
                      domain_violations)
from .config import ESSENTIAL_COLUMNS, Summary
from .parsing import parse_keys, parse_numeric, parse_prices

log = get_logger(__package__)


def maskable(columns) -> list[str]:
    """Those of ``columns`` whose impossible values become missing: each with a domain but the
    essentials (a row with an impossible one is dropped instead)."""
    return [c for c in DOMAINS if c in columns and c not in ESSENTIAL_COLUMNS]


def mask_impossible(out: pd.DataFrame, issues: dict) -> pd.DataFrame:
    """Impossible values (:data:`schema.DOMAINS`) of the non-essential columns become missing.

    A 200-bedroom flat or a 7-star score is a data error, not a fact to learn from: it is imputed
    like a missing value (counted as ``<column>_impossible``). Impossible essentials (size, place)
    are left for the caller: the ETL drops those rows, as it drops rows missing them.
    """
    columns = maskable(out.columns)
    found = domain_violations(out[columns].reset_index(drop=True))
    for col in columns:
        rows = found.loc[found["column"] == col, "row"].to_numpy()
        issues[f"{col}_impossible"] = len(rows)
        if len(rows):
            out[col] = out[col].mask(np.isin(np.arange(len(out)), rows))
    for col, bad in found.groupby("column", sort=False):
        log.warning("%d impossible %s value(s) set missing, e.g. %s (allowed %s)", len(bad), col,
                    bad["value"].iloc[0], bad["allowed"].iloc[0])
    return out

NO_AMENITIES = "[]"


def reduced_files(amenities: pd.Series, files: pd.Series) -> list[int]:
    """The files (``_file`` labels) of a reduced scrape: not one row with an amenity.

    Inside Airbnb sometimes publishes a snapshot without amenities, description or bedrooms
    (Albany 2024-01-06). Read as written, each of its listings would have no amenities at all."""
    has_any = (amenities != NO_AMENITIES).groupby(files.to_numpy()).any()
    return sorted(int(f) for f in has_any.index[~has_any.to_numpy()])


def reduced_scrapes_record(paths: Sequence[Path], reduced: Sequence[int], rows: dict, imputed: dict) -> dict:
    """The summary's ``reduced_scrapes`` (logged): per reduced file, its rows and how many got amenities."""
    record = {str(paths[f]): {"column": "amenities", "rows": int(rows.get(f, 0)), "imputed": int(imputed.get(f, 0))}
              for f in reduced}
    log.info("reduced scrape(s), amenities taken from the listing's other snapshots: %s", record)
    return record


def fill_reduced_scrapes(df: pd.DataFrame, paths: Sequence[Path]) -> tuple[pd.Series, dict]:
    """``amenities`` with a reduced scrape's (:func:`reduced_files`) taken from the same listing's
    nearest earlier snapshot, else its nearest later one; a listing seen only there keeps ``[]``.
    Returns the column and the summary's ``reduced_scrapes``. The snapshot's prices and other
    columns stay: its rows are not dropped."""
    reduced = reduced_files(df["amenities"], df["_file"])
    if not reduced:
        return df["amenities"], {}
    in_reduced = df["_file"].isin(reduced)
    order = df.sort_values(["listing_id", "snapshot_date"], kind="stable").index
    known = df["amenities"].mask(in_reduced).loc[order]
    by_listing = known.groupby(df.loc[order, "listing_id"].to_numpy())
    filled = known.fillna(by_listing.ffill()).fillna(by_listing.bfill()).reindex(df.index)
    imputed = in_reduced & filled.notna()
    record = reduced_scrapes_record(paths, reduced, df.loc[in_reduced, "_file"].value_counts().to_dict(),
                                    df.loc[imputed, "_file"].value_counts().to_dict())
    return filled.fillna(NO_AMENITIES), record

# What a column gets when it has no value at all (some dumps carry host_response_rate as "N/A"
# throughout): a typical listing's value. Constant over the table, it carries nothing a model could
# learn from, so it biases nothing; the summary records it as "neutral".
NEUTRAL_FILL = {**dict.fromkeys(REVIEW_SCORE_COLUMNS, 4.8), **dict.fromkeys(RATE_COLUMNS, 0.95),
                "bedrooms": 1.0, "beds": 1.0, "bathrooms_numeric": 1.0}


def fit_fill_values(df: pd.DataFrame) -> dict[str, float]:
    """Medians for counts, means for scores and rates (SPEC §3.1), learned from ``df``."""
    return fill_values_from({c: float(df[c].median()) for c in MEDIAN_IMPUTED},
                            {c: float(df[c].mean()) for c in MEAN_IMPUTED})


def fill_values_from(medians: dict[str, float | None], means: dict[str, float | None]) -> dict[str, float]:
    """The fill values from the columns' medians and means (None or NaN: the column has no value)."""
    values = {**medians, **means}
    values["number_of_reviews_ltm"] = 0.0  # a listing without the count has no recent reviews
    for col, value in values.items():
        if value is None or np.isnan(value):
            values[col] = NEUTRAL_FILL[col]
            log.warning("column '%s' has no values at all: every row gets the neutral %g", col, values[col])
    return values


def imputation_record(col: str, value: float, n_imputed: int, n_rows: int) -> dict:
    """The summary's record of one imputed column."""
    method = ("neutral" if n_imputed and n_imputed == n_rows and col in NEUTRAL_FILL else "median"
              if col in MEDIAN_IMPUTED else "mean" if col in MEAN_IMPUTED else "zero")
    return {"method": method, "value": value, "n_imputed": n_imputed}


def impute(df: pd.DataFrame, fill_values: dict[str, float], report: dict | None = None) -> pd.DataFrame:
    """Fill missing values with ``fill_values``; record how many were filled per column."""
    for col, value in fill_values.items():
        n = int(df[col].isna().sum())
        df[col] = df[col].fillna(value)
        if report is not None:
            report[col] = imputation_record(col, value, n, len(df))
    return df


# A listing further from the bulk of its file's listings than FAR_IQRS interquartile ranges, and at
# least FAR_DEGREES (about 111 km of latitude), in latitude or longitude is not in that city: a
# typo, swapped coordinates, 0,0. Generous on purpose: a region such as Hawaii or Ireland keeps
# every listing, a city its suburbs.
FAR_IQRS, FAR_DEGREES = 10.0, 1.0
FAR_FROM_CITY = "far_from_city"  # the possible_values step's reason for such a row


def far_from_city(keyed: pd.DataFrame, files: pd.Series | None = None) -> np.ndarray:
    """Per row of ``keyed`` (the rows whose key parses), whether its coordinates lie far outside the
    bulk of its listings file's (``files``: each row's file; None: one file): further from the
    file's median than FAR_IQRS times its interquartile range and FAR_DEGREES. Only possible
    coordinates count, and are judged (an impossible one is counted as such)."""
    files = pd.Series(0, index=keyed.index) if files is None else files
    far = np.zeros(len(keyed), dtype=bool)
    for column in ("latitude", "longitude") if len(keyed) else ():
        value = parse_numeric(keyed[column])
        value = value.mask(DOMAINS[column].violates(value))
        quartiles = value.groupby(files).quantile([0.25, 0.5, 0.75]).unstack()
        low, median, high = (quartiles[q].reindex(files).to_numpy() for q in (0.25, 0.5, 0.75))
        far |= (np.abs(value.to_numpy() - median) > np.maximum(FAR_IQRS * (high - low), FAR_DEGREES))
    return far


def keep_parsed_keys(raw: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """The rows whose key parses, with ``_far`` (:func:`far_from_city`, judged by their file)."""
    df, reasons = parse_keys(raw)
    summary.step("parse_keys", len(raw), len(df), {k: v.sum() for k, v in reasons.items()})
    return df.assign(_far=far_from_city(df, df["_file"]))


def keep_latest_per_month(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """Each listing-month's latest scrape (same day: the later file's)."""
    ordered = df.sort_values([*ROW_KEY, "snapshot_date", "_file"], kind="stable")
    out = ordered.drop_duplicates(ROW_KEY, keep="last")
    summary.step("latest_scrape_per_month", len(df), len(out), {"older_scrape_same_month": len(df) - len(out)})
    return out


def keep_valid_price(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """The rows with a positive, possible price, as ``target_price`` (:func:`parse_prices`)."""
    price, reasons = parse_prices(df["price"])
    keep = price > 0
    summary.parse_issues["price_unparseable"] = int(reasons["unparseable_price"].sum())
    out = df[keep].copy()
    out["target_price"] = price[keep]
    summary.step("valid_price", len(df), len(out), {k: v.sum() for k, v in reasons.items()})
    return out


def keep_essential(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """The rows with every essential input (a size and a place): those cannot be guessed."""
    missing = {f"missing_{c}": df[c].isna() for c in ESSENTIAL_COLUMNS}
    keep = ~np.logical_or.reduce(list(missing.values()))
    out = df[keep]
    summary.step("essential_inputs", len(df), len(out), {k: v.sum() for k, v in missing.items()})
    return out


def keep_possible(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """Drop rows whose size or place is impossible (0 guests, latitude 412): like a missing one, it
    cannot be guessed; and rows far from their city (``_far``). Each dropped row is counted once,
    under its first impossible column (by name), else as FAR_FROM_CITY."""
    found = domain_violations(df[ESSENTIAL_COLUMNS].reset_index(drop=True)).drop_duplicates("row")
    impossible = np.isin(np.arange(len(df)), found["row"])
    far = df["_far"].to_numpy() & ~impossible
    counts = found["column"].value_counts()
    summary.step("possible_values", len(df), int((~impossible & ~far).sum()),
                 {**{f"impossible_{c}": counts.get(c, 0) for c in ESSENTIAL_COLUMNS}, FAR_FROM_CITY: far.sum()})
    return df[~impossible & ~far]
