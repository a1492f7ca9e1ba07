"""Evaluation of a trained run against the baselines (metrics from :mod:`airbnb.metrics`),
per-bucket tables, grouped cross-validation, and a panel's forward split (a test of time).

Metrics answer "how far off is the recommended price", so they are in dollars (MAE, RMSE), in
relative terms (MAPE, RMSE of log price) and as explained variance (R²). Each is reported twice:
weighted by the occupancy estimate, the weight the model is trained with (SPEC §3.2), so listings
with demonstrated demand count more, and unweighted, how a random listing fares.

The neural model is compared with the strongest standard learners (:mod:`airbnb.baselines`:
LightGBM, HistGradientBoosting and ridge on log price, and the weighted mean; on request the
Explainable Boosting Machine, the glass-box additive peer), fitted on the very same training rows
with the same occupancy weights, early-stopped on the same validation rows, and scored on the
same held-out rows.

A small city's test split is a few dozen listings, so one split is noise: :func:`cross_validate`
repeats training and scoring over K folds grouped by listing and reports mean ± sd. Both test
listings, not time: :func:`forward_validate` trains on a panel's snapshots up to a month and tests
on the later ones (tomorrow's prices from today's table), with an error table per test month.

    python -m airbnb.evaluate --artifacts runs/default/artifacts          # the run's test split
    python -m airbnb.evaluate --artifacts runs/default/artifacts --cv 5   # and 5-fold CV of its config
    python -m airbnb.evaluate --data-path table.parquet --cv 5            # CV of the default config
    python -m airbnb.evaluate --data-path panel.parquet --forward-until 2025-03  # train up to 2025-03, test later
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import conformal, train
from .artifacts import METRICS, SPLITS, load_table, read_splits, table_digest, train_config
from .baselines import BASELINES, DEFAULT_BASELINES, FittedBaselines, check_names, fit_baselines
from .cli import add_config_flags, check_types, description, option
from .config import DEFAULT_ARTIFACTS_DIR
from .dataset import AirbnbDataset
from .errors import ConfigError, command_line
from .etl import summary_path
from .io import exclusive, read_json, refuse_input, write_json
from .log import get_logger, quiet, setup_logging
from .breakdown import predict_dataset
from .metrics import bucket_metrics, metric_columns, metrics_table, price_deciles, readable_table, review_buckets
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
    dataset = AirbnbDataset(predictor.processor.transform(repeated), embedder=predictor.embedder)
    weight = np.tile(rows["estimated_occupancy_rate"].to_numpy(np.float64), 12).reshape(len(rows), 12)
    per_member = []
    for member in getattr(predictor.model, "members", [predictor.model]):
        dollars = predict_dataset(member, dataset)["seasonality"].to_numpy().reshape(len(rows), 12)
        per_member.append((dollars * weight).sum(axis=0) / weight.sum(axis=0))
    per_member = np.array(per_member)
    return pd.DataFrame({"month": months, "effect": per_member.mean(axis=0),
                         "sd": per_member.std(axis=0, ddof=1) if len(per_member) > 1 else 0.0,
                         "seen": predictor.processor.month_seen(months)})


# --------------------------------------------------------------------------- evaluating a run

MODEL_NAME = "additive_axis_model"
CV_FOLDS = 5  # the cross-validation a city run does and a verdict without one recommends
# What a cross-validation fold's trainings log below a warning: its one fold line says what matters.
FOLD_LOGGERS = ("airbnb.train", "airbnb.training", "airbnb.embeddings", "airbnb.baselines")
SPLITS_SCORED = ("test", "validation")


@dataclass
class EvaluateConfig:
    """Evaluation settings: the CLI flags, the evaluate notebook's parameters and params-file keys."""

    artifacts_dir: str = option(str(DEFAULT_ARTIFACTS_DIR), "output_dir of the training run: scores its test split "
                                "(and with --cv, cross-validates its training configuration)",
                                flags=("--artifacts", "--artifacts-dir"))
    data_path: str | None = option(None, "modeling table (None: the one the run was trained on; with --cv and no "
                                   "--artifacts, the table to cross-validate the preset on)")
    split: str = option("test", "'test' (held out) or 'validation'", choices=SPLITS_SCORED)
    baselines: list[str] = option(list(DEFAULT_BASELINES), "log-price learners fitted on the same training rows, "
                                  f"of {list(BASELINES)}")
    metrics_path: str | None = option(None, "where metrics.json goes (None: inside artifacts_dir; with --cv and no "
                                      "--artifacts, cv_metrics.json beside the table)", flags=("--output", "--metrics-path"))
    seed: int = option(42, "seed of the baselines (and of a cross-validated preset's training)")
    n_examples: int = option(3, "listings whose breakdown the notebook shows", cli=False)
    cv: int = option(0, "K-fold cross-validation grouped by listing of the run's training configuration (0: off)")
    neighbourhoods_geojson: str | None = option(
        None, "the city's neighbourhoods.geojson from Inside Airbnb: the notebook's map fills its neighbourhoods "
        "(None: neighbourhood medians drawn as discs)", cli=False)
    preset: str = option("default", "training configuration to cross-validate (or to train forward) without "
                         "--artifacts", choices=tuple(train.PRESETS), notebook=False)
    cities: list[str] = option([], "with --cv or --forward-until and no --artifacts: these cities of the table only "
                               "(a run is evaluated on the cities it was trained on)", notebook=False)
    forward_until: str | None = option(
        None, "a test of time instead of listings: train on the table's snapshots up to this month (YYYY-MM) and "
        "test on the later ones, the model and the baselines (--baselines) on the same split, with the error per "
        "test month (trains the preset on --data-path, or a run's configuration on its table with --artifacts; "
        "results go beside the table as .forward_metrics.json unless --output)", notebook=False)

    def __post_init__(self):
        check_types(self)
        check_names(self.baselines)
        if self.split not in SPLITS_SCORED:
            raise ConfigError(f"split must be one of {SPLITS_SCORED}, got {self.split!r}")
        if self.cv != 0 and self.cv < 2:
            raise ConfigError(f"cv must be an integer >= 2 (the number of folds) or 0 (off), got {self.cv!r}")
        if self.n_examples < 0:
            raise ConfigError(f"n_examples must be >= 0, got {self.n_examples}")
        if self.forward_until is not None:
            check_month(self.forward_until, "forward_until")
            if self.cv:
                raise ConfigError("forward_until and cv are two evaluations (time, listings): run one at a time")


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
    cv: "CrossValidation | None" = None
    price_range: dict = field(default_factory=dict)  # the calibrated ranges' achieved coverage on this split

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
    fitted = _fit_baselines(parts["train"], parts["validation"], baselines, seed)
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
              "months_covered": list(predictor.processor.months_seen)},
        baselines=fitted.details() if fitted is not None else {},
        price_range=conformal.split_report(conformal.Calibration.from_record(predictor.config.get("calibration")),
                                           y, predictions["predicted_price"], w),
    )


def _fit_baselines(train_rows: pd.DataFrame, validation_rows: pd.DataFrame, names: Sequence[str] | None,
                   seed: int, num_threads: int | None = None) -> FittedBaselines | None:
    """The baselines on the run's training rows, early-stopped on its validation rows (None: none asked)."""
    if names is not None and not len(names):
        return None
    return fit_baselines(train_rows, validation_rows if len(validation_rows) else None, names, seed,
                         num_threads=num_threads)


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


# --------------------------------------------------------------------------- cross-validation

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
                   num_threads: int | None = None) -> CrossValidation:
    """K-fold cross-validation grouped by listing of the model (trained with ``config``) and the baselines.

    Each fold holds out 1/K of the listings as its test rows; of the rest, ``config.test_size``
    of all listings validate (early stopping, for the model and the boosters alike) and the
    others train. The split of the run itself (``holdout_size``) is not used: every listing is
    tested exactly once.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ConfigError(f"cv must be an integer >= 2 (the number of folds), got {k!r}")
    check_names(baselines)
    table = (load_table(config.data_path, config.cities) if table is None else table).reset_index(drop=True)
    folds = train.cv_splits(table["listing_id"], k, config.test_size)
    rows, tested = [], []  # per fold: metric rows, and (test rows, each model's prices)
    with tempfile.TemporaryDirectory(prefix="airbnb-cv-") as work:
        for fold, splits in enumerate(tqdm(folds, desc="cross-validation folds", unit="fold", disable=not progress)):
            started = time.perf_counter()
            with quiet(*FOLD_LOGGERS):  # a fold's trainings in one line, below
                test, prices, _ = _fit_and_score(config, table, splits, Path(work) / f"fold-{fold}", baselines,
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
    return CrossValidation(k, pd.DataFrame(rows), dataclasses.asdict(config), cold_start_table(pooled, prices),
                           month_table(pooled, prices))


def _fit_and_score(config: train.TrainConfig, table: pd.DataFrame, splits: pd.Series, output_dir: Path,
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
    test = AirbnbDataset(data.processor.transform(parts["test"]), embedder=data.embedder)
    prices = {MODEL_NAME: predict_dataset(result.model, test)["predicted_price"].to_numpy()}
    fitted = _fit_baselines(parts["train"], parts["validation"], baselines, config.seed, num_threads)
    if fitted is None:
        return parts["test"], prices, {}
    prices.update(fitted.predict(parts["test"]))
    return parts["test"], prices, fitted.details()


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


# --------------------------------------------------------------------------- forward in time

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


def check_month(value, name: str = "until") -> str:
    """``value`` if it is a month ``YYYY-MM``, else a ConfigError naming ``name``."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ConfigError(f"{name} must be a month YYYY-MM, got {value!r}")
    return value


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
    the later rows (:func:`forward_splits`): a test of time, where :func:`cross_validate` tests
    listings. The test months' seasonality is learned only if earlier years covered those months.
    ``num_threads`` as in :func:`cross_validate`."""
    check_names(baselines)
    table = (load_table(config.data_path, config.cities) if table is None else table).reset_index(drop=True)
    splits = forward_splits(table, until, config.test_size)
    with tempfile.TemporaryDirectory(prefix="airbnb-forward-") as work:
        test, prices, fitted = _fit_and_score(config, table, splits, Path(work), baselines, num_threads)
    y, w = test["target_price"].to_numpy(), test["estimated_occupancy_rate"].to_numpy()
    return ForwardValidation(until, metrics_table(y, prices, w), month_table(test, prices),
                             {k: int(v) for k, v in splits.value_counts().items()}, dataclasses.asdict(config), fitted)


def run_config(artifacts_dir: str | Path) -> train.TrainConfig:
    """The training configuration a run recorded in its ``model_config.json``."""
    saved = train_config(artifacts_dir)
    known = {f.name for f in dataclasses.fields(train.TrainConfig)}
    return train.TrainConfig(**{key: value for key, value in saved.items() if key in known})


def write_metrics(evaluation: Evaluation, path: str | Path | None = None) -> Path:
    """``metrics.json`` (by default in the run's artifacts folder), atomically."""
    path = path or Path(evaluation.data["artifacts"]) / METRICS
    write_json(path, evaluation.to_dict())
    log.info("wrote %s", path)
    return Path(path)


# --------------------------------------------------------------------------- the verdict

@dataclass(frozen=True)
class Verdict:
    """The one comparison to quote, from a ``metrics.json``: the model's weighted MAPE against the
    best baseline's, from cross-validation when it ran (else the single test split), and why."""

    source: str  # "cross-validation" or "test split"
    model_mape: float  # a fraction
    baseline: str  # the best baseline by weighted MAPE in that source
    baseline_mape: float
    model_sd: float | None  # across folds (cross-validation only)
    baseline_sd: float | None
    trust: str  # which figure to trust and why, one sentence

    def headline(self) -> str:
        def pct(value, sd):
            return f"{100 * value:.1f}%" + (f" ± {100 * sd:.1f}" if sd is not None else "")

        gap = "better than" if self.model_mape < self.baseline_mape else "worse than"
        return (f"model's weighted MAPE {pct(self.model_mape, self.model_sd)} vs {self.baseline}'s "
                f"{pct(self.baseline_mape, self.baseline_sd)} ({self.source}: {gap} the best baseline)")


def verdict(metrics: dict) -> Verdict:
    """The :class:`Verdict` of a ``metrics.json``'s content (it needs at least one baseline)."""
    split = metrics["models"]
    if len(split) < 2:
        raise ConfigError("metrics hold no baseline to compare the model with: evaluate with baselines")
    test_listings = metrics["listings"]
    cv = metrics.get("cv")
    if cv is None:
        best = _best_baseline(split)
        return Verdict("test split", split[MODEL_NAME]["mape_weighted"], best, split[best]["mape_weighted"],
                       None, None,
                       f"only the single test split ({test_listings} listings) was scored: its figure moves by "
                       f"points with which listings fall into it; cross-validate (--cv {CV_FOLDS}, or cv: {CV_FOLDS} "
                       "in a params file) for a figure to trust")
    mean, sd = cv["mean"], cv["sd"]
    best = _best_baseline(mean)
    tested = sum(f["test_rows"] for f in cv["folds"] if f["model"] == MODEL_NAME)
    ranks = "" if _best_baseline(split) == best and _beats(split) == _beats(mean) else (
        "; the single split ranks the models differently, which is that noise")
    return Verdict(f"{cv['k']}-fold cross-validation", mean[MODEL_NAME]["mape_weighted"], best,
                   mean[best]["mape_weighted"], sd[MODEL_NAME]["mape_weighted"], sd[best]["mape_weighted"],
                   f"trust the cross-validation figure: it tests every listing-month once ({tested} rows, "
                   f"refitting every model {cv['k']} times) where the single test split holds "
                   f"{test_listings} listings{ranks}")


def _best_baseline(models: dict) -> str:
    baselines = {name: values["mape_weighted"] for name, values in models.items() if name != MODEL_NAME}
    return min(baselines, key=baselines.get)


def _beats(models: dict) -> bool:
    """Whether the model's weighted MAPE beats the best baseline's."""
    return models[MODEL_NAME]["mape_weighted"] < models[_best_baseline(models)]["mape_weighted"]


# --------------------------------------------------------------------------- CLI

def build_parser(explicit_only: bool = False) -> argparse.ArgumentParser:
    """Flags generated from EvaluateConfig; ``explicit_only`` leaves out the flags not given."""
    parser = argparse.ArgumentParser(prog="python -m airbnb.evaluate", description=description(__doc__),
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_flags(parser, EvaluateConfig, suppress_defaults=explicit_only)
    return parser


def main(argv: Sequence[str] | None = None) -> Evaluation | CrossValidation | ForwardValidation:
    parser = build_parser()
    parser.parse_args(argv)  # --help, and errors reported against the documented defaults
    given = vars(build_parser(explicit_only=True).parse_args(argv))
    setup_logging()
    return command_line(lambda: _guarded(given))


def _guarded(given: dict) -> Evaluation | CrossValidation | ForwardValidation:
    """The command with its output held while written (:func:`airbnb.io.exclusive`; metrics.json
    inside a run folder holds the folder, as training into it does) and never one of its inputs
    (the table, the run's files)."""
    config = EvaluateConfig(**given)
    if config.forward_until:
        training = _forward_training(config, given)
        output = _beside_table(config, training.data_path, ".forward_metrics.json")
        refuse_input(output, [training.data_path])
        with exclusive(output):
            return _forward_command(config, training, output)
    runless = "artifacts_dir" not in given and config.cv and config.data_path
    output = _beside_table(config, config.data_path, ".cv_metrics.json") if runless else config.metrics_path
    if output:
        run_files = [] if runless else [p for p in Path(config.artifacts_dir).glob("*") if p.name != METRICS]
        refuse_input(output, [*([config.data_path] if config.data_path else []), *run_files])
    with exclusive(output or config.artifacts_dir):
        return _evaluate_command(given)


def _beside_table(config: EvaluateConfig, table: str | Path, suffix: str) -> Path:
    """``--output``, else a file beside the table (a run's own metrics.json is left as it is)."""
    return Path(config.metrics_path or Path(table).with_suffix(suffix))


def _forward_training(config: EvaluateConfig, given: dict) -> train.TrainConfig:
    """What the forward split trains: a run's configuration (``--artifacts``) on its table unless
    ``--data-path`` names another, else the preset on ``--data-path``."""
    if "artifacts_dir" in given:
        run = run_config(config.artifacts_dir)
        return dataclasses.replace(run, data_path=config.data_path or run.data_path)
    if not config.data_path:
        raise ConfigError("--forward-until needs a table: --data-path TABLE (or --artifacts of a trained run)")
    return train.configure(config.preset, data_path=config.data_path, seed=config.seed, cities=config.cities)


def _forward_command(config: EvaluateConfig, training: train.TrainConfig, output: Path) -> ForwardValidation:
    result = forward_validate(training, config.forward_until, baselines=config.baselines)
    tested = sorted(result.months.index.unique("year_month"))
    print(f"forward split: trained on the snapshots up to {result.until} ({result.rows.get('train', 0):,} train, "
          f"{result.rows.get('validation', 0):,} validation listing-months), tested on the later ones "
          f"({', '.join(tested)}: {result.rows.get('test', 0):,} listing-months), best first:")
    print(readable_table(result.metrics).to_string())
    print("\nweighted MAPE (%) per test month:")
    print(month_summary(result.months).to_string())
    write_json(output, {"forward": result.to_dict()})
    log.info("wrote %s", output)
    if len(result.metrics) > 1:
        models = result.metrics.to_dict(orient="index")
        best = _best_baseline(models)
        print("\n" + Verdict("forward split", models[MODEL_NAME]["mape_weighted"], best, models[best]["mape_weighted"],
                              None, None, "").headline())
    return result


def _evaluate_command(given: dict) -> Evaluation | CrossValidation:
    config = EvaluateConfig(**given)
    # a table and folds but no run: cross-validate a preset's configuration on that table
    if "artifacts_dir" not in given and config.cv and config.data_path:
        return _cross_validate_preset(config)
    evaluation = evaluate_run(config.artifacts_dir, config.data_path, config.split, config.baselines, config.seed)
    if config.cv:
        run = dataclasses.replace(run_config(config.artifacts_dir), data_path=str(evaluation.data["path"]))
        evaluation.cv = cross_validate(run, config.cv, baselines=config.baselines)
    print(f"{evaluation.split} split ({len(evaluation.rows):,} listing-months of "
          f"{evaluation.rows['listing_id'].nunique():,} listings), best first:")
    print(readable_table(evaluation.metrics).to_string())
    if evaluation.cv is not None:
        print(f"\n{config.cv}-fold cross-validation (grouped by listing), mean ± sd:")
        print(evaluation.cv.summary().to_string())
    write_metrics(evaluation, config.metrics_path)
    if len(evaluation.metrics) > 1:
        found = verdict(evaluation.to_dict())
        print(f"\n{found.headline()}\nwhich figure to trust: {found.trust}")
    return evaluation


def _cross_validate_preset(config: EvaluateConfig) -> CrossValidation:
    result = cross_validate(train.configure(config.preset, data_path=config.data_path, seed=config.seed,
                                            cities=config.cities), config.cv, baselines=config.baselines)
    print(f"{config.cv}-fold cross-validation (grouped by listing), mean ± sd:")
    print(result.summary().to_string())
    write_json(_beside_table(config, config.data_path, ".cv_metrics.json"), {"cv": result.to_dict()})
    return result


if __name__ == "__main__":
    main()
