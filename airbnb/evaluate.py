"""Evaluation: price metrics (occupancy-weighted and not), per-bucket tables, and baselines.

Metrics answer "how far off is the recommended price", so they are in dollars (MAE, RMSE), in
relative terms (MAPE, RMSE of log price) and as explained variance (R²). Each is reported twice:
weighted by the occupancy estimate, the weight the model is trained with (SPEC §3.2), so listings
with demonstrated demand count more, and unweighted, how a random listing fares.

Baselines put the neural model's numbers in context. They are fitted on the identical split,
inputs (:meth:`FeatureProcessor.transform` output plus the dataset's amenity embeddings, see
:func:`design_matrix`) and sample weights:

- ``weighted_mean``: one price for everyone; any model must beat it.
- ``ridge``: a linear model of the same inputs, the natural lower bound for an additive model.
- ``hist_gradient_boosting``: an uninterpretable, strong tabular learner; the gap to it is what
  the additive, explainable structure costs.

LightGBM is not a dependency: scikit-learn's HistGradientBoosting is the same histogram-based
algorithm, natively handles categorical columns and sample weights, and fits 427k training rows
in about 50 s on 2 cores, so another compiled dependency would buy little for a baseline.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .dataset import AirbnbDataset
from .etl import summary_path
from .features import ONE_HOT_FEATURES, PASSTHROUGH, VOCAB_FEATURES
from .io import file_sha256, read_json, write_json
from .log import get_logger
from .predict import PricePredictor
from .schema import RATE_COLUMNS, REVIEW_SCORE_COLUMNS, TABLE_COLUMNS
from .train import load_table

log = get_logger(__name__)

# --------------------------------------------------------------------------- metrics

METRICS = ("mape", "mae", "rmse", "r2", "rmse_log")
KINDS = ("weighted", "unweighted")
# Predictions are clipped to this many dollars before taking logs: a price at or below zero has no
# log, and $1 is far below any real nightly price, so clipping only ever makes rmse_log worse.
LOG_PRICE_FLOOR = 1.0


def metric_columns() -> list[str]:
    """Flat ``<metric>_<weighted|unweighted>`` column names, metric-major (e.g. ``mape_weighted``)."""
    return [f"{metric}_{kind}" for metric in METRICS for kind in KINDS]


def regression_metrics(y_true, y_pred, weights=None) -> dict[str, float]:
    """MAPE (a fraction), MAE, RMSE, R², RMSE of log price; every mean weighted when ``weights`` is given.

    Weighted R² is ``1 - Σw·e² / Σw·(y - ȳ_w)²`` with ȳ_w the weighted mean; it is NaN when every
    true price is the same (nothing to explain). Predictions ≤ ``LOG_PRICE_FLOOR`` are clipped to
    it for ``rmse_log`` only.
    """
    y, p, w = _check_inputs(y_true, y_pred, weights, weights_required=False)
    return _metrics(y, p, w)


def metrics_table(y_true, predictions: dict[str, np.ndarray], weights) -> pd.DataFrame:
    """One row per model (index ``model``), columns from :func:`metric_columns`.

    Flat column names render as one header row in a notebook and serialise directly:
    ``table.to_dict(orient="index")`` is ``{model: {"mape_weighted": ..., ...}}`` for metrics.json.
    """
    if not predictions:
        raise ValueError("predictions is empty: pass {model name: predicted prices}")
    rows = {}
    for name, y_pred in predictions.items():
        y, p, w = _check_inputs(y_true, y_pred, weights, pred_name=f"predictions[{name!r}]")
        rows[name] = _both(y, p, w)
    return pd.DataFrame.from_dict(rows, orient="index", columns=metric_columns()).rename_axis("model")


def bucket_metrics(y_true, y_pred, weights, buckets) -> pd.DataFrame:
    """Rows per bucket value: ``n_rows``, ``weight_share`` and the :func:`metric_columns` metrics.

    Buckets keep their categorical order (see :func:`review_buckets`, :func:`price_deciles`);
    empty categories are left out, and rows with a missing bucket form their own (NaN) row, so
    ``n_rows`` and ``weight_share`` always add up to the whole set. A bucket whose weights are
    all zero gets NaN weighted metrics.
    """
    y, p, w = _check_inputs(y_true, y_pred, weights)
    buckets = pd.Series(buckets).reset_index(drop=True).rename(getattr(buckets, "name", None) or "bucket")
    if len(buckets) != len(y):
        raise ValueError(f"buckets has {len(buckets)} rows but y_true has {len(y)}")
    rows = {}
    for value, index in buckets.groupby(buckets, observed=True, dropna=False, sort=True).indices.items():
        rows[value] = {"n_rows": len(index), "weight_share": w[index].sum() / w.sum(),
                       **_both(y[index], p[index], w[index])}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["n_rows", "weight_share", *metric_columns()])
    return table.rename_axis(buckets.name)


REVIEW_BUCKETS = ("0–2", "3–10", ">10")


def review_buckets(number_of_reviews_ltm) -> pd.Series:
    """Cold-start buckets of reviews in the last 12 months: "0–2", "3–10", ">10" (ordered categorical)."""
    counts = pd.Series(number_of_reviews_ltm, dtype="float64")
    if (counts < 0).any():
        raise ValueError("number_of_reviews_ltm has negative counts")
    labels = pd.cut(counts, [-np.inf, 2, 10, np.inf], labels=list(REVIEW_BUCKETS), ordered=True)
    return labels.rename("reviews_ltm")


def price_deciles(y_true) -> pd.Series:
    """Ordered decile labels of the true price by row count, e.g. "D1 ($25–$61)".

    Rows are ranked with ties broken by position, so there are always ten equal-sized deciles
    even when many listings share a round price (such a price may then span two deciles).
    """
    prices = pd.Series(y_true, dtype="float64")
    if len(prices) < 10 or not np.isfinite(prices).all():
        raise ValueError(f"y_true needs at least 10 finite prices for deciles, got {len(prices)} rows")
    decile = ((prices.rank(method="first") - 1) * 10 // len(prices)).astype(int)
    ranges = prices.groupby(decile).agg(["min", "max"])
    labels = [f"D{d + 1} (${lo:,.0f}–${hi:,.0f})" for d, (lo, hi) in ranges.iterrows()]
    return pd.Series(pd.Categorical.from_codes(decile.to_numpy(), categories=labels, ordered=True),
                     index=prices.index, name="price_decile")


def _check_inputs(y_true, y_pred, weights, pred_name: str = "y_pred", weights_required: bool = True):
    """float64 1-D arrays; a ValueError names the argument that is wrong."""
    y = _vector(y_true, "y_true")
    p = _vector(y_pred, pred_name)
    if len(p) != len(y):
        raise ValueError(f"{pred_name} has {len(p)} rows but y_true has {len(y)}")
    if len(y) == 0:
        raise ValueError("y_true is empty")
    if (y <= 0).any():
        raise ValueError("y_true must be > 0 (prices); MAPE and log errors are undefined otherwise")
    if weights is None:
        if weights_required:
            raise ValueError("weights is required (the occupancy weight per row)")
        return y, p, None
    w = _vector(weights, "weights")
    if len(w) != len(y):
        raise ValueError(f"weights has {len(w)} rows but y_true has {len(y)}")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be >= 0 with a positive sum")
    return y, p, w


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:  # (N, 1) model outputs
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _metrics(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    error = p - y
    log_error = np.log(np.maximum(p, LOG_PRICE_FLOOR)) - np.log(y)
    total = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    mse = np.average(error ** 2, weights=w)
    return {
        "mape": float(np.average(np.abs(error) / y, weights=w)),
        "mae": float(np.average(np.abs(error), weights=w)),
        "rmse": float(np.sqrt(mse)),
        "r2": float(1 - mse / total) if total > 0 else float("nan"),
        "rmse_log": float(np.sqrt(np.average(log_error ** 2, weights=w))),
    }


def _both(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Weighted and unweighted metrics under :func:`metric_columns` names."""
    weighted = _metrics(y, p, w) if w.sum() > 0 else dict.fromkeys(METRICS, float("nan"))
    unweighted = _metrics(y, p, None)
    return {f"{m}_{kind}": values[m] for m in METRICS for kind, values in zip(KINDS, (weighted, unweighted))}


# --------------------------------------------------------------------------- design matrix

AMENITY_PREFIX = "amenities_embedding_"
# Processed arrays that become numeric columns, in column order, with names for their sub-columns.
_NUMERIC_BLOCKS: dict[str, list[str] | None] = {
    "location_coords_cyclical": None,
    "accommodates": None,
    "review_scores": REVIEW_SCORE_COLUMNS,
    "host_rates": RATE_COLUMNS,
    "number_of_reviews_ltm_log": None,
    **{f"{col}_ohe": [f"{col}={value}" for value in values] for col, values in ONE_HOT_FEATURES.items()},
    "month_cyclical": ["month_sin", "month_cos"],
}


def design_matrix(processed: dict[str, np.ndarray],
                  amenity_embeddings: np.ndarray) -> tuple[np.ndarray, list[str], list[int]]:
    """The neural model's inputs as one float32 matrix: ``(X, column names, vocabulary columns)``.

    Columns: the vocabulary indices (0 = ``<UNK>``; their positions are the third value), the
    numeric and one-hot features, then the amenity embedding (``amenities_embedding_<i>``).
    ``amenity_embeddings`` is one row per processed row (``dataset_design_matrix`` gathers it
    from an :class:`AirbnbDataset`). A processed key this function does not know is an error,
    so a new model input cannot silently be left out of the baselines.
    """
    unknown = set(processed) - set(VOCAB_FEATURES) - set(_NUMERIC_BLOCKS) - set(PASSTHROUGH)
    if unknown:
        raise ValueError(f"processed has input(s) design_matrix does not know: {sorted(unknown)}")
    missing = [key for key in [*VOCAB_FEATURES, *_NUMERIC_BLOCKS] if key not in processed]
    if missing:
        raise ValueError(f"processed lacks input(s) {missing}: pass FeatureProcessor.transform output")
    n = len(processed[VOCAB_FEATURES[0]])
    embeddings = np.asarray(amenity_embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or len(embeddings) != n:
        raise ValueError(f"amenity_embeddings must be ({n}, dim), got shape {embeddings.shape}")
    blocks, names = [], []
    for key in VOCAB_FEATURES:
        blocks.append(np.asarray(processed[key]).reshape(n, 1))
        names.append(key)
    for key, sub_names in _NUMERIC_BLOCKS.items():
        block = np.asarray(processed[key], dtype=np.float32).reshape(n, -1)
        blocks.append(block)
        names += sub_names or ([key] if block.shape[1] == 1 else [f"{key}_{i}" for i in range(block.shape[1])])
    blocks.append(embeddings)
    names += [f"{AMENITY_PREFIX}{i}" for i in range(embeddings.shape[1])]
    return np.concatenate(blocks, axis=1, dtype=np.float32), names, vocabulary_columns(names)


def dataset_design_matrix(dataset) -> tuple[np.ndarray, list[str], list[int]]:
    """:func:`design_matrix` of an :class:`AirbnbDataset`, with the embeddings the dataset uses."""
    processed = {key: value.numpy() for key, value in dataset.tensors.items()}
    embeddings = dataset.amenity_table.numpy()[dataset.amenity_codes.numpy()]
    return design_matrix(processed, embeddings)


def vocabulary_columns(columns: Sequence[str]) -> list[int]:
    """Positions of the vocabulary-index (categorical) columns."""
    return [i for i, name in enumerate(columns) if name in VOCAB_FEATURES]


def amenity_columns(columns: Sequence[str]) -> list[int]:
    """Positions of the amenity-embedding columns."""
    return [i for i, name in enumerate(columns) if name.startswith(AMENITY_PREFIX)]


# --------------------------------------------------------------------------- baselines

INTERNAL_VALIDATION = 0.1  # share of training rows (whole listings when groups are given)


class Baseline(Protocol):
    """What every baseline offers; ``groups`` (listing ids) only shape internal validation."""

    name: str

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> "Baseline": ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def internal_split(n: int, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) for model selection inside a baseline's ``fit``.

    With ``groups`` (listing ids) whole listings are held out, as in the real split: a listing's
    other months in the fit rows would make the held-out error optimistic.
    """
    if groups is None:
        return next(ShuffleSplit(1, test_size=INTERNAL_VALIDATION, random_state=seed).split(np.arange(n)))
    return next(GroupShuffleSplit(1, test_size=INTERNAL_VALIDATION, random_state=seed)
                .split(np.arange(n), groups=groups))


def _target_and_weights(y, sample_weight) -> tuple[np.ndarray, np.ndarray]:
    """Positional float arrays (a pandas Series would index by label); no weights = equal weights."""
    y = np.asarray(y, dtype=np.float64)
    return y, np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)


class WeightedMeanBaseline:
    """The occupancy-weighted mean training price, predicted for every row."""

    name = "weighted_mean"

    def __init__(self, columns: Sequence[str] = (), seed: int = 42):  # the shared constructor; needs neither
        self.value_: float | None = None

    def fit(self, X, y, sample_weight=None, groups=None) -> "WeightedMeanBaseline":
        y, w = _target_and_weights(y, sample_weight)
        self.value_ = float(np.average(y, weights=w))
        return self

    def predict(self, X) -> np.ndarray:
        return np.full(len(X), self.value_)


class RidgeBaseline:
    """Weighted ridge regression on standardised inputs, vocabulary columns one-hot encoded.

    Each vocabulary column gets one indicator per index 0..max seen in training (index 0,
    ``<UNK>``, is its own column; larger unseen indices encode as all zeros). ``alpha`` is picked
    from ``ALPHAS`` by weighted MSE on an :func:`internal_split` (whole listings when ``groups``
    are given), then the model is refitted on all rows. Not RidgeCV: its leave-one-out shortcut
    leaks between a listing's near-duplicate monthly rows, and on a 275k x 680 design it took
    about 12 times as long as a plain fit. With far more rows than columns alpha matters little
    (validation MSE moved < 1% between 0.1 and 1000 on a 390k-row city), so a coarse grid will do;
    it starts at 10 because smaller alphas leave the float32 normal equations ill-conditioned (each
    one-hot group sums to the intercept) for no gain.
    """

    name = "ridge"
    ALPHAS = (10.0, 100.0, 1000.0)

    def __init__(self, columns: Sequence[str], seed: int = 42):
        self.categorical = vocabulary_columns(columns)
        self.seed = seed

    def fit(self, X, y, sample_weight=None, groups=None) -> "RidgeBaseline":
        y, w = _target_and_weights(y, sample_weight)
        categories = [np.arange(int(X[:, j].max()) + 1) for j in self.categorical]
        one_hot = OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False,
                                dtype=np.float32)
        self.prepare_ = Pipeline([("encode", ColumnTransformer([("vocab", one_hot, self.categorical)],
                                                               remainder="passthrough")),
                                  ("scale", StandardScaler())])
        Z = self.prepare_.fit_transform(X)
        self.alpha_ = self._select_alpha(Z, y, w, groups)
        self.ridge_ = Ridge(alpha=self.alpha_).fit(Z, y, sample_weight=w)
        return self

    def _select_alpha(self, Z, y, w, groups) -> float:
        fit_rows, val_rows = internal_split(len(Z), groups, self.seed)
        scores = {}
        for alpha in self.ALPHAS:
            model = Ridge(alpha=alpha).fit(Z[fit_rows], y[fit_rows], sample_weight=w[fit_rows])
            scores[alpha] = float(np.average((model.predict(Z[val_rows]) - y[val_rows]) ** 2, weights=w[val_rows]))
        best = min(scores, key=scores.get)
        log.info("ridge: internal validation MSE by alpha %s -> alpha %g",
                 {a: round(s, 1) for a, s in scores.items()}, best)
        return best

    def predict(self, X) -> np.ndarray:
        return self.ridge_.predict(self.prepare_.transform(X)).astype(np.float64)


class HistGradientBoostingBaseline:
    """scikit-learn's histogram gradient boosting, vocabulary columns as native categoricals.

    The 384-dim amenity embedding is replaced by its first ``amenity_components`` principal
    components, fitted on (at most ``PCA_ROWS`` of) the training rows. Every split scans every
    column, so the raw embedding makes up 80% of the work. Measured on a 390k-row synthetic city
    (275k training rows, 2 cores), weighted validation RMSE / fit time: raw 384 dims 23.5 / 117 s,
    32 components 23.8 / 45 s, 16 components 24.1 / 22 s, amenities left out 29.8: 32 components
    keep nearly all of the amenities' signal at a third of the cost (427k rows fit in ~50 s).
    ``amenity_components=None`` keeps the raw embedding.

    Early stopping watches the weighted loss on an :func:`internal_split` (whole listings when
    ``groups`` are given). A vocabulary column with more than 255 training values (the
    histogram's limit) keeps its 254 most frequent; the rest join index 0 (``<UNK>``).
    """

    name = "hist_gradient_boosting"
    AMENITY_COMPONENTS = 32
    PCA_ROWS = 100_000
    MAX_CATEGORIES = 255

    def __init__(self, columns: Sequence[str], seed: int = 42, amenity_components: int | None = AMENITY_COMPONENTS):
        self.categorical = vocabulary_columns(columns)
        self.amenity = amenity_columns(columns)
        self.amenity_components = amenity_components
        self.seed = seed

    def fit(self, X, y, sample_weight=None, groups=None) -> "HistGradientBoostingBaseline":
        y, w = _target_and_weights(y, sample_weight)
        self.pca_ = self._fit_pca(X)
        self.dropped_ = self.amenity if self.pca_ is not None else []
        remaining = np.delete(np.arange(X.shape[1]), self.dropped_)
        # positions of the vocabulary columns among the remaining ones -> values kept per column
        self.kept_ = {int(np.flatnonzero(remaining == j)[0]): _most_frequent(X[:, j], self.MAX_CATEGORIES)
                      for j in self.categorical}
        Z = self._features(X)
        fit_rows, val_rows = internal_split(len(X), groups, self.seed)
        self.model_ = HistGradientBoostingRegressor(
            learning_rate=0.1, max_iter=500, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=True,
            n_iter_no_change=20, categorical_features=list(self.kept_), random_state=self.seed)
        self.model_.fit(Z[fit_rows], y[fit_rows], w[fit_rows],
                        X_val=Z[val_rows], y_val=y[val_rows], sample_weight_val=w[val_rows])
        log.info("hist_gradient_boosting: %d columns, %d boosting iterations", Z.shape[1], self.model_.n_iter_)
        return self

    def _fit_pca(self, X) -> PCA | None:
        k = self.amenity_components
        if k is None or not 0 < k < len(self.amenity):
            return None
        rows = np.random.default_rng(self.seed).choice(len(X), min(len(X), self.PCA_ROWS), replace=False)
        return PCA(k, svd_solver="randomized", random_state=self.seed).fit(X[np.sort(rows)][:, self.amenity])

    def _features(self, X) -> np.ndarray:
        Z = np.delete(X, self.dropped_, axis=1)  # a copy, safe to edit
        for j, kept in self.kept_.items():
            Z[:, j] = np.where(np.isin(Z[:, j], kept), Z[:, j], 0)
        if self.pca_ is None:
            return Z
        return np.concatenate([Z, self.pca_.transform(X[:, self.amenity]).astype(np.float32)], axis=1)

    def predict(self, X) -> np.ndarray:
        return self.model_.predict(self._features(X)).astype(np.float64)


def _most_frequent(values: np.ndarray, limit: int) -> np.ndarray:
    """Every distinct value when there are at most ``limit``; else the ``limit - 1`` most frequent."""
    uniques, counts = np.unique(values, return_counts=True)
    if len(uniques) <= limit:
        return uniques
    return uniques[np.argsort(-counts, kind="stable")[:limit - 1]]


BASELINES: dict[str, type] = {cls.name: cls for cls in
                              (WeightedMeanBaseline, RidgeBaseline, HistGradientBoostingBaseline)}


def fit_baselines(X_train, y_train, w_train, names: Sequence[str] | None = None, seed: int = 42, *,
                  columns: Sequence[str], groups=None) -> dict[str, Baseline]:
    """Fit the named baselines (all of :data:`BASELINES` by default) on the training rows.

    ``columns`` are :func:`design_matrix`'s names (they locate the vocabulary and amenity columns);
    ``groups``, the rows' listing ids, make internal validation hold out whole listings.
    """
    names = list(BASELINES) if names is None else list(names)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; choose from {list(BASELINES)}")
    X = np.asarray(X_train, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != len(columns):
        raise ValueError(f"X_train has shape {X.shape} but columns names {len(columns)} columns")
    y, w = _vector(y_train, "y_train"), _vector(w_train, "w_train")
    if len(y) != len(X) or len(w) != len(X):
        raise ValueError(f"X_train, y_train and w_train must have equal rows, got {len(X)}, {len(y)}, {len(w)}")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("w_train must be >= 0 with a positive sum")
    groups = None if groups is None else np.asarray(groups)
    fitted = {}
    for name in names:
        started = time.perf_counter()
        fitted[name] = BASELINES[name](columns=columns, seed=seed).fit(X, y, w, groups=groups)
        log.info("baseline %s fitted on %d rows in %.1fs", name, len(X), time.perf_counter() - started)
    return fitted


# --------------------------------------------------------------------------- evaluating a run

MODEL_NAME = "additive_axis_model"


@dataclass
class Evaluation:
    """A trained model and the baselines scored on one split of the table it was trained on."""

    split: str
    rows: pd.DataFrame  # the evaluated table rows (SPEC §3.1 columns)
    predictions: pd.DataFrame  # aligned with rows: each model's price and the model's breakdown
    metrics: pd.DataFrame  # one row per model, flat metric columns (see metric_columns)
    buckets: dict[str, pd.DataFrame]  # the additive model's metrics per bucket
    predictor: PricePredictor
    data: dict

    @property
    def multiplicative(self) -> bool:
        """Log-price model: the breakdown is a base price and one factor per axis."""
        return self.predictor.config["model"]["target"] == "log_price"

    def explained(self) -> pd.DataFrame:
        """Rows with their predictions and dollar breakdown (the raw amenity list, whose name the
        amenities axis takes, is left out)."""
        return self.rows.drop(columns=["amenities"]).join(self.predictions)

    def examples(self, n: int = 4, seed: int = 0) -> pd.DataFrame:
        """A few evaluated listing-months of distinct listings, to explain."""
        one_each = self.explained().drop_duplicates("listing_id")
        return one_each.sample(min(n, len(one_each)), random_state=seed)

    def month_profile(self, row: pd.Series) -> pd.DataFrame:
        """That listing-month (an :meth:`examples` row) priced for each month of the year."""
        return self.predictor.predict_months(self.rows.loc[[row.name], TABLE_COLUMNS])

    def to_dict(self) -> dict:
        return {
            "split": self.split,
            "rows": len(self.rows),
            "listings": int(self.rows["listing_id"].nunique()),
            "data": self.data,
            "models": self.metrics.to_dict(orient="index"),
            "buckets": {name: table.reset_index().to_dict(orient="records") for name, table in self.buckets.items()},
        }


def evaluate_run(artifacts_dir: str | Path, data_path: str | Path | None = None, split: str = "test",
                 baselines: Sequence[str] | None = None, seed: int = 42,
                 cache_dir: str | Path | None = None) -> Evaluation:
    """Score a training run's model and the baselines on ``split`` ('test' by default).

    The table is the one the model was trained on (``data_path`` overrides it) and the split is
    the one training recorded in ``splits.parquet``: the baselines train on the very same
    'train' rows with the same inputs and occupancy weights; the test rows were never used for
    fitting or model selection.
    """
    artifacts_dir = Path(artifacts_dir)
    predictor = PricePredictor.load(artifacts_dir, cache_dir)
    data_path = Path(data_path or predictor.config["data"]["path"])
    table = load_table(data_path).merge(pd.read_parquet(artifacts_dir / "splits.parquet"),
                                        on=["listing_id", "year_month"], how="inner")
    digest = file_sha256(data_path)
    if digest != predictor.config["data"]["sha256"]:
        log.warning("%s changed since training (sha256 differs): the split covers only rows present in both",
                    data_path)
    if not (table["split"] == split).any():
        raise ValueError(f"no '{split}' rows in {artifacts_dir / 'splits.parquet'}"
                         + (" (trained with holdout_size=0: use split='validation')" if split == "test" else ""))
    train_rows, rows = (table[table["split"] == s].drop(columns="split").reset_index(drop=True)
                        for s in ("train", split))

    predictions = (predictor.predict_table(rows).drop(columns=["listing_id", "month"])
                   .rename(columns={"recommended_price": "predicted_price"}))
    prices = {MODEL_NAME: predictions["predicted_price"].to_numpy()}
    if baselines is None or len(baselines):
        for name, values in _baseline_predictions(predictor, train_rows, rows, baselines, seed).items():
            prices[name] = predictions[f"{name}_price"] = values
    y, w = rows["target_price"].to_numpy(), rows["estimated_occupancy_rate"].to_numpy()
    return Evaluation(
        split=split, rows=rows, predictions=predictions, metrics=metrics_table(y, prices, w),
        buckets={name: bucket_metrics(y, predictions["predicted_price"], w, values.rename(name))
                 for name, values in _buckets(rows, data_path).items()},
        predictor=predictor,
        data={"path": str(data_path), "sha256": digest, "artifacts": str(artifacts_dir)},
    )


def _baseline_predictions(predictor: PricePredictor, train_rows: pd.DataFrame, rows: pd.DataFrame,
                          names: Sequence[str] | None, seed: int) -> dict[str, np.ndarray]:
    """Fit the baselines on the training rows (same processor, embeddings, weights); predict ``rows``."""
    def matrix(frame):
        dataset = AirbnbDataset(predictor.processor.transform(frame), embedder=predictor.embedder)
        return dataset_design_matrix(dataset)

    X_train, columns, _ = matrix(train_rows)
    fitted = fit_baselines(X_train, train_rows["target_price"], train_rows["estimated_occupancy_rate"], names,
                           seed, columns=columns, groups=train_rows["listing_id"].to_numpy())
    X, _, _ = matrix(rows)
    return {name: model.predict(X) for name, model in fitted.items()}


def _buckets(rows: pd.DataFrame, data_path: Path) -> dict[str, pd.Series]:
    """Room type, borough/group (when the ETL recorded one), cold start and price deciles."""
    buckets = {"room_type": rows["room_type"]}
    summary = summary_path(data_path)
    groups = read_json(summary).get("neighbourhood_groups", {}) if summary.is_file() else {}
    if groups:
        buckets["neighbourhood_group_cleansed"] = rows["neighbourhood_cleansed"].map(groups)
    buckets["reviews_last_12_months"] = review_buckets(rows["number_of_reviews_ltm"])
    buckets["price_decile"] = price_deciles(rows["target_price"])
    return buckets


def write_metrics(evaluation: Evaluation, path: str | Path) -> Path:
    """``metrics.json``, atomically."""
    write_json(path, evaluation.to_dict())
    log.info("wrote %s", path)
    return Path(path)
