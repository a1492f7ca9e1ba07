"""A training run scored on its own split: the model and the baselines (fitted on the very same
training rows with the same occupancy weights, early-stopped on the same validation rows) on the
held-out test rows, overall (:mod:`airbnb.metrics`), per bucket and per reviews bucket, with the
calibrated ranges' coverage; and the learned year curve (:func:`month_effects`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import conformal
from .artifacts import METRICS, SPLITS, load_table, read_splits, table_digest
from .axis_trees import model_inputs
from .breakdown import predict_dataset
from .dataset import AirbnbDataset
from .errors import ConfigError
from .etl import summary_path
from .evaluate_config import EvaluateConfig
from .evaluate_cv import CrossValidation, fit_peers
from .evaluate_tables import cold_start_table
from .evaluate_verdict import MODEL_NAME
from .io import read_json, write_json
from .log import get_logger
from .metrics import bucket_metrics, metrics_table, price_deciles, split_intervals
from .predict import PricePredictor
from .schema import CITY, ROW_KEY, TABLE_COLUMNS

log = get_logger(__name__)


def month_effects(predictor: PricePredictor, rows: pd.DataFrame) -> pd.DataFrame:
    """Per month 1-12, the seasonality axis's occupancy-weighted mean dollars over ``rows`` priced
    in that month as of the training rows' latest month (no year trend), per ensemble member:
    ``effect`` is the members' mean, ``sd`` their spread (the uncertainty the ensemble shows; 0
    for one member), ``seen`` whether training covered the month (else its effect is 0)."""
    months = np.arange(1, 13)
    repeated = rows.loc[rows.index.repeat(12), TABLE_COLUMNS].drop(columns="year_month")
    repeated["month"] = np.tile(months, len(rows))
    dataset = AirbnbDataset(model_inputs(predictor.processor, predictor.trees, repeated), embedder=predictor.embedder)
    weight = np.tile(rows["estimated_occupancy_rate"].to_numpy(np.float64), 12).reshape(len(rows), 12)
    per_member = []
    for member in getattr(predictor.model, "members", [predictor.model]):
        dollars = predict_dataset(member, dataset)["seasonality"].to_numpy().reshape(len(rows), 12)
        per_member.append((dollars * weight).sum(axis=0) / weight.sum(axis=0))
    per_member = np.array(per_member)
    return pd.DataFrame({"month": months, "effect": per_member.mean(axis=0),
                         "sd": per_member.std(axis=0, ddof=1) if len(per_member) > 1 else 0.0,
                         "seen": predictor.processor.month_seen(months)})


@dataclass
class Evaluation:
    """A trained model and the baselines scored on one split of the table it was trained on."""

    split: str
    rows: pd.DataFrame  # the evaluated table rows (SPEC §3.1 columns)
    predictions: pd.DataFrame  # aligned with rows: each model's price and the model's breakdown
    metrics: pd.DataFrame  # one row per model, flat metric columns (see metric_columns)
    buckets: dict[str, pd.DataFrame]  # the additive model's metrics per bucket
    cold_start: pd.DataFrame  # every model's metrics per reviews-in-the-last-12-months bucket (0, 1-4, 5+)
    predictor: PricePredictor
    data: dict
    baselines: dict  # what each baseline's fit chose (iterations, alpha) and its fit time
    cv: CrossValidation | None = None
    price_range: dict = field(default_factory=dict)  # the calibrated ranges' achieved coverage on this split
    # how far this split's figures move with which listings fall into it (metrics.split_intervals)
    intervals: dict = field(default_factory=dict)

    def explained(self) -> pd.DataFrame:
        """Rows with their predictions and dollar breakdown (the raw amenity list, whose name the
        amenities axis takes, is left out)."""
        return self.rows.drop(columns=["amenities"]).join(self.predictions)

    def examples(self, n: int = 4, seed: int = 0) -> pd.DataFrame:
        """A few evaluated listing-months of distinct listings, to explain."""
        one_each = self.explained().drop_duplicates("listing_id")
        return one_each.sample(min(n, len(one_each)), random_state=seed)

    def month_profile(self, row: pd.Series) -> pd.DataFrame:
        """That listing-month (an :meth:`examples` row) priced for each month of the year at the latest
        year's level, as ``predict`` and the explorer price a month (an older snapshot's own level
        would mix its year into the months)."""
        return self.predictor.predict_months(self.rows.loc[[row.name], TABLE_COLUMNS].drop(columns="year_month"))

    def month_effects(self) -> pd.DataFrame:
        """The learned year curve: :func:`month_effects` of the evaluated rows."""
        return month_effects(self.predictor, self.rows)

    def to_dict(self) -> dict:
        return {
            "split": self.split,
            "rows": len(self.rows),
            "listings": int(self.rows["listing_id"].nunique()),
            "data": self.data,
            "models": self.metrics.to_dict(orient="index"),
            "baselines": self.baselines,
            "buckets": {name: table.reset_index().to_dict(orient="records") for name, table in self.buckets.items()},
            "cold_start": self.cold_start.reset_index().to_dict(orient="records"),
            "price_range": self.price_range,
            "intervals": self.intervals,
            **({"cv": self.cv.to_dict()} if self.cv is not None else {}),
        }


def evaluate_run(artifacts_dir: str | Path, data_path: str | Path | None = None, split: str = EvaluateConfig.split,
                 baselines: Sequence[str] | None = None, seed: int = EvaluateConfig.seed,
                 cache_dir: str | Path | None = None) -> Evaluation:
    """Score a training run's model and the baselines on ``split`` ('test' by default).

    The table is the one the model was trained on (``data_path`` overrides it) and the split is
    the one training recorded in ``splits.parquet``: the baselines train on the very same
    'train' rows with the same occupancy weights and early-stop on the same 'validation' rows;
    the test rows were never used for fitting or model selection.
    """
    artifacts_dir = Path(artifacts_dir)
    predictor = PricePredictor.load(artifacts_dir, cache_dir)
    data_path = Path(data_path or predictor.config["data"]["path"])
    cities = predictor.config["train_config"].get("cities", [])  # the cities the run trained on
    table = load_table(data_path, cities).merge(read_splits(artifacts_dir), on=ROW_KEY, how="inner")
    digest = table_digest(data_path)
    if digest != predictor.config["data"]["sha256"]:
        log.warning("%s changed since training (sha256 differs): the split covers only rows present in both",
                    data_path)
    if not (table["split"] == split).any():
        raise ConfigError(f"no '{split}' rows in {artifacts_dir / SPLITS}"
                         + (" (trained with holdout_size=0: use split='validation')" if split == "test" else ""))
    parts = {s: table[table["split"] == s].drop(columns="split").reset_index(drop=True)
             for s in ("train", "validation", split)}
    rows = parts[split]
    predictions = (predictor.predict_table(rows).drop(columns=["listing_id", "month"])
                   .rename(columns={"recommended_price": "predicted_price"}))
    prices = {MODEL_NAME: predictions["predicted_price"].to_numpy()}
    fitted = fit_peers(parts["train"], parts["validation"], baselines, seed)
    if fitted is not None:
        for name, values in fitted.predict(rows).items():
            prices[name] = predictions[f"{name}_price"] = values
    y, w = rows["target_price"].to_numpy(), rows["estimated_occupancy_rate"].to_numpy()
    return Evaluation(
        split=split, rows=rows, predictions=predictions, metrics=metrics_table(y, prices, w),
        buckets={name: bucket_metrics(y, predictions["predicted_price"], w, values.rename(name))
                 for name, values in _buckets(rows, data_path).items()},
        cold_start=cold_start_table(rows, prices),
        predictor=predictor,
        data={"path": str(data_path), "sha256": digest, "artifacts": str(artifacts_dir),
              "months_covered": list(predictor.processor.months_seen_)},
        baselines=fitted.details() if fitted is not None else {},
        price_range=conformal.split_report(conformal.Calibration.from_record(predictor.config.get("calibration")),
                                           y, predictions["predicted_price"], w),
        intervals=split_intervals(y, prices, w, rows["listing_id"], MODEL_NAME),
    )


def _buckets(rows: pd.DataFrame, data_path: Path) -> dict[str, pd.Series]:
    """Room type, city (in a table of several), borough/group (when the ETL recorded one) and
    price deciles (the review buckets are in ``cold_start``, for every model)."""
    buckets = {"room_type": rows["room_type"]}
    if rows[CITY].nunique() > 1:
        buckets[CITY] = rows[CITY]
    summary = summary_path(data_path)
    groups = read_json(summary).get("neighbourhood_groups", {}) if summary.is_file() else {}
    if groups:
        buckets["neighbourhood_group_cleansed"] = rows["neighbourhood_cleansed"].map(groups)
    if len(rows) >= 10:
        buckets["price_decile"] = price_deciles(rows["target_price"])
    return buckets


def write_metrics(evaluation: Evaluation, path: str | Path | None = None) -> Path:
    """``metrics.json`` (by default in the run's artifacts folder), atomically."""
    path = path or Path(evaluation.data["artifacts"]) / METRICS
    write_json(path, evaluation.to_dict())
    log.info("wrote %s", path)
    return Path(path)

