"""Is a cross-validation gap the model's, or the luck of one fold assignment?

    python benchmarks/fold_assignments.py [--cities albany-2024-11 newark-2025-09] [--assignments 6]

Per city, 5-fold grouped CV (``airbnb.evaluate.cross_validate``) repeated over several fold
assignments (``random_state`` 42, the one ``benchmarks/quality.py`` reports, then 1, 2, ...): the
default model, the network alone (``--tree-share 0``) and LightGBM, each on the same folds. The
table gives each assignment's weighted MAPE, and the mean difference to LightGBM with its standard
error over the assignments, so a gap of a tenth of a point is read against its noise. Section
``fold_assignments`` of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from quality import REPO, measurable, real_cities  # benchmarks/quality.py: the cities and their tables
from run import publish, work_folder

from airbnb import evaluate, train

ASSIGNMENTS = (42, 1, 2, 3, 4, 5, 6, 7, 8, 9)
LEARNERS = {"model": {}, "network alone": {"tree_share": 0.0}}


def city_rows(table: Path, assignments: int, cache: Path) -> list[dict]:
    """Per fold assignment: each learner's mean weighted MAPE over the folds (in %)."""
    rows = []
    for seed in ASSIGNMENTS[:assignments]:
        row = {"assignment": seed}
        for i, (name, change) in enumerate(LEARNERS.items()):
            config = train.configure(data_path=str(table), progress=False, cache_dir=str(cache), **change)
            cv = evaluate.cross_validate(config, 5, baselines=["lightgbm"] if i == 0 else [], progress=False,
                                         random_state=seed)
            means = cv.mean["mape_weighted"]
            row[name] = 100 * means[evaluate.MODEL_NAME]
            if i == 0:
                row["lightgbm"] = 100 * means["lightgbm"]
        print(f"  assignment {seed}: " + ", ".join(f"{k} {v:.2f}%" for k, v in row.items() if k != "assignment"),
              flush=True)
        rows.append(row)
    return rows


def markdown(results: dict[str, list[dict]]) -> str:
    names = [*LEARNERS, "lightgbm"]
    lines = ["## Accuracy over several fold assignments (`benchmarks/fold_assignments.py`)", "",
             "5-fold grouped CV weighted MAPE per fold assignment (`random_state`; 42 is the one the tables "
             "above use), each learner on the same folds. Below each city: the mean over the assignments and "
             "the mean difference to LightGBM ± its standard error (negative: ahead of LightGBM).", "",
             "| city | assignment | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for label, rows in results.items():
        for row in rows:
            lines.append(f"| {label} | {row['assignment']} | " + " | ".join(f"{row[n]:.2f}%" for n in names) + " |")
        mean = {n: np.mean([r[n] for r in rows]) for n in names}
        lines.append(f"| {label} | mean | " + " | ".join(f"**{mean[n]:.2f}%**" for n in names) + " |")
        cells = []
        for n in LEARNERS:
            diff = np.array([r[n] - r["lightgbm"] for r in rows])
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            ahead = int((diff <= 0).sum())
            cells.append(f"{diff.mean():+.2f} ± {se:.2f} (at or ahead on {ahead} of {len(diff)})")
        lines.append(f"| {label} | − LightGBM | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    found = list(real_cities())
    parser.add_argument("--cities", nargs="+", default=found, choices=[*found, "synthetic"])
    parser.add_argument("--assignments", type=int, default=6, choices=range(1, len(ASSIGNMENTS) + 1))
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "quality"),
                        help="tables and the embedding cache (shared with benchmarks/quality.py)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    work = work_folder(args.work)
    started, results, skipped = time.perf_counter(), {}, {}
    for _, label, table in measurable(args.cities, work, skipped):
        print(label, flush=True)
        results[label] = city_rows(table, args.assignments, work / "cache")
    publish("fold_assignments", markdown(results), started, not args.no_write)


if __name__ == "__main__":
    main()
