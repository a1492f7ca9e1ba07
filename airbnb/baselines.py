"""Standard learners on the modeling table: the peers the neural model is measured against.

People who model Inside Airbnb prices fit gradient boosting on *log* price with the table's raw
columns, so that is what these baselines do, configured the way their users configure them:

- :class:`~airbnb.baseline_design.BaselineDesign` turns modeling-table rows into their one plain
  feature frame, learned from the training rows only.
- ``lightgbm``, ``hist_gradient_boosting``, ``ridge`` and ``weighted_mean`` fit log price with
  the occupancy weight as sample weight (SPEC §3.2) and predict dollars as ``exp`` of the
  prediction (the weighted median-like price that minimises log error; no smearing correction,
  as is usual). Validation rows, when given, serve early stopping and model selection only.
- ``lightgbm_mape`` (asked for by name): LightGBM fitted to weighted MAPE itself, on the dollar
  price, the peer of the model's default loss, which is that metric too. Not a default: LightGBM's
  MAPE objective can abort a fit (below).
- ``ebm`` and ``ebm_interactions``: InterpretML's Explainable Boosting Machine, the additive
  glass box people pick when a price must be explained term by term (asked for by name: a fit
  takes minutes where LightGBM takes a second).

:func:`fit_baselines` is the one entry point: design and models fitted on the training rows,
returned as :class:`FittedBaselines` (``predict(rows)``, ``details()`` for ``metrics.json``).

Cost on a synthetic New-York-sized city (2 cores shared with other jobs), 325k training rows x
215 columns: LightGBM 101 s (851 rounds), ridge 84 s (five alphas), HistGradientBoosting 570 s
(824 iterations; it has no sparse features); 216k training rows: LightGBM 49 s (1001 rounds).
Newark (819 training rows): 0.5 s, 0.2 s and 2 s.

Threads: the boosters use every available core. On a machine whose cores are busy with other
work, OpenMP's spin-waiting made 2 threads 10-25x *slower* than 1 (HistGradientBoosting, 100
iterations on Newark: 29 s vs 2.5 s); ``OMP_WAIT_POLICY=passive`` in the environment before
Python starts removed it (2.8 s), as does ``num_threads=1``.
"""
from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass
from typing import Protocol, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from .baseline_design import (AMENITY_PREFIX, INPUT_COLUMNS, TARGET, WEIGHT, BaselineDesign, BaselineError,
                              has_validation, log_target, require_columns)
from .log import get_logger

log = get_logger(__name__)


# --------------------------------------------------------------------------- baselines

class Baseline(Protocol):
    """A learner of log price with sample weights that predicts dollars.

    ``X_val``/``y_val``/``w_val`` are the run's validation rows: for early stopping and model
    selection only. ``hyperparameters_`` records what was chosen (for ``metrics.json``).
    """

    name: str
    hyperparameters_: dict

    def fit(self, X: pd.DataFrame, y_price, weight, X_val: pd.DataFrame | None = None, y_val=None,
            w_val=None) -> "Baseline": ...

    def predict(self, X: pd.DataFrame) -> np.ndarray: ...


def _dollars(log_price: np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(log_price, dtype=np.float64))


class WeightedMeanBaseline:
    """exp of the weighted mean log price: the weighted geometric mean.

    Among constant predictions it minimises the weighted squared *log* error, the loss the
    other baselines fit, so it is the floor every model must clear. Validation rows are ignored.
    """

    name = "weighted_mean"

    def __init__(self, seed: int = 42):
        self.seed = seed

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "WeightedMeanBaseline":
        y, w = log_target(y_price, weight)
        self.log_value_ = float(np.average(y, weights=w))
        self.hyperparameters_ = {"price": float(np.exp(self.log_value_))}
        return self

    def predict(self, X) -> np.ndarray:
        return np.full(len(X), np.exp(self.log_value_))


class RidgeBaseline:
    """scikit-learn Ridge on log price: the linear peer.

    Categoricals one-hot (unknown -> all zeros), numerics imputed with training means and
    standardised, the amenity multi-hot as is. ``alpha`` is the one of ``alphas`` with the lowest
    weighted MSE of log price on the validation rows; each candidate is fitted on the training
    rows, so the kept model is the training-rows fit with that alpha. Without validation rows
    ``default_alpha`` (10) is used: with far more rows than columns alpha matters little.
    """

    name = "ridge"
    ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)

    def __init__(self, seed: int = 42, alphas: Sequence[float] = ALPHAS, default_alpha: float = 10.0):
        self.seed = seed
        self.alphas = tuple(alphas)
        self.default_alpha = default_alpha

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "RidgeBaseline":
        y, w = log_target(y_price, weight)
        self.encoder_ = self._encoder(X).fit(X)
        Z = self.encoder_.transform(X)
        if not has_validation(X_val, y_val, w_val):
            self.model_ = Ridge(alpha=self.default_alpha).fit(Z, y, sample_weight=w)
            self.hyperparameters_ = {"alpha": self.default_alpha, "selected_by": "default (no validation rows)"}
            return self
        yv, wv = log_target(y_val, w_val, "validation")
        Zv = self.encoder_.transform(X_val)
        scores, models = {}, {}
        for alpha in self.alphas:
            models[alpha] = Ridge(alpha=alpha).fit(Z, y, sample_weight=w)
            scores[alpha] = float(np.average((models[alpha].predict(Zv) - yv) ** 2, weights=wv))
        best = min(self.alphas, key=lambda a: (scores[a], a))
        self.model_ = models[best]
        self.hyperparameters_ = {"alpha": best, "selected_by": "validation",
                                 "validation_mse_log": {str(a): s for a, s in scores.items()}}
        return self

    @staticmethod
    def _encoder(X: pd.DataFrame) -> ColumnTransformer:
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        amenity = [c for c in X.columns if c.startswith(AMENITY_PREFIX)]
        numeric = [c for c in X.columns if c not in categorical and c not in amenity]
        return ColumnTransformer([
            ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numbers", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
            ("amenities", "passthrough", amenity),
        ], sparse_threshold=1.0)  # sparse whenever the one-hot is: a 400k-row design stays small

    def predict(self, X) -> np.ndarray:
        return _dollars(self.model_.predict(self.encoder_.transform(X)))


class HistGradientBoostingBaseline:
    """scikit-learn HistGradientBoostingRegressor on log price, native categoricals.

    squared error, ``learning_rate`` 0.05, up to ``max_iter`` (2000) iterations, early stopping after
    50 without improvement of the weighted loss on the validation rows (without them, on its
    internal 10% ``validation_fraction``). The histogram holds at most 255 categories per column:
    beyond that the 255 most frequent training categories are kept, the rest count as missing.
    """

    name = "hist_gradient_boosting"
    MAX_CATEGORIES = 255

    def __init__(self, seed: int = 42, max_iter: int = 2000, learning_rate: float = 0.05,
                 num_threads: int | None = None):
        self.seed = seed
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.num_threads = num_threads or available_cores()

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "HistGradientBoostingBaseline":
        y, w = log_target(y_price, weight)
        self.kept_ = {c: _most_frequent(X[c], self.MAX_CATEGORIES) for c in X.columns
                      if isinstance(X[c].dtype, pd.CategoricalDtype)
                      and len(X[c].cat.categories) > self.MAX_CATEGORIES}
        self.model_ = HistGradientBoostingRegressor(
            loss="squared_error", learning_rate=self.learning_rate, max_iter=self.max_iter,
            early_stopping=True, n_iter_no_change=50, categorical_features="from_dtype", random_state=self.seed)
        with threadpool_limits(self.num_threads, user_api="openmp"):
            if has_validation(X_val, y_val, w_val):
                yv, wv = log_target(y_val, w_val, "validation")
                self.model_.fit(self._features(X), y, w, X_val=self._features(X_val), y_val=yv,
                                sample_weight_val=wv)
                selected_by = "validation"
            else:
                self.model_.fit(self._features(X), y, w)
                selected_by = "internal validation_fraction"
        self.hyperparameters_ = {"iterations": int(self.model_.n_iter_), "max_iter": self.max_iter,
                                 "early_stopping": selected_by}
        return self

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.kept_:
            return X
        X = X.copy()
        for col, kept in self.kept_.items():
            X[col] = X[col].cat.set_categories(kept)
        return X

    def predict(self, X) -> np.ndarray:
        with threadpool_limits(self.num_threads, user_api="openmp"):
            return _dollars(self.model_.predict(self._features(X)))


def _most_frequent(values: pd.Series, limit: int) -> list:
    """The ``limit`` most frequent categories, in their original order."""
    counts = values.value_counts(sort=False).sort_values(ascending=False, kind="stable")
    keep = set(counts.index[:limit])
    return [c for c in values.cat.categories if c in keep]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LightGBMBaseline:
    """LightGBM on log price with the configuration practitioners use.

    L2 objective, ``learning_rate`` 0.05, 31 leaves, min_data_in_leaf 20, feature and bagging
    fraction 0.8 (bagging every iteration), pandas categoricals split natively, ``num_threads``
    every available core unless given. Up to ``max_rounds`` (5000) rounds, stopped after 100
    without improvement of the weighted L2 on the validation rows; predictions use the best
    round. Without validation rows a fixed ``rounds`` (500): about what early stopping picks at
    this learning rate on a real city (Newark: 537).
    """

    name = "lightgbm"
    objective = "regression"  # L2, on log price
    in_dollars = False  # the label: log price (predictions exponentiated) or the dollar price itself

    def __init__(self, seed: int = 42, max_rounds: int = 5000, rounds: int = 500, learning_rate: float = 0.05,
                 num_threads: int | None = None):
        self.seed = seed
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.rounds = rounds
        self.num_threads = num_threads or available_cores()

    @property
    def params(self) -> dict:
        return {"objective": self.objective, "learning_rate": self.learning_rate, "num_leaves": 31,
                "min_data_in_leaf": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
                "seed": self.seed, "num_threads": self.num_threads, "verbose": -1}

    def _label(self, y_price, weight, what: str = "training") -> tuple[np.ndarray, np.ndarray]:
        y, w = log_target(y_price, weight, what)
        return (np.exp(y), w) if self.in_dollars else (y, w)

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "LightGBMBaseline":
        y, w = self._label(y_price, weight)
        self.feature_names_ = lightgbm_feature_names(X.columns)
        train_set = lgb.Dataset(self._features(X), label=y, weight=w, categorical_feature="auto")
        if has_validation(X_val, y_val, w_val):
            yv, wv = self._label(y_val, w_val, "validation")
            valid = lgb.Dataset(self._features(X_val), label=yv, weight=wv, reference=train_set)
            self.booster_ = lgb.train(self.params, train_set, num_boost_round=self.max_rounds, valid_sets=[valid],
                                      valid_names=["validation"],
                                      callbacks=[lgb.early_stopping(100, first_metric_only=True, verbose=False)])
            self.iterations_ = int(self.booster_.best_iteration)
            selected_by = "validation"
        else:
            self.booster_ = lgb.train(self.params, train_set, num_boost_round=self.rounds)
            self.iterations_ = self.rounds
            selected_by = "fixed (no validation rows)"
        self.hyperparameters_ = {"iterations": self.iterations_, "max_rounds": self.max_rounds,
                                 "early_stopping": selected_by}
        return self

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.set_axis(self.feature_names_, axis=1)

    def predict(self, X) -> np.ndarray:
        predicted = self.booster_.predict(self._features(X), num_iteration=self.iterations_,
                                          num_threads=self.num_threads)
        return np.asarray(predicted, dtype=np.float64) if self.in_dollars else _dollars(predicted)


class LightGBMMapeBaseline(LightGBMBaseline):
    """LightGBM fitted to the metric itself: objective ``mape`` on the dollar price (each row's
    weight divided by its price), early-stopped on the validation rows' weighted MAPE.

    The peer of a model trained on absolute percentage error (``--loss ape``, the default): what a
    user judged by MAPE configures. Otherwise :class:`LightGBMBaseline`'s settings.
    """

    name = "lightgbm_mape"
    objective = "mape"
    in_dollars = True

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "LightGBMMapeBaseline":
        """As LightGBM's; an abort inside LightGBM (its tree learner's "Check failed:
        (best_split_info.left_count) > (0)", an open LightGBM bug that this objective's tiny
        per-row weights, occupancy / price, have hit on some folds) becomes a clear error."""
        try:
            return super().fit(X, y_price, weight, X_val, y_val, w_val)
        except lgb.basic.LightGBMError as exc:
            raise BaselineError(f"lightgbm_mape: LightGBM's MAPE objective aborted the fit ({exc}); leave "
                                "lightgbm_mape out of the baselines for this table") from exc


class ExplainableBoostingBaseline:
    """InterpretML's Explainable Boosting Machine on log price: the glass-box additive peer.

    A sum of one shape function per feature (cyclic boosting of shallow trees), which is what
    people choose when a price must be explained term by term, like the neural model's axes.
    InterpretML's defaults (14 outer bags, each early-stopping on its own 15% of the rows) except
    ``interactions``: 0 gives main effects only (``ebm``); ``ebm_interactions`` adds the 10 pairs
    its FAST search ranks first (the default ``"3x"`` pairs took over 12 minutes per fit on
    Newark's 1,000 rows). It has no external early-stopping hook, so the run's validation rows
    join its fitting rows: its bags hold out their own, and it sees more rows than the others.
    Missing numbers are binned on their own, as the boosters route them.
    """

    name = "ebm"
    interactions = 0

    def __init__(self, seed: int = 42, num_threads: int | None = None):
        self.seed = seed
        self.num_threads = num_threads or available_cores()

    def fit(self, X, y_price, weight, X_val=None, y_val=None, w_val=None) -> "ExplainableBoostingBaseline":
        from interpret.glassbox import ExplainableBoostingRegressor

        y, w = log_target(y_price, weight)
        if has_validation(X_val, y_val, w_val):
            yv, wv = log_target(y_val, w_val, "validation")
            X, y, w = pd.concat([X, X_val]), np.concatenate([y, yv]), np.concatenate([w, wv])
        self.model_ = ExplainableBoostingRegressor(interactions=self.interactions, random_state=self.seed,
                                                   n_jobs=self.num_threads)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Missing values detected")
            self.model_.fit(X, y, sample_weight=w)
        self.hyperparameters_ = {"terms": len(self.model_.term_features_), "interactions": self.interactions,
                                 "outer_bags": self.model_.outer_bags, "fitted_on": "training + validation rows"}
        return self

    def predict(self, X) -> np.ndarray:
        return _dollars(self.model_.predict(X))


class ExplainableBoostingInteractionsBaseline(ExplainableBoostingBaseline):
    """The EBM with its 10 strongest pairwise interactions (a GA2M)."""

    name = "ebm_interactions"
    interactions = 10


def lightgbm_feature_names(columns: Sequence[str]) -> list[str]:
    """LightGBM rejects JSON characters (``:``, ``,``, quotes...) in names: ``amenity: Wifi`` ->
    ``amenity__Wifi``; a numeric suffix keeps two sanitised names apart."""
    names, seen = [], set()
    for col in columns:
        name = re.sub(r"[^0-9A-Za-z_]", "_", str(col))
        while name in seen:
            name += f"_{len(names)}"
        seen.add(name)
        names.append(name)
    return names


BASELINES: dict[str, type] = {
    cls.name: cls for cls in (LightGBMBaseline, HistGradientBoostingBaseline, RidgeBaseline, WeightedMeanBaseline,
                              LightGBMMapeBaseline, ExplainableBoostingBaseline, ExplainableBoostingInteractionsBaseline)}
# What a run is evaluated against unless told otherwise: the EBMs are asked for by name (``--baselines``),
# since one fit takes minutes where LightGBM takes a second (README, "How good is it?").
DEFAULT_BASELINES: tuple[str, ...] = ("lightgbm", "hist_gradient_boosting", "ridge", "weighted_mean")


# --------------------------------------------------------------------------- fitting them all

@dataclass
class FittedBaselines:
    """The training rows' design and the baselines fitted on it."""

    design: BaselineDesign
    models: dict[str, Baseline]
    fit_seconds: dict[str, float]

    def predict(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """Dollar prices of ``rows`` per baseline (their targets, if present, are not read)."""
        X = self.design.transform(rows)
        return {name: model.predict(X) for name, model in self.models.items()}

    def details(self) -> dict[str, dict]:
        """What each fit chose (alpha, iterations) and how long it took, for ``metrics.json``."""
        return {name: {**model.hyperparameters_, "fit_seconds": round(self.fit_seconds[name], 3)}
                for name, model in self.models.items()}


def _make(name: str, seed: int, num_threads: int | None) -> Baseline:
    cls = BASELINES[name]
    threaded = issubclass(cls, (LightGBMBaseline, HistGradientBoostingBaseline, ExplainableBoostingBaseline))
    return cls(seed=seed, num_threads=num_threads) if threaded else cls(seed=seed)


def check_names(names: Sequence[str] | None) -> list[str]:
    """The requested baselines (:data:`DEFAULT_BASELINES` when ``None``)."""
    if isinstance(names, str):
        names = [names]
    names = list(DEFAULT_BASELINES) if names is None else list(names)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise BaselineError(f"unknown baseline(s) {unknown}; choose from {list(BASELINES)}")
    return names


def fit_baselines(train_rows: pd.DataFrame, validation_rows: pd.DataFrame | None = None,
                  names: Sequence[str] | None = None, seed: int = 42, *,
                  num_threads: int | None = None) -> FittedBaselines:
    """Fit the design and the named baselines on ``train_rows`` (modeling-table rows).

    ``validation_rows`` (the run's validation split) drive early stopping and ridge's alpha only;
    no other rows are seen. ``seed`` seeds the boosters; ``num_threads`` (default: every
    available core) is their thread count.
    """
    names = check_names(names)
    require_columns(train_rows, [*INPUT_COLUMNS, TARGET, WEIGHT], "training rows")
    if validation_rows is not None:
        require_columns(validation_rows, [*INPUT_COLUMNS, TARGET, WEIGHT], "validation rows")
    design = BaselineDesign().fit(train_rows)
    X, y, w = design.transform(train_rows), train_rows[TARGET].to_numpy(), train_rows[WEIGHT].to_numpy()
    val = ((design.transform(validation_rows), validation_rows[TARGET].to_numpy(),
            validation_rows[WEIGHT].to_numpy()) if validation_rows is not None and len(validation_rows)
           else (None, None, None))
    log.info("baseline design: %d training rows x %d columns (%d amenities)%s", len(X), X.shape[1],
             len(design.amenity_columns), f", {len(val[0])} validation rows" if val[0] is not None else "")
    models, seconds = {}, {}
    for name in names:
        started = time.perf_counter()
        models[name] = _make(name, seed, num_threads).fit(X, y, w, *val)
        seconds[name] = time.perf_counter() - started
        chosen = ", ".join(f"{k} {v}" for k, v in models[name].hyperparameters_.items()
                           if k in ("alpha", "iterations"))
        log.info("baseline %s fitted in %.1fs%s", name, seconds[name], f" ({chosen})" if chosen else "")
    return FittedBaselines(design, models, seconds)
