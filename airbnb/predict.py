"""Recommend a nightly price for listings, with its per-axis breakdown in dollars.

    from airbnb.predict import PricePredictor
    predictor = PricePredictor.load("runs/default/artifacts")
    predictor.predict(listings_df_or_dicts, month=7)      # raw Inside Airbnb listing rows

    python -m airbnb.predict --artifacts DIR --listings listings.csv.gz --month 7 --output preds.csv

Raw rows use Inside Airbnb's own text formats (``"95%"``, ``"t"``, ``"1.5 baths"``, the JSON
amenity list) and are parsed by the same code as the ETL; values the ETL would impute are filled
with the training rows' statistics. Modeling-table rows go through :meth:`predict_table` and give
exactly the numbers training-time evaluation gives.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .artifacts import ArtifactsError, load_model
from .axes import SEEN_MONTH
from .breakdown import predict_dataset
from .conformal import DEFAULT_COVERAGE, Calibration, check_coverage
from .dataset import AirbnbDataset
from .embeddings import AmenityEmbedder
from .etl import (BATHROOM_COLUMNS, ESSENTIAL_COLUMNS, OPTIONAL_LISTING_COLUMNS, REQUIRED_LISTING_COLUMNS,
                  EtlError, impute, parse_listing_features, read_csv_columns)
from .features import FeatureProcessor
from .io import atomic_path
from .log import get_logger, setup_logging
from .model import AdditiveAxisModel, EnsembleModel
from .schema import cast_like_table

log = get_logger(__name__)

# A listing to price needs the model inputs, not the price, the scrape date or the id.
PREDICT_COLUMNS = [c for c in REQUIRED_LISTING_COLUMNS if c not in ("id", "last_scraped", "price")]


@dataclass
class PricePredictor:
    """A trained model with its feature processor and embedder, loaded from an artifacts directory."""

    model: AdditiveAxisModel | EnsembleModel
    processor: FeatureProcessor
    embedder: AmenityEmbedder
    config: dict
    _warned_uncalibrated: bool = field(default=False, init=False, repr=False)

    @classmethod
    def load(cls, artifacts_dir: str | Path, cache_dir: str | Path | None = None,
             progress: bool = False) -> "PricePredictor":
        model, processor, config = load_model(artifacts_dir)
        embedder = AmenityEmbedder(config["amenities_model_name"], config["amenities_encoding"], cache_dir,
                                   progress=progress)
        return cls(model, processor, embedder, config)

    def predict_table(self, table: pd.DataFrame, coverage: float = DEFAULT_COVERAGE) -> pd.DataFrame:
        """Modeling-table rows (SPEC §3.1) -> recommended price and breakdown, one row each.

        ``price_low`` / ``price_high`` bound the range that holds ``coverage`` of listed prices
        (calibrated at training, :mod:`airbnb.conformal`; NaN for a run from before, with one warning).

        ``month_seen`` is False for a month the training rows never covered (its seasonality is
        then 0, the training months' average); ``out_of_range`` names the inputs far outside the
        training range (priced from inputs held to that range). Either logs one warning per call.
        """
        dataset = AirbnbDataset(self.processor.transform(table), embedder=self.embedder)
        out = predict_dataset(self.model, dataset).rename(columns={"predicted_price": "recommended_price"})
        low, high = self.price_range(out["recommended_price"].to_numpy(), coverage)
        out.insert(1, "price_low", low)
        out.insert(2, "price_high", high)
        ids = {"listing_id": table["listing_id"].to_numpy()} if "listing_id" in table else {}
        seen = self.processor.month_seen(table["month"])
        flags = self.processor.out_of_range(table).to_numpy()
        _warn_unseen(table["month"].to_numpy(), seen, self.processor.months_seen)
        if (flags != "").any():
            log.warning("%d of %d listing(s) have inputs far outside the training range (see out_of_range, "
                        "e.g. %r): priced as the nearest training listings", (flags != "").sum(), len(flags),
                        flags[flags != ""][0])
        return pd.DataFrame({**ids, "month": table["month"].to_numpy()}).join(out).assign(
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
                coverage: float = DEFAULT_COVERAGE) -> pd.DataFrame:
        """Raw Inside Airbnb listing rows (DataFrame, dicts or one dict) priced for ``month`` (1-12)."""
        if isinstance(month, (bool, np.bool_)) or not isinstance(month, (int, np.integer)) or not 1 <= month <= 12:
            raise ValueError(f"month must be an integer from 1 to 12, got {month!r}")
        raw = _as_frame(listings)
        return self.predict_table(self.to_table_rows(raw, int(month)), coverage)

    def to_table_rows(self, raw: pd.DataFrame, month: int) -> pd.DataFrame:
        """Parse and impute raw listing rows the way the ETL does (without price and weight)."""
        missing = [c for c in PREDICT_COLUMNS if c not in raw.columns]
        if not any(c in raw.columns for c in BATHROOM_COLUMNS):
            missing.append("bathrooms_text")
        if missing:
            raise EtlError(f"listings are missing column(s) {', '.join(map(repr, missing))} needed to price them")
        rows = parse_listing_features(_as_text(raw))
        gaps = rows[ESSENTIAL_COLUMNS].isna().any(axis=1)
        if gaps.any():
            raise EtlError(f"rows {list(raw.index[gaps][:10])} lack {ESSENTIAL_COLUMNS} values; cannot price them")
        impute(rows, self.processor.fill_values)
        rows["month"] = month
        cast_like_table(rows)
        if "id" in raw:
            rows.insert(0, "listing_id", pd.to_numeric(raw["id"], errors="coerce").astype("Int64"))
        return rows


def _warn_unseen(months: np.ndarray, seen: np.ndarray, covered: Sequence[int]) -> None:
    if not seen.all():
        log.warning("month(s) %s are not in the training table (it covers %s): their seasonality is 0, the "
                    "training months' average (month_seen is False)", sorted(set(months[~seen].tolist())),
                    list(covered))


def _as_frame(listings) -> pd.DataFrame:
    if isinstance(listings, pd.DataFrame):
        return listings.reset_index(drop=True)
    if isinstance(listings, dict):
        return pd.DataFrame([listings])
    return pd.DataFrame(list(listings))


def _as_text(raw: pd.DataFrame) -> pd.DataFrame:
    """Every value as text (missing stays missing), as read from a listings file."""
    def text(col: pd.Series) -> pd.Series:
        return col if col.dtype == "str" else col.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    return raw.apply(text)


def read_listings_file(path: str | Path) -> pd.DataFrame:
    """A listings.csv[.gz] (any Inside Airbnb column set): only the columns pricing needs."""
    return read_csv_columns(Path(path), PREDICT_COLUMNS, ["id", *OPTIONAL_LISTING_COLUMNS])


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m airbnb.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", required=True, help="artifacts directory of a training run")
    parser.add_argument("--listings", required=True, help="listings.csv[.gz] in Inside Airbnb format")
    parser.add_argument("--month", required=True, type=int, help="month to price (1-12)")
    parser.add_argument("--output", required=True, help="CSV to write: id, recommended_price, its calibrated 80%% "
                        "range (price_low, price_high), breakdown")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        predictor = PricePredictor.load(args.artifacts)
        result = predictor.predict(read_listings_file(args.listings), args.month)
    except (ArtifactsError, EtlError, ValueError, FileNotFoundError) as exc:
        raise SystemExit(f"error: {exc}") from None
    with atomic_path(args.output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.2f")
    log.info("priced %d listings for month %d -> %s (median $%.0f)", len(result), args.month, args.output,
             result["recommended_price"].median())
    return result


if __name__ == "__main__":
    main()
