"""A training run's files and the modeling table: their names, format version, writing and reading.

Training writes through this module; prediction, evaluation, tracking and tuning read through it,
so a file name or the format version is spelled only here. Every file is written atomically.

A run's folder (``--output-dir``):

- ``best_model.pth``: state dict of the best validation epoch (an ensemble's first member);
  further members in ``members/<k>/best_model.pth`` and their summary in ``ensemble.json``;
- ``feature_processor.joblib``: the fitted :class:`~airbnb.features.FeatureProcessor`;
- ``model_config.json``: how to rebuild and use the model (format version, model config, embedder);
- ``history.csv`` (per-epoch losses and metrics), ``splits.parquet`` (listing-month -> split);
- ``checkpoint.pt``: everything ``--resume`` needs; ``metrics.json``: the evaluation's report.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from . import __version__
from .config import DEFAULT_TABLE_PATH
from .errors import UserError
from .features import FeatureProcessor
from .io import atomic_path, file_sha256, read_json, write_json
from .model import AdditiveAxisModel, EnsembleModel
from .schema import validate_table

FORMAT_VERSION = 2  # bump when artifacts change incompatibly; older ones are refused clearly

MODEL = "best_model.pth"
PROCESSOR = "feature_processor.joblib"
CONFIG = "model_config.json"
HISTORY = "history.csv"
SPLITS = "splits.parquet"
CHECKPOINT = "checkpoint.pt"
ENSEMBLE = "ensemble.json"
METRICS = "metrics.json"
MEMBERS = "members"
# What an experiment tracker keeps of a run (besides the members' folder).
TRACKED = (MODEL, PROCESSOR, CONFIG, HISTORY, ENSEMBLE)


class ArtifactsError(UserError, RuntimeError):
    """An artifacts directory that cannot be used; the message names the file or version."""


# --------------------------------------------------------------------------- the table

def load_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a modeling table; the default path is built on first use, any other must exist."""
    path = Path(path)
    if not path.is_file():
        if path != DEFAULT_TABLE_PATH:
            raise FileNotFoundError(f"data file not found: {path} (build one with python -m airbnb.etl)")
        from .synthetic import ensure_default_table  # only the built-in data needs the generator

        ensure_default_table(path)
    df = pd.read_parquet(path)
    validate_table(df, str(path))
    return df


def table_digest(path: str | Path) -> str:
    """The SHA-256 of the table file ('' when the table is not a file)."""
    return file_sha256(path) if Path(path).is_file() else ""


# --------------------------------------------------------------------------- writing

def member_dir(k: int) -> str:
    """Where member ``k`` lives in the run folder: the first one is SPEC §6's ``best_model.pth``
    itself (a complete model on its own), the others ``members/<k>/best_model.pth``."""
    return "." if k == 0 else f"{MEMBERS}/{k}"


def member_path(out: Path, k: int) -> Path:
    return Path(out) / member_dir(k) / MODEL


def save_state(state_dict: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state_dict, tmp)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A CSV or Parquet file, by the name's suffix."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False) if path.suffix == ".parquet" else frame.to_csv(tmp, index=False)


def write_model_config(out: Path, record: dict) -> None:
    """``model_config.json``, stamped with the format and package versions that wrote it."""
    write_json(Path(out) / CONFIG, {"format_version": FORMAT_VERSION, "package_version": __version__, **record})


# --------------------------------------------------------------------------- reading

def read_model_config(folder: str | Path) -> dict:
    """A run's ``model_config.json``, refused clearly when missing or from an incompatible version."""
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise ArtifactsError(f"{path} not found: train first (python -m airbnb.train)")
    return _compatible(path, read_json(path))


def _compatible(path: Path, config: dict) -> dict:
    if config.get("format_version") != FORMAT_VERSION:
        raise ArtifactsError(
            f"{path}: artifacts format {config.get('format_version')!r} from airbnb {config.get('package_version')} "
            f"is not compatible with this version ({__version__}, format {FORMAT_VERSION}); retrain the model")
    return config


def load_model(folder: str | Path) -> tuple[AdditiveAxisModel | EnsembleModel, FeatureProcessor, dict]:
    """The trained model (in eval mode), its feature processor and its ``model_config.json``."""
    folder = Path(folder)
    config = read_json(folder / CONFIG) if (folder / CONFIG).is_file() else {}
    weights = [folder / m["dir"] / MODEL for m in config.get("ensemble") or []] or [folder / MODEL]
    missing = [str(p.relative_to(folder)) for p in [folder / CONFIG, folder / PROCESSOR, *weights] if not p.is_file()]
    if missing:
        raise ArtifactsError(f"{folder}: missing {', '.join(missing)} (train with python -m airbnb.train)")
    _compatible(folder / CONFIG, config)
    models = []
    for path in weights:
        model = AdditiveAxisModel.from_config(config["model"])
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        models.append(model)
    model = EnsembleModel(models) if len(models) > 1 else models[0]
    model.eval()
    return model, FeatureProcessor.load(folder / PROCESSOR), config


def read_splits(folder: str | Path) -> pd.DataFrame:
    """The run's split per listing-month (listing_id, year_month, split)."""
    path = Path(folder) / SPLITS
    if not path.is_file():
        raise ArtifactsError(f"{path} not found: train first (python -m airbnb.train)")
    return pd.read_parquet(path)


def train_config(folder: str | Path) -> dict:
    """The training settings a run recorded (``model_config.json``'s ``train_config``)."""
    return read_model_config(folder)["train_config"]
