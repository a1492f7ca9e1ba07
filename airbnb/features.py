"""Modeling table rows -> model inputs (SPEC §4).

:class:`FeatureProcessor` learns vocabularies and scalers from the *training* rows only and
applies the same mapping to any rows (validation, test, a listing to price). Everything is
vectorised: transforming hundreds of thousands of rows takes well under a second per column.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from . import __version__
from .axes import MODEL_INPUTS, SEEN_MONTH, AxisInput, input_columns, inputs_with
from .errors import UserError
from .etl.parsing import parse_amenities
from .etl.steps import fit_fill_values
from .io import atomic_path
from .schema import CITY, TABLE_SCHEMA

UNK = "<UNK>"
# Which table columns get which treatment follows from the axes' declared inputs (airbnb.axes).
VOCAB_FEATURES = [i.name for i in inputs_with("vocabulary")]
NUMERIC_VOCABS = {c for c in VOCAB_FEATURES if not pa.types.is_string(TABLE_SCHEMA.field(c).type)}
SCALED_FEATURES = [c for i in inputs_with("scaled", "log_scaled") for c in i.columns]
LOG_SCALED = {c for i in inputs_with("log_scaled") for c in i.columns}
ONE_HOT_FEATURES = {i.columns[0]: list(i.categories) for i in inputs_with("one_hot")}
# Carried through as they are: the amenity text (embedded by the dataset), the target and the weight.
PASSTHROUGH = [*(c for i in inputs_with("embedding") for c in i.columns), "target_price", "estimated_occupancy_rate"]
INPUT_COLUMNS = input_columns(optional=False)
# Numeric inputs that must be present: a NaN here would silently become a NaN price.
NAN_CHECKED = [c for i in inputs_with("scaled", "log_scaled", "location", "cyclical") for c in i.columns]
# Numeric inputs held to the training rows' range before encoding: a network extrapolates
# wildly (a listing for 40 guests, 0 reviews when every training listing had some), a clipped
# input prices like the nearest training listings.
CLIPPED = [*SCALED_FEATURES, *(c for i in inputs_with("location") for c in i.columns)]
# Inputs reported in ``out_of_range`` when further than this share of their training range outside it.
OUT_OF_RANGE_MARGIN = 0.25


class FeatureError(UserError, ValueError):
    """Rows the processor cannot turn into model inputs; the message names the column."""


def cyclical(values: np.ndarray, period: float) -> np.ndarray:
    """(sin, cos) of ``values`` on a circle of ``period``: December sits next to January."""
    angle = 2 * np.pi * np.asarray(values, dtype=np.float64) / period
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def month_number(year_month: pd.Series) -> np.ndarray:
    """``YYYY-MM`` -> months since year 0 (:func:`airbnb.etl.weights.month_index`'s numbering)."""
    text = year_month.astype("str")
    return text.str[:4].astype("int64").to_numpy() * 12 + text.str[5:7].astype("int64").to_numpy() - 1


def latest_month(rows: pd.DataFrame) -> int | None:
    """The latest snapshot month of ``rows`` (:func:`month_number`), None without ``year_month``."""
    return int(month_number(rows["year_month"]).max()) if "year_month" in rows and len(rows) else None


def years_before(rows: pd.DataFrame, latest: int | None) -> np.ndarray:
    """Years from each row's snapshot month back to ``latest``, 0 at and after it: the trend that
    lets the seasonality axis tell a year's level from a month's. Never extrapolated past the
    training rows; a row without ``year_month`` (a listing to price) is priced as of ``latest``."""
    if latest is None or "year_month" not in rows:
        return np.zeros(len(rows), dtype=np.float32)
    return np.minimum(month_number(rows["year_month"]) - latest, 0).astype(np.float32) / np.float32(12)


@dataclass(frozen=True)
class LocationEncoding:
    """Multi-frequency sin/cos of latitude and longitude (SPEC §4): 2 coords x 2 x ``n_frequencies``.

    Latitude uses base period 180°, longitude 360°; frequency ``k`` multiplies the base frequency by
    ``ratio ** (first_octave + k)``. SPEC §4's octaves (``first_octave`` 0) run from 180° down to
    1.4° of latitude: across a city (Newark spans 0.1°) each turns by a fraction of a radian, so the
    network sees a nearly constant input and location detail rests on the few neighbourhoods.
    Training starts the octaves at 6 (2.8° down to 0.022°, about 2.4 km; ``--location-first-octave``),
    the scale at which prices vary within a city (Newark's 5-fold CV: 18.72% -> 18.08%).
    """

    n_frequencies: int = 8
    ratio: float = 2.0
    first_octave: int = 0

    @property
    def dim(self) -> int:
        return 4 * self.n_frequencies

    def __call__(self, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
        scales = self.ratio ** np.arange(self.first_octave, self.first_octave + self.n_frequencies)
        parts = [cyclical(np.asarray(coord, np.float64)[:, None] * scales, base).reshape(len(coord), -1)
                 for coord, base in ((latitude, 180.0), (longitude, 360.0))]
        return np.concatenate(parts, axis=1).astype(np.float32)


@dataclass
class AmenityVocabulary:
    """The frequent amenities of the training rows, as multi-hot columns (most frequent first).

    An amenity counts when at least ``min_share`` of the training rows (and ``min_count`` rows)
    list it; at most ``max_size`` are kept. Rarer amenities carry too little data to price on their
    own (the sentence-transformer embedding still sees them). Each distinct amenity list is parsed
    once, so a year of monthly snapshots costs one parse per listing.
    """

    min_share: float = 0.01
    min_count: int = 5
    max_size: int = 256
    names: list[str] = field(default_factory=list)

    def fit(self, amenities: pd.Series) -> "AmenityVocabulary":
        codes, lists = _distinct_lists(amenities)
        rows_per_list = np.bincount(codes, minlength=len(lists))
        counts: dict[str, int] = {}
        for items, n in zip(lists, rows_per_list):
            for item in set(items):
                counts[item] = counts.get(item, 0) + int(n)
        threshold = max(self.min_count, self.min_share * len(codes))
        frequent = sorted((item for item, n in counts.items() if n >= threshold), key=lambda a: (-counts[a], a))
        self.names = frequent[:self.max_size]
        return self

    def transform(self, amenities: pd.Series) -> np.ndarray:
        """(rows, len(names)) uint8: 1 where the row lists the amenity."""
        codes, lists = _distinct_lists(amenities)
        index = {name: j for j, name in enumerate(self.names)}
        table = np.zeros((len(lists), len(self.names)), dtype=np.uint8)
        for i, items in enumerate(lists):
            table[i, [index[a] for a in set(items) if a in index]] = 1
        return table[codes]


def _distinct_lists(amenities: pd.Series) -> tuple[np.ndarray, list[list[str]]]:
    """Row codes into the distinct raw amenity strings, and each distinct string parsed once."""
    codes, uniques = pd.factorize(pd.Series(amenities, dtype=object).fillna("").to_numpy())
    return codes, [_parsed(text) for text in uniques]


@lru_cache(maxsize=1 << 16)
def _parsed(text: str) -> tuple[str, ...]:
    """A parsed amenity list, remembered: fit and transform of the same rows parse each text once."""
    return tuple(parse_amenities(text))


class FeatureProcessor(TransformerMixin, BaseEstimator):
    """A scikit-learn transformer: ``fit`` on training rows, ``transform`` any rows into the model's
    inputs (a dict of arrays by input name), ``save``/``load`` as data (SPEC §4 says joblib: a
    pickle, which runs code when loaded; see "stored as data" below).

    Its parameters are the location encoding and the settings of the amenity vocabulary; what
    ``fit`` learns ends in ``_`` (scikit-learn's convention, checked by ``check_is_fitted``).
    """

    def __init__(self, location: LocationEncoding = LocationEncoding(),
                 amenity_vocabulary: AmenityVocabulary = AmenityVocabulary()):
        self.location = location
        # the model's own per-amenity values, the same frequent amenities the baselines see (3%
        # measured 0.16 points worse in Newark's 5-fold CV; rarer ones are priced through the embedding)
        self.amenity_vocabulary = amenity_vocabulary

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, y=None) -> "FeatureProcessor":
        _require_columns(df, INPUT_COLUMNS)
        _reject_nan(df)
        self.vocabs_ = {col: [UNK, *_sorted_values(df[col], col in NUMERIC_VOCABS)] for col in VOCAB_FEATURES}
        self.scalers_ = {col: StandardScaler().fit(_scaler_input(df, col)) for col in SCALED_FEATURES}
        self.amenity_vocabulary_ = dataclasses.replace(self.amenity_vocabulary, names=[]).fit(df["amenities"])
        # remembered so raw rows at prediction time are imputed like the training table
        self.fill_values_ = fit_fill_values(df)
        # (min, max) of the numeric inputs on the training rows: clipping and out-of-range flags
        self.ranges_ = {c: (float(df[c].min()), float(df[c].max())) for c in [*CLIPPED, *sorted(NUMERIC_VOCABS)]}
        self.months_seen_ = tuple(sorted(int(m) for m in df["month"].unique()))
        self.latest_month_ = latest_month(df)  # the training rows' latest snapshot month
        self.version_ = __version__
        return self

    @property
    def vocab_sizes(self) -> dict[str, int]:
        return {col: len(vocab) for col, vocab in self.vocabs_.items()}

    @property
    def cities(self) -> list[str]:
        """The training rows' cities."""
        return list(self.vocabs_[CITY][1:])

    @property
    def n_cities(self) -> int:
        return len(self.cities)

    # ------------------------------------------------------------------ transform
    def transform(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Arrays keyed by input name; ``target_price``/``estimated_occupancy_rate`` when present."""
        try:
            check_is_fitted(self)
        except NotFittedError:
            raise FeatureError("FeatureProcessor is not fitted: call fit(train_df) or FeatureProcessor.load(path)") from None
        _require_columns(df, INPUT_COLUMNS)
        _reject_nan(df)
        df = self._clipped(df)
        out = {item.name: self._encode(item, df) for item in MODEL_INPUTS
               if item.encoding != "embedding" and (item.encoding != "vocabulary" or item.name in self.vocabs_)}
        out[SEEN_MONTH] = self.month_seen(df["month"]).astype(np.float32)
        text, *numbers = PASSTHROUGH
        out[text] = df[text].fillna("").to_numpy(dtype=object)
        out.update({col: df[col].to_numpy(dtype=np.float32) for col in numbers if col in df})
        return out

    def _encode(self, item: AxisInput, df: pd.DataFrame) -> np.ndarray:
        """One declared input's values for ``df``'s rows (a single scaled column stays 1-D)."""
        if item.encoding == "vocabulary":
            return self._indices(df[item.name], item.name)
        if item.encoding == "location":
            return self.location(*(df[c].to_numpy() for c in item.columns))
        if item.encoding in ("scaled", "log_scaled"):
            scaled = [self.scalers_[c].transform(_scaler_input(df, c))[:, 0].astype(np.float32) for c in item.columns]
            return scaled[0] if len(scaled) == 1 else np.stack(scaled, axis=1)
        if item.encoding == "one_hot":
            return _one_hot(df[item.columns[0]], list(item.categories))
        if item.encoding == "cyclical":
            return cyclical(df[item.columns[0]].to_numpy(), 12).astype(np.float32)
        if item.encoding == "multihot":
            return self.amenity_vocabulary_.transform(df[item.columns[0]])
        if item.encoding == "trend":
            return years_before(df, self.latest_month_)
        if item.encoding == "zero_indicator":
            return (df[item.columns[0]].to_numpy() == 0).astype(np.float32)
        raise FeatureError(f"{item.name}: no encoder for {item.encoding!r}")

    def _clipped(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the CLIPPED inputs held to the training range (a copy of those columns only)."""
        return df.assign(**{c: df[c].clip(*self.ranges_[c]) for c in CLIPPED})

    def month_seen(self, months) -> np.ndarray:
        """True where the month is one the training rows covered."""
        return np.isin(np.asarray(months), self.months_seen_)

    def out_of_range(self, df: pd.DataFrame) -> pd.Series:
        """Per row, the inputs far outside the training range ('' for none), e.g. 'accommodates, latitude'.

        Far means beyond the range by more than OUT_OF_RANGE_MARGIN of its width (coordinates: of the
        city's bounding box). Such rows are still priced, from their clipped inputs.
        """
        far = pd.DataFrame({col: _outside(pd.to_numeric(df[col], errors="coerce"), lo, hi)
                            for col, (lo, hi) in self.ranges_.items()}, index=df.index, dtype=bool)
        return far.dot(far.columns + ", ").str.removesuffix(", ").rename("out_of_range")

    def _indices(self, values: pd.Series, col: str) -> np.ndarray:
        """Vocabulary positions; unseen or missing values map to 0 (``<UNK>``)."""
        vocab = pd.Index(self.vocabs_[col][1:])
        keys = values.astype("float64") if col in NUMERIC_VOCABS else values.astype("object")
        return (vocab.get_indexer(keys) + 1).astype(np.int64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """The processor as data (:func:`to_data`), written atomically."""
        path = Path(path)
        tree, arrays = to_data(self)
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            np.savez(out, **{DATA_ENTRY: np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)}, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "FeatureProcessor":
        """A processor :meth:`save` wrote; nothing in the file is executed (:func:`from_data`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"feature processor not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            processor = from_data(json.loads(arrays.pop(DATA_ENTRY).tobytes()), arrays)
        except (ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
            if "pickled" in str(exc):  # numpy's refusal: what a joblib file (or a forged one) holds
                raise FeatureError(f"{path} holds pickled objects (written by an older version, or not by this "
                                   "project): it is not loaded, since loading it could run code; retrain") from None
            raise FeatureError(f"{path} is not a feature processor this version stored ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:200]})") from None
        if not isinstance(processor, cls):
            raise FeatureError(f"{path} does not hold a FeatureProcessor (found {type(processor).__name__})")
        return processor


# --------------------------------------------------------------------------- stored as data
# A fitted processor is stored as data, never as a pickle (which runs code when loaded): one .npz
# file (numpy, loaded with allow_pickle=False) holding its numeric arrays and, in DATA_ENTRY, JSON
# for everything else. Generic over the dataclasses' fields, so a new field needs no code here,
# unless its type is none of those below (then saving says so).

DATA_ENTRY = "processor.json"


def to_data(value, where: str = "FeatureProcessor") -> tuple[object, dict[str, np.ndarray]]:
    """``value`` as a JSON tree and the numeric arrays it refers to (by name)."""
    arrays: dict[str, np.ndarray] = {}
    return _encode(value, arrays, where), arrays


def _encode(value, arrays: dict[str, np.ndarray], where: str):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        arrays[name := f"array{len(arrays)}"] = value
        return {"type": "array", "name": name}
    if isinstance(value, list):
        return [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {"type": "tuple", "items": _encode(list(value), arrays, where)}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"type": "dict", "items": {key: _encode(item, arrays, f"{where}.{key}") for key, item in value.items()}}
    if isinstance(value, (StandardScaler, FeatureProcessor)):  # its settings and what fit learned (mean_, vocabs_, ...)
        return {"type": type(value).__name__, "params": _encode(value.get_params(deep=False), arrays, where),
                "state": _encode(fitted_state(value), arrays, where)}
    if type(value) in _stored_dataclasses().values():
        return {"type": type(value).__name__, "fields": {f.name: _encode(getattr(value, f.name), arrays, f"{where}.{f.name}")
                                                         for f in dataclasses.fields(value)}}
    raise FeatureError(f"{where}: a {type(value).__name__} cannot be stored as data (stored are numbers, text, "
                       "lists, tuples, dicts with text keys, numeric arrays, StandardScaler and the dataclasses of "
                       "airbnb.features): store it as one of those, or teach airbnb.features._encode")


def from_data(tree, arrays: dict[str, np.ndarray]):
    """What :func:`to_data` stored. Only this module's dataclasses and StandardScaler are built,
    from their fields; anything else in the file is refused (never looked up or called)."""
    if isinstance(tree, list):
        return [from_data(item, arrays) for item in tree]
    if not isinstance(tree, dict):
        return tree
    kind = tree.get("type")
    if kind == "array":
        return arrays[tree["name"]]
    if kind == "tuple":
        return tuple(from_data(tree["items"], arrays))
    if kind == "dict":
        return {key: from_data(item, arrays) for key, item in tree["items"].items()}
    if kind == "StandardScaler":
        return _fitted(StandardScaler(**from_data(tree["params"], arrays)), from_data(tree["state"], arrays))
    if kind == "FeatureProcessor":
        if "fields" in tree:  # written as a dataclass (before the processor was a scikit-learn transformer)
            return _processor_from_fields(from_data(tree["fields"], arrays))
        state = from_data(tree["state"], arrays)
        if set(state) != PROCESSOR_STATE:
            raise FeatureError(f"stored FeatureProcessor holds {sorted(state)}, this version's holds "
                               f"{sorted(PROCESSOR_STATE)}: retrain")
        return _fitted(FeatureProcessor(**from_data(tree["params"], arrays)), state)
    cls = _stored_dataclasses().get(kind)
    if cls is None:
        raise FeatureError(f"unknown stored type {kind!r}: the file was not written by this version's "
                           "FeatureProcessor.save")
    values = {name: from_data(item, arrays) for name, item in tree["fields"].items()}
    known = {f.name: f for f in dataclasses.fields(cls)}
    if set(values) - set(known):
        raise FeatureError(f"stored {kind} has fields {sorted(set(values) - set(known))} this version does not know")
    made = cls(**{k: v for k, v in values.items() if known[k].init})
    for name, value in values.items():
        if not known[name].init:
            object.__setattr__(made, name, value)
    return made


def fitted_state(estimator) -> dict:
    """What ``fit`` learned: the attributes ending in ``_`` (scikit-learn's convention)."""
    return {k: v for k, v in vars(estimator).items() if k.endswith("_") and not k.startswith("_")}


def _fitted(estimator, state: dict):
    for name, value in state.items():
        setattr(estimator, name, value)
    return estimator


# What a fitted processor holds (FeatureProcessor.fit sets exactly these).
PROCESSOR_STATE = {"vocabs_", "scalers_", "amenity_vocabulary_", "fill_values_", "ranges_", "months_seen_",
                   "latest_month_", "version_"}


def _processor_from_fields(fields: dict) -> FeatureProcessor:
    """A processor this package stored as a dataclass (the same values, under names without ``_``)."""
    if not fields.get("ranges") or not fields.get("months_seen"):
        raise FeatureError("the feature processor was written by a version before 0.2 (no training ranges or "
                           "months): retrain")
    vocabulary = fields.pop("amenity_vocabulary")
    processor = FeatureProcessor(fields.pop("location"), dataclasses.replace(vocabulary, names=[]))
    return _fitted(processor, {"amenity_vocabulary_": vocabulary, **{f"{k}_": v for k, v in fields.items()}})


def _stored_dataclasses() -> dict[str, type]:
    """The dataclasses a stored processor may contain: this module's own, by name."""
    return {name: obj for name, obj in globals().items()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == __name__}


def _outside(values: pd.Series, lo: float, hi: float) -> pd.Series:
    margin = OUT_OF_RANGE_MARGIN * max(hi - lo, 1e-9)
    return (values < lo - margin) | (values > hi + margin)


def _sorted_values(values: pd.Series, numeric: bool) -> list:
    uniques = values.dropna().astype("float64" if numeric else "object").unique()
    return sorted(float(v) for v in uniques) if numeric else sorted(str(v) for v in uniques)


def _scaler_input(df: pd.DataFrame, col: str) -> np.ndarray:
    values = df[col].to_numpy(dtype=np.float64)
    return (np.log1p(values) if col in LOG_SCALED else values)[:, None]


def _one_hot(values: pd.Series, categories: list) -> np.ndarray:
    """Fixed-order one-hot; missing or unknown values give an all-zero row."""
    codes = pd.Categorical(values.astype("object"), categories=categories).codes
    out = np.zeros((len(values), len(categories)), dtype=np.float32)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


def _require_columns(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FeatureError(f"missing column(s) {', '.join(map(repr, missing))} needed for the model inputs")


def _reject_nan(df: pd.DataFrame) -> None:
    counts = df[NAN_CHECKED].isna().sum()
    bad = counts[counts > 0]
    if len(bad):
        detail = ", ".join(f"'{c}' ({n} rows)" for c, n in bad.items())
        raise FeatureError(f"missing values in model input column(s) {detail}: the ETL imputes these; "
                           "pass rows through airbnb.etl first")
