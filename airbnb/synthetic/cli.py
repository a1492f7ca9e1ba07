"""A seeded synthetic NYC-like city written in the raw Inside Airbnb format (the command line:
``python -m airbnb.synthetic``; with ``--table PATH`` it also builds the city's modeling table)."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

from airbnb.cli import description
from airbnb.config import DEFAULT_CITY_DIR
from airbnb.errors import command_line
from airbnb.etl import EtlConfig, run_etl

from .config import PRICE_MODELS, CityConfig, CityFiles
from .formats import COLUMN_SETS
from .generator import generate_city


def summarize(files: CityFiles, seconds: float | None = None) -> str:
    """One paragraph: what was written where."""
    manifest = json.loads(files.manifest.read_text())
    rows, cfg = manifest["rows"], manifest["config"]
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    return (f"Wrote a synthetic city to {files.root}{took}: {len(files.listings)} monthly snapshots "
            f"({manifest['snapshots'][0]} .. {manifest['snapshots'][-1]}, column set "
            f"{cfg['column_set']}, {manifest['price_model']} prices) with {rows['listings']:,} "
            f"listing-month rows of {rows['distinct_listings']:,} distinct listings, "
            f"{rows['reviews']:,} reviews in {files.reviews.name}, per-axis price truth in {files.ground_truth.name} and the "
            f"manifest in {files.manifest.name} (seed {cfg['seed']}).")


def main(argv: Sequence[str] | None = None) -> CityFiles:
    defaults = CityConfig()
    parser = argparse.ArgumentParser(prog="python -m airbnb.synthetic", description=description(__doc__))
    parser.add_argument("--out", type=Path, default=DEFAULT_CITY_DIR, help="output directory")
    parser.add_argument("--listings", type=int, default=defaults.n_listings,
                        help="listings active at each snapshot")
    parser.add_argument("--months", type=int, default=defaults.n_months, help="monthly snapshots")
    parser.add_argument("--start-month", default=defaults.start_month, help="YYYY-MM of the first snapshot")
    parser.add_argument("--history-months", type=int, default=defaults.history_months,
                        help="months of reviews simulated before the first snapshot")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--column-set", choices=sorted(COLUMN_SETS), default=defaults.column_set,
                        help="Inside Airbnb column layout to write")
    parser.add_argument("--review-rate", type=float, default=defaults.review_rate,
                        help="probability that a stay leaves a review")
    parser.add_argument("--avg-length-of-stay", type=float, default=defaults.avg_length_of_stay,
                        help="nights per booking")
    parser.add_argument("--price-model", choices=PRICE_MODELS, default=defaults.price_model,
                        help="multiplicative (log-additive factors, heavy-tailed; default) or "
                             "additive (dollar terms, the original city)")
    parser.add_argument("--new-listing-discount", type=float, default=defaults.new_listing_discount,
                        help="dollars off the quality term of listings without reviews yet")
    parser.add_argument("--table", type=Path, metavar="PATH",
                        help="also build the city's modeling table (Parquet, with its .summary.json) at "
                             "PATH through the ETL, given the city's review rate and stay length")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    return command_line(lambda: _generate(args))


def _generate(args: argparse.Namespace) -> CityFiles:
    config = CityConfig(n_listings=args.listings, n_months=args.months, start_month=args.start_month,
                        history_months=args.history_months, seed=args.seed,
                        column_set=args.column_set, review_rate=args.review_rate,
                        avg_length_of_stay=args.avg_length_of_stay, price_model=args.price_model,
                        new_listing_discount=args.new_listing_discount)
    started = time.perf_counter()
    files = generate_city(args.out, config, progress=not args.no_progress)
    print(summarize(files, time.perf_counter() - started))
    if args.table is not None:
        summary = run_etl(files.root, files.reviews, args.table,
                          EtlConfig(config.review_rate, config.avg_length_of_stay))
        print(f"Wrote its modeling table to {args.table}: {summary['rows_out']:,} listing-months of "
              f"{summary['listings_out']:,} listings.")
    return files

