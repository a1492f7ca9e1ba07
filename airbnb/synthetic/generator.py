"""Generate a city into a folder (atomically), or reuse the one already there."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from airbnb.io import atomic_dir
from airbnb.log import get_logger

from .city import build_city
from .config import CityConfig, CityFiles
from .draws import streams
from .simulation import Simulation
from .timeline import Timeline
from .writers import write_manifest, write_reviews, write_snapshot

log = get_logger(__package__)


def generate_city(out_dir: str | os.PathLike, config: CityConfig = CityConfig(),
                  progress: bool = True) -> CityFiles:
    """Generate the city into ``out_dir``, replacing any previous content only on success."""
    out_dir = Path(out_dir)
    rng = streams(config.seed)
    timeline = Timeline.make(config, rng["timeline"])
    city = build_city(config, timeline, rng)
    with atomic_dir(out_dir) as stage:
        listing_paths, ground_truth, appeared = [], [], np.zeros(city.n, bool)
        simulation = Simulation(city, timeline, config, rng["simulation"], rng["noise"])
        for snap in tqdm(simulation, total=config.n_months, disable=not progress,
                         desc="snapshots", unit="snapshot"):
            path = stage / snap.folder / "listings.csv.gz"
            ground_truth.append(write_snapshot(path, city, snap, config, rng["snapshots"]))
            listing_paths.append(path)
            appeared[snap.rows] = True
        truth = pa.concat_tables(ground_truth)
        pq.write_table(truth, stage / "ground_truth.parquet")
        n_reviews = write_reviews(stage / "reviews.csv.gz", city, simulation.log, appeared,
                                  config, rng["reviews"])
        counts = {"listings": truth.num_rows, "reviews": n_reviews,
                  "distinct_listings": int(appeared.sum())}
        write_manifest(stage, city, config, listing_paths, counts)
    rel = [p.relative_to(stage) for p in listing_paths]
    return CityFiles(root=out_dir, listings=[out_dir / p for p in rel],
                     reviews=out_dir / "reviews.csv.gz",
                     ground_truth=out_dir / "ground_truth.parquet", manifest=out_dir / "city.json")


def ensure_city(out_dir: str | os.PathLike, config: CityConfig = CityConfig(),
                progress: bool = True) -> CityFiles:
    """The city in ``out_dir`` if it was generated with ``config``; otherwise generate it now."""
    out_dir = Path(out_dir)
    manifest = out_dir / "city.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("config") == asdict(config):
        snapshots = sorted(out_dir.glob("*/listings.csv.gz"))
        return CityFiles(out_dir, snapshots, out_dir / "reviews.csv.gz",
                         out_dir / "ground_truth.parquet", manifest)
    log.info("generating the synthetic city in %s (%s listings, seed %s): no download needed",
             out_dir, config.n_listings, config.seed)
    return generate_city(out_dir, config, progress)
