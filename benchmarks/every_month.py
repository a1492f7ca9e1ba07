"""Price every listing of the real cities for each month 1-12 with the default model.

    python benchmarks/every_month.py [--cities albany newark]

Per city (raw files from ../shared): the ETL, the default ``train.configure()`` training, then
``PricePredictor.predict`` of every listing of the snapshot for months 1-12. Reports the lowest
price, how many are <= $0 or under $20, which months the model saw, and how many listings have
inputs far outside the training range. Writes the ``every_month`` section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from run import update_markdown  # benchmarks/run.py: BENCHMARKS.md sections with the machine line

from airbnb import etl, train
from airbnb.predict import PricePredictor, read_listings_file

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "insideairbnb"
CITIES = {"albany": "albany-2024-11", "newark": "newark-2025-09"}


def every_month(folder: Path, work: Path, cache: Path) -> str:
    listings, reviews = folder / "listings.csv.gz", folder / "reviews.csv.gz"
    etl.run_etl([listings], reviews if reviews.is_file() else None, work / "table.parquet")
    train.train(train.configure(data_path=str(work / "table.parquet"), output_dir=str(work / "artifacts"),
                                progress=False, cache_dir=str(cache)))
    predictor = PricePredictor.load(work / "artifacts", cache_dir=cache)
    raw = read_listings_file(listings)
    prices = pd.concat([predictor.predict(raw, month=m) for m in range(1, 13)])
    price = prices["recommended_price"]
    flagged = prices.loc[prices["out_of_range"] != "", "listing_id"].nunique()
    seen = sorted(set(prices.loc[prices["month_seen"], "month"]))
    return (f"| {folder.name} | {len(raw):,} | {len(prices):,} | ${price.min():,.2f} | {(price <= 0).sum()} "
            f"| {(price < 20).sum()} | {seen} | {flagged} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", nargs="+", default=list(CITIES), choices=list(CITIES))
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "quality"),
                        help="the embedding cache is kept here between runs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.ERROR)
    rows = []
    for city in args.cities:
        folder = SHARED / CITIES[city]
        if not (folder / "listings.csv.gz").is_file():
            print(f"skipping {city}: {folder} not found (expected ../shared beside the repository)")
            continue
        with tempfile.TemporaryDirectory(prefix="every-month-") as work:
            rows.append(every_month(folder, Path(work), Path(args.work) / "cache"))
        print(rows[-1], flush=True)
    body = "\n".join([
        "## Every listing, every month (`benchmarks/every_month.py`)", "",
        "The default model trained on each real city's single snapshot, then every listing of that snapshot "
        "priced for each month 1–12 (`PricePredictor.predict`). Months the table never covered get no "
        "seasonality (`month_seen` false); `out_of_range` flags inputs far outside the training range.", "",
        "| city | listings | prices | lowest | ≤ $0 | < $20 | months seen | listings out of range |",
        "|---|---|---|---|---|---|---|---|", *rows])
    print(body)
    update_markdown({"every_month": body}, "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))


if __name__ == "__main__":
    main()
