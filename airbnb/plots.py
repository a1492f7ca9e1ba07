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


def learning_curves(history: pd.DataFrame, target: str = "price") -> plt.Figure:
    """Weighted MSE per epoch (train and validation; of log price for ``target='log_price'``) and
    validation R² / MAPE."""
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(12, 3.8))
    loss_ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    loss_ax.plot(history["epoch"], history["val_loss"], "o-", label="validation")
    unit = "weighted MSE of log price" if target == "log_price" else "weighted MSE ($²)"
    loss_ax.set(xlabel="epoch", ylabel=unit, yscale="log", title="Loss")
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
    """One horizontal bar per listing, split into bias + axis dollars (negatives to the left)."""
    from .breakdown import BREAKDOWN_COLUMNS

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


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> plt.Figure:
    """Predicted against listed price (log-log) and residuals against predicted price."""
    fig, (ax, res_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    size = 4 if weights is None else 2 + 20 * np.asarray(weights)
    ax.scatter(actual, predicted, s=size, alpha=0.3)
    lo, hi = float(min(actual.min(), predicted.min(), 10)), float(max(actual.max(), predicted.max()))
    ax.plot([max(lo, 1), hi], [max(lo, 1), hi], color="black", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="listed price ($)", ylabel="predicted price ($)",
           title="Predicted vs listed (marker size = weight)")
    res_ax.scatter(predicted, actual - predicted, s=size, alpha=0.3)
    res_ax.axhline(0, color="black", lw=1)
    res_ax.set(xscale="log", xlabel="predicted price ($)", ylabel="listed - predicted ($)", title="Residuals")
    fig.tight_layout()
    return fig


def axis_distributions(frame: pd.DataFrame) -> plt.Figure:
    """How much each axis moves prices: the spread of its dollar contributions."""
    from .model import AXES

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.boxplot([frame[a].to_numpy() for a in AXES], showfliers=False)
    ax.set_xticks(range(1, len(AXES) + 1), [a.replace("_", " & ") if a in ("size_capacity", "quality_reputation")
                                             else a for a in AXES])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(ylabel="$ contribution (relative to the base price)", title="Per-axis contributions")
    fig.tight_layout()
    return fig


def waterfall(row: pd.Series, title: str = "") -> plt.Figure:
    """Bias, then each axis's dollars up or down, ending at the predicted price.

    For log-price models the bias is the base price and each axis's dollars are its share of the
    price change (the steps do not depend on the order they are drawn in); the factor is printed
    under the dollars.
    """
    from .breakdown import BREAKDOWN_COLUMNS

    fig, ax = plt.subplots(figsize=(8, 3.6))
    level = 0.0
    for i, column in enumerate(BREAKDOWN_COLUMNS):
        value = float(row[column])
        color = "tab:grey" if column == "bias" else ("tab:green" if value >= 0 else "tab:red")
        ax.bar(i, value, bottom=level, color=color)
        factor = row.get(f"{column}_factor")
        label = f"{value:+,.0f}" + (f"\n×{float(factor):.2f}" if factor is not None else "")
        ax.text(i, level + value + (3 if value >= 0 else -3), label, ha="center",
                va="bottom" if value >= 0 else "top", fontsize="small")
        level += value
    price_col = "predicted_price" if "predicted_price" in row else "recommended_price"
    ax.bar(len(BREAKDOWN_COLUMNS), float(row[price_col]), color="tab:blue")
    ax.text(len(BREAKDOWN_COLUMNS), float(row[price_col]) + 3, f"${float(row[price_col]):,.0f}", ha="center",
            va="bottom", fontsize="small")
    if "target_price" in row:
        ax.axhline(float(row["target_price"]), color="black", ls="--", lw=1, label=f"listed ${row['target_price']:,.0f}")
        ax.legend(loc="upper left", fontsize="small")
    ax.set_xticks(range(len(BREAKDOWN_COLUMNS) + 1), [*BREAKDOWN_COLUMNS, "price"], rotation=20)
    ax.set(ylabel="$ per night", title=title)
    fig.tight_layout()
    return fig


def price_by_month(frame: pd.DataFrame, title: str = "") -> plt.Figure:
    """One listing priced for each month: the price line and its seasonality contribution."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(frame["month"], frame["recommended_price"], "o-", label="recommended price")
    ax2 = ax.twinx()
    ax2.bar(frame["month"], frame["seasonality"], alpha=0.3, color="tab:orange", label="seasonality")
    ax.set_xticks(range(1, 13))
    ax.set(xlabel="month", ylabel="$ per night", title=title)
    ax2.set_ylabel("seasonality contribution ($)")
    fig.legend(loc="upper right", bbox_to_anchor=(0.9, 0.9), fontsize="small")
    fig.tight_layout()
    return fig


def month_effects(frame: pd.DataFrame, title: str = "learned month effects") -> plt.Figure:
    """The seasonality axis per month (``effect`` ± 2 ``sd``, :func:`airbnb.evaluate.month_effects`);
    months the training rows never covered are marked, their effect is 0 by construction."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    seen = frame["seen"].to_numpy(bool)
    ax.errorbar(frame["month"][seen], frame["effect"][seen], yerr=2 * frame["sd"][seen], fmt="o-", capsize=3,
                label="learned (± 2 sd over the ensemble's members)")
    ax.plot(frame["month"][~seen], frame["effect"][~seen], "x", color="grey", label="never covered: 0")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xticks(range(1, 13))
    ax.set(xlabel="month", ylabel="seasonality ($ per night)", title=title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def location_map(frame: pd.DataFrame) -> plt.Figure:
    """Listings at their coordinates, coloured by the location contribution."""
    fig, ax = plt.subplots(figsize=(7, 6.5))
    limit = float(np.nanpercentile(np.abs(frame["location"]), 98)) or 1.0
    points = ax.scatter(frame["longitude"], frame["latitude"], c=frame["location"], cmap="coolwarm", s=6,
                        vmin=-limit, vmax=limit)
    fig.colorbar(points, ax=ax, label="location contribution ($)")
    ax.set(xlabel="longitude", ylabel="latitude", title="Where location adds or removes value")
    ax.set_aspect(1 / np.cos(np.deg2rad(float(frame["latitude"].mean()))))
    fig.tight_layout()
    return fig
