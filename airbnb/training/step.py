"""One epoch of training and one validation pass (SPEC §6), for one model or a stacked ensemble."""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..errors import ConfigError
from ..metrics import regression_metrics


def pick_device(name: str) -> torch.device:
    """'auto' means CUDA when available; an explicit 'cuda' without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA device is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# --------------------------------------------------------------------------- loops

def target_of(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(prediction, target) in the space the loss is taken in: dollars, or log dollars."""
    outputs = model(batch)
    if in_log_space(model):
        return outputs["predicted_log_price"].float(), torch.log(batch["target_price"])
    return outputs["predicted_price"].float(), batch["target_price"]


LOSSES = ("ape", "mse", "huber", "l1")  # per-row losses of the target (log price by default)


def row_loss(prediction: torch.Tensor, target: torch.Tensor, loss: str, delta: float = 0.1,
             log_space: bool = True) -> torch.Tensor:
    """Each row's error: absolute percentage (the weighted MAPE the model is judged by), squared
    (SPEC §6), Huber (squared within ``delta``, then linear) or absolute.

    ``ape`` is |predicted / listed - 1| in either space (``log_space``: the target is log price), so
    training and early stopping minimise the metric itself: it costs an over-price more than an
    under-price of the same log size, which pulls cheap listings' prices down as MAPE asks. On log
    price ``l1`` and ``huber`` weigh a listing by its log-ratio miss, symmetric in both directions.
    """
    target = target.expand_as(prediction)
    if loss == "ape":
        return (torch.exp(prediction - target) - 1).abs() if log_space else ((prediction - target) / target).abs()
    if loss == "l1":
        return (prediction - target).abs()
    if loss == "huber":
        return nn.functional.huber_loss(prediction, target, reduction="none", delta=delta)
    return (prediction - target) ** 2


def weighted_loss(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, loss: str,
                  delta: float = 0.1, log_space: bool = True) -> torch.Tensor:
    """SPEC §6: the per-row loss times the occupancy weight, averaged over the batch.

    A stacked ensemble's (K, B, 1) predictions give the sum of the K members' losses, so each
    member receives exactly the gradient it would get if trained alone.
    """
    return (row_loss(prediction, target, loss, delta, log_space) * weight).mean(dim=(-2, -1)).sum()


def in_log_space(model) -> bool:
    """Whether :func:`target_of` gives this model's loss log prices (else dollars)."""
    return model.config.target == "log_price"


def n_members(model) -> int:
    """Members computed by one forward pass (K for a stacked ensemble, else 1)."""
    return model.bias.shape[0] if model.bias.dim() == 2 else 1


def autocast(precision: str, device: torch.device):
    """Mixed precision context; fp16 needs CUDA (CPU autocast supports bf16)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision 'fp16' needs a CUDA device; use 'bf16' on a CPU")
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)



def train_one_epoch(model, loader, optimizer, device, progress: bool = False, *, schedule=None, state=None,
                    precision: str = "fp32", accumulation: int = 1, scaler=None, average=None,
                    loss: str, delta: float = 0.1) -> float:
    """One pass over ``loader``; ``accumulation`` micro-batches make one optimizer step."""
    model.train()
    total, rows, n_batches = 0.0, 0, len(loader)
    optimizer.zero_grad(set_to_none=True)
    for i, batch in enumerate(tqdm(loader, desc="train", unit="batch", leave=False, disable=not progress,
                                   mininterval=1)):
        batch = to_device(batch, device)
        with autocast(precision, device):
            prediction, target = target_of(model, batch)
        value = weighted_loss(prediction, target, batch["estimated_occupancy_rate"], loss, delta, in_log_space(model))
        # the mean over this step's micro-batches: the last step of an epoch may have fewer
        scaled = value / min(accumulation, n_batches - i // accumulation * accumulation)
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
        total += value.item() / n_members(model) * n
        rows += n
    return total / rows


VALIDATION_METRICS = ("val_rmse", "val_r2_weighted", "val_mape_weighted")  # besides val_loss


@torch.no_grad()
def validate(model, loader, device, loss: str, delta: float = 0.1) -> dict:
    """Validation loss (training's weighted loss, in the target's space) plus dollar metrics.

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
        extra["val_loss_members"] = [float(v) for v in (row_loss(pred, target, loss, delta, in_log_space(model))
                                                         * weight).mean(dim=(-2, -1))]
        pred = pred.mean(dim=0)
    value = float((row_loss(pred, target, loss, delta, in_log_space(model)) * weight).mean())
    predicted = torch.exp(pred) if in_log_space(model) else pred
    pred, price, weight = (t.flatten().cpu().numpy() for t in (predicted, price, weight))
    if not np.isfinite(pred).all():  # a diverging run: its loss says so, and the run ends with a clear error
        return {"val_loss": value, **dict.fromkeys(VALIDATION_METRICS, float("nan")), **extra}
    weighted, plain = regression_metrics(price, pred, weight), regression_metrics(price, pred)
    return {"val_loss": value, "val_rmse": plain["rmse"], "val_r2_weighted": weighted["r2"],
            "val_mape_weighted": weighted["mape"], **extra}


