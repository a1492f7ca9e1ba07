"""Raw files -> the table, with either engine: :func:`build_table` runs the pandas engine's steps
in order, :func:`run_etl` builds with ``config.engine`` and writes the table with its summary.

The pandas engine: read the listings (:mod:`~airbnb.etl.reading`), keep the rows with a key
and each listing-month's latest scrape, parse (:mod:`~airbnb.etl.parsing`), clean
(:mod:`~airbnb.etl.steps`), weigh (:mod:`~airbnb.etl.weights`), impute, and cast to the schema
(:mod:`~airbnb.etl.writing`). The Spark engine (:mod:`airbnb.etl.spark`) builds the same table.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa

from ..config import DEFAULT_TABLE_PATH
from ..io import exclusive
from ..log import get_logger
from ..schema import CITY, ROW_KEY
from .config import EtlConfig, EtlError, Summary
from .parsing import parse_listing_features
from .reading import inputs, read_listings
from .steps import (fill_reduced_scrapes, fit_fill_values, impute, keep_essential, keep_latest_per_month,
                    keep_parsed_keys, keep_possible, keep_valid_price, mask_impossible)
from .weights import attach_weight
from .writing import check_output, neighbourhood_groups, summary_record, to_arrow, write_table

log = get_logger(__package__)


def build_table(listings: str | Path | Iterable[str | Path], reviews=None,
                config: EtlConfig = EtlConfig()) -> tuple[pa.Table, dict]:
    """Build the modeling table with pandas; returns it (Arrow, exact schema) and its summary dict.

    ``reviews``: one reviews file, or several (each city's, for a table of many cities).
    """
    started = time.perf_counter()
    paths, reviews_paths = inputs(listings, reviews, config)
    summary = Summary()
    raw = read_listings(paths, [config.city_of(p) for p in paths])
    summary.step("read_listings", len(raw), len(raw))
    df = keep_latest_per_month(keep_parsed_keys(raw, summary), summary)
    df = keep_valid_price(df, summary)
    keys = df[[*ROW_KEY, "snapshot_date", "target_price", CITY, "_far", "_file"]]
    rescaled: dict[int, list[str]] = {}
    df = pd.concat([keys, mask_impossible(parse_listing_features(df, summary.parse_issues, rescaled),
                                          summary.parse_issues)], axis=1)
    summary.rescaled_scores = {str(paths[i]): columns for i, columns in rescaled.items()}
    if rescaled:
        log.info("old-scale review scores turned into 0-5 stars: %s", summary.rescaled_scores)
    df["amenities"], summary.reduced_scrapes = fill_reduced_scrapes(df, paths)
    df = keep_possible(keep_essential(df, summary), summary)
    df = attach_weight(df, reviews_paths, config, summary)
    impute(df, fit_fill_values(df), summary.imputation)
    table = to_arrow(df.sort_values(ROW_KEY, kind="stable"))
    cities = {str(k): int(v) for k, v in df[CITY].value_counts().items() if v}
    return table, summary_record(summary, paths, reviews_paths, config, table.num_rows,
                                 int(df["listing_id"].nunique()), cities, neighbourhood_groups(df), started)


def run_etl(listings, reviews=None, output: str | Path = DEFAULT_TABLE_PATH,
            config: EtlConfig = EtlConfig()) -> dict:
    """Build and write the table from ``listings`` (and ``reviews``) with ``config.engine``;
    returns the summary."""
    if listings is None:
        raise EtlError("no listings given: pass listings.csv[.gz] files, globs or snapshot folders, or "
                       "build the built-in synthetic city's table with "
                       f"`python -m airbnb.synthetic --table {output}`")
    if config.engine == "spark":
        from .spark import run_etl as run_spark_etl  # pyspark only for this engine

        return run_spark_etl(listings, reviews, output, config)
    check_output(Path(output))
    with exclusive(output):
        paths, reviews_paths = inputs(listings, reviews, config, output)
        table, summary = build_table(paths, reviews_paths, config)
        write_table(table, summary, output)
    log.info("wrote %s (%d rows, %d listings) in %.1fs", output, summary["rows_out"],
             summary["listings_out"], summary["seconds"])
    return {"output": str(output), **summary}
