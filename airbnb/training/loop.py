"""The training loop: epochs with validation, early stopping per member, the best weights kept,
a checkpoint every epoch, and the finished members centred and saved (SPEC §6)."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from .. import artifacts
from ..dataset import make_loader
from ..errors import ConfigError
from ..log import get_logger
from ..model import AdditiveAxisModel, EnsembleModel
from ..schedule import LRSchedule, parse_phases
from .checkpoint import LoopState, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import Prepared
from .ensemble import finish_members, init_members, member_states
from .step import pick_device, train_one_epoch, validate

log = get_logger(__name__)
LOG_EVERY = 10  # epochs between summary lines; the first, the last and each marked improvement are logged too
CONVERGED_FALL = 0.005  # a fall of the validation loss over a run's last epochs below this share is levelling off
LOG_GAIN = 0.1  # an improvement is logged when the best validation MAPE is this share below the last line's


def make_schedule(config: TrainConfig, steps_per_epoch: int) -> LRSchedule:
    return LRSchedule(config.lr_schedule, config.learning_rate, steps_per_epoch * config.epochs_to_run,
                      steps_per_epoch, round(config.warmup_epochs * steps_per_epoch),
                      tuple(parse_phases(config.lr_phases)) if config.lr_schedule == "phased" else ())


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Adam:
    # fused: one kernel for all parameters, since the step dominates small batches
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)


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
    state.data_sha256 = artifacts.table_digest(config.data_path)
    if config.resume:
        state, best = load_checkpoint(config, model, optimizer, scaler, average)
    epochs = config.epochs_to_run
    bar = tqdm(total=epochs, initial=state.epoch, desc="train", unit="epoch", disable=not config.progress,
               mininterval=5, dynamic_ncols=True)
    best_mape = logged_mape = min((h.get("val_mape_weighted", math.inf) for h in state.history), default=math.inf)
    while state.epoch < epochs:
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        # a fresh generator per epoch: the batch order depends only on (seed, epoch), so a resumed
        # run shuffles exactly as an uninterrupted one
        loader = make_loader(data.datasets["train"], config.batch_size, shuffle=True,
                             seed=config.seed * 100_003 + epoch, **loader_options)
        train_loss = train_one_epoch(model, loader, optimizer, device, False, schedule=schedule,
                                     state=state, precision=config.precision,
                                     accumulation=config.grad_accumulation, scaler=scaler, average=average,
                                     loss=config.loss, delta=config.huber_delta)
        metrics = validate(scored, val_loader, device, config.loss, config.huber_delta)
        losses = metrics.pop("val_loss_members", None) or [metrics["val_loss"]]
        improved = [k for k, loss in enumerate(losses) if loss < state.best_val_losses[k]]
        for k in improved:
            state.best_val_losses[k], state.best_epochs[k] = losses[k], epoch
        best.update(member_states(scored, improved))
        if 0 in improved:  # SPEC §6: the best state dict after each epoch (an ensemble's first member)
            artifacts.save_state(best[0], out / artifacts.MODEL)
        stopped = [stopper.step(loss) for stopper, loss in zip(state.stoppers, losses)]
        state.epoch = epoch
        state.history.append({"epoch": epoch, "train_loss": train_loss, **metrics, "members_improved": len(improved),
                              "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 3)})
        save_checkpoint(out / artifacts.CHECKPOINT, config, model, optimizer, scaler, state, best, average)
        artifacts.write_frame(pd.DataFrame(state.history), out / artifacts.HISTORY)
        bar.update(1)
        best_mape = min(best_mape, metrics["val_mape_weighted"])
        if (best_mape < (1 - LOG_GAIN) * logged_mape or epoch in (1, epochs) or epoch % LOG_EVERY == 0
                or all(stopped)):
            logged_mape = best_mape
            log.info("epoch %d/%d  validation MAPE %.1f%% (best %.1f%%)  R²(w) %.3f  %s",
                     epoch, epochs, 100 * metrics["val_mape_weighted"], 100 * best_mape,
                     metrics["val_r2_weighted"], _improved_note(improved, len(losses)))
        for callback in callbacks:
            callback(epoch, state.history[-1])
        if all(stopped):
            log.info("early stopping: no improvement > %g for %d epochs; keeping epoch %s",
                     config.early_stopping_min_delta, config.early_stopping_patience,
                     ", ".join(map(str, state.best_epochs)))
            break
    bar.close()
    warn_if_still_improving(config, state)
    if not all(math.isfinite(loss) for loss in state.best_val_losses):
        raise ConfigError(f"training diverged: no epoch had a finite validation loss (learning_rate "
                         f"{config.learning_rate}); lower the learning rate")
    return finish_members(config, model.config, best, state, data, out, val_loader, device)


def still_improving(state: LoopState, window: int) -> list[int]:
    """Members whose best epoch lies within the last ``window`` epochs."""
    return [k for k, best in enumerate(state.best_epochs) if best > state.epoch - window]


def recent_fall(state: LoopState, window: int) -> float:
    """How much lower (a share) the deployed model's best validation loss is than its best
    before the last ``window`` epochs (1.0 when no epoch came before them)."""
    losses = pd.Series([h["val_loss"] for h in state.history], dtype=float)
    before, best = losses[: len(losses) - window].min(), losses.min()
    return 1.0 if not math.isfinite(before) or before <= 0 else max(0.0, (before - best) / before)


def warn_if_still_improving(config: TrainConfig, state: LoopState) -> None:
    """A run cut off by its epoch cap while its validation loss still fell is undertrained: say so.

    "Still falling" means a new best within the last 10% of the epochs (at least the last one, at
    most the patience) that lowered the deployed model's validation loss by ``CONVERGED_FALL`` or
    more over them. Members that still set tiny new bests on a flat curve have levelled off: more
    epochs would not change the model (with the squared loss, Newark's own-city run with 400 epochs
    instead of 200 priced its test split 18.72% against 18.73%), so they get an info line instead.
    """
    if config.smoke_test or state.epoch < config.epochs_to_run:
        return
    window = max(1, min(math.ceil(0.1 * state.epoch), config.early_stopping_patience or 1))
    members = still_improving(state, window)
    if not members:
        return
    fall = recent_fall(state, window)
    bests = ", ".join(str(state.best_epochs[k]) for k in members)
    if fall < CONVERGED_FALL:
        log.info("%d of %d member(s) set new bests in the last %d epochs (best epochs %s), but the validation loss "
                 "fell only %.2f%% over them: converged at the epoch cap (epochs %d)",
                 len(members), len(state.best_epochs), window, bests, 100 * fall, config.epochs_to_run)
        return
    log.warning("%d of %d member(s) stopped at the epoch cap (epochs %d) while still improving (best epochs %s; "
                "the validation loss fell %.1f%% in the last %d epochs): the model is undertrained; raise --epochs "
                "(early stopping ends the run when it has converged)",
                len(members), len(state.best_epochs), config.epochs_to_run, bests, 100 * fall, window)


def weight_average(model: nn.Module, decay: float):
    """An exponential moving average of ``model``'s weights (``None`` when ``decay`` is 0)."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _improved_note(improved: list[int], members: int) -> str:
    if not improved:
        return ""
    return "* best loss" if members == 1 else f"* {len(improved)}/{members} members improved"


