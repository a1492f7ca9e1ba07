"""The verdict (which figure to trust), the labelled metrics table and the run's HTML report."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from airbnb import evaluate, report
from airbnb.errors import ConfigError
from airbnb.evaluate import MODEL_NAME, verdict
from airbnb.io import read_json
from airbnb.log import RECORD
from airbnb.metrics import metric_columns, readable_table


def scores(**mape: float) -> dict:
    """metrics.json's per-model metrics with these weighted MAPEs (the other metrics arbitrary)."""
    return {name: {**dict.fromkeys(metric_columns(), 1.0), "mape_weighted": v, "mape_unweighted": v + 0.01}
            for name, v in mape.items()}


def metrics(split: dict, cv_mean: dict | None = None, k: int = 5) -> dict:
    found = {"split": "test", "rows": 40, "listings": 31, "models": scores(**split),
             "data": {"path": "t.parquet", "artifacts": "a", "months_covered": [11]}}
    if cv_mean is not None:
        folds = [{"fold": f, "model": m, "test_rows": 50} for f in range(k) for m in cv_mean]
        found["cv"] = {"k": k, "mean": scores(**cv_mean), "sd": scores(**dict.fromkeys(cv_mean, 0.02)), "folds": folds}
    return found


def test_cross_validation_is_the_figure_to_trust_and_names_the_best_baseline():
    split = {MODEL_NAME: 0.20, "lightgbm": 0.18, "ridge": 0.25}  # the split ranks lightgbm first...
    cv = {MODEL_NAME: 0.21, "lightgbm": 0.23, "ridge": 0.22}  # ...cross-validation the model, then ridge
    found = verdict(metrics(split, cv))
    assert found.source == "5-fold cross-validation"
    assert (found.model_mape, found.baseline, found.baseline_mape) == (0.21, "ridge", 0.22)
    assert found.model_sd == 0.02
    assert "trust the cross-validation" in found.trust and "250 rows" in found.trust and "31 listings" in found.trust
    assert "ranks the models differently" in found.trust
    assert found.headline() == ("model's weighted MAPE 21.0% ± 2.0 vs ridge's 22.0% ± 2.0 "
                                "(5-fold cross-validation: better than the best baseline)")


def test_without_cross_validation_the_split_is_quoted_with_its_caveat():
    found = verdict(metrics({MODEL_NAME: 0.30, "lightgbm": 0.25, "weighted_mean": 0.5}))
    assert (found.source, found.baseline, found.model_sd) == ("test split", "lightgbm", None)
    assert "--cv 5" in found.trust
    assert found.headline().endswith("(test split: worse than the best baseline)")


def test_a_single_split_verdict_gives_its_gap_with_its_interval():
    found = metrics({MODEL_NAME: 0.20, "lightgbm": 0.25})
    found["intervals"] = {"level": 0.9, "mape_weighted": {MODEL_NAME: [0.17, 0.235], "lightgbm": [0.2, 0.3]},
                          "gap": {"lightgbm": [-0.081, -0.02]}}
    said = verdict(found)
    assert said.headline() == ("model's weighted MAPE 20.0% vs lightgbm's 25.0% (test split: better than the best "
                               "baseline; the gap -5.0 points, 90% interval -8.1 to -2.0 over its listings)")
    assert "(the model's 90% interval: 17.0% to 23.5%, by resampling them)" in said.trust
    medians = pd.DataFrame({"listings": [1]}, index=pd.Index(["A"], name="neighbourhood"))
    page = report.render(Path("r"), found, {}, medians)
    assert ("<span id='gap-interval'>the gap -5.0 points, 90% interval -8.1 to -2.0 over its listings</span>)"
            in page)


def test_a_verdict_needs_a_baseline():
    with pytest.raises(ConfigError, match="no baseline"):
        verdict(metrics({MODEL_NAME: 0.3}))


def test_the_readable_table_is_labelled_in_percent_and_best_first():
    table = pd.DataFrame.from_dict(scores(ridge=0.25, **{MODEL_NAME: 0.123456}), orient="index")
    shown = readable_table(table)
    assert list(shown.index) == [MODEL_NAME, "ridge"]
    assert shown.loc[MODEL_NAME, "MAPE % (occupancy-weighted)"] == 12.35
    assert shown.loc["ridge", "MAPE % (unweighted)"] == 26.0
    assert shown.columns[0] == "MAPE % (occupancy-weighted)" and all("_" not in c for c in shown.columns)


def test_the_report_shows_the_verdict_and_the_medians(tmp_path):
    found = metrics({MODEL_NAME: 0.2, "lightgbm": 0.3}, {MODEL_NAME: 0.21, "lightgbm": 0.25})
    medians = pd.DataFrame({"listings": [3], "median listed $": [120.0], "median recommended $": [110.0],
                            "median error on test listings %": [float("nan")]},
                           index=pd.Index(["Pine <Hills>"], name="neighbourhood"))
    page = report.render(tmp_path / "albany", found, {"status": "ok", "stages": {}}, medians)
    assert re.search(r"id='model-mape' data-value='0.21'>21.0%</span> ± 2.0", page)
    assert re.search(r"id='baseline-mape' data-value='0.25'>25.0%</span>", page)
    assert "<span id='best-baseline'>lightgbm</span>" in page and "Pine &lt;Hills&gt;" in page
    assert "Trust the cross-validation figure" in page and "make explore ARTIFACTS=a" in page


def test_a_run_without_metrics_has_no_report(tmp_path):
    with pytest.raises(report.ReportError, match="no metrics.json"):
        report.write_report(tmp_path)
    assert not (tmp_path / report.REPORT).exists()


def test_evaluate_prints_a_labelled_table_in_percent_and_the_figure_to_trust(small_run, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    evaluate.main(["--artifacts", str(small_run), "--baselines", "ridge", "weighted_mean", "--output", str(out)])
    printed = "\n".join(line for line in capsys.readouterr().out.splitlines() if not RECORD.match(line))
    saved = read_json(out)
    header, columns, *rows = printed.split("\n\n")[0].splitlines()
    assert header == f"test split ({saved['rows']:,} listing-months of {saved['listings']:,} listings), best first:"
    assert columns.split()[:4] == ["MAPE", "%", "(occupancy-weighted)", "MAE"]
    shown = {line.split()[0]: float(line.split()[1]) for line in rows[1:]}  # rows[0]: the index name
    assert shown == {m: round(100 * v["mape_weighted"], 2) for m, v in saved["models"].items()}
    assert list(shown) == sorted(shown, key=shown.get), "best first"
    found = verdict(saved)
    assert f"\n{found.headline()}\nwhich figure to trust: only the single test split" in printed
    low, high = saved["intervals"]["mape_weighted"][MODEL_NAME]
    assert low < saved["models"][MODEL_NAME]["mape_weighted"] < high
    assert set(saved["intervals"]["gap"]) == {"ridge", "weighted_mean"} and "90% interval" in found.headline()


def test_a_run_without_baselines_reports_the_models_figure_alone(tmp_path):
    found = metrics({MODEL_NAME: 0.2, "lightgbm": 0.3})
    found["models"] = {MODEL_NAME: found["models"][MODEL_NAME]}
    medians = pd.DataFrame({"listings": [1]}, index=pd.Index(["A"], name="neighbourhood"))
    page = report.render(tmp_path / "r", found, {}, medians)
    assert "id='model-mape' data-value='0.2'>20.0%</span>; no baseline was evaluated" in page
    assert "id='trust'" not in page


def test_a_single_split_report_says_so_and_how_to_cross_validate(tmp_path):
    medians = pd.DataFrame({"listings": [1]}, index=pd.Index(["A"], name="neighbourhood"))
    manifest = {"status": "ok", "stages": {s: {"notebook": f"{s}.ipynb", "seconds": t}
                                           for s, t in (("process", 50.0), ("train", 120.0), ("evaluate", 90.0))}}
    run_dir = tmp_path / "default"
    page = report.render(run_dir, metrics({MODEL_NAME: 0.083, "lightgbm": 0.098}), manifest, medians)
    assert "<p id='single-split'>This figure is from <b>one test split of 31 listings</b>, not cross-validated." in page
    assert f"baseline {evaluate.CV_FOLDS} times, about 18 minutes for this run), add <code>cv: 5</code>" in page
    assert (f"<pre><code>python -m airbnb.evaluate --artifacts a --cv 5 --output {run_dir / 'metrics.json'}</code>"
            f"</pre><pre><code>python -m airbnb.report {run_dir}</code></pre>") in page
    cross_validated = metrics({MODEL_NAME: 0.083, "lightgbm": 0.098}, {MODEL_NAME: 0.09, "lightgbm": 0.1})
    assert "single-split" not in report.render(run_dir, cross_validated, manifest, medians)
