"""Hyperparameter search with Optuna: the study, its trials, its outputs and Optuna's figures of it.

    python -m airbnb.tune --data-path table.parquet --n-trials 20 --epochs 5 \\
        --study-dir tuning/ --champion-dir champion/ --champion-threshold 2500

Every trial is an ordinary training run (``airbnb.train.train``) with the settings of
``SEARCH_SPACE`` sampled by a seeded TPE sampler, written to ``<study_dir>/trials/<number>``. A
median pruner stops trials whose validation loss lags the others' at the same epoch. The study
lives in ``<study_dir>/study.db`` (SQLite), so running again with the same ``study_dir`` and
``study_name`` continues it.

Outputs in ``study_dir`` (written atomically): ``trials.csv`` (one row per trial, rewritten after
each trial) and ``best_params.yaml`` (the best trial's settings as flat params-file keys, which are
``TrainConfig`` field names). The best trial is then promoted to ``champion_dir`` only when it
beats ``champion_threshold`` and the champion already there (:mod:`airbnb.champion`).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np
import optuna
import pandas as pd
import yaml
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial

from . import artifacts, train
from .champion import Promotion, completed, promote
from .cli import DefaultsHelpFormatter, add_config_flags, defaults, description, option
from .config import DEFAULT_TABLE_PATH
from .errors import ConfigError, command_line
from .io import atomic_path, exclusive
from .log import get_logger, setup_logging
from .schema import TableError
from .settings import Literal, Range, Text, settings

log = get_logger(__name__)

# The search space, in one place: TrainConfig field -> distribution. Every other training setting
# comes from the base config. amenities_hidden stays at the base value (0 by default): a hidden
# layer would end "the amenities axis is a sum of per-amenity dollar values" (embeddings.py).
SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    "batch_size": CategoricalDistribution((64, 128, 256, 512)),
    "weight_decay": FloatDistribution(1e-7, 1e-2, log=True),  # sampled only when WEIGHT_DECAY_SWITCH is on
    "location_hidden": IntDistribution(8, 128, log=True),
    "size_capacity_hidden": IntDistribution(8, 128, log=True),
    "quality_reputation_hidden": IntDistribution(8, 128, log=True),
    "seasonality_hidden": IntDistribution(4, 64, log=True),
    "neighbourhood_embedding_dim": IntDistribution(4, 32, log=True),
    "property_type_embedding_dim": IntDistribution(2, 16, log=True),
    "count_embedding_dim": IntDistribution(2, 8, log=True),
}
# A categorical switch in front of weight decay: "none at all" (0) gets a real share of the trials,
# which a log-uniform range cannot give it.
WEIGHT_DECAY_SWITCH = "use_weight_decay"
# Metrics a study can optimise (the validation metrics train() reports) and their direction.
METRICS = {"val_loss": "minimize", "val_rmse": "minimize", "val_mape_weighted": "minimize",
           "val_r2_weighted": "maximize"}
# Base settings that are not the user's to set for a trial: the tuner sets output_dir and progress
# itself, and a trial is one model trained from scratch (no resume, no ensemble: the best settings
# then train the default ensemble).
TUNER_OWNED = {"output_dir", "progress", "resume", "ensemble_size"}
OUTPUTS = {"trials": "trials.csv", "best_params": "best_params.yaml", "storage": "study.db", "trials_dir": "trials"}


@settings
class TuneConfig:
    """A study: base training settings, budget, pruning, where it lives, and the champion rule."""

    # 5 epochs per trial: enough to rank settings at a fraction of a full run's cost
    base: train.TrainConfig = field(default_factory=lambda: train.TrainConfig(epochs=5),
                                    metadata={"help": "training settings every trial starts from"})
    n_trials: Range(int, 1, 100_000) = option(20, "trials to run in this session (a continued study adds them)")
    timeout: Range(float, 0, 1e9) = option(0.0, "stop starting new trials after this many seconds (0: no limit)")
    study_dir: Text = option("tuning", "where study.db, trials/<n>/, trials.csv and best_params.yaml go")
    study_name: Text = option("airbnb-price", "study name inside study.db")
    metric: Literal[tuple(METRICS)] = option("val_loss", "validation metric to optimise (val_r2_weighted is maximised, the others "
                       "minimised)")
    pruner_startup_trials: Range(int, 0, 100_000) = option(5, "trials that always finish before any trial may be pruned")
    pruner_warmup_epochs: Range(int, 0, 10_000) = option(1, "epochs every trial completes before it may be pruned")
    champion_dir: Text = option("champion", "where the best trial's artifacts are promoted ('': never promote)")
    champion_threshold: float | None = option(None, "promote only if the best metric beats this value (None: no "
                                            "absolute bar; the current champion must still be beaten)")
    seed: Range(int, 0, 2**31 - 1) = option(42, "TPE sampler seed (the CLI and the notebook also use it as every trial's training seed)")

    def __post_init__(self):
        if not self.study_name:
            raise ConfigError("study_name must not be empty")
        if self.base.resume:
            raise ConfigError("tune from scratch: the base config must not set resume")

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{(Path(self.study_dir) / OUTPUTS['storage']).resolve()}"


@dataclass
class TuneResult:
    study: optuna.Study
    trials: pd.DataFrame  # trials.csv: one row per trial of the study, earlier sessions included
    best_params: dict | None  # TrainConfig fields of the best trial (None: no trial completed)
    promotion: Promotion
    study_dir: Path

    @property
    def promoted(self) -> bool:
        return self.promotion.promoted


# --------------------------------------------------------------------------- trials

class TrialDiverged(RuntimeError):
    """A trial's validation metric is not finite; the study records it as failed and goes on."""


@dataclass
class PruningCallback:
    """``train()`` callback: reports each validation pass to Optuna and stops hopeless trials.

    Raising ``optuna.TrialPruned`` inside ``train()`` ends that run at once (train() lets callback
    exceptions propagate); the epochs seen so far stay in ``history`` for the trials table.
    """

    trial: optuna.Trial
    metric: str = "val_loss"
    history: list[dict] = field(default_factory=list)

    def __call__(self, epoch: int, metrics: dict) -> None:
        self.history.append({"epoch": epoch, **metrics})
        value = metrics[self.metric]
        if not math.isfinite(value):
            raise TrialDiverged(f"{self.metric} is {value} at epoch {epoch}")
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} ({self.metric} {value:.4g})")


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution):
    """Sample ``name`` from ``dist`` with the public ``suggest_*`` API."""
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def sample_train_params(trial: optuna.Trial) -> dict:
    """TrainConfig overrides for one trial (weight decay is 0 unless its switch is on)."""
    params = {}
    for name, dist in SEARCH_SPACE.items():
        if name == "weight_decay" and not trial.suggest_categorical(WEIGHT_DECAY_SWITCH, (False, True)):
            params[name] = 0.0
        else:
            params[name] = suggest(trial, name, dist)
    return params


def trial_dir(config: TuneConfig, number: int) -> Path:
    return Path(config.study_dir) / OUTPUTS["trials_dir"] / str(number)


def make_objective(config: TuneConfig, data: train.Prepared | None = None) -> Callable[[optuna.Trial], float]:
    """The function a study optimises: train with the trial's settings, return the metric.

    The value is the metric at the epoch whose weights train() kept (the best val_loss), so it
    describes the artifacts in the trial directory. ``data`` (the table, split, processor and
    datasets, which no searched setting changes) is prepared once and shared by every trial.
    """
    def objective(trial: optuna.Trial) -> float:
        params = sample_train_params(trial)
        out = trial_dir(config, trial.number)
        shutil.rmtree(out, ignore_errors=True)  # trial numbers are unique per study: anything here is stale
        trial.set_user_attr("train_params", params)
        trial.set_user_attr("output_dir", str(out))
        callback = PruningCallback(trial, config.metric)
        try:
            train.train(dataclasses.replace(config.base, **params, output_dir=str(out), progress=False,
                                            ensemble_size=1),
                        callbacks=[callback], data=data)
        finally:
            _record_epochs(trial, callback.history)
        return best_row(callback.history)[config.metric]

    return objective


def best_row(history: list[dict]) -> dict:
    """The epoch train() keeps: lowest val_loss (its best_model.pth)."""
    return min(history, key=lambda row: row["val_loss"])


def _record_epochs(trial: optuna.Trial, history: list[dict]) -> None:
    trial.set_user_attr("epochs_run", len(history))
    if history:
        trial.set_user_attr("best_epoch", best_row(history)["epoch"])


# --------------------------------------------------------------------------- study

def open_study(config: TuneConfig) -> optuna.Study:
    """Create the study, or load it to continue; a study keeps the metric it started with.

    The sampler seed is offset by the number of earlier trials, so a continued study does not
    replay its first session's random start-up configurations.
    """
    Path(config.study_dir).mkdir(parents=True, exist_ok=True)
    existing = optuna.create_study(storage=config.storage_url, study_name=config.study_name,
                                   direction=config.direction, load_if_exists=True)
    recorded = existing.user_attrs.get("metric")
    if recorded is None:
        existing.set_user_attr("metric", config.metric)
        existing.set_user_attr("base", asdict(config.base))
    elif recorded != config.metric:
        raise ConfigError(f"study {config.study_name!r} in {config.study_dir} optimises {recorded}, not "
                         f"{config.metric}: use that metric, or another study_name or study_dir")
    else:
        _warn_changed_base(existing.user_attrs.get("base", {}), asdict(config.base))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=config.pruner_startup_trials,
                                         n_warmup_steps=config.pruner_warmup_epochs + 1)
    return optuna.load_study(study_name=config.study_name, storage=config.storage_url, pruner=pruner,
                             sampler=optuna.samplers.TPESampler(seed=config.seed + len(existing.trials)))


def _warn_changed_base(recorded: dict, current: dict) -> None:
    """Values of trials trained under other base settings (epochs, data...) may not compare."""
    changed = sorted(k for k, v in current.items()
                     if k not in TUNER_OWNED | set(SEARCH_SPACE) and k in recorded and recorded[k] != v)
    if changed:
        log.warning("continuing a study whose base settings differ in %s: earlier trials may not compare",
                    ", ".join(changed))


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, best epoch, epochs run, duration and the settings."""
    return pd.DataFrame([_trial_row(t) for t in study.trials],
                        columns=["number", "state", "value", "best_epoch", "epochs_run", "duration_s",
                                 *SEARCH_SPACE])


def _trial_row(trial: FrozenTrial) -> dict:
    return {"number": trial.number, "state": trial.state.name, "value": trial.value,
            "best_epoch": trial.user_attrs.get("best_epoch"), "epochs_run": trial.user_attrs.get("epochs_run"),
            "duration_s": round(trial.duration.total_seconds(), 2) if trial.duration else None,
            **trial.user_attrs.get("train_params", {})}


def write_trials(study: optuna.Study, path: Path) -> pd.DataFrame:
    table = trials_table(study)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return table


def write_best_params(study: optuna.Study, config: TuneConfig, path: Path) -> dict | None:
    """best_params.yaml: flat TrainConfig-named keys, as params files and train.ipynb take them."""
    if not completed(study):
        return None
    best = study.best_trial
    params = best.user_attrs["train_params"]
    header = (f"# Best of study {config.study_name!r} ({config.study_dir}): trial {best.number}, "
              f"{config.metric} {best.value:.6g}\n"
              f"# found with {config.base.epochs_to_run} epoch(s) per trial on {config.base.data_path}; "
              f"merge these keys into a params file\n")
    with atomic_path(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(params, sort_keys=False))
    return params


def _log_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    value = f"{trial.value:.4g}" if trial.value is not None else "-"
    best = f"{study.best_value:.4g} (trial {study.best_trial.number})" if completed(study) else "-"
    log.info("trial %d %s: value %s after %s epoch(s); best so far %s", trial.number, trial.state.name, value,
             trial.user_attrs.get("epochs_run", 0), best)


# --------------------------------------------------------------------------- tune

def tune(config: TuneConfig) -> TuneResult:
    """Run ``n_trials`` more trials (or until ``timeout``), write the outputs, maybe promote.

    Optuna's own per-trial log lines are silenced (a shorter one is logged here instead).
    """
    _check_data(config.base.data_path)
    with exclusive(config.study_dir):  # one session writes a study's trials and tables at a time
        return _tune(config)


def _tune(config: TuneConfig) -> TuneResult:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(config)
    out = Path(config.study_dir)
    log.info("study %r in %s: %d earlier trial(s); running %d more (%s %s, %d epoch(s) each)", config.study_name,
             out, len(study.trials), config.n_trials, config.direction, config.metric, config.base.epochs_to_run)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        write_trials(study, out / OUTPUTS["trials"])
        _log_trial(study, trial)

    data = train.prepare(dataclasses.replace(config.base, progress=False))
    study.optimize(make_objective(config, data), n_trials=config.n_trials, timeout=config.timeout or None,
                   catch=(TrialDiverged,), callbacks=[after_trial])
    trials = write_trials(study, out / OUTPUTS["trials"])
    best_params = write_best_params(study, config, out / OUTPUTS["best_params"])
    return TuneResult(study, trials, best_params, promote(config, study), out)


def _check_data(path: str) -> None:
    """Fail before the study records a failed trial (the default table is built on first use)."""
    if Path(path).is_file():
        artifacts.load_table(path)  # a raw CSV or a damaged table is named here, not in trial 0
    elif Path(path) != DEFAULT_TABLE_PATH:
        raise TableError(f"data file not found: {path} (build one with python -m airbnb.etl)")


# --------------------------------------------------------------------------- figures

def plot_history(study: optuna.Study, metric: str = "val_loss") -> plt.Axes:
    """Optuna's optimisation history (each completed trial's value and the best so far). Losses are
    drawn on a log axis: a few bad learning rates would otherwise flatten the rest."""
    with _optuna_plots():
        ax = optuna.visualization.matplotlib.plot_optimization_history(study, target_name=metric)
    values = [t.value for t in completed(study)]
    if study.direction == optuna.study.StudyDirection.MINIMIZE and values and min(values) > 0:
        ax.set_yscale("log")
    return ax


def plot_slices(study: optuna.Study, metric: str = "val_loss", per_row: int = 5) -> list[plt.Figure]:
    """Optuna's slice plots: the value against each searched setting the trials sampled (completed
    trials, coloured by number; log axes where the sampling is), ``per_row`` settings a figure so
    that the panels stay readable on a page."""
    sampled = {name for trial in completed(study) for name in trial.params}
    params = [name for name in SEARCH_SPACE if name in sampled]
    figures = []
    for start in range(0, len(params), per_row):
        with _optuna_plots():
            axes = np.ravel(optuna.visualization.matplotlib.plot_slice(study, params=params[start:start + per_row],
                                                                       target_name=metric))
        for ax in axes:  # a title instead of the x label: long names would run into each other
            ax.set_title(ax.get_xlabel(), fontsize=8)
            ax.set_xlabel("")
            ax.xaxis.set_minor_formatter(NullFormatter())
        figures.append(axes[0].figure)
    return figures


@contextlib.contextmanager
def _optuna_plots() -> Iterator[None]:
    """Optuna's matplotlib plots, without the notice that they are experimental (on every call) or
    that a setting one trial sampled has a one-point range (matplotlib widens it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high xlims")
        yield


# --------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    """Tuning flags, then the base training flags of every trial (the searched ones are not flags)."""
    parser = argparse.ArgumentParser(prog="python -m airbnb.tune", description=description(__doc__),
                                     formatter_class=DefaultsHelpFormatter)
    tune_fields = {f.name for f in dataclasses.fields(TuneConfig)}
    add_config_flags(parser.add_argument_group("study"), TuneConfig, skip={"base"})
    group = parser.add_argument_group("training settings of every trial")
    add_config_flags(group, train.TrainConfig, skip=TUNER_OWNED | set(SEARCH_SPACE) | tune_fields,
                     overrides={"epochs": TuneConfig().base.epochs})
    return parser


def config_from_parameters(values: dict) -> TuneConfig:
    """A study from the flags given (``vars(args)``) or the tune notebook's parameters: the study's
    settings, and the training settings of every trial. One ``seed`` seeds the sampler and every
    trial's training."""
    own = {f.name for f in dataclasses.fields(TuneConfig)} - {"base"}
    study = {k: v for k, v in values.items() if k in own}
    training = {k: v for k, v in values.items() if k in defaults(train.TrainConfig) and k not in own}
    base = train.TrainConfig(**{"epochs": TuneConfig().base.epochs, **training},
                             seed=study.get("seed", defaults(TuneConfig)["seed"]), progress=False)
    return TuneConfig(base=base, **study)


def main(argv: Sequence[str] | None = None) -> TuneResult:
    args = build_parser().parse_args(argv)
    setup_logging()
    return command_line(lambda: tune(config_from_parameters(vars(args))))


if __name__ == "__main__":
    main()
