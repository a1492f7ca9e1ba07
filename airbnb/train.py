"""Training (SPEC §6): table -> split by listing -> features -> AdditiveAxisModel, weighted MSE.

    python -m airbnb.train --data-path table.parquet --output-dir artifacts/ [--epochs 10 ...]

Artifacts in ``--output-dir``: ``best_model.pth`` (state dict of the best validation epoch),
``feature_processor.joblib``, ``model_config.json`` (how to rebuild and use the model),
``history.csv`` (per-epoch losses and metrics) and ``splits.parquet`` (listing -> split).
Each is written atomically.

The split is by listing (``random_state=42``): all months of a listing land in one split, so
validation never sees a listing it trained on. A ``holdout_size`` share of listings forms a
test split that training and model selection never touch (evaluation reports on it).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupShuffleSplit
from torch import nn
from tqdm import tqdm

from . import __version__
from .config import DEFAULT_ARTIFACTS_DIR, DEFAULT_TABLE_PATH
from .dataset import AirbnbDataset, make_loader
from .embeddings import DEFAULT_ENCODING, DEFAULT_MODEL, ENCODINGS, AmenityEmbedder
from .etl import ensure_default_table
from .features import FeatureProcessor
from .io import atomic_path, file_sha256, write_json
from .log import get_logger, setup_logging
from .model import AXES, AdditiveAxisModel
from .predict import ARTIFACT_FORMAT, predict_dataset
from .schema import validate_table

log = get_logger(__name__)

SPLIT_RANDOM_STATE = 42
SMOKE_ROWS = 1000
ARTIFACTS = {"model": "best_model.pth", "processor": "feature_processor.joblib", "config": "model_config.json",
             "history": "history.csv", "splits": "splits.parquet"}


def _opt(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    """Training settings; CLI flags (``--kebab-case``) and notebook parameters use these names."""

    data_path: str = _opt(str(DEFAULT_TABLE_PATH), "modeling table (Parquet); the default one is built "
                          "from the synthetic city when missing")
    output_dir: str = _opt(str(DEFAULT_ARTIFACTS_DIR), "where artifacts are written")
    amenities_model_name: str = _opt(DEFAULT_MODEL, "sentence transformer: name, or a local directory")
    epochs: int = _opt(10, "training epochs")
    batch_size: int = _opt(64, "batch size for training and validation")
    learning_rate: float = _opt(1e-3, "Adam learning rate")
    test_size: float = _opt(0.2, "share of listings for validation")
    smoke_test: bool = _opt(False, f"first {SMOKE_ROWS} rows, one epoch: a quick end-to-end check")
    seed: int = _opt(42, "seed for weights and batch order (the split always uses random_state=42)")
    holdout_size: float = _opt(0.1, "share of listings held out as the test split (never trained on)")
    amenities_encoding: str = _opt(DEFAULT_ENCODING, "'bag_sum' (sum of per-amenity embeddings: the axis is a "
                                   "sum of per-amenity dollar values), 'bag' (their normalised mean) or 'sentence' "
                                   "(SPEC §4 text, slow cold)", choices=ENCODINGS)
    weight_decay: float = _opt(0.0, "Adam weight decay")
    device: str = _opt("auto", "'auto' (cuda when available), 'cpu' or 'cuda'")
    cache_dir: str | None = _opt(None, "embedding cache folder (default $AIRBNB_CACHE_DIR or ~/.cache/airbnb-price)")
    progress: bool = _opt(True, "show progress bars")

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {self.test_size}")
        if not 0 <= self.holdout_size < 1 or self.test_size + self.holdout_size >= 1:
            raise ValueError(f"holdout_size must be in [0, 1) and test_size + holdout_size < 1, "
                             f"got {self.holdout_size} and {self.test_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.amenities_encoding not in ENCODINGS:
            raise ValueError(f"amenities_encoding must be one of {ENCODINGS}, got {self.amenities_encoding!r}")


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


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# --------------------------------------------------------------------------- loops

def weighted_mse(outputs: dict, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """SPEC §6: per-row squared error times the occupancy weight, averaged over the batch."""
    raw = nn.functional.mse_loss(outputs["predicted_price"], batch["target_price"], reduction="none")
    return (raw * batch["estimated_occupancy_rate"]).mean()


def train_one_epoch(model, loader, optimizer, device, progress: bool = False) -> float:
    model.train()
    total, rows = 0.0, 0
    for batch in tqdm(loader, desc="train", unit="batch", leave=False, disable=not progress, mininterval=1):
        batch = to_device(batch, device)
        optimizer.zero_grad(set_to_none=True)
        loss = weighted_mse(model(batch), batch)
        loss.backward()
        optimizer.step()
        n = len(batch["target_price"])
        total += loss.item() * n
        rows += n
    return total / rows


@torch.no_grad()
def evaluate(model, loader, device) -> dict[str, float]:
    """Validation loss (same weighted MSE as training) plus readable metrics."""
    model.eval()
    preds, targets, weights = [], [], []
    for batch in loader:
        batch = to_device(batch, device)
        preds.append(model(batch)["predicted_price"])
        targets.append(batch["target_price"])
        weights.append(batch["estimated_occupancy_rate"])
    pred, target, weight = (torch.cat(t).double().flatten().cpu() for t in (preds, targets, weights))
    loss = float(((pred - target) ** 2 * weight).mean())
    ss_res = float(((target - pred) ** 2 * weight).sum())
    ss_tot = float(((target - (target * weight).sum() / weight.sum()) ** 2 * weight).sum())
    return {"val_loss": loss, "val_rmse": math.sqrt(float(((pred - target) ** 2).mean())),
            "val_r2_weighted": 1 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
            "val_mape_weighted": float(((pred - target).abs() / target * weight).sum() / weight.sum())}


# --------------------------------------------------------------------------- orchestration

def prepare(config: TrainConfig):
    """Table, split, fitted processor and datasets (shared by training and its callers)."""
    df = load_table(config.data_path)
    if config.smoke_test:
        df = df.iloc[:SMOKE_ROWS]
        log.info("smoke test: first %d rows, one epoch", len(df))
    df = df.reset_index(drop=True)
    splits = split_listings(df["listing_id"], config.test_size, config.holdout_size)
    processor = FeatureProcessor().fit(df[splits == "train"])
    embedder = AmenityEmbedder(config.amenities_model_name, config.amenities_encoding, config.cache_dir,
                               progress=config.progress)
    datasets = {name: AirbnbDataset(processor.transform(df[splits == name]), embedder=embedder)
                for name in ("train", "validation")}
    log.info("amenity texts: %d encoded, %d from the cache", embedder.n_encoded, embedder.n_cache_hits)
    return df, splits, processor, datasets, embedder


def train(config: TrainConfig) -> TrainResult:
    """Train per the config; returns the model (best epoch's weights) and its history."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = pick_device(config.device)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = 1 if config.smoke_test else config.epochs

    df, splits, processor, datasets, embedder = prepare(config)
    counts = splits.value_counts().to_dict()
    log.info("rows: %s (listings: %s) on %s", counts, df.groupby(splits)["listing_id"].nunique().to_dict(), device)
    processor.save(out / ARTIFACTS["processor"])
    _write_parquet(pd.DataFrame({"listing_id": df["listing_id"], "year_month": df["year_month"], "split": splits}),
                   out / ARTIFACTS["splits"])

    model = AdditiveAxisModel(processor.vocab_sizes, amenity_dim=datasets["train"].amenity_table.shape[1],
                              location_dim=processor.location.dim)
    train_rows = df[splits == "train"]
    model.set_target_scale(np.average(train_rows["target_price"], weights=train_rows["estimated_occupancy_rate"]),
                           train_rows["target_price"].std())
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                 fused=True)  # one kernel for all parameters: the step dominates small batches
    train_loader = make_loader(datasets["train"], config.batch_size, shuffle=True, seed=config.seed)
    val_loader = make_loader(datasets["validation"], config.batch_size, shuffle=False)

    history, best_loss, best_epoch = [], float("inf"), 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        train_loss = train_one_epoch(model, train_loader, optimizer, device, config.progress)
        metrics = evaluate(model, val_loader, device)
        history.append({"epoch": epoch, "train_loss": train_loss, **metrics,
                        "seconds": round(time.perf_counter() - t0, 3)})
        improved = metrics["val_loss"] < best_loss
        if improved:
            best_loss, best_epoch = metrics["val_loss"], epoch
            _save_state(model, out / ARTIFACTS["model"])
        _write_csv(pd.DataFrame(history), out / ARTIFACTS["history"])
        log.info("epoch %d/%d  train_loss %.1f  val_loss %.1f  val_rmse %.2f  val_R2(w) %.3f  %s(%.1fs)",
                 epoch, epochs, train_loss, metrics["val_loss"], metrics["val_rmse"],
                 metrics["val_r2_weighted"], "* best " if improved else "", history[-1]["seconds"])

    model.load_state_dict(torch.load(out / ARTIFACTS["model"], map_location=device, weights_only=True))
    center_on_training_rows(model, datasets["train"], device)
    _save_state(model, out / ARTIFACTS["model"])
    write_json(out / ARTIFACTS["config"], {
        "format_version": ARTIFACT_FORMAT,
        "package_version": __version__,
        "model": model.config.to_dict(),
        "amenities_model_name": config.amenities_model_name,
        "amenities_encoding": config.amenities_encoding,
        "embeddings": {"dim": embedder.dim, "encoded": embedder.n_encoded, "from_cache": embedder.n_cache_hits},
        "train_config": asdict(config),
        "epochs_run": epochs,
        "best_epoch": best_epoch,
        "best_val_loss": best_loss,
        "rows": counts,
        "data": {"path": str(config.data_path), "sha256": file_sha256(config.data_path) if Path(
            config.data_path).is_file() else None, "rows_used": len(df)},
        "seconds": round(time.perf_counter() - started, 2),
    })
    log.info("best epoch %d (val_loss %.1f); artifacts in %s", best_epoch, best_loss, out)
    return TrainResult(out, pd.DataFrame(history), best_epoch, best_loss, model, processor, splits, df, datasets)


def center_on_training_rows(model: AdditiveAxisModel, dataset: AirbnbDataset, device) -> None:
    """Make each axis read relative to the (occupancy-weighted) average training listing-month."""
    parts = predict_dataset(model, dataset, device=device)
    weights = dataset.tensors["estimated_occupancy_rate"].flatten().numpy()
    model.center_axes({axis: float(np.average(parts[axis], weights=weights)) for axis in AXES})


def _save_state(model: nn.Module, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


# --------------------------------------------------------------------------- CLI

def build_parser(config_cls=TrainConfig) -> argparse.ArgumentParser:
    """``--kebab-case`` flags generated from the config dataclass: its defaults are the only ones."""
    parser = argparse.ArgumentParser(prog="python -m airbnb.train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        kw = {k: v for k, v in f.metadata.items() if k != "help"}
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                                help=f.metadata["help"])
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default, help=f.metadata["help"], **kw)
    return parser


def main(argv: Sequence[str] | None = None) -> TrainResult:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        return train(TrainConfig(**vars(args)))
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
