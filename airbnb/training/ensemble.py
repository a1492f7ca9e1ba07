"""Ensembles: members initialised from their own seeds and trained stacked as one model; each
keeps its own best weights, is centred on the training rows and saved on its own."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .. import artifacts
from ..axes import AXES
from ..dataset import AirbnbDataset, make_loader
from ..io import write_json
from ..log import get_logger
from ..model import AdditiveAxisModel, EnsembleModel, blend_with_trees, stack_members
from .checkpoint import LoopState
from .config import TrainConfig
from .data import Prepared
from .step import n_members, to_device, validate

log = get_logger(__name__)


def build_model(config: TrainConfig, data: Prepared) -> AdditiveAxisModel:
    """A freshly initialised model sized for the data, its output scale and price bounds set."""
    model = AdditiveAxisModel(config.model_config(data.processor, data.datasets["train"].amenity_table.shape[1]))
    rows = data.table[data.splits == "train"]
    values = np.log(rows["target_price"]) if config.target == "log_price" else rows["target_price"]
    model.set_target_scale(np.average(values, weights=rows["estimated_occupancy_rate"]), values.std())
    model.set_price_bounds(rows["target_price"].min(), rows["target_price"].max())
    return model



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




def finish_members(config: TrainConfig, model_config, best: dict[int, dict], state: LoopState, data: Prepared,
                   out: Path, val_loader, device) -> tuple[AdditiveAxisModel | EnsembleModel, LoopState, list | None]:
    """Each member's best weights, centred on the training rows, given its axis trees' share and
    saved; an ensemble also gets ``ensemble.json``. The validation loss kept is the finished model's
    (with its trees); each member's summary keeps its own network's best. Returns (model, state,
    member summaries)."""
    members = []
    for k in range(config.ensemble_size):
        member = AdditiveAxisModel(model_config).to(device)
        member.load_state_dict(best[k])
        center_on_training_rows(member, data.datasets["train"], device)
        if data.trees is not None:  # the network trained alone; from here on it prices with its trees
            blend_with_trees(member, config.tree_share)
        artifacts.save_state(member.state_dict(), artifacts.member_path(out, k))
        members.append(member)
    if config.ensemble_size == 1 and data.trees is None:
        state.best_val_loss = state.best_val_losses[0]
        return members[0], state, None
    model = EnsembleModel(members) if len(members) > 1 else members[0]
    state.best_val_loss = validate(model, val_loader, device, config.loss, config.huber_delta)["val_loss"]
    if len(members) == 1:
        return model, state, None
    ensemble = model
    summaries = [{"dir": artifacts.member_dir(k), "seed": config.seed + k, "best_epoch": state.best_epochs[k],
                  "best_val_loss": state.best_val_losses[k]} for k in range(config.ensemble_size)]
    write_json(out / artifacts.ENSEMBLE, {"members": summaries,
                                          "ensemble_validation": {"val_loss": state.best_val_loss}})
    log.info("ensemble of %d: val_loss %.4g (members: %s)", len(members), state.best_val_loss,
             ", ".join(f"{m['best_val_loss']:.4g}" for m in summaries))
    return ensemble, state, summaries
