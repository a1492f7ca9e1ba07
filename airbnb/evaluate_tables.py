"""Every model's error per bucket of listings: per reviews-in-the-last-12-months bucket (the cold
start: new listings have none) and per snapshot month (a panel's test months), and the per-month
table as people read it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bucket_metrics, review_buckets


def _per_bucket(rows: pd.DataFrame, prices: dict[str, np.ndarray], buckets: pd.Series) -> pd.DataFrame:
    """Each model's metrics (rows: model, bucket) per value of ``buckets``."""
    y, w = rows["target_price"].to_numpy(), rows["estimated_occupancy_rate"].to_numpy()
    return pd.concat({m: bucket_metrics(y, p, w, buckets) for m, p in prices.items()}, names=["model"])


def cold_start_table(rows: pd.DataFrame, prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Each model's metrics (rows: model, bucket) per bucket of reviews in the last 12 months."""
    return _per_bucket(rows, prices, review_buckets(rows["number_of_reviews_ltm"]))


def month_table(rows: pd.DataFrame, prices: dict[str, np.ndarray]) -> pd.DataFrame:
    """Each model's metrics (rows: model, year_month) per snapshot month of ``rows``."""
    return _per_bucket(rows, prices, rows["year_month"])


def month_summary(months: pd.DataFrame, metric: str = "mape_weighted") -> pd.DataFrame:
    """A :func:`month_table` for people: one row per model (in its order), one column per month
    labelled with its rows ("2025-10 (346 rows)"), ``metric`` rounded (MAPE in percent)."""
    values = months[metric].unstack("year_month").reindex(months.index.unique("model"))
    rows = months["n_rows"].groupby("year_month").first()
    values.columns = [f"{month} ({rows[month]} rows)" for month in values.columns]
    return (values * 100).round(1) if metric.startswith("mape") else values.round(3)

