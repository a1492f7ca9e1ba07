"""Calibrated price ranges: weighted split-conformal prediction on log price.

A range ``[price_low, price_high]`` that holds a chosen share (the *coverage*, default 80%) of
listed prices. It is calibrated once, at the end of training, on the validation rows (listings
the model never trained on) and recorded in the run's ``model_config.json``; evaluation reports
the share of the **test** rows' prices it actually holds (``metrics.json`` → ``price_range``).

The method is split-conformal prediction with the occupancy weights of SPEC §3.2, on log price,
so a range scales with the price (a $400 loft gets a wider dollar range than a $60 room):

- each validation row ``i`` gets the score ``s_i = |log y_i - log ŷ_i|`` (listed vs recommended
  price) and its occupancy weight ``w_i`` in (0, 1];
- for coverage ``1 - α`` the half-width ``q`` is the finite-sample-corrected weighted quantile
  of the scores (Barber, Candès, Ramdas & Tibshirani, "Conformal prediction beyond
  exchangeability", Ann. Statist. 2023, with fixed weights and the test point's weight 1)::

      q = inf { s : Σ_{i: s_i <= s} w_i / (Σ_j w_j + 1) >= 1 - α }

  i.e. the weighted empirical distribution of the scores with one more point of weight 1 at
  +∞. With equal weights 1 it is the classical ``⌈(n + 1)(1 - α)⌉``-th smallest score. When the
  validation rows' weight cannot reach ``1 - α`` (``Σ w / (Σ w + 1) < 1 - α``, very few rows)
  ``q`` is +∞: the range is then ``[0, ∞)``, honestly unknown;
- the range of a recommended price ``ŷ`` is ``[ŷ e^-q, ŷ e^q]``: always positive, and
  symmetric in log price around the recommendation.

Weighting by occupancy makes the coverage hold for the weighted population the model is fitted
to (listings with demonstrated demand count more); evaluation reports both the weighted and the
unweighted share. The half-widths are stored for coverages 0.01, 0.02, ..., 0.99 (exact there);
a coverage between two of them is interpolated linearly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .breakdown import predict_dataset
from .dataset import AirbnbDataset
from .errors import ConfigError
from .model import AdditiveAxisModel, EnsembleModel

DEFAULT_COVERAGE = 0.8
LEVELS = tuple(round(k / 100, 2) for k in range(1, 100))  # the coverages a calibration stores
METHOD = "weighted split-conformal, |log listed - log recommended|, test weight 1"
REPORTED = (0.5, 0.8, 0.9, 0.95)  # the coverages evaluation reports


def check_coverage(coverage) -> float:
    """``coverage`` as a float in [0.01, 0.99], or a ConfigError naming it."""
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float, np.floating)) or not (
            LEVELS[0] <= float(coverage) <= LEVELS[-1]):
        raise ConfigError(f"coverage must be a number from {LEVELS[0]} to {LEVELS[-1]} (e.g. 0.8 for an 80% "
                          f"range), got {coverage!r}")
    return float(coverage)


def weighted_conformal_quantile(scores: np.ndarray, weights: np.ndarray, coverage: float | np.ndarray,
                                test_weight: float = 1.0) -> np.ndarray:
    """The finite-sample-corrected weighted quantile above (+∞ where the weight cannot reach it)."""
    scores, weights = np.asarray(scores, np.float64), np.asarray(weights, np.float64)
    order = np.argsort(scores, kind="stable")
    mass = np.cumsum(weights[order]) / (weights.sum() + test_weight)
    # the first sorted score whose cumulative share reaches the coverage (1e-12: float sums of equal weights)
    index = np.searchsorted(mass, np.asarray(coverage, np.float64) - 1e-12, side="left")
    sorted_scores = np.append(scores[order], np.inf)
    return sorted_scores[np.minimum(index, len(scores))]


@dataclass(frozen=True)
class Calibration:
    """Half-widths in log price per coverage level, from a split's listed and recommended prices."""

    half_widths: tuple[float, ...]  # one per LEVELS entry (math.inf: unbounded)
    rows: int
    weight_sum: float
    split: str = "validation"

    @classmethod
    def fit(cls, listed, recommended, weights, split: str = "validation") -> "Calibration":
        listed, recommended = np.asarray(listed, np.float64), np.asarray(recommended, np.float64)
        weights = np.asarray(weights, np.float64)
        keep = (listed > 0) & np.isfinite(recommended) & (weights > 0)
        # a dollar model's price can be <= 0 for a few rows: its log error is then taken from 1 cent
        scores = np.abs(np.log(listed[keep]) - np.log(np.maximum(recommended[keep], 0.01)))
        widths = weighted_conformal_quantile(scores, weights[keep], np.asarray(LEVELS))
        return cls(tuple(float(q) for q in widths), int(keep.sum()), round(float(weights[keep].sum()), 6), split)

    def half_width(self, coverage: float = DEFAULT_COVERAGE) -> float:
        """``q`` for ``coverage`` (exact at LEVELS, linear in between)."""
        coverage = check_coverage(coverage)
        position = coverage * 100 - 1
        lo = int(math.floor(position + 1e-9))
        hi = min(lo + 1, len(LEVELS) - 1)
        a, b = self.half_widths[lo], self.half_widths[hi]
        share = position - lo
        if share < 1e-9:
            return a
        return math.inf if math.isinf(a) or math.isinf(b) else a + share * (b - a)

    def interval(self, price, coverage: float = DEFAULT_COVERAGE) -> tuple[np.ndarray, np.ndarray]:
        """(price_low, price_high) around recommended prices."""
        price = np.asarray(price, np.float64)
        q = self.half_width(coverage)
        if math.isinf(q):
            return np.zeros_like(price), np.full_like(price, np.inf)
        return price * math.exp(-q), price * math.exp(q)

    def to_record(self) -> dict:
        """What ``model_config.json`` keeps (JSON: an unbounded half-width is null)."""
        return {"method": METHOD, "split": self.split, "rows": self.rows, "weight_sum": self.weight_sum,
                "levels": list(LEVELS), "half_widths": [None if math.isinf(q) else q for q in self.half_widths]}

    @classmethod
    def from_record(cls, record: dict | None) -> "Calibration | None":
        """The calibration a run recorded (None: a run from before calibrated ranges)."""
        if not record:
            return None
        if list(record["levels"]) != list(LEVELS):
            raise ConfigError(f"calibration levels {record['levels'][:3]}... are not this version's {LEVELS[:3]}...")
        widths = tuple(math.inf if q is None else float(q) for q in record["half_widths"])
        return cls(widths, int(record["rows"]), float(record["weight_sum"]), record.get("split", "validation"))


def calibrate_model(model: AdditiveAxisModel | EnsembleModel, dataset: AirbnbDataset,
                    split: str = "validation") -> Calibration:
    """Calibrate on a dataset's rows (its ``target_price`` and occupancy weight) priced by ``model``."""
    predicted = predict_dataset(model, dataset, device=next(model.parameters()).device)["predicted_price"]
    listed = dataset.tensors["target_price"].flatten().numpy()
    weights = dataset.tensors["estimated_occupancy_rate"].flatten().numpy()
    return Calibration.fit(listed, predicted.to_numpy(), weights, split)


def coverage_report(listed, low, high, weights, coverage: float = DEFAULT_COVERAGE) -> dict:
    """The share of listed prices inside their ranges (weighted by occupancy, and not) and how wide
    the ranges are (median ``price_high / price_low``)."""
    listed, low, high = (np.asarray(a, np.float64) for a in (listed, low, high))
    weights = np.asarray(weights, np.float64)
    inside = (listed >= low) & (listed <= high)
    return {"coverage_target": coverage,
            "coverage_weighted": float(np.average(inside, weights=weights)) if weights.sum() > 0 else math.nan,
            "coverage_unweighted": float(inside.mean()) if len(inside) else math.nan,
            "median_high_over_low": float(np.median(high / low)) if len(inside) else math.nan,
            "rows": int(len(inside))}


def split_report(calibration: Calibration | None, listed, recommended, weights,
                 coverages=REPORTED) -> dict:
    """``metrics.json``'s ``price_range``: the achieved coverage of each reported range on a split."""
    if calibration is None:
        return {"calibrated": False, "note": "a run from before calibrated ranges: retrain to get them"}
    levels = {}
    for coverage in coverages:
        low, high = calibration.interval(recommended, coverage)
        q = calibration.half_width(coverage)
        levels[f"{coverage:.2f}"] = {**coverage_report(listed, low, high, weights, coverage),
                                     "half_width_log": None if math.isinf(q) else q}
    return {"calibrated": True, "method": METHOD, "calibrated_on": calibration.split,
            "calibration_rows": calibration.rows, **levels[f"{DEFAULT_COVERAGE:.2f}"], "levels": levels}
