"""Command lines a newcomer can read: flags named for what they set (old names warn), no internal
references in --help, the ETL's default output, and the sentence on the rows it drops."""
from __future__ import annotations

import importlib

import pytest

from airbnb import etl, evaluate, run, train
from airbnb.config import DEFAULT_TABLE_PATH

from conftest import write_listings, write_reviews

COMMANDS = ["airbnb.etl", "airbnb.train", "airbnb.evaluate", "airbnb.tune", "airbnb.run", "airbnb.report",
            "airbnb.synthetic.cli", "airbnb.predict", "airbnb.explore_app"]


@pytest.mark.parametrize("module", COMMANDS)
def test_help_has_no_internal_references(module, capsys):
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(module).main(["--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0 and "usage:" in text
    for internal in ("SPEC", "§", ":mod:", ":func:", ":class:", ":data:", "``", "--no-no-"):
        assert internal not in text, f"{module} --help shows {internal!r}"


def test_etl_help_shows_defaults_but_no_empty_ones(capsys):
    """An empty default (no --city, no --spark-conf, no --reviews) has nothing to show: no '(default: )'."""
    with pytest.raises(SystemExit):
        etl.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # the help's lines wrap anywhere
    for empty in ("(default: )", "(default: [])", "(default: None)"):
        assert empty not in text
    assert "share of stays that leave a review (default: 0.5)" in text and "(default: pandas)" in text
    assert "e.g. albany-2024-11 -> albany) --engine" in text  # --city's own words, then the next flag


@pytest.mark.parametrize("module", ["airbnb.train", "airbnb.evaluate", "airbnb.tune", "airbnb.explore_app",
                                    "airbnb.predict"])
def test_every_command_shows_defaults_but_no_empty_ones(capsys, module):
    with pytest.raises(SystemExit):
        importlib.import_module(module).main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert not [empty for empty in ("(default: )", "(default: [])", "(default: None)") if empty in text]


def parsed(*argv: str) -> dict:
    return vars(train.build_parser().parse_args(list(argv)))


def test_split_flags_say_which_share_they_set(capsys):
    assert parsed("--validation-share", "0.3", "--test-share", "0.15") == {"test_size": 0.3, "holdout_size": 0.15}
    assert capsys.readouterr().err == ""
    assert parsed("--test-size", "0.3", "--holdout-size", "0.15") == {"test_size": 0.3, "holdout_size": 0.15}
    err = capsys.readouterr().err
    assert "--test-size is deprecated, use --validation-share (share of listings for validation" in err
    assert "--holdout-size is deprecated, use --test-share (share of listings held out as the test split" in err


def test_the_unreviewed_indicator_flag_and_its_old_names(capsys):
    assert parsed("--no-unreviewed-indicator") == {"no_reviews_indicator": False}
    assert parsed("--unreviewed-indicator") == {"no_reviews_indicator": True}
    assert parsed("--no-no-reviews-indicator") == {"no_reviews_indicator": False}
    assert parsed("--no-reviews-indicator") == {"no_reviews_indicator": True}
    assert capsys.readouterr().err.count("is deprecated, use --unreviewed-indicator") == 2


def test_the_defaults_are_unchanged_by_the_new_names():
    config = train.configure(**vars(train.build_parser().parse_args([])))
    assert (config.test_size, config.holdout_size, config.no_reviews_indicator) == (0.2, 0.2, True)


def test_etl_without_output_writes_the_citys_own_table(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "springfield-2024-11"
    listings = write_listings(folder / "listings.csv", [{"id": 1}, {"id": 2}, {"id": 3}])
    # the reviews reach the scrape month (2024-11), so they weigh every row of it
    reviews = write_reviews(folder / "reviews.csv", [(1, "2024-10-20"), (1, "2024-11-01"), (2, "2024-10-01")])
    etl.main(["--listings", str(listings), "--reviews", str(reviews)])
    assert (tmp_path / DEFAULT_TABLE_PATH.parent / "springfield.parquet").is_file()
    assert not (tmp_path / DEFAULT_TABLE_PATH).exists(), "the built-in city's table is never the default"
    assert ("dropped 1 of 3 listing-months (1 of 3 listings) with no review in the 90 days before their scrape: "
            "their estimated occupancy") in caplog.text


def test_a_city_named_like_the_built_in_one_gets_another_table(tmp_path):
    listings = write_listings(tmp_path / DEFAULT_TABLE_PATH.stem / "listings.csv", [{"id": 1}])
    out = etl.default_output([str(listings)], etl.EtlConfig())
    assert out != DEFAULT_TABLE_PATH and out.name == f"{DEFAULT_TABLE_PATH.stem}-etl.parquet"


def test_a_city_run_cross_validates_and_is_named_by_its_folder(tmp_path):
    listings = write_listings(tmp_path / "albany-2024-11" / "listings.csv", [{"id": 1}])
    params = run.city_params([str(listings)])
    assert params == {"run_dir": "runs/albany", "listings": [str(listings)], "reviews": None,
                      "data_path": "data/processed/albany.parquet", "cv": evaluate.CV_FOLDS}
    assert run.city_params([str(listings)], ["r.csv"], "alb-2")["run_dir"] == "runs/alb-2"
    with pytest.raises(run.RunError, match="--name '../x'"):
        run.city_params([str(listings)], name="../x")


@pytest.mark.parametrize("argv, message", [([], "either a params file or --city"),
                                           (["p.yaml", "--city", "l.csv"], "either a params file or --city"),
                                           (["p.yaml", "--name", "x"], "go with --city")])
def test_run_takes_a_params_file_or_a_city(argv, message, capsys):
    with pytest.raises(SystemExit):
        run.main(argv)
    assert message in capsys.readouterr().err


def test_make_lab_serves_the_repository_root(tmp_path):
    """As root too (--allow-root), without a browser: its file browser lists runs/'s siblings."""
    import json
    import os
    import shutil
    import signal
    import subprocess
    import time
    import urllib.request

    from airbnb.explore_server import free_port

    from conftest import REPO

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port, token = free_port(), "analyst-test"
    server = subprocess.Popen(["make", "-o", "install", "lab", f"LAB_ARGS=--port={port} --IdentityProvider.token={token}"
                               f" --ServerApp.runtime_dir={tmp_path}"], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "BROWSER": "false"})
    try:
        deadline, listed = time.monotonic() + 90, None
        while listed is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listed = {item["name"] for item in json.load(r)["content"]}
            except OSError:
                time.sleep(1)
        assert listed is not None, server.stdout.read1().decode() if server.poll() is not None else "no answer in 90 s"
        assert {"README.md", "notebooks", "airbnb", "Makefile"} <= listed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_readme_leads_with_the_analysts_path_and_its_environment():
    """Its first 10 lines give the own-city command and the environment the python commands need,
    and no `python -m` command comes before the README says to activate .venv."""
    from conftest import REPO

    text = (REPO / "README.md").read_text()
    lead = "\n".join(text.splitlines()[:10])
    assert "make city LISTINGS=" in lead and "REVIEWS=" in lead and "report.html" in lead
    assert "source .venv/bin/activate" in lead
    assert text.index(".venv/bin/activate") < text.index("python -m "), "a python -m command before the .venv"
