"""Training (SPEC §6): table -> split by listing -> features -> AdditiveAxisModel, occupancy-weighted loss.

    python -m airbnb.train --data-path table.parquet --output-dir artifacts/ [--epochs 10 ...]

The artifacts written to ``--output-dir`` are listed in :mod:`airbnb.artifacts`; a run is
published there as one unit when it completes (until then it is staged in ``.partial/``, which
``--resume DIR`` continues after a kill). The parts of training live in :mod:`airbnb.training` (settings, data,
one epoch, the loop, checkpoints, ensembles); this module runs them and is the entry point.

The split is by listing (``random_state=42``): all months of a listing land in one split, so
validation never sees a listing it trained on. A ``holdout_size`` share of listings forms a
test split that training and model selection never touch (evaluation reports on it).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import torch

from . import artifacts, conformal
from .breakdown import predict_dataset
from .cli import DefaultsHelpFormatter, add_config_flags, description
from .dataset import AirbnbDataset
from .errors import command_line
from .io import exclusive
from .features import FeatureProcessor
from .log import get_logger, setup_logging
from .model import AdditiveAxisModel
from .tracking import start_tracking
from .training.config import PRESETS, TrainConfig, config_from_parameters, configure
from .training.data import Prepared, cv_splits, prepare, split_listings
from .training.loop import train_members

__all__ = ["PRESETS", "Prepared", "TrainConfig", "TrainResult", "config_from_parameters", "configure", "cv_splits",
           "main", "prepare", "split_listings", "train"]

log = get_logger(__name__)


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


def train(config: TrainConfig, callbacks: Sequence[Callable[[int, dict], None]] = (),
          data: Prepared | None = None) -> TrainResult:
    """Train per the config; returns the model (best epoch's weights, or the averaged ensemble).

    Each callback is called as ``callback(epoch, metrics)`` after every validation pass (a tuner
    prunes by raising there). ``data`` is :func:`prepare`'s result for this config's data
    settings, when a caller trains several models on the same data.
    """
    with exclusive(config.output_dir):  # a second run into the same folder stops here, not mid-way
        return _train(config, callbacks, data)


def _train(config: TrainConfig, callbacks: Sequence[Callable[[int, dict], None]], data: Prepared | None
           ) -> TrainResult:
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.output_dir)
    staged = bool(config.resume) and artifacts.checkpoint_path(config.resume).parent.resolve() == (
        out / artifacts.STAGE).resolve()
    data = data or prepare(config)
    stage = artifacts.open_stage(out, keep=staged)  # published into ``out`` only when complete
    counts = data.splits.value_counts().to_dict()
    log.info("rows: %s (listings: %s)", counts, data.table.groupby(data.splits)["listing_id"].nunique().to_dict())
    data.processor.save(stage / artifacts.PROCESSOR)
    artifacts.write_frame(pd.DataFrame({"listing_id": data.table["listing_id"], "year_month": data.table["year_month"],
                                        "split": data.splits}), stage / artifacts.SPLITS)
    with start_tracking(config, out) as tracker:
        model, state, members = train_members(config, data, stage, [*callbacks, tracker.log_epoch])
        if data.trees is not None:
            data.trees.save(stage / artifacts.AXIS_TREES)
        artifacts.write_model_config(stage, {
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
            # the price range's width per coverage, from the validation rows (airbnb.conformal)
            "calibration": conformal.calibrate_model(model, data.datasets["validation"]).to_record(),
            "data": {"path": str(config.data_path), "sha256": state.data_sha256 or None,
                     "rows_used": len(data.table)},
            "seconds": round(time.perf_counter() - started, 2),
        })
        artifacts.publish(out)
        tracker.finish(out, state)
    log.info("best epoch %d (val_loss %.4g); artifacts in %s", state.best_epoch, state.best_val_loss, out)
    return TrainResult(out, pd.DataFrame(state.history), state.best_epoch, state.best_val_loss, model,
                       data.processor, data.splits, data.table, data.datasets)


def build_parser() -> argparse.ArgumentParser:
    """``--kebab-case`` flags generated from TrainConfig: its defaults are the only ones. The parsed
    namespace holds only the flags given, which override the preset."""
    parser = argparse.ArgumentParser(prog="python -m airbnb.train", description=description(__doc__),
                                     formatter_class=DefaultsHelpFormatter)
    add_config_flags(parser, TrainConfig)
    return parser


def main(argv: Sequence[str] | None = None) -> TrainResult:
    given = vars(build_parser().parse_args(argv))
    setup_logging()
    return command_line(lambda: train(configure(**given)))


if __name__ == "__main__":
    main()
