"""The own-city params route against cross-validation: is its test split's figure the model's,
or the luck of which listings the split holds?

    python benchmarks/own_city_route.py [--cities albany-2024-11 newark-2025-09]

Per real city, as a new user runs it: a params file naming only ``listings`` (and ``reviews``),
``data_path``, ``run_dir`` and ``seed``, then ``python -m airbnb.run params.yaml`` (every other
setting the notebooks' default; its test split is the run's 20% of listings, trained on what a CV
fold trains on). Then 5-fold grouped CV (``airbnb.evaluate.cross_validate``) of the default model
and LightGBM on the table that run built. The table gives per learner: the route's test split, the
CV figure (the mean over the folds), the folds' own lowest and highest (each fold's test split is
one such 20% of the listings: how far one split's figure moves), and the CV's out-of-fold prices of
the route's own test listings, which the folds' models never saw. When the last is as far from the
CV figure as the route is, the distance is those listings', not the route's. Section
``own_city_route`` of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from quality import REPO, real_cities  # benchmarks/quality.py: the real cities under ../shared
from run import publish, work_folder

from airbnb import evaluate, train
from airbnb.artifacts import METRICS, read_splits
from airbnb.io import read_json
from airbnb.metrics import regression_metrics

LEARNERS = {"model": evaluate.MODEL_NAME, "lightgbm": "lightgbm"}
SEED = 42
FOLDS = 5  # the CV beside the route: each fold tests 1/FOLDS of the listings
SHARE = train.TrainConfig().holdout_size  # the route's test split: the notebooks' default


def route(city: str, listings: list[Path], reviews: Path | None, work: Path) -> tuple[Path, Path, float]:
    """Run the own-city params route on ``city``'s files: (its run folder, its table, seconds taken)."""
    run_dir, table = work / "runs" / city, work / f"{city}.route.parquet"
    params = {"run_dir": str(run_dir), "listings": [str(p) for p in listings], "data_path": str(table),
              "seed": SEED, **({"reviews": str(reviews)} if reviews else {})}
    path = work / f"{city}.route.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "airbnb.run", str(path)], cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"python -m airbnb.run {path} failed:\n{done.stderr[-3000:]}")
    return run_dir, table, time.perf_counter() - started


def weighted_mape(rows: pd.DataFrame, column: str) -> float:
    return 100 * regression_metrics(rows["target_price"], rows[column], rows["estimated_occupancy_rate"])["mape"]


def city_row(city: str, listings: list[Path], reviews: Path | None, work: Path) -> dict:
    """The route's test figures, the CV figures and the CV's prices of the route's test listings (in %)."""
    run_dir, table, seconds = route(city, listings, reviews, work)
    metrics = read_json(run_dir / METRICS)
    splits = read_splits(metrics["data"]["artifacts"])  # where the run says its artifacts are
    tested = set(splits.loc[splits["split"] == "test", "listing_id"])
    config = train.configure(data_path=str(table), progress=False)
    cv = evaluate.cross_validate(config, FOLDS, baselines=["lightgbm"], progress=False)
    same = cv.predictions[cv.predictions["listing_id"].isin(tested)]
    row = {"listings": len(tested), "seconds": seconds}
    for name, column in LEARNERS.items():
        row[f"route {name}"] = 100 * metrics["models"][column]["mape_weighted"]
        row[f"cv {name}"] = 100 * cv.mean.loc[column, "mape_weighted"]
        folds = 100 * cv.folds.loc[cv.folds["model"] == column, "mape_weighted"]
        row[f"folds {name}"] = f"{folds.min():.2f}–{folds.max():.2f}%"
        row[f"same {name}"] = weighted_mape(same, column)
    print("  " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    return row


def markdown(results: dict[str, dict]) -> str:
    lines = ["## The own-city params route against cross-validation (`benchmarks/own_city_route.py`)", "",
             "Weighted MAPE. *Route*: `python -m airbnb.run params.yaml` with a params file naming only the "
             "city's files, `data_path`, `run_dir` and `seed: 42`; its test split is "
             f"{SHARE:.0%} of the listings. *CV*: {FOLDS}-fold grouped cross-validation of the same table, the mean "
             f"over the folds; *CV folds*: the lowest and highest fold, each a test split of {1 / FOLDS:.0%} of the listings "
             "like the route's, so how far one split's figure moves with the listings it holds. *CV, the "
             "route's test listings*: the CV's out-of-fold prices of exactly the listings the route tested, "
             "each priced by a fold's models that never saw it. Route − CV is how far the route lands from "
             "the CV figure; route − (CV, same listings) is what is left once both price the same listings.", "",
             "| city | learner | route's test listings | route | CV | CV folds | CV, the route's test listings | "
             "route − CV | route − (CV, same listings) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, row in results.items():
        for name in LEARNERS:
            route_, cv, same = row[f"route {name}"], row[f"cv {name}"], row[f"same {name}"]
            lines.append(f"| {label} | {name} | {row['listings']} | {route_:.2f}% | {cv:.2f}% | {row[f'folds {name}']} | {same:.2f}% | "
                         f"{route_ - cv:+.2f} | {route_ - same:+.2f} |")
    lines.append("")
    lines += [f"- {label}: the route took {row['seconds']:.0f} s (ETL, training, evaluation and report)."
              for label, row in results.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    found = real_cities()
    # one snapshot each by default: a sample's few dozen listings leave no test split to read, and a
    # panel's listings are split across its months (benchmarks/panel.py measures panels)
    parser.add_argument("--cities", nargs="+", default=[c for c in found if not c.endswith(("-panel", "-sample"))],
                        choices=list(found))
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "route"),
                        help="the routes' tables, params files and run folders")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    work = work_folder(args.work)  # also keeps the routes' subprocesses offline (HF_HUB_OFFLINE)
    started, results = time.perf_counter(), {}
    for city in args.cities:
        label, listings, reviews = found[city]
        print(label, flush=True)
        results[label] = city_row(city, listings, reviews, work)
    publish("own_city_route", markdown(results), started, not args.no_write)


if __name__ == "__main__":
    main()
