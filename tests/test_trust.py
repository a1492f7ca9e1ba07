"""Trust boundaries (issue 22): no data loss from concurrent or careless commands, no code run from
untrusted files, and untrusted rows handled one by one. The probe list of the issue, as tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from airbnb import artifacts, io, run as runner
from airbnb.io import OutputError
from airbnb.predict import PricePredictor

from conftest import REPO, cli, one_error_line

TRAIN_FLAGS = ["--ensemble-size", "1", "--threads", "1", "--no-progress"]


def first_listings(city) -> Path:
    return sorted(city.root.glob("*/listings.csv*"))[0]


# --------------------------------------------------------------------------- outputs held while written

def test_an_output_is_held_by_one_command_at_a_time(tmp_path):
    target = tmp_path / "new" / "deeper" / "out"
    with io.exclusive(target):
        with pytest.raises(OutputError, match=f"{target} is in use by another command \\(pid {os.getpid()} since"):
            with io.exclusive(target):
                pass
    assert not (tmp_path / "new").exists(), "the lock file and the folders made for it go with it"
    with io.exclusive(target):  # free again
        pass


def test_a_holder_killed_outright_releases_its_output(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from airbnb import io\n"
                               "with io.exclusive(sys.argv[1]):\n print('held', flush=True); time.sleep(60)",
                               str(tmp_path / "out")], cwd=REPO, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(OutputError, match=f"pid {holder.pid}"):
        with io.exclusive(tmp_path / "out"):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with io.exclusive(tmp_path / "out"):  # the stale lock file blocks nothing
        pass


def test_a_second_training_into_a_busy_folder_stops_and_the_first_survives(small_table, tmp_path):
    out = tmp_path / "art"
    first = subprocess.Popen([sys.executable, "-m", "airbnb.train", "--data-path", str(small_table), "--output-dir",
                              str(out), "--epochs", "40", "--early-stopping-patience", "100", *TRAIN_FLAGS],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 240
    while not (out / artifacts.STAGE / artifacts.CHECKPOINT).is_file():
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.05)
    line = one_error_line(cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(out),
                              "--epochs", "2", "--seed", "5", *TRAIN_FLAGS))
    assert f"{out} is in use by another command (pid {first.pid}" in line
    assert first.wait(timeout=600) == 0, first.stderr.read()
    assert artifacts.read_model_config(out)["epochs_run"] == 40, "the first run is published whole"
    PricePredictor.load(out)


# --------------------------------------------------------------------------- run folders

def test_a_manifest_that_is_not_a_runs_record_is_never_replaced(tmp_path):
    for content in ("{}", "[1, 2]", '{"stages": "x"}', "not json at all"):
        folder = tmp_path / "folder"
        folder.mkdir(exist_ok=True)
        (folder / "manifest.json").write_text(content)
        (folder / "precious.txt").write_text("mine")
        with pytest.raises(runner.RunError, match="refusing to replace"):
            runner.prepare_run_dir(folder, runner.STAGES)
        assert (folder / "precious.txt").read_text() == "mine"


def test_replacing_a_run_never_removes_the_working_directory_or_the_params_file(tmp_path, monkeypatch):
    earlier = tmp_path / "earlier"
    (earlier / "artifacts").mkdir(parents=True)
    (earlier / "manifest.json").write_text(json.dumps({**dict.fromkeys(runner.MANIFEST_KEYS, ""), "stages": {}}))
    monkeypatch.chdir(earlier / "artifacts")
    with pytest.raises(runner.RunError, match="holds .*artifacts \\(the working directory"):
        runner.prepare_run_dir(earlier, runner.STAGES)
    (earlier / "params.yaml").write_text("epochs: 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(runner.RunError, match="holds .*params.yaml"):
        runner.prepare_run_dir(earlier, runner.STAGES, keep=[earlier / "params.yaml"])
    (earlier / "params.yaml").unlink()
    monkeypatch.chdir(earlier)  # --run-dir . from inside the old run: replaced in place
    runner.prepare_run_dir(Path("."), runner.STAGES)
    assert Path.cwd() == earlier and earlier.is_dir() and not any(earlier.iterdir())


@pytest.mark.parametrize("content, expected", [
    (b"epochs: 5\nseed: 1\nepochs: 50\n", "parameter 'epochs' is given twice"),
    (b"\x7fELF\x02\x01\x01\x00\xff\xfe binary", "is not a text file"),
    (b"run_dir: [1, 2]\n", "run_dir must be a folder path, got [1, 2]"),
    (b"a: !!python/object/apply:os.system ['touch pwned']\n", "could not determine a constructor"),
])
def test_a_params_file_is_data_and_its_mistakes_are_one_line(tmp_path, content, expected):
    (tmp_path / "p.yaml").write_bytes(content)
    assert expected in one_error_line(cli("airbnb.run", str(tmp_path / "p.yaml")))
    assert not (REPO / "pwned").exists()


# --------------------------------------------------------------------------- an output is never an input

def test_the_etl_never_writes_over_its_inputs(small_city, tmp_path):
    listings = tmp_path / "city-2025-01" / "listings.csv.gz"
    listings.parent.mkdir()
    listings.write_bytes(first_listings(small_city).read_bytes())
    reviews = tmp_path / "reviews.csv.gz"
    reviews.write_bytes(small_city.reviews.read_bytes())
    before = {p: p.read_bytes() for p in (listings, reviews)}
    for output in (listings, reviews, tmp_path / "link.csv.gz"):
        if output.name == "link.csv.gz":
            output.symlink_to(listings)
        line = one_error_line(cli("airbnb.etl", "--listings", str(listings), "--reviews", str(reviews),
                                  "--output", str(output)))
        assert f"--output {output} is an input of this command" in line
    assert {p: p.read_bytes() for p in before} == before


def test_predict_never_writes_over_its_listings(small_run, small_city, tmp_path):
    listings = tmp_path / "listings.csv.gz"
    listings.write_bytes(first_listings(small_city).read_bytes())
    before = listings.read_bytes()
    line = one_error_line(cli("airbnb.predict", "--artifacts", str(small_run), "--listings", str(listings),
                              "--month", "7", "--output", str(tmp_path / "." / "listings.csv.gz")))
    assert "is an input of this command" in line and listings.read_bytes() == before
