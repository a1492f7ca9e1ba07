"""Training settings: one dataclass whose fields are the CLI flags, the notebook parameters and
the params-file keys, validated on construction, plus the named presets (SPEC §6)."""
from __future__ import annotations

from ..cli import defaults, option
from ..config import DEFAULT_ARTIFACTS_DIR, DEFAULT_TABLE_PATH
from ..embeddings import DEFAULT_ENCODING, DEFAULT_MODEL, ENCODINGS
from ..errors import ConfigError
from ..model import CITY_EMBEDDING_DIM, DEFAULT_EMBEDDING_DIMS, DEFAULT_HIDDEN, TARGETS, ModelConfig
from ..schema import CITY
from ..schedule import SCHEDULES, parse_phases
from ..settings import Literal, Range, Text, settings
from .step import LOSSES

SMOKE_ROWS = 1000
PRECISIONS = ("fp32", "bf16", "fp16")
# Bounds (the annotations' Range) lie far beyond the useful values: they stop what would run out
# of memory or never end (100,000 members, 10^9 epochs). Every number must be finite.
Width = Range(int, 1, 4096)
EmbeddingWidth = Range(int, 1, 1024)
# Settings each preset changes from TrainConfig's defaults. 'original' is the training contract of
# SPEC §6 with the SPEC §4/§5 model exactly (what the project did before the measured defaults).
PRESETS: dict[str, dict] = {
    "default": {},
    "original": {"epochs": 10, "target": "price", "loss": "mse", "amenities_multihot": False, "no_reviews_indicator": False, "weight_decay": 0.0,
                 "early_stopping_patience": 0, "ensemble_size": 1, "amenities_encoding": "sentence",
                 "hidden_layers": 1, "location_first_octave": 0, "tree_share": 0.0},
}
PRESET_SETTINGS = frozenset().union(*PRESETS.values())  # what a preset changes


@settings
class TrainConfig:
    """Training settings; CLI flags (``--kebab-case``) and notebook parameters use these names."""

    data_path: Text = option(str(DEFAULT_TABLE_PATH), "modeling table (Parquet); the default one is built "
                          "from the synthetic city when missing")
    output_dir: Text = option(str(DEFAULT_ARTIFACTS_DIR), "where artifacts are written")
    amenities_model_name: Text = option(DEFAULT_MODEL, "sentence transformer: name, or a local directory")
    preset: Literal[tuple(PRESETS)] = option("default", "'default' (the measured configuration, see the README) or 'original' "
                         "(SPEC §4-§6 exactly: dollar target, 10 epochs, one model, sentence amenity text); "
                         "flags given explicitly override the preset")
    epochs: Range(int, 1, 10_000) = option(200, "training epochs (an upper bound: early stopping usually ends sooner)")
    batch_size: Range(int, 1, 1 << 20) = option(64, "batch size for training and validation")
    learning_rate: Range(float, gt=0) = option(1e-3, "Adam learning rate (the peak of a schedule)")
    test_size: Range(float, gt=0, lt=1) = option(0.2, "share of listings for validation (early stopping and model selection)",
                              flags=("--validation-share",), deprecated={"--test-size": None})
    smoke_test: bool = option(False, f"first {SMOKE_ROWS} rows, one epoch: a quick end-to-end check")
    seed: Range(int, 0, 2**32 - 1) = option(42, "seed for weights and batch order (the split always uses random_state=42)")
    holdout_size: Range(float, 0, lt=1) = option(0.2, "share of listings held out as the test split (never trained on); 0.2 "
                                 "with the 0.2 validation share trains on what a fold of 5-fold CV trains on",
                                 flags=("--test-share",), deprecated={"--holdout-size": None})
    cities: list[str] = option([], "train on these cities of the table only (default: every city); a table "
                               "of several cities gives the location axis a city input")
    amenities_encoding: Literal[ENCODINGS] = option(DEFAULT_ENCODING, "'bag_sum' (sum of per-amenity embeddings: the axis is a "
                                   "sum of per-amenity dollar values), 'bag' (their normalised mean) or 'sentence' "
                                   "(SPEC §4 text, slow cold)")
    target: Literal[TARGETS] = option("log_price", "'log_price' (base price x one factor per axis, also split into "
                       "dollars) or 'price' (additive dollar breakdown)")
    amenities_multihot: bool = option(True, "give the amenities axis indicators of the frequent amenities "
                                    "next to the embedding (each amenity gets its own learned value)")
    no_reviews_indicator: bool = option(True, "give the quality axis an indicator of 'no reviews in the last 12 "
                                      "months' (such listings' scores are imputed; SPEC §5 has none)",
                                      flags=("--unreviewed-indicator",),
                                      deprecated={"--no-reviews-indicator": True, "--no-no-reviews-indicator": False})
    loss: Literal[LOSSES] = option("ape", "per-row loss: 'ape' (|predicted/listed - 1|, the metric the model is judged by), "
                       "'mse' of the target (SPEC §6), 'huber' or 'l1' (on log price: symmetric log-ratio misses)")
    huber_delta: Range(float, 1e-6, 100) = option(0.1, "where the Huber loss turns from squared to linear (in log price, 0.1 is a "
                                "miss of about 10 percent)")
    distill: Range(float, 0, 1) = option(0.0, "share of a LightGBM teacher's out-of-fold log price in the training target "
                            "(0: the listed price only; see airbnb.training.teacher)")
    tree_share: Range(float, 0, 0.9) = option(0.3, "share of each axis's log price taken, after training, from LightGBM "
                              "trees confined to that axis's inputs (airbnb.axis_trees): the price stays bias + "
                              "five axes exactly (0: the network alone; needs the log_price target)")
    weight_decay: Range(float, 0, 1) = option(1e-4, "Adam weight decay")
    weight_average: Range(float, 0, lt=1) = option(0.0, "decay of an exponential moving average of the weights, updated "
                                 "every step, that is validated and kept instead of the raw weights (0: off)")
    # model size (SPEC §5 defaults but for the depth)
    hidden_layers: Range(int, 1, 16) = option(2, "hidden layers in each axis network that has a hidden width (SPEC §5: 1)")
    location_hidden: Width = option(DEFAULT_HIDDEN["location"], "hidden width of the location network")
    size_capacity_hidden: Width = option(DEFAULT_HIDDEN["size_capacity"], "hidden width of the size & capacity network")
    quality_reputation_hidden: Width = option(DEFAULT_HIDDEN["quality_reputation"],
                                          "hidden width of the quality & reputation network")
    amenities_hidden: Range(int, 0, 4096) = option(DEFAULT_HIDDEN["amenities"], "hidden width of the amenities network "
                                 "(0: one Linear layer, as SPEC §5)")
    seasonality_hidden: Width = option(DEFAULT_HIDDEN["seasonality"], "hidden width of the seasonality network")
    neighbourhood_embedding_dim: EmbeddingWidth = option(DEFAULT_EMBEDDING_DIMS["neighbourhood_cleansed"],
                                            "neighbourhood embedding width")
    property_type_embedding_dim: EmbeddingWidth = option(DEFAULT_EMBEDDING_DIMS["property_type"], "property type embedding width")
    count_embedding_dim: EmbeddingWidth = option(DEFAULT_EMBEDDING_DIMS["bedrooms"], "bedrooms/beds/bathrooms embedding width")
    location_first_octave: Range(int, 0, 24) = option(6, "first octave of the latitude/longitude sin-cos encoding above its "
                                        "180°/360° base periods: 6 spans 2.8° down to 0.02° of latitude (about "
                                        "2 km), the scale of a city; 0 is SPEC §4's 180° to 1.4°")
    city_embedding_dim: EmbeddingWidth = option(CITY_EMBEDDING_DIM, "city embedding width (location axis), used only when "
                                     "the training rows hold several cities (one city: no such input)")
    # schedule and stopping
    lr_schedule: Literal[SCHEDULES] = option("constant", "'constant', 'cosine' (warm-up then cosine decay) or 'phased'")
    warmup_epochs: Range(float, 0, 10_000) = option(0.0, "linear warm-up length in epochs (constant and cosine schedules)")
    lr_phases: str = option("", "phased schedule as epoch:lr pairs from epoch 1, e.g. '1:0.001,5:0.0003'")
    early_stopping_patience: Range(int, 0, 10_000) = option(20, "stop after this many epochs without improvement (0: off); "
                                        "the best epoch's weights are kept")
    early_stopping_min_delta: Range(float, 0, 1e6) = option(0.0, "improvement smaller than this does not count")
    # compute
    precision: Literal[PRECISIONS] = option("fp32", "'fp32', 'bf16' (CPU or GPU autocast) or 'fp16' (CUDA only)")
    grad_accumulation: Range(int, 1, 1024) = option(1, "micro-batches per optimizer step (effective batch = batch_size x this)")
    num_workers: Range(int, 0, 256) = option(0, "DataLoader worker processes (0: batches are gathered in-process, fastest here)")
    pin_memory: bool = option(False, "pin batch memory (helps CUDA transfers only)")
    prefetch_factor: Range(int, 1, 64) = option(2, "batches each worker prepares ahead (with num_workers > 0)")
    threads: Range(int, 0, 1024) = option(0, "torch CPU threads (0: torch's default; 1 is faster on a busy machine)")
    device: Text = option("auto", "'auto' (cuda when available), 'cpu' or 'cuda'")
    # runs
    resume: Text = option("", "checkpoint.pt (or its output dir) to continue training exactly where it stopped")
    ensemble_size: Range(int, 1, 64) = option(10, "members trained together (initial seeds seed, seed+1, ...) and averaged; "
                              "stacked, so cheap on a small table (10 took 1.2x the time of 5 in Newark's CV)")
    tracking: bool = option(False, "log params, per-epoch metrics and artifacts to MLflow")
    tracking_uri: Text = option("", "MLflow tracking URI (default: a local store in <output_dir>/mlruns)")
    experiment_name: Text = option("airbnb-price", "MLflow experiment")
    cache_dir: Text = option("", "embedding cache folder (default $AIRBNB_CACHE_DIR or ~/.cache/airbnb-price)")
    progress: bool = option(True, "show progress bars", notebook=False)

    def __post_init__(self):
        if self.test_size + self.holdout_size >= 1:
            raise ConfigError(f"test_size + holdout_size must be < 1, got {self.test_size} and {self.holdout_size}")
        if self.tree_share and self.target != "log_price":
            raise ConfigError(f"tree_share {self.tree_share} needs the log_price target (the trees price log price); "
                              "with target 'price' pass tree_share 0")
        if self.lr_schedule == "phased":
            parse_phases(self.lr_phases)

    @property
    def epochs_to_run(self) -> int:
        return 1 if self.smoke_test else self.epochs

    def model_config(self, processor, amenity_dim: int) -> ModelConfig:
        """The model this config trains on ``processor``'s features (``amenity_dim``: the amenity
        embedding's width). The city input exists only for rows of several cities: a one-city model
        is the model without it."""
        return ModelConfig(
            vocab_sizes=processor.vocab_sizes, amenity_dim=amenity_dim, location_dim=processor.location.dim,
            amenity_multihot_dim=len(processor.amenity_vocabulary_.names) if self.amenities_multihot else 0,
            no_reviews_indicator=int(self.no_reviews_indicator), target=self.target, hidden_layers=self.hidden_layers,
            embedding_dims={"neighbourhood_cleansed": self.neighbourhood_embedding_dim,
                            "property_type": self.property_type_embedding_dim,
                            **{k: self.count_embedding_dim for k in ("bedrooms", "beds", "bathrooms_numeric")},
                            CITY: self.city_embedding_dim if processor.n_cities > 1 else 0},
            hidden={"location": self.location_hidden, "size_capacity": self.size_capacity_hidden,
                    "quality_reputation": self.quality_reputation_hidden, "amenities": self.amenities_hidden,
                    "seasonality": self.seasonality_hidden})


def configure(preset: str = "default", **settings) -> TrainConfig:
    """A TrainConfig from a preset, with ``settings`` (any TrainConfig field) overriding it; an
    unknown preset is refused by TrainConfig's own check of ``preset``."""
    changes = PRESETS.get(preset, {}) if isinstance(preset, str) else {}
    return TrainConfig(**{**changes, **settings, "preset": preset})


def config_from_parameters(namespace: dict) -> TrainConfig:
    """A TrainConfig from a notebook's parameters (the names it shares with TrainConfig).

    The settings a preset changes are ``None`` in the notebook: ``None`` takes the preset's value,
    any other value overrides it, even one equal to TrainConfig's default (``preset: original``
    with ``epochs: 200`` trains 200 epochs, not the preset's 10).
    """
    given = {name: namespace[name] for name in defaults(TrainConfig) if name in namespace and name != "preset"
             and not (namespace[name] is None and name in PRESET_SETTINGS)}
    return configure(namespace.get("preset", "default"), **given)


def notebook_defaults() -> dict:
    """The train notebook's parameters: TrainConfig's defaults, but ``None`` ("the preset's") for
    each setting a preset changes."""
    return {name: None if name in PRESET_SETTINGS else value
            for name, value in defaults(TrainConfig, notebook=True).items()}
