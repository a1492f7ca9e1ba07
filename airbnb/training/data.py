"""The data a run trains on: the table, its split by listing, the fitted features and datasets."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from ..artifacts import load_table
from ..axis_trees import AxisTrees, model_inputs
from ..dataset import AirbnbDataset
from ..embeddings import AmenityEmbedder
from ..errors import ConfigError
from ..features import FeatureProcessor, LocationEncoding
from ..log import get_logger
from .config import SMOKE_ROWS, TrainConfig
from .teacher import distilled

log = get_logger(__name__)

SPLIT_RANDOM_STATE = 42


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
        raise ConfigError(f"too few listings ({len(np.unique(ids))}) to split into train and validation")
    return pd.Series(split, index=listing_ids.index, name="split")


def cv_splits(listing_ids: pd.Series, k: int, test_size: float,
              random_state: int = SPLIT_RANDOM_STATE) -> list[pd.Series]:
    """K folds grouped by listing: in fold i, 1/K of the listings are 'test', ``test_size`` of all
    listings 'validation' (taken from the rest) and the others 'train'."""
    ids = listing_ids.to_numpy()
    if len(np.unique(ids)) < k:
        raise ConfigError(f"too few listings ({len(np.unique(ids))}) for {k}-fold cross-validation")
    share = min(test_size / (1 - 1 / k), 0.5)
    folds = []
    for rest, test in GroupKFold(k, shuffle=True, random_state=random_state).split(ids, groups=ids):
        split = np.full(len(ids), "train", dtype=object)
        split[test] = "test"
        _, val = next(GroupShuffleSplit(1, test_size=share, random_state=random_state).split(rest, groups=ids[rest]))
        split[rest[val]] = "validation"
        folds.append(pd.Series(split, index=listing_ids.index, name="split"))
    return folds


@dataclass
class Prepared:
    """Data shared by every member of a run: table, split, fitted processor, datasets."""

    table: pd.DataFrame
    splits: pd.Series
    processor: FeatureProcessor
    datasets: dict[str, AirbnbDataset]
    embedder: AmenityEmbedder
    trees: AxisTrees | None = None  # the axis-constrained trees the model blends in (TrainConfig.tree_share)


def prepare(config: TrainConfig, table: pd.DataFrame | None = None, splits: pd.Series | None = None) -> Prepared:
    """Table, split, fitted processor and datasets (computed once per run, even for ensembles).

    ``table`` and ``splits`` (one of 'train', 'validation', 'test' per row, e.g. a
    cross-validation fold) replace reading ``config.data_path`` and the random split.
    """
    df = load_table(config.data_path, config.cities) if table is None else table
    if config.smoke_test:
        df = df.iloc[:SMOKE_ROWS]
        log.info("smoke test: first %d rows, one epoch", len(df))
    df = df.reset_index(drop=True)
    if splits is None:
        splits = split_listings(df["listing_id"], config.test_size, config.holdout_size)
    else:
        splits = pd.Series(np.asarray(splits, dtype=object)[:len(df)], index=df.index, name="split")
    processor = FeatureProcessor(LocationEncoding(first_octave=config.location_first_octave)).fit(df[splits == "train"])
    embedder = AmenityEmbedder(config.amenities_model_name, config.amenities_encoding, config.cache_dir,
                               progress=config.progress)
    rows = {"train": distilled(df[splits == "train"], df[splits == "validation"], config.distill, config.seed),
            "validation": df[splits == "validation"]}
    # the trees learn from the listed prices (never a teacher's), early-stopped as the network is
    trees = (AxisTrees.fit(df[splits == "train"], rows["validation"], config.seed) if config.tree_share else None)
    datasets = {name: AirbnbDataset(model_inputs(processor, trees, part), embedder=embedder) for name, part in rows.items()}
    log.info("amenity texts: %d encoded, %d from the cache", embedder.n_encoded, embedder.n_cache_hits)
    return Prepared(df, splits, processor, datasets, embedder, trees)


