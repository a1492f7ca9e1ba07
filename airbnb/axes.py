"""The five axes a price is explained along, and the model inputs each one reads.

Declared once here. The features compute exactly these inputs (:mod:`airbnb.features`), the
model sizes and assembles each axis network from them (:mod:`airbnb.model`), the baselines see
the same table columns (:mod:`airbnb.baselines`), and the synthetic city's ground truth is
named after :data:`AXES`. To give an axis a new input, add it here and teach the features how to
encode it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .schema import BATHROOM_TYPES, BOOL_COLUMNS, CITY, RATE_COLUMNS, REVIEW_SCORE_COLUMNS, ROOM_TYPES, TABLE_COLUMNS

# The axes in their fixed order (model outputs, breakdown columns, the synthetic city's truth).
AXES = ("location", "size_capacity", "quality_reputation", "amenities", "seasonality")
# Their names for people (figures, the explorer page); "bias" is the base price every axis moves.
AXIS_LABELS = {"bias": "base price", "location": "location", "size_capacity": "size & capacity",
               "quality_reputation": "quality & reputation", "amenities": "amenities", "seasonality": "seasonality"}

# How the features encode an input's table columns (see FeatureProcessor.transform):
ENCODINGS = (
    "vocabulary",  # position in the training rows' vocabulary (0: <UNK>), looked up in a learned embedding
    "location",    # multi-frequency sin/cos of latitude and longitude
    "scaled",      # standardised on the training rows
    "log_scaled",  # log1p, then standardised
    "one_hot",     # fixed categories; missing or unknown gives all zeros
    "cyclical",    # (sin, cos) of the month on a 12-month circle
    "embedding",   # the amenity list embedded by a sentence transformer (airbnb.embeddings)
    "multihot",    # indicators of the training rows' frequent amenities
    "zero_indicator",  # 1 where the column is 0 (e.g. no reviews in the last 12 months)
    "trend",       # years before the training rows' latest month (year_month), 0 at and after it
)


@dataclass(frozen=True)
class AxisInput:
    """One model input: its name in the features and batches, its table columns and its width.

    ``width`` is a number of values, or the name of the :class:`~airbnb.model.ModelConfig` field
    that sets it (an embedding's width is ``embedding_dims[name]``). ``scale`` multiplies a dense
    input before it enters its axis network. ``zero_init`` starts the input's weights at 0: an
    input that is never active in a training table (a city whose rows all have reviews) then
    never moves a price, instead of adding whatever its random initial weights give. ``optional``:
    rows may lack the columns (a listing to price has no snapshot month); they get the input's 0.
    """

    name: str
    columns: tuple[str, ...]
    encoding: str
    width: int | str
    categories: tuple = ()
    scale: float = 1.0
    zero_init: bool = False
    optional: bool = False

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"{self.name}: unknown encoding {self.encoding!r}")
        missing = [c for c in self.columns if c not in TABLE_COLUMNS]
        if missing:
            raise ValueError(f"{self.name}: {missing} are not table columns (airbnb.schema)")


def _vocabulary(column: str) -> AxisInput:
    return AxisInput(column, (column,), "vocabulary", "embedding_dims")


def _one_hot(column: str, categories) -> AxisInput:
    return AxisInput(f"{column}_ohe", (column,), "one_hot", len(categories), tuple(categories))


def _scaled(name: str, columns, encoding: str = "scaled") -> AxisInput:
    return AxisInput(name, tuple(columns), encoding, len(columns))


YEARS_BEFORE_LATEST = "years_before_latest"

# Amenity indicators enter at 1/8: a listing has ~35 of them, so this keeps their sum near the
# embedding's scale; raw 0/1 inputs took Adam's steps 8x larger and overfit within ~30 epochs.
MULTIHOT_SCALE = 0.125

AXIS_INPUTS: dict[str, tuple[AxisInput, ...]] = {
    "location": (
        _vocabulary("neighbourhood_cleansed"),
        AxisInput("location_coords_cyclical", ("latitude", "longitude"), "location", "location_dim"),
        # which city, in a table of several (SPEC §3.1's amendment); absent (width 0) for one city
        _vocabulary(CITY),
    ),
    "size_capacity": (
        *(_vocabulary(c) for c in ("property_type", "bedrooms", "beds", "bathrooms_numeric")),
        _one_hot("room_type", ROOM_TYPES),
        _one_hot("bathrooms_type", BATHROOM_TYPES),
        _scaled("accommodates", ["accommodates"]),
    ),
    "quality_reputation": (
        _scaled("review_scores", REVIEW_SCORE_COLUMNS),
        _scaled("host_rates", RATE_COLUMNS),
        _scaled("number_of_reviews_ltm_log", ["number_of_reviews_ltm"], "log_scaled"),
        *(_one_hot(c, [False, True]) for c in BOOL_COLUMNS),
        # "no reviews yet": scores of such listings are imputed, so they say nothing; optional (SPEC §5 lacks it)
        AxisInput("no_reviews_ltm", ("number_of_reviews_ltm",), "zero_indicator", "no_reviews_indicator",
                  zero_init=True),
    ),
    "amenities": (
        AxisInput("amenities_embedding", ("amenities",), "embedding", "amenity_dim"),
        # optional: absent from the model when its width is 0 (SPEC §5)
        AxisInput("amenities_multihot", ("amenities",), "multihot", "amenity_multihot_dim", scale=MULTIHOT_SCALE),
    ),
    "seasonality": (
        AxisInput("month_cyclical", ("month",), "cyclical", 2),
        # the year apart from the month: in a panel of snapshots over years, a month seen only in
        # one year is not that year's level; 0 for a one-snapshot table and for prices of "now"
        AxisInput(YEARS_BEFORE_LATEST, ("year_month",), "trend", 1, zero_init=True, optional=True),
    ),
}
assert tuple(AXIS_INPUTS) == AXES

MODEL_INPUTS: tuple[AxisInput, ...] = tuple(i for axis in AXES for i in AXIS_INPUTS[axis])

# Per row, 1 where the month is one the training rows covered. The seasonality axis is learned only
# from those months, so it is gated by this: an unseen month gets 0 (the training months' average)
# instead of an extrapolation, and the prediction says so.
SEEN_MONTH = "month_seen"

# Per row, the axis-constrained trees' log price: base, then the five axes (airbnb.axis_trees); a
# model with a tree share blends each axis with its trees' (airbnb.model).
TREES_INPUT = "axis_trees"


def inputs_with(*encodings: str) -> list[AxisInput]:
    """The model inputs with one of ``encodings``, in axis order."""
    return [i for i in MODEL_INPUTS if i.encoding in encodings]


def input_columns(optional: bool = True) -> list[str]:
    """Every table column some axis reads, in the table's column order (without the ``optional``
    inputs' columns if ``optional`` is False: those every row must have)."""
    used = {c for i in MODEL_INPUTS if optional or not i.optional for c in i.columns}
    return [c for c in TABLE_COLUMNS if c in used]


def input_width(item: AxisInput, config) -> int:
    """The number of values ``item`` gives its axis network under a model ``config``."""
    if item.encoding == "vocabulary":
        return int(config.embedding_dims.get(item.name, 0))
    return int(getattr(config, item.width)) if isinstance(item.width, str) else item.width
