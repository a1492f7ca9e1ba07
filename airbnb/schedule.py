"""Learning-rate schedules and early stopping for the training loop.

Schedules are pure functions of the optimizer step (no hidden state), so resuming from a
checkpoint at step ``s`` continues with exactly the learning rate an uninterrupted run would use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError

SCHEDULES = ("constant", "cosine", "phased")


def parse_phases(text: str) -> list[tuple[int, float]]:
    """``"1:1e-3,5:3e-4"`` -> [(1, 0.001), (5, 0.0003)]: epochs 1-4 use 1e-3, from epoch 5 on 3e-4.

    Epochs count from 1, as in the training log and ``history.csv``.
    """
    try:
        pairs = sorted((int(epoch), float(lr)) for epoch, lr in
                       (item.split(":") for item in text.replace(" ", "").split(",") if item))
    except ValueError as exc:
        raise ConfigError(f"lr_phases must look like '1:0.001,5:0.0003' (epoch:learning rate pairs), got {text!r}") from exc
    if not pairs or pairs[0][0] != 1:
        raise ConfigError(f"lr_phases must start at epoch 1, got {text!r}")
    if any(lr <= 0 for _, lr in pairs):
        raise ConfigError(f"lr_phases learning rates must be > 0, got {text!r}")
    return pairs


@dataclass(frozen=True)
class LRSchedule:
    """Learning rate per optimizer step.

    - ``constant``: ``base_lr`` throughout (after the optional warm-up);
    - ``cosine``: linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``total_steps``;
    - ``phased``: piecewise constant, ``phases`` are (first epoch, lr) pairs (epochs from 1).
    """

    kind: str
    base_lr: float
    total_steps: int
    steps_per_epoch: int
    warmup_steps: int = 0
    phases: tuple[tuple[int, float], ...] = ()

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {SCHEDULES}, got {self.kind!r}")

    def __call__(self, step: int) -> float:
        if self.kind == "phased":
            epoch = step // max(self.steps_per_epoch, 1) + 1
            return [lr for first, lr in self.phases if first <= epoch][-1]
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.base_lr
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.base_lr * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    ``patience`` 0 never stops. The state (best loss, epochs without improvement) is checkpointed.
    """

    patience: int = 0
    min_delta: float = 0.0
    best: float = math.inf
    bad_epochs: int = 0

    def step(self, loss: float) -> bool:
        """Record an epoch's validation loss; True when training should stop."""
        if loss < self.best - self.min_delta:
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        return self.patience > 0 and self.bad_epochs >= self.patience
