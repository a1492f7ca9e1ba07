"""Figures the notebooks show. Each function takes plain data and returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def table_overview(df: pd.DataFrame) -> plt.Figure:
    """Price and occupancy-weight distributions of a modeling table, and price by room type."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    price = df["target_price"].to_numpy()
    bins = np.geomspace(max(price.min(), 1.0), price.max() * 1.01, 50)
    axes[0].hist(price, bins=bins, color="tab:blue")
    axes[0].set(xscale="log", xlabel="nightly price ($, log scale)", ylabel="listing-months",
                title=f"Price (median ${np.median(price):,.0f})")
    axes[1].hist(df["estimated_occupancy_rate"], bins=40, color="tab:orange")
    axes[1].set(xlabel="estimated occupancy rate (sample weight)", title="Weight")
    groups = df.groupby("room_type", observed=True)["target_price"]
    names = [n for n, _ in groups]
    axes[2].boxplot([g.to_numpy() for _, g in groups], showfliers=False)
    axes[2].set_xticks(range(1, len(names) + 1), names, rotation=15)
    axes[2].set(yscale="log", ylabel="price ($)", title="Price by room type")
    fig.tight_layout()
    return fig
