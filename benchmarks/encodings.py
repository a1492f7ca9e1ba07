"""Amenity encodings compared: 'bag' vs 'sentence', accuracy and embedding time.

    python benchmarks/encodings.py [--seeds 3] [--epochs 10]

For each table (Albany from ../shared when present; the default synthetic city), it embeds the
amenities cold (a fresh cache) with each encoding and times it, then trains the model with each
encoding for several seeds on the same split and reports validation weighted MAPE and R² (mean ±
sd over seeds). Prints a markdown table (the README quotes it).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from airbnb import etl, synthetic, train
from airbnb.embeddings import ENCODINGS, AmenityEmbedder

REPO = Path(__file__).resolve().parents[1]
ALBANY = REPO.parent / "shared" / "data" / "insideairbnb" / "albany-2024-11"


def tables(work: Path) -> dict[str, Path]:
    found = {}
    if ALBANY.is_dir():
        found["Albany (real, 2024-11)"] = Path(etl.run_etl(ALBANY / "listings.csv.gz", ALBANY / "reviews.csv.gz",
                                                           work / "albany.parquet")["output"])
    found["synthetic default city"] = synthetic.ensure_default_table()
    return found


def embed_cold(table: Path, encoding: str) -> dict:
    amenities = pd.read_parquet(table, columns=["amenities"])["amenities"]
    with tempfile.TemporaryDirectory() as cache:
        embedder = AmenityEmbedder(encoding=encoding, cache_dir=cache, progress=False)
        embedder._get_model()  # load outside the timing: both encodings pay it once
        started = time.perf_counter()
        embedder.embed(amenities.tolist())
        return {"texts": embedder.n_encoded, "seconds": time.perf_counter() - started}


def accuracy(table: Path, encoding: str, seeds: int, epochs: int, work: Path) -> dict:
    scores = []
    for seed in range(seeds):
        result = train.train(train.TrainConfig(data_path=str(table), output_dir=str(work / f"{encoding}-{seed}"),
                                               amenities_encoding=encoding, epochs=epochs, seed=seed,
                                               progress=False))
        best = result.history.loc[result.history["val_loss"].idxmin()]
        scores.append((best["val_mape_weighted"], best["val_r2_weighted"]))
    mape, r2 = np.array(scores).T
    return {"mape": f"{100 * mape.mean():.1f}% ± {100 * mape.std():.1f}", "r2": f"{r2.mean():.3f} ± {r2.std():.3f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, table in tables(work).items():
            for encoding in ENCODINGS:
                cold = embed_cold(table, encoding)
                score = accuracy(table, encoding, args.seeds, args.epochs, work)
                rows.append(f"| {name} | `{encoding}` | {cold['texts']:,} | {cold['seconds']:.1f} s "
                            f"| {cold['texts'] / cold['seconds']:.0f} | {score['mape']} | {score['r2']} |")
    print("| table | encoding | texts encoded (cold) | embedding time (cold) | texts/s "
          "| validation MAPE (weighted) | validation R² (weighted) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{args.seeds} seeds x {args.epochs} epochs per cell; command: python benchmarks/encodings.py "
          f"--seeds {args.seeds} --epochs {args.epochs}")


if __name__ == "__main__":
    main()
