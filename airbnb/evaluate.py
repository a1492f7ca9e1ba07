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

This module is the command and the public entry point; the work is in :mod:`airbnb.evaluate_run`
(a run's own split), :mod:`airbnb.evaluate_cv`, :mod:`airbnb.evaluate_forward`,
:mod:`airbnb.evaluate_tables` (per bucket) and :mod:`airbnb.evaluate_verdict`.

    python -m airbnb.evaluate --artifacts runs/default/artifacts          # the run's test split
    python -m airbnb.evaluate --artifacts runs/default/artifacts --cv 5   # and 5-fold CV of its config
    python -m airbnb.evaluate --data-path table.parquet --cv 5            # CV of the default config
    python -m airbnb.evaluate --data-path panel.parquet --forward-until 2025-03  # train up to 2025-03, test later
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Sequence

from . import train
from .artifacts import METRICS, train_config
from .cli import DefaultsHelpFormatter, add_config_flags, description
from .errors import ConfigError, command_line
from .evaluate_config import EvaluateConfig
from .evaluate_cv import CrossValidation, cross_validate
from .evaluate_forward import ForwardValidation, forward_splits, forward_validate
from .evaluate_run import Evaluation, evaluate_run, month_effects, write_metrics
from .evaluate_tables import month_summary
from .evaluate_verdict import CV_FOLDS, MODEL_NAME, Verdict, best_baseline, verdict
from .io import exclusive, refuse_input, write_json
from .log import get_logger, setup_logging
from .metrics import readable_table

# The names notebooks, the report, benchmarks and tests use as airbnb.evaluate.<name>.
__all__ = ["CV_FOLDS", "MODEL_NAME", "CrossValidation", "EvaluateConfig", "Evaluation", "ForwardValidation", "Verdict",
           "cross_validate", "evaluate_run", "forward_splits", "forward_validate", "main", "month_effects",
           "month_summary", "run_config", "verdict", "write_metrics"]

log = get_logger(__name__)


def run_config(artifacts_dir: str | Path) -> train.TrainConfig:
    """The training configuration a run recorded in its ``model_config.json``."""
    saved = train_config(artifacts_dir)
    known = {f.name for f in dataclasses.fields(train.TrainConfig)}
    return train.TrainConfig(**{key: value for key, value in saved.items() if key in known})


# --------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    """Flags generated from EvaluateConfig; the parsed namespace holds only the flags given."""
    parser = argparse.ArgumentParser(prog="python -m airbnb.evaluate", description=description(__doc__),
                                     formatter_class=DefaultsHelpFormatter)
    add_config_flags(parser, EvaluateConfig)
    return parser


def main(argv: Sequence[str] | None = None) -> Evaluation | CrossValidation | ForwardValidation:
    given = vars(build_parser().parse_args(argv))
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
        best = best_baseline(models)
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
