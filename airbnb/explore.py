"""The price explorer's logic: a host's listing in, its recommended price with a calibrated range,
the why and the most comparable listings out.

    from airbnb.explore import Explorer
    explorer = Explorer.load("runs/default/artifacts")
    listing = explorer.change(explorer.default_listing(), accommodates=6)   # or explorer.listing_from_id(...)
    quote = explorer.quote(listing)     # price, price_low/high, steps (waterfall), months, comparables, notes

A :class:`Listing` holds the explorer's controls (and the few inputs it keeps from the listing it
started from: coordinates, host rates). :meth:`Explorer.quote` prices it for each month in one
model call and returns everything the page shows: the price of the chosen month and its range
(:mod:`airbnb.conformal`), the waterfall of base price + five axes (dollars that add up to the
price exactly), the 12-month curve, and the ``n_comparables`` table listings nearest to it in the
model's own axis space (below). Bad input raises :class:`ExploreError` with a message for the page;
inputs the model cannot know (an unknown neighbourhood: ``<UNK>``, a month it never saw, sizes
beyond its training listings) are priced and explained in ``notes``.

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
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch

from .artifacts import ArtifactsError, load_table
from .axes import AXES, AXIS_LABELS, SEEN_MONTH
from .cli import check_bounds, check_types, option
from .conformal import DEFAULT_COVERAGE, check_coverage
from .errors import UserError
from .etl import summary_path
from .etl.parsing import parse_amenities
from .etl.weights import month_text
from .features import UNK
from .io import file_sha256, read_json
from .notebook import project_root
from .predict import LISTING_URL, ListingValueError, PricePredictor, read_listings_file, reasons
from .schema import (BATHROOM_TYPES, CITY, REVIEW_SCORE_COLUMNS, ROOM_TYPES, TableError, cast_like_table,
                     is_partitioned_table)

DEFAULT_ARTIFACTS = "runs/default/artifacts"  # where `make run` leaves the default run's
EARTH_RADIUS_KM = 6371.0
MAX_ACCOMMODATES = 16  # Airbnb's own limit ("16+ guests")
MAX_ROOMS = 50  # bedrooms, beds, bathrooms: more is not a listing
REVIEW_SCALE = (0.0, 5.0)
COMPARABLE_AXES = tuple(a for a in AXES if a != "seasonality")  # months differ between table rows


class ExploreError(UserError, ValueError):
    """Input the explorer cannot price, or a run it cannot open; the message is shown in the page."""


@dataclass
class ExploreConfig:
    """The explorer's settings: the notebook's parameters and ``python -m airbnb.explore_app``'s flags."""

    artifacts_dir: str = option(DEFAULT_ARTIFACTS, "artifacts directory of a training run (make run writes "
                                "runs/default/artifacts)", flags=("--artifacts", "--artifacts-dir"))
    coverage: float = option(DEFAULT_COVERAGE, "share of listed prices the recommended range holds")
    n_comparables: int = option(5, "comparable listings shown")
    city: str = option("", "the city to start in, for a run trained on several cities (default: the first)")

    def __post_init__(self):
        check_types(self)
        check_coverage(self.coverage)
        check_bounds(self, {"n_comparables": (1, 1000)})


@dataclass(frozen=True)
class Listing:
    """The explorer's controls, in modeling-table terms (SPEC §3.1), plus what it keeps unseen."""

    neighbourhood_cleansed: str
    property_type: str
    room_type: str
    accommodates: int
    bedrooms: float
    beds: float
    bathrooms_numeric: float
    bathrooms_type: str
    review_scores_rating: float
    review_scores_cleanliness: float
    review_scores_checkin: float
    review_scores_communication: float
    review_scores_location: float
    review_scores_value: float
    number_of_reviews_ltm: int
    host_is_superhost: bool | None  # None: not known (a table row's missing t/f), priced as the model prices that
    instant_bookable: bool | None
    amenities: tuple[str, ...]
    month: int
    # not controls: kept from the listing it started from (coordinates follow the neighbourhood)
    latitude: float
    longitude: float
    host_response_rate: float
    host_acceptance_rate: float
    host_identity_verified: bool | None
    listing_id: int | None = None  # the table listing it started from (None: edited from scratch)
    city: str | None = None  # for a model of several cities, the one it is priced in (the page's city control)

    @classmethod
    def from_row(cls, row: pd.Series, month: int | None = None) -> "Listing":
        """A modeling-table row as a listing (its amenity list parsed)."""
        values = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row.index}
        values["amenities"] = tuple(parse_amenities(row["amenities"]))
        values["month"] = int(row["month"] if month is None else month)
        values["listing_id"] = int(row["listing_id"]) if "listing_id" in row.index else None
        return cls(**{k: _plain(v) for k, v in values.items()})

    def to_row(self) -> pd.DataFrame:
        """One modeling-table row (the table's types) the predictor prices."""
        values = dataclasses.asdict(self)
        values["amenities"] = json.dumps(list(self.amenities))
        if values["listing_id"] is None:
            values.pop("listing_id")
        values[CITY] = values[CITY] or ""  # a one-city model has no city input: any name prices alike
        frame = pd.DataFrame([values])
        cast_like_table(frame)
        return frame


CONTROLS = tuple(f.name for f in dataclasses.fields(Listing))[:19]  # the fields the page shows


def _plain(value):
    """numpy scalars as Python values (a frozen dataclass compares and prints plainly), a missing
    value as None; a float32 table value to 6 decimals (4.91, not 4.90999985: the same float32 again)."""
    if not isinstance(value, (str, tuple)) and pd.isna(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return round(value, 6) if isinstance(value, float) else value


@dataclass
class Quote:
    """Everything the page shows for one listing."""

    listing: Listing
    price: float
    price_low: float  # NaN: the run has no calibrated range
    price_high: float
    coverage: float
    steps: pd.DataFrame  # the waterfall: step, label, dollars, factor, start, end (the dollars add up to price)
    months: pd.DataFrame  # month, recommended_price, price_low, price_high, month_seen
    comparables: pd.DataFrame  # listing_id, distance, km, listed_price, year_month, model_price, ..., url
    seen_as: dict[str, str]  # how the model sees the categorical inputs (an unknown one as <UNK>)
    notes: list[str] = field(default_factory=list)
    url: str | None = None  # the listing's page on Airbnb (a real city's listing started from its id)
    # every month is priced at this snapshot month's level (YYYY-MM: the training table's latest; None: unknown)
    as_of: str | None = None


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


# --------------------------------------------------------------------------- the run's table

def resolve_record_path(recorded: str | Path, artifacts_dir: Path) -> Path:
    """A path a run recorded (relative to where training ran: usually the project root)."""
    path = Path(recorded)
    if path.is_absolute() or path.exists():
        return path
    root = project_root(artifacts_dir)
    return root / path if root is not None and (root / path).exists() else path


def recorded_listings(table_path: Path, base: Path | None = None) -> list[tuple[dict, Path | None]]:
    """The listings files the table's ETL summary records, each as (its record, the file found on
    disk, relative paths tried from ``base`` too; None when it is not there)."""
    summary = summary_path(table_path)
    if not summary.is_file():
        return []
    found = []
    for item in read_json(summary).get("inputs", {}).get("listings", []):
        path = Path(item["path"])
        if not path.is_absolute() and not path.exists() and base is not None:
            path = base / path
        found.append((item, path if path.is_file() else None))
    return found


def table_origin(table_path: Path, base: Path | None = None) -> str:
    """'synthetic', 'inside_airbnb' or 'unknown': where the table's listing ids come from.

    The ETL's summary records the hash of every listings file it read. A file the synthetic city
    wrote is listed, with that hash, in the ``city.json`` manifest (``generator: airbnb.synthetic``)
    at the city's root, next to its snapshot folders. A table whose listings files are all found
    and none is in such a manifest was built from real Inside Airbnb files; one whose summary or
    files cannot be found is 'unknown' (its ids are then not linked).
    """
    inputs = recorded_listings(table_path, base)
    if not inputs:
        return "unknown"
    found = 0
    for item, path in inputs:
        if path is None:
            continue
        found += 1
        for folder in (path.parent, path.parent.parent):
            manifest = folder / "city.json"
            if manifest.is_file():
                city = read_json(manifest)
                hashes = {f.get("sha256") for f in city.get("files", [])}
                if city.get("generator") == "airbnb.synthetic" and (item.get("sha256") or file_sha256(path)) in hashes:
                    return "synthetic"
    return "inside_airbnb" if found == len(inputs) else "unknown"


# --------------------------------------------------------------------------- the explorer

class Explorer:
    """A trained run, its table's listings (each at its latest month) and their axis contributions."""

    def __init__(self, predictor: PricePredictor, table: pd.DataFrame | None, origin: str = "unknown",
                 coverage: float = DEFAULT_COVERAGE, n_comparables: int = 5, notes: list[str] | None = None,
                 raw_listings: list[Path] | None = None, artifacts_dir: str | Path = ""):
        self.predictor = predictor
        self.raw_listings = list(raw_listings or [])  # the table's raw files: listings the ETL left out are there
        self._raw: pd.DataFrame | None = None  # their rows, read on the first id the table lacks
        self.coverage = check_coverage(coverage)
        self.n_comparables = n_comparables
        self.origin = origin
        self.artifacts_dir = str(artifacts_dir)  # where the run was loaded from (the page's title says)
        self.notes = list(notes or [])  # about the session (no table, no links, no calibration)
        self.multiplicative = predictor.model.config.target == "log_price"
        self.vocabs = predictor.processor.vocabs
        # a model of several cities prices a listing in one of them (its city input); one of one city has none
        self.cities = predictor.processor.cities if predictor.processor.n_cities > 1 else []
        self.listings = None if table is None or not len(table) else self._latest(table)
        if self.listings is not None:
            with quiet():
                priced = predictor.predict_table(self.listings, self.coverage)
            self.space = self._space(priced)
            self.model_prices = priced["recommended_price"].to_numpy()
            where = self.listings.assign(**{CITY: self._city_keys(self.listings)})
            self.centres = where.groupby([CITY, "neighbourhood_cleansed"])[["latitude", "longitude"]].median()
            self.city_centres = where.groupby(CITY)[["latitude", "longitude"]].median()
        else:
            ranges = predictor.processor.ranges or {}
            self.space, self.model_prices, self.centres = np.zeros((0, len(COMPARABLE_AXES))), np.zeros(0), None
            middle = [float(np.mean(ranges.get(c, (0.0, 0.0)))) for c in ("latitude", "longitude")]
            self.city_centres = pd.DataFrame([middle], index=[""], columns=["latitude", "longitude"])
        if predictor.config.get("calibration") is None:
            self.notes.append("this run has no calibrated price range (trained before ranges existed): retrain it")

    @classmethod
    def load(cls, artifacts_dir: str | Path = DEFAULT_ARTIFACTS, coverage: float = DEFAULT_COVERAGE,
             n_comparables: int = 5) -> "Explorer":
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

    def _space(self, priced: pd.DataFrame) -> np.ndarray:
        """Rows' coordinates in axis space (log factors, or dollars for a dollar model)."""
        if self.multiplicative:
            return np.log(priced[[f"{a}_factor" for a in COMPARABLE_AXES]].to_numpy(np.float64))
        return priced[list(COMPARABLE_AXES)].to_numpy(np.float64)

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
                else list(self.predictor.processor.amenity_vocabulary.names)}

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
        return int(max(self.predictor.processor.months_seen, default=7))

    def as_of(self) -> str | None:
        """The training table's latest snapshot month (YYYY-MM): a price for any month is that month at
        this level, so a panel's earlier years do not mix into the year curve (None: a run from before)."""
        latest = self.predictor.processor.latest_month
        return None if latest is None else month_text(latest)

    def default_listing(self, month: int | None = None, city: str | None = None) -> Listing:
        """The table's most typical listing (of ``city``, for a model of several): the one nearest the
        base price along every axis, in ``month`` (None: its own latest month, one the data saw)."""
        city = self.check_city(city)
        if self.listings is not None:
            distance = np.where(self._in_city(city), np.linalg.norm(self.space, axis=1), np.inf)
            return Listing.from_row(self.listings.iloc[int(np.argmin(distance))], month)
        fill = self.predictor.processor.fill_values
        lat, lon = self.centre(UNK, city)
        return Listing(UNK, UNK, ROOM_TYPES[0], 2, fill.get("bedrooms", 1.0), fill.get("beds", 1.0),
                       fill.get("bathrooms_numeric", 1.0), BATHROOM_TYPES[0],
                       *(fill.get(c, 4.7) for c in REVIEW_SCORE_COLUMNS), 10, False, False, (),
                       self.seen_month() if month is None else month, lat, lon,
                       fill.get("host_response_rate", 0.95), fill.get("host_acceptance_rate", 0.9), True, city=city)

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
        notes = []
        seen_as = {}
        for column, label in (("neighbourhood_cleansed", "neighbourhood"), ("property_type", "property type")):
            value = getattr(listing, column)
            known = value is not None and value in self.vocabs[column][1:]
            seen_as[column] = value if known else UNK
            if value is None:
                notes.append(f"{label} is not known for this listing: priced as {UNK}")
            elif not known:
                notes.append(f"{label} {value!r} is not one the model knows: priced as {UNK} (the average "
                             f"{label}; coordinates: the city's centre)" if column == "neighbourhood_cleansed" else
                             f"{label} {value!r} is not one the model knows: priced as {UNK}")
        for column, label in (("host_is_superhost", "superhost"), ("instant_bookable", "instant bookable"),
                              ("room_type", "room type")):
            if getattr(listing, column) is None:
                notes.append(f"{label} is not known for this listing: priced as unknown (set it to price it)")
        with quiet(threads=1):
            months = self.predictor.predict_months(listing.to_row(), range(1, 13), self.coverage)
        prices = months["recommended_price"].to_numpy()
        if not np.isfinite(prices).all() or (prices <= 0).any():
            raise ExploreError("the model gives no positive price for this listing (a dollar-target model can, far "
                               "from its training listings): change the inputs or use a log-price run")
        row = months.iloc[listing.month - 1]
        notes.extend(self._input_notes(listing, row))
        if listing.listing_id is not None and self.listings is not None and not self.in_table(listing):
            notes.append(f"listing {listing.listing_id} is not in the run's table (the ETL leaves out listings "
                         "without a usable price or recent reviews: see the table's summary): priced from its row "
                         "in the raw listings file")
        url = LISTING_URL.format(listing.listing_id) if self.links and listing.listing_id is not None else None
        return Quote(listing, float(row["recommended_price"]), float(row["price_low"]), float(row["price_high"]),
                     self.coverage, self._steps(row),
                     months[["month", "recommended_price", "price_low", "price_high", SEEN_MONTH]]
                     .reset_index(drop=True),
                     self.comparables(row, listing.listing_id, listing.city, (listing.latitude, listing.longitude)),
                     seen_as, notes + self.notes, url, self.as_of())

    def _input_notes(self, listing: Listing, row: pd.Series) -> list[str]:
        notes = []
        covered = list(self.predictor.processor.months_seen)
        if not bool(row[SEEN_MONTH]):
            notes.append(f"month {listing.month} is not in the training table (it covers {covered}): it gets no "
                         "seasonality (the training months' average)")
        ranges = self.predictor.processor.ranges or {}
        for column, label in (("accommodates", "guests"), ("bedrooms", "bedrooms"), ("beds", "beds"),
                              ("bathrooms_numeric", "bathrooms"), ("number_of_reviews_ltm", "reviews in 12 months")):
            lo, hi = ranges.get(column, (-math.inf, math.inf))
            value = getattr(listing, column)
            if column in self.predictor.processor.scalers and not lo <= value <= hi:
                notes.append(f"{value:g} {label} is outside the training listings' {lo:g}–{hi:g}: priced as "
                             f"{min(max(value, lo), hi):g}")
            elif column not in self.predictor.processor.scalers and value not in self.vocabs.get(column, [value]):
                notes.append(f"{value:g} {label} is not a value the training listings had: priced as {UNK}")
        return notes

    def _steps(self, row: pd.Series) -> pd.DataFrame:
        """The waterfall: base price, then each axis's dollars; ``end`` of the last step is the price."""
        names = ["bias", *AXES]
        dollars = np.array([float(row[n]) for n in names])
        ends = np.cumsum(dollars)
        factors = [math.nan, *(float(row[f"{a}_factor"]) if self.multiplicative else math.nan for a in AXES)]
        return pd.DataFrame({"step": names, "label": [AXIS_LABELS[n] for n in names], "dollars": dollars,
                             "factor": factors, "start": ends - dollars, "end": ends})

    def comparables(self, row: pd.Series, exclude: int | None = None, city: str | None = None,
                    at: tuple[float, float] | None = None) -> pd.DataFrame:
        """The nearest table listings to a priced row in axis space (its own listing left out; for a
        model of several cities, listings of ``city`` only: a host's competitors are local), with
        ``km``: how far each is on the ground from ``at`` (latitude, longitude; NaN without it)."""
        columns = ["listing_id", "distance", "km", "listed_price", "year_month", "model_price",
                   "neighbourhood_cleansed", "room_type", "accommodates", "bedrooms", "url"]
        if self.listings is None:
            return pd.DataFrame(columns=columns)
        point = self._space(pd.DataFrame([row]))[0]
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


def km_between(point: tuple[float, float], others: np.ndarray) -> np.ndarray:
    """Great-circle distances in km from ``point`` (latitude, longitude) to each (latitude, longitude) row."""
    lat1, lon1 = np.deg2rad(point)
    lat2, lon2 = np.deg2rad(others[:, 0]), np.deg2rad(others[:, 1])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def check_listing(listing: Listing) -> None:
    """Refuse what is not a listing, naming every bad control at once (ExploreError)."""
    problems = []

    def number(name: str, lo: float, hi: float, whole: bool = False, what: str = "") -> None:
        value = getattr(listing, name)
        ok_type = isinstance(value, (int, np.integer)) if whole else isinstance(value, (int, float, np.number))
        if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) or not lo <= value <= hi:
            kind = "a whole number" if whole else "a number"
            problems.append(f"{what or name} must be {kind} from {lo:g} to {hi:g}, got {value!r}")

    number("month", 1, 12, whole=True)
    number("accommodates", 1, MAX_ACCOMMODATES, whole=True,
           what=f"accommodates (guests; Airbnb's limit is {MAX_ACCOMMODATES})")
    for name in ("bedrooms", "beds", "bathrooms_numeric"):
        number(name, 0, MAX_ROOMS)
    for name in REVIEW_SCORE_COLUMNS:
        number(name, *REVIEW_SCALE)
    number("number_of_reviews_ltm", 0, 10_000, whole=True)
    number("latitude", -90, 90)
    number("longitude", -180, 180)
    for name in ("host_response_rate", "host_acceptance_rate"):
        number(name, 0, 1)
    if listing.room_type is not None and listing.room_type not in ROOM_TYPES:
        problems.append(f"room type must be one of {', '.join(ROOM_TYPES)}, got {listing.room_type!r}")
    if listing.bathrooms_type not in BATHROOM_TYPES:
        problems.append(f"bathrooms must be {' or '.join(BATHROOM_TYPES)}, got {listing.bathrooms_type!r}")
    for name in ("neighbourhood_cleansed", "property_type"):  # None: a table row's missing name (<UNK>)
        value = getattr(listing, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{name.split('_')[0]} must be a name, got {getattr(listing, name)!r}")
    if not all(isinstance(a, str) for a in listing.amenities):
        problems.append("amenities must be names")
    for name in ("host_is_superhost", "instant_bookable", "host_identity_verified"):
        if getattr(listing, name) is not None and not isinstance(getattr(listing, name), (bool, np.bool_)):
            problems.append(f"{name} must be true or false, got {getattr(listing, name)!r}")
    if problems:
        raise ExploreError("; ".join(problems))
