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
        best = best_baseline(split)
        return Verdict("test split", split[MODEL_NAME]["mape_weighted"], best, split[best]["mape_weighted"],
                       None, None,
                       f"only the single test split ({test_listings} listings) was scored: its figure moves by "
                       f"points with which listings fall into it; cross-validate (--cv {CV_FOLDS}, or cv: {CV_FOLDS} "
                       "in a params file) for a figure to trust")
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
