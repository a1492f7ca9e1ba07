"""Inference: run a trained model over rows and return prices with their per-axis breakdown."""
from __future__ import annotations

import pandas as pd
import torch

from .dataset import AirbnbDataset, make_loader
from .model import AXES, AdditiveAxisModel

BREAKDOWN_COLUMNS = ["bias", *AXES]


@torch.no_grad()
def predict_dataset(model: AdditiveAxisModel, dataset: AirbnbDataset, batch_size: int = 8192,
                    device: str | torch.device = "cpu") -> pd.DataFrame:
    """One row per dataset row: ``predicted_price`` and the dollar contribution of each axis.

    ``predicted_price`` equals the sum of the breakdown columns (the model's identity).
    """
    model.eval()
    model.to(device)
    parts = []
    for batch in make_loader(dataset, batch_size, shuffle=False):
        out = model({k: v.to(device) for k, v in batch.items()})
        columns = {"predicted_price": out["predicted_price"], **{k: out["breakdown"][k] for k in BREAKDOWN_COLUMNS}}
        parts.append(pd.DataFrame({k: v.flatten().double().cpu().numpy() for k, v in columns.items()}))
    return pd.concat(parts, ignore_index=True)
