"""The price explorer's logic: a host's listing in, its recommended price with a calibrated range,
the why and the most comparable listings out.

    from airbnb.explore import Explorer
    explorer = Explorer.load("runs/default/artifacts")
    listing = explorer.change(explorer.default_listing(), accommodates=6)   # or explorer.listing_from_id(...)
    quote = explorer.quote(listing)     # price, price_low/high, steps (waterfall), months, comparables, notes

A :class:`~airbnb.explore_listing.Listing` holds the explorer's controls (and the few inputs it
keeps from the listing it started from: coordinates, host rates). :meth:`Explorer.quote` prices it
for each month in one model call and returns everything the page shows: the price of the chosen
month and its range (:mod:`airbnb.conformal`), the waterfall of base price + five axes (dollars
that add up to the price exactly), the 12-month curve, and the ``n_comparables`` table listings
nearest to it in the model's own axis space (below); a quote's parts are built in
:mod:`airbnb.explore_quote`. Bad input raises :class:`~airbnb.explore_listing.ExploreError` with a
message for the page; inputs the model cannot know (an unknown neighbourhood: ``<UNK>``, a month
it never saw, sizes beyond its training listings) are priced and explained in ``notes``.

**Comparables** are the table's listings (each at its latest month) nearest to the listing in the
model's axis-contribution space: per axis but seasonality, the log factor (a log-price model;
dollars for a dollar model). A distance of 0.1 is then "about 10% apart" along the axes, whatever
the axis, so listings that are priced alike *for the same reasons* come first. The table's
contributions are computed once per session, the distances in one vectorised step.

The ipywidgets page is :mod:`airbnb.explore_app` (``notebooks/explore.ipynb``, ``make explore``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch

from .artifacts import ArtifactsError, load_table
from .axes import SEEN_MONTH
from .cli import option
from .conformal import DEFAULT_COVERAGE, check_coverage
from .errors import UserError
from .etl.parsing import parse_amenities
from .etl.weights import month_text
from .explore_listing import ExploreError, Listing, check_listing
from .explore_quote import COMPARABLE_AXES, Quote, axis_space, input_notes, km_between, seen_as, waterfall
from .explore_table import recorded_listings, resolve_record_path, table_origin
from .features import UNK
from .notebook import project_root
from .predict import LISTING_URL, ListingValueError, PricePredictor, read_listings_file, reasons
from .schema import BATHROOM_TYPES, CITY, REVIEW_SCORE_COLUMNS, ROOM_TYPES, TableError, is_partitioned_table
from .settings import Range, Text, settings

DEFAULT_ARTIFACTS = "runs/default/artifacts"  # where `make run` leaves the default run's


@settings
class ExploreConfig:
    """The explorer's settings: the notebook's parameters and ``python -m airbnb.explore_app``'s flags."""

    artifacts_dir: Text = option(DEFAULT_ARTIFACTS, "artifacts directory of a training run (make run writes "
                                "runs/default/artifacts)", flags=("--artifacts", "--artifacts-dir"))
    coverage: float = option(DEFAULT_COVERAGE, "share of listed prices the recommended range holds")
    n_comparables: Range(int, 1, 1000) = option(5, "comparable listings shown")
    city: Text = option("", "the city to start in, for a run trained on several cities (default: the first)")

    def __post_init__(self):
        check_coverage(self.coverage)


@contextlib.contextmanager
def quiet(threads: int | None = None) -> Iterator[None]:
    """The package's info and warnings off while the explorer works (the page shows them as notes),
    and torch on ``threads`` threads: a dozen rows are priced fastest on one (a second thread only
    waits for a core on a busy machine: 0.44 s against 0.11 s per quote measured here)."""
    logger = logging.getLogger("airbnb")
    level, before = logger.level, torch.get_num_threads()
    logger.setLevel(logging.ERROR)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        logger.setLevel(level)
        if threads:
            torch.set_num_threads(before)


# --------------------------------------------------------------------------- the explorer

class Explorer:
    """A trained run, its table's listings (each at its latest month) and their axis contributions."""

    def __init__(self, predictor: PricePredictor, table: pd.DataFrame | None, origin: str = "unknown",
                 coverage: float = DEFAULT_COVERAGE, n_comparables: int = ExploreConfig.n_comparables,
                 notes: list[str] | None = None, raw_listings: list[Path] | None = None,
                 artifacts_dir: str | Path = ""):
        self.predictor = predictor
        self.raw_listings = list(raw_listings or [])  # the table's raw files: listings the ETL left out are there
        self._raw: pd.DataFrame | None = None  # their rows, read on the first id the table lacks
        self.coverage = check_coverage(coverage)
        self.n_comparables = n_comparables
        self.origin = origin
        self.artifacts_dir = str(artifacts_dir)  # where the run was loaded from (the page's title says)
        self.notes = list(notes or [])  # about the session (no table, no links, no calibration)
        self.multiplicative = predictor.model.config.target == "log_price"
        self.vocabs = predictor.processor.vocabs_
        # a model of several cities prices a listing in one of them (its city input); one of one city has none
        self.cities = predictor.processor.cities if predictor.processor.n_cities > 1 else []
        self.listings = None if table is None or not len(table) else self._latest(table)
        if self.listings is not None:
            with quiet():
                priced = predictor.predict_table(self.listings, self.coverage)
            self.space = axis_space(priced, self.multiplicative)
            self.model_prices = priced["recommended_price"].to_numpy()
            where = self.listings.assign(**{CITY: self._city_keys(self.listings)})
            self.centres = where.groupby([CITY, "neighbourhood_cleansed"])[["latitude", "longitude"]].median()
            self.city_centres = where.groupby(CITY)[["latitude", "longitude"]].median()
        else:
            ranges = predictor.processor.ranges_ or {}
            self.space, self.model_prices, self.centres = np.zeros((0, len(COMPARABLE_AXES))), np.zeros(0), None
            middle = [float(np.mean(ranges.get(c, (0.0, 0.0)))) for c in ("latitude", "longitude")]
            self.city_centres = pd.DataFrame([middle], index=[""], columns=["latitude", "longitude"])
        if predictor.config.get("calibration") is None:
            self.notes.append("this run has no calibrated price range (trained before ranges existed): retrain it")

    @classmethod
    def load(cls, artifacts_dir: str | Path = DEFAULT_ARTIFACTS, coverage: float = DEFAULT_COVERAGE,
             n_comparables: int = ExploreConfig.n_comparables) -> "Explorer":
        """The run in ``artifacts_dir`` and the table it was trained on (comparables, listing ids)."""
        artifacts_dir = Path(artifacts_dir)
        check_coverage(coverage)
        if not artifacts_dir.is_dir():
            raise ExploreError(f"no training run at {artifacts_dir}: train one first (make run writes "
                               f"{DEFAULT_ARTIFACTS}), or give the artifacts directory of another run")
        try:
            with quiet():
                predictor = PricePredictor.load(artifacts_dir)
        except ArtifactsError as exc:
            raise ExploreError(f"cannot open the run: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a damaged run: say which, never a traceback in the page
            raise ExploreError(f"cannot open the run in {artifacts_dir} ({type(exc).__name__}: {exc}); "
                               "retrain it") from None
        notes, table, origin, raw_listings = [], None, "unknown", []
        recorded = (predictor.config.get("data") or {}).get("path")
        path = resolve_record_path(recorded, artifacts_dir) if recorded else None
        if path is None or not (path.is_file() or is_partitioned_table(path)):
            notes.append(f"the run's table ({recorded}) is not found: no comparable listings and no listing ids")
        else:
            try:  # only the cities the model was trained on (a table of several may hold more)
                table = load_table(path, predictor.processor.cities)
            except (TableError, OSError, ValueError) as exc:
                notes.append(f"the run's table cannot be read ({exc}): no comparable listings and no listing ids")
                table = None
            origin = table_origin(path, project_root(artifacts_dir))
            raw_listings = [p for _, p in recorded_listings(path, project_root(artifacts_dir)) if p is not None]
        if table is not None and origin != "inside_airbnb":
            notes.append("listing ids are not linked: " + ("this is the synthetic city, its listings are not on "
                         "Airbnb" if origin == "synthetic" else "the table's raw files were not found to confirm "
                         "they are Inside Airbnb's"))
        return cls(predictor, table, origin, coverage, n_comparables, notes, raw_listings, artifacts_dir)

    @staticmethod
    def _latest(table: pd.DataFrame) -> pd.DataFrame:
        return (table.sort_values([CITY, "listing_id", "year_month"]).drop_duplicates([CITY, "listing_id"], keep="last")
                .reset_index(drop=True))

    def _city_keys(self, rows: pd.DataFrame) -> np.ndarray:
        """Each row's city, or "" for every row of a one-city model (its listings are one place)."""
        return rows[CITY].to_numpy() if self.cities else np.full(len(rows), "", dtype=object)

    def _key(self, city: str | None) -> str:
        return (city or "") if self.cities else ""

    def check_city(self, city: str | None) -> str | None:
        """``city`` for a model of several cities (None: the first), None for a model of one."""
        if not self.cities:
            return None
        if city in (None, ""):
            return self.cities[0]
        if city not in self.cities:
            raise ExploreError(f"city {city!r} is not one the model was trained on ({', '.join(self.cities)})")
        return city

    def _in_city(self, city: str | None) -> np.ndarray:
        """Mask of the table's listings in ``city`` (all of them for a one-city model)."""
        return self._city_keys(self.listings) == self._key(city)

    # ------------------------------------------------------------------ what the controls offer
    @property
    def links(self) -> bool:
        return self.origin == "inside_airbnb"

    def options(self, city: str | None = None) -> dict[str, list]:
        """Choices per control: vocabularies (sorted; a city's own neighbourhoods for a model of several),
        room and bathroom types, amenities by frequency."""
        amenities = self._amenity_counts()
        neighbourhoods = list(self.vocabs["neighbourhood_cleansed"][1:])
        if self.cities and self.listings is not None:
            here = set(self.listings.loc[self._in_city(self.check_city(city)), "neighbourhood_cleansed"].dropna())
            neighbourhoods = [n for n in neighbourhoods if n in here]
        return {"neighbourhood_cleansed": neighbourhoods,
                "property_type": list(self.vocabs["property_type"][1:]),
                "room_type": list(ROOM_TYPES), "bathrooms_type": list(BATHROOM_TYPES),
                "amenities": list(amenities.index) if amenities is not None
                else list(self.predictor.processor.amenity_vocabulary_.names)}

    def _amenity_counts(self) -> pd.Series | None:
        if self.listings is None:
            return None
        if not hasattr(self, "_amenities"):
            counts = self.listings["amenities"].value_counts()
            tally: dict[str, int] = {}
            for text, n in counts.items():
                for item in set(parse_amenities(text)):
                    tally[item] = tally.get(item, 0) + int(n)
            self._amenities = pd.Series(tally, dtype="int64").sort_values(ascending=False, kind="stable")
        return self._amenities

    def listing_ids(self) -> np.ndarray:
        return np.zeros(0, np.int64) if self.listings is None else self.listings["listing_id"].to_numpy()

    def seen_month(self) -> int:
        """A month the training table covers (the highest; July for a run that knows none): where a
        listing without a month of its own is priced, so no warning of an unseen month comes first."""
        return int(max(self.predictor.processor.months_seen_, default=7))

    def as_of(self) -> str | None:
        """The training table's latest snapshot month (YYYY-MM): a price for any month is that month at
        this level, so a panel's earlier years do not mix into the year curve (None: a run from before)."""
        latest = self.predictor.processor.latest_month_
        return None if latest is None else month_text(latest)

    def default_listing(self, month: int | None = None, city: str | None = None) -> Listing:
        """The table's most typical listing (of ``city``, for a model of several): the one nearest the
        base price along every axis, in ``month`` (None: its own latest month, one the data saw)."""
        city = self.check_city(city)
        if self.listings is not None:
            distance = np.where(self._in_city(city), np.linalg.norm(self.space, axis=1), np.inf)
            return Listing.from_row(self.listings.iloc[int(np.argmin(distance))], month)
        fill = self.predictor.processor.fill_values_
        lat, lon = self.centre(UNK, city)
        return Listing(neighbourhood_cleansed=UNK, property_type=UNK, room_type=ROOM_TYPES[0], accommodates=2,
                       **{c: fill.get(c, 1.0) for c in ("bedrooms", "beds", "bathrooms_numeric")},
                       bathrooms_type=BATHROOM_TYPES[0], amenities=(),
                       **{c: fill.get(c, 4.7) for c in REVIEW_SCORE_COLUMNS},
                       number_of_reviews_ltm=10, host_is_superhost=False, instant_bookable=False,
                       month=self.seen_month() if month is None else month, latitude=lat, longitude=lon,
                       host_response_rate=fill.get("host_response_rate", 0.95),
                       host_acceptance_rate=fill.get("host_acceptance_rate", 0.9), host_identity_verified=True,
                       city=city)

    def listing_from_id(self, listing_id, month: int | None = None, city: str | None = None) -> Listing:
        """The table's listing with that id (its latest month), as the controls' starting point; an id
        in several cities' tables (made-up ones can repeat) is taken from ``city`` first. An id the
        table lacks (the ETL leaves out listings without a price or recent reviews) is looked up in
        the table's raw listings files and parsed as :mod:`airbnb.predict` parses them."""
        if self.listings is None:
            raise ExploreError("the run's table is not available: listings cannot be looked up by id")
        text = str(listing_id).strip()
        try:
            key = int(text)
        except ValueError:
            raise ExploreError(f"a listing id is a whole number, got {text!r}") from None
        same = self.listings["listing_id"].to_numpy() == key
        match = self.listings.index[same & self._in_city(city)] if self.cities and city else []
        match = match if len(match) else self.listings.index[same]
        if not len(match):
            return self._raw_listing(key, month, city)
        return Listing.from_row(self.listings.loc[match[0]], month)

    def _raw_listing(self, key: int, month: int | None, city: str | None) -> Listing:
        """Listing ``key`` from its latest row in the raw listings files (an ExploreError when it is
        in none of them, or has a value no listing can have)."""
        raw = self._raw_rows()
        ids = pd.to_numeric(raw["id"], errors="coerce").to_numpy() if len(raw) else np.zeros(0)
        found = np.flatnonzero(ids == key)
        if not len(found):
            example = int(self.listings["listing_id"].iloc[0])
            where = (f"nor in its raw listings files ({len(raw):,} rows)" if self.raw_listings
                     else "and its raw listings files are not found")
            raise ExploreError(f"listing {key} is not in the run's table ({len(self.listings):,} listings, "
                               f"e.g. {example}) {where}")
        month = self.seen_month() if month is None else month
        try:
            with quiet():
                row = self.predictor.to_table_rows(raw.iloc[[found[-1]]], month, city=self.check_city(city))
        except ListingValueError as exc:
            raise ExploreError(f"listing {key} of the raw listings file cannot be priced: "
                               f"{'; '.join(reasons(exc.rejected))}") from None
        except UserError as exc:
            raise ExploreError(f"listing {key} of the raw listings file cannot be priced: {exc}") from None
        return Listing.from_row(row.iloc[0], month)

    def _raw_rows(self) -> pd.DataFrame:
        """Every row of the raw listings files, in the ETL's order (later scrapes last), read once."""
        if self._raw is None:
            try:
                frames = [read_listings_file(p) for p in self.raw_listings]
            except OSError as exc:
                raise ExploreError(f"the run's raw listings file cannot be read ({exc})") from None
            self._raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id"])
        return self._raw

    def in_table(self, listing: Listing) -> bool:
        return listing.listing_id is not None and bool((self.listing_ids() == listing.listing_id).any())

    def change(self, listing: Listing, **changes) -> Listing:
        """``listing`` with some controls changed; a new neighbourhood moves it to that
        neighbourhood's centre (the median of its listings; an unknown one: the city's). Another city
        starts from that city's most typical listing (neighbourhoods are a city's own), in the same month."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(Listing)}
        if unknown:
            raise ExploreError(f"unknown control(s) {sorted(unknown)}")
        if changes.get("city", listing.city) != listing.city:
            return self.default_listing(changes.get("month", listing.month), changes["city"])
        if "amenities" in changes:
            changes["amenities"] = tuple(changes["amenities"] or ())
        new = dataclasses.replace(listing, **changes)
        if "neighbourhood_cleansed" in changes and changes["neighbourhood_cleansed"] != listing.neighbourhood_cleansed \
                and "latitude" not in changes:
            lat, lon = self.centre(new.neighbourhood_cleansed, new.city)
            new = dataclasses.replace(new, latitude=lat, longitude=lon)
        return new

    def centre(self, neighbourhood: str, city: str | None = None) -> tuple[float, float]:
        key = self._key(city)
        if self.centres is not None and (key, neighbourhood) in self.centres.index:
            return tuple(float(v) for v in self.centres.loc[(key, neighbourhood)])
        where = self.city_centres.loc[key] if key in self.city_centres.index else self.city_centres.median()
        return tuple(float(v) for v in where)

    # ------------------------------------------------------------------ pricing
    def quote(self, listing: Listing) -> Quote:
        """Price ``listing`` for its month and every other: range, waterfall, curve, comparables, notes."""
        check_listing(listing)
        if self.cities and listing.city not in self.cities:
            raise ExploreError(f"choose the city the listing is in: this model was trained on several "
                               f"({', '.join(self.cities)}), got {listing.city!r}")
        seen, notes = seen_as(listing, self.vocabs)
        with quiet(threads=1):
            months = self.predictor.predict_months(listing.to_row(), range(1, 13), self.coverage)
        prices = months["recommended_price"].to_numpy()
        if not np.isfinite(prices).all() or (prices <= 0).any():
            raise ExploreError("the model gives no positive price for this listing (a dollar-target model can, far "
                               "from its training listings): change the inputs or use a log-price run")
        row = months.iloc[listing.month - 1]
        notes.extend(input_notes(listing, row, self.predictor.processor))
        if listing.listing_id is not None and self.listings is not None and not self.in_table(listing):
            notes.append(f"listing {listing.listing_id} is not in the run's table (the ETL leaves out listings "
                         "without a usable price or recent reviews: see the table's summary): priced from its row "
                         "in the raw listings file")
        url = LISTING_URL.format(listing.listing_id) if self.links and listing.listing_id is not None else None
        return Quote(listing, float(row["recommended_price"]), float(row["price_low"]), float(row["price_high"]),
                     self.coverage, waterfall(row, self.multiplicative),
                     months[["month", "recommended_price", "price_low", "price_high", SEEN_MONTH]]
                     .reset_index(drop=True),
                     self.comparables(row, listing.listing_id, listing.city, (listing.latitude, listing.longitude)),
                     seen, notes + self.notes, url, self.as_of())

    def comparables(self, row: pd.Series, exclude: int | None = None, city: str | None = None,
                    at: tuple[float, float] | None = None) -> pd.DataFrame:
        """The nearest table listings to a priced row in axis space (its own listing left out; for a
        model of several cities, listings of ``city`` only: a host's competitors are local), with
        ``km``: how far each is on the ground from ``at`` (latitude, longitude; NaN without it)."""
        columns = ["listing_id", "distance", "km", "listed_price", "year_month", "model_price",
                   "neighbourhood_cleansed", "room_type", "accommodates", "bedrooms", "url"]
        if self.listings is None:
            return pd.DataFrame(columns=columns)
        point = axis_space(pd.DataFrame([row]), self.multiplicative)[0]
        distance = np.sqrt(((self.space - point) ** 2).sum(axis=1))
        if exclude is not None:
            distance = np.where(self.listings["listing_id"].to_numpy() == exclude, np.inf, distance)
        distance = np.where(self._in_city(city), distance, np.inf)
        k = min(self.n_comparables, int(np.isfinite(distance).sum()))
        nearest = np.argpartition(distance, k - 1)[:k] if k else np.zeros(0, np.int64)
        nearest = nearest[np.argsort(distance[nearest], kind="stable")]
        chosen = self.listings.iloc[nearest]
        ids = chosen["listing_id"].to_numpy()
        return pd.DataFrame({
            "listing_id": ids, "distance": distance[nearest],
            "km": km_between(at, chosen[["latitude", "longitude"]].to_numpy(np.float64)) if at else np.nan,
            "listed_price": chosen["target_price"].to_numpy(np.float64),
            "year_month": chosen["year_month"].to_numpy(), "model_price": self.model_prices[nearest],
            "neighbourhood_cleansed": chosen["neighbourhood_cleansed"].to_numpy(),
            "room_type": chosen["room_type"].to_numpy(), "accommodates": chosen["accommodates"].to_numpy(),
            "bedrooms": chosen["bedrooms"].to_numpy(),
            "url": [LISTING_URL.format(int(i)) if self.links else None for i in ids]}, columns=columns)


