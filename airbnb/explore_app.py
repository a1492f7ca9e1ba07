"""The price explorer page: ipywidgets controls wired to :class:`airbnb.explore.Explorer`, and the
Voilà server that serves ``notebooks/explore.ipynb`` as a web page.

    make explore                                     # the default run on http://localhost:8866
    python -m airbnb.explore_app --artifacts DIR [--port 8866] [--no-browser] [--coverage 0.8]

Every control change re-prices the listing (:meth:`Explorer.quote`) and redraws the page: the
recommended price and its calibrated range, the waterfall from the base price through the five
axes (HTML bars whose dollars add up to the price), the 12-month curve (SVG) and the comparable
listings. The outputs are plain HTML, drawn in a few milliseconds. Bad input never shows a
traceback: the page says what is wrong. The notebook only calls :func:`app`; the server injects
the notebook's parameters (papermill's way) into a copy and runs Voilà on it, on localhost.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import html
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from typing import Any, Iterator, Sequence

from .artifacts import METRICS
from .cli import add_config_flags, description
from .errors import UserError, command_line
from .explore import (CONTROLS, DEFAULT_ARTIFACTS, Explorer, ExploreConfig, ExploreError, Listing, Quote,
                      resolve_record_path)
from .explore_kernels import MAX_KERNELS, CappedKernelManager
from .io import read_json
from .log import get_logger
from .schema import REVIEW_SCORE_COLUMNS

log = get_logger(__name__)

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"
DEFAULT_PORT = 8866  # Voilà's own default
IDLE_KERNEL_S = 120  # a kernel without its page (no connection) for this long is stopped
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
CSS_PREFIX = "explore-"  # every control carries the class explore-<field> (the browser test finds them so)
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


# --------------------------------------------------------------------------- HTML of a quote

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
    from .evaluate import verdict
    from .metrics import percent_html

    found = verdict(metrics)

    def figure(name: str, value: float, sd: float | None) -> str:
        return percent_html(f"class='airbnb-explore-{name}'", value, sd)

    return (f"<div class='airbnb-explore-accuracy' style='color:#444'>Prices are off by "
            f"{figure('model-mape', found.model_mape, found.model_sd)} on average (weighted MAPE, "
            f"<span class='airbnb-explore-source'>{html.escape(found.source)}</span>) against the best baseline, "
            f"<span class='airbnb-explore-best-baseline'>{html.escape(found.baseline)}</span>, at "
            f"{figure('baseline-mape', found.baseline_mape, found.baseline_sd)}.</div>")


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


# --------------------------------------------------------------------------- the widgets

class ExplorerApp:
    """Controls for a listing, wired to an :class:`Explorer`; :attr:`widget` is the whole page."""

    def __init__(self, explorer: Explorer, listing: Listing | None = None):
        import ipywidgets as w

        self.explorer = explorer
        self.listing = listing or explorer.default_listing()
        self.quote: Quote | None = None
        self.seconds = math.nan  # how long the last update took (quote and HTML)
        self._syncing = False
        options = explorer.options(self.listing.city)
        self._options_city = self.listing.city  # the city whose neighbourhoods the control offers
        self.controls = self._controls(w, options)
        # a model of several cities: which one (another city starts from its most typical listing)
        self.city = w.Dropdown(options=explorer.cities, value=self.listing.city if explorer.cities else None,
                               description="city",
                               layout=w.Layout(width="360px"), style={"description_width": "110px"})
        self.city.add_class(CSS_PREFIX + "city")
        self.city.observe(lambda change: None if self._syncing else self.move_to(change["new"]), "value")
        for name, control in self.controls.items():
            control.add_class(CSS_PREFIX + name)
            control.observe(self._changed(name), "value")
        self.listing_id = w.Text(placeholder="e.g. " + (str(explorer.listing_ids()[0]) if len(explorer.listing_ids())
                                                           else "none: no table"),
                                 description="listing ID", continuous_update=False)
        self.listing_id.add_class(CSS_PREFIX + "listing-id")
        self.listing_id.observe(lambda change: self.start_from(change["new"]) if change["new"] else None, "value")
        self.price, self.notes, self.seen = w.HTML(), w.HTML(), w.HTML()
        self.waterfall, self.curve, self.comparables, self.status = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        for name in ("price", "notes", "waterfall", "curve", "comparables", "status"):
            getattr(self, name).add_class(CSS_PREFIX + name)
        self.header = w.HTML(header_html(explorer.artifacts_dir))
        self.header.add_class(CSS_PREFIX + "header")
        self.widget = self._layout(w)
        self.set_controls(self.listing)
        self.update()

    def _controls(self, w, options: dict[str, list]) -> dict[str, Any]:
        wide = w.Layout(width="360px")
        style = {"description_width": "110px"}
        controls = {
            "neighbourhood_cleansed": w.Combobox(options=options["neighbourhood_cleansed"], ensure_option=False,
                                                 continuous_update=False),
            "property_type": w.Combobox(options=options["property_type"], ensure_option=False, continuous_update=False),
            "room_type": w.Dropdown(options=options["room_type"]),
            "accommodates": w.IntText(),
            "bedrooms": w.FloatText(step=1),
            "beds": w.FloatText(step=1),
            "bathrooms_numeric": w.FloatText(step=0.5),
            "bathrooms_type": w.Dropdown(options=options["bathrooms_type"]),
            **{c: w.FloatSlider(min=0, max=5, step=0.01, readout_format=".2f", continuous_update=False)
               for c in REVIEW_SCORE_COLUMNS},
            "number_of_reviews_ltm": w.IntText(),
            "host_is_superhost": w.Checkbox(indent=False),
            "instant_bookable": w.Checkbox(indent=False),
            "amenities": w.TagsInput(allowed_tags=options["amenities"], allow_duplicates=False),
            "month": w.IntText(),
        }
        assert tuple(controls) == CONTROLS, "one control per Listing control field"
        for name, control in controls.items():
            control.description = LABELS[name]
            if name != "amenities":
                control.layout, control.style = wide, style
        return controls

    def _layout(self, w):
        c = self.controls
        scores = w.VBox([c[s] for s in REVIEW_SCORE_COLUMNS])
        left = w.VBox([
            w.HTML("<b>Start from a listing</b> <span style='color:#666'>(its ID in the listings file)</span>"),
            self.listing_id,
            w.HTML("<b>The listing</b>"), *([self.city] if self.explorer.cities else []),
            *(c[n] for n in ("neighbourhood_cleansed", "property_type", "room_type",
                                                          "accommodates", "bedrooms", "beds", "bathrooms_numeric",
                                                          "bathrooms_type")),
            w.HTML("<b>Reviews and host</b>"), scores, c["number_of_reviews_ltm"],
            w.HBox([c["host_is_superhost"], c["instant_bookable"]]),
            w.HTML("<b>Month</b>"), c["month"],
        ], layout=w.Layout(width="380px"))
        amenities = w.VBox([w.HTML("<b>Amenities</b> <span style='color:#666'>(type to search; × removes)</span>"),
                            c["amenities"]])
        right = w.VBox([self.price, self.notes, self.seen, self.waterfall, self.curve, self.comparables, self.status],
                       layout=w.Layout(flex="1", padding="0 0 0 16px"))
        return w.VBox([self.header, w.HBox([left, right]), amenities])

    def _changed(self, name: str):
        def handler(change):
            if self._syncing:
                return
            try:
                self.listing = self.explorer.change(self.listing, **{name: change["new"]})
            except UserError as exc:
                self._show_error(str(exc))
                return
            self.update()
        return handler

    def set_controls(self, listing: Listing) -> None:
        """Show ``listing``'s values in the controls without re-pricing on every one of them."""
        self._syncing = True
        try:
            if self.explorer.cities and self._options_city != listing.city:  # another city's neighbourhoods
                self.city.value = self._options_city = listing.city
                self.controls["neighbourhood_cleansed"].options = \
                    self.explorer.options(listing.city)["neighbourhood_cleansed"]
            for name, control in self.controls.items():
                value = getattr(listing, name)
                if value is None:  # not known for this table listing (the notes say so): shown as off / empty
                    value = {"host_is_superhost": False, "instant_bookable": False}.get(name, None if name in (
                        "room_type", "bathrooms_type") else "")
                control.value = list(value) if name == "amenities" else value
        finally:
            self._syncing = False

    def move_to(self, city: str) -> Quote | None:
        """Price in another city, starting from its most typical listing (the month stays)."""
        self.listing = self.explorer.change(self.listing, city=city)
        self.set_controls(self.listing)
        return self.update()

    def start_from(self, listing_id: str) -> Quote | None:
        """Prefill the controls from the table's listing (the month stays the chosen one)."""
        try:
            self.listing = self.explorer.listing_from_id(listing_id, self.listing.month, self.listing.city)
        except UserError as exc:
            self._show_error(str(exc), "Cannot start from that listing")
            return None
        self.set_controls(self.listing)
        return self.update()

    def update(self) -> Quote | None:
        """Re-price the current listing and redraw every output; a bad input shows its message."""
        started = time.perf_counter()
        try:
            quote = self.explorer.quote(self.listing)
        except UserError as exc:
            self._show_error(str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - the page's boundary: a bug is a message, not a traceback
            log.error("explorer: unexpected %s: %s", type(exc).__name__, exc)
            self._show_error(f"unexpected {type(exc).__name__}: {exc} (a bug in airbnb: please report it)")
            return None
        self.quote = quote
        self.notes.value = notes_html(quote.notes)
        self.seen.value = seen_as_html(quote)
        self.waterfall.value = waterfall_html(quote)
        self.curve.value = curve_svg(quote)
        self.comparables.value = comparables_html(quote)
        self.price.value = price_html(quote)  # last: once the page shows the new price, the rest is there
        self.seconds = time.perf_counter() - started
        self.status.value = f"<span style='color:#999;font-size:0.85em'>updated in {1000 * self.seconds:.0f} ms</span>"
        return quote

    def _show_error(self, message: str, title: str = "Cannot price this listing") -> None:
        self.quote = None
        self.notes.value = error_html(message, title)
        for name in ("seen", "waterfall", "curve", "comparables"):
            getattr(self, name).value = ""
        self.price.value = ("<div class='airbnb-explore-price' data-price=''><div style='font-size:2.4em;"
                            "color:#999'>no price</div></div>")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def app(artifacts_dir: str | Path = DEFAULT_ARTIFACTS, coverage: float = ExploreConfig.coverage,
        n_comparables: int = ExploreConfig.n_comparables, city: str = ExploreConfig.city):
    """The explorer page for a run, or a page with the message when the run cannot be opened."""
    import ipywidgets as w

    try:
        config = ExploreConfig(str(artifacts_dir), coverage, n_comparables, city)
        explorer = Explorer.load(config.artifacts_dir, config.coverage, config.n_comparables)
        return ExplorerApp(explorer, explorer.default_listing(city=config.city or None))
    except UserError as exc:
        return w.HTML(error_html(str(exc), "Cannot open the explorer"))


# --------------------------------------------------------------------------- the web page

def page_notebook(config: ExploreConfig, folder: Path) -> Path:
    """A copy of ``notebooks/explore.ipynb`` in ``folder`` with ``config`` injected as its parameters
    (papermill's injected-parameters cell; the artifacts path made absolute)."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    params = {**dataclasses.asdict(config), "artifacts_dir": str(Path(config.artifacts_dir).resolve())}
    notebook = parameterize_notebook(load_notebook_node(str(NOTEBOOK)), params)
    path = Path(folder) / NOTEBOOK.name
    nbformat.write(notebook, str(path))
    return path


def voila_command(notebook: Path, port: int = DEFAULT_PORT) -> list[str]:
    """Voilà serving ``notebook`` on localhost only, without code cells or tracebacks in the page,
    configured by the ``voila.json`` beside it (:func:`voila_config`) and by nothing else: a
    ``voila.py`` in the working directory would be run as code."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1",
            "--show_tracebacks=False", "--strip_sources=True", "--no-browser",
            f"--Voila.config_file_paths={notebook.parent}"]


def voila_config(folder: Path, max_kernels: int = MAX_KERNELS) -> Path:
    """``voila.json`` for the page's server: requests whose Host header is not localhost or a
    loopback address are refused (a web page elsewhere that rebinds its own name to 127.0.0.1
    cannot reach the explorer), at most ``max_kernels`` pages are served at once, and a kernel left
    without its page (a request that never opened the page's connection) is culled after
    IDLE_KERNEL_S."""
    path = Path(folder) / "voila.json"
    path.write_text(json.dumps({
        "Voila": {"tornado_settings": {"allow_remote_access": False, "local_hostnames": ["localhost"]}},
        "VoilaConfiguration": {"multi_kernel_manager_class": f"{CappedKernelManager.__module__}.CappedKernelManager"},
        "CappedKernelManager": {"max_kernels": max_kernels, "cull_idle_timeout": IDLE_KERNEL_S, "cull_interval": 30,
                                "cull_connected": False},
    }))
    return path


def free_port() -> int:
    """A localhost port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(port) -> int:
    """A TCP port number, 1-65535 (the system would take another one for 99999: the page's URL would lie)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ExploreError(f"port must be a number from 1 to 65535, got {port!r}")
    return port


@contextlib.contextmanager
def running_server(config: ExploreConfig, folder: Path, port: int | None = None,
                   start_seconds: float = 60) -> Iterator[str]:
    """Voilà serving the explorer on localhost (:func:`voila_process`, its output in
    ``folder/voila.log``); yields the page's URL once the port is open."""
    port = check_port(port or free_port())
    with voila_process(config, Path(folder), port, start_seconds, Path(folder) / "voila.log"):
        yield f"http://127.0.0.1:{port}/"


@contextlib.contextmanager
def voila_process(config: ExploreConfig, folder: Path, port: int, start_seconds: float = 60,
                  log_path: Path | None = None, max_kernels: int = MAX_KERNELS) -> Iterator[subprocess.Popen]:
    """Voilà in its own process group (it and the kernels it starts), yielded once its port is open;
    the group is stopped on exit (SIGTERM, then SIGKILL). Its output goes to ``log_path`` (None: to
    this process's). A server that exits or does not open the port in ``start_seconds`` is an
    ExploreError (with the log's end)."""
    notebook = page_notebook(config, folder)
    voila_config(folder, max_kernels)
    with open(log_path, "w") if log_path else contextlib.nullcontext() as out:
        proc = subprocess.Popen(voila_command(notebook, port), stdout=out, stderr=subprocess.STDOUT if out else None,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            said = f": {log_path.read_text()[-2000:]}" if log_path else " (its output is above)"
            if proc.poll() is not None:
                raise ExploreError(f"voila exited with {proc.returncode}{said}")
            with socket.socket() as probe:  # a bare connect: an HTTP request would start a kernel
                probe.settimeout(1)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise ExploreError(f"voila did not open port {port} in {start_seconds:.0f} s{said}")
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class _Stop(Exception):
    """SIGTERM or Ctrl-C: the server is asked to stop."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """While in the block, SIGTERM and SIGINT raise _Stop, so the block's cleanup runs (the default
    SIGTERM ends the process at once, leaving Voilà running and its folder behind)."""
    def stop(signum, frame):
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(config: ExploreConfig, port: int = DEFAULT_PORT, open_browser: bool = True,
          max_kernels: int = MAX_KERNELS) -> int:
    """Serve the explorer page until Voilà exits, Ctrl-C or SIGTERM; returns Voilà's exit code (0
    when stopped). The URL is logged once the port is open; on stopping, Voilà and its kernels are
    stopped and the temporary folder is removed."""
    check_port(port)
    if not 1 <= max_kernels <= 64:
        raise ExploreError(f"max_kernels must be from 1 to 64, got {max_kernels}")
    if not Path(config.artifacts_dir).is_dir():
        log.warning("no training run at %s yet: the page will say so (make run trains the default run)",
                    config.artifacts_dir)
    try:
        with _stopped_by_signals(), tempfile.TemporaryDirectory(prefix="airbnb-explore-") as folder, \
                voila_process(config, Path(folder), port, max_kernels=max_kernels) as proc:
            url = f"http://localhost:{port}/"
            log.info("price explorer for %s on %s (Ctrl-C stops it)", config.artifacts_dir, url)
            if open_browser:
                webbrowser.open(url)
            return proc.wait()
    except _Stop as stop:
        log.info("price explorer stopped (%s)", stop)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .log import setup_logging

    parser = argparse.ArgumentParser(prog="python -m airbnb.explore_app", description=description(__doc__),
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_flags(parser, ExploreConfig)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="localhost port of the page (1-65535)")
    parser.add_argument("--max-kernels", type=int, default=MAX_KERNELS,
                        help="pages served at once (each runs a kernel holding the model)")
    parser.add_argument("--no-browser", dest="open_browser", action="store_false", help="do not open a browser")
    args = vars(parser.parse_args(argv))
    port, open_browser, max_kernels = args.pop("port"), args.pop("open_browser"), args.pop("max_kernels")
    setup_logging()
    return command_line(lambda: serve(ExploreConfig(**args), port, open_browser, max_kernels))


if __name__ == "__main__":
    sys.exit(main())
