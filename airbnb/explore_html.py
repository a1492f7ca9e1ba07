"""The explorer page's outputs as plain HTML (drawn in a few milliseconds): the run's header and
accuracy, the price and its calibrated range, the waterfall, the 12-month curve (SVG), the comparable
listings, the notes and errors. Every value is escaped; links open in a new tab.
"""
from __future__ import annotations

import contextlib
import html
import math
import os
from pathlib import Path
from typing import Sequence

from .artifacts import METRICS
from .evaluate_verdict import verdict
from .explore_quote import Quote
from .explore_table import resolve_record_path
from .io import read_json
from .metrics import percent_html

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
LABELS = {"neighbourhood_cleansed": "neighbourhood", "property_type": "property type", "room_type": "room type",
          "accommodates": "guests", "bedrooms": "bedrooms", "beds": "beds", "bathrooms_numeric": "bathrooms",
          "bathrooms_type": "bathroom", "review_scores_rating": "rating", "review_scores_cleanliness": "cleanliness",
          "review_scores_checkin": "check-in", "review_scores_communication": "communication",
          "review_scores_location": "location score", "review_scores_value": "value",
          "number_of_reviews_ltm": "reviews (12 mo)", "host_is_superhost": "superhost",
          "instant_bookable": "instant bookable", "amenities": "amenities", "month": "month (1–12)"}
COLOURS = {"bias": "#9e9e9e", "up": "#2e7d32", "down": "#c62828", "price": "#1565c0"}
# Links drawn as links: the page's theme resets <a> to plain text otherwise.
LINK_STYLE = "color:#1565c0;text-decoration:underline;cursor:pointer"


def link(url: str, text: str) -> str:
    """A link that looks like one and opens in a new tab."""
    return (f"<a class='airbnb-explore-link' href='{html.escape(url)}' target='_blank' rel='noopener' "
            f"style='{LINK_STYLE}'>{text}</a>")


def header_html(artifacts_dir: str | Path, url: str | None = None) -> str:
    """The page's title: the run it prices, how far off that run's prices are (its report's
    headline) and, when served, the address it is served on (Voilà tells its kernels the address
    each page was requested at: the port is the server's real one)."""
    url = url if url is not None else os.environ.get("VOILA_REQUEST_URL")
    served = f" <span style='color:#666'>· this page: {link(url, html.escape(url))}</span>" if url else ""
    return (f"<div class='airbnb-explore-header'><b style='font-size:1.3em'>Price explorer</b> "
            f"<span style='color:#666'>for the run in <code>{html.escape(str(artifacts_dir))}</code></span>"
            f"{served}{accuracy_html(run_metrics(artifacts_dir))}</div>")


def run_metrics(artifacts_dir: str | Path) -> dict | None:
    """The run's ``metrics.json``: in its artifacts folder (``airbnb.evaluate``'s default) or in the
    run folder around it (``airbnb.run``'s), and only when it evaluated these artifacts."""
    artifacts_dir = Path(artifacts_dir)
    for path in (artifacts_dir / METRICS, artifacts_dir.parent / METRICS):
        if path.is_file():
            with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
                metrics = read_json(path)
                if resolve_record_path(metrics["data"]["artifacts"], artifacts_dir).resolve() == artifacts_dir.resolve():
                    return metrics
    return None


def accuracy_html(metrics: dict | None) -> str:
    """The run's headline error against its best baseline (as its report states it); nothing for a
    run never evaluated against a baseline."""
    if metrics is None or len(metrics.get("models", {})) < 2:
        return ""
    found = verdict(metrics)

    def figure(name: str, value: float, sd: float | None) -> str:
        return percent_html(f"class='airbnb-explore-{name}'", value, sd)

    return (f"<div class='airbnb-explore-accuracy' style='color:#444'>Prices are off by "
            f"{figure('model-mape', found.model_mape, found.model_sd)} on average (weighted MAPE, "
            f"<span class='airbnb-explore-source'>{html.escape(found.source)}</span>) against the best baseline, "
            f"<span class='airbnb-explore-best-baseline'>{html.escape(found.baseline)}</span>, at "
            f"{figure('baseline-mape', found.baseline_mape, found.baseline_sd)}"
            + (f" (<span class='airbnb-explore-gap'>{html.escape(found.gap_note())}</span>)"
               if found.gap_interval is not None else "") + ".</div>")


def money(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"${value:,.0f}"


def signed_money(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}${abs(value):,.2f}"


def price_html(quote: Quote) -> str:
    """The recommended price for the month and its calibrated range."""
    month = MONTH_NAMES[quote.listing.month - 1]
    listing = (f"<div>listing {link(quote.url, str(quote.listing.listing_id) + ' on Airbnb ↗')}</div>"
               if quote.url else "")
    if math.isfinite(quote.price_low):
        band = (f"{quote.coverage:.0%} range <b>{money(quote.price_low)} – {money(quote.price_high)}</b> "
                f"<span style='color:#666'>(calibrated: {quote.coverage:.0%} of such listings' prices fall in "
                "their range)</span>")
    else:
        band = "<span style='color:#666'>no calibrated range for this run</span>"
    return (f"<div class='airbnb-explore-price' data-price='{quote.price:.6f}' data-low='{quote.price_low:.6f}' "
            f"data-high='{quote.price_high:.6f}'>"
            f"<div style='font-size:2.4em;font-weight:600;line-height:1.1'>"
            f"<span class='airbnb-explore-price-value'>{money(quote.price)}</span>"
            f"<span style='font-size:0.45em;font-weight:400'> a night in {month}</span></div>"
            f"<div class='airbnb-explore-range'>{band}</div>{listing}</div>")


def waterfall_html(quote: Quote) -> str:
    """Base price, then each axis's dollars as a bar from the running total; the last row is the price."""
    steps = quote.steps
    scale = max(float(steps[["start", "end"]].to_numpy().max()), quote.price, 1e-9) * 1.08
    rows = []
    for step in steps.itertuples():
        lo, hi = sorted((step.start, step.end))
        colour = COLOURS["bias"] if step.step == "bias" else COLOURS["up" if step.dollars >= 0 else "down"]
        factor = f"×{step.factor:.3f}" if math.isfinite(step.factor) else ""
        value = money(step.dollars) if step.step == "bias" else signed_money(step.dollars)
        rows.append(_bar_row(step.label, lo / scale, max(hi - lo, 0) / scale, colour,
                             f"<td class='airbnb-explore-step' data-step='{step.step}' data-dollars="
                             f"'{step.dollars:.6f}' style='text-align:right'>{value}</td>"
                             f"<td style='color:#666;text-align:right'>{factor}</td>"))
    rows.append(_bar_row("<b>price</b>", 0.0, quote.price / scale, COLOURS["price"],
                         f"<td class='airbnb-explore-total' data-total='{float(steps['dollars'].sum()):.6f}' "
                         f"style='text-align:right'><b>{money(quote.price)}</b></td><td></td>"))
    return ("<div><b>Why this price</b> <span style='color:#666'>(base price + five axes, dollars; they add up "
            "to the price)</span><table class='airbnb-explore-waterfall' style='width:100%;border-collapse:collapse'>"
            + "".join(rows) + "</table></div>")


def _bar_row(label: str, left: float, width: float, colour: str, cells: str) -> str:
    bar = (f"<div style='position:relative;height:14px;background:#f3f3f3'><div style='position:absolute;"
           f"left:{100 * left:.2f}%;width:{max(100 * width, 0.3):.2f}%;height:14px;background:{colour}'></div></div>")
    return f"<tr><td style='width:150px'>{label}</td><td style='width:55%'>{bar}</td>{cells}</tr>"


def curve_svg(quote: Quote, width: int = 560, height: int = 190) -> str:
    """The price for each month (line), its range (band) and the chosen month (dot); a hollow dot
    is a month the training table never covered."""
    months = quote.months
    price = months["recommended_price"].to_numpy(float)
    low, high = months["price_low"].to_numpy(float), months["price_high"].to_numpy(float)
    banded = bool(math.isfinite(low.min()) and math.isfinite(high.max()))
    top = float(high.max() if banded else price.max()) * 1.05
    bottom = float(low.min() if banded else price.min()) * 0.95
    pad_l, pad_b, pad_t = 48, 22, 10

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + i * (width - pad_l - 10) / 11
        y = pad_t + (top - v) / max(top - bottom, 1e-9) * (height - pad_b - pad_t)
        return x, y

    parts = [f"<svg class='airbnb-explore-curve' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
             "xmlns='http://www.w3.org/2000/svg' style='font:11px sans-serif'>"]
    if banded:
        band = [xy(i, v) for i, v in enumerate(high)] + [xy(i, v) for i, v in reversed(list(enumerate(low)))]
        parts.append("<polygon fill='#1565c0' fill-opacity='0.12' points='"
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in band) + "'/>")
    for v in (bottom, (bottom + top) / 2, top):
        _, y = xy(0, v)
        parts.append(f"<line x1='{pad_l}' x2='{width - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
                     f"<text x='{pad_l - 4}' y='{y + 4:.1f}' text-anchor='end' fill='#666'>{money(v)}</text>")
    parts.append("<polyline fill='none' stroke='#1565c0' stroke-width='2' points='"
                 + " ".join("{:.1f},{:.1f}".format(*xy(i, v)) for i, v in enumerate(price)) + "'/>")
    for i, (v, seen) in enumerate(zip(price, months["month_seen"])):
        x, y = xy(i, v)
        chosen = i == quote.listing.month - 1
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{5 if chosen else 3}' "
                     f"fill='{('#1565c0' if seen else 'white') if not chosen else '#ff6f00'}' stroke='#1565c0'>"
                     f"<title>{MONTHS[i]}: {money(v)}</title></circle>"
                     f"<text x='{x:.1f}' y='{height - 6}' text-anchor='middle' fill='#444'>{MONTHS[i]}</text>")
    parts.append("</svg>")
    level = f"; every month at {quote.as_of}'s price level" if quote.as_of else ""
    return ("<div><b>Across the year</b> <span style='color:#666'>(line: recommended price; band: its range; "
            f"orange: the chosen month{level})</span><br>" + "".join(parts) + "</div>")


def comparables_html(quote: Quote) -> str:
    """The nearest table listings in the model's axis space, with their listed prices."""
    table = quote.comparables
    if not len(table):
        return "<div><b>Comparable listings</b>: none (the run's table is not available)</div>"
    head = ("<tr style='text-align:left'><th>listing</th><th>listed price</th><th>model</th><th>neighbourhood</th>"
            "<th>room type</th><th>guests</th><th>bedrooms</th><th>away</th>"
            "<th title='distance along the axes (log factors: 0.1 is about 10% apart)'>model distance</th></tr>")
    rows = []
    for item in table.itertuples():
        name = html.escape(str(item.listing_id))
        away = f"{item.km:,.1f} km" if math.isfinite(item.km) else "–"
        rows.append(f"<tr class='airbnb-explore-comparable'><td>{link(item.url, name) if item.url else name}</td>"
                    f"<td>{money(item.listed_price)} "
                    f"<span style='color:#666'>({html.escape(str(item.year_month))})</span></td>"
                    f"<td>{money(item.model_price)}</td><td>{html.escape(str(item.neighbourhood_cleansed))}</td>"
                    f"<td>{html.escape(str(item.room_type))}</td><td>{item.accommodates}</td>"
                    f"<td>{item.bedrooms:g}</td><td class='airbnb-explore-km' data-km='{item.km:.6f}'>{away}</td>"
                    f"<td>{item.distance:.3f}</td></tr>")
    return ("<div><b>The most comparable listings</b> <span style='color:#666'>(nearest in the model's axis "
            "contributions: listings priced alike for the same reasons)</span>"
            "<table class='airbnb-explore-comparables' style='width:100%;border-collapse:collapse'>"
            + head + "".join(rows) + "</table></div>")


def seen_as_html(quote: Quote) -> str:
    """How the model reads the categorical inputs (an unknown one as <UNK>)."""
    return ("<div class='airbnb-explore-seen' style='color:#444'>priced as: "
            + ", ".join(f"{LABELS[k]} <code>{html.escape(v)}</code>" for k, v in quote.seen_as.items()) + "</div>")


def notes_html(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return ("<div class='airbnb-explore-notes' style='background:#fff8e1;border-left:4px solid #ffb300;"
            "padding:4px 8px;margin:6px 0'>" + "".join(f"<div>• {html.escape(n)}</div>" for n in notes) + "</div>")


def error_html(message: str, title: str = "Cannot price this listing") -> str:
    return ("<div class='airbnb-explore-error' style='background:#ffebee;border-left:4px solid #c62828;"
            f"padding:6px 10px;margin:6px 0'><b>{html.escape(title)}:</b> {html.escape(message)}</div>")

