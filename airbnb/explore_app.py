"""The price explorer page: ipywidgets controls wired to :class:`airbnb.explore.Explorer`, and the
command that serves ``notebooks/explore.ipynb`` as a web page with Voilà.

    make explore                                     # the default run on http://localhost:8866
    python -m airbnb.explore_app --artifacts DIR [--port 8866] [--no-browser] [--coverage 0.8]

Every control change re-prices the listing (:meth:`Explorer.quote`) and redraws the page: the
recommended price and its calibrated range, the waterfall from the base price through the five
axes (HTML bars whose dollars add up to the price), the 12-month curve (SVG) and the comparable
listings. The outputs are plain HTML, drawn in a few milliseconds. Bad input never shows a
traceback: the page says what is wrong. The notebook only calls :func:`app`; the server injects
the notebook's parameters (papermill's way) into a copy and runs Voilà on it, on localhost.

The page's HTML is :mod:`airbnb.explore_html`, the server :mod:`airbnb.explore_server`.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .cli import DefaultsHelpFormatter, add_config_flags, description
from .errors import UserError, command_line
from .explore import DEFAULT_ARTIFACTS, Explorer, ExploreConfig
from .explore_html import (LABELS, comparables_html, curve_svg, error_html, header_html, notes_html, price_html,
                           seen_as_html, waterfall_html)
from .explore_kernels import MAX_KERNELS
from .explore_listing import CONTROLS, Listing
from .explore_quote import Quote
from .explore_server import DEFAULT_PORT, serve
from .log import get_logger, setup_logging
from .schema import DOMAINS, REVIEW_SCORE_COLUMNS

log = get_logger(__name__)

CSS_PREFIX = "explore-"  # every control carries the class explore-<field> (the browser test finds them so)


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
            "amenities": w.TagsInput(allowed_tags=options["amenities"], allow_duplicates=False),
            **{c: w.FloatSlider(min=DOMAINS[c].low, max=DOMAINS[c].high, step=0.01, readout_format=".2f",
                                continuous_update=False)
               for c in REVIEW_SCORE_COLUMNS},
            "number_of_reviews_ltm": w.IntText(),
            "host_is_superhost": w.Checkbox(indent=False),
            "instant_bookable": w.Checkbox(indent=False),
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
        for name in ("seen", "waterfall", "curve", "comparables"):
            getattr(self, name).value = ""
        self.price.value = ("<div class='airbnb-explore-price' data-price=''><div style='font-size:2.4em;"
                            "color:#999'>no price</div></div>")
        self.notes.value = error_html(message, title)  # last: once the page shows the error, the price is gone

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airbnb.explore_app", description=description(__doc__),
                                     formatter_class=DefaultsHelpFormatter)
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
