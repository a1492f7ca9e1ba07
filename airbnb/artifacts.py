"""A training run's files and the modeling table: their names, format version, writing and reading.

Training writes through this module; prediction, evaluation, tracking and tuning read through it,
so a file name or the format version is spelled only here. Every file is written atomically.

A run's folder (``--output-dir``):

- ``best_model.pth``: state dict of the best validation epoch (an ensemble's first member);
  further members in ``members/<k>/best_model.pth`` and their summary in ``ensemble.json``;
- ``axis_trees.json``: the axis-constrained trees the model blends in (:mod:`airbnb.axis_trees`;
  LightGBM's text format), when its ``tree_share`` is above 0;
- ``feature_processor.npz``: the fitted :class:`~airbnb.features.FeatureProcessor`, stored as data
  (SPEC §6's ``feature_processor.joblib`` was a pickle, which runs code when loaded; format 4);
- ``model_config.json``: how to rebuild and use the model (format version, model config, embedder);
- ``history.csv`` (per-epoch losses and metrics), ``splits.parquet`` (listing-month -> split);
- ``checkpoint.pt``: everything ``--resume`` needs; ``metrics.json``: the evaluation's report;
- ``artifacts.json``: the completion record, written last: the SHA-256 of every file above.

A run is published as one unit: training writes into the hidden staging folder
``<output-dir>/.partial/`` and only at the end moves its files into ``<output-dir>``, then writes
the record. Every loader requires the record and checks the files it reads against it, so a killed
or repeated run never mixes old and new files: until the move the previous run stays complete and
loadable, during it nothing loads, and a damaged file is named ("is damaged (checksum mismatch)").

Nothing a run folder holds is executed when read: weights and checkpoints are loaded with
``torch.load(weights_only=True)`` (tensors and plain values only), the processor from numbers and
JSON, the rest is JSON, CSV and Parquet. The record guards against damage, not against an
attacker (who can rewrite it): what keeps a tampered file from running code is that no file is
ever unpickled.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Sequence

import pandas as pd
import pyarrow as pa
import torch

from . import __version__
from .config import DEFAULT_TABLE_PATH
from .errors import UserError
from .features import FeatureProcessor
from .io import atomic_path, file_sha256, read_json, write_json
from .log import get_logger
from .model import AdditiveAxisModel, EnsembleModel
from .schema import CITY, TableError, is_partitioned_table, read_table, table_frame, validate_table

log = get_logger(__name__)

FORMAT_VERSION = 5  # bump when artifacts change incompatibly; older ones are refused clearly (4: no pickles; 5: the seasonality trend)

MODEL = "best_model.pth"
PROCESSOR = "feature_processor.npz"
CONFIG = "model_config.json"
HISTORY = "history.csv"
SPLITS = "splits.parquet"
CHECKPOINT = "checkpoint.pt"
ENSEMBLE = "ensemble.json"
AXIS_TREES = "axis_trees.json"
METRICS = "metrics.json"
MEMBERS = "members"
RECORD = "artifacts.json"
STAGE = ".partial"
# What an experiment tracker keeps of a run (besides the members' folder).
TRACKED = (MODEL, PROCESSOR, CONFIG, HISTORY, ENSEMBLE, AXIS_TREES, RECORD)
# An earlier run's files a new run may not write (a smaller ensemble, no evaluation yet): removed on publishing.
_STALE = (MEMBERS, ENSEMBLE, AXIS_TREES, METRICS)


class ArtifactsError(UserError, RuntimeError):
    """An artifacts directory that cannot be used; the message names the file or version."""


# --------------------------------------------------------------------------- the table

_ETL_COMMAND = "python -m airbnb.etl --listings 'city/*/listings.csv.gz' --reviews city/reviews.csv.gz --output {}"


def load_table(path: str | Path, cities: Sequence[str] = ()) -> pd.DataFrame:
    """Read and validate a modeling table (a Parquet file or the Spark ETL's partitioned folder),
    only the rows of ``cities`` when given; the default path is built on first use, any other must exist."""
    path = Path(path)
    if not path.is_file() and not is_partitioned_table(path):
        if path != DEFAULT_TABLE_PATH:
            raise TableError(f"data file not found: {path} (build the modeling table with "
                             f"{_ETL_COMMAND.format(path)})")
        from .synthetic import ensure_default_table  # only the built-in data needs the generator

        ensure_default_table(path)
    try:
        df = table_frame(read_table(path, cities))
    except (pa.ArrowException, OSError) as exc:
        raise TableError(_not_a_table(path, exc)) from None
    if cities and len(df) == 0:
        raise TableError(f"{path} has no rows of {', '.join(map(repr, cities))} (its cities: "
                         f"{', '.join(table_cities(path))})")
    validate_table(df, str(path))
    return df


def table_cities(path: str | Path) -> list[str]:
    """The cities a modeling table holds, sorted."""
    return sorted(set(read_table(path).column(CITY).to_pylist()))


def _not_a_table(path: Path, exc: Exception) -> str:
    kind = "a raw Inside Airbnb file" if ".csv" in path.suffixes else "not a Parquet file or it is damaged"
    table = path.with_suffix("").with_suffix(".parquet") if ".csv" in path.suffixes else path
    return (f"{path} is {kind} ({' '.join(str(exc).split())}): training expects the modeling table built by "
            f"the ETL: {_ETL_COMMAND.format(table)}")


def table_digest(path: str | Path) -> str:
    """The SHA-256 of the table file; of a partitioned table, of its data files' names and digests
    ('' when there is no table)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not is_partitioned_table(path):
        return ""
    parts = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
    listing = "".join(f"{p.relative_to(path).as_posix()} {file_sha256(p)}\n" for p in parts)
    return hashlib.sha256(listing.encode()).hexdigest()


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
        tmp.write_bytes(torch_bytes(state_dict))


def torch_bytes(obj) -> bytes:
    """``obj`` as torch serialises it, in memory: the file is then written by plain file I/O, so a
    full disk is an OSError naming it (torch.save reports one as a RuntimeError without the file)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def read_tensors(source: Path | io.BytesIO, name: Path | None = None):
    """A torch file of tensors and plain values (dicts, lists, numbers, text): never unpickled as
    code. Anything else in it is refused, naming the file (``name`` for bytes)."""
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" not in str(exc):
            raise
        raise ArtifactsError(f"{name or source} holds objects other than tensors and plain values (written by an "
                             "older version, or not by this project): it is not loaded, since loading it could run "
                             "code; retrain") from None


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A CSV or Parquet file, by the name's suffix."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False) if path.suffix == ".parquet" else frame.to_csv(tmp, index=False)


def checkpoint_path(resume: str | Path) -> Path:
    """The checkpoint ``--resume`` means: a file as given; for a run folder, the checkpoint of its
    unfinished run if one is staged there, else that of its finished run."""
    path = Path(resume)
    if not path.is_dir():
        return path
    staged = path / STAGE / CHECKPOINT
    return staged if staged.is_file() else path / CHECKPOINT


def open_stage(out: str | Path, keep: bool = False) -> Path:
    """The staging folder a run writes into: emptied for a new run; ``keep`` (resuming the run
    staged there) only clears the temporary files a killed write left behind."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArtifactsError(f"output directory {out} is a file: give a directory")
    stage = out / STAGE
    if stage.is_dir() and not keep:
        if (stage / CHECKPOINT).is_file():
            log.warning("discarding the unfinished run staged in %s (a new run starts; --resume %s would have "
                        "continued it)", stage, out)
        shutil.rmtree(stage)
    stage.mkdir(parents=True, exist_ok=True)
    for tmp in [*stage.rglob(".*.tmp"), *out.glob(f".{RECORD}.*.tmp")]:
        tmp.unlink()
    return stage


def publish(out: str | Path) -> dict:
    """Move the staged run into ``out`` and write its record last (see the module docstring).

    The earlier record goes first, so from then until the new record nothing loads; files of the
    earlier run that the new one lacks (more ensemble members, its metrics) are removed; files that
    are not a run's (anything else in ``out``) are never touched. The checkpoint moves last, so a
    run killed while publishing can be resumed from one of the two places.
    """
    out, stage = Path(out), Path(out) / STAGE
    files = sorted((p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()),
                   key=lambda name: name == CHECKPOINT)
    record = {"format_version": FORMAT_VERSION, "package_version": __version__,
              "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "files": {name: file_sha256(stage / name) for name in files}}
    (out / RECORD).unlink(missing_ok=True)
    for name in _STALE:
        if name not in record["files"] and not any(f.startswith(name + "/") for f in files):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / name, out / name)
    write_json(out / RECORD, record)
    shutil.rmtree(stage, ignore_errors=True)
    return record


def write_model_config(out: Path, record: dict) -> None:
    """``model_config.json``, stamped with the format and package versions that wrote it."""
    write_json(Path(out) / CONFIG, {"format_version": FORMAT_VERSION, "package_version": __version__, **record})


# --------------------------------------------------------------------------- reading

def read_model_config(folder: str | Path) -> dict:
    """A finished run's ``model_config.json``, refused clearly when missing, from an incompatible
    version, unfinished or damaged."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactsError(f"artifacts directory {folder} not found: train first (python -m airbnb.train "
                             f"--output-dir {folder})")
    path = folder / CONFIG
    config = read_artifact(path, read_json) if path.is_file() else {}
    if path.is_file() and config.get("format_version") != FORMAT_VERSION:
        raise ArtifactsError(
            f"{path}: artifacts format {config.get('format_version')!r} from airbnb {config.get('package_version')} "
            f"is not compatible with this version ({__version__}, format {FORMAT_VERSION}); retrain the model")
    verify(folder, [CONFIG])
    return config


def verify(folder: str | Path, names: list[str]) -> None:
    """Check ``names`` (paths inside the run folder) against the run's completion record."""
    folder = Path(folder)
    if not (folder / RECORD).is_file():
        unfinished = (folder / STAGE).is_dir()
        raise ArtifactsError(
            f"{folder} holds no finished training run (no {RECORD})"
            + (": a run into it did not finish; continue it with python -m airbnb.train --resume "
               f"{folder} (same settings) or retrain" if unfinished else ": train with python -m airbnb.train "
               f"--output-dir {folder}"))
    files = read_artifact(folder / RECORD, read_json)["files"]
    for name in names:
        path = folder / name
        if name not in files or not path.is_file():
            raise ArtifactsError(f"{path} is missing from the finished run in {folder}: retrain or restore it")
        if file_sha256(path) != files[name]:
            raise ArtifactsError(f"{path} is damaged (checksum mismatch): retrain or restore it")


def read_artifact(path: Path, reader):
    """``reader(path)``, with a file that cannot be read reported as damaged, naming it."""
    try:
        return reader(path)
    except UserError:
        raise  # the reader has named the file and said what is wrong
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError, pa.ArrowException) as exc:
        raise ArtifactsError(f"{path} is damaged ({' '.join(str(exc).split())[:200]}): retrain or restore it") from None


def load_model(folder: str | Path) -> tuple[AdditiveAxisModel | EnsembleModel, FeatureProcessor, dict]:
    """The trained model (in eval mode), its feature processor and its ``model_config.json``."""
    folder = Path(folder)
    config = read_model_config(folder)
    weights = [f"{m['dir']}/{MODEL}".removeprefix("./") for m in config.get("ensemble") or []] or [MODEL]
    verify(folder, [PROCESSOR, *weights])
    models = []
    for name in weights:
        model = AdditiveAxisModel(config["model"])
        model.load_state_dict(read_artifact(folder / name, read_tensors))
        models.append(model)
    model = EnsembleModel(models) if len(models) > 1 else models[0]
    model.eval()
    processor = read_artifact(folder / PROCESSOR, FeatureProcessor.load)
    _check_belongs(processor, models[0].config, folder / PROCESSOR)
    return model, processor, config


def _check_belongs(processor: FeatureProcessor, config, path: Path) -> None:
    """Refuse a processor the model was not built for (another run's, a record rewritten by hand):
    its inputs would index past the model's embeddings or not fit its layers."""
    built = {**config.vocab_sizes, "location": config.location_dim}
    found = {**processor.vocab_sizes, "location": processor.location.dim}
    if config.amenity_multihot_dim:
        built["frequent amenities"], found["frequent amenities"] = (config.amenity_multihot_dim,
                                                                    len(processor.amenity_vocabulary_.names))
    wrong = [f"{name} {found.get(name)} (model: {size})" for name, size in built.items() if found.get(name) != size]
    if wrong:
        raise ArtifactsError(f"{path} does not belong to this run's model (input sizes {', '.join(wrong)}): the "
                             "files come from different runs; retrain or restore the run's own files")


def read_splits(folder: str | Path) -> pd.DataFrame:
    """The run's split per listing-month (listing_id, year_month, split)."""
    verify(folder, [SPLITS])
    return read_artifact(Path(folder) / SPLITS, pd.read_parquet)


def train_config(folder: str | Path) -> dict:
    """The training settings a run recorded (``model_config.json``'s ``train_config``)."""
    return read_model_config(folder)["train_config"]
