"""Time, not only listings: the model and every baseline on a real city's panel of snapshots.

    python benchmarks/panel.py [--parts forward cv] [--until 2025-03] [--folds 5] [--epochs N --ensemble-size K]
                               [--baselines NAME ...] [--threads 1]

Albany's ten listings snapshots (``../shared/.../albany-panel``, 2023-07 to 2025-11) are built into
one table by the ETL (both engines build the same one; weights from the 2024-11 reviews file where
it covers the month, else the listings' own columns). Then, with the default training and the
same inputs (month and the year trend included) for the model and every baseline (the EBMs
included unless ``--baselines`` names fewer):

- a forward split (:func:`airbnb.evaluate.forward_validate`): trained on the snapshots up to
  ``--until``, tested on the later ones, with the error per test month;
- K-fold cross-validation grouped by listing (:func:`airbnb.evaluate.cross_validate`), with the
  error per snapshot month over all folds' test rows.

Writes the ``panel_forward`` and ``panel_cv`` sections of BENCHMARKS.md, each when done (skipped with a
note when ../shared is absent).
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from run import update_markdown  # benchmarks/run.py: BENCHMARKS.md sections with the machine line

from airbnb import etl, evaluate, train
from airbnb.baselines import BASELINES

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "insideairbnb"
PANEL, REVIEWS = SHARED / "albany-panel", SHARED / "albany-2024-11" / "reviews.csv.gz"
METRICS = ("mape_weighted", "rmse_weighted", "r2_weighted")


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def months_markdown(months: pd.DataFrame) -> list[str]:
    """Weighted MAPE per model (rows) and month (columns, with each month's rows)."""
    table = evaluate.month_summary(months)
    lines = ["| model | " + " | ".join(table.columns) + " |", "|---|" + "---|" * len(table.columns)]
    return lines + [f"| {model} | " + " | ".join(f"{v:.1f}%" for v in row) + " |" for model, row in table.iterrows()]


def table_line(summary: dict) -> str:
    return (f"Albany's ten snapshots 2023-07 to 2025-11 as one table: {summary['rows_out']:,} listing-months of "
            f"{summary['listings_out']} listings (weights: {summary['weight_method']['rows']}; the reduced 2024-01 "
            f"scrape's amenities from each listing's other snapshots: {list(summary['reduced_scrapes'].values())}; "
            f"{summary['parse_issues']['last_scraped_spreadsheet_date']} rows with spreadsheet dates read).")


def training_line(args) -> str:
    default = (args.epochs, args.ensemble_size) == (train.TrainConfig.epochs, train.TrainConfig.ensemble_size)
    threads = f" {args.threads} thread(s) for torch and the boosters;" if args.threads else ""
    return (f"Default training{'' if default else f' but at most {args.epochs} epochs and {args.ensemble_size} member(s)'};"
            f"{threads} the baselines ({', '.join(args.baselines)}) have the same inputs, month and year trend included.")


def forward_section(config: train.TrainConfig, args, summary: dict) -> str:
    started = time.perf_counter()
    forward = evaluate.forward_validate(config, args.until, baselines=args.baselines, num_threads=args.threads or None)
    seconds = time.perf_counter() - started
    print(forward.metrics[list(METRICS)], flush=True)
    fwd = forward.metrics.sort_values("mape_weighted")
    return "\n".join([
        "## A panel of snapshots, forward in time (`benchmarks/panel.py --parts forward`)", "",
        table_line(summary), training_line(args), "",
        f"Trained on the snapshots up to {args.until} ({forward.rows.get('train', 0)} train, "
        f"{forward.rows.get('validation', 0)} validation rows), tested on the later ones "
        f"({forward.rows.get('test', 0)} rows), in {seconds:.0f} s:", "",
        "| model | weighted MAPE | weighted RMSE | weighted R² |", "|---|---|---|---|",
        *(f"| {m} | {percent(r['mape_weighted'])} | ${r['rmse_weighted']:.1f} | {r['r2_weighted']:.3f} |"
          for m, r in fwd.iterrows()), "",
        "Per test month (weighted MAPE):", "", *months_markdown(forward.months), "",
        "Baselines' fit times: " + ", ".join(f"{name} {d['fit_seconds']:.0f} s" for name, d in forward.baselines.items())
        + "."])


def cv_section(config: train.TrainConfig, args, summary: dict) -> str:
    started = time.perf_counter()
    cv = evaluate.cross_validate(config, args.folds, baselines=args.baselines, progress=False,
                                 num_threads=args.threads or None)
    seconds = time.perf_counter() - started
    print(cv.summary(METRICS), flush=True)
    return "\n".join([
        f"## A panel of snapshots, {args.folds}-fold CV grouped by listing (`benchmarks/panel.py --parts cv`)", "",
        table_line(summary), training_line(args), "",
        f"Every snapshot; mean ± sd over the folds, in {seconds:.0f} s:", "",
        "| model | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS),
        *(f"| {m} | " + " | ".join(r) + " |" for m, r in cv.summary(METRICS).iterrows()), "",
        "Per snapshot month, over all folds' test rows (weighted MAPE):", "", *months_markdown(cv.months)])


PARTS = {"forward": forward_section, "cv": cv_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS),
                        help="each part writes its own section as soon as it is done")
    parser.add_argument("--until", default="2025-03", help="the forward split's last training month")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=train.TrainConfig.epochs,
                        help="at most this many epochs (fewer: a shorter run on a busy machine)")
    parser.add_argument("--ensemble-size", type=int, default=train.TrainConfig.ensemble_size)
    parser.add_argument("--baselines", nargs="+", default=list(BASELINES), choices=list(BASELINES),
                        help="the baselines fitted beside the model (default: every one)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for torch and the boosters (0: every core; 1 is faster on a busy machine)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "quality"),
                        help="the embedding cache is kept here between runs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.WARNING)
    if not PANEL.is_dir():
        print(f"skipping: {PANEL} not found (expected ../shared beside the repository)")
        return
    with tempfile.TemporaryDirectory(prefix="panel-") as work:
        table_path = Path(work) / "albany-panel.parquet"
        summary = etl.run_etl(PANEL, REVIEWS, table_path)
        config = train.configure(data_path=str(table_path), progress=False, cache_dir=str(Path(args.work) / "cache"),
                                 epochs=args.epochs, ensemble_size=args.ensemble_size, threads=args.threads)
        for part in args.parts:
            body = PARTS[part](config, args, summary)
            print(body, flush=True)
            update_markdown({f"panel_{part}": body})


if __name__ == "__main__":
    main()
