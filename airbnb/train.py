"""Training (SPEC §6): table -> split by listing -> features -> AdditiveAxisModel, weighted MSE.

    python -m airbnb.train --data-path table.parquet --output-dir artifacts/ [--epochs 10 ...]

Artifacts in ``--output-dir``: ``best_model.pth`` (state dict of the best validation epoch),
``feature_processor.joblib``, ``model_config.json`` (how to rebuild and use the model),
``history.csv`` (per-epoch losses and metrics), ``splits.parquet`` (listing -> split) and
``checkpoint.pt`` (everything ``--resume`` needs); ensembles add ``members/<k>/`` and
``ensemble.json``. Each file is written atomically.

The split is by listing (``random_state=42``): all months of a listing land in one split, so
validation never sees a listing it trained on. A ``holdout_size`` share of listings forms a
test split that training and model selection never touch (evaluation reports on it).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import pickle
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from torch import nn
from tqdm import tqdm

from . import __version__
from .cli import add_config_flags, option
from .config import DEFAULT_ARTIFACTS_DIR, DEFAULT_TABLE_PATH
from .dataset import AirbnbDataset, make_loader
from .embeddings import DEFAULT_ENCODING, DEFAULT_MODEL, ENCODINGS, AmenityEmbedder
from .features import FeatureProcessor
from .io import atomic_path, file_sha256, write_json
from .log import get_logger, setup_logging
from .metrics import regression_metrics
from .model import (AXES, DEFAULT_EMBEDDING_DIMS, DEFAULT_HIDDEN, TARGETS, AdditiveAxisModel, EnsembleModel,
                    stack_members)
from .schedule import SCHEDULES, EarlyStopping, LRSchedule, parse_phases
from .tracking import start_tracking
from .predict import ARTIFACT_FORMAT, predict_dataset
from .schema import validate_table

log = get_logger(__name__)

SPLIT_RANDOM_STATE = 42
SMOKE_ROWS = 1000
ARTIFACTS = {"model": "best_model.pth", "processor": "feature_processor.joblib", "config": "model_config.json",
             "history": "history.csv", "splits": "splits.parquet", "checkpoint": "checkpoint.pt"}
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Training settings; CLI flags (``--kebab-case``) and notebook parameters use these names."""

    data_path: str = option(str(DEFAULT_TABLE_PATH), "modeling table (Parquet); the default one is built "
                          "from the synthetic city when missing")
    output_dir: str = option(str(DEFAULT_ARTIFACTS_DIR), "where artifacts are written")
    amenities_model_name: str = option(DEFAULT_MODEL, "sentence transformer: name, or a local directory")
    preset: str = option("default", "'default' (the measured configuration, see the README) or 'original' "
                         "(SPEC §4-§6 exactly: dollar target, 10 epochs, one model, sentence amenity text); "
                         "flags given explicitly override the preset", choices=("default", "original"))
    epochs: int = option(200, "training epochs (an upper bound: early stopping usually ends sooner)")
    batch_size: int = option(64, "batch size for training and validation")
    learning_rate: float = option(1e-3, "Adam learning rate (the peak of a schedule)")
    test_size: float = option(0.2, "share of listings for validation")
    smoke_test: bool = option(False, f"first {SMOKE_ROWS} rows, one epoch: a quick end-to-end check")
    seed: int = option(42, "seed for weights and batch order (the split always uses random_state=42)")
    holdout_size: float = option(0.1, "share of listings held out as the test split (never trained on)")
    amenities_encoding: str = option(DEFAULT_ENCODING, "'bag_sum' (sum of per-amenity embeddings: the axis is a "
                                   "sum of per-amenity dollar values), 'bag' (their normalised mean) or 'sentence' "
                                   "(SPEC §4 text, slow cold)", choices=ENCODINGS)
    target: str = option("log_price", "'log_price' (MSE of log price: base price x one factor per axis, also "
                       "split into dollars) or 'price' (dollar MSE, additive dollar breakdown)", choices=TARGETS)
    amenities_multihot: bool = option(True, "give the amenities axis indicators of the frequent amenities "
                                    "next to the embedding (each amenity gets its own learned value)")
    weight_decay: float = option(1e-4, "Adam weight decay")
    weight_average: float = option(0.99, "decay of an exponential moving average of the weights, updated "
                                 "every step, that is validated and kept instead of the raw weights (0: off)")
    # model size (SPEC §5 defaults but for the depth)
    hidden_layers: int = option(2, "hidden layers in each axis network that has a hidden width (SPEC §5: 1)")
    location_hidden: int = option(DEFAULT_HIDDEN["location"], "hidden width of the location network")
    size_capacity_hidden: int = option(DEFAULT_HIDDEN["size_capacity"], "hidden width of the size & capacity network")
    quality_reputation_hidden: int = option(DEFAULT_HIDDEN["quality_reputation"],
                                          "hidden width of the quality & reputation network")
    amenities_hidden: int = option(DEFAULT_HIDDEN["amenities"], "hidden width of the amenities network "
                                 "(0: one Linear layer, as SPEC §5)")
    seasonality_hidden: int = option(DEFAULT_HIDDEN["seasonality"], "hidden width of the seasonality network")
    neighbourhood_embedding_dim: int = option(DEFAULT_EMBEDDING_DIMS["neighbourhood_cleansed"],
                                            "neighbourhood embedding width")
    property_type_embedding_dim: int = option(DEFAULT_EMBEDDING_DIMS["property_type"], "property type embedding width")
    count_embedding_dim: int = option(DEFAULT_EMBEDDING_DIMS["bedrooms"], "bedrooms/beds/bathrooms embedding width")
    # schedule and stopping
    lr_schedule: str = option("constant", "'constant', 'cosine' (warm-up then cosine decay) or 'phased'",
                            choices=SCHEDULES)
    warmup_epochs: float = option(0.0, "linear warm-up length in epochs (constant and cosine schedules)")
    lr_phases: str = option("", "phased schedule as epoch:lr pairs from epoch 1, e.g. '1:0.001,5:0.0003'")
    early_stopping_patience: int = option(20, "stop after this many epochs without improvement (0: off); "
                                        "the best epoch's weights are kept")
    early_stopping_min_delta: float = option(0.0, "improvement smaller than this does not count")
    # compute
    precision: str = option("fp32", "'fp32', 'bf16' (CPU or GPU autocast) or 'fp16' (CUDA only)", choices=PRECISIONS)
    grad_accumulation: int = option(1, "micro-batches per optimizer step (effective batch = batch_size x this)")
    num_workers: int = option(0, "DataLoader worker processes (0: batches are gathered in-process, fastest here)")
    pin_memory: bool = option(False, "pin batch memory (helps CUDA transfers only)")
    prefetch_factor: int = option(2, "batches each worker prepares ahead (with num_workers > 0)")
    threads: int = option(0, "torch CPU threads (0: torch's default; 1 is faster on a busy machine)")
    device: str = option("auto", "'auto' (cuda when available), 'cpu' or 'cuda'")
    # runs
    resume: str = option("", "checkpoint.pt (or its output dir) to continue training exactly where it stopped")
    ensemble_size: int = option(5, "members trained together (initial seeds seed, seed+1, ...) and averaged; "
                              "stacked, so 5 cost about 1.3x one model on a small table")
    tracking: bool = option(False, "log params, per-epoch metrics and artifacts to MLflow")
    tracking_uri: str = option("", "MLflow tracking URI (default: a local store in <output_dir>/mlruns)")
    experiment_name: str = option("airbnb-price", "MLflow experiment")
    cache_dir: str = option("", "embedding cache folder (default $AIRBNB_CACHE_DIR or ~/.cache/airbnb-price)")
    progress: bool = option(True, "show progress bars")

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for name in ("epochs", "batch_size", "grad_accumulation", "ensemble_size", "prefetch_factor", "hidden_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("num_workers", "threads", "early_stopping_patience", "warmup_epochs", "weight_decay",
                     "early_stopping_min_delta", "amenities_hidden"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("location_hidden", "size_capacity_hidden", "quality_reputation_hidden", "seasonality_hidden",
                     "neighbourhood_embedding_dim", "property_type_embedding_dim", "count_embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {self.test_size}")
        if not 0 <= self.holdout_size < 1 or self.test_size + self.holdout_size >= 1:
            raise ValueError(f"holdout_size must be in [0, 1) and test_size + holdout_size < 1, "
                             f"got {self.holdout_size} and {self.test_size}")
        if not 0 <= self.weight_average < 1:
            raise ValueError(f"weight_average must be in [0, 1), got {self.weight_average}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name, allowed in (("amenities_encoding", ENCODINGS), ("target", TARGETS), ("lr_schedule", SCHEDULES),
                              ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.lr_schedule == "phased":
            parse_phases(self.lr_phases)

    @property
    def epochs_to_run(self) -> int:
        return 1 if self.smoke_test else self.epochs

    def model_kwargs(self) -> dict:
        """The AdditiveAxisModel options this config sets."""
        return {
            "embedding_dims": {"neighbourhood_cleansed": self.neighbourhood_embedding_dim,
                               "property_type": self.property_type_embedding_dim,
                               **{k: self.count_embedding_dim for k in ("bedrooms", "beds", "bathrooms_numeric")}},
            "hidden": {"location": self.location_hidden, "size_capacity": self.size_capacity_hidden,
                       "quality_reputation": self.quality_reputation_hidden, "amenities": self.amenities_hidden,
                       "seasonality": self.seasonality_hidden},
            "target": self.target,
            "hidden_layers": self.hidden_layers,
        }


# Settings each preset changes from TrainConfig's defaults. 'original' is the training contract of
# SPEC §6 with the SPEC §4/§5 model exactly (what the project did before the measured defaults).
PRESETS: dict[str, dict] = {
    "default": {},
    "original": {"epochs": 10, "target": "price", "amenities_multihot": False, "weight_decay": 0.0,
                 "early_stopping_patience": 0, "ensemble_size": 1, "amenities_encoding": "sentence",
                 "hidden_layers": 1, "weight_average": 0.0},
}


def configure(preset: str = "default", **settings) -> TrainConfig:
    """A TrainConfig from a preset, with ``settings`` (any TrainConfig field) overriding it."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    return TrainConfig(**{**PRESETS[preset], **settings, "preset": preset})


@dataclass
class TrainResult:
    output_dir: Path
    history: pd.DataFrame
    best_epoch: int
    best_val_loss: float
    model: AdditiveAxisModel
    processor: FeatureProcessor
    splits: pd.Series  # split name per table row ("train", "validation", "test")
    table: pd.DataFrame
    datasets: dict[str, AirbnbDataset]

    def breakdown(self, split: str = "validation") -> pd.DataFrame:
        """The split's table rows with the predicted price and its per-axis dollar breakdown."""
        rows = self.table[self.splits == split].reset_index(drop=True)
        predicted = predict_dataset(self.model, self.datasets[split], device=next(self.model.parameters()).device)
        keep = ["listing_id", "year_month", "neighbourhood_cleansed", "room_type", "accommodates", "target_price",
                "estimated_occupancy_rate"]
        return pd.concat([rows[keep], predicted], axis=1)


# --------------------------------------------------------------------------- data

def load_table(path: str | Path) -> pd.DataFrame:
    """Read a modeling table; the default path is built on first use, any other must exist."""
    path = Path(path)
    if not path.is_file():
        if path == DEFAULT_TABLE_PATH:
            from .synthetic import ensure_default_table

            ensure_default_table(path)
        else:
            raise FileNotFoundError(f"data file not found: {path} (build one with python -m airbnb.etl)")
    df = pd.read_parquet(path)
    validate_table(df, str(path))
    return df


def split_listings(listing_ids: pd.Series, test_size: float, holdout_size: float,
                   random_state: int = SPLIT_RANDOM_STATE) -> pd.Series:
    """'train' / 'validation' / 'test' per row, grouped by listing so no listing spans two splits."""
    ids = listing_ids.to_numpy()
    split = np.full(len(ids), "train", dtype=object)
    rest = np.arange(len(ids))
    if holdout_size > 0:
        rest, test = next(GroupShuffleSplit(1, test_size=holdout_size, random_state=random_state)
                          .split(rest, groups=ids))
        split[test] = "test"
    # validation is test_size of all listings, taken from those left after the holdout
    share = test_size / (1 - holdout_size)
    train, val = next(GroupShuffleSplit(1, test_size=share, random_state=random_state)
                      .split(rest, groups=ids[rest]))
    split[rest[val]] = "validation"
    if not (split == "train").any() or not (split == "validation").any():
        raise ValueError(f"too few listings ({len(np.unique(ids))}) to split into train and validation")
    return pd.Series(split, index=listing_ids.index, name="split")


def cv_splits(listing_ids: pd.Series, k: int, test_size: float,
              random_state: int = SPLIT_RANDOM_STATE) -> list[pd.Series]:
    """K folds grouped by listing: in fold i, 1/K of the listings are 'test', ``test_size`` of all
    listings 'validation' (taken from the rest) and the others 'train'."""
    ids = listing_ids.to_numpy()
    if len(np.unique(ids)) < k:
        raise ValueError(f"too few listings ({len(np.unique(ids))}) for {k}-fold cross-validation")
    share = min(test_size / (1 - 1 / k), 0.5)
    folds = []
    for rest, test in GroupKFold(k, shuffle=True, random_state=random_state).split(ids, groups=ids):
        split = np.full(len(ids), "train", dtype=object)
        split[test] = "test"
        _, val = next(GroupShuffleSplit(1, test_size=share, random_state=random_state).split(rest, groups=ids[rest]))
        split[rest[val]] = "validation"
        folds.append(pd.Series(split, index=listing_ids.index, name="split"))
    return folds


def pick_device(name: str) -> torch.device:
    """'auto' means CUDA when available; an explicit 'cuda' without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# --------------------------------------------------------------------------- loops

def target_of(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(prediction, target) in the space the loss is taken in: dollars, or log dollars."""
    outputs = model(batch)
    if model.config.target == "log_price":
        return outputs["predicted_log_price"].float(), torch.log(batch["target_price"])
    return outputs["predicted_price"].float(), batch["target_price"]


def weighted_mse(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """SPEC §6: per-row squared error times the occupancy weight, averaged over the batch.

    A stacked ensemble's (K, B, 1) predictions give the sum of the K members' losses, so each
    member receives exactly the gradient it would get if trained alone.
    """
    raw = nn.functional.mse_loss(prediction, target.expand_as(prediction), reduction="none")
    return (raw * weight).mean(dim=(-2, -1)).sum()


def n_members(model) -> int:
    """Members computed by one forward pass (K for a stacked ensemble, else 1)."""
    return model.bias.shape[0] if model.bias.dim() == 2 else 1


def autocast(precision: str, device: torch.device):
    """Mixed precision context; fp16 needs CUDA (CPU autocast supports bf16)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision 'fp16' needs a CUDA device; use 'bf16' on a CPU")
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


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


def train_one_epoch(model, loader, optimizer, device, progress: bool = False, *, schedule=None, state=None,
                    precision: str = "fp32", accumulation: int = 1, scaler=None, average=None) -> float:
    """One pass over ``loader``; ``accumulation`` micro-batches make one optimizer step."""
    model.train()
    total, rows, n_batches = 0.0, 0, len(loader)
    optimizer.zero_grad(set_to_none=True)
    for i, batch in enumerate(tqdm(loader, desc="train", unit="batch", leave=False, disable=not progress,
                                   mininterval=1)):
        batch = to_device(batch, device)
        with autocast(precision, device):
            prediction, target = target_of(model, batch)
        loss = weighted_mse(prediction, target, batch["estimated_occupancy_rate"])
        # the mean over this step's micro-batches: the last step of an epoch may have fewer
        scaled = loss / min(accumulation, n_batches - i // accumulation * accumulation)
        (scaler.scale(scaled) if scaler else scaled).backward()
        if (i + 1) % accumulation == 0 or i + 1 == n_batches:
            if schedule is not None:
                for group in optimizer.param_groups:
                    group["lr"] = schedule(state.global_step)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if average is not None:
                average.update_parameters(model)
            if state is not None:
                state.global_step += 1
        n = len(batch["target_price"])
        total += loss.item() / n_members(model) * n
        rows += n
    return total / rows


VALIDATION_METRICS = ("val_rmse", "val_r2_weighted", "val_mape_weighted")  # besides val_loss


@torch.no_grad()
def evaluate(model, loader, device) -> dict:
    """Validation loss (the weighted MSE of training, in the target's space) plus dollar metrics.

    For a stacked ensemble they are the members' average prediction's (what is deployed), and
    ``val_loss_members`` lists each member's own loss.
    """
    model.eval()
    preds, targets, prices, weights = [], [], [], []
    for batch in loader:
        batch = to_device(batch, device)
        prediction, target = target_of(model, batch)
        preds.append(prediction.double())
        targets.append(target.double())
        prices.append(batch["target_price"].double())
        weights.append(batch["estimated_occupancy_rate"].double())
    pred = torch.cat(preds, dim=-2)
    target, price, weight = (torch.cat(t) for t in (targets, prices, weights))
    extra = {}
    if pred.dim() == 3:
        extra["val_loss_members"] = [float(v) for v in ((pred - target) ** 2 * weight).mean(dim=(-2, -1))]
        pred = pred.mean(dim=0)
    loss = float(((pred - target) ** 2 * weight).mean())
    predicted = torch.exp(pred) if model.config.target == "log_price" else pred
    pred, price, weight = (t.flatten().cpu().numpy() for t in (predicted, price, weight))
    if not np.isfinite(pred).all():  # a diverging run: its loss says so, and the run ends with a clear error
        return {"val_loss": loss, **dict.fromkeys(VALIDATION_METRICS, float("nan")), **extra}
    weighted, plain = regression_metrics(price, pred, weight), regression_metrics(price, pred)
    return {"val_loss": loss, "val_rmse": plain["rmse"], "val_r2_weighted": weighted["r2"],
            "val_mape_weighted": weighted["mape"], **extra}


# --------------------------------------------------------------------------- orchestration

@dataclass
class Prepared:
    """Data shared by every member of a run: table, split, fitted processor, datasets."""

    table: pd.DataFrame
    splits: pd.Series
    processor: FeatureProcessor
    datasets: dict[str, AirbnbDataset]
    embedder: AmenityEmbedder


def prepare(config: TrainConfig, table: pd.DataFrame | None = None, splits: pd.Series | None = None) -> Prepared:
    """Table, split, fitted processor and datasets (computed once per run, even for ensembles).

    ``table`` and ``splits`` (one of 'train', 'validation', 'test' per row, e.g. a
    cross-validation fold) replace reading ``config.data_path`` and the random split.
    """
    df = load_table(config.data_path) if table is None else table
    if config.smoke_test:
        df = df.iloc[:SMOKE_ROWS]
        log.info("smoke test: first %d rows, one epoch", len(df))
    df = df.reset_index(drop=True)
    if splits is None:
        splits = split_listings(df["listing_id"], config.test_size, config.holdout_size)
    else:
        splits = pd.Series(np.asarray(splits, dtype=object)[:len(df)], index=df.index, name="split")
    processor = FeatureProcessor().fit(df[splits == "train"])
    embedder = AmenityEmbedder(config.amenities_model_name, config.amenities_encoding, config.cache_dir,
                               progress=config.progress)
    datasets = {name: AirbnbDataset(processor.transform(df[splits == name]), embedder=embedder)
                for name in ("train", "validation")}
    log.info("amenity texts: %d encoded, %d from the cache", embedder.n_encoded, embedder.n_cache_hits)
    return Prepared(df, splits, processor, datasets, embedder)


def build_model(config: TrainConfig, data: Prepared) -> AdditiveAxisModel:
    """A freshly initialised model sized for the data, its output scale and price bounds set."""
    multihot = len(data.processor.amenity_vocabulary.names) if config.amenities_multihot else 0
    model = AdditiveAxisModel(data.processor.vocab_sizes, amenity_dim=data.datasets["train"].amenity_table.shape[1],
                              location_dim=data.processor.location.dim, amenity_multihot_dim=multihot,
                              **config.model_kwargs())
    rows = data.table[data.splits == "train"]
    values = np.log(rows["target_price"]) if config.target == "log_price" else rows["target_price"]
    model.set_target_scale(np.average(values, weights=rows["estimated_occupancy_rate"]), values.std())
    model.set_price_bounds(rows["target_price"].min(), rows["target_price"].max())
    return model


def make_schedule(config: TrainConfig, steps_per_epoch: int) -> LRSchedule:
    return LRSchedule(config.lr_schedule, config.learning_rate, steps_per_epoch * config.epochs_to_run,
                      steps_per_epoch, round(config.warmup_epochs * steps_per_epoch),
                      tuple(parse_phases(config.lr_phases)) if config.lr_schedule == "phased" else ())


def train(config: TrainConfig, callbacks: Sequence[Callable[[int, dict], None]] = (),
          data: Prepared | None = None) -> TrainResult:
    """Train per the config; returns the model (best epoch's weights, or the averaged ensemble).

    Each callback is called as ``callback(epoch, metrics)`` after every validation pass (a tuner
    prunes by raising there). ``data`` is :func:`prepare`'s result for this config's data
    settings, when a caller trains several models on the same data.
    """
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data or prepare(config)
    counts = data.splits.value_counts().to_dict()
    log.info("rows: %s (listings: %s)", counts, data.table.groupby(data.splits)["listing_id"].nunique().to_dict())
    data.processor.save(out / ARTIFACTS["processor"])
    _write_parquet(pd.DataFrame({"listing_id": data.table["listing_id"], "year_month": data.table["year_month"],
                                 "split": data.splits}), out / ARTIFACTS["splits"])
    with start_tracking(config, out) as tracker:
        model, state, members = train_members(config, data, out, [*callbacks, tracker.log_epoch])
        write_json(out / ARTIFACTS["config"], {
            "format_version": ARTIFACT_FORMAT,
            "package_version": __version__,
            "model": model.config.to_dict(),
            "amenities_model_name": config.amenities_model_name,
            "amenities_encoding": config.amenities_encoding,
            "embeddings": {"dim": data.embedder.dim, "encoded": data.embedder.n_encoded,
                           "from_cache": data.embedder.n_cache_hits},
            "train_config": asdict(config),
            "epochs_run": state.epoch,
            "best_epoch": state.best_epoch,
            "best_val_loss": state.best_val_loss,
            "ensemble": members,
            "rows": counts,
            "data": {"path": str(config.data_path), "sha256": state.data_sha256 or None,
                     "rows_used": len(data.table)},
            "seconds": round(time.perf_counter() - started, 2),
        })
        tracker.finish(out, state)
    log.info("best epoch %d (val_loss %.4g); artifacts in %s", state.best_epoch, state.best_val_loss, out)
    return TrainResult(out, pd.DataFrame(state.history), state.best_epoch, state.best_val_loss, model,
                       data.processor, data.splits, data.table, data.datasets)


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Adam:
    # fused: one kernel for all parameters, since the step dominates small batches
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)


def init_members(config: TrainConfig, data: Prepared) -> AdditiveAxisModel:
    """Member k initialised from seed + k; several members are stacked into one model."""
    members = []
    for k in range(config.ensemble_size):
        torch.manual_seed(config.seed + k)
        members.append(build_model(config, data))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    return members[0] if len(members) == 1 else stack_members(members)


def train_members(config: TrainConfig, data: Prepared, out: Path, callbacks: Sequence[Callable[[int, dict], None]] = ()
                  ) -> tuple[AdditiveAxisModel | EnsembleModel, LoopState, list | None]:
    """Epochs with validation, the best weights kept, a full checkpoint every epoch, resume.

    An ensemble's members train together as one stacked model on the same batches (each with its
    own initialisation and its own gradient); each member keeps its own best epoch and stops on its
    own patience, and the run ends when all have stopped. With ``weight_average`` the weights that
    are validated and kept are an exponential moving average of the trained ones (smoother than
    any single step's on a few hundred rows). Returns the model with the best weights, centred,
    the loop state and (for ensembles) the per-member summaries.
    """
    device = pick_device(config.device)
    model = init_members(config, data).to(device)
    optimizer = make_optimizer(config, model)
    scaler = torch.amp.GradScaler(device.type) if config.precision == "fp16" else None
    loader_options = {"num_workers": config.num_workers, "pin_memory": config.pin_memory,
                      **({"prefetch_factor": config.prefetch_factor, "persistent_workers": False}
                         if config.num_workers else {})}
    val_loader = make_loader(data.datasets["validation"], config.batch_size, shuffle=False, **loader_options)
    steps_per_epoch = math.ceil(math.ceil(len(data.datasets["train"]) / config.batch_size) / config.grad_accumulation)
    schedule = make_schedule(config, steps_per_epoch)
    state = LoopState.start(config.ensemble_size, config.early_stopping_patience, config.early_stopping_min_delta)
    best: dict[int, dict] = {}  # member -> its best state dict (also in every checkpoint)
    average = weight_average(model, config.weight_average)
    scored = average.module if average is not None else model  # the weights validated and kept
    state.data_sha256 = table_digest(config)
    if config.resume:
        state, best = load_checkpoint(config, model, optimizer, scaler, average)
    epochs = config.epochs_to_run
    while state.epoch < epochs:
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        # a fresh generator per epoch: the batch order depends only on (seed, epoch), so a resumed
        # run shuffles exactly as an uninterrupted one
        loader = make_loader(data.datasets["train"], config.batch_size, shuffle=True,
                             seed=config.seed * 100_003 + epoch, **loader_options)
        train_loss = train_one_epoch(model, loader, optimizer, device, config.progress, schedule=schedule,
                                     state=state, precision=config.precision,
                                     accumulation=config.grad_accumulation, scaler=scaler, average=average)
        metrics = evaluate(scored, val_loader, device)
        losses = metrics.pop("val_loss_members", None) or [metrics["val_loss"]]
        improved = [k for k, loss in enumerate(losses) if loss < state.best_val_losses[k]]
        for k in improved:
            state.best_val_losses[k], state.best_epochs[k] = losses[k], epoch
        best.update(member_states(scored, improved))
        if 0 in improved:  # SPEC §6: the best state dict after each epoch (an ensemble's first member)
            _save_state(best[0], out / ARTIFACTS["model"])
        stopped = [stopper.step(loss) for stopper, loss in zip(state.stoppers, losses)]
        state.epoch = epoch
        state.history.append({"epoch": epoch, "train_loss": train_loss, **metrics, "members_improved": len(improved),
                              "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 3)})
        save_checkpoint(out / ARTIFACTS["checkpoint"], config, model, optimizer, scaler, state, best, average)
        _write_csv(pd.DataFrame(state.history), out / ARTIFACTS["history"])
        log.info("epoch %d/%d  train_loss %.4g  val_loss %.4g  val_rmse %.2f  val_R2(w) %.3f  %s(%.1fs)",
                 epoch, epochs, train_loss, metrics["val_loss"], metrics["val_rmse"], metrics["val_r2_weighted"],
                 _improved_note(improved, len(losses)), state.history[-1]["seconds"])
        for callback in callbacks:
            callback(epoch, state.history[-1])
        if all(stopped):
            log.info("early stopping: no improvement > %g for %d epochs; keeping epoch %s",
                     config.early_stopping_min_delta, config.early_stopping_patience,
                     ", ".join(map(str, state.best_epochs)))
            break
    if not all(math.isfinite(loss) for loss in state.best_val_losses):
        raise ValueError(f"training diverged: no epoch had a finite validation loss (learning_rate "
                         f"{config.learning_rate}); lower the learning rate")
    members = []
    for k in range(config.ensemble_size):
        member = AdditiveAxisModel.from_config(model.config).to(device)
        member.load_state_dict(best[k])
        center_on_training_rows(member, data.datasets["train"], device)
        path = member_path(out, k)
        path.parent.mkdir(parents=True, exist_ok=True)
        _save_state(member.state_dict(), path)
        members.append(member)
    if config.ensemble_size == 1:
        state.best_val_loss = state.best_val_losses[0]
        return members[0], state, None
    ensemble = EnsembleModel(members)
    state.best_val_loss = evaluate(ensemble, val_loader, device)["val_loss"]
    summaries = [{"dir": member_dir(k), "seed": config.seed + k, "best_epoch": state.best_epochs[k],
                  "best_val_loss": state.best_val_losses[k]} for k in range(config.ensemble_size)]
    write_json(out / "ensemble.json", {"members": summaries, "ensemble_validation": {"val_loss": state.best_val_loss}})
    log.info("ensemble of %d: val_loss %.4g (members: %s)", len(members), state.best_val_loss,
             ", ".join(f"{m['best_val_loss']:.4g}" for m in summaries))
    return ensemble, state, summaries


def weight_average(model: nn.Module, decay: float):
    """An exponential moving average of ``model``'s weights (``None`` when ``decay`` is 0)."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _improved_note(improved: list[int], members: int) -> str:
    if not improved:
        return ""
    return "* best " if members == 1 else f"* {len(improved)}/{members} members improved "


def member_dir(k: int) -> str:
    """Where member ``k`` lives in the output folder: the first one is SPEC §6's ``best_model.pth``
    itself (a complete model on its own), the others ``members/<k>/best_model.pth``."""
    return "." if k == 0 else f"members/{k}"


def member_path(out: Path, k: int) -> Path:
    return out / member_dir(k) / ARTIFACTS["model"]


def member_states(model: AdditiveAxisModel, members: Sequence[int]) -> dict[int, dict]:
    """Copies of the state dicts of ``members`` (indices; a single model is member 0)."""
    state = model.state_dict()
    if n_members(model) == 1:
        return {k: {key: value.detach().clone() for key, value in state.items()} for k in members}
    return {k: {key: value[k].detach().clone() for key, value in state.items()} for k in members}


def center_on_training_rows(model: AdditiveAxisModel, dataset: AirbnbDataset, device) -> None:
    """Make each axis read relative to the (occupancy-weighted) average training listing-month."""
    sums = dict.fromkeys(AXES, 0.0)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for batch in make_loader(dataset, 8192, shuffle=False):
            batch = to_device(batch, device)
            weight = batch["estimated_occupancy_rate"]
            breakdown = model(batch)["breakdown"]
            for axis in AXES:
                sums[axis] += float((breakdown[axis] * weight).sum())
            total += float(weight.sum())
    model.center_axes({axis: value / total for axis, value in sums.items()})


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: Path, config: TrainConfig, model, optimizer, scaler, state: LoopState,
                    best: dict[int, dict], average=None) -> None:
    """Everything needed to continue exactly, written atomically (a kill loses at most one epoch).

    The history and Python's RNG state go in as one JSON string and one pickle: pickling them
    object by object made the checkpoint a quarter of a small table's epoch.
    """
    loop = {f.name: getattr(state, f.name) for f in dataclasses.fields(state) if f.name not in ("history", "stoppers")}
    with atomic_path(path) as tmp:
        torch.save({
            "format_version": ARTIFACT_FORMAT, "config": asdict(config), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None,
            "state": {**loop, "history": json.dumps(state.history), "stoppers": [asdict(x) for x in state.stoppers]},
            "best": best, "average": average.state_dict() if average is not None else None,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                    "python": pickle.dumps(random.getstate())},
        }, tmp)


# Settings a resumed run may change (more epochs, more patience, other logging); the rest must match.
RESUMABLE_CHANGES = {"epochs", "output_dir", "resume", "progress", "early_stopping_patience", "tracking",
                     "tracking_uri", "experiment_name", "num_workers", "pin_memory", "prefetch_factor", "threads",
                     "cache_dir", "device"}


def load_checkpoint(config: TrainConfig, model, optimizer, scaler, average=None) -> tuple[LoopState, dict[int, dict]]:
    path = Path(config.resume)
    path = path / ARTIFACTS["checkpoint"] if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint to resume not found: {path}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    changed = sorted(k for k, v in saved["config"].items() if k not in RESUMABLE_CHANGES and asdict(config)[k] != v)
    if changed:
        raise ValueError(f"cannot resume {path}: {', '.join(changed)} differ from the checkpoint's run "
                         f"(only {sorted(RESUMABLE_CHANGES)} may change)")
    if config.lr_schedule == "cosine" and config.epochs != saved["config"]["epochs"]:
        raise ValueError(f"cannot resume {path} with epochs {config.epochs}: the cosine schedule was laid out "
                         f"over {saved['config']['epochs']} epochs (resume with the same epochs)")
    recorded = saved["state"].get("data_sha256", "")
    if recorded and recorded != table_digest(config):
        raise ValueError(f"cannot resume {path}: {config.data_path} changed since the checkpoint was written "
                         "(sha256 differs); train from scratch on the new table")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if scaler and saved["scaler"]:
        scaler.load_state_dict(saved["scaler"])
    if average is not None:
        average.load_state_dict(saved["average"])
    torch.set_rng_state(saved["rng"]["torch"])
    np.random.set_state(saved["rng"]["numpy"])
    random.setstate(pickle.loads(saved["rng"]["python"]))
    raw = saved["state"]
    stoppers = [EarlyStopping(**{**x, "patience": config.early_stopping_patience}) for x in raw["stoppers"]]
    state = LoopState(**{**raw, "history": json.loads(raw["history"]), "stoppers": stoppers})
    log.info("resumed %s after epoch %d (step %d, best val_loss %s)", path, state.epoch, state.global_step,
             ", ".join(f"{loss:.4g}" for loss in state.best_val_losses))
    return state, saved["best"]


def table_digest(config: TrainConfig) -> str:
    """The SHA-256 of the table file ('' when the table is not a file)."""
    return file_sha256(config.data_path) if Path(config.data_path).is_file() else ""


def _save_state(state_dict: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state_dict, tmp)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


# --------------------------------------------------------------------------- CLI and notebook

def config_from_parameters(namespace: dict) -> TrainConfig:
    """A TrainConfig from a notebook's parameters (the names it shares with TrainConfig).

    A notebook passes every parameter, so one left at TrainConfig's default takes the preset's
    value; the others override the preset.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    given = {name: namespace[name] for name in defaults
             if name in namespace and name != "preset" and namespace[name] != defaults[name]}
    return configure(namespace.get("preset", "default"), **given)


def build_parser(explicit_only: bool = False) -> argparse.ArgumentParser:
    """``--kebab-case`` flags generated from TrainConfig: its defaults are the only ones.

    ``explicit_only`` leaves flags that were not given out of the parsed namespace (how a preset
    learns what the user chose).
    """
    parser = argparse.ArgumentParser(prog="python -m airbnb.train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_flags(parser, TrainConfig, suppress_defaults=explicit_only)
    return parser


def main(argv: Sequence[str] | None = None) -> TrainResult:
    build_parser().parse_args(argv)  # --help, and errors reported against the documented defaults
    given = vars(build_parser(explicit_only=True).parse_args(argv))
    setup_logging()
    try:
        return train(configure(**given))
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
