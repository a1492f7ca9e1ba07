"""A run's one-page HTML report: the headline error against the best baseline, which figure to
trust and why, what the ETL kept, per-neighbourhood medians, and where every output is.

    python -m airbnb.report runs/albany     # rewrites runs/albany/report.html from the run's files

:mod:`airbnb.run` writes it at the end of every run that evaluates. The page is static (no script,
no server): it opens from the file system, and every figure on it comes from the run's
``metrics.json``, ``manifest.json`` and the table's summary, so it never disagrees with them.
Each headline number also carries its raw value in a ``data-value`` attribute, for machines.
"""
from __future__ import annotations

import argparse
import html
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .artifacts import METRICS, load_table, read_splits
from .cli import description
from .errors import UserError, command_line
from .etl import summary_path, zero_weight_note
from .evaluate import CV_FOLDS, MODEL_NAME, Verdict, verdict
from .io import atomic_path, read_json
from .log import get_logger, quiet, setup_logging
from .metrics import percent_html, readable_table
from .predict import PricePredictor
from .schema import ROW_KEY

log = get_logger(__name__)

REPORT = "report.html"
MANIFEST = "manifest.json"  # the run's record (airbnb.run writes it)
TOP_NEIGHBOURHOODS = 30  # rows of the medians table: the neighbourhoods with the most listings

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.headline{font-size:1.25rem;background:#f3f6fa;padding:.8rem 1rem;border-left:4px solid #2a6fdb}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}code{background:#f4f4f4;padding:0 .2rem}"""


class ReportError(UserError, RuntimeError):
    """A run folder the report cannot be made from; the message names the missing file."""


def write_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` (atomically) from the run's files; returns its path."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / METRICS
    if not metrics_path.is_file():
        raise ReportError(f"no {METRICS} in {run_dir}: the report needs a run that reached its evaluate stage")
    manifest = read_json(run_dir / MANIFEST) if (run_dir / MANIFEST).is_file() else {}
    metrics = read_json(metrics_path)
    page = render(run_dir, metrics, manifest, neighbourhood_medians(metrics))
    path = run_dir / REPORT
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def neighbourhood_medians(metrics: dict) -> pd.DataFrame:
    """Per neighbourhood: listings, median listed and recommended price, and the median absolute
    error in % on the test split's listings (those the model never trained on)."""
    artifacts = metrics["data"]["artifacts"]
    with quiet("airbnb.predict", "airbnb.embeddings", level=logging.ERROR):  # evaluation said it all already
        predictor = PricePredictor.load(artifacts)
        table = load_table(metrics["data"]["path"], predictor.config["train_config"].get("cities", []))
        prices = predictor.predict_table(table)["recommended_price"].to_numpy()
    rows = table[[*ROW_KEY, "neighbourhood_cleansed", "target_price"]].assign(recommended=prices)
    rows = rows.merge(read_splits(artifacts), on=ROW_KEY, how="left")
    rows["test_error"] = np.where(rows["split"] == "test",
                                  (rows["recommended"] - rows["target_price"]).abs() / rows["target_price"] * 100, np.nan)
    grouped = rows.groupby("neighbourhood_cleansed")
    out = pd.DataFrame({"listings": grouped["listing_id"].nunique(),
                        "median listed $": grouped["target_price"].median(),
                        "median recommended $": grouped["recommended"].median(),
                        "median error on test listings %": grouped["test_error"].median()})
    return out.sort_values(["listings", "median listed $"], ascending=False).rename_axis("neighbourhood")


def render(run_dir: Path, metrics: dict, manifest: dict, medians: pd.DataFrame) -> str:
    """The report's HTML (pure: from the run's records, for tests too)."""
    name = run_dir.name
    shown = medians.head(TOP_NEIGHBOURHOODS)
    sections = [
        f"<h1>{_e(name)}: nightly price model report</h1>",
        f"<p>Run <code>{_e(run_dir)}</code>, started {_e(manifest.get('started', '?'))}, "
        f"status <b>{_e(manifest.get('status', '?'))}</b>.</p>",
        *_verdict(metrics),
        _single_split(run_dir, metrics, manifest),
        _models(metrics),
        "<h2>What the data held</h2>", _data(metrics),
        f"<h2>Per neighbourhood ({_count(len(shown), len(medians))})</h2>",
        "<p>Listed and recommended prices are medians over every listing-month of the table (most were "
        "trained on); the error column uses only the test split's listings, never trained on.</p>",
        shown.to_html(float_format=lambda v: f"{v:,.1f}", na_rep="–", border=0, classes="neighbourhoods"),
        "<h2>Where everything is</h2>", _where(run_dir, metrics, manifest),
    ]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(name)}: price model report"
            f"</title><style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n")


def _count(shown: int, total: int) -> str:
    return f"all {total}" if shown == total else f"the {shown} with most listings, of {total}"


def _verdict(metrics: dict) -> list[str]:
    """The headline and which figure to trust; without a baseline, the model's figure alone."""
    if len(metrics["models"]) < 2:
        mape = metrics["models"][MODEL_NAME]["mape_weighted"]
        return [f"<p class='headline'>The model's weighted MAPE on the test split is <span id='model-mape' "
                f"data-value='{mape!r}'>{100 * mape:.1f}%</span>; no baseline was evaluated to compare it with.</p>"]
    found = verdict(metrics)
    return [_headline(found), "<h2>Which figure to trust</h2>",
            f"<p id='trust'>{_e(found.trust[:1].upper() + found.trust[1:])}.</p>"]


def _single_split(run_dir: Path, metrics: dict, manifest: dict) -> str:
    """Without cross-validation: say plainly that the headline is one split's, and how to get the
    cross-validated figure into this report (it refits the model and every baseline K times)."""
    if metrics.get("cv") or len(metrics["models"]) < 2:
        return ""
    k = CV_FOLDS
    stages = manifest.get("stages", {})
    minutes = sum(stages.get(s, {}).get("seconds", 0) for s in ("train", "evaluate")) * k / 60
    cost = f", about {minutes:.0f} minutes for this run" if minutes >= 1 else ""
    commands = [f"python -m airbnb.evaluate --artifacts {metrics['data']['artifacts']} --cv {k} "
                f"--output {run_dir / METRICS}", f"python -m airbnb.report {run_dir}"]
    return (f"<p id='single-split'>This figure is from <b>one test split of {metrics['listings']:,} listings</b>, "
            f"not cross-validated. For the {k}-fold cross-validated figure (it refits the model and every "
            f"baseline {k} times{cost}), add <code>cv: {k}</code> to the params file and run it again, or "
            "cross-validate this run and rewrite this report:</p>"
            + "".join(f"<pre><code>{_e(c)}</code></pre>" for c in commands))


def _headline(found: Verdict) -> str:
    def figure(key: str, value: float, sd: float | None) -> str:
        return percent_html(f"id='{key}'", value, sd)

    return (f"<p class='headline'>The model's weighted MAPE is {figure('model-mape', found.model_mape, found.model_sd)}"
            f" against the best baseline, <span id='best-baseline'>{_e(found.baseline)}</span>, at "
            f"{figure('baseline-mape', found.baseline_mape, found.baseline_sd)} "
            f"(<span id='source'>{_e(found.source)}</span>"
            + (f"; <span id='gap-interval'>{_e(found.gap_note())}</span>" if found.gap_interval is not None else "")
            + "). Weighted MAPE: the average gap between recommended "
            "and listed price in % of the listed price, each listing-month weighted by its estimated occupancy.</p>")


def _models(metrics: dict) -> str:
    """Every model's errors: cross-validated first (when it ran), then on the single test split
    (the occupancy-weighted metrics, and the unweighted MAPE)."""
    split = readable_table(pd.DataFrame.from_dict(metrics["models"], orient="index"))
    split = split[[c for c in split if "occupancy-weighted" in c and "log" not in c] + ["MAPE % (unweighted)"]]
    parts = []
    cv = metrics.get("cv")
    if cv:
        mean, sd = (pd.DataFrame.from_dict(cv[k], orient="index")["mape_weighted"] * 100 for k in ("mean", "sd"))
        table = pd.DataFrame({"weighted MAPE %": mean.round(2), "sd across folds": sd.round(2)}).sort_values(
            "weighted MAPE %")
        parts += [f"<h2>{cv['k']}-fold cross-validation (grouped by listing)</h2>", table.to_html(border=0, classes="cv")]
    parts += [f"<h2>The single test split ({metrics['listings']:,} listings, {metrics['rows']:,} listing-months)</h2>",
              split.to_html(border=0, classes="split")]
    return "".join(parts)


def _data(metrics: dict) -> str:
    path = summary_path(metrics["data"]["path"])
    if not path.is_file():
        return f"<p>table <code>{_e(metrics['data']['path'])}</code> (no ETL summary beside it)</p>"
    summary = read_json(path)
    steps = {s["step"]: s for s in summary["steps"]}
    read, weight = steps["read_listings"], steps["positive_weight"]
    note = zero_weight_note(weight["dropped"].get("zero_weight", 0), weight["rows_in"])
    return (f"<p>{summary['rows_out']:,} listing-months of {summary['listings_out']:,} listings kept of "
            f"{read['rows_in']:,} rows read; months covered: {_e(metrics['data'].get('months_covered'))}.</p>"
            f"<p id='dropped'>The ETL {_e(note)}.</p>")


def _where(run_dir: Path, metrics: dict, manifest: dict) -> str:
    stages = manifest.get("stages", {})
    artifacts = Path(metrics["data"]["artifacts"])
    items = [(f"{stage} notebook (executed)", run_dir / record["notebook"]) for stage, record in stages.items()]
    items += [("model artifacts", artifacts), ("metrics", run_dir / METRICS), ("run record", run_dir / MANIFEST),
              ("modeling table", Path(metrics["data"]["path"])),
              ("table summary (rows dropped and why)", summary_path(metrics["data"]["path"]))]
    links = "".join(f"<li>{_e(label)}: <a href='{_e(_relative(path, run_dir))}'>{_e(path)}</a></li>"
                    for label, path in items)
    commands = [f"python -m airbnb.predict --artifacts {artifacts} --listings listings.csv.gz --month 7 "
                "--output prices.csv", f"make explore ARTIFACTS={artifacts}"]
    return (f"<ul>{links}</ul><p>Price listings, and explore prices (with <code>.venv</code> activated):</p>"
            + "".join(f"<pre><code>{_e(c)}</code></pre>" for c in commands))


def _relative(path: Path, run_dir: Path) -> str:
    return Path(os.path.relpath(Path(path).absolute(), run_dir.absolute())).as_posix()


def _e(value) -> str:
    return html.escape(str(value))


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m airbnb.report", description=description(__doc__))
    parser.add_argument("run_dir", help="a run folder of python -m airbnb.run (holds metrics.json)")
    args = parser.parse_args(argv)
    setup_logging()
    path = command_line(lambda: write_report(args.run_dir))
    print(f"report: {path}")
    return path


if __name__ == "__main__":
    main()
