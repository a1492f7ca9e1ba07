"""Random streams, and the categorical draws every part of the city makes."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, so changing one part does not reshuffle the others."""
    names = ("timeline", "population", "hosts", "places", "units", "amenities", "scores",
             "text", "simulation", "snapshots", "reviews", "noise")
    # spawn() keys child i by i alone, so appending a stream leaves the earlier ones unchanged.
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(s) for name, s in zip(names, children)}


def choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(probs))[:, None] > cdf).sum(axis=1), probs.shape[1] - 1)


def pick(rng: np.random.Generator, pool: Sequence[str], n: int,
         p: Sequence[float] | None = None) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.choice(len(pool), size=n, p=p)]
