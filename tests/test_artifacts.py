"""A run's files as one unit: killed or repeated runs never mix, damaged files are named, and
``--resume`` continues a killed run exactly, into any folder."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from airbnb import artifacts, train
from airbnb.artifacts import ArtifactsError
from airbnb.predict import PricePredictor
from airbnb.training.checkpoint import read_checkpoint

from conftest import REPO, cli, one_error_line

FLAGS = ["--epochs", "6", "--ensemble-size", "1", "--early-stopping-patience", "100", "--threads", "1",
         "--no-progress"]


def start_training(table: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "airbnb.train", "--data-path", str(table), "--output-dir", str(out),
                             *FLAGS, *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def kill_after_epoch(proc: subprocess.Popen, checkpoint: Path, epoch: int, timeout: float = 240) -> int:
    """SIGKILL ``proc`` once its checkpoint has at least ``epoch`` epochs; returns the epoch seen."""
    deadline = time.monotonic() + timeout
    seen = 0
    try:
        while seen < epoch:
            assert proc.poll() is None, f"training ended before epoch {epoch}: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "training too slow to reach the kill point"
            if checkpoint.is_file():
                proc.send_signal(signal.SIGSTOP)  # frozen while read: it cannot run on to the end meanwhile
                try:
                    seen = read_checkpoint(checkpoint)["state"]["epoch"]
                except (ArtifactsError, FileNotFoundError):  # replaced while being read
                    pass
                if seen < epoch:
                    proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return seen


def weights(folder: Path) -> dict:
    return torch.load(folder / artifacts.MODEL, weights_only=True)


@pytest.fixture(scope="module")
def finished(small_table, tmp_path_factory) -> Path:
    """A finished run of the CLI settings (its folder is copied, never changed)."""
    out = tmp_path_factory.mktemp("finished") / "art"
    proc = cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(out), *FLAGS)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture()
def run_copy(finished, tmp_path) -> Path:
    out = tmp_path / "art"
    shutil.copytree(finished, out)
    return out


@pytest.fixture(scope="module")
def listings(small_city) -> pd.DataFrame:
    from airbnb.predict import read_listings_file

    return read_listings_file(sorted(small_city.root.glob("*/listings.csv*"))[0]).head(20)


# --------------------------------------------------------------------------- publishing as one unit

def test_a_finished_run_records_every_file(finished):
    record = json.loads((finished / artifacts.RECORD).read_text())
    assert set(record["files"]) == {artifacts.MODEL, artifacts.PROCESSOR, artifacts.CONFIG, artifacts.HISTORY,
                                    artifacts.SPLITS, artifacts.CHECKPOINT, artifacts.AXIS_TREES}
    assert not (finished / artifacts.STAGE).exists()
    assert all(len(digest) == 64 for digest in record["files"].values())


def test_a_run_killed_over_a_finished_one_leaves_it_intact(run_copy, small_table, listings):
    """The issue's case: killed 10 s into a new run over a finished one, the folder held the old
    config beside new weights and predict used the mix. Now the old run prices exactly as before."""
    before = PricePredictor.load(run_copy).predict(listings, 7)["recommended_price"]
    record = (run_copy / artifacts.RECORD).read_bytes()
    proc = start_training(small_table, run_copy, "--seed", "5")  # another run: other weights
    kill_after_epoch(proc, run_copy / artifacts.STAGE / artifacts.CHECKPOINT, 2)
    assert (run_copy / artifacts.RECORD).read_bytes() == record
    after = PricePredictor.load(run_copy).predict(listings, 7)["recommended_price"]
    pd.testing.assert_series_equal(before, after)


def test_killed_and_resumed_is_bit_identical_to_uninterrupted(finished, small_table, tmp_path):
    out = tmp_path / "killed"
    killed_at = kill_after_epoch(start_training(small_table, out), out / artifacts.STAGE / artifacts.CHECKPOINT, 3)
    assert 3 <= killed_at < 6
    with pytest.raises(ArtifactsError, match="did not finish.*--resume"):
        PricePredictor.load(out)
    (out / artifacts.STAGE / ".checkpoint.pt.abc123.tmp").write_bytes(b"")  # what a kill mid-write leaves
    proc = cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(out), *FLAGS, "--resume", str(out))
    assert proc.returncode == 0, proc.stderr
    a, b = weights(finished), weights(out)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not (out / artifacts.STAGE).exists() and not list(out.rglob("*.tmp"))


def test_resume_into_a_new_folder_from_a_relative_table_path(finished, small_table, tmp_path, monkeypatch):
    """Killed after the best epoch, resumed elsewhere, the table named by another path: it finishes."""
    old = tmp_path / "old"
    kill_after_epoch(start_training(small_table, old), old / artifacts.STAGE / artifacts.CHECKPOINT, 3)
    monkeypatch.chdir(small_table.parent)
    result = train.train(train.configure(data_path=small_table.name, output_dir=str(tmp_path / "new"),
                                         resume=str(old), epochs=6, ensemble_size=1, early_stopping_patience=100,
                                         threads=1, progress=False))
    assert list(result.history["epoch"]) == list(range(1, 7))
    a, b = weights(finished), weights(tmp_path / "new")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_that_fails_while_publishing_leaves_nothing_loadable_then_resumes(run_copy, small_table, monkeypatch):
    real, moves = os.replace, {"n": 0}

    def fails_on_the_third_file(src, dst):
        if artifacts.STAGE in Path(src).parts and not Path(src).name.endswith(".tmp"):  # publishing
            moves["n"] += 1
            if moves["n"] == 3:
                raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", fails_on_the_third_file)
    settings = dict(data_path=str(small_table), output_dir=str(run_copy), epochs=2, ensemble_size=1, progress=False)
    with pytest.raises(OSError, match="No space"):
        train.train(train.configure(**settings))
    with pytest.raises(ArtifactsError, match="no finished training run.*did not finish"):
        PricePredictor.load(run_copy)
    monkeypatch.setattr(artifacts.os, "replace", real)
    result = train.train(train.configure(**settings, resume=str(run_copy)))
    assert result.history["epoch"].tolist() == [1, 2]
    PricePredictor.load(run_copy)  # complete again


def test_a_smaller_run_removes_the_earlier_runs_extra_members(small_table, tmp_path):
    settings = dict(data_path=str(small_table), output_dir=str(tmp_path), epochs=1, progress=False)
    train.train(train.configure(**settings, ensemble_size=2))
    assert (tmp_path / artifacts.MEMBERS).is_dir() and (tmp_path / artifacts.ENSEMBLE).is_file()
    (tmp_path / "notes.txt").write_text("mine")
    train.train(train.configure(**settings, ensemble_size=1))
    assert not (tmp_path / artifacts.MEMBERS).exists() and not (tmp_path / artifacts.ENSEMBLE).exists()
    assert (tmp_path / "notes.txt").read_text() == "mine", "files that are not a run's are never touched"
    PricePredictor.load(tmp_path)


# --------------------------------------------------------------------------- damaged files

def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("name, damage", [
    (artifacts.MODEL, truncate),
    (artifacts.PROCESSOR, lambda p: p.write_bytes(b"garbage" * 50)),
    (artifacts.CONFIG, lambda p: p.write_text(p.read_text().replace('"best_epoch"', '"best_epoc"'))),
])
def test_a_damaged_artifact_is_named_on_the_cli_and_in_the_api(run_copy, small_city, tmp_path, name, damage):
    damage(run_copy / name)
    with pytest.raises(ArtifactsError, match=f"{name} is damaged \\(checksum mismatch\\): retrain or restore it"):
        PricePredictor.load(run_copy)
    listings = sorted(small_city.root.glob("*/listings.csv*"))[0]
    line = one_error_line(cli("airbnb.predict", "--artifacts", str(run_copy), "--listings", str(listings),
                              "--month", "7", "--output", str(tmp_path / "p.csv")))
    assert f"{name} is damaged (checksum mismatch)" in line
    assert not (tmp_path / "p.csv").exists()


def test_a_damaged_checkpoint_on_resume_is_named(run_copy, small_table):
    truncate(run_copy / artifacts.CHECKPOINT)
    line = one_error_line(cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(run_copy),
                              *FLAGS, "--resume", str(run_copy)))
    assert "checkpoint.pt is damaged (checksum mismatch)" in line


def test_an_unrecorded_folder_is_not_a_run(run_copy):
    (run_copy / artifacts.RECORD).unlink()
    with pytest.raises(ArtifactsError, match="holds no finished training run"):
        PricePredictor.load(run_copy)


def test_a_raw_listings_file_as_training_data_points_to_the_etl(small_city, tmp_path):
    listings = sorted(small_city.root.glob("*/listings.csv*"))[0]
    line = one_error_line(cli("airbnb.train", "--data-path", str(listings), "--output-dir", str(tmp_path / "a")))
    assert "training expects the modeling table built by the ETL: python -m airbnb.etl" in line
    assert not (tmp_path / "a").exists()
