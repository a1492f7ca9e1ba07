"""Quality bar: the additive model's test metrics next to the baselines, per city.

    python benchmarks/quality.py [--seeds 3] [--targets price log_price]

Runs the one-command pipeline (process -> train -> evaluate notebooks) for the default synthetic
city (params/default.yaml) and for Albany (../shared, when present) with each seed and each
training target, and prints the test-split weighted MAPE / RMSE of every model (mean ± sd over
seeds) as markdown. Baselines do not depend on the target; they are listed once.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from airbnb import run

REPO = Path(__file__).resolve().parents[1]
ALBANY = REPO.parent / "shared" / "data" / "insideairbnb" / "albany-2024-11"


def cities(work: Path) -> dict[str, dict]:
    found = {"synthetic default city": yaml.safe_load((REPO / "params" / "default.yaml").read_text())}
    if ALBANY.is_dir():
        found["Albany (real, 2024-11)"] = {**found["synthetic default city"],
                                          "listings": str(ALBANY / "listings.csv.gz"),
                                          "reviews": str(ALBANY / "reviews.csv.gz"),
                                          "data_path": str(work / "albany.parquet")}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--targets", nargs="+", default=["price"], choices=["price", "log_price"])
    args = parser.parse_args()
    lines = ["| city | model | test rows | weighted MAPE | weighted RMSE ($) | weighted R² |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for city, params in cities(work).items():
            scores: dict[str, list] = {}
            for target in args.targets:
                for seed in range(args.seeds):
                    path = work / "params.yaml"
                    path.write_text(yaml.safe_dump({**params, "seed": seed, "target": target}))
                    metrics = json.loads((run.run(path, work / f"run-{seed}") / "metrics.json").read_text())
                    for model, values in metrics["models"].items():
                        if model == "additive_axis_model":
                            model = f"additive_axis_model (target {target})"
                        elif target != args.targets[0]:
                            continue
                        scores.setdefault(model, []).append(
                            (values["mape_weighted"], values["rmse_weighted"], values["r2_weighted"]))
            for model, values in scores.items():
                mape, rmse, r2 = np.array(values).T
                lines.append(f"| {city} | {model} | {metrics['rows']:,} | {100 * mape.mean():.1f}% ± {100 * mape.std():.1f} "
                             f"| {rmse.mean():.1f} ± {rmse.std():.1f} | {r2.mean():.3f} |")
    print("\n".join(lines))
    print(f"\n{args.seeds} seeds (model init and batch order; split fixed); command: python benchmarks/quality.py "
          f"--seeds {args.seeds} --targets {' '.join(args.targets)}")


if __name__ == "__main__":
    main()
