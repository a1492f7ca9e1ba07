"""Model outputs -> the price and its per-axis breakdown in dollars, one row per listing-month."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .axes import AXES
from .dataset import AirbnbDataset, make_loader
from .model import AdditiveAxisModel, EnsembleModel, dollar_split

BREAKDOWN_COLUMNS = ["bias", *AXES]  # dollars that add up to the price
FACTOR_COLUMNS = [f"{axis}_factor" for axis in AXES]  # log-price models: base price x factors = price


@torch.no_grad()
def predict_dataset(model: AdditiveAxisModel | EnsembleModel, dataset: AirbnbDataset, batch_size: int = 8192,
                    device: str | torch.device = "cpu") -> pd.DataFrame:
    """One row per dataset row: ``predicted_price`` and each axis's contribution in dollars.

    ``bias`` and the five axes always add up to ``predicted_price`` (float64). For dollar models
    they are the model's own terms. For log-price models ``bias`` is the base price and each axis
    gets its order-independent dollar share (:func:`airbnb.model.dollar_split`); the
    multiplicative factors themselves are in ``<axis>_factor`` (base x factors = price).
    """
    model.eval()
    model.to(device)
    multiplicative = model.config.target == "log_price"
    parts = []
    for batch in make_loader(dataset, batch_size, shuffle=False):
        out = model({k: v.to(device) for k, v in batch.items()})
        terms = {k: out["breakdown"][k].double().flatten().cpu().numpy() for k in BREAKDOWN_COLUMNS}
        if multiplicative:
            base = np.exp(terms["bias"])
            columns = {"predicted_price": base * np.exp(sum(terms[a] for a in AXES)), "bias": base,
                       **dollar_split(base, terms), **{f"{a}_factor": np.exp(terms[a]) for a in AXES}}
        else:
            columns = {"predicted_price": sum(terms[k] for k in BREAKDOWN_COLUMNS), **terms}
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True)
