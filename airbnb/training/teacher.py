"""Distillation: training targets softened towards a boosted teacher's out-of-fold log prices.

On a small city the listed prices carry much listing-specific noise, and a network fitting them
row by row learns part of it. LightGBM, fitted on the same training rows, averages that noise
over similar listings; its predictions are a smoother target. Each training row's teacher price
comes from a booster that never saw that row (K folds grouped by listing, each early-stopped on
the run's validation rows), so the teacher's own overfitting does not leak into the target. The
model stays additive: only what it is fitted to changes, never what it can represent.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ..baselines import TARGET, WEIGHT, BaselineDesign, LightGBMBaseline
from ..log import get_logger

log = get_logger(__name__)

TEACHER_FOLDS = 5


def teacher_log_prices(train_rows: pd.DataFrame, validation_rows: pd.DataFrame, seed: int,
                       folds: int = TEACHER_FOLDS) -> np.ndarray:
    """Each training row's log price from a LightGBM fitted on the other folds' listings."""
    design = BaselineDesign().fit(train_rows)
    X, Xv = design.transform(train_rows), design.transform(validation_rows)
    y, w = train_rows[TARGET].to_numpy(np.float64), train_rows[WEIGHT].to_numpy(np.float64)
    yv, wv = validation_rows[TARGET].to_numpy(np.float64), validation_rows[WEIGHT].to_numpy(np.float64)
    out = np.empty(len(train_rows))
    k = min(folds, train_rows["listing_id"].nunique())
    for fit, held in GroupKFold(k).split(X, groups=train_rows["listing_id"].to_numpy()):
        # one thread: training runs beside it, and OpenMP's spin-waiting on busy cores made two
        # threads many times slower than one (airbnb.baselines)
        booster = LightGBMBaseline(seed=seed, num_threads=1).fit(X.iloc[fit], y[fit], w[fit], Xv, yv, wv)
        out[held] = np.log(booster.predict(X.iloc[held]))
    return out


def distilled(train_rows: pd.DataFrame, validation_rows: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """``train_rows`` whose target is exp((1 - share)·log listed + share·log teacher)."""
    if not share:
        return train_rows
    teacher = teacher_log_prices(train_rows, validation_rows, seed)
    listed = np.log(train_rows[TARGET].to_numpy(np.float64))
    log.info("distillation: training target %.0f%% listed, %.0f%% LightGBM teacher (out-of-fold, %d folds; "
             "teacher vs listed: median |log ratio| %.3f)", 100 * (1 - share), 100 * share, TEACHER_FOLDS,
             float(np.median(np.abs(teacher - listed))))
    target = np.exp((1 - share) * listed + share * teacher)
    return train_rows.assign(**{TARGET: target.astype(train_rows[TARGET].dtype)})
