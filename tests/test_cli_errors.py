"""Every command on a damaged or foreign input: one line naming the file or parameter, exit 1,
never a traceback (tracebacks are for bugs, and then come with a hint to report them)."""
from __future__ import annotations

import gzip
import sys

import pytest

from airbnb import errors

from conftest import cli, one_error_line


@pytest.fixture(scope="module")
def damaged(small_city, tmp_path_factory):
    """Damaged and foreign inputs, by name."""
    root = tmp_path_factory.mktemp("damaged")
    listings = sorted(small_city.root.glob("*/listings.csv*"))[0]
    cut = root / "listings.csv.gz"
    data = gzip.compress(listings.read_bytes()) if listings.suffix != ".gz" else listings.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    (root / "no-run").mkdir()
    (root / "no-run" / "model_config.json").write_text("{not json")
    (root / "params.yaml").write_text("epochs: [1, 2\nseed: 3\n")
    return {"listings": str(listings), "cut": str(cut), "root": root}


CASES = {
    "etl on a truncated gzip": (lambda d: ["airbnb.etl", "--listings", d["cut"], "--output", str(d["root"] / "t.parquet")],
                                "listings.csv.gz is truncated or not a gzip/CSV file"),
    "train on a raw listings file": (lambda d: ["airbnb.train", "--data-path", d["listings"],
                                                "--output-dir", str(d["root"] / "a")],
                                     "training expects the modeling table built by the ETL"),
    "predict with a folder that is not a run": (lambda d: ["airbnb.predict", "--artifacts", str(d["root"] / "no-run"),
                                                           "--listings", d["listings"], "--month", "7",
                                                           "--output", str(d["root"] / "p.csv")],
                                                "model_config.json is damaged"),
    "evaluate a folder that is not a run": (lambda d: ["airbnb.evaluate", "--artifacts", str(d["root"] / "nothing")],
                                            "nothing not found: train first"),
    "tune on a raw listings file": (lambda d: ["airbnb.tune", "--data-path", d["listings"], "--study-dir",
                                               str(d["root"] / "study")], "training expects the modeling table"),
    "run with malformed YAML": (lambda d: ["airbnb.run", str(d["root"] / "params.yaml")],
                                "params.yaml is not valid YAML at line 2"),
    "synthetic with an impossible month": (lambda d: ["airbnb.synthetic", "--out", str(d["root"] / "c"),
                                                      "--start-month", "2024-13"], "start_month must be YYYY-MM"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_command_reports_a_user_error_in_one_line(damaged, case):
    argv, expected = CASES[case]
    assert expected in one_error_line(cli(*argv(damaged)))


def test_a_bug_keeps_its_traceback_and_says_to_report_it(capsys):
    with pytest.raises(SystemExit) as exited:
        errors.command_line(lambda: {}["missing"])
    err = capsys.readouterr().err
    assert exited.value.code == 3 and "Traceback" in err and "KeyError" in err and "please report it" in err


def test_an_os_error_names_its_file(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        errors.command_line(lambda: open(tmp_path / "absent.csv"))
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'absent.csv'}: No such file or directory\n"


def test_training_completes_through_a_damaged_embedding_cache(small_table, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "embeddings.sqlite").write_bytes(b"garbage" * 100)
    proc = cli("airbnb.train", "--data-path", str(small_table), "--output-dir", str(tmp_path / "art"), "--epochs", "1",
               "--ensemble-size", "1", "--no-progress", timeout=600, AIRBNB_CACHE_DIR=str(cache))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("embeddings.sqlite.corrupt-") == 1, "one warning names where the damaged cache went"
    assert len(list(cache.glob("embeddings.sqlite.corrupt-*"))) == 1
    assert (tmp_path / "art" / "artifacts.json").is_file()


def test_logging_follows_the_current_stdout(capsys):
    """setup_logging once, then stdout replaced and the old stream closed (a notebook kernel, a
    test's capture): records go to the new stdout, never a "--- Logging error ---" on stderr."""
    import io

    from airbnb.log import get_logger, setup_logging

    old = sys.stdout
    sys.stdout = first = io.StringIO()
    try:
        setup_logging()
        get_logger("check").info("first")
        first.close()
        sys.stdout = second = io.StringIO()
        get_logger("check").info("second")
    finally:
        sys.stdout = old
    assert second.getvalue().endswith("airbnb.check: second\n")
    assert capsys.readouterr().err == ""
