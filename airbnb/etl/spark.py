"""The ETL on Apache Spark (``--engine spark``): the pandas engine's steps and table, for inputs
past one machine's memory (every snapshot of many cities), on one machine or a cluster.

    python -m airbnb.etl --engine spark --listings 'cities/*/*/listings.csv.gz' --reviews cities/*/reviews.csv.gz \\
        --output table/ [--spark-master spark://host:7077] [--spark-conf spark.executor.memory=4g]

How the work is divided (the modules before these declare everything both engines share):

- **Row by row, on the workers, with the pandas engine's own functions**
  (:mod:`~airbnb.etl.spark_workers`). One task per listings file reads it
  (:func:`~airbnb.etl.reading.read_listings_file`) and parses every row as the pandas engine
  does (:func:`~airbnb.etl.parsing.parse_keys`, :func:`~airbnb.etl.parsing.parse_prices`,
  :func:`~airbnb.etl.parsing.parse_listing_features` without the score rescaling) and writes the
  parsed values and, per row, the drop reasons and parse issues as flags, to Parquet in a scratch
  folder beside ``--output``; reviews files likewise (:func:`~airbnb.etl.weights.parse_reviews`:
  each listing's review count per month). Spark reads them from there, by column: the wide rows
  (650 characters of amenities each) never stream through the JVM, and are never shuffled. While
  it holds a file's rows, the worker also counts them for the first steps and takes the file's
  review-score statistics (:func:`~airbnb.etl.spark_workers.file_stats`), returned with its task:
  a pass over the rows fewer.
- **Across rows, in Spark** (:mod:`~airbnb.etl.spark_steps`). The latest scrape per
  listing-month (a window over the keys alone, only when a key can repeat; the older rows are
  then flagged by a join, and the per-file statistics taken again, by the same function, from the
  marked rows), the per-file score scale (:func:`~airbnb.etl.parsing.old_scale_from_stats`), the
  impossible values of :data:`airbnb.schema.DOMAINS`, the 3-month review window and each
  listing's reviews read (computed on the keys in one query, then joined: sent whole to every
  task for an input of up to :data:`~airbnb.etl.spark_steps.BROADCAST_ROWS` rows), the weight
  (:func:`~airbnb.etl.weights.occupancy_from_reviews`), the fill values (exact medians and means,
  then :func:`~airbnb.etl.steps.fill_values_from`) and every count of the summary, which is the
  same record (:func:`~airbnb.etl.writing.summary_record`).
- **Written** (here) as Parquet partitioned by ``city`` and ``year_month`` into a temporary folder
  beside ``--output``, published together with the summary (:func:`airbnb.io.atomic_paths`).

The master is ``--spark-master``, else the one spark-submit, ``PYSPARK_SUBMIT_ARGS`` or
``spark-defaults.conf`` set, else ``local[*]``. On a cluster, the inputs and ``--output`` must be on
a file system every node mounts at the same path, and the workers' Python needs this package.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Callable

from ..io import atomic_paths, exclusive, json_text, scratch_dir
from ..log import get_logger
from ..schema import PARTITION_COLUMNS
from .config import EtlConfig, Summary, summary_path
from .reading import inputs
# PySpark as the steps import it (without it, they say how to install it)
from .spark_steps import DataFrame, PySparkException, SparkSession, build, timed, worker_errors
from .writing import check_output, summary_record, write_failure

log = get_logger(__package__)

# A writing task keeps up to this many (city, month) files open at once instead of first sorting
# its rows by partition: a task's rows span a few months of a city. Each open Parquet writer
# buffers its row group (Parquet shrinks them to fit the heap), and a task that meets more
# partitions sorts its remaining rows as it would without the setting, so many cities stay bounded.
OUTPUT_WRITERS = 16


# --------------------------------------------------------------------------- the session

def session(config: EtlConfig = EtlConfig()) -> SparkSession:
    """The session to run in: the active one, else a new one on ``config.spark_master``, the
    configured master (spark-submit, ``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf``) or ``local[*]``."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers: this Python, with this package
    builder = SparkSession.builder.appName("airbnb-etl").config("spark.sql.session.timeZone", "UTC") \
        .config("spark.ui.showConsoleProgress", "false") \
        .config("spark.sql.maxConcurrentOutputFileWriters", str(OUTPUT_WRITERS))
    if config.spark_master or not _master_configured():
        builder = builder.master(config.spark_master or "local[*]")
        if (config.spark_master or "local").startswith("local"):  # not 200 shuffle partitions for a few cores
            builder = builder.config("spark.sql.shuffle.partitions", str(4 * (os.cpu_count() or 1)))
    for item in config.spark_conf:
        builder = builder.config(*item.split("=", 1))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _master_configured() -> bool:
    """Whether the standard Spark environment names a master (so ``local[*]`` must not override it)."""
    if "PYSPARK_GATEWAY_PORT" in os.environ or "--master" in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return True  # started by spark-submit, or told which master to use
    home = os.environ.get("SPARK_HOME")
    folder = os.environ.get("SPARK_CONF_DIR") or (home and os.path.join(home, "conf"))
    defaults = Path(folder or "/nonexistent") / "spark-defaults.conf"
    return defaults.is_file() and any(line.split()[:1] == ["spark.master"] for line in defaults.read_text().splitlines())


def write(table: DataFrame, summarise: Callable[[int], dict], output: Path) -> dict:
    """The table as Parquet partitioned by city and month, published with its summary as one:
    ``summarise(listings)`` gives it, the listings counted in the written table (by its column)."""
    try:
        with atomic_paths(output, summary_path(output)) as (tmp_table, tmp_summary):
            tmp_table.unlink()  # Spark makes the folder
            with worker_errors(), timed("writing the partitioned table"):
                table.write.partitionBy(*PARTITION_COLUMNS).parquet(str(tmp_table.absolute()))
            with timed("counting the listings written"):
                listings = table.sparkSession.read.parquet(str(tmp_table.absolute())) \
                    .select("listing_id").distinct().count()
            summary = summarise(listings)
            tmp_summary.write_text(json_text({"output": str(output), **summary}))
    except (OSError, PySparkException) as exc:
        raise write_failure(output, exc, limit=300) from exc
    return summary


def run_etl(listings, reviews=None, output: str | Path = "table", config: EtlConfig = EtlConfig(),
            spark: SparkSession | None = None) -> dict:
    """Build the table with Spark (in ``spark``, else :func:`session`) and write it, a partitioned
    folder, with its summary; returns the summary, the record :func:`airbnb.etl.run_etl` returns."""
    started = time.perf_counter()
    output, config = Path(output), dataclasses.replace(config, engine="spark")
    check_output(output, partitioned=True)
    paths, reviews_paths = inputs(listings, reviews, config, output)
    with exclusive(output):  # before the JVM starts: a second ETL into the same table stops at once
        spark = spark or session(config)
        summary = Summary()
        with scratch_dir(output) as scratch:
            table, parts = build(spark, paths, reviews_paths, config, summary, scratch)
            record = write(table, lambda listings: summary_record(
                summary, paths, reviews_paths, config, parts["rows_out"], listings, parts["cities"],
                parts["groups"], started), output)
    log.info("wrote %s (%d rows, %d listings, cities %s) in %.1fs", output, record["rows_out"],
             record["listings_out"], ", ".join(record["cities"]), time.perf_counter() - started)
    return {"output": str(output), **record}
