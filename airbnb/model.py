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
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

AXES = ("location", "size_capacity", "quality_reputation", "amenities", "seasonality")
DEFAULT_EMBEDDING_DIMS = {"neighbourhood_cleansed": 16, "property_type": 8, "bedrooms": 4, "beds": 4,
                          "bathrooms_numeric": 4}
# Hidden width of each axis's network (SPEC §5 defaults); 0 means a single Linear layer.
DEFAULT_HIDDEN = {"location": 32, "size_capacity": 32, "quality_reputation": 32, "amenities": 0,
                  "seasonality": 16}
BOOL_OHE = ("host_is_superhost_ohe", "host_identity_verified_ohe", "instant_bookable_ohe")
TARGETS = ("price", "log_price")


@dataclass
class ModelConfig:
    """Everything needed to rebuild the model around a saved state dict."""

    vocab_sizes: dict[str, int]
    embedding_dims: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EMBEDDING_DIMS))
    hidden: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HIDDEN))
    location_dim: int = 32
    amenity_dim: int = 384
    target: str = "price"

    def to_dict(self) -> dict:
        return asdict(self)


def mlp(in_features: int, hidden: int) -> nn.Module:
    """Linear(in, hidden) ReLU Linear(hidden, 1), or Linear(in, 1) when ``hidden`` is 0."""
    if hidden <= 0:
        return nn.Linear(in_features, 1)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))


class AdditiveAxisModel(nn.Module):
    """``forward(batch)`` -> ``{"predicted_price": (B,1), "breakdown": {axis: (B,1), "bias": (B,1)}}``."""

    def __init__(self, vocab_sizes: dict[str, int], embedding_dims: dict[str, int] | None = None,
                 hidden: dict[str, int] | None = None, location_dim: int = 32, amenity_dim: int = 384,
                 target: str = "price"):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        self.config = ModelConfig(vocab_sizes=dict(vocab_sizes),
                                  embedding_dims={**DEFAULT_EMBEDDING_DIMS, **(embedding_dims or {})},
                                  hidden={**DEFAULT_HIDDEN, **(hidden or {})},
                                  location_dim=location_dim, amenity_dim=amenity_dim, target=target)
        dims, width = self.config.embedding_dims, self.config.hidden
        missing = [k for k in DEFAULT_EMBEDDING_DIMS if k not in vocab_sizes]
        if missing:
            raise ValueError(f"vocab_sizes lacks {missing}")
        self.embeddings = nn.ModuleDict({k: nn.Embedding(vocab_sizes[k], dims[k]) for k in DEFAULT_EMBEDDING_DIMS})
        size_in = dims["property_type"] + dims["bedrooms"] + dims["beds"] + dims["bathrooms_numeric"] + 4 + 2 + 1
        self.axes = nn.ModuleDict({
            "location": mlp(dims["neighbourhood_cleansed"] + location_dim, width["location"]),
            "size_capacity": mlp(size_in, width["size_capacity"]),
            "quality_reputation": mlp(6 + 2 + 1 + 2 * len(BOOL_OHE), width["quality_reputation"]),
            "amenities": mlp(amenity_dim, width["amenities"]),
            "seasonality": mlp(2, width["seasonality"]),
        })
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("output_scale", torch.ones(1))
        self.register_buffer("axis_offsets", torch.zeros(len(AXES)))

    @classmethod
    def from_config(cls, config: ModelConfig | dict) -> "AdditiveAxisModel":
        config = config if isinstance(config, ModelConfig) else ModelConfig(**config)
        return cls(config.vocab_sizes, config.embedding_dims, config.hidden, config.location_dim, config.amenity_dim,
                   config.target)

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

    def axis_inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each axis's input vector, assembled from the named batch tensors."""
        emb = {k: layer(batch[k]) for k, layer in self.embeddings.items()}
        column = lambda key: batch[key].reshape(-1, 1).float()  # noqa: E731  (scalar per row)
        return {
            "location": torch.cat([emb["neighbourhood_cleansed"], batch["location_coords_cyclical"]], dim=1),
            "size_capacity": torch.cat([emb["property_type"], emb["bedrooms"], emb["beds"],
                                        emb["bathrooms_numeric"], batch["room_type_ohe"],
                                        batch["bathrooms_type_ohe"], column("accommodates")], dim=1),
            "quality_reputation": torch.cat([batch["review_scores"], batch["host_rates"],
                                             column("number_of_reviews_ltm_log"),
                                             *(batch[k] for k in BOOL_OHE)], dim=1),
            "amenities": batch["amenities_embedding"],
            "seasonality": batch["month_cyclical"],
        }

    def forward(self, batch: dict[str, torch.Tensor]) -> dict:
        inputs = self.axis_inputs(batch)
        breakdown = {axis: self.axes[axis](inputs[axis]) * self.output_scale - self.axis_offsets[i]
                     for i, axis in enumerate(AXES)}
        n = inputs["seasonality"].shape[0]
        breakdown["bias"] = self.bias.expand(n).reshape(n, 1)
        return assemble(breakdown, self.config.target)


def assemble(breakdown: dict[str, torch.Tensor], target: str) -> dict:
    """The model's output from its breakdown: the prediction is exactly bias + the five axes."""
    total = breakdown["bias"] + sum(breakdown[axis] for axis in AXES)
    if target == "log_price":
        return {"predicted_price": torch.exp(total), "predicted_log_price": total, "breakdown": breakdown}
    return {"predicted_price": total, "breakdown": breakdown}


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
