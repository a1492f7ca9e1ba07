"""The verdict of an evaluation: the model's weighted MAPE against the best baseline's, and which
figure to trust (cross-validation over a single test split), from a ``metrics.json``'s content.

Light on purpose (no model, no torch): the report and the explorer's page quote it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

MODEL_NAME = "additive_axis_model"  # the model's name in every metrics table, beside the baselines'
CV_FOLDS = 5  # the cross-validation a city run does and a verdict without one recommends


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
    # a single split's (model - baseline) interval over resampled listings, and its level (fractions)
    gap_interval: tuple[float, float] | None = None
    interval_level: float | None = None

    def headline(self) -> str:
        def pct(value, sd):
            return f"{100 * value:.1f}%" + (f" ± {100 * sd:.1f}" if sd is not None else "")

        gap = "better than" if self.model_mape < self.baseline_mape else "worse than"
        spread = f"; {self.gap_note()}" if self.gap_interval is not None else ""
        return (f"model's weighted MAPE {pct(self.model_mape, self.model_sd)} vs {self.baseline}'s "
                f"{pct(self.baseline_mape, self.baseline_sd)} ({self.source}: {gap} the best baseline{spread})")

    def gap_note(self) -> str:
        """The single split's gap (model - baseline, in points) with its interval; "" without one."""
        if self.gap_interval is None:
            return ""
        lo, hi = (100 * v for v in self.gap_interval)
        return (f"the gap {100 * (self.model_mape - self.baseline_mape):+.1f} points, "
                f"{100 * self.interval_level:.0f}% interval {lo:+.1f} to {hi:+.1f} over its listings")


def verdict(metrics: dict) -> Verdict:
    """The :class:`Verdict` of a ``metrics.json``'s content (it needs at least one baseline)."""
    split = metrics["models"]
    if len(split) < 2:
        raise ConfigError("metrics hold no baseline to compare the model with: evaluate with baselines")
    test_listings = metrics["listings"]
    cv = metrics.get("cv")
    if cv is None:
        best = best_baseline(split)
        intervals = metrics.get("intervals") or {}
        level, gap = intervals.get("level"), intervals.get("gap", {}).get(best)
        detail = ""
        if level is not None and MODEL_NAME in intervals.get("mape_weighted", {}):
            lo, hi = (100 * v for v in intervals["mape_weighted"][MODEL_NAME])
            detail = f" (the model's {100 * level:.0f}% interval: {lo:.1f}% to {hi:.1f}%, by resampling them)"
        return Verdict("test split", split[MODEL_NAME]["mape_weighted"], best, split[best]["mape_weighted"],
                       None, None,
                       f"only the single test split ({test_listings} listings) was scored: its figure moves by "
                       f"points with which listings fall into it{detail}; cross-validate (--cv {CV_FOLDS}, or "
                       f"cv: {CV_FOLDS} in a params file) for a figure to trust",
                       tuple(gap) if gap is not None else None, level if gap is not None else None)
    mean, sd = cv["mean"], cv["sd"]
    best = best_baseline(mean)
    tested = sum(f["test_rows"] for f in cv["folds"] if f["model"] == MODEL_NAME)
    ranks = "" if best_baseline(split) == best and _beats(split) == _beats(mean) else (
        "; the single split ranks the models differently, which is that noise")
    return Verdict(f"{cv['k']}-fold cross-validation", mean[MODEL_NAME]["mape_weighted"], best,
                   mean[best]["mape_weighted"], sd[MODEL_NAME]["mape_weighted"], sd[best]["mape_weighted"],
                   f"trust the cross-validation figure: it tests every listing-month once ({tested} rows, "
                   f"refitting every model {cv['k']} times) where the single test split holds "
                   f"{test_listings} listings{ranks}")


def best_baseline(models: dict) -> str:
    """The baseline with the lowest weighted MAPE of a ``{model: metrics}`` mapping."""
    baselines = {name: values["mape_weighted"] for name, values in models.items() if name != MODEL_NAME}
    return min(baselines, key=baselines.get)


def _beats(models: dict) -> bool:
    """Whether the model's weighted MAPE beats the best baseline's."""
    return models[MODEL_NAME]["mape_weighted"] < models[best_baseline(models)]["mape_weighted"]
