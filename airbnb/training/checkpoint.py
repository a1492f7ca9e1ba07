"""Checkpoints: everything a run needs to continue exactly where it stopped (``--resume``).

A checkpoint holds tensors and plain values only (the RNG states and the history as numbers and
JSON), so it is read with ``torch.load(weights_only=True)``: a checkpoint file, even a tampered
one, never runs code. It carries the SHA-256 of its content, so a damaged one is named wherever it
is (a staged run's ``.partial/checkpoint.pt``, a file given to ``--resume``), not only in a
finished run whose record lists it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..artifacts import (CHECKPOINT, FORMAT_VERSION, RECORD, ArtifactsError, checkpoint_path, read_artifact,
                         read_tensors, table_digest, torch_bytes, verify)
from ..errors import ConfigError
from ..io import atomic_path
from ..log import get_logger
from ..schedule import EarlyStopping
from .config import TrainConfig

log = get_logger(__name__)


@dataclass
class LoopState:
    """Everything a checkpoint must restore to continue a run exactly.

    Each ensemble member keeps its own best epoch and its own early stopping, exactly as if it
    were trained alone; the run stops when every member has stopped.
    """

    epoch: int = 0  # epochs completed
    global_step: int = 0  # optimizer steps taken
    history: list = field(default_factory=list)
    best_val_losses: list = field(default_factory=list)  # per member
    best_epochs: list = field(default_factory=list)  # per member
    stoppers: list = field(default_factory=list)  # EarlyStopping per member
    best_val_loss: float = math.inf  # of the deployed model (the members' average for an ensemble)
    data_sha256: str = ""  # of the table trained on: a resumed run must see the same rows

    @classmethod
    def start(cls, members: int, patience: int, min_delta: float) -> "LoopState":
        return cls(best_val_losses=[math.inf] * members, best_epochs=[0] * members,
                   stoppers=[EarlyStopping(patience, min_delta) for _ in range(members)])

    @property
    def best_epoch(self) -> int:
        """The last epoch any member improved at (one model: its best epoch)."""
        return max(self.best_epochs, default=0)


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, config: TrainConfig, model, optimizer, scaler, state: LoopState,
                    best: dict[int, dict], average=None) -> None:
    """Everything needed to continue exactly, written atomically (a kill loses at most one epoch).

    The history and Python's RNG state go in as JSON strings: object by object they made the
    checkpoint a quarter of a small table's epoch.
    """
    loop = {f.name: getattr(state, f.name) for f in dataclasses.fields(state) if f.name not in ("history", "stoppers")}
    name, keys, position, has_gauss, gauss = np.random.get_state()
    content = torch_bytes({
        "format_version": FORMAT_VERSION, "config": asdict(config), "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None,
        "state": {**loop, "history": json.dumps(state.history), "stoppers": [asdict(x) for x in state.stoppers]},
        "best": best, "average": average.state_dict() if average is not None else None,
        "rng": {"torch": torch.get_rng_state(), "python": json.dumps(random.getstate()),
                "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                          "has_gauss": int(has_gauss), "gauss": float(gauss)}},
    })
    with atomic_path(path) as tmp:
        tmp.write_bytes(torch_bytes({"sha256": hashlib.sha256(content).hexdigest(),
                                     "content": torch.frombuffer(bytearray(content), dtype=torch.uint8)}))


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's content, its checksum checked; anything else (model weights, a damaged or
    foreign file) is an ArtifactsError naming the file."""
    outer = read_artifact(path, read_tensors)
    if not isinstance(outer, dict) or set(outer) != {"sha256", "content"}:
        raise ArtifactsError(f"{path} is not a training checkpoint (model weights such as best_model.pth are not a "
                             f"run's state): --resume takes a run folder or its {CHECKPOINT}")
    content = outer["content"].numpy().tobytes()
    if hashlib.sha256(content).hexdigest() != outer["sha256"]:
        raise ArtifactsError(f"{path} is damaged (checksum mismatch): retrain or restore it")
    return read_artifact(path, lambda p: read_tensors(io.BytesIO(content), p))


def _restore_rng(rng: dict) -> None:
    torch.set_rng_state(rng["torch"])
    numpy = rng["numpy"]
    np.random.set_state((numpy["name"], numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["gauss"]))
    version, internal, gauss = json.loads(rng["python"])
    random.setstate((version, tuple(internal), gauss))


# Settings a resumed run may change (more epochs, more patience, other logging, another path to the
# same table: its content is compared by hash); the rest must match.
RESUMABLE_CHANGES = {"epochs", "output_dir", "data_path", "resume", "progress", "early_stopping_patience", "tracking",
                     "tracking_uri", "experiment_name", "num_workers", "pin_memory", "prefetch_factor", "threads",
                     "cache_dir", "device"}


def load_checkpoint(config: TrainConfig, model, optimizer, scaler, average=None) -> tuple[LoopState, dict[int, dict]]:
    path = checkpoint_path(config.resume)
    if not path.is_file():
        raise ConfigError(f"checkpoint to resume not found: {path} (resume takes a run folder or its {CHECKPOINT})")
    if path.name == CHECKPOINT and (path.parent / RECORD).is_file():  # a finished run's: recorded
        verify(path.parent, [CHECKPOINT])
    saved = read_checkpoint(path)
    changed = sorted(k for k, v in saved["config"].items() if k not in RESUMABLE_CHANGES and asdict(config)[k] != v)
    if changed:
        raise ConfigError(f"cannot resume {path}: {', '.join(changed)} differ from the checkpoint's run "
                         f"(only {sorted(RESUMABLE_CHANGES)} may change)")
    if saved["state"]["epoch"] > config.epochs_to_run:  # a run saying "epochs 2" must not hold 3
        raise ConfigError(f"cannot resume {path} with epochs {config.epochs_to_run}: it has run "
                         f"{saved['state']['epoch']} epochs already (resume with epochs >= {saved['state']['epoch']})")
    if config.lr_schedule == "cosine" and config.epochs != saved["config"]["epochs"]:
        raise ConfigError(f"cannot resume {path} with epochs {config.epochs}: the cosine schedule was laid out "
                         f"over {saved['config']['epochs']} epochs (resume with the same epochs)")
    recorded = saved["state"].get("data_sha256", "")
    if recorded and recorded != table_digest(config.data_path):
        raise ConfigError(f"cannot resume {path}: {config.data_path} changed since the checkpoint was written "
                         "(sha256 differs); train from scratch on the new table")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if scaler and saved["scaler"]:
        scaler.load_state_dict(saved["scaler"])
    if average is not None:
        average.load_state_dict(saved["average"])
    _restore_rng(saved["rng"])
    raw = saved["state"]
    stoppers = [EarlyStopping(**{**x, "patience": config.early_stopping_patience}) for x in raw["stoppers"]]
    state = LoopState(**{**raw, "history": json.loads(raw["history"]), "stoppers": stoppers})
    log.info("resumed %s after epoch %d (step %d, best val_loss %s)", path, state.epoch, state.global_step,
             ", ".join(f"{loss:.4g}" for loss in state.best_val_losses))
    return state, saved["best"]


