"""Regression metrics of predicted prices, weighted by occupancy and not: one definition for
training's validation, the evaluation report, cross-validation and the buckets."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error

METRICS = ("mape", "mae", "rmse", "r2", "rmse_log")
KINDS = ("weighted", "unweighted")
# Predictions are clipped to this many dollars before taking logs: a price at or below zero has no
# log, and $1 is far below any real nightly price, so clipping only ever makes rmse_log worse.
LOG_PRICE_FLOOR = 1.0


def metric_columns() -> list[str]:
    """Flat ``<metric>_<weighted|unweighted>`` column names, metric-major (e.g. ``mape_weighted``)."""
    return [f"{metric}_{kind}" for metric in METRICS for kind in KINDS]


# What each flat column means to a reader: MAPE shown in percent, the rest in their own units.
LABELS = {"mape": "MAPE %", "mae": "MAE $", "rmse": "RMSE $", "r2": "R²", "rmse_log": "RMSE of log price"}


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`metrics_table` for people: labelled columns (weighted first), MAPE in percent, models
    best first by weighted MAPE (the figure the verdicts compare)."""
    table = table.sort_values("mape_weighted", kind="stable")
    columns = {f"{m}_{kind}": f"{LABELS[m]} ({'occupancy-weighted' if kind == 'weighted' else 'unweighted'})"
               for kind in KINDS for m in METRICS}
    shown = table[list(columns)].rename(columns=columns)
    percent = [c for c in shown if c.startswith(LABELS["mape"])]
    shown[percent] = shown[percent] * 100
    return shown.round(2)


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


INTERVAL_LEVEL = 0.9  # the central share of resampled test splits a split's interval spans
INTERVAL_DRAWS = 2000
BOOTSTRAP_CELLS = 4_000_000  # listing counts drawn at a time (32 MB): a city of any size stays in memory


def split_intervals(y_true, predictions: dict[str, np.ndarray], weights, listing_ids, reference: str,
                    level: float = INTERVAL_LEVEL, draws: int = INTERVAL_DRAWS, seed: int = 0) -> dict:
    """How far one test split's weighted MAPEs could move with which listings fall into it.

    The split's listings are resampled with replacement (a listing keeps all its rows): the
    ``level`` central interval of each model's weighted MAPE, and of ``reference``'s minus each
    other model's on the same draws (paired, so a gap is read against its own noise, which is
    smaller than either figure's). A fraction, like ``mape``. Vectorised: each draw is a vector of
    listing counts, and a weighted MAPE is a ratio of two dot products with it.
    """
    y, _, w = _check_inputs(y_true, next(iter(predictions.values())), weights)
    groups = pd.factorize(pd.Series(listing_ids).to_numpy())[0]
    n = groups.max() + 1
    # per listing (a row each): its weight, then each model's weighted absolute percentage error
    columns = [w]
    for name, values in predictions.items():
        _, p, _ = _check_inputs(y, values, w, pred_name=f"predictions[{name!r}]")
        columns.append(w * np.abs(p - y) / y)
    sums = np.stack([np.bincount(groups, weights=c, minlength=n) for c in columns], axis=1)
    rng, totals = np.random.default_rng(seed), []
    for size in np.diff(np.r_[0:draws:max(1, BOOTSTRAP_CELLS // n), draws]):  # (draws, listings) counts in chunks
        totals.append(rng.multinomial(n, np.full(n, 1 / n), size=size) @ sums)
    totals = np.concatenate(totals)
    with np.errstate(invalid="ignore", divide="ignore"):  # a draw of zero-weight listings only: NaN, skipped
        mape = dict(zip(predictions, (totals[:, 1:] / totals[:, :1]).T))
    tails = [(1 - level) / 2, (1 + level) / 2]
    return {"level": level, "draws": draws, "unit": "listing", "reference": reference,
            "mape_weighted": {name: np.nanquantile(v, tails).tolist() for name, v in mape.items()},
            "gap": {name: np.nanquantile(mape[reference] - v, tails).tolist() for name, v in mape.items()
                    if name != reference}}


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


REVIEW_BUCKETS = ("0", "1–4", "5+")


def review_buckets(number_of_reviews_ltm) -> pd.Series:
    """Cold-start buckets of reviews in the last 12 months: "0" (new or dormant listings), "1–4", "5+"
    (ordered categorical)."""
    counts = pd.Series(number_of_reviews_ltm, dtype="float64")
    if (counts < 0).any():
        raise ValueError("number_of_reviews_ltm has negative counts")
    labels = pd.cut(counts, [-np.inf, 0, 4, np.inf], labels=list(REVIEW_BUCKETS), ordered=True)
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
    mse = mean_squared_error(y, p, sample_weight=w)
    total = np.average((y - np.average(y, weights=w)) ** 2, weights=w)  # R² is NaN, not 0, without spread
    log_mse = mean_squared_error(np.log(y), np.log(np.maximum(p, LOG_PRICE_FLOOR)), sample_weight=w)
    return {
        "mape": float(mean_absolute_percentage_error(y, p, sample_weight=w)),
        "mae": float(mean_absolute_error(y, p, sample_weight=w)),
        "rmse": float(np.sqrt(mse)),
        "r2": float(1 - mse / total) if total > 0 else float("nan"),
        "rmse_log": float(np.sqrt(log_mse)),
    }


def _both(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Weighted and unweighted metrics under :func:`metric_columns` names."""
    weighted = _metrics(y, p, w) if w.sum() > 0 else dict.fromkeys(METRICS, float("nan"))
    unweighted = _metrics(y, p, None)
    return {f"{m}_{kind}": values[m] for m in METRICS for kind, values in zip(KINDS, (weighted, unweighted))}


def percent_html(attributes: str, value: float, sd: float | None) -> str:
    """A weighted MAPE as pages show it (one decimal, ± the folds' sd); ``data-value`` holds the
    exact figure, so a browser test can check the page against metrics.json."""
    spread = f" ± {100 * sd:.1f}" if sd is not None else ""
    return f"<span {attributes} data-value='{value!r}'>{100 * value:.1f}%</span>{spread}"
