"""The additive axis model (SPEC §5): price = bias + five axis contributions, exactly.

Each axis is an independent sub-network that sees only its own features and outputs one number.
Because the price is their plain sum, each axis's output *is* its dollar contribution: the
breakdown needs no post-hoc attribution. Every option keeps that identity.

The sub-networks work in standardised units; a fixed ``output_scale`` (the training prices'
standard deviation, stored as a buffer) turns them into dollars, and the learned ``bias`` starts
at the mean price. That keeps the default Adam learning rate sensible for dollar targets without
changing what the model can express.

With ``target="log_price"`` the same sum is the *log* price: ``predicted_log_price`` equals bias
+ the five contributions exactly, and the price is ``exp(bias) * prod(exp(contribution))``: a
base price times one multiplicative factor per axis.

An additive split is only defined up to constants (any axis can give a dollar to the bias). After
training, :meth:`AdditiveAxisModel.center_axes` moves each axis's average over the training rows
into the bias, so an axis reads as "dollars above or below the average listing-month", and the
bias as the average price. Predictions do not change.

Never an absurd price: in evaluation mode the total (dollars, or log dollars) is kept inside
``bounds`` (by default $1 to $100,000; training sets half the cheapest to three times the dearest
training price) by shrinking the contributions that push it out, proportionally, so the breakdown
still adds up exactly. A price is therefore always positive and finite, whatever the inputs.
(Training mode sees the raw sum, so a row outside the bounds still gets a gradient.)

Ensembles train as one *stacked* model (:func:`stack_members`): every layer carries a leading
member dimension, so K members cost about one batched forward pass instead of K (on small
tables the per-step overhead, not arithmetic, dominates). :func:`unstack_members` gives back K
ordinary models with identical numbers.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .axes import AXES, AXIS_INPUTS, SEEN_MONTH, TREES_INPUT, AxisInput, input_width
from .errors import ConfigError

DEFAULT_EMBEDDING_DIMS = {"neighbourhood_cleansed": 16, "property_type": 8, "bedrooms": 4, "beds": 4,
                          "bathrooms_numeric": 4}
# The city's embedding width when the training rows hold several cities (absent otherwise: width 0).
CITY_EMBEDDING_DIM = 4
# Hidden width of each axis's network (SPEC §5 defaults); 0 means a single Linear layer.
DEFAULT_HIDDEN = {"location": 32, "size_capacity": 32, "quality_reputation": 32, "amenities": 0,
                  "seasonality": 16}
TARGETS = ("price", "log_price")
# The widest a price may ever be, in dollars, before training narrows it to the training prices.
PRICE_LIMITS = (1.0, 100_000.0)
BOUND_FLOOR_SHARE, BOUND_CAP_MULTIPLE = 0.5, 3.0  # of the cheapest / dearest training price


@dataclass
class ModelConfig:
    """Everything needed to rebuild the model around a saved state dict.

    Its defaults are SPEC §5's model, what TrainConfig's ``original`` preset trains;
    :meth:`TrainConfig.model_config` gives the measured configuration's. They stay SPEC's because a
    saved ``model_config.json`` without a key (written before that setting existed) means them.
    """

    vocab_sizes: dict[str, int]
    embedding_dims: dict[str, int] = field(default_factory=dict)  # by input name; the others: SPEC §5's
    hidden: dict[str, int] = field(default_factory=dict)  # by axis; the others: SPEC §5's
    location_dim: int = 32
    amenity_dim: int = 384
    target: str = "price"
    amenity_multihot_dim: int = 0  # frequent-amenity indicators next to the embedding (0: SPEC §5)
    no_reviews_indicator: int = 0  # 1: the quality axis sees "no reviews in the last 12 months" (0: SPEC §5)
    hidden_layers: int = 1  # hidden layers in each axis network that has a hidden width (1: SPEC §5)
    # share of each axis's log price taken from the axis-constrained trees (airbnb.axis_trees); 0
    # while training (the network learns alone) and in SPEC §5's model
    tree_share: float = 0.0

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {self.target!r}")
        if self.hidden_layers < 1:
            raise ConfigError(f"hidden_layers must be >= 1, got {self.hidden_layers}")
        if not 0 <= self.tree_share < 1 or (self.tree_share and self.target != "log_price"):
            raise ConfigError(f"tree_share must be in [0, 1) and needs the log_price target, got {self.tree_share} "
                              f"({self.target})")
        # a partial mapping sets those widths; the others keep SPEC §5's
        self.vocab_sizes = dict(self.vocab_sizes)
        self.embedding_dims = {**DEFAULT_EMBEDDING_DIMS, **self.embedding_dims}
        self.hidden = {**DEFAULT_HIDDEN, **self.hidden}

    def to_dict(self) -> dict:
        return asdict(self)


def mlp(in_features: int, hidden: int, layers: int = 1) -> nn.Module:
    """``layers`` x (Linear ReLU) of width ``hidden`` then Linear(hidden, 1); Linear(in, 1) when ``hidden`` is 0."""
    if hidden <= 0:
        return nn.Linear(in_features, 1)
    widths = [in_features] + [hidden] * layers
    blocks = [module for a, b in zip(widths, widths[1:]) for module in (nn.Linear(a, b), nn.ReLU())]
    return nn.Sequential(*blocks, nn.Linear(hidden, 1))


class AdditiveAxisModel(nn.Module):
    """``forward(batch)`` -> ``{"predicted_price": (B,1), "breakdown": {axis: (B,1), "bias": (B,1)}}``.

    Built from its :class:`ModelConfig` (or the dict a saved model stores), the one description of
    its shape: a saved state dict loads into ``AdditiveAxisModel(saved_config)``.
    """

    def __init__(self, config: ModelConfig | dict):
        super().__init__()
        self.config = ModelConfig(**(config.to_dict() if isinstance(config, ModelConfig) else config))
        # worked out once: forward assembles every batch from these
        self._present = {a: [i for i in AXIS_INPUTS[a] if input_width(i, self.config) > 0] for a in AXES}
        embedded = [i.name for a in AXES for i in self._present[a] if i.encoding == "vocabulary"]
        missing = [k for k in embedded if k not in self.config.vocab_sizes]
        if missing:
            raise ValueError(f"vocab_sizes lacks {missing}")
        self.embeddings = nn.ModuleDict({k: nn.Embedding(self.config.vocab_sizes[k], self.config.embedding_dims[k])
                                         for k in embedded})
        self.axes = nn.ModuleDict({axis: mlp(sum(input_width(i, self.config) for i in self._inputs(axis)),
                                             self.config.hidden[axis], self.config.hidden_layers) for axis in AXES})
        self._zero_init_inputs()
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("output_scale", torch.ones(1))
        self.register_buffer("axis_offsets", torch.zeros(len(AXES)))
        self.register_buffer("bounds", torch.tensor(self._in_target_space(PRICE_LIMITS)))

    def _in_target_space(self, prices: Sequence[float]) -> list[float]:
        return [math.log(p) for p in prices] if self.config.target == "log_price" else [float(p) for p in prices]

    def set_price_bounds(self, cheapest: float, dearest: float) -> None:
        """Keep every prediction within half the cheapest and three times the dearest training price."""
        lo = max(BOUND_FLOOR_SHARE * float(cheapest), PRICE_LIMITS[0])
        hi = min(max(BOUND_CAP_MULTIPLE * float(dearest), 2 * lo), PRICE_LIMITS[1])
        with torch.no_grad():
            self.bounds.copy_(torch.tensor(self._in_target_space((lo, hi))))

    def set_target_scale(self, mean: float, std: float) -> None:
        """Start the bias at the target's mean and express sub-network outputs in its std units."""
        with torch.no_grad():
            self.bias.fill_(float(mean))
            self.output_scale.fill_(max(float(std), 1e-6))

    def center_axes(self, axis_means: dict[str, float]) -> None:
        """Subtract each axis's mean contribution and add it to the bias: same sum, centred axes."""
        with torch.no_grad():
            for i, axis in enumerate(AXES):
                self.axis_offsets[i] += float(axis_means[axis])
                self.bias += float(axis_means[axis])

    def _inputs(self, axis: str) -> list[AxisInput]:
        """The axis's declared inputs that this model has (an optional input of width 0 is left out)."""
        return self._present[axis]

    def _zero_init_inputs(self) -> None:
        """Start the first-layer weights of ``zero_init`` inputs at 0 (see airbnb.axes.AxisInput)."""
        with torch.no_grad():
            for axis, net in self.axes.items():
                first = net[0] if isinstance(net, nn.Sequential) else net
                start = 0
                for item in self._inputs(axis):
                    width = input_width(item, self.config)
                    if item.zero_init:
                        first.weight[:, start:start + width] = 0.0
                    start += width

    def axis_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each axis's input vector: its declared inputs (airbnb.axes) from the batch, in order."""
        def value(item: AxisInput) -> torch.Tensor:
            if item.encoding == "vocabulary":
                return self.embeddings[item.name](batch[item.name])
            x = batch[item.name]
            x = x.reshape(x.shape[0], -1).float()
            return x * item.scale if item.scale != 1.0 else x

        return {axis: _cat([value(i) for i in self._inputs(axis)]) for axis in AXES}

    def forward(self, batch: dict[str, torch.Tensor]) -> dict:
        # Buffers index with ``[..., None, i:i+1]`` so a stacked model (leading member dimension)
        # runs through the same code: (B, 1) outputs for one model, (K, B, 1) for K members.
        inputs = self.axis_inputs(batch)
        scale = self.output_scale[..., None, :]
        axes = {axis: self.axes[axis](inputs[axis]) * scale - self.axis_offsets[..., None, i:i + 1]
                for i, axis in enumerate(AXES)}
        if SEEN_MONTH in batch:  # a month the training rows never covered: no seasonal extrapolation
            axes["seasonality"] = axes["seasonality"] * batch[SEEN_MONTH].reshape(-1, 1).to(axes["seasonality"].dtype)
        bias = self.bias[..., None, :].expand_as(axes[AXES[0]])
        if self.config.tree_share:
            bias, axes = blend_trees(bias, axes, batch, self.config.tree_share)
        if not self.training:  # training sees the raw sum, so a row outside the bounds still gets a gradient
            lo, hi = self.bounds[..., None, 0:1], self.bounds[..., None, 1:2]
            bias = torch.minimum(torch.maximum(bias, lo), hi)
            axes = bound_axes(bias, axes, lo, hi)
        return assemble({**axes, "bias": bias}, self.config.target)


def blend_trees(bias: torch.Tensor, axes: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                share: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The bias and each axis as (1 - share) x the network's + share x the axis trees' log price
    (airbnb.axis_trees): still an exact sum. The trees' seasonality is gated like the network's."""
    if TREES_INPUT not in batch:
        raise ValueError(f"this model blends axis trees ({share:.0%}): build its inputs with "
                         "airbnb.axis_trees.model_inputs")
    trees = batch[TREES_INPUT].to(bias.dtype)
    tree_axes = {axis: trees[:, i + 1:i + 2] for i, axis in enumerate(AXES)}
    if SEEN_MONTH in batch:
        tree_axes["seasonality"] = tree_axes["seasonality"] * batch[SEEN_MONTH].reshape(-1, 1).to(bias.dtype)
    return ((1 - share) * bias + share * trees[:, 0:1],
            {axis: (1 - share) * axes[axis] + share * tree_axes[axis] for axis in AXES})


def blend_with_trees(model: "AdditiveAxisModel", share: float) -> None:
    """Give a trained model its axis trees' ``share`` of each axis (airbnb.axis_trees)."""
    model.config = ModelConfig(**{**model.config.to_dict(), "tree_share": float(share)})


def _cat(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate features, broadcasting per-row inputs across a stacked model's member dimension."""
    lead = parts[0].shape[:-1]
    if all(p.shape[:-1] == lead for p in parts):  # one model (or all stacked): nothing to broadcast
        return torch.cat(parts, dim=-1)
    lead = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return torch.cat([p.expand(*lead, p.shape[-1]) for p in parts], dim=-1)


def bound_axes(bias: torch.Tensor, axes: dict[str, torch.Tensor], lo: torch.Tensor,
               hi: torch.Tensor) -> dict[str, torch.Tensor]:
    """Axes whose sum with ``bias`` (within [lo, hi]) lies in [lo, hi]: the exact identity survives.

    Below ``lo`` the negative contributions shrink by one common factor until the total is ``lo``;
    above ``hi`` the positive ones do. Contributions that are not to blame stay untouched, and a
    prediction already inside the bounds is returned as is.
    """
    stacked = torch.stack([axes[a] for a in AXES])
    pos, neg = stacked.clamp(min=0).sum(0), stacked.clamp(max=0).sum(0)
    total = bias + pos + neg
    shrink_neg = torch.where(total < lo, (lo - bias - pos) / torch.where(neg < 0, neg, -1.0), 1.0).clamp(0, 1)
    shrink_pos = torch.where(total > hi, (hi - bias - neg) / torch.where(pos > 0, pos, 1.0), 1.0).clamp(0, 1)
    scaled = torch.where(stacked < 0, stacked * shrink_neg, stacked * shrink_pos)
    return dict(zip(AXES, scaled.unbind(0)))


def assemble(breakdown: dict[str, torch.Tensor], target: str) -> dict:
    """The model's output from its breakdown: the prediction is exactly bias + the five axes."""
    total = breakdown["bias"] + sum(breakdown[axis] for axis in AXES)
    if target == "log_price":
        return {"predicted_price": torch.exp(total), "predicted_log_price": total, "breakdown": breakdown}
    return {"predicted_price": total, "breakdown": breakdown}


def dollar_split(base_price, log_contributions: dict) -> dict:
    """Each axis's dollars of a log-price prediction, independent of any axis order.

    Axis ``i`` gets its share ``c_i / S`` of the summed log factors ``S`` times the price change
    ``price - base = base * (exp(S) - 1)``; so the dollars add up to the price exactly, an axis
    with factor 1 gets $0, and as ``S -> 0`` an axis gets ``base * c_i``.
    """
    base = np.asarray(base_price, dtype=np.float64)
    logs = {axis: np.asarray(log_contributions[axis], dtype=np.float64) for axis in AXES}
    total = sum(logs.values())
    small = np.abs(total) < 1e-12
    ratio = np.where(small, 1.0, np.expm1(total) / np.where(small, 1.0, total))
    return {axis: base * c * ratio for axis, c in logs.items()}


class StackedLinear(nn.Module):
    """K ``nn.Linear`` layers as one batched matmul: (K, B, in) or shared (B, in) -> (K, B, out)."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))  # K, out, in
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))  # K, out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.expand(self.weight.shape[0], *x.shape)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class StackedEmbedding(nn.Module):
    """K ``nn.Embedding`` tables: (B,) indices -> (K, B, dim)."""

    def __init__(self, layers: Sequence[nn.Embedding]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))  # K, V, dim

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return self.weight[:, index]


_STACKED = {nn.Linear: StackedLinear, nn.Embedding: StackedEmbedding}


def stack_members(members: Sequence[AdditiveAxisModel]) -> AdditiveAxisModel:
    """One model computing K members at once; its state dict is theirs with a leading K dimension."""
    stacked = copy.deepcopy(members[0])
    for name, module in list(stacked.named_modules()):
        kind = _STACKED.get(type(module))
        if kind is not None:
            parent, _, leaf = name.rpartition(".")
            setattr(stacked.get_submodule(parent), leaf, kind([m.get_submodule(name) for m in members]))
    stacked.bias = nn.Parameter(torch.stack([m.bias.detach() for m in members]))
    for buffer in ("output_scale", "axis_offsets", "bounds"):
        setattr(stacked, buffer, torch.stack([getattr(m, buffer) for m in members]))
    return stacked


def unstack_members(stacked: AdditiveAxisModel) -> list[AdditiveAxisModel]:
    """The K ordinary models a :func:`stack_members` model holds (same numbers, own copies)."""
    state = stacked.state_dict()
    members = []
    for k in range(stacked.bias.shape[0]):
        member = AdditiveAxisModel(stacked.config)
        member.load_state_dict({key: value[k].clone() for key, value in state.items()})
        members.append(member)
    return members


class EnsembleModel(nn.Module):
    """The average of K trained members: prediction and every breakdown term are member means.

    Averaging is linear, so bias + the five averaged axes still equals the averaged prediction
    (for ``log_price`` models the average is taken in log space: a geometric mean of prices).
    """

    def __init__(self, members: list[AdditiveAxisModel]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def forward(self, batch: dict[str, torch.Tensor]) -> dict:
        outputs = [member(batch)["breakdown"] for member in self.members]
        mean = {key: torch.stack([o[key] for o in outputs]).mean(dim=0) for key in outputs[0]}
        return assemble(mean, self.config.target)
