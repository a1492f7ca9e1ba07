"""Processed features -> a torch Dataset of named tensors (SPEC §4), and a fast batch loader.

Amenity embeddings are computed once when the dataset is built (never in ``__getitem__``), and
only per *distinct* amenity list: rows keep an index into that small table, so a year of monthly
snapshots costs one embedding per listing, and memory stays small.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from .axes import inputs_with
from .embeddings import DEFAULT_ENCODING, DEFAULT_MODEL, AmenityEmbedder

# The embedded input (airbnb.axes) and the raw text column it is computed from.
(EMBEDDED_INPUT,) = inputs_with("embedding")
EMBEDDING, TEXT = EMBEDDED_INPUT.name, EMBEDDED_INPUT.columns[0]
# Per-row scalars that the loss compares with (B, 1) predictions: kept as (1,) per item.
COLUMN_TARGETS = ("target_price", "estimated_occupancy_rate")


class AirbnbDataset(Dataset):
    """Items are dicts of tensors with descriptive keys; batches are gathered in one indexing op.

    ``processed_data`` is :meth:`FeatureProcessor.transform` output. Pass ``embedder`` to share
    one :class:`AmenityEmbedder` (and its cache) between the training and validation sets.
    """

    def __init__(self, processed_data: dict[str, np.ndarray], amenities_model_name: str = DEFAULT_MODEL,
                 *, encoding: str = DEFAULT_ENCODING, embedder: AmenityEmbedder | None = None,
                 cache_dir: str | None = None):
        embedder = embedder or AmenityEmbedder(amenities_model_name, encoding, cache_dir)
        codes, lists = pd.factorize(np.asarray(processed_data[TEXT], dtype=object))
        self.amenity_table = torch.from_numpy(embedder.embed(list(lists)))
        self.amenity_codes = torch.from_numpy(codes.astype(np.int64))
        self.tensors = {key: _tensor(key, value) for key, value in processed_data.items() if key != TEXT}
        self.n = len(codes)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {key: value[index] for key, value in self.tensors.items()}
        item[EMBEDDING] = self.amenity_table[self.amenity_codes[index]]
        return item

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """A whole batch at once (DataLoader calls this instead of one ``__getitem__`` per row)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = {key: value.index_select(0, index) for key, value in self.tensors.items()}
        batch[EMBEDDING] = self.amenity_table.index_select(0, self.amenity_codes.index_select(0, index))
        return batch

    def all(self) -> dict[str, torch.Tensor]:
        """Every row as one batch (evaluation on modest tables)."""
        return self.__getitems__(range(self.n))


def _tensor(key: str, value: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.require(value, requirements=["C", "W"]))  # copies only read-only arrays
    return tensor.reshape(-1, 1) if key in COLUMN_TARGETS else tensor


def _batch_as_is(batch):
    return batch


def make_loader(dataset: AirbnbDataset, batch_size: int, shuffle: bool, seed: int | None = None,
                **loader_options) -> DataLoader:
    """A DataLoader that fetches whole batches via ``__getitems__`` (no per-row collation).

    ``seed`` fixes the shuffling order, so a run is repeatable.
    """
    generator = torch.Generator().manual_seed(seed) if shuffle and seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=_batch_as_is, **loader_options)
