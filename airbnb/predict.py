"""Recommend a nightly price for listings, with its per-axis breakdown in dollars.

    from airbnb.predict import PricePredictor
    predictor = PricePredictor.load("runs/default/artifacts")
    predictor.predict(listings_df_or_dicts, month=7)      # raw Inside Airbnb listing rows
    predictor.predict(listings, month=7, on_invalid="skip")  # price the rest, see .attrs["rejected"]
    predictor.predict(listings, month=7, city="albany")      # a model trained on several cities

    python -m airbnb.predict --artifacts DIR --listings listings.csv.gz --months 7 --output preds.csv [--city albany]
    python -m airbnb.predict ... --months 1-12          # every month; also 6,7,8 or 1-3,12

Raw rows use Inside Airbnb's own text formats (``"95%"``, ``"t"``, ``"1.5 baths"``, the JSON
amenity list) and are parsed by the same code as the ETL; values the ETL would impute are filled
with the training rows' statistics. Modeling-table rows go through :meth:`predict_table` and give
exactly the numbers training-time evaluation gives.

A listing with a value no listing can have (outside :data:`airbnb.schema.DOMAINS`: 0 or 10000
guests, latitude 999, infinity, a 500-star score, a 5000% response rate) would be priced
confidently and absurdly, so its row is refused before anything is cast or imputed:
:class:`ListingValueError` names each such value (listing id, column, value, allowed range). So
is a raw row whose place or size is missing or does not parse (latitude ``"abc"``): it cannot be
priced, and the others still are. Modeling-table rows are checked the same way.
The command line writes a table for a person (:func:`price_listings`): per listing and month the
listed price, the recommended one, the gap between them, the range, name, neighbourhood and URL;
a listing it cannot price is a row with the reason in ``not_priced``, and each refused value is
also in ``preds.rejected.csv`` (exit 1 only when no row is left to price). Possible but unusual inputs (30
bedrooms, coordinates far outside the training city's bounding box) are priced from inputs held to
the training range, flagged in ``out_of_range`` and warned about.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .artifacts import load_model
from .axis_trees import AxisTrees, load_axis_trees, model_inputs
from .axes import SEEN_MONTH
from .breakdown import predict_dataset
from .cli import description
from .conformal import DEFAULT_COVERAGE, Calibration, check_coverage
from .dataset import AirbnbDataset
from .embeddings import AmenityEmbedder
from .errors import ConfigError, command_line
from .etl.config import OPTIONAL_LISTING_COLUMNS, EtlError
from .etl.parsing import parse_ids, parse_listing_features, parse_price
from .etl.reading import read_csv_columns
from .etl.steps import impute
from .features import FeatureProcessor
from .io import atomic_paths, exclusive, refuse_input, unwritable
from .listing_checks import (PREDICT_COLUMNS, ListingValueError, as_frame, as_text, checked_month, reasons, refusal,
                             rejected_values, require_listing_columns)
from .log import get_logger, setup_logging
from .model import AdditiveAxisModel, EnsembleModel
from .schema import CITY, cast_like_table

log = get_logger(__name__)

ON_INVALID = ("raise", "skip")
LISTING_URL = "https://www.airbnb.com/rooms/{}"  # a listing's page on Airbnb, by its id
# What a person reads beside the price (each optional in the file): who, where, at what price now.
DESCRIPTIVE_COLUMNS = ["name", "listing_url", "price"]
PERSON_COLUMNS = ["listing_id", "name", "neighbourhood", "url", "month", "listed_price", "recommended_price",
                  "gap_pct", "price_low", "price_high", "not_priced"]
BIG_GAP_PCT = 20.0  # the summary line counts listings listed this far above or below their recommendation


@dataclass
class PricePredictor:
    """A trained model with its feature processor and embedder, loaded from an artifacts directory."""

    model: AdditiveAxisModel | EnsembleModel
    processor: FeatureProcessor
    embedder: AmenityEmbedder
    config: dict
    trees: AxisTrees | None = None  # the axis-constrained trees the model blends in, if any
    _warned_uncalibrated: bool = field(default=False, init=False, repr=False)

    @classmethod
    def load(cls, artifacts_dir: str | Path, cache_dir: str | Path | None = None,
             progress: bool = False) -> "PricePredictor":
        model, processor, config = load_model(artifacts_dir)
        embedder = AmenityEmbedder(config["amenities_model_name"], config["amenities_encoding"], cache_dir,
                                   progress=progress, dim=config["embeddings"]["dim"])
        return cls(model, processor, embedder, config, load_axis_trees(artifacts_dir, model.config.tree_share))

    def predict_table(self, table: pd.DataFrame, coverage: float = DEFAULT_COVERAGE) -> pd.DataFrame:
        """Modeling-table rows (SPEC §3.1) -> recommended price and breakdown, one row each.

        A value outside its domain raises :class:`ListingValueError` (clipping would price it as
        an ordinary listing, silently). ``price_low`` / ``price_high`` bound the range that holds
        ``coverage`` of listed prices (calibrated at training, :mod:`airbnb.conformal`; NaN for a run
        from before, with one warning). ``month_seen`` is False for a month the training rows never
        covered (its seasonality is then 0, the training months' average); ``out_of_range`` names
        the inputs far outside the training range, coordinates far outside the training city's
        bounding box included (priced from inputs held to that range). Either logs one warning per call.
        """
        if table.empty:
            raise EtlError("no listings to price")
        ids = table["listing_id"] if "listing_id" in table else None
        rejected, _ = rejected_values(table, ids)
        if len(rejected):
            raise refusal(rejected, by_id=ids is not None)
        dataset = AirbnbDataset(model_inputs(self.processor, self.trees, table), embedder=self.embedder)
        out = predict_dataset(self.model, dataset).rename(columns={"predicted_price": "recommended_price"})
        low, high = self.price_range(out["recommended_price"].to_numpy(), coverage)
        out.insert(1, "price_low", low)
        out.insert(2, "price_high", high)
        seen = self.processor.month_seen(table["month"])
        flags = self.processor.out_of_range(table).to_numpy()
        _warn_unseen(table["month"].to_numpy(), seen, self.processor.months_seen_)
        _warn_out_of_range(flags, self.processor.ranges_, ids)
        listing_ids = {} if ids is None else {"listing_id": ids.to_numpy()}
        return pd.DataFrame({**listing_ids, "month": table["month"].to_numpy()}).join(out).assign(
            **{SEEN_MONTH: seen, "out_of_range": flags})

    def price_range(self, price: np.ndarray, coverage: float = DEFAULT_COVERAGE) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the calibrated ``coverage`` range around recommended prices."""
        check_coverage(coverage)
        calibration = Calibration.from_record(self.config.get("calibration"))
        if calibration is None:
            if not self._warned_uncalibrated:
                log.warning("this run has no calibrated price range (trained before airbnb.conformal): price_low "
                            "and price_high are NaN; retrain to get them")
                self._warned_uncalibrated = True
            return np.full(len(price), np.nan), np.full(len(price), np.nan)
        return calibration.interval(price, coverage)

    def predict_months(self, table_rows: pd.DataFrame, months: Iterable[int] = range(1, 13),
                       coverage: float = DEFAULT_COVERAGE) -> pd.DataFrame:
        """The same listing-month rows priced for each of ``months`` (everything else fixed)."""
        months = list(months)
        repeated = table_rows.loc[table_rows.index.repeat(len(months))].copy()
        repeated["month"] = months * len(table_rows)
        return self.predict_table(repeated, coverage)

    def predict(self, listings: pd.DataFrame | Iterable[dict[str, Any]] | dict[str, Any], month: int,
                on_invalid: str = "raise", coverage: float = DEFAULT_COVERAGE,
                city: str | None = None) -> pd.DataFrame:
        """Raw Inside Airbnb listing rows (DataFrame, dicts or one dict) priced for ``month`` (1-12)
        in ``city`` (:meth:`city_for`: needed when the model was trained on several cities).

        Rows with an impossible value are refused: ``on_invalid="raise"`` raises :class:`ListingValueError` (its
        ``rejected`` lists every such value); ``"skip"`` prices the other rows and returns the
        refused values in ``result.attrs["rejected"]`` (same columns, empty when none; read it
        before concatenating results: pandas cannot merge such attrs). With no row left to price,
        ``"skip"`` raises too.
        """
        rows = self.to_table_rows(as_frame(listings), checked_month(month), on_invalid, city)
        rejected = rows.attrs.pop("rejected", None)  # kept off the rows: pandas copies attrs on every step
        result = self.predict_table(rows, coverage)
        if rejected is not None:
            result.attrs["rejected"] = rejected
        return result

    def city_for(self, city: str | None = None) -> str:
        """The city rows are priced in: ``city``, one the model was trained on, or (None) the only
        city it was trained on. A model of one city has no city input, so it prices as it always did."""
        known = self.processor.cities
        if city is None:
            if len(known) > 1:
                raise ConfigError(f"this model was trained on several cities ({', '.join(known)}): say which "
                                  "city the listings are in (city=..., --city)")
            return known[0] if known else ""
        if known and city not in known:
            raise ConfigError(f"city {city!r} is not one the model was trained on ({', '.join(known)})")
        return city

    def to_table_rows(self, raw: pd.DataFrame, month: int, on_invalid: str = "raise",
                      city: str | None = None) -> pd.DataFrame:
        """Parse, check and impute raw listing rows the way the ETL does (without price and weight).

        The domain check runs on the parsed values, before imputing and casting: a cast wraps 1e308
        into a negative guest count and fails on infinity. ``on_invalid`` is as in :meth:`predict`
        (``"skip"``: the refused values in ``attrs["rejected"]``).
        """
        if on_invalid not in ON_INVALID:
            raise ConfigError(f"on_invalid must be one of {ON_INVALID}, got {on_invalid!r}")
        city = self.city_for(city)
        require_listing_columns(raw)
        text = as_text(raw)
        rows = parse_listing_features(text)
        ids = parse_ids(text["id"]) if "id" in raw else None
        rejected, keep = rejected_values(rows, ids, text)
        if len(rejected) and (on_invalid == "raise" or not keep.any()):
            raise refusal(rejected, by_id=ids is not None)
        rows = rows[keep]
        impute(rows, self.processor.fill_values_)
        rows["month"] = month
        rows[CITY] = city
        cast_like_table(rows)
        if ids is not None:
            rows.insert(0, "listing_id", ids[keep].array)
        if on_invalid == "skip":
            rows.attrs["rejected"] = rejected
        return rows


def _warn_unseen(months: np.ndarray, seen: np.ndarray, covered: Sequence[int]) -> None:
    if not seen.all():
        log.warning("month(s) %s are not in the training table (it covers %s): their seasonality is 0, the "
                    "training months' average (month_seen is False)", sorted(set(months[~seen].tolist())),
                    list(covered))


def _warn_out_of_range(flags: np.ndarray, ranges: dict[str, tuple[float, float]] | None,
                       ids: pd.Series | None = None) -> None:
    """One line for the listings priced from inputs held to the training range, counted per input
    (a city's listings often hold host rates its training rows never had: a summary, not a list).
    Coordinates get the training city's bounding box: far outside it usually means a listing of
    another city or swapped latitude and longitude, which the price cannot reflect."""
    far = flags != ""
    if not far.any():
        return
    listings = pd.Series(np.arange(len(flags)) if ids is None else ids.to_numpy())
    named = pd.DataFrame({"listing": listings[far].to_numpy(), "input": pd.Series(flags[far]).str.split(", ")})
    per_input = named.explode("input").drop_duplicates().groupby("input", sort=False)["listing"].size()
    counts = ", ".join(f"{name} {n}" for name, n in per_input.sort_values(ascending=False, kind="stable").items())
    box = ""
    if per_input.index.isin(["latitude", "longitude"]).any():
        (south, north), (west, east) = ranges["latitude"], ranges["longitude"]
        away = named.loc[named["input"].map(lambda i: bool({"latitude", "longitude"} & set(i))), "listing"].nunique()
        box = (f"; {away} of them lie far outside the training city's bounding box (latitude {south:.4f} "
               f"to {north:.4f}, longitude {west:.4f} to {east:.4f}): check their coordinates")
    log.warning("%d of %d listing(s) have inputs far outside the training range, priced as the nearest training "
                "listings (listings per input: %s; see out_of_range)%s", named["listing"].nunique(),
                listings.nunique(), counts, box)


def read_listings_file(path: str | Path) -> pd.DataFrame:
    """A listings.csv[.gz] (any Inside Airbnb column set): only the columns pricing needs.

    A file with a header and no rows is an error naming it (pricing nothing is never the intent)."""
    listings = read_csv_columns(Path(path), PREDICT_COLUMNS, ["id", *OPTIONAL_LISTING_COLUMNS, *DESCRIPTIVE_COLUMNS])
    if listings.empty:
        raise EtlError(f"{path} has no listings")
    return listings


def parse_months(text: str) -> list[int]:
    """``"7"``, ``"6,7,8"``, ``"1-12"`` or ``"1-3,12"`` -> the months, in order, once each."""
    months: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        ends = part.split("-")
        try:
            lo, hi = (int(e) for e in (ends * 2)[:2]) if len(ends) <= 2 else (0, 0)
        except ValueError:
            lo = hi = 0
        if not (1 <= lo <= hi <= 12):
            raise ConfigError(f"--months takes months 1-12 as a list or ranges (7, 6,7,8, 1-12, 1-3,12), "
                              f"got {text!r}")
        months.extend(m for m in range(lo, hi + 1) if m not in months)
    return months


def price_listings(predictor: PricePredictor, raw: pd.DataFrame, months: Sequence[int],
                   coverage: float = DEFAULT_COVERAGE, city: str | None = None) -> pd.DataFrame:
    """Every listing of ``raw`` (Inside Airbnb rows) for each of ``months``, as a person reads it:
    :data:`PERSON_COLUMNS` (the listed price is the file's, at its scrape; ``gap_pct`` is how far
    it lies above (+) or below (-) the recommendation, in %), then the breakdown. A listing that
    cannot be priced is one row, in its place, with prices empty and the reason in ``not_priced``
    (its values are in ``attrs["rejected"]``). Raises :class:`ListingValueError` when none can be."""
    raw = as_frame(raw)
    months = [checked_month(m) for m in months]
    rows = predictor.to_table_rows(raw, months[0], on_invalid="skip", city=city)
    rejected = rows.attrs.pop("rejected")
    positions = rows.index.to_numpy()  # to_table_rows keeps the raw rows' positions
    priced = predictor.predict_months(rows, months, coverage).drop(columns=["listing_id", "month"], errors="ignore")
    about = _described(raw)
    out = about.iloc[np.repeat(positions, len(months))].reset_index(drop=True)
    out.insert(4, "month", np.tile(months, len(positions)))
    out = pd.concat([out, priced.reset_index(drop=True)], axis=1)
    out["gap_pct"] = 100 * (out["listed_price"] / out["recommended_price"] - 1)
    unpriced = about.drop(index=positions)
    unpriced = unpriced.assign(not_priced=reasons(rejected).reindex(unpriced.index))
    out = pd.concat([out.assign(not_priced="", _row=np.repeat(positions, len(months))),
                     unpriced.assign(_row=unpriced.index)], ignore_index=True)
    out = out.sort_values(["_row", "month"], kind="stable", ignore_index=True).drop(columns="_row")
    out = out[[*PERSON_COLUMNS, *[c for c in out.columns if c not in PERSON_COLUMNS]]]
    out.attrs["rejected"] = rejected
    return out


def _described(raw: pd.DataFrame) -> pd.DataFrame:
    """Per raw row: its id (or position), name, neighbourhood, URL (the file's, else Airbnb's page of
    the id) and listed price, parsed as the ETL parses it."""
    text = as_text(raw)
    missing = pd.Series(pd.NA, index=raw.index, dtype="str")
    ids = parse_ids(text["id"]) if "id" in raw else pd.Series(np.arange(len(raw)), index=raw.index)
    url = text["listing_url"] if "listing_url" in raw else missing
    if "id" in raw:
        url = url.fillna(ids.map(lambda i: LISTING_URL.format(i), na_action="ignore"))
    return pd.DataFrame({"listing_id": ids, "name": text["name"] if "name" in raw else missing,
                         "neighbourhood": text["neighbourhood_cleansed"].str.strip(), "url": url,
                         "listed_price": parse_price(text["price"]) if "price" in raw else np.nan},
                        index=raw.index)


def rejected_path(output: str | Path) -> Path:
    """Where the command line lists the values it refused: ``preds.csv`` -> ``preds.rejected.csv``."""
    output = Path(output)
    return output.with_name(output.name.removesuffix(".csv") + ".rejected.csv")


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m airbnb.predict", description=description(__doc__))
    parser.add_argument("--artifacts", required=True, help="artifacts directory of a training run")
    parser.add_argument("--listings", required=True, help="listings.csv[.gz] in Inside Airbnb format")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--months", help="months to price: one (7), a list (6,7,8) or ranges (1-12, 1-3,12)")
    when.add_argument("--month", type=int, help="one month to price (1-12); the same as --months with one month")
    parser.add_argument("--city", help="city the listings are in (needed for a model trained on several cities)")
    parser.add_argument("--output", required=True, help="CSV to write, one row per listing and month: listing_id, "
                        "name, neighbourhood, url, month, listed_price, recommended_price, gap_pct (listed vs "
                        "recommended, %%), price_low, price_high (the calibrated range), not_priced (why a listing "
                        "has no price), then the breakdown; each refused value is also listed in the same name "
                        "with .rejected.csv for .csv")
    parser.add_argument("--coverage", type=float, default=DEFAULT_COVERAGE,
                        help="share of listed prices the range holds (0.01-0.99; default %(default)s)")
    args = parser.parse_args(argv)
    setup_logging()
    return command_line(lambda: _price_file(args.artifacts, args.listings,
                                            [args.month] if args.months is None else parse_months(args.months),
                                            args.output, args.coverage, args.city))


def _price_file(artifacts: str | Path, listings: str | Path, months: Sequence[int], output: str | Path,
                coverage: float = DEFAULT_COVERAGE, city: str | None = None) -> pd.DataFrame:
    """The command's work: every listing of the file into ``output`` (:func:`price_listings`), the
    refused values into :func:`rejected_path`; fail (after listing them) when no row can be priced.
    Neither output may be the listings file, and both are held while written (:func:`airbnb.io.exclusive`)."""
    rejects = rejected_path(output)
    for written in (output, rejects):
        refuse_input(written, [listings])
    with exclusive(output):
        predictor = PricePredictor.load(artifacts)
        raw = read_listings_file(listings)
        try:
            result = price_listings(predictor, raw, months, check_coverage(coverage), city)
        except ListingValueError as exc:  # not one row left to price
            _write_csvs({rejects: exc.rejected})
            raise ListingValueError(f"none of the {len(raw)} listing(s) in {listings} can be priced: each has a "
                                    f"value no listing can have or lacks one (listed in {rejects})",
                                    exc.rejected) from None
        rejected = result.attrs.pop("rejected")
        _write_csvs({Path(output): result, **({rejects: rejected} if len(rejected) else {})})
        if len(rejected):
            log.warning("%d listing(s) of %s have a value no listing can have or lack one and are not priced: "
                        "see not_priced in %s (each value in %s)", rejected["listing_id"].nunique(), listings,
                        output, rejects)
        else:
            rejects.unlink(missing_ok=True)  # an earlier run's refusals do not belong to this output
    log.info("%s", summary_line(result, output))
    return result


def summary_line(result: pd.DataFrame, output: str | Path) -> str:
    """What a person wants to know first about a priced file: how many, the typical price, and how
    many listings sit far from their recommendation."""
    priced = result[result["not_priced"] == ""]
    months = sorted(priced["month"].unique().astype(int).tolist())
    gap = priced["gap_pct"]
    listed = gap.notna()
    line = (f"priced {priced['listing_id'].nunique()} listing(s) for month(s) {_ranges(months)} -> {output}: "
            f"recommended median ${priced['recommended_price'].median():,.0f}")
    if listed.any():
        line += (f", listed median ${priced.loc[listed, 'listed_price'].median():,.0f}; listed over "
                 f"{BIG_GAP_PCT:.0f}% above the recommendation {int((gap > BIG_GAP_PCT).sum())}, over "
                 f"{BIG_GAP_PCT:.0f}% below {int((gap < -BIG_GAP_PCT).sum())} (listing-months)")
    unpriced = int((result["not_priced"] != "").sum())
    return line + (f"; {unpriced} not priced (see not_priced)" if unpriced else "")


def _ranges(months: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    runs = np.split(np.asarray(months), np.flatnonzero(np.diff(months) != 1) + 1)
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def _write_csvs(frames: dict[Path, pd.DataFrame]) -> None:
    """Publish the CSVs together (:func:`airbnb.io.atomic_paths`): prices never sit beside another
    run's refusals, and a failed write leaves the previous files as they were."""
    try:
        with atomic_paths(*frames) as tmps:
            for tmp, frame in zip(tmps, frames.values()):
                frame.to_csv(tmp, index=False, float_format="%.2f")
    except OSError as exc:
        raise unwritable(exc, " and ".join(map(str, frames))) from exc


if __name__ == "__main__":
    main()
