"""Boosted trees confined to one axis each: a second, non-neural estimate of every axis's log factor.

LightGBM with interaction constraints (a tree splits only on the inputs of one axis,
:mod:`airbnb.axes`) is itself a five-axis additive model: its log price is the sum of its trees'
leaves, and every tree belongs to one axis, so an axis's share is the sum of its own trees' leaves,
exactly. The network blends them in axis by axis (``ModelConfig.tree_share``), so the price stays
bias + five contributions exactly, while the two learners' errors partly cancel: over six fold
assignments on Newark the blend is 0.55 points of weighted MAPE ahead of the network alone and
0.20 ahead of the unconfined LightGBM (README, "The axis trees").

Stored as data (``axis_trees.json``: LightGBM's own text format and the design's categories and
amenity names); loading it parses text and never runs code.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from . import artifacts
from .axes import AXES, AXIS_INPUTS, TREES_INPUT
from .baseline_design import AMENITY_PREFIX, MONTH_COLUMNS, TARGET, WEIGHT, BaselineDesign, BaselineError
from .baselines import LightGBMBaseline
from .features import AmenityVocabulary
from .io import atomic_path

# What a row's contributions hold, in this order: the base (log price), then each axis's log factor.
COLUMNS = ("base", *AXES)


def column_axis(column: str) -> str:
    """The axis a design column belongs to (the axis whose declared inputs read its table column)."""
    if column.startswith(AMENITY_PREFIX):
        return "amenities"
    if column in MONTH_COLUMNS:
        return "seasonality"
    for axis in AXES:
        if any(column in item.columns for item in AXIS_INPUTS[axis]):
            return axis
    raise BaselineError(f"design column {column!r} belongs to no axis (airbnb.axes)")


class AxisLightGBM(LightGBMBaseline):
    """LightGBM on log price whose every tree splits on one axis's columns only."""

    def __init__(self, columns: list[str], seed: int = 42, num_threads: int | None = 1):
        super().__init__(seed=seed, num_threads=num_threads)
        groups = {axis: [j for j, c in enumerate(columns) if column_axis(c) == axis] for axis in AXES}
        self.interaction_constraints = [g for g in groups.values() if g]

    @property
    def params(self) -> dict:
        return {**super().params, "interaction_constraints": self.interaction_constraints}


@dataclass
class AxisTrees:
    """The fitted trees and the design that feeds them; :meth:`contributions` per row."""

    design: BaselineDesign
    model_text: str  # LightGBM's text format, best iteration only
    centre: list[float] = field(default_factory=lambda: [0.0] * len(AXES))  # training rows' mean per axis

    @classmethod
    def fit(cls, train_rows: pd.DataFrame, validation_rows: pd.DataFrame, seed: int = 42) -> "AxisTrees":
        """Early-stopped on ``validation_rows``, as the LightGBM peer is; each axis then centred on
        the occupancy-weighted training rows (its mean moves into the base), as the network's are."""
        design = BaselineDesign().fit(train_rows)
        X, Xv = design.transform(train_rows), design.transform(validation_rows)
        booster = AxisLightGBM(list(X.columns), seed=seed).fit(
            X, train_rows[TARGET], train_rows[WEIGHT], Xv, validation_rows[TARGET], validation_rows[WEIGHT])
        trees = cls(design, booster.booster_.model_to_string(num_iteration=booster.iterations_))
        weight = train_rows[WEIGHT].to_numpy(np.float64)
        trees.centre = [float(v) for v in np.average(trees._raw(train_rows)[:, 1:], axis=0, weights=weight)]
        return trees

    def _raw(self, rows: pd.DataFrame) -> np.ndarray:
        """(n, 6): the trees that split on nothing, then each axis's trees, summed per row.

        Every tree belongs to one axis, so an axis's share is the sum of its trees' leaves: read
        from each row's leaf per tree (as fast as a prediction; TreeSHAP took 4 ms a row)."""
        X = self.design.transform(rows).set_axis(self.feature_names, axis=1)
        leaves = self.booster.predict(X, pred_leaf=True, num_threads=1).reshape(len(rows), -1)
        values, owner = self._leaf_table
        picked = values[np.arange(values.shape[0]), leaves]  # (n, trees): each row's leaf value per tree
        return picked @ owner

    @property
    def _leaf_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(leaf values per tree, padded; one-hot of each tree's column in COLUMNS)."""
        if getattr(self, "_leaves", None) is None:
            columns = self.design.columns
            trees = self.booster.dump_model()["tree_info"]
            values = np.zeros((len(trees), max(t["num_leaves"] for t in trees)))
            owner = np.zeros((len(trees), len(COLUMNS)))
            for i, tree in enumerate(trees):
                axes, stack = set(), [tree["tree_structure"]]
                while stack:
                    node = stack.pop()
                    if "split_feature" in node:
                        axes.add(column_axis(columns[node["split_feature"]]))
                        stack += [node["left_child"], node["right_child"]]
                    else:
                        values[i, node.get("leaf_index", 0)] = node["leaf_value"]
                if len(axes) > 1:
                    raise ValueError(f"tree {i} splits on several axes ({sorted(axes)}): not axis trees")
                owner[i, 1 + AXES.index(axes.pop()) if axes else 0] = 1.0
            self._leaves = values, owner
        return self._leaves

    def contributions(self, rows: pd.DataFrame) -> np.ndarray:
        """(n, 6) float32, in log price: the base, then the five axes, each centred on the training
        rows; a row's log price is their sum."""
        out = self._raw(rows)
        centre = np.asarray(self.centre)
        out[:, 1:] -= centre
        out[:, 0] += centre.sum()
        return out.astype(np.float32)

    @property
    def booster(self) -> lgb.Booster:
        if getattr(self, "_booster", None) is None:
            self._booster = lgb.Booster(model_str=self.model_text)
        return self._booster

    @property
    def feature_names(self) -> list[str]:
        return self.booster.feature_name()

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {"model": self.model_text, "centre": self.centre, "categories": self.design.categories,
                "latest_month": self.design.latest_month, "amenities": asdict(self.design.amenities)}

    @classmethod
    def from_dict(cls, data: dict) -> "AxisTrees":
        design = BaselineDesign(AmenityVocabulary(**data["amenities"]), dict(data["categories"]), data["latest_month"])
        return cls(design, str(data["model"]), [float(v) for v in data["centre"]])

    def save(self, path: str | Path) -> Path:
        with atomic_path(Path(path)) as tmp:
            Path(tmp).write_text(json.dumps(self.to_dict()))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "AxisTrees":
        """Trees :meth:`save` wrote; LightGBM parses its text, nothing is executed."""
        try:
            trees = cls.from_dict(json.loads(Path(path).read_text()))
            trees._leaf_table  # parsed now: a damaged file fails here, not at the first price
        except (KeyError, TypeError, IndexError, lgb.basic.LightGBMError) as exc:
            raise ValueError(f"not axis trees this version stored ({type(exc).__name__}: {exc})") from None
        return trees


def load_axis_trees(folder: str | Path, share: float) -> AxisTrees | None:
    """A run's trees, checked against its completion record; None for a model without them."""
    if not share:
        return None
    artifacts.verify(folder, [artifacts.AXIS_TREES])
    return artifacts.read_artifact(Path(folder) / artifacts.AXIS_TREES, AxisTrees.load)


def model_inputs(processor, trees: AxisTrees | None, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The network's inputs for ``rows`` (the processor's), with the trees' contributions when the
    model blends them."""
    out = processor.transform(rows)
    if trees is not None:
        out[TREES_INPUT] = trees.contributions(rows)
    return out

