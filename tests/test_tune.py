"""Hyperparameter search: the study and its outputs, pruning, champion promotion, CLI, notebook."""
from __future__ import annotations

import dataclasses
import json
import shutil

import nbformat
import optuna
import pandas as pd
import papermill as pm
import pytest
import yaml

from airbnb import champion, train, tune
from airbnb.predict import PricePredictor

from conftest import REPO, cli_error


def tiny_config(table, study_dir, **overrides) -> tune.TuneConfig:
    base = train.TrainConfig(data_path=str(table), smoke_test=True, progress=False)
    return tune.TuneConfig(base=base, n_trials=3, study_dir=str(study_dir), champion_dir=str(study_dir / "champion"),
                           **overrides)


@pytest.fixture(scope="module")
def study(small_table, tmp_path_factory) -> tuple[tune.TuneConfig, tune.TuneResult]:
    """A finished 3-trial smoke study whose threshold no model can beat (val_loss < 0)."""
    config = tiny_config(small_table, tmp_path_factory.mktemp("study"), champion_threshold=0.0)
    return config, tune.tune(config)


def test_study_writes_trials_table_and_best_params(study):
    config, result = study
    out = result.study_dir
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials["number"]) == [0, 1, 2] and (trials["state"] == "COMPLETE").all()
    assert trials["value"].notna().all() and (trials["best_epoch"] == 1).all()
    assert {"duration_s", *tune.SEARCH_SPACE} <= set(trials.columns)
    assert trials[list(tune.SEARCH_SPACE)].drop_duplicates().shape[0] == 3, "each trial tried other settings"
    best = yaml.safe_load((out / "best_params.yaml").read_text())
    fields = {f.name for f in dataclasses.fields(train.TrainConfig)}
    assert set(best) == set(tune.SEARCH_SPACE) and set(best) <= fields
    assert best == result.best_params == trials.loc[trials["value"].idxmin(), list(best)].to_dict()
    train.TrainConfig(**best)  # a valid training config
    assert all((out / "trials" / str(n) / "best_model.pth").is_file() for n in range(3))


def test_impossible_threshold_does_not_promote(study):
    config, result = study
    assert not result.promoted and "does not beat the threshold" in result.promotion.reason
    assert not (result.study_dir / "champion").exists()


def test_loose_threshold_promotes_and_a_champion_must_be_beaten(study, tmp_path):
    config, result = study
    folder = tmp_path / "champion"
    loose = dataclasses.replace(config, champion_dir=str(folder), champion_threshold=1e12)
    assert champion.promote(loose, result.study).promoted
    record = json.loads((folder / "champion.json").read_text())
    best = result.study.best_trial
    assert record["trial"] == best.number and record["value"] == best.value and record["metric"] == "val_loss"
    assert record["params"] == result.best_params
    PricePredictor.load(folder)  # the promoted folder is a usable artifacts directory

    again = champion.promote(loose, result.study)
    assert not again.promoted and "does not beat the champion" in again.reason, "a tie is not an improvement"
    (folder / "champion.json").write_text(json.dumps({**record, "value": best.value * 2, "trial": -1}))
    assert champion.promote(loose, result.study).promoted, "a worse champion is replaced"
    assert json.loads((folder / "champion.json").read_text())["trial"] == best.number


def test_a_folder_that_is_not_a_champion_is_never_replaced(study, tmp_path):
    config, result = study
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    decision = champion.promote(dataclasses.replace(config, champion_dir=str(tmp_path / "mine"), champion_threshold=None),
                            result.study)
    assert not decision.promoted and (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_figures_are_optunas_plots_of_the_study(study):
    config, result = study
    ax = tune.plot_history(result.study, config.metric)
    values = sorted(t.value for t in result.study.trials)
    plotted = sorted(y for line in ax.collections[:1] for _, y in line.get_offsets())
    assert plotted == pytest.approx(values), "one point per completed trial, its value"
    assert ax.get_yscale() == "log", "a loss is drawn on a log axis"
    figures = tune.plot_slices(result.study, config.metric, per_row=4)
    sampled = [name for name in tune.SEARCH_SPACE if any(name in t.params for t in result.study.trials)]
    panels = {a.get_title(): a for fig in figures for a in fig.axes if a.get_title()}
    assert sorted(panels) == sorted(sampled), "one panel per sampled setting"
    assert len(figures) == -(-len(sampled) // 4), "four settings a figure"
    assert panels["learning_rate"].get_xscale() == "log", "learning_rate is sampled on a log scale"


class FakeTrial:
    def __init__(self, prune: bool):
        self.prune, self.reports = prune, []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.prune


def test_pruning_callback_reports_and_prunes():
    keep = tune.PruningCallback(FakeTrial(prune=False))
    keep(1, {"val_loss": 5.0})
    assert keep.trial.reports == [(1, 5.0)]
    stop = tune.PruningCallback(FakeTrial(prune=True))
    with pytest.raises(optuna.TrialPruned):
        stop(2, {"val_loss": 4.0})
    with pytest.raises(tune.TrialDiverged):
        keep(2, {"val_loss": float("nan")})


def test_a_pruned_trial_stops_training(small_table, tmp_path):
    """End to end: the pruner's verdict after epoch 1 ends train() and the trial is recorded as pruned."""
    config = tiny_config(small_table, tmp_path)
    config = dataclasses.replace(config, base=dataclasses.replace(config.base, smoke_test=False, epochs=3))
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))  # every loss is > 0
    study.optimize(tune.make_objective(config), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and trial.user_attrs["epochs_run"] == 1
    staged = tmp_path / "trials" / "0" / ".partial"  # a pruned run is never published
    assert len(pd.read_csv(staged / "history.csv")) == 1, "epochs 2 and 3 never ran"


def test_continuing_a_study_adds_new_configurations(study, tmp_path):
    config, _ = study
    copy = tmp_path / "study"
    shutil.copytree(config.study_dir, copy)
    more = dataclasses.replace(config, study_dir=str(copy), n_trials=1)
    result = tune.tune(more)
    assert list(result.trials["number"]) == [0, 1, 2, 3]
    settings = result.trials[list(tune.SEARCH_SPACE)]
    assert not (settings.iloc[:3] == settings.iloc[3]).all(axis=1).any(), "the first random trials are not replayed"
    with pytest.raises(ValueError, match="optimises val_loss"):
        tune.tune(dataclasses.replace(more, metric="val_rmse"))


def test_cli_errors_are_clear(tmp_path, capsys):
    assert "data file not found" in cli_error(capsys, tune.main, ["--data-path", str(tmp_path / "missing.parquet"),
                                                                  "--study-dir", str(tmp_path / "s")])
    assert "n_trials must be from 1 to 100000, got 0" in cli_error(capsys, tune.main, ["--n-trials", "0"])
    assert not (tmp_path / "s").exists(), "nothing is written before the inputs are checked"


def test_cli_maps_flags_to_configs():
    config = tune.config_from_parameters(vars(tune.build_parser().parse_args(
        ["--n-trials", "7", "--seed", "3", "--epochs", "4", "--champion-threshold", "1500", "--smoke-test"])))
    assert (config.n_trials, config.seed, config.base.seed, config.base.epochs) == (7, 3, 3, 4)
    notebook = tune.config_from_parameters({"n_trials": 2, "seed": 5, "data_path": "t.parquet", "tune": tune})
    assert (notebook.n_trials, notebook.base.seed, notebook.base.epochs, notebook.base.data_path) == (
        2, 5, 5, "t.parquet"), "a notebook's globals: its parameters are read, the rest ignored"
    assert config.champion_threshold == 1500.0 and config.base.smoke_test and not config.base.progress
    with pytest.raises(SystemExit):
        tune.build_parser().parse_args(["--learning-rate", "0.1"])  # searched settings are not flags


def test_tune_notebook(small_table, tmp_path):
    out = tmp_path / "tune.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "tune.ipynb"), str(out), cwd=str(REPO), kernel_name="python3",
                        progress_bar=False,
                        parameters={"data_path": str(small_table), "n_trials": 2, "smoke_test": True,
                                    "study_dir": str(tmp_path / "study"), "champion_dir": str(tmp_path / "champion")})
    assert len(pd.read_csv(tmp_path / "study" / "trials.csv")) == 2
    assert (tmp_path / "champion" / "champion.json").is_file(), "no threshold and no champion yet: promoted"
    nb = nbformat.read(str(out), as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3, "the optimisation history and the slice plots (two rows of settings)"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "promoted to" in text, "the promotion decision is shown"
