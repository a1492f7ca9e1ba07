"""The evaluation's settings (:class:`EvaluateConfig`): ``python -m airbnb.evaluate``'s flags, the
evaluate notebook's parameters and a params file's ``evaluate:`` keys, declared and checked once.
"""
from __future__ import annotations

import re

from . import train
from .baselines import BASELINES, DEFAULT_BASELINES, check_names
from .cli import option
from .config import DEFAULT_ARTIFACTS_DIR
from .errors import ConfigError
from .settings import Literal, Range, Text, settings

SPLITS_SCORED = ("test", "validation")


@settings
class EvaluateConfig:
    """Evaluation settings: the CLI flags, the evaluate notebook's parameters and params-file keys."""

    artifacts_dir: Text = option(str(DEFAULT_ARTIFACTS_DIR), "output_dir of the training run: scores its test split "
                                "(and with --cv, cross-validates its training configuration)",
                                flags=("--artifacts", "--artifacts-dir"))
    data_path: Text | None = option(None, "modeling table (None: the one the run was trained on; with --cv and no "
                                   "--artifacts, the table to cross-validate the preset on)")
    split: Literal[SPLITS_SCORED] = option("test", "'test' (held out) or 'validation'")
    baselines: list[str] = option(list(DEFAULT_BASELINES), "standard learners fitted on the same training rows, "
                                  f"of {list(BASELINES)}")
    metrics_path: Text | None = option(None, "where metrics.json goes (None: inside artifacts_dir; with --cv and no "
                                      "--artifacts, cv_metrics.json beside the table)", flags=("--output", "--metrics-path"))
    seed: Range(int, 0, 2**32 - 1) = option(42, "seed of the baselines (and of a cross-validated preset's training)")
    n_examples: Range(int, 0, 1000) = option(3, "listings whose breakdown the notebook shows", cli=False)
    cv: Range(int, 0, 1000) = option(0, "K-fold cross-validation grouped by listing of the run's training configuration (0: off)")
    neighbourhoods_geojson: Text | None = option(
        None, "the city's neighbourhoods.geojson from Inside Airbnb: the notebook's map fills its neighbourhoods "
        "(None: neighbourhood medians drawn as discs)", cli=False)
    preset: Literal[tuple(train.PRESETS)] = option("default", "training configuration to cross-validate (or to train forward) without "
                         "--artifacts", notebook=False)
    cities: list[str] = option([], "with --cv or --forward-until and no --artifacts: these cities of the table only "
                               "(a run is evaluated on the cities it was trained on)", notebook=False)
    forward_until: Text | None = option(
        None, "a test of time instead of listings: train on the table's snapshots up to this month (YYYY-MM) and "
        "test on the later ones, the model and the baselines (--baselines) on the same split, with the error per "
        "test month (trains the preset on --data-path, or a run's configuration on its table with --artifacts; "
        "results go beside the table as .forward_metrics.json unless --output)", notebook=False)

    def __post_init__(self):
        check_names(self.baselines)
        if self.cv == 1:
            raise ConfigError(f"cv must be an integer >= 2 (the number of folds) or 0 (off), got {self.cv!r}")
        if self.forward_until is not None:
            check_month(self.forward_until, "forward_until")
            if self.cv:
                raise ConfigError("forward_until and cv are two evaluations (time, listings): run one at a time")


def check_month(value, name: str = "until") -> str:
    """``value`` if it is a month ``YYYY-MM``, else a ConfigError naming ``name``."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ConfigError(f"{name} must be a month YYYY-MM, got {value!r}")
    return value

