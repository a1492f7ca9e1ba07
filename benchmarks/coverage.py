"""Does the calibrated price range hold what it says? Empirical coverage on held-out listings.

    python benchmarks/coverage.py [--cities synthetic albany newark] [--folds 5]

- **synthetic**: the default run's test split (``make run``: the built-in 5,000-listing city,
  ``runs/default/artifacts``), scored by ``airbnb.evaluate.evaluate_run`` (``metrics.json``'s
  ``price_range``);
- **Albany, Newark** (from ../shared; skipped with a note when absent): a few hundred listings, so
  one test split is noise: K-fold cross-validation grouped by listing with the default training
  (the folds of ``airbnb.evaluate.cross_validate``). Each fold's model is calibrated on its own
  validation rows at the end of training, as every run is, and its range scored on the fold's
  test rows; the table gives the mean ± sd over the folds.

Coverage is the share of listed prices inside their range, weighted by occupancy (the target:
the calibration weights the same way) and unweighted. Writes the ``coverage`` section of
BENCHMARKS.md with the machine and this command.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from run import update_markdown  # benchmarks/run.py: BENCHMARKS.md sections with the machine line

from airbnb import etl, evaluate, train
from airbnb.artifacts import load_table
from airbnb.conformal import REPORTED, Calibration, coverage_report
from airbnb.evaluate_cv import fit_and_score

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "insideairbnb"
REAL = {"albany": ("Albany (2024-11)", SHARED / "albany-2024-11"),
        "newark": ("Newark (2025-09)", SHARED / "newark-2025-09")}
DEFAULT_RUN = REPO / "runs" / "default" / "artifacts"


def synthetic_test_split(artifacts: Path) -> dict | None:
    if not (artifacts / "model_config.json").is_file():
        print(f"skipping synthetic: no run in {artifacts} (make run trains it)", flush=True)
        return None
    scored = evaluate.evaluate_run(artifacts, baselines=[])
    report = scored.price_range
    rows = {f"{c:.2f}": (report["levels"][f"{c:.2f}"]["coverage_weighted"],
                         report["levels"][f"{c:.2f}"]["coverage_unweighted"],
                         report["levels"][f"{c:.2f}"]["median_high_over_low"]) for c in REPORTED}
    return {"label": "synthetic (default run, 5,000 listings x 12 months)", "how": "test split",
            "listings": int(scored.rows["listing_id"].nunique()), "rows": len(scored.rows),
            "calibration_rows": report["calibration_rows"], "levels": rows}


def cross_validated(city: str, folds: int, work: Path, cache: str) -> dict | None:
    label, folder = REAL[city]
    if not (folder / "listings.csv.gz").is_file():
        print(f"skipping {city}: {folder} not found (expected ../shared beside the repository)", flush=True)
        return None
    table_path = work / f"{city}.parquet"
    if not table_path.is_file():
        reviews = folder / "reviews.csv.gz"
        etl.run_etl([folder / "listings.csv.gz"], reviews if reviews.is_file() else None, table_path)
    table = load_table(table_path).reset_index(drop=True)
    config = train.configure(data_path=str(table_path), progress=False, cache_dir=cache)
    per_fold: dict[str, list[tuple[float, float, float]]] = {f"{c:.2f}": [] for c in REPORTED}
    calibration_rows = []
    for fold, splits in enumerate(train.cv_splits(table["listing_id"], folds, config.test_size)):
        started = time.perf_counter()
        out = work / f"{city}-fold-{fold}"
        # the CV's own fold (airbnb.evaluate_cv), so the model's inputs are built as every run builds them
        test_rows, prices, _ = fit_and_score(config, table, splits, out, baselines=[])
        calibration = Calibration.from_record(json.loads((out / "model_config.json").read_text())["calibration"])
        price = prices[evaluate.MODEL_NAME]
        listed, weights = test_rows["target_price"].to_numpy(), test_rows["estimated_occupancy_rate"].to_numpy()
        for coverage in REPORTED:
            low, high = calibration.interval(price, coverage)
            r = coverage_report(listed, low, high, weights, coverage)
            per_fold[f"{coverage:.2f}"].append((r["coverage_weighted"], r["coverage_unweighted"],
                                                r["median_high_over_low"]))
        calibration_rows.append(calibration.rows)
        print(f"  {city} fold {fold + 1}/{folds}: {len(test_rows)} test rows, 80% range holds "
              f"{100 * per_fold['0.80'][-1][0]:.1f}% (weighted) ({time.perf_counter() - started:.0f} s)", flush=True)
    return {"label": label, "how": f"{folds}-fold CV", "listings": int(table["listing_id"].nunique()),
            "rows": len(table), "calibration_rows": int(np.mean(calibration_rows)),
            "levels": {k: tuple(zip(*v)) for k, v in per_fold.items()}}


def cell(value) -> str:
    """A share in percent: one value, or mean ± sd over folds."""
    if isinstance(value, tuple):
        return f"{100 * np.mean(value):.1f}% ± {100 * np.std(value, ddof=1):.1f}"
    return f"{100 * value:.1f}%"


def ratio_cell(ratio) -> str:
    """The median high / low over folds; a fold too small to bound the range (∞) is counted."""
    if not isinstance(ratio, tuple):
        return "∞ (too few calibration rows)" if np.isinf(ratio) else f"{ratio:.2f}"
    unbounded = int(np.isinf(ratio).sum())
    finite = [r for r in ratio if np.isfinite(r)]
    text = f"{np.median(finite):.2f}" if finite else "∞"
    return text + (f" (∞ in {unbounded} of {len(ratio)} folds: too few calibration rows)" if unbounded else "")


def markdown(results: list[dict]) -> str:
    lines = ["## Calibrated price range: coverage on held-out listings (`benchmarks/coverage.py`)", "",
             "The range `[price_low, price_high]` of `PricePredictor` (`airbnb.conformal`: weighted split-conformal "
             "on log price, calibrated on the run's validation rows at the end of training, weights = occupancy). "
             "Coverage = the share of held-out listed prices inside their range, weighted by occupancy (what the "
             "calibration targets) and unweighted; *high / low* is the median ratio of the range's ends (over the "
             "folds: the median of the folds' medians; a fold whose validation rows weigh too little for that coverage, "
             "`Σw / (Σw + 1) < coverage`, gives the honest unbounded range `[0, ∞)`). Synthetic: "
             "the default run's test split (`make run`); Albany and Newark: 5-fold cross-validation grouped by "
             "listing with the default training, each fold's model calibrated on its own validation rows and scored "
             "on its test rows, mean ± sd over the folds. Target for the 80% range: 80% ± 5 points.", "",
             "| city | scored on | listings | calibration rows | nominal | coverage (weighted) | coverage (unweighted) "
             "| high / low |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for level, (weighted, unweighted, ratio) in r["levels"].items():
            nominal = f"**{float(level):.0%}**" if level == "0.80" else f"{float(level):.0%}"
            coverage = f"**{cell(weighted)}**" if level == "0.80" else cell(weighted)
            ratio_text = ratio_cell(ratio)
            lines.append(f"| {r['label']} | {r['how']} | {r['listings']:,} | {r['calibration_rows']:,} | {nominal} "
                         f"| {coverage} | {cell(unweighted)} | {ratio_text} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", nargs="+", default=["synthetic", *REAL], choices=["synthetic", *REAL])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--artifacts", default=str(DEFAULT_RUN), help="the synthetic run (make run's)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "coverage"), help="scratch folder")
    parser.add_argument("--cache-dir", default="",
                        help="embedding cache (default: the user's, so no amenity text is encoded twice)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.ERROR)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for city in args.cities:
        print(f"== {city}", flush=True)
        if city == "synthetic":
            result = synthetic_test_split(Path(args.artifacts))
        else:
            with tempfile.TemporaryDirectory(prefix="coverage-", dir=work) as folds:
                result = cross_validated(city, args.folds, Path(folds), args.cache_dir)
        if result is not None:
            results.append(result)
            print("\n".join(markdown([result]).splitlines()[-len(result["levels"]):]), flush=True)
    body = markdown(results)
    print(body)
    update_markdown({"coverage": body})


if __name__ == "__main__":
    main()
