"""Price every listing of the real cities for each month 1-12 with the default model.

    python benchmarks/every_month.py [--cities albany newark albany-panel] [--threads 1]

Per city (raw files from ../shared): the ETL, the default ``train.configure()`` training, then
``PricePredictor.predict`` of every listing of the snapshot (of a panel: its latest) for months
1-12, at the latest year's level (as ``predict`` prices), with the learned year curve: the mean
seasonality per month. A city whose files are absent is skipped, saying which. Reports the lowest
price, how many are <= $0 or under $20, which months the model saw, and how many listings have
inputs far outside the training range. Writes the ``every_month`` section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from run import update_markdown  # benchmarks/run.py: BENCHMARKS.md sections with the machine line

from airbnb import etl, train
from airbnb.predict import PricePredictor, read_listings_file

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "insideairbnb"
# city -> (listings: a snapshot's file or a panel's folder, reviews file, the listings file priced)
CITIES = {
    "albany": (SHARED / "albany-2024-11" / "listings.csv.gz", SHARED / "albany-2024-11" / "reviews.csv.gz",
               SHARED / "albany-2024-11" / "listings.csv.gz"),
    "newark": (SHARED / "newark-2025-09" / "listings.csv.gz", None, SHARED / "newark-2025-09" / "listings.csv.gz"),
    "albany-panel": (SHARED / "albany-panel", SHARED / "albany-2024-11" / "reviews.csv.gz",
                     SHARED / "albany-panel" / "2025-11-07" / "listings.csv.gz"),
}


def every_month(name: str, work: Path, cache: Path, threads: int = 0) -> tuple[str, str]:
    """The city's row of the table, and its year curve (mean seasonality in dollars per month)."""
    listings, reviews, priced = CITIES[name]
    etl.run_etl(listings, reviews, work / "table.parquet")
    train.train(train.configure(data_path=str(work / "table.parquet"), output_dir=str(work / "artifacts"),
                                progress=False, cache_dir=str(cache), threads=threads))
    predictor = PricePredictor.load(work / "artifacts", cache_dir=cache)
    raw = read_listings_file(priced)
    prices = pd.concat([predictor.predict(raw, month=m) for m in range(1, 13)])
    price = prices["recommended_price"]
    flagged = prices.loc[prices["out_of_range"] != "", "listing_id"].nunique()
    seen = sorted(set(prices.loc[prices["month_seen"], "month"]))
    curve = prices.groupby("month")["seasonality"].mean()
    return (f"| {name} | {len(raw):,} | {len(prices):,} | ${price.min():,.2f} | {(price <= 0).sum()} "
            f"| {(price < 20).sum()} | {seen} | {flagged} |",
            f"| {name} | " + " | ".join(f"{v:+.1f}" if m in seen else "–" for m, v in curve.items()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", nargs="+", default=list(CITIES), choices=list(CITIES))
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: torch's default; 1 is faster on a busy machine)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "quality"),
                        help="the embedding cache is kept here between runs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.ERROR)
    rows, curves = [], []
    for city in args.cities:
        missing = [str(p) for p in CITIES[city] if p is not None and not p.exists()]
        if missing:
            print(f"skipping {city}: {', '.join(missing)} not found (expected ../shared beside the repository)")
            continue
        with tempfile.TemporaryDirectory(prefix="every-month-") as work:
            row, curve = every_month(city, Path(work), Path(args.work) / "cache", args.threads)
        rows.append(row)
        curves.append(curve)
        print(row, curve, sep="\n", flush=True)
    body = "\n".join([
        "## Every listing, every month (`benchmarks/every_month.py`)", "",
        "The default model trained on each real city's table (one snapshot, or a panel of snapshots), then every "
        "listing of that snapshot (of a panel: its latest) priced for each month 1–12 (`PricePredictor.predict`, "
        "at the latest year's level). Months the table never covered get no "
        "seasonality (`month_seen` false); `out_of_range` flags inputs far outside the training range.", "",
        "| city | listings | prices | lowest | ≤ $0 | < $20 | months seen | listings out of range |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        "The learned year curve: the seasonality axis's mean dollars per month over those listings (– : a month "
        "the table never covered, priced with no seasonality). A panel of snapshots (`albany-panel`: ten "
        "snapshots 2023-07 to 2025-11) covers the months of its snapshots; one snapshot covers one.", "",
        "| city | " + " | ".join(str(m) for m in range(1, 13)) + " |", "|---|" + "---|" * 12, *curves])
    print(body)
    update_markdown({"every_month": body})


if __name__ == "__main__":
    main()
