"""Progress a person can read: training's epoch lines are a summary in %, and a run shows its
kernels' log lines (not their tables) above each stage's bar."""
from __future__ import annotations

import logging
import re

import pandas as pd

from airbnb import run, train
from airbnb.training import loop


def test_epoch_lines_are_a_summary_with_validation_mape_in_percent(small_table, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="airbnb")
    epochs = 23
    result = train.train(train.TrainConfig(data_path=str(small_table), output_dir=str(tmp_path), epochs=epochs,
                                           ensemble_size=1, early_stopping_patience=0, progress=False))
    history = pd.read_csv(result.output_dir / "history.csv")
    assert len(history) == epochs
    lines = re.findall(r"epoch (\d+)/(\d+)  validation MAPE ([\d.]+)% \(best ([\d.]+)%\)", caplog.text)
    logged = [int(e) for e, *_ in lines]
    # expected: the first and last epoch, every LOG_EVERY-th, and each improvement of a LOG_GAIN share
    expected, best, at_line = [], float("inf"), float("inf")
    for epoch, mape in zip(history["epoch"], history["val_mape_weighted"]):
        best = min(best, mape)
        if best < (1 - loop.LOG_GAIN) * at_line or epoch in (1, epochs) or epoch % loop.LOG_EVERY == 0:
            expected.append(epoch)
            at_line = best
    assert logged == expected and len(logged) < epochs / 2, (logged, history["val_mape_weighted"].round(3).tolist())
    for epoch, _, mape, best_mape in lines:
        row = history[history["epoch"] == int(epoch)].iloc[0]
        assert float(mape) == round(100 * row["val_mape_weighted"], 1)
        assert float(best_mape) == round(100 * history.loc[:int(epoch) - 1, "val_mape_weighted"].min(), 1)


def test_a_run_shows_the_kernels_log_lines_only(capsys):
    out = run._KernelLog()
    out.write("16:47:07 airbnb.training.loop: epoch 1/200  validation MAPE 34.7%\n"
              "   listing_id  price\n0  1  100\n"
              "16:47:08 airbnb.evaluate: fold 1/5: 40 test rows\nnot a log line airbnb.x: y\n")
    shown = capsys.readouterr().out.splitlines()
    assert shown == ["16:47:07 airbnb.training.loop: epoch 1/200  validation MAPE 34.7%",
                     "16:47:08 airbnb.evaluate: fold 1/5: 40 test rows"]


def test_cross_validation_logs_one_line_per_fold(small_table, caplog):
    from airbnb import evaluate

    caplog.set_level(logging.INFO, logger="airbnb")
    config = train.TrainConfig(data_path=str(small_table), epochs=2, ensemble_size=1, progress=False)
    evaluate.cross_validate(config, 2, baselines=["weighted_mean"], progress=False)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert [m.split(":")[0] for m in infos] == ["fold 1/2", "fold 2/2"]
    assert "weighted_mean" in infos[0]
    # the folds' trainings speak only to warn: two epochs end while still improving, and say so
    warnings = [r.getMessage() for r in caplog.records if r.levelno > logging.INFO]
    assert warnings and all("stopped at the epoch cap" in m for m in warnings)


def test_a_run_mirrors_the_kernels_progress_bars():
    bars = run._KernelBars()
    bars.write("\rtrain:   0%|          | 0/200 [00:00<?, ?epoch/s]")
    bars.write("\rtrain:  12%|█▏        | 24/200 [00:32<02:55,  1.00epoch/s]\rtrain:  13%|█▎  | 26/200 [00:35<03:17,  1.14s/epoch]")
    bars.write("\rcross-validation folds:  40%|████      | 2/5 [01:00<01:30, 30.00s/fold]")
    assert {d: (b.n, b.total, b.unit) for d, b in bars.bars.items()} == {"train": (26, 200, "epoch"),
                                                                        "cross-validation folds": (2, 5, "fold")}
    first = bars.bars["train"]
    bars.write("\rtrain:   1%|          | 2/200 [00:03<05:27,  1.65s/epoch]")  # the next training's bar
    assert bars.bars["train"] is not first and bars.bars["train"].n == 2
    bars.close()


def test_a_city_runs_notebooks_keep_a_readable_record(albany_city_run):
    """The executed notebooks of a real city's run (Albany, 20 epochs, 2 cross-validation folds)
    hold a few progress-bar updates (one per 5 s at most, tqdm's mininterval), not one per epoch
    or batch, and training's summary lines rather than a line per epoch."""
    import json

    import nbformat

    manifest = json.loads((albany_city_run / "manifest.json").read_text())
    for stage, record in manifest["stages"].items():
        notebook = nbformat.read(str(albany_city_run / record["notebook"]), as_version=4)
        text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                       if o.output_type == "stream")
        bars = len(re.findall(r"\d+%\|", text))
        assert bars <= 4 + record["seconds"] / 5, (stage, bars, record["seconds"])
        if stage == "train":
            epochs = re.findall(r"epoch (\d+)/(\d+)  validation MAPE [\d.]+% \(best [\d.]+%\)", text)
            assert epochs and epochs[0] == ("1", "20") and len(epochs) < 20, epochs
