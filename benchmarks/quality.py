"""Accuracy benchmark: the model against every baseline on real and synthetic cities.

    python benchmarks/quality.py [--cities albany-2024-11 newark-2025-09 synthetic] [--folds 5] [--seeds 3]
                                 [--presets default original] [--baselines ...] [--ablation]

Per city:
- K-fold cross-validation grouped by listing (``airbnb.evaluate.cross_validate``) of each training
  preset and of every baseline (LightGBM, HistGradientBoosting and ridge on log price, the
  weighted mean, and InterpretML's EBM with and without pairs), mean ± sd over the folds;
- the plain command's split (``python -m airbnb.train --test-share 0.2``, seeds 0..N-1):
  the model's test metrics next to the baselines fitted on the same train/validation rows.

The real cities are every folder of ../shared/data/insideairbnb holding a listings file (or
snapshot folders holding them), found by :func:`real_cities`; one whose table cannot be built or
cross-validated is skipped with its reason in the output. The synthetic city is a
500-listing, 12-month city with multiplicative heavy-tailed prices (the package default) whose
listings without reviews yet are $20 of quality cheaper (``--new-listing-discount 20``). The
figures go to the ``quality`` section of BENCHMARKS.md with the machine and this command.
``--ablation`` instead cross-validates the model with each changed default set back to its
original value, one at a time (section ``quality_ablation``).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from run import machine, publish, work_folder  # benchmarks/run.py: the machine line and BENCHMARKS.md sections

from airbnb import etl, evaluate, train
from airbnb.baselines import BASELINES
from airbnb.errors import UserError
from airbnb.synthetic import CityConfig, generate_city

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "insideairbnb"
SYNTHETIC = CityConfig(n_listings=500, seed=7, new_listing_discount=20.0)
HEADLINE = "mape_weighted"
# Baselines whose fit grows steeply with the rows: one EBM fit took 20 s on Newark's 1,365 rows and
# 1,106 s on the synthetic city's 4,850 here (2 cores), x (folds + seeds) x 2 per city.
SLOW = ("ebm", "ebm_interactions")


def _first(folder: Path, name: str) -> Path | None:
    return next((p for p in (folder / f"{name}.csv.gz", folder / f"{name}.csv") if p.is_file()), None)


def real_cities(root: Path = SHARED) -> dict[str, tuple[str, list[Path], Path | None]]:
    """Folder name -> (label, listings files, reviews file or None) for every Inside Airbnb dump
    under ``root``: a folder with its own listings file, or with snapshot folders that have one."""
    cities = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        own = _first(folder, "listings")
        listings = [own] if own else [f for f in (_first(d, "listings") for d in sorted(folder.iterdir())
                                                  if d.is_dir()) if f]
        if listings:
            city, _, rest = folder.name.partition("-")
            name = city.upper() if len(city) <= 3 else city.title()  # nyc -> NYC, albany -> Albany
            label = f"{name} ({rest})" if rest else name
            cities[folder.name] = (label, listings, _first(folder, "reviews"))
    return cities


class Skipped(Exception):
    """A city this benchmark cannot measure; the message says why."""


def build_table(city: str, work: Path) -> tuple[str, Path]:
    """The city's modeling table in ``work`` (built once); :class:`Skipped` when its raw files are
    absent or the ETL refuses them."""
    out = work / f"{city}.parquet"
    if city == "synthetic":
        label = f"synthetic ({SYNTHETIC.n_listings} listings x 12 months, multiplicative)"
        built_from = work / "synthetic.city.json"  # the city config the table was built from
        config = json.dumps(asdict(SYNTHETIC), sort_keys=True)
        if not out.is_file() or not built_from.is_file() or built_from.read_text() != config:
            files = generate_city(work / "synthetic-city", SYNTHETIC, progress=False)
            etl.run_etl(files.root, files.reviews, out)
            built_from.write_text(config)
        return label, out
    found = real_cities()
    if city not in found:
        raise Skipped(f"not found in {SHARED} (expected ../shared beside the repository)")
    label, listings, reviews = found[city]
    if not out.is_file():
        try:
            etl.run_etl(listings, reviews, out)
        except UserError as exc:
            raise Skipped(f"the ETL refused it: {exc}") from exc
    return label, out


def measurable(cities: list[str], work: Path, skipped: dict[str, str]):
    """(city, label, table) of each city whose table can be built; the others into ``skipped``."""
    for city in cities:
        try:
            yield city, *build_table(city, work)
        except Skipped as exc:
            skipped[city] = str(exc)
            print(f"skipping {city}: {exc}", flush=True)


def cross_validation(table: Path, presets: list[str], folds: int, cache: Path,
                     baselines: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and sd over the folds per model (the presets' models, then the baselines), and the
    first preset's and the baselines' metrics per review bucket over all folds' test rows."""
    frames, cold_start = [], None
    for i, preset in enumerate(presets):
        config = train.configure(preset, data_path=str(table), progress=False, cache_dir=str(cache))
        cv = evaluate.cross_validate(config, folds, baselines=baselines if i == 0 else [], progress=False)
        summary = cv.summary(("mape_weighted", "rmse_weighted", "r2_weighted"))
        summary[HEADLINE + "_mean"] = cv.mean[HEADLINE]
        frames.append(summary.rename(index={evaluate.MODEL_NAME: f"model, preset {preset}"}))
        cold_start = cv.cold_start if cold_start is None else cold_start
    return pd.concat(frames).sort_values(HEADLINE + "_mean", kind="stable"), cold_start


# Levers measured and not made defaults (issue "accuracy II"): each added to the defaults alone.
LEVERS = {
    "half the axes from the trees (`--tree-share 0.5`)": {"tree_share": 0.5},
    "L1 loss of log price (`--loss l1`)": {"loss": "l1"},
    "Huber loss of log price (`--loss huber`)": {"loss": "huber"},
    "five members (`--ensemble-size 5`)": {"ensemble_size": 5},
    "16 members (`--ensemble-size 16`)": {"ensemble_size": 16},
    "distilled from LightGBM (`--distill 0.5`)": {"distill": 0.5},
    "batch 32 (`--batch-size 32`)": {"batch_size": 32},
    "three hidden layers (`--hidden-layers 3`)": {"hidden_layers": 3},
    "cosine schedule, 5 warm-up epochs": {"lr_schedule": "cosine", "warmup_epochs": 5},
    "patience 40 (`--early-stopping-patience 40`)": {"early_stopping_patience": 40},
    "weight averaging (`--weight-average 0.99`)": {"weight_average": 0.99},
}
# Each changed default set back to its SPEC value (the 'original' preset), one at a time.
ABLATIONS = {
    "no axis trees, the network alone (`--tree-share 0`)": {"tree_share": 0.0},
    "squared error of log price (`--loss mse`)": {"loss": "mse"},
    "dollar target (`--target price --loss mse --tree-share 0`)": {"target": "price", "loss": "mse", "tree_share": 0.0},
    "10 epochs, no early stopping": {"epochs": 10, "early_stopping_patience": 0},
    "no amenity indicators (`--no-amenities-multihot`)": {"amenities_multihot": False},
    "one model (`--ensemble-size 1`)": {"ensemble_size": 1},
    "no weight decay (`--weight-decay 0`)": {"weight_decay": 0.0},
    "one hidden layer (`--hidden-layers 1`)": {"hidden_layers": 1},
    "SPEC's location octaves (`--location-first-octave 0`)": {"location_first_octave": 0},
}


def ablation(table: Path, folds: int, cache: Path) -> dict[str, str]:
    """The model's CV weighted MAPE with the defaults and with each change of ABLATIONS."""
    cells = {}
    for label, change in {"defaults": {}, **ABLATIONS, **LEVERS}.items():
        config = train.configure(data_path=str(table), progress=False, cache_dir=str(cache), **change)
        cv = evaluate.cross_validate(config, folds, baselines=[], progress=False)
        cells[label] = cv.summary(("mape_weighted",)).loc[evaluate.MODEL_NAME, "mape_weighted"]
        print(f"  {label}: {cells[label]}", flush=True)
    return cells


def ablation_markdown(results: dict[str, dict[str, str]], folds: int) -> str:
    cities = list(results)
    lines = ["## Accuracy: what each changed default buys (`benchmarks/quality.py --ablation`)", "",
             f"The default model's {folds}-fold grouped CV weighted MAPE (mean ± sd over the folds), and the same "
             "with one default set back to its original (SPEC §5–§6) value, or with one lever that was tried and "
             "not made a default (the rows after SPEC's location octaves).", "",
             "| configuration | " + " | ".join(cities) + " |", "|---|" + "---|" * len(cities)]
    for label in results[cities[0]]:
        lines.append(f"| {label} | " + " | ".join(results[c][label] for c in cities) + " |")
    return "\n".join(lines)


def holdout(table: Path, seeds: int, cache: Path, work: Path,
            baselines: list[str]) -> tuple[pd.DataFrame, list[float], int]:
    """The plain command's split, per seed: weighted MAPE of the model and each baseline; training seconds."""
    rows, seconds = [], []
    for seed in range(seeds):
        out = work / f"holdout-{table.stem}-{seed}"
        config = train.configure(data_path=str(table), output_dir=str(out), holdout_size=0.2, seed=seed,
                                 progress=False, cache_dir=str(cache))
        result = train.train(config)
        seconds.append(json.loads((result.output_dir / "model_config.json").read_text())["seconds"])
        scored = evaluate.evaluate_run(out, baselines=baselines, seed=seed, cache_dir=cache)
        rows.append(scored.metrics[HEADLINE].rename(seed))
    return pd.DataFrame(rows), seconds, len(scored.rows)


def chosen_baselines(baselines: list[str], table: Path, slow_max_rows: int) -> tuple[list[str], list[str]]:
    """The baselines to fit on ``table``, and the SLOW ones left out because it has more rows."""
    if not slow_max_rows or pd.read_parquet(table, columns=["listing_id"]).shape[0] <= slow_max_rows:
        return baselines, []
    return [b for b in baselines if b not in SLOW], [b for b in baselines if b in SLOW]


def verdict(cv: pd.DataFrame) -> str:
    """The default model's CV weighted MAPE against the best baseline's, said plainly."""
    means = cv[HEADLINE + "_mean"]
    model = means[[m.startswith("model, preset default") for m in means.index]].iloc[0]
    baselines = means[[not m.startswith("model,") for m in means.index]]
    best, gap = baselines.idxmin(), 100 * (model - baselines.min())
    return (f"the model is {'ahead of' if gap <= 0 else 'behind'} the best baseline (`{best}`) by "
            f"{abs(gap):.2f} points")


def markdown(results: dict, args: argparse.Namespace) -> str:
    fitted = args.baselines  # the columns: the baselines this run fitted
    lines = ["## Accuracy: the model against every baseline (`benchmarks/quality.py`)", "",
             f"{args.folds}-fold cross-validation grouped by listing (`airbnb.evaluate.cross_validate`): every "
             "listing is tested once; of the rest, 20% of all listings validate (early stopping of the model and "
             "of the boosters) and the others train. Mean ± sd over the folds; weighted = by estimated "
             "occupancy. Baselines: " + ", ".join(f"`{b}`" for b in fitted) + " (`airbnb.baselines`, all on "
             "log price but the mean, which is geometric"
             + (", and `lightgbm_mape`, fitted to MAPE on dollars)." if "lightgbm_mape" in fitted else ")."), "",
             "| city | model | weighted MAPE | weighted RMSE ($) | weighted R² |", "|---|---|---|---|---|"]
    for label, res in results.items():
        for model, row in res["cv"].iterrows():
            name = f"**{model}**" if model.startswith("model, preset default") else model
            lines.append(f"| {label} | {name} | {row['mape_weighted']} | {row['rmse_weighted']} "
                         f"| {row['r2_weighted']} |")
    lines += ["", *(f"- {label}: {verdict(res['cv'])}." for label, res in results.items())]
    left = {label: res["left_out"] for label, res in results.items() if res["left_out"]}
    if left:
        lines += ["", "Not fitted (`--slow-max-rows " + str(args.slow_max_rows) + "`, a dash below): "
                  + "; ".join(f"{', '.join(f'`{b}`' for b in out)} on {label}" for label, out in left.items())
                  + "."]
    if args.skipped:
        lines += ["", "Skipped: " + "; ".join(f"{city} ({why})" for city, why in args.skipped.items()) + "."]
    lines += ["", f"The plain command's split (`python -m airbnb.train --data-path T --output-dir O "
              f"--test-share 0.2`, seeds 0–{args.seeds - 1}, then `airbnb.evaluate.evaluate_run`): test-split "
              "weighted MAPE per seed, the baselines fitted on the same training rows and early-stopped on the "
              "same validation rows; training time is the default model's whole `train()` per seed.", "",
              "| city | test rows | model | " + " | ".join(f"`{b}`" for b in fitted)
              + " | model ≤ LightGBM on every seed | training time |",
              "|---|---|---|" + "---|" * len(fitted) + "---|---|"]
    for label, res in results.items():
        table = res["holdout"]
        cell = lambda name: " / ".join(f"{100 * v:.2f}%" for v in table[name]) if name in table else "—"  # noqa: E731
        wins = bool((table[evaluate.MODEL_NAME] <= table["lightgbm"]).all())
        lines.append(f"| {label} | {res['test_rows']} | {cell(evaluate.MODEL_NAME)} | "
                     + " | ".join(cell(b) for b in fitted)
                     + f" | {'yes' if wins else '**no**'} | {' / '.join(f'{s:.0f} s' for s in res['seconds'])} |")
    lines += ["", "New listings: the same cross-validation's test rows (every listing once) by reviews in the last "
              "12 months; `0` are listings without recent reviews, whose scores the ETL imputes (a real city's "
              "table has almost none: its occupancy weight needs recent reviews). Weighted MAPE, default preset.",
              "", "| city | reviews (12 months) | listing-months | model | " + " | ".join(f"`{b}`" for b in fitted)
              + " |", "|---|---|---|---|" + "---|" * len(fitted)]
    for label, res in results.items():
        cold = res["cold_start"]
        for bucket in cold.loc[evaluate.MODEL_NAME].index:
            cells = [f"{100 * cold.loc[(m, bucket), HEADLINE]:.2f}%" if (m, bucket) in cold.index else "—"
                     for m in [evaluate.MODEL_NAME, *fitted]]
            lines.append(f"| {label} | {bucket} | {int(cold.loc[(evaluate.MODEL_NAME, bucket), 'n_rows'])} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    found = [*real_cities(), "synthetic"]
    parser.add_argument("--cities", nargs="+", default=found, choices=found,
                        help="default: every real city found in ../shared, and the synthetic one")
    parser.add_argument("--baselines", nargs="+", default=list(BASELINES), choices=list(BASELINES))
    parser.add_argument("--slow-max-rows", type=int, default=0,
                        help=f"fit {', '.join(SLOW)} only on tables of at most this many rows (0: on every "
                             "table); the output says where they were left out")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the plain command's split")
    parser.add_argument("--presets", nargs="+", default=["default", "original"], choices=sorted(train.PRESETS))
    parser.add_argument("--work", default=str(REPO / "data" / "bench" / "quality"),
                        help="tables and the embedding cache are kept here between runs")
    parser.add_argument("--ablation", action="store_true",
                        help="instead: the model's CV with each changed default set back, one at a time")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    args.skipped = {}
    work = work_folder(args.work)
    cache = work / "cache"
    results = {}
    started = time.perf_counter()
    if args.ablation:
        for _, label, table in measurable(args.cities, work, args.skipped):
            print(label, flush=True)
            results[label] = ablation(table, args.folds, cache)
        publish("quality_ablation", ablation_markdown(results, args.folds), started, not args.no_write)
        return
    with tempfile.TemporaryDirectory(prefix="quality-") as scratch:
        for city, label, table in measurable(args.cities, work, args.skipped):
            t0 = time.perf_counter()
            baselines, left_out = chosen_baselines(args.baselines, table, args.slow_max_rows)
            try:
                cv, cold_start = cross_validation(table, args.presets, args.folds, cache, baselines)
                scores, seconds, test_rows = holdout(table, args.seeds, cache, Path(scratch), baselines)
            except UserError as exc:  # e.g. too few listings for K folds
                args.skipped[city] = str(exc)
                print(f"skipping {city}: {exc}", flush=True)
                continue
            results[label] = {"cv": cv, "cold_start": cold_start, "holdout": scores, "seconds": seconds,
                              "test_rows": test_rows, "left_out": left_out}
            print(f"{label}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    (work / "results.json").write_text(json.dumps(
        {label: {"cv": res["cv"].to_dict(orient="index"), "holdout": res["holdout"].to_dict(orient="list"),
                 "cold_start": res["cold_start"].reset_index().to_dict(orient="records"),
                 "seconds": res["seconds"], "test_rows": res["test_rows"]} for label, res in results.items()},
        indent=1))  # the raw figures, for other tables (the README's)
    publish("quality", markdown(results, args), started, not args.no_write)
    print(f"\n{machine()}")


if __name__ == "__main__":
    main()
