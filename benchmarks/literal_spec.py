"""A literal implementation of the original training specification, for benchmarks only.

``../shared/seeds/04_MODEL_TRAINING_INSTRUCTIONS.md`` together with SPEC §4, read the way a
developer following them step by step would write them, with no eye on speed:

- ``LiteralFeatureProcessor.transform`` walks the rows with ``DataFrame.iterrows`` and builds the
  features of one row at a time (vocabulary lookups through a dict, standardisation with the
  fitted scaler's ``mean_``/``scale_``, one-hots, sin/cos encodings);
- ``LiteralAirbnbDataset.__getitem__`` builds one row's tensors and embeds that listing's
  amenity sentence with ``SentenceTransformer.encode`` (nothing is cached);
- ``DataLoader(dataset, batch_size, shuffle=True)`` with the default collation;
- the project's own ``AdditiveAxisModel`` and the spec's weighted MSE with Adam.

It computes the same features as :class:`airbnb.features.FeatureProcessor` (checked by
``check_equivalence``), so the benchmark compares two ways of doing the same work. Nothing in
the package imports this module.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, Dataset

from airbnb.axes import inputs_with
from airbnb.embeddings import resolve_model
from airbnb.features import PASSTHROUGH, LocationEncoding
from airbnb.model import AdditiveAxisModel, ModelConfig
from airbnb.schema import BATHROOM_TYPES, BOOL_COLUMNS as BOOL_FEATURES, RATE_COLUMNS, REVIEW_SCORE_COLUMNS, ROOM_TYPES

# The SPEC's inputs, named as the axes declare them (airbnb.axes); SPEC §5 has no amenity multi-hot.
VOCAB_FEATURES = [i.name for i in inputs_with("vocabulary")]
SCALED_FEATURES = ["accommodates", *REVIEW_SCORE_COLUMNS, *RATE_COLUMNS]
DENSE_INPUTS = [i.name for i in inputs_with("location", "scaled", "log_scaled", "one_hot", "cyclical")]
N_FREQUENCIES, RATIO = LocationEncoding().n_frequencies, LocationEncoding().ratio  # the project's encoding


def _cyclical(value: float, period: float) -> list[float]:
    angle = 2 * math.pi * value / period
    return [math.sin(angle), math.cos(angle)]


def _one_hot(value, categories: list) -> list[float]:
    return [1.0 if not pd.isna(value) and value == c else 0.0 for c in categories]


class LiteralFeatureProcessor:
    """fit on the training rows; transform one row at a time (SPEC §4)."""

    def fit(self, df: pd.DataFrame) -> "LiteralFeatureProcessor":
        self.vocabs = {}
        for col in VOCAB_FEATURES:
            values = sorted(df[col].dropna().unique())
            self.vocabs[col] = {value: i + 1 for i, value in enumerate(values)}  # 0 is "<UNK>"
        self.scalers = {col: StandardScaler().fit(df[[col]].to_numpy(dtype=float)) for col in SCALED_FEATURES}
        self.scalers["number_of_reviews_ltm"] = StandardScaler().fit(
            np.log1p(df[["number_of_reviews_ltm"]].to_numpy(dtype=float)))
        return self

    def _scale(self, col: str, value: float) -> float:
        scaler = self.scalers[col]
        return (value - scaler.mean_[0]) / scaler.scale_[0]

    def transform(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        out: dict[str, list] = {key: [] for key in [*VOCAB_FEATURES, *DENSE_INPUTS, *PASSTHROUGH]}
        for _, row in df.iterrows():
            for col in VOCAB_FEATURES:
                out[col].append(self.vocabs[col].get(row[col], 0))
            location = []
            for coord, base in ((row["latitude"], 180.0), (row["longitude"], 360.0)):
                for k in range(N_FREQUENCIES):
                    location += _cyclical(coord * RATIO ** k, base)
            out["location_coords_cyclical"].append(location)
            out["accommodates"].append(self._scale("accommodates", row["accommodates"]))
            out["review_scores"].append([self._scale(c, row[c]) for c in SCALED_FEATURES[1:7]])
            out["host_rates"].append([self._scale(c, row[c]) for c in SCALED_FEATURES[7:]])
            out["number_of_reviews_ltm_log"].append(
                self._scale("number_of_reviews_ltm", math.log1p(row["number_of_reviews_ltm"])))
            out["room_type_ohe"].append(_one_hot(row["room_type"], ROOM_TYPES))
            out["bathrooms_type_ohe"].append(_one_hot(row["bathrooms_type"], BATHROOM_TYPES))
            for col in BOOL_FEATURES:
                out[f"{col}_ohe"].append(_one_hot(row[col], [False, True]))
            out["month_cyclical"].append(_cyclical(row["month"], 12))
            out["amenities"].append(row["amenities"])
            out["target_price"].append(row["target_price"])
            out["estimated_occupancy_rate"].append(row["estimated_occupancy_rate"])
        return {key: np.array(values, dtype=object if key == "amenities" else None) for key, values in out.items()}


class LiteralAirbnbDataset(Dataset):
    """One row per item; the amenity sentence is embedded when the item is read (SPEC §4)."""

    def __init__(self, processed_data: dict[str, np.ndarray], amenities_model_name: str = "all-MiniLM-L6-v2"):
        from sentence_transformers import SentenceTransformer

        self.data = processed_data
        # the model name resolves to the bundled offline weights (SPEC §7)
        self.model = SentenceTransformer(resolve_model(amenities_model_name).location, device="cpu")

    def __len__(self) -> int:
        return len(self.data["target_price"])

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        item = {}
        for col in VOCAB_FEATURES:
            item[col] = torch.tensor(self.data[col][idx], dtype=torch.long)
        for key in DENSE_INPUTS:
            item[key] = torch.tensor(self.data[key][idx], dtype=torch.float32)
        amenities = json.loads(self.data["amenities"][idx])
        text = "This listing has the following amenities: " + ", ".join(amenities)
        item["amenities_embedding"] = self.model.encode(text, convert_to_tensor=True)
        item["target_price"] = torch.tensor([self.data["target_price"][idx]], dtype=torch.float32)
        item["estimated_occupancy_rate"] = torch.tensor([self.data["estimated_occupancy_rate"][idx]],
                                                        dtype=torch.float32)
        return item


def vocab_sizes(processor: LiteralFeatureProcessor) -> dict[str, int]:
    return {col: len(vocab) + 1 for col, vocab in processor.vocabs.items()}


def train_one_epoch(model, loader, optimizer, criterion, device) -> float:
    """Step 6.1 of the training instructions, as written."""
    model.train()
    running_loss = 0.0
    for batch in loader:
        batch = {key: value.to(device) for key, value in batch.items()}
        optimizer.zero_grad()
        outputs = model(batch)
        predictions = outputs["predicted_price"]
        targets = batch["target_price"]
        weights = batch["estimated_occupancy_rate"]
        raw_loss = criterion(predictions, targets)
        weighted_loss = (raw_loss * weights).mean()
        weighted_loss.backward()
        optimizer.step()
        running_loss += weighted_loss.item()
    return running_loss / len(loader)


def build_training(train_df: pd.DataFrame, batch_size: int, amenities_model_name: str = "all-MiniLM-L6-v2",
                   learning_rate: float = 1e-3):
    """Steps 3-5: processor, dataset, loader, model, loss, optimizer (device: CPU)."""
    processor = LiteralFeatureProcessor().fit(train_df)
    dataset = LiteralAirbnbDataset(processor.transform(train_df), amenities_model_name)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    model = AdditiveAxisModel(ModelConfig(vocab_sizes(processor)))
    criterion = nn.MSELoss(reduction="none")
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    return processor, dataset, loader, model, criterion, optimizer


def check_equivalence(df: pd.DataFrame) -> None:
    """The literal transform computes the project's features (up to float32 rounding); raises if not."""
    from airbnb.features import FeatureProcessor

    ours = FeatureProcessor().fit(df).transform(df)
    literal = LiteralFeatureProcessor().fit(df).transform(df)
    for key, value in literal.items():
        if key == "amenities":
            assert list(value) == list(ours[key]), key
        else:
            np.testing.assert_allclose(np.asarray(value, dtype=np.float64), ours[key], rtol=1e-4, atol=1e-4,
                                       err_msg=key)
