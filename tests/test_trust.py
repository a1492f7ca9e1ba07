"""Trust boundaries (issue 22): no data loss from concurrent or careless commands, no code run from
untrusted files, and untrusted rows handled one by one. The probe list of the issue, as tests."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from airbnb import artifacts, io, run as runner, train
from airbnb.artifacts import ArtifactsError
from airbnb.errors import ConfigError, UserError
from airbnb.features import FeatureError, FeatureProcessor
from airbnb.io import OutputError
from airbnb.predict import PricePredictor

from conftest import REPO, cli, one_error_line, rerecord

TRAIN_FLAGS = ["--ensemble-size", "1", "--threads", "1", "--no-progress"]


def first_listings(city) -> Path:
    return sorted(city.root.glob("*/listings.csv*"))[0]


# --------------------------------------------------------------------------- outputs held while written

def test_a_published_folder_is_an_ordinary_folder_and_replaces_the_old_one_whole(tmp_path):
    """A folder published by io (the Spark engine's table with its summary, a champion, a synthetic
    city) keeps its execute bits: without them nobody but root could open its files (the Spark
    table's was mkstemp's placeholder mode made 0644)."""
    import stat

    target = tmp_path / "table"
    with io.atomic_paths(target, tmp_path / "table.summary.json") as (folder, summary):
        folder.unlink()
        folder.mkdir()
        (folder / "part-0.parquet").write_text("new")
        summary.write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "table.summary.json").stat().st_mode) == 0o666 & ~mask
    with pytest.raises(RuntimeError), io.atomic_dir(target) as stage:
        (stage / "half.parquet").write_text("half")
        raise RuntimeError("killed mid-write")
    assert [p.name for p in target.iterdir()] == ["part-0.parquet"], "the old folder stays whole"
    with io.atomic_dir(target) as stage:
        (stage / "part-1.parquet").write_text("newer")
    assert [p.name for p in target.iterdir()] == ["part-1.parquet"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table", "table.summary.json"], "no temporary left"


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
    os.kill(first.pid, signal.SIGSTOP)  # paused, still holding the folder: the race is not the machine's speed
    try:
        line = one_error_line(cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(out),
                                  "--epochs", "2", "--seed", "5", *TRAIN_FLAGS))
    finally:
        os.kill(first.pid, signal.SIGCONT)
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


# --------------------------------------------------------------------------- artifacts are data, never code

class RunsCode:
    """A pickle that runs a shell command when loaded: what a tampered artifact can hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture()
def run_copy(small_run, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(small_run, out)
    return out


@pytest.mark.parametrize("name", [artifacts.CHECKPOINT, artifacts.PROCESSOR, artifacts.MODEL])
def test_a_tampered_artifact_with_a_rewritten_record_never_runs_code(run_copy, small_table, tmp_path, name):
    marker = tmp_path / "code-ran"
    with open(run_copy / name, "wb") as out:
        torch.save({"config": RunsCode(marker)}, out) if name.endswith((".pt", ".pth")) else pickle.dump(RunsCode(marker), out)
    rerecord(run_copy)
    with pytest.raises(UserError, match="it is not loaded, since loading it could run code"):
        if name == artifacts.CHECKPOINT:
            train.train(train.configure(data_path=str(small_table), output_dir=str(tmp_path / "b"), epochs=2,
                                        resume=str(run_copy), progress=False))
        else:
            PricePredictor.load(run_copy)
    assert not marker.exists()


def flip_a_byte(path: Path, where: float = 0.6) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_checkpoint_outside_a_finished_run_is_checksum_checked_too(run_copy, small_table, tmp_path):
    staged = run_copy / artifacts.STAGE / artifacts.CHECKPOINT  # an unfinished run's, and a file given by path
    staged.parent.mkdir()
    shutil.copy(run_copy / artifacts.CHECKPOINT, staged)
    flip_a_byte(staged)
    loose = tmp_path / "loose.pt"
    shutil.copy(staged, loose)
    for resume in (run_copy, loose):
        line = one_error_line(cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(tmp_path / "c"),
                                  "--epochs", "2", "--resume", str(resume), *TRAIN_FLAGS[2:]))
        assert "checkpoint.pt is damaged" in line or "loose.pt is damaged" in line


def test_resume_takes_a_checkpoint_and_never_fewer_epochs_than_it_ran(run_copy, small_table, tmp_path):
    line = one_error_line(cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(tmp_path / "d"),
                              "--resume", str(run_copy / artifacts.MODEL), "--no-progress"))
    assert f"{run_copy / artifacts.MODEL} is not a training checkpoint" in line
    with pytest.raises(ConfigError, match="with epochs 1: it has run 2 epochs already"):
        train.train(train.configure(data_path=str(small_table), output_dir=str(tmp_path / "e"), epochs=1,
                                    resume=str(run_copy), progress=False))
    assert not (tmp_path / "e" / artifacts.RECORD).exists(), "no run saying 'epochs 1' is published"


def test_a_processor_of_another_run_is_refused_by_name(run_copy):
    other = FeatureProcessor.load(run_copy / artifacts.PROCESSOR)
    other.vocabs_["neighbourhood_cleansed"] = other.vocabs_["neighbourhood_cleansed"][:3]  # another city's
    other.save(run_copy / artifacts.PROCESSOR)
    rerecord(run_copy)
    with pytest.raises(ArtifactsError, match="feature_processor.npz does not belong to this run's model \\(input "
                                             "sizes neighbourhood_cleansed 3 \\(model: "):
        PricePredictor.load(run_copy)


def test_a_processor_is_stored_as_data_and_refuses_what_it_cannot_store(small_run, tmp_path):
    processor = FeatureProcessor.load(small_run / artifacts.PROCESSOR)
    with zipfile.ZipFile(small_run / artifacts.PROCESSOR) as stored:
        assert all(name.endswith(".npy") for name in stored.namelist())
    processor.fill_values_["odd"] = {1, 2}  # a set: no data type of the store
    with pytest.raises(FeatureError, match="FeatureProcessor.fill_values_.odd: a set cannot be stored as data"):
        processor.save(tmp_path / "p.npz")
    assert not (tmp_path / "p.npz").exists()


def test_a_full_disk_while_saving_is_one_line_and_the_earlier_run_stays(run_copy, small_table):
    """Files may grow to 100 KB (RLIMIT_FSIZE, as on a full disk): the checkpoint cannot be written."""
    limited = ("import resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)); sys.argv[0] = 'train'; "
               "runpy.run_module('airbnb.train', run_name='__main__')")
    before = (run_copy / artifacts.RECORD).read_bytes()
    proc = subprocess.run([sys.executable, "-c", limited, "--data-path", str(small_table), "--output-dir",
                           str(run_copy), "--epochs", "2", *TRAIN_FLAGS], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    line = one_error_line(proc)
    assert f"cannot write {run_copy / artifacts.STAGE / artifacts.CHECKPOINT} (File too large)" in line
    assert not list(run_copy.rglob("*.tmp")), "nothing half-written"
    assert (run_copy / artifacts.RECORD).read_bytes() == before
    PricePredictor.load(run_copy)


# --------------------------------------------------------------------------- every number within bounds

@pytest.mark.parametrize("argv, expected", [
    (["--learning-rate", "nan"], "learning_rate must be a finite number, got nan"),
    (["--learning-rate", "inf"], "learning_rate must be a finite number, got inf"),
    (["--learning-rate", "-1"], "learning_rate must be"),
    (["--ensemble-size", "100000"], "ensemble_size must be from 1 to 64, got 100000"),
    (["--epochs", "1000000000"], "epochs must be from 1 to 10000"),
    (["--batch-size", "0"], "batch_size must be from 1 to"),
    (["--location-hidden", "100000000"], "location_hidden must be from 1 to 4096"),
    (["--seed", "-1"], "seed must be from 0 to 4294967295, got -1"),
    (["--early-stopping-min-delta", "inf"], "early_stopping_min_delta must be a finite number"),
])
def test_every_numeric_training_setting_is_bounded(capsys, argv, expected):
    from conftest import cli_error

    assert expected in cli_error(capsys, train.main, ["--data-path", "never-read.parquet", *argv])


# --------------------------------------------------------------------------- untrusted rows, one by one

def test_predict_prices_the_other_rows_and_names_an_unparsable_one_by_its_id(small_run, small_city, tmp_path):
    rows = pd.read_csv(first_listings(small_city), dtype=str).head(4)
    rows.loc[1, "latitude"] = "not a number"
    rows.loc[2, "id"] = "1e30"  # no usable id: priced all the same, without one
    rows.to_csv(tmp_path / "listings.csv", index=False)
    proc = cli("airbnb.predict", "--artifacts", str(small_run), "--listings", str(tmp_path / "listings.csv"),
               "--month", "7", "--output", str(tmp_path / "preds.csv"))
    assert proc.returncode == 0, proc.stderr
    priced = pd.read_csv(tmp_path / "preds.csv", dtype={"listing_id": "Int64"})
    assert priced["listing_id"].tolist() == [int(rows.loc[0, "id"]), int(rows.loc[1, "id"]), pd.NA,
                                             int(rows.loc[3, "id"])]
    assert priced["recommended_price"].isna().tolist() == [False, True, False, False]
    assert priced["not_priced"].iloc[1] == "latitude not a number (allowed a number (required))"
    assert pd.read_csv(tmp_path / "preds.rejected.csv", dtype=str).to_dict("records") == [
        {"listing_id": rows.loc[1, "id"], "column": "latitude", "value": "not a number",
         "allowed": "a number (required)"}]


# --------------------------------------------------------------------------- the explorer's server

def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (Voilà and its kernels name the served folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            pass
    return found


def http_status(url: str, host: str | None = None, timeout: float = 300) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_explorer_server_checks_hosts_caps_kernels_and_stops_cleanly_on_sigterm(small_run, tmp_path):
    from airbnb.explore_server import free_port

    assert "port must be a number from 1 to 65535, got 99999" in one_error_line(
        cli("airbnb.explore_app", "--artifacts", str(small_run), "--port", "99999", "--no-browser"))
    port, temp = free_port(), tmp_path / "tmp"
    temp.mkdir()
    server = subprocess.Popen([sys.executable, "-m", "airbnb.explore_app", "--artifacts", str(small_run), "--port",
                               str(port), "--no-browser", "--max-kernels", "1"], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)})
    try:
        for line in server.stdout:  # the URL is logged once the port is open, with the real port
            if "price explorer for" in line:
                assert f"on http://localhost:{port}/" in line
                break
        threading.Thread(target=server.stdout.read, daemon=True).start()  # Voilà's log must not fill the pipe
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        url = f"http://127.0.0.1:{port}/"
        assert http_status(url, host=f"attacker.example:{port}") == 403, "DNS rebinding: a foreign Host is refused"
        assert http_status(f"http://localhost:{port}/") == 200
        assert http_status(url) == 503, "one kernel at most: the second page is refused, not started"
        assert processes_mentioning(str(temp)), "Voilà and its kernel run from the temporary folder"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert not list(temp.iterdir()), "the temporary folder is removed"
    assert not processes_mentioning(str(temp)), "Voilà and its kernels are stopped"


def test_evaluate_never_writes_its_metrics_over_the_table_or_the_run(small_run, small_table, tmp_path):
    table = tmp_path / "table.parquet"
    shutil.copy(small_table, table)
    for output in (table, small_run / artifacts.MODEL):
        line = one_error_line(cli("airbnb.evaluate", "--artifacts", str(small_run), "--data-path", str(table),
                                  "--output", str(output)))
        assert f"--output {output} is an input of this command" in line
    assert table.read_bytes() == small_table.read_bytes()
