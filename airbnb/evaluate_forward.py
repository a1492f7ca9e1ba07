"""A test of time on a panel: the model and the baselines trained on the snapshots up to a month
and tested on the later ones (tomorrow's prices from today's table), with the error per test month.
Cross-validation (:mod:`airbnb.evaluate_cv`) tests listings; this tests time.
"""
from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import train
from .artifacts import load_table
from .baselines import check_names
from .errors import ConfigError
from .evaluate_config import check_month
from .evaluate_cv import fit_and_score
from .evaluate_tables import month_table
from .metrics import metrics_table


@dataclass
class ForwardValidation:
    """Trained on the snapshots up to ``until``, tested on the later ones: every model's metrics
    over the test rows and per test month."""

    until: str
    metrics: pd.DataFrame  # one row per model
    months: pd.DataFrame  # rows: (model, year_month)
    rows: dict  # rows per split
    config: dict
    baselines: dict  # what each baseline's fit chose (iterations, alpha) and its fit time

    def to_dict(self) -> dict:
        return {"until": self.until, "rows": self.rows, "config": self.config, "baselines": self.baselines,
                "metrics": self.metrics.to_dict(orient="index"),
                "months": self.months.reset_index().to_dict(orient="records")}



def forward_splits(table: pd.DataFrame, until: str, test_size: float) -> pd.Series:
    """Per row 'test' after the month ``until`` (``YYYY-MM``); the earlier rows 'train' or
    'validation' (``test_size`` of their listings, for early stopping), grouped by listing."""
    check_month(until)
    later = (table["year_month"] > until).to_numpy()
    if later.all() or not later.any():
        months = sorted(table["year_month"].unique())
        raise ConfigError(f"until={until} leaves no {'training' if later.all() else 'test'} rows: the table's "
                          f"months are {months[0]} to {months[-1]}; choose a month between")
    split = pd.Series("test", index=table.index, name="split", dtype=object)
    split[~later] = train.split_listings(table.loc[~later, "listing_id"], test_size, 0.0).to_numpy()
    return split


def forward_validate(config: train.TrainConfig, until: str, table: pd.DataFrame | None = None,
                     baselines: Sequence[str] | None = None, num_threads: int | None = None) -> ForwardValidation:
    """Train the model (``config``) and the baselines on the rows up to ``until`` and score them on
    the later rows (:func:`forward_splits`): a test of time, where cross-validation tests listings.
    The test months' seasonality is learned only if earlier years covered those months.
    ``num_threads`` as in :func:`~airbnb.evaluate_cv.cross_validate`."""
    check_names(baselines)
    table = (load_table(config.data_path, config.cities) if table is None else table).reset_index(drop=True)
    splits = forward_splits(table, until, config.test_size)
    with tempfile.TemporaryDirectory(prefix="airbnb-forward-") as work:
        test, prices, fitted = fit_and_score(config, table, splits, Path(work), baselines, num_threads)
    y, w = test["target_price"].to_numpy(), test["estimated_occupancy_rate"].to_numpy()
    return ForwardValidation(until, metrics_table(y, prices, w), month_table(test, prices),
                             {k: int(v) for k, v in splits.value_counts().items()}, dataclasses.asdict(config), fitted)

