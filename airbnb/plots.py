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


def learning_curves(history: pd.DataFrame) -> plt.Figure:
    """Weighted MSE per epoch (train and validation) and validation R² / MAPE."""
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(12, 3.8))
    loss_ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    loss_ax.plot(history["epoch"], history["val_loss"], "o-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="weighted MSE ($²)", yscale="log", title="Loss")
    loss_ax.legend()
    metric_ax.plot(history["epoch"], history["val_r2_weighted"], "o-", color="tab:green", label="R² (weighted)")
    metric_ax.set(xlabel="epoch", ylabel="R²", title="Validation")
    mape_ax = metric_ax.twinx()
    mape_ax.plot(history["epoch"], 100 * history["val_mape_weighted"], "s--", color="tab:red", label="MAPE % (weighted)")
    mape_ax.set_ylabel("MAPE %")
    fig.legend(loc="lower right", bbox_to_anchor=(0.98, 0.15))
    fig.tight_layout()
    return fig


def breakdown_bars(frame: pd.DataFrame, labels: list[str] | None = None) -> plt.Figure:
    """One horizontal bar per listing, split into bias + axis contributions (negatives to the left)."""
    from .predict import BREAKDOWN_COLUMNS

    labels = labels or [str(i) for i in frame.index]
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(frame) + 1.5))
    y = np.arange(len(frame))
    left_pos, left_neg = np.zeros(len(frame)), np.zeros(len(frame))
    for column, color in zip(BREAKDOWN_COLUMNS, plt.cm.tab10.colors):
        values = frame[column].to_numpy()
        start = np.where(values >= 0, left_pos, left_neg + values)
        ax.barh(y, np.abs(values), left=start, color=color, label=column)
        left_pos += np.clip(values, 0, None)
        left_neg += np.clip(values, None, 0)
    ax.scatter(frame["predicted_price"], y, color="black", marker="|", s=300, zorder=3, label="predicted price")
    if "target_price" in frame:
        ax.scatter(frame["target_price"], y, color="black", marker="x", zorder=3, label="listed price")
    ax.set_yticks(y, labels)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="$ per night")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize="small")
    fig.tight_layout()
    return fig
