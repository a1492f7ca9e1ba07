"""Grouped K-fold cross-validation: the model and the baselines refitted on every fold's training
listings and scored on its test listings, reported as mean ± sd over the folds.

A small city's test split is a few dozen listings, so one split is noise; here every listing is
tested exactly once. :func:`fit_and_score` (one split's fits and test prices) is shared with the
forward split (:mod:`airbnb.evaluate_forward`), :func:`fit_peers` with a run's own split.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import train
from .artifacts import load_table
from .axis_trees import model_inputs
from .baselines import FittedBaselines, check_names, fit_baselines
from .breakdown import predict_dataset
from .dataset import AirbnbDataset
from .errors import ConfigError
from .evaluate_tables import cold_start_table, month_table
from .evaluate_verdict import MODEL_NAME
from .log import get_logger, quiet
from .metrics import metric_columns, metrics_table
from .training.data import SPLIT_RANDOM_STATE

log = get_logger(__name__)

# What a cross-validation fold's trainings log below a warning: its one fold line says what matters.
FOLD_LOGGERS = ("airbnb.train", "airbnb.training", "airbnb.embeddings", "airbnb.baselines")

@dataclass
class CrossValidation:
    """K folds grouped by listing: every model's test metrics per fold, and their mean and sd."""

    k: int
    folds: pd.DataFrame  # one row per (fold, model): test rows and metric columns
    config: dict  # the training configuration cross-validated
    # every model's metrics per reviews-in-the-last-12-months bucket, over all folds' test rows
    # (each listing is tested once): the new-listing bucket is too small to read fold by fold
    cold_start: pd.DataFrame | None = None
    months: pd.DataFrame | None = None  # likewise per snapshot month (year_month)
    # out of fold: every test row once (listing_id, year_month, fold, target_price, weight) and each
    # model's price for it, priced by the fold's models that never saw the listing (not in to_dict)
    predictions: pd.DataFrame | None = None

    @property
    def mean(self) -> pd.DataFrame:
        return self.folds.groupby("model", sort=False)[metric_columns()].mean()

    @property
    def sd(self) -> pd.DataFrame:
        return self.folds.groupby("model", sort=False)[metric_columns()].std(ddof=1)

    def summary(self, metrics: Sequence[str] = ("mape_weighted", "rmse_weighted", "r2_weighted")) -> pd.DataFrame:
        """``mean ± sd`` per model and metric as text (MAPE in percent), best first by the first metric."""
        mean, sd = self.mean, self.sd
        cells = {m: [_mean_sd(m, a, b) for a, b in zip(mean[m], sd[m])] for m in metrics}
        ascending = not metrics[0].startswith("r2")
        order = mean[metrics[0]].sort_values(ascending=ascending, kind="stable").index
        return pd.DataFrame(cells, index=mean.index).loc[order]

    def to_dict(self) -> dict:
        return {"k": self.k, "grouped_by": "listing_id", "config": self.config,
                "mean": self.mean.to_dict(orient="index"), "sd": self.sd.to_dict(orient="index"),
                "folds": self.folds.to_dict(orient="records"),
                **({"cold_start": self.cold_start.reset_index().to_dict(orient="records")}
                   if self.cold_start is not None else {}),
                **({"months": self.months.reset_index().to_dict(orient="records")} if self.months is not None else {})}


def _mean_sd(metric: str, mean: float, sd: float) -> str:
    if metric.startswith("mape"):
        return f"{100 * mean:.2f}% ± {100 * sd:.2f}"  # two decimals: "within a point" must be readable
    digits = 3 if metric.startswith(("r2", "rmse_log")) else 1
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def cross_validate(config: train.TrainConfig, k: int = 5, table: pd.DataFrame | None = None,
                   baselines: Sequence[str] | None = None, progress: bool = True,
                   num_threads: int | None = None, random_state: int = SPLIT_RANDOM_STATE) -> CrossValidation:
    """K-fold cross-validation grouped by listing of the model (trained with ``config``) and the baselines.

    Each fold holds out 1/K of the listings as its test rows; of the rest, ``config.test_size``
    of all listings validate (early stopping, for the model and the boosters alike) and the
    others train. The split of the run itself (``holdout_size``) is not used: every listing is
    tested exactly once. ``random_state`` draws the fold assignment (another one tells a gap
    between two learners from the luck of one assignment: ``benchmarks/fold_assignments.py``).
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ConfigError(f"cv must be an integer >= 2 (the number of folds), got {k!r}")
    check_names(baselines)
    table = (load_table(config.data_path, config.cities) if table is None else table).reset_index(drop=True)
    folds = train.cv_splits(table["listing_id"], k, config.test_size, random_state)
    rows, tested = [], []  # per fold: metric rows, and (test rows, each model's prices)
    with tempfile.TemporaryDirectory(prefix="airbnb-cv-") as work:
        for fold, splits in enumerate(tqdm(folds, desc="cross-validation folds", unit="fold", disable=not progress)):
            started = time.perf_counter()
            with quiet(*FOLD_LOGGERS):  # a fold's trainings in one line, below
                test, prices, _ = fit_and_score(config, table, splits, Path(work) / f"fold-{fold}", baselines,
                                                num_threads)
            y, w = test["target_price"].to_numpy(), test["estimated_occupancy_rate"].to_numpy()
            scores = metrics_table(y, prices, w)
            tested.append((test, prices))
            for model, values in scores.iterrows():
                rows.append({"fold": fold, "model": model, "test_rows": len(y), **values.to_dict()})
            log.info("fold %d/%d: %d test rows, weighted MAPE %s (%.0fs)", fold + 1, k, len(y),
                     ", ".join(f"{m} {100 * v:.1f}%" for m, v in scores["mape_weighted"].items()),
                     time.perf_counter() - started)
    pooled = pd.concat([r for r, _ in tested], ignore_index=True)
    prices = {m: np.concatenate([p[m] for _, p in tested]) for m in tested[0][1]}
    folds_of = np.repeat(np.arange(k), [len(r) for r, _ in tested])
    predictions = pooled[["listing_id", "year_month", "target_price", "estimated_occupancy_rate"]].assign(
        fold=folds_of, **prices)
    return CrossValidation(k, pd.DataFrame(rows), dataclasses.asdict(config), cold_start_table(pooled, prices),
                           month_table(pooled, prices), predictions)


def fit_and_score(config: train.TrainConfig, table: pd.DataFrame, splits: pd.Series, output_dir: Path,
                  baselines: Sequence[str] | None, num_threads: int | None = None
                  ) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """Train the model (``config``) and the baselines on ``splits``' train rows, early-stopped on its
    validation rows; returns the test rows, each model's prices for them and what each baseline's
    fit chose (with its fit time)."""
    # a smoke test keeps its one epoch but not its row cap: every test row must be priced
    run_config = dataclasses.replace(config, output_dir=str(output_dir), progress=False, holdout_size=0.0,
                                     resume="", tracking=False, smoke_test=False, epochs=config.epochs_to_run)
    data = train.prepare(run_config, table, splits)
    result = train.train(run_config, data=data)
    parts = {s: table[splits == s].reset_index(drop=True) for s in ("train", "validation", "test")}
    test = AirbnbDataset(model_inputs(data.processor, data.trees, parts["test"]), embedder=data.embedder)
    prices = {MODEL_NAME: predict_dataset(result.model, test)["predicted_price"].to_numpy()}
    fitted = fit_peers(parts["train"], parts["validation"], baselines, config.seed, num_threads)
    if fitted is None:
        return parts["test"], prices, {}
    prices.update(fitted.predict(parts["test"]))
    return parts["test"], prices, fitted.details()


def fit_peers(train_rows: pd.DataFrame, validation_rows: pd.DataFrame, names: Sequence[str] | None,
              seed: int, num_threads: int | None = None) -> FittedBaselines | None:
    """The baselines on the training rows, early-stopped on the validation rows (None: none asked)."""
    if names is not None and not len(names):
        return None
    return fit_baselines(train_rows, validation_rows if len(validation_rows) else None, names, seed,
                         num_threads=num_threads)
