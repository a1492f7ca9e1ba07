"""Figures the notebooks show. Each function takes plain data and returns a matplotlib Figure.

Axes carry names for people (``size & capacity``, not ``size_capacity``), prices are ticked as
plain dollars (``$200``, never ``2×10²``), legends sit outside the data and maps keep the true
shape of the city (a degree of longitude is cos(latitude) of a degree of latitude).
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.patches import Polygon
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from .axes import AXES, AXIS_LABELS

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ticks(axis, dollars: bool = True, signed: bool = False) -> None:
    """Plain tick labels: ``$1,250`` (or ``0.04``), at 1-2-5 steps on a log axis with no minor labels."""
    if axis.get_scale() == "log":
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(NullLocator())
    if dollars:
        axis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{'−' if v < 0 else ('+' if signed and v > 0 else '')}${abs(v):,.0f}"))
    else:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _legend_below(fig: plt.Figure, handles, labels, ncol: int = 4) -> None:
    """One legend under the panels, so it never covers a curve."""
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.0))


def table_overview(df: pd.DataFrame) -> plt.Figure:
    """Price and occupancy-weight distributions of a modeling table, and price by room type."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    price = df["target_price"].to_numpy()
    bins = np.geomspace(max(price.min(), 1.0), price.max() * 1.01, 50)
    axes[0].hist(price, bins=bins, color="tab:blue")
    axes[0].set(xscale="log", xlabel="nightly price (log scale)", ylabel="listing-months",
                title=f"Price (median ${np.median(price):,.0f})")
    _ticks(axes[0].xaxis)
    axes[1].hist(df["estimated_occupancy_rate"], bins=40, color="tab:orange")
    axes[1].set(xlabel="estimated occupancy rate (sample weight)", title="Weight")
    groups = df.groupby("room_type", observed=True)["target_price"]
    names = [n for n, _ in groups]
    axes[2].boxplot([g.to_numpy() for _, g in groups], showfliers=False)
    axes[2].set_xticks(range(1, len(names) + 1), names, rotation=15)
    axes[2].set(yscale="log", ylabel="nightly price", title="Price by room type")
    _ticks(axes[2].yaxis)
    fig.tight_layout()
    return fig


def loss_label(loss: str, target: str) -> str:
    """The training loss's axis label: what one row's loss measures, in the target's space."""
    if loss == "ape":
        return "weighted |predicted / listed − 1|"
    what = {"mse": "MSE", "l1": "absolute error", "huber": "Huber loss"}[loss]
    return f"weighted {what} of log price" if target == "log_price" else f"weighted {what} ({'$²' if loss == 'mse' else '$'})"


def learning_curves(history: pd.DataFrame, target: str = "price", loss: str = "mse") -> plt.Figure:
    """The training loss per epoch (train and validation; ``loss`` of the ``target``, see
    :func:`loss_label`) and validation R² / MAPE; the legend sits under both panels."""
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    loss_ax.plot(history["epoch"], history["train_loss"], "o-", ms=3, label="training loss")
    loss_ax.plot(history["epoch"], history["val_loss"], "o-", ms=3, label="validation loss")
    loss_ax.set(xlabel="epoch", ylabel=loss_label(loss, target), yscale="log", title="Loss")
    _ticks(loss_ax.yaxis, dollars=False)
    metric_ax.plot(history["epoch"], history["val_r2_weighted"], "o-", ms=3, color="tab:green",
                   label="validation R² (weighted)")
    metric_ax.set(xlabel="epoch", ylabel="R²", title="Validation")
    mape_ax = metric_ax.twinx()
    mape_ax.plot(history["epoch"], 100 * history["val_mape_weighted"], "s--", ms=3, color="tab:red",
                 label="validation MAPE % (weighted)")
    mape_ax.set_ylabel("MAPE %")
    handles = [h for ax in (loss_ax, metric_ax, mape_ax) for h in ax.get_legend_handles_labels()[0]]
    _legend_below(fig, handles, [h.get_label() for h in handles])
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
        ax.barh(y, np.abs(values), left=start, color=color, label=AXIS_LABELS[column])
        left_pos += np.clip(values, 0, None)
        left_neg += np.clip(values, None, 0)
    ax.scatter(frame["predicted_price"], y, color="black", marker="|", s=300, zorder=3, label="predicted price")
    if "target_price" in frame:
        ax.scatter(frame["target_price"], y, color="black", marker="x", zorder=3, label="listed price")
    ax.set_yticks(y, labels)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="per night")
    _ticks(ax.xaxis)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize="small")
    fig.tight_layout()
    return fig


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> plt.Figure:
    """Predicted against listed price (log-log) and residuals against predicted price."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    fig, (ax, res_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    size = 4 if weights is None else 2 + 20 * np.asarray(weights)
    ax.scatter(actual, predicted, s=size, alpha=0.3)
    lo, hi = float(min(actual.min(), predicted.min(), 10)), float(max(actual.max(), predicted.max()))
    ax.plot([max(lo, 1), hi], [max(lo, 1), hi], color="black", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="listed price", ylabel="predicted price",
           title="Predicted vs listed (marker size = weight)")
    res_ax.scatter(predicted, actual - predicted, s=size, alpha=0.3)
    res_ax.axhline(0, color="black", lw=1)
    res_ax.set(xscale="log", xlabel="predicted price", ylabel="listed − predicted", title="Residuals")
    for axis in (ax.xaxis, ax.yaxis, res_ax.xaxis):
        _ticks(axis)
    _ticks(res_ax.yaxis, signed=True)
    fig.tight_layout()
    return fig


def axis_distributions(frame: pd.DataFrame) -> plt.Figure:
    """How much each axis moves prices: the spread of its dollar contributions."""
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.boxplot([frame[a].to_numpy() for a in AXES], showfliers=False)
    ax.set_xticks(range(1, len(AXES) + 1), [AXIS_LABELS[a] for a in AXES])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(ylabel="contribution per night (vs the base price)", title="Per-axis contributions")
    _ticks(ax.yaxis, signed=True)
    fig.tight_layout()
    return fig


def waterfall(row: pd.Series, title: str = "") -> plt.Figure:
    """Bias, then each axis's dollars up or down, ending at the predicted price.

    For log-price models the bias is the base price and each axis's dollars are its share of the
    price change (the steps do not depend on the order they are drawn in); the factor is printed
    under the dollars. Each label sits just past its own bar's end (above a rise, below a fall), in
    its own column, and the axes leave room for them; the listed price's legend is outside.
    """
    from .breakdown import BREAKDOWN_COLUMNS

    fig, ax = plt.subplots(figsize=(9, 4))
    level = 0.0
    for i, column in enumerate(BREAKDOWN_COLUMNS):
        value = float(row[column])
        color = "tab:grey" if column == "bias" else ("tab:green" if value >= 0 else "tab:red")
        ax.bar(i, value, bottom=level, color=color, width=0.7)
        factor = row.get(f"{column}_factor")
        money = f"${value:,.0f}" if column == "bias" else f"{'+' if value >= 0 else '−'}${abs(value):,.0f}"
        label = money + (f"\n×{float(factor):.2f}" if factor is not None and column != "bias" else "")
        up = value >= 0
        ax.annotate(label, (i, level + value), xytext=(0, 3 if up else -3), textcoords="offset points",
                    ha="center", va="bottom" if up else "top", fontsize="small", gid="waterfall-label")
        level += value
    price_col = "predicted_price" if "predicted_price" in row else "recommended_price"
    price = float(row[price_col])
    ax.bar(len(BREAKDOWN_COLUMNS), price, color="tab:blue", width=0.7)
    ax.annotate(f"${price:,.0f}", (len(BREAKDOWN_COLUMNS), price), xytext=(0, 3), textcoords="offset points",
                ha="center", va="bottom", fontsize="small", gid="waterfall-label")
    if "target_price" in row:
        ax.axhline(float(row["target_price"]), color="black", ls="--", lw=1, label=f"listed ${row['target_price']:,.0f}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ax.set_xticks(range(len(BREAKDOWN_COLUMNS) + 1), [AXIS_LABELS[c] for c in BREAKDOWN_COLUMNS] + ["price"],
                  rotation=20, ha="right")
    ax.set(ylabel="per night", title=title)
    _ticks(ax.yaxis)
    fig.tight_layout()
    _fit_texts(ax, [t for t in ax.texts if t.get_gid() == "waterfall-label"])
    return fig


def _fit_texts(ax, texts, rounds: int = 4) -> None:
    """Widen the y limits until every one of ``texts`` (placed in points from data) lies inside the axes."""
    for _ in range(rounds):
        renderer = ax.figure.canvas.get_renderer()
        to_data = ax.transData.inverted()
        ys = [y for t in texts for y in to_data.transform(t.get_window_extent(renderer)).T[1]]
        lo, hi = ax.get_ylim()
        pad = 0.02 * (hi - lo)
        new = (min(lo, min(ys) - pad), max(hi, max(ys) + pad))
        if new == (lo, hi):
            return
        ax.set_ylim(*new)


def price_by_month(frame: pd.DataFrame, title: str = "") -> plt.Figure:
    """One listing priced for each month: the price line and its seasonality contribution."""
    fig, ax = plt.subplots(figsize=(8, 4))
    line = ax.plot(frame["month"], frame["recommended_price"], "o-", label="recommended price")
    ax2 = ax.twinx()
    bars = ax2.bar(frame["month"], frame["seasonality"], alpha=0.3, color="tab:orange", label="seasonality")
    ax.set_xticks(range(1, 13), MONTHS)
    ax.set(xlabel="month", ylabel="per night", title=title)
    ax2.set_ylabel("seasonality contribution")
    _ticks(ax.yaxis)
    _ticks(ax2.yaxis, signed=True)
    _legend_below(fig, [*line, bars], ["recommended price", "seasonality"], ncol=2)
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


# --------------------------------------------------------------------------- maps

def read_neighbourhoods(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Inside Airbnb's ``neighbourhoods.geojson`` -> each neighbourhood's outer rings, as (lon, lat)
    arrays (Polygon and MultiPolygon; holes are not drawn). A file that is not such GeoJSON is a
    ValueError naming it."""
    path = Path(path)
    try:
        features = json.loads(path.read_text())["features"]
        shapes: dict[str, list[np.ndarray]] = {}
        for feature in features:
            geometry = feature["geometry"]
            polygons = {"Polygon": [geometry["coordinates"]],
                        "MultiPolygon": geometry["coordinates"]}[geometry["type"]]
            name = feature["properties"]["neighbourhood"]
            shapes.setdefault(name, []).extend(np.asarray(p[0], dtype=float)[:, :2] for p in polygons)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"{path} is not an Inside Airbnb neighbourhoods.geojson (a FeatureCollection of "
                         f"Polygon/MultiPolygon features with a 'neighbourhood' property): "
                         f"{type(exc).__name__}: {exc}") from None
    return shapes


def location_map(frame: pd.DataFrame, neighbourhoods: dict[str, list[np.ndarray]] | None = None) -> plt.Figure:
    """Where location adds or removes value: each listing coloured by its location contribution,
    and each neighbourhood's median contribution. With ``neighbourhoods`` (:func:`read_neighbourhoods`)
    the right panel fills their polygons (grey: no listing there) and the left draws their borders;
    without, the medians are discs at each neighbourhood's median coordinates, sized by listings.
    Longitude is scaled by cos(mean latitude): distances look as they are on the ground."""
    fig, (points_ax, median_ax) = plt.subplots(1, 2, figsize=(13, 6))
    values = frame["location"].to_numpy(float)
    limit = float(np.nanpercentile(np.abs(values), 98)) or 1.0
    style = dict(cmap="coolwarm", vmin=-limit, vmax=limit)
    points = points_ax.scatter(frame["longitude"], frame["latitude"], c=values, s=6, **style)
    medians = frame.groupby("neighbourhood_cleansed", observed=True).agg(
        location=("location", "median"), longitude=("longitude", "median"), latitude=("latitude", "median"),
        listings=("location", "size"))
    if neighbourhoods:
        names = list(neighbourhoods)
        rings = [ring for name in names for ring in neighbourhoods[name]]
        owner = [name for name in names for _ in neighbourhoods[name]]
        points_ax.add_collection(PatchCollection([Polygon(r) for r in rings], facecolor="none", edgecolor="#555",
                                                 linewidth=0.5, gid="neighbourhood-borders"))
        filled = PatchCollection([Polygon(r) for r in rings], edgecolor="white", linewidth=0.5,
                                 gid="neighbourhood-medians",
                                 cmap=plt.get_cmap(style["cmap"]).with_extremes(bad="#dddddd"))
        filled.set_clim(-limit, limit)
        shade = medians["location"].reindex(owner).to_numpy(float)
        filled.set_array(np.ma.masked_invalid(shade))
        median_ax.add_collection(filled)
        median_ax.autoscale_view()
    else:
        median_ax.scatter(medians["longitude"], medians["latitude"], c=medians["location"],
                          s=20 + 200 * medians["listings"] / medians["listings"].max(), edgecolor="black",
                          linewidth=0.4, gid="neighbourhood-medians", **style)
    cos_lat = np.cos(np.deg2rad(float(frame["latitude"].mean())))
    for ax, title in ((points_ax, "Listings"), (median_ax, "Neighbourhood medians")):
        ax.set(xlabel="longitude", ylabel="latitude", title=title)
        ax.set_aspect(1 / cos_lat)
    fig.suptitle("Where location adds or removes value (location contribution per night)")
    fig.colorbar(points, ax=[points_ax, median_ax], label="location contribution per night", shrink=0.8,
                 format=FuncFormatter(lambda v, _: f"{'−' if v < 0 else '+'}${abs(v):,.0f}"))
    return fig
