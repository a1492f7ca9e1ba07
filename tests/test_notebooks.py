"""Notebooks execute headless under papermill with small parameters, and the one-command run."""
from __future__ import annotations

import json
import logging
import re

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import yaml

from airbnb import run as runner
from airbnb.model import AXES
from airbnb.schema import TABLE_COLUMNS

from conftest import ALBANY, REPO, require_shared


def outputs(nb_path, kind):
    nb = nbformat.read(str(nb_path), as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})]


def test_process_notebook(tmp_path):
    table = tmp_path / "table.parquet"
    out = tmp_path / "process.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "process.ipynb"), str(out), cwd=str(REPO), kernel_name="python3",
                        progress_bar=False,
                        parameters={"city_dir": str(tmp_path / "city"), "city_listings": 150, "city_seed": 3,
                                    "data_path": str(table)})
    df = pd.read_parquet(table)
    assert list(df.columns) == TABLE_COLUMNS and len(df) > 500
    assert len(outputs(out, "image/png")) >= 1, "the distributions figure is shown"
    html = "".join(o["data"]["text/html"] for o in outputs(out, "text/html"))
    assert "zero_weight" in html and "rows_out" in html, "the rows-dropped table is shown"


def smoke_params(tmp_path, **overrides):
    params = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    params.update(city_dir=str(tmp_path / "city"), data_path=str(tmp_path / "t.parquet"), **overrides)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params))
    return path, params


def test_one_command_run_is_a_complete_repeatable_record(tmp_path, capfd, caplog):
    path, params = smoke_params(tmp_path, cv=2)
    caplog.set_level(logging.INFO, logger="airbnb")
    first = runner.run(path, tmp_path / "run")
    # what the terminal shows: a bar per stage run to its end, no kernel chatter, the headline last
    shown = capfd.readouterr().err
    assert [stage for stage in runner.STAGES if re.search(rf"\r?{stage:<8}: 100%\|", shown)] == list(runner.STAGES)
    assert "IPKernelApp" not in shown and "Debugger warning" not in shown, shown[-2000:]
    assert caplog.records[-1].getMessage().startswith("run complete: model's weighted MAPE ")
    assert caplog.records[-1].getMessage().endswith(f"report: {first / 'report.html'}")
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["status"] == "ok" and list(manifest["stages"]) == list(runner.STAGES)
    assert all(manifest["stages"][s]["seconds"] > 0 for s in runner.STAGES)
    assert all((first / f"{s}.ipynb").is_file() for s in runner.STAGES)
    assert {p.name for p in (first / "artifacts").iterdir()} >= {
        "best_model.pth", "feature_processor.npz", "model_config.json", "history.csv", "splits.parquet"}
    assert len(manifest["inputs"]["listings"]) == 12 and manifest["inputs"]["reviews"]["sha256"]
    assert manifest["params"]["city_listings"] == params["city_listings"] and manifest["package_version"]
    assert len(outputs(first / "evaluate.ipynb", "image/png")) >= 6, "evaluation figures are shown"
    metrics = json.loads((first / "metrics.json").read_text())
    assert set(metrics["models"]) == {"additive_axis_model", "lightgbm", "hist_gradient_boosting", "ridge",
                                      "weighted_mean"}
    assert metrics["cv"]["k"] == 2 and set(metrics["cv"]["mean"]) == set(metrics["models"])
    assert sum(f["test_rows"] for f in metrics["cv"]["folds"] if f["model"] == "lightgbm") == len(
        pd.read_parquet(params["data_path"]))  # every row tested once

    path.write_text(yaml.safe_dump({**params, "cv": 0}))
    second = runner.run(path, tmp_path / "run2")
    assert json.loads((second / "metrics.json").read_text())["models"] == metrics["models"], "same params, same metrics"

    weights = (first / "artifacts" / "best_model.pth").read_bytes()
    runner.run(path, first, stages=["evaluate"])  # a later stage alone continues the record
    assert (first / "artifacts" / "best_model.pth").read_bytes() == weights, "the artifacts it evaluates stay"
    again = json.loads((first / "manifest.json").read_text())
    assert again["status"] == "ok" and list(again["stages"]) == list(runner.STAGES)
    assert again["stages"]["train"] == manifest["stages"]["train"]
    assert json.loads((first / "metrics.json").read_text())["models"] == metrics["models"]


def test_albany_end_to_end(tmp_path):
    folder = require_shared(ALBANY)
    path, _ = smoke_params(tmp_path, listings=str(folder / "listings.csv.gz"), reviews=str(folder / "reviews.csv.gz"),
                           smoke_test=False)  # the default training
    run_dir = runner.run(path, tmp_path / "run")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = metrics["models"]["additive_axis_model"]
    assert metrics["rows"] > 10 and np.isfinite(model["mape_weighted"])
    assert model["mape_weighted"] < metrics["models"]["weighted_mean"]["mape_weighted"]
    # never an absurd price on a real city: every listing of the snapshot gets a positive, finite price
    from airbnb.predict import PricePredictor, read_listings_file

    # and a one-snapshot city (November) priced for every month: no extrapolated seasonality
    predictor = PricePredictor.load(run_dir / "artifacts")
    listings = read_listings_file(folder / "listings.csv.gz")
    prices = pd.concat([predictor.predict(listings, month=m) for m in range(1, 13)])
    assert len(prices) > 12 * 200 and np.isfinite(prices["recommended_price"]).all()
    assert (prices["recommended_price"] > 0).all()
    np.testing.assert_allclose(prices[["bias", *AXES]].sum(axis=1), prices["recommended_price"], rtol=1e-9)
    assert set(prices.loc[prices["month_seen"], "month"]) == {11}
    assert (prices.loc[~prices["month_seen"], "seasonality"] == 0).all()
    assert metrics["data"]["months_covered"] == [11]
    cold = pd.DataFrame(metrics["cold_start"])
    assert set(cold["model"]) == set(metrics["models"]) and set(cold["reviews_ltm"]) <= {"0", "1–4", "5+"}


def test_run_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    folder = tmp_path / "checkout"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "work.py").write_text("precious")
    path, _ = smoke_params(tmp_path)
    with pytest.raises(runner.RunError, match="not empty and holds no earlier run"):
        runner.run(path, folder)
    assert (folder / "src" / "work.py").read_text() == "precious"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(runner.RunError, match="is a file"):
        runner.run(path, tmp_path / "a-file")


def a_manifest(**stages) -> str:
    """A run's manifest as airbnb.run writes it (its keys are what makes a folder a run)."""
    return json.dumps({**dict.fromkeys(runner.MANIFEST_KEYS, ""), "stages": stages})


def test_an_earlier_run_or_an_empty_folder_is_replaced(tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "manifest.json").write_text(a_manifest())
    (earlier / "stale.ipynb").write_text("old")
    assert runner.prepare_run_dir(earlier, runner.STAGES) == {}
    assert earlier.is_dir() and not any(earlier.iterdir())
    (tmp_path / "empty").mkdir()
    runner.prepare_run_dir(tmp_path / "empty", runner.STAGES)
    runner.prepare_run_dir(tmp_path / "new" / "deeper", ["evaluate"])
    assert (tmp_path / "new" / "deeper").is_dir()
    (earlier / "manifest.json").write_text(a_manifest(process={"status": "ok"}, evaluate={"status": "failed"}))
    assert runner.prepare_run_dir(earlier, ["evaluate"]) == {"process": {"status": "ok"}}, "later stages continue it"
    assert (earlier / "manifest.json").is_file()


@pytest.mark.parametrize("line, name", [("epochs: ten", "epochs"), ("smoke_test: 1", "smoke_test"),
                                        ("learning_rate: fast", "learning_rate"), ("city_listings: 2.5", "city_listings"),
                                        ("baselines: lightgbm", "baselines")])
def test_params_of_the_wrong_type_are_refused_at_load_time(tmp_path, line, name):
    (tmp_path / "p.yaml").write_text(line + "\n")
    # by the notebook's default's type, or (a setting a preset changes: None there) by its config
    with pytest.raises(runner.RunError, match=f"(parameter '{name}'|parameters: {name}) must be"):
        runner.run(tmp_path / "p.yaml", tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything ran


@pytest.mark.parametrize("line, message", [
    ("epochs: 0", "train parameters: epochs must be from 1 to 10000, got 0"),
    ("test_size: 1.5", "train parameters: test_size"),
    ("split: train", "evaluate parameters: split must be one of"),
    ("baselines: [xgboost]", "evaluate parameters: unknown baseline"),
    ("review_rate: 0", "process parameters: review_rate"),
    ("city_listings: 0", "process parameters: n_listings"),
    ("learning_rate: .nan", "train parameters: learning_rate must be a finite number, got nan"),  # issue 22
    ("learning_rate: .inf", "train parameters: learning_rate must be a finite number, got inf"),
    ("review_rate: .nan", "process parameters: review_rate must be a finite number"),
    ("ensemble_size: 100000", "train parameters: ensemble_size must be from 1 to 64"),
])
def test_params_out_of_bounds_are_refused_at_load_time(tmp_path, line, message):
    """Each stage's config dataclass checks its share of the params before any notebook runs."""
    (tmp_path / "p.yaml").write_text(line + "\n")
    with pytest.raises(runner.RunError, match=message):
        runner.run(tmp_path / "p.yaml", tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("config, value", [("train", {"epochs": "ten"}), ("train", {"epochs": 2.5}),
                                           ("evaluate", {"seed": "1"}), ("evaluate", {"baselines": "ridge"}),
                                           ("tune", {"n_trials": 2.0})])
def test_configs_refuse_wrong_types_by_name(config, value):
    from airbnb.evaluate import EvaluateConfig
    from airbnb.train import TrainConfig
    from airbnb.tune import TuneConfig

    cls = {"train": TrainConfig, "evaluate": EvaluateConfig, "tune": TuneConfig}[config]
    (name, bad), = value.items()
    with pytest.raises(ValueError, match=f"^{name} must be"):
        cls(**value)


def test_params_of_the_right_type_pass(tmp_path):
    shares = runner.split_params({"epochs": 3, "learning_rate": 1, "smoke_test": True, "listings": "x/*.csv",
                                  "baselines": ["ridge"]}, runner.STAGES)
    assert shares["train"]["learning_rate"] == 1 and shares["evaluate"]["baselines"] == ["ridge"]


def test_run_rejects_unknown_parameter(tmp_path):
    (tmp_path / "p.yaml").write_text("city_listngs: 10\n")
    with pytest.raises(runner.RunError, match="city_listngs"):
        runner.run(tmp_path / "p.yaml", tmp_path / "run")


def test_malformed_params_yaml_is_named_with_its_line(tmp_path):
    (tmp_path / "p.yaml").write_text("epochs: 3\nbaselines: [ridge\nseed: 1\n")
    with pytest.raises(runner.RunError, match=r"p.yaml is not valid YAML at line 3"):
        runner.load_params(tmp_path / "p.yaml")


def test_a_failed_stage_is_marked_failed_in_the_manifest(tmp_path):
    (tmp_path / "p.yaml").write_text(f"artifacts_dir: {tmp_path / 'no-such-run'}\n")
    with pytest.raises(runner.RunError, match="stage 'evaluate' failed"):
        runner.run(tmp_path / "p.yaml", tmp_path / "run", stages=["evaluate"])
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["failed_stage"] == "evaluate"
    assert manifest["stages"]["evaluate"]["status"] == "failed"
    assert "no-such-run not found" in manifest["stages"]["evaluate"]["error"] == manifest["error"]


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "params").glob("*.yaml")))
def test_params_files_name_only_known_parameters(name):
    params = runner.load_params(REPO / "params" / name)
    shares = runner.split_params(params, runner.STAGES)
    assert set().union(*map(set, shares.values())) | runner.RUN_KEYS >= set(params)


def config_defaults(notebook: str) -> dict:
    """The defaults a notebook's parameters must mirror: its stage's config dataclass(es)."""
    from airbnb.cli import defaults
    from airbnb.evaluate import EvaluateConfig
    from airbnb.training.config import notebook_defaults as train_notebook_defaults
    from airbnb.tune import TuneConfig

    if notebook == "train":  # None: the preset's value
        return train_notebook_defaults()
    if notebook == "evaluate":
        return defaults(EvaluateConfig, notebook=True)
    if notebook == "explore":
        from airbnb.explore import ExploreConfig

        return defaults(ExploreConfig, notebook=True)
    if notebook == "process":
        from airbnb.process import ProcessConfig

        return defaults(ProcessConfig, notebook=True)
    tune = {k: v for k, v in defaults(TuneConfig).items() if k != "base"}
    base = TuneConfig().base  # the notebook sets three of the trials' training settings
    return {**tune, "epochs": base.epochs, "smoke_test": base.smoke_test, "data_path": base.data_path}


@pytest.mark.parametrize("notebook", sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb")))
def test_notebook_parameters_are_their_config(notebook):
    """One place for each default: a notebook's parameters are its config's fields, same values and types."""
    import ast

    declared = pm.inspect_notebook(str(REPO / "notebooks" / f"{notebook}.ipynb"))
    expected = config_defaults(notebook)
    assert set(declared) == set(expected)
    values = {name: ast.literal_eval(p["default"]) for name, p in declared.items()}
    assert values == expected
    assert {k: type(v) for k, v in values.items()} == {k: type(v) for k, v in expected.items()}


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_in_git_carry_no_outputs(path):
    """Outputs belong to executed copies (runs/), not to the sources: no stale figures, small diffs."""
    nb = nbformat.read(str(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert all("id" in c for c in nb.cells)
