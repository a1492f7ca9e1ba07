"""Shared fixtures: tiny hand-made Inside Airbnb files and the location of ../shared data."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "insideairbnb"
ALBANY = SHARED_DATA / "albany-2024-11"
NYC_SAMPLE = SHARED_DATA / "nyc-2025-08-sample"

# The embedding cache of one test session: shared by every test (and notebook kernel) so no text is
# encoded twice, never the user's own cache (even when $AIRBNB_CACHE_DIR is set), removed at the end.
TEST_CACHE = tempfile.mkdtemp(prefix="airbnb-test-cache-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["AIRBNB_CACHE_DIR"] = TEST_CACHE


@pytest.fixture(autouse=True)
def _airbnb_records_reach_caplog(caplog, monkeypatch):
    """caplog listens at the root logger, which ``airbnb`` records stop reaching once a test ran
    setup_logging: hand them to caplog directly, and only directly (never twice)."""
    logger = logging.getLogger("airbnb")
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(caplog.handler)
    yield
    logger.removeHandler(caplog.handler)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


def cli_error(capsys, main, argv) -> str:
    """Run a command's ``main`` expecting a user error: exit 1 and one line ``error: ...`` on stderr
    (no traceback). Returns that line."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 1, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def cli(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """``python -m <args>`` from the repository, as a user runs it (``env`` added to the environment)."""
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The one line ``error: ...`` of a command that failed on a user error (exit 1, no traceback)."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def rerecord(folder: Path) -> None:
    """Update a run's completion record after a test edited its files on purpose (as another
    version would have written them), so they read as edited, not as damaged."""
    from airbnb import artifacts
    from airbnb.io import file_sha256, read_json, write_json

    record = read_json(folder / artifacts.RECORD)
    record["files"] = {name: file_sha256(folder / name) for name in record["files"] if (folder / name).is_file()}
    write_json(folder / artifacts.RECORD, record)


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared Inside Airbnb data not found at {path} (expected ../shared beside the repo)")
    return path


LISTING_DEFAULTS = {
    "id": 1,
    "listing_url": "https://www.airbnb.com/rooms/1",
    "last_scraped": "2024-11-05",
    "name": "Cozy, quiet room\nwith <b>view</b>",
    "price": "$100.00",
    "latitude": "40.7",
    "longitude": "-73.9",
    "neighbourhood_cleansed": "Harlem",
    "neighbourhood_group_cleansed": "Manhattan",
    "property_type": "Entire rental unit",
    "room_type": "Entire home/apt",
    "accommodates": "2",
    "bathrooms": "",
    "bathrooms_text": "1 bath",
    "bedrooms": "1",
    "beds": "1",
    "amenities": '["Wifi", "Kitchen"]',
    "review_scores_rating": "4.8",
    "review_scores_accuracy": "4.8",
    "review_scores_cleanliness": "4.7",
    "review_scores_checkin": "4.9",
    "review_scores_communication": "4.9",
    "review_scores_location": "4.6",
    "review_scores_value": "4.7",
    "number_of_reviews_ltm": "12",
    "host_is_superhost": "t",
    "host_response_rate": "95%",
    "host_acceptance_rate": "80%",
    "host_identity_verified": "t",
    "instant_bookable": "f",
}


def write_listings(path: Path, rows: list[dict], drop: tuple[str, ...] = ()) -> Path:
    """A listings file in Inside Airbnb's text format: each row overrides the defaults."""
    frame = pd.DataFrame([{**LISTING_DEFAULTS, **row} for row in rows]).drop(columns=list(drop))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def write_reviews(path: Path, reviews: list[tuple[int, str]]) -> Path:
    """Reviews as (listing_id, date) pairs, with the real file's other columns."""
    frame = pd.DataFrame(
        [{"listing_id": lid, "id": i, "date": d, "reviewer_id": 7, "reviewer_name": "Ann",
          "comments": "Great, clean\nplace"} for i, (lid, d) in enumerate(reviews)])
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def small_city(tmp_path_factory):
    """A 300-listing, 12-month synthetic city in raw Inside Airbnb format (with ground truth)."""
    from airbnb.synthetic import CityConfig, generate_city

    return generate_city(tmp_path_factory.mktemp("city") / "city", CityConfig(n_listings=300, seed=7),
                         progress=False)


@pytest.fixture(scope="session")
def small_table(small_city, tmp_path_factory) -> Path:
    """The small city's modeling table (Parquet)."""
    from airbnb import etl

    out = tmp_path_factory.mktemp("table") / "city.parquet"
    etl.run_etl(small_city.root, small_city.reviews, out)
    return out


def trained_on_one_month(small_table: Path, tmp_path_factory, month: str, **settings) -> tuple[pd.DataFrame, Path]:
    """(rows, artifacts) of a run trained on one month ('first' or 'last') of the small city, as on a
    city with one Inside Airbnb snapshot."""
    from airbnb import train

    table = pd.read_parquet(small_table)
    months = table["year_month"]
    rows = table[months == (months.min() if month == "first" else months.max())].reset_index(drop=True)
    path = tmp_path_factory.mktemp("one-month") / "table.parquet"
    rows.to_parquet(path, index=False)
    out = tmp_path_factory.mktemp("one-month-run")
    train.train(train.TrainConfig(data_path=str(path), output_dir=str(out), progress=False, **settings))
    return rows, out


NEW_LISTING_DISCOUNT = 20.0


@pytest.fixture(scope="session")
def trained_city(tmp_path_factory):
    """A 2,000-listing synthetic city and a model trained on it (16 epochs): (CityFiles, TrainResult).

    Its listings without reviews yet are NEW_LISTING_DISCOUNT dollars (of quality) cheaper."""
    from airbnb import etl, train
    from airbnb.synthetic import CityConfig, generate_city

    root = tmp_path_factory.mktemp("learn")
    city = generate_city(root / "city", CityConfig(n_listings=2000, seed=11, new_listing_discount=NEW_LISTING_DISCOUNT),
                         progress=False)
    etl.run_etl(city.root, city.reviews, root / "table.parquet")
    result = train.train(train.TrainConfig(data_path=str(root / "table.parquet"), output_dir=str(root / "art"),
                                           epochs=16, progress=False))
    return city, result


@pytest.fixture(scope="session")
def small_run(small_table, tmp_path_factory) -> Path:
    """A tiny two-epoch run on the small city (its artifacts directory): for the price range and the explorer."""
    from airbnb import train

    out = tmp_path_factory.mktemp("small-run")
    train.train(train.TrainConfig(data_path=str(small_table), output_dir=str(out), epochs=2, progress=False))
    return out


@pytest.fixture(scope="session")
def albany_city_run(tmp_path_factory) -> Path:
    """One short run of the one-command city route (``python -m airbnb.run --city``) on Albany
    (Inside Airbnb, 2024-11, listings and reviews): its run folder. Every stage, shortened: 20
    epochs of one member, 2-fold cross-validation against every baseline (~1-2 minutes)."""
    from airbnb import run

    require_shared(ALBANY)
    root = tmp_path_factory.mktemp("albany-city")
    params = run.city_params([str(ALBANY / "listings.csv.gz")], [str(ALBANY / "reviews.csv.gz")], "albany")
    params.update(run_dir=str(root / "albany"), data_path=str(root / "albany.parquet"), cv=2, epochs=20,
                  ensemble_size=1)
    return run.run(None, params=params)
