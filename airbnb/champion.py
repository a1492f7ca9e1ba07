"""Promotion of a study's best trial to a champion directory, only when it beats the one there.

The best trial's artifacts are copied to ``champion_dir`` with a ``champion.json`` (metric, value,
trial, settings, and what its validation rows were) when its metric beats ``champion_threshold``
and the champion already there, if that one was judged on the same metric and validation rows:
values on other rows do not compare.
"""
from __future__ import annotations

import contextlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from . import artifacts
from .io import atomic_dir, exclusive, read_json, write_json
from .log import get_logger

log = get_logger(__name__)

CHAMPION_FILE = "champion.json"


class ChampionRule(Protocol):
    """What promotion reads of a study's settings (:class:`airbnb.tune.TuneConfig` has it all)."""

    champion_dir: str
    champion_threshold: float | None
    metric: str
    study_name: str
    study_dir: str

    @property
    def direction(self) -> str: ...


@dataclass
class Promotion:
    """Whether the best trial became the champion, and why (the sentence that is logged)."""

    promoted: bool
    reason: str


def completed(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def promote(config: ChampionRule, study: optuna.Study) -> Promotion:
    """Copy the best trial to ``champion_dir`` if it beats the threshold and the current champion."""
    # held while judged and replaced: two studies never promote into one champion at once
    with exclusive(config.champion_dir) if config.champion_dir else contextlib.nullcontext():
        return _promote(config, study)


def _promote(config: ChampionRule, study: optuna.Study) -> Promotion:
    decision = _decide(config, study)
    if decision.promoted:
        best = study.best_trial
        source = Path(best.user_attrs["output_dir"])
        with atomic_dir(config.champion_dir) as stage:
            shutil.copytree(source, stage, dirs_exist_ok=True)
            write_json(stage / CHAMPION_FILE, {
                "metric": config.metric, "direction": config.direction, "value": best.value,
                "trial": best.number, "study_name": config.study_name, "study_dir": str(config.study_dir),
                "source": str(source), "params": best.user_attrs["train_params"],
                "validation": _validation_key(source), "threshold": config.champion_threshold,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
    log.info("champion: %s", decision.reason)
    return decision


def _decide(config: ChampionRule, study: optuna.Study) -> Promotion:
    """The promotion rule; the reason names the numbers compared."""
    if not config.champion_dir:
        return Promotion(False, "no champion_dir: promotion is off")
    if not completed(study):
        return Promotion(False, "no trial completed")
    best = study.best_trial
    value, metric = best.value, config.metric
    source = Path(best.user_attrs["output_dir"])
    if not (source / artifacts.CONFIG).is_file():
        return Promotion(False, f"the artifacts of trial {best.number} are not in {source} any more")
    if config.champion_threshold is not None and not _beats(value, config.champion_threshold, config.direction):
        return Promotion(False, f"best {metric} {value:.6g} (trial {best.number}) does not beat the threshold "
                                f"{config.champion_threshold:.6g}")
    target = Path(config.champion_dir)
    current = target / CHAMPION_FILE
    if current.is_file():
        champion = read_json(current)
        if champion["metric"] != metric or champion.get("validation") != _validation_key(source):
            return Promotion(False, f"the champion in {target} was judged on another metric or other validation "
                                    f"rows ({champion['metric']}); its value does not compare: use another "
                                    "champion_dir")
        if not _beats(value, champion["value"], config.direction):
            return Promotion(False, f"best {metric} {value:.6g} (trial {best.number}) does not beat the "
                                    f"champion's {champion['value']:.6g} in {target}")
    elif target.exists() and any(target.iterdir()):
        return Promotion(False, f"{target} exists without {CHAMPION_FILE}: not replacing a folder that is not "
                                "a champion")
    return Promotion(True, f"trial {best.number} ({metric} {value:.6g}) promoted to {target}")


def _beats(value: float, other: float, direction: str) -> bool:
    return value < other if direction == "minimize" else value > other


def _validation_key(folder: Path) -> dict:
    """What makes two validation metrics comparable: the same table bytes and split sizes."""
    saved = read_json(folder / artifacts.CONFIG)
    return {"data_sha256": saved["data"]["sha256"], "rows": saved["rows"]}
