"""The ETL on Apache Spark (``--engine spark``): the pandas engine's steps and table, for inputs
past one machine's memory (every snapshot of many cities), on one machine or a cluster.

    python -m airbnb.etl --engine spark --listings 'cities/*/*/listings.csv.gz' --reviews cities/*/reviews.csv.gz \\
        --output table/ [--spark-master spark://host:7077] [--spark-conf spark.executor.memory=4g]

How the work is divided (:mod:`airbnb.etl` declares everything both engines share):

- **Row by row, on the workers, with the pandas engine's own functions.** One task per listings
  file reads it (:func:`airbnb.etl.read_listings_file`) and parses every row as the pandas engine
  does (:func:`~airbnb.etl.parse_keys`, :func:`~airbnb.etl.parse_prices`,
  :func:`~airbnb.etl.parse_listing_features` without the score rescaling) and writes the parsed
  values and, per row, the drop reasons and parse issues as flags, to Parquet in a scratch folder
  beside ``--output``; reviews files likewise (:func:`~airbnb.etl.parse_reviews`: each listing's
  review count per month). Spark reads them from there, by column: the wide rows (650 characters
  of amenities each) never stream through the JVM, and are never shuffled. While it holds a
  file's rows, the worker also counts them for the first steps and takes the file's review-score
  statistics (:func:`file_stats`), returned with its task: a pass over the rows fewer.
- **Across rows, in Spark.** The latest scrape per listing-month (a window over the keys alone,
  only when a key can repeat; the older rows are then flagged by a join, and the per-file
  statistics taken again, by the same function, from the marked rows), the per-file score scale
  (:func:`~airbnb.etl.old_scale_from_stats`), the impossible values of
  :data:`airbnb.schema.DOMAINS`, the 3-month review window and each listing's reviews read
  (computed on the keys in one query, then joined: sent whole to every task for an input of up
  to :data:`BROADCAST_ROWS` rows), the weight
  (:func:`~airbnb.etl.occupancy_from_reviews`), the fill values (exact medians and means, then
  :func:`~airbnb.etl.fill_values_from`) and every count of the summary, which is the same record
  (:func:`~airbnb.etl.summary_record`).
- **Written** as Parquet partitioned by ``city`` and ``year_month`` into a temporary folder beside
  ``--output``, published together with the summary (:func:`airbnb.io.atomic_paths`).

The master is ``--spark-master``, else the one spark-submit, ``PYSPARK_SUBMIT_ARGS`` or
``spark-defaults.conf`` set, else ``local[*]``. On a cluster, the inputs and ``--output`` must be on
a file system every node mounts at the same path, and the workers' Python needs this package.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import operator
import os
import re
import sys
import time
import warnings
from functools import partial, reduce
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import (ESSENTIAL_COLUMNS, FAR_FROM_CITY, MEAN_IMPUTED, MEDIAN_IMPUTED, OLD_SCORE_TOP, EtlConfig, EtlError,
               Summary, check_listing_headers, check_output, far_from_city, fill_values_from, imputation_record, inputs,
               listing_review_counts, log, month_index, occupancy_from_reviews, old_scale_from_stats,
               parse_keys, parse_listing_features, parse_prices, parse_reviews, read_csv_columns,
               read_listings_file, reduced_scrapes_record, rescaled_columns, reviews_city, reviews_cover, score_divisors,
               summary_path, summary_record, zero_weight_note, NO_AMENITIES, REVIEW_COLUMNS, month_text)
from ..errors import one_line
from ..io import atomic_paths, exclusive, json_text, scratch_dir
from ..schema import CITY, DOMAINS, PARTITION_COLUMNS, ROW_KEY, TABLE_SCHEMA

try:
    from pyspark.errors import PySparkException
    from pyspark.sql import DataFrame, SparkSession, Window
    from pyspark.sql import functions as F
except ImportError as exc:  # the optional extra is not installed
    raise EtlError("--engine spark needs PySpark: pip install -e '.[spark]' (or pip install pyspark==4.3.0), "
                   "and Java 17 or newer") from exc

# PySpark 4.3 warns that it does not yet fully support pandas 3; this engine's use of it (pandas
# frames to and from its workers) is checked row by row against the pandas engine by the tests.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

# Inputs of at most this many listing rows join their narrow lookups (older scrapes, review
# windows: at most a row each) by sending them whole to every task, a hash table of tens of MB.
BROADCAST_ROWS = 2_000_000
_SPARK_TYPES = {pa.int64(): "bigint", pa.int32(): "int", pa.float32(): "float", pa.string(): "string",
                pa.bool_(): "boolean", pa.date32(): "date"}
_PANDAS_TYPES = {"float64": "double", "str": "string", "object": "string", "boolean": "boolean", "bool": "boolean"}
_ARROW_TYPES = {"int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(), "string": pa.string(),
                "boolean": pa.bool_(), "date": pa.date32()}
# A writing task keeps up to this many (city, month) files open at once instead of first sorting
# its rows by partition: a task's rows span a few months of a city. Each open Parquet writer
# buffers its row group (Parquet shrinks them to fit the heap), and a task that meets more
# partitions sorts its remaining rows as it would without the setting, so many cities stay bounded.
OUTPUT_WRITERS = 16
# A worker's verdicts on the amenity texts it has parsed (text -> accepted): a listing's list
# repeats in every snapshot, and each snapshot is a task of its own. Bounded (~1 KB a text).
KNOWN_AMENITIES: dict[str, bool] = {}
KNOWN_AMENITIES_MAX = 300_000
FLAG = "_flag_"  # prefix of the per-row flag columns (a parse issue or a drop reason)
PRICE_REASONS = ("missing_price", "unparseable_price", "nonpositive_price", "impossible_price")
SCORES = list(OLD_SCORE_TOP)
NEIGHBOURHOOD, GROUP = "neighbourhood_cleansed", "neighbourhood_group_cleansed"


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


@contextlib.contextmanager
def _worker_errors():
    """A user error raised on a worker (a damaged input file) -> the same EtlError here, in one line."""
    try:
        yield
    except PySparkException as exc:
        found = re.search(r"EtlError: (.+)", str(exc))
        if found:
            raise EtlError(found.group(1).strip()) from None
        raise


# --------------------------------------------------------------------------- row by row, on the workers

def _feature_layout(columns: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The parsed feature columns (name -> Spark type) and the parse-issue keys of rows with
    ``columns``: :func:`parse_listing_features` itself, run on no rows."""
    issues: dict = {}
    out = parse_listing_features(pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}), issues,
                                 flags={}, rescale=False)
    return {c: _PANDAS_TYPES[str(t)] for c, t in out.dtypes.items()}, list(issues)


def _listing_fields(features: dict[str, str], issue_keys: Sequence[str]) -> dict[str, str]:
    """The columns the workers give for every listing row (name -> Spark type)."""
    return {"_file": "int", "_row": "bigint", CITY: "string", "_dropped": "string", "listing_id": "bigint",
              "snapshot_date": "date", "year_month": "string", "_month": "bigint", "target_price": "double",
              "_far": "boolean",
              **{f"{FLAG}{k}": "boolean" for k in PRICE_REASONS},
              **features, **{f"{FLAG}{k}": "boolean" for k in issue_keys}}


def parse_file(path: Path, index: int, city: str, fields: dict[str, str]) -> pa.Table:
    """One listings file, every row, parsed as the pandas engine parses it: the rows with a valid
    key with their values, price and flags, then the others with their reason (``_dropped``), as
    ``fields`` (those this file lacks are missing)."""
    raw = read_listings_file(path)
    keyed, reasons = parse_keys(raw)
    price, price_reasons = parse_prices(keyed["price"])
    issues, flags = {}, {}
    if len(KNOWN_AMENITIES) > KNOWN_AMENITIES_MAX:
        KNOWN_AMENITIES.clear()
    features = parse_listing_features(keyed, issues, flags=flags, rescale=False, known_amenities=KNOWN_AMENITIES)
    kept = pd.DataFrame({"_row": keyed.index.to_numpy(np.int64), "listing_id": keyed["listing_id"],
                         "snapshot_date": keyed["snapshot_date"].dt.date, "year_month": keyed["year_month"],
                         "_month": month_index(keyed["snapshot_date"]), "target_price": price,
                         "_far": far_from_city(keyed),
                         **{f"{FLAG}{k}": v for k, v in price_reasons.items()}}, index=keyed.index)
    kept = pd.concat([kept, features, pd.DataFrame({f"{FLAG}{k}": v for k, v in flags.items()}, index=keyed.index)],
                     axis=1)
    bad = np.select(list(reasons.values()), list(reasons), None)
    dropped = pd.DataFrame({"_row": raw.index.to_numpy(np.int64), "_dropped": bad})[pd.notna(bad)]
    return pa.concat_tables(_arrow(frame.reset_index(drop=True).assign(_file=np.int32(index), **{CITY: city}), fields)
                            for frame in (kept, dropped))


def _arrow(frame: pd.DataFrame, fields: dict[str, str]) -> pa.Table:
    """A frame as an Arrow table of ``fields`` (missing values, NaN included, as nulls; columns
    the frame lacks, all null)."""
    schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in fields.items()])
    frame = frame.assign(**{name: None for name in fields if name not in frame})[list(fields)]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _stats_columns(issue_keys: Sequence[str]) -> list[str]:
    """The listing columns :func:`file_stats` reads."""
    return ["_file", "_dropped", "_latest", "target_price", *(f"{FLAG}{k}" for k in (*PRICE_REASONS, *issue_keys)),
            *SCORES]


def _flag(rows: pd.DataFrame, key: str) -> np.ndarray:
    """A flag column as plain booleans (missing: not flagged; a column the rows lack: never)."""
    column = rows.get(f"{FLAG}{key}")
    return np.zeros(len(rows), bool) if column is None else column.to_numpy(dtype=bool, na_value=False)


def file_stats(rows: pd.DataFrame, issue_keys: Sequence[str]) -> pd.DataFrame:
    """Per listings file (``_file``) of ``rows`` (all of a file or a part of it: :func:`_add_up`
    combines the parts), the first steps' counts, its parse issues among the kept rows, and its
    review-score statistics (for :func:`old_scale_from_stats`).

    The same function for both ways the statistics are made: by the worker that parsed the file,
    from the rows it holds (when no key can repeat across files, ``_latest`` is known there), else
    by a pass over the rows once the latest scrapes are marked."""
    latest = rows["_latest"].to_numpy(dtype=bool, na_value=False)
    kept = latest & (rows["target_price"] > 0).to_numpy()
    dropped = rows["_dropped"]
    counts = pd.DataFrame({
        "read": 1, "invalid_id": dropped == "invalid_id", "invalid_last_scraped": dropped == "invalid_last_scraped",
        "older_scrape_same_month": dropped.isna().to_numpy() & ~latest, "latest": latest,
        **{k: latest & _flag(rows, k) for k in PRICE_REASONS}, "kept": kept,
        **{k: kept & _flag(rows, k) for k in issue_keys},
        **{f"above_five:{c}": kept & (rows[c] > 5).to_numpy() for c in SCORES},
        **{f"count:{c}": kept & rows[c].notna().to_numpy() for c in SCORES}}, index=rows.index).astype("int64")
    files = rows["_file"].rename("_file")
    maxima = rows.loc[kept, SCORES].astype("float64").groupby(files[kept]).max().add_prefix("max:")
    return counts.groupby(files).sum().join(maxima)  # a file with no kept row: no maxima (NaN)


def _add_up(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The per-file statistics of :func:`file_stats` from those of parts of the files."""
    stacked = pd.concat(parts)
    return stacked.groupby(level="_file").agg({c: "max" if c.startswith("max:") else "sum" for c in stacked}) \
        .sort_index()


def _stats_text(stats: pd.DataFrame) -> str:
    return stats.reset_index().to_json(orient="records")


def _stats_from_text(text: str) -> pd.DataFrame:
    records = pd.DataFrame(json.loads(text))
    if records.empty:
        return pd.DataFrame(index=pd.Index([], name="_file", dtype="int64"))
    return records.astype({c: "float64" for c in records if c.startswith("max:")}).set_index("_file")


REVIEW_FIELDS = {"listing_id": "bigint", "month": "bigint", "count": "bigint"}
TASK_FIELDS = {"kind": "string", "index": "int", "path": "string", "city": "string"}
DONE_FIELDS = {"kind": "string", "index": "int", "rows": "bigint", "unparseable": "bigint", "months": "string",
               "repeats": "bigint", "stats": "string"}


def _parse_tasks(batches: Iterator[pa.RecordBatch], fields: dict[str, str], issue_keys: Sequence[str],
                 scratch: str) -> Iterator[pa.RecordBatch]:
    """Parse each task's file and write its rows to Parquet in ``scratch``, read by Spark from
    there (written once, by column, never streamed through the JVM); returns per file a record of
    its rows, unparseable reviews, months (a listings file's ``2025-01,2025-02``; a reviews file's
    last review's :func:`~airbnb.etl.month_index`, for :func:`~airbnb.etl.reviews_cover`), rows whose key repeats one before
    and, for a listings file, its :func:`file_stats` as if no key repeated another file's (JSON).

    A listings file: its rows (:func:`parse_file`) in ``listings/``. A reviews file: its review count
    per (listing_id, month) in ``reviews/``; its undated or unparseable reviews are counted."""
    for batch in batches:
        for kind, index, path, city in zip(*batch.to_pydict().values()):
            unparseable, months, repeats, stats = 0, "", 0, "[]"
            if kind == "listings":
                table = parse_file(Path(path), index, city, fields)
                keys = table.select(ROW_KEY).drop_null().to_pandas()
                months, repeats = ",".join(sorted(keys["year_month"].unique())), int(keys.duplicated().sum())
                rows = table.select([c for c in _stats_columns(issue_keys) if c in fields]).to_pandas()
                stats = _stats_text(file_stats(rows.assign(_latest=rows["_dropped"].isna()), issue_keys))
            else:
                reviews, unparseable = parse_reviews(read_csv_columns(Path(path), REVIEW_COLUMNS))
                counts = reviews.groupby(["listing_id", "month"]).size().rename("count").reset_index()
                months = "" if reviews.empty else str(int(reviews["month"].max()))
                table = _arrow(counts, REVIEW_FIELDS)
            pq.write_table(table, os.path.join(scratch, kind, f"part-{index:05d}.parquet"))
            yield _arrow(pd.DataFrame({"kind": [kind], "index": [index], "rows": [table.num_rows],
                                       "unparseable": [unparseable], "months": [months], "repeats": [repeats],
                                       "stats": [stats]}), DONE_FIELDS).to_batches()[0]


def _ddl(fields: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in fields.items())


def _one_task_each(spark: SparkSession, rows: list[tuple], schema: str) -> DataFrame:
    """A DataFrame of ``rows``, one per partition: each file is read by a task of its own."""
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, max(len(rows), 1)), schema)


def _parse(spark: SparkSession, paths: Sequence[Path], reviews_paths: Sequence[Path], config: EtlConfig,
           fields: dict[str, str], issue_keys: Sequence[str], scratch: Path) -> tuple[DataFrame, DataFrame | None, pd.DataFrame]:
    """Every file parsed by a task of its own (:func:`_parse_tasks`; the reviews first, each as long
    as a few listings files): the listing rows and the review counts, read from ``scratch``, and
    per file (kind, index) its rows and unparseable reviews."""
    tasks = [("reviews", j, str(p), "") for j, p in enumerate(reviews_paths)] \
        + [("listings", i, str(p), config.city_of(p)) for i, p in enumerate(paths)]
    for kind in ("listings", "reviews"):
        (scratch / kind).mkdir()
    parsed = _one_task_each(spark, tasks, _ddl(TASK_FIELDS)).mapInArrow(
        partial(_parse_tasks, fields=fields, issue_keys=issue_keys, scratch=str(scratch.absolute())), _ddl(DONE_FIELDS))
    with _worker_errors(), _timed("reading and parsing the files"):
        done = pd.DataFrame([r.asDict() for r in parsed.collect()], columns=list(DONE_FIELDS))
    rows = spark.read.schema(_ddl(fields)).parquet(str(scratch / "listings"))
    reviews = spark.read.schema(_ddl(REVIEW_FIELDS)).parquet(str(scratch / "reviews")) if reviews_paths else None
    return rows, reviews, done.set_index(["kind", "index"]).sort_index()


# --------------------------------------------------------------------------- across rows, in Spark

def _count(condition) -> F.Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def _violates(column: str) -> F.Column:
    """Outside its domain (:meth:`airbnb.schema.Domain.violates`: infinite too; missing passes)."""
    value, domain = F.col(column), DOMAINS[column]
    return value.isNotNull() & ~F.isnan(value) & ~value.between(domain.low, domain.high)


@contextlib.contextmanager
def _timed(phase: str):
    """Log how long a phase took (what to look at when a run is slow)."""
    started = time.perf_counter()
    yield
    log.info("spark: %s: %.1f s", phase, time.perf_counter() - started)


def _lookup(frame: DataFrame, path: Path, broadcast: bool) -> DataFrame:
    """``frame``, a few narrow columns to join the wide rows with, computed once into ``path``; sent
    whole to every task when ``broadcast`` (the wide rows stay where they are), else joined by a
    shuffle."""
    frame.write.parquet(str(path))
    found = frame.sparkSession.read.parquet(str(path))
    return F.broadcast(found) if broadcast else found


def _keys_can_repeat(done: pd.DataFrame) -> bool:
    """Whether a (listing, month) can have more than one scrape: in a file, or in two files with a
    month in common."""
    listings = done.loc["listings"]
    months = [m for text in listings["months"] for m in text.split(",") if m]
    return bool(listings["repeats"].any()) or len(months) != len(set(months))


def _latest(rows: DataFrame, done: pd.DataFrame, scratch: Path, broadcast: bool) -> DataFrame:
    """The rows with ``_latest``: a valid key's latest scrape in its month. Only when a key can
    repeat (:func:`_keys_can_repeat`) are the keys ranked, alone, and the older rows flagged by a
    join."""
    valid = F.col("_dropped").isNull()
    if not _keys_can_repeat(done):
        return rows.withColumn("_latest", valid)
    latest = Window.partitionBy(*ROW_KEY).orderBy(*(F.desc(c) for c in ("snapshot_date", "_file", "_row")))
    older = rows.filter(valid).select(*ROW_KEY, "snapshot_date", "_file", "_row") \
        .withColumn("_n", F.row_number().over(latest)).filter(F.col("_n") > 1) \
        .select("_file", "_row", F.lit(True).alias("_older"))
    return rows.join(_lookup(older, scratch, broadcast), ["_file", "_row"], "left") \
        .withColumn("_latest", valid & F.col("_older").isNull()).drop("_older")


def _review_windows(reviews: DataFrame, keys: DataFrame, scratch: Path, broadcast: bool) -> DataFrame:
    """Per (listing_id, _month) of ``keys`` (each once: the rows that can reach the table), its
    reviews that month and the two before it (:func:`airbnb.etl.reviews_in_window`), and on its
    listing's first key that listing's reviews of every month (``_read``, summed over the rows for
    the summary's ``reviews_read``): computed once, in one query, to join the rows with."""
    windows = reviews.select("listing_id", F.explode(F.sequence("month", F.col("month") + 2)).alias("_month"), "count") \
        .join(keys, ["listing_id", "_month"], "left_semi") \
        .groupBy("listing_id", "_month").agg(F.sum("count").alias("_reviews"))
    read = keys.groupBy("listing_id").agg(F.min("_month").alias("_month")) \
        .join(reviews.groupBy("listing_id").agg(F.sum("count").alias("_read")), "listing_id")
    return _lookup(windows.join(read, ["listing_id", "_month"], "full"), scratch, broadcast)


def _per_file_stats(marked: DataFrame, done: pd.DataFrame, issue_keys: Sequence[str]) -> pd.DataFrame:
    """Per listings file, its :func:`file_stats`: those its worker computed while it held the rows,
    exact unless a key can repeat across files; else from a pass over the marked rows (each task
    its part of the files, added up here)."""
    if not _keys_can_repeat(done):
        return _add_up([_stats_from_text(text) for text in done.loc["listings", "stats"]])
    columns = [c for c in _stats_columns(issue_keys) if c in marked.columns]

    def stats(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            text = _stats_text(file_stats(batch.to_pandas(), issue_keys))
            yield pa.RecordBatch.from_pydict({"stats": [text]})

    with _worker_errors(), _timed("the per-file statistics"):
        parts = marked.select(*columns).mapInArrow(stats, "stats string").collect()
    return _add_up([_stats_from_text(row["stats"]) for row in parts])


def _fill_reduced_scrapes(rows: DataFrame, paths: Sequence[Path]) -> tuple[DataFrame, dict]:
    """:func:`airbnb.etl.fill_reduced_scrapes` in Spark: a reduced scrape's amenities from the same
    listing's nearest earlier snapshot, else its nearest later one, else ``[]``; and the record."""
    with _worker_errors(), _timed("the reduced scrapes"):
        has_any = rows.groupBy("_file").agg(F.max(F.col("amenities") != NO_AMENITIES).alias("any")).collect()
    reduced = sorted(r["_file"] for r in has_any if not r["any"])
    if not reduced:
        return rows, {}
    in_reduced = F.col("_file").isin(reduced)
    by_listing = Window.partitionBy("listing_id").orderBy("snapshot_date")
    known = F.when(~in_reduced, F.col("amenities"))
    rows = rows.withColumn("_known", known).withColumn("_filled", F.coalesce(
        F.col("_known"), F.last("_known", ignorenulls=True).over(by_listing.rowsBetween(Window.unboundedPreceding, -1)),
        F.first("_known", ignorenulls=True).over(by_listing.rowsBetween(1, Window.unboundedFollowing))))
    with _worker_errors():
        counts = rows.filter(in_reduced).groupBy("_file").agg(
            F.count("*").alias("rows"), _count(F.col("_filled").isNotNull()).alias("imputed")).collect()
    record = reduced_scrapes_record(paths, reduced, {r["_file"]: r["rows"] for r in counts},
                                    {r["_file"]: r["imputed"] for r in counts})
    log.info("reduced scrape(s), amenities taken from the listing's other snapshots: %s", record)
    return rows.withColumn("amenities", F.coalesce(F.col("_filled"), F.lit(NO_AMENITIES))).drop("_known", "_filled"), record


def _collect_one(frame: DataFrame) -> dict:
    with _worker_errors():
        return frame.collect()[0].asDict()


def build(spark: SparkSession, paths: Sequence[Path], reviews_paths: Sequence[Path], config: EtlConfig,
          summary: Summary, scratch: Path) -> tuple[DataFrame, dict]:
    """The table as a Spark DataFrame (the schema's columns and types) and the summary's other
    parts; fills ``summary``.

    One pass parses every file (listings and reviews at once) into Parquet in ``scratch`` and
    returns each file's first counts and score statistics; the remaining counts and the fill
    values are then read from the columns they need, with the narrow lookups (older scrapes,
    review windows, also in ``scratch``) joined in, and the table from all of them.
    """
    columns_read = check_listing_headers(paths)
    features, issue_keys = _feature_layout(columns_read)
    fields = _listing_fields(features, issue_keys)
    rows, reviews, done = _parse(spark, paths, reviews_paths, config, fields, issue_keys, scratch)
    broadcast = int(done.loc["listings", "rows"].sum()) <= BROADCAST_ROWS
    with _worker_errors(), _timed("the latest scrape per month"):
        marked = _latest(rows, done, scratch / "older", broadcast)

    # per file: the first steps' counts, the parse issues and the review-score statistics
    stats = _per_file_stats(marked, done, issue_keys)
    if stats.empty:
        summary.step("read_listings", 0, 0)  # raises: nothing to build from
    total = stats.drop(columns=[c for c in stats if ":" in c]).sum()
    keyed = int(total["read"] - total["invalid_id"] - total["invalid_last_scraped"])
    summary.step("read_listings", int(total["read"]), int(total["read"]))
    summary.step("parse_keys", int(total["read"]), keyed,
                 {k: total[k] for k in ("invalid_id", "invalid_last_scraped")})
    summary.step("latest_scrape_per_month", keyed, int(total["latest"]),
                 {"older_scrape_same_month": total["older_scrape_same_month"]})
    summary.parse_issues["price_unparseable"] = int(total["unparseable_price"])
    summary.step("valid_price", int(total["latest"]), int(total["kept"]),
                 {k: total[k] for k in PRICE_REASONS})
    summary.parse_issues.update({k: int(total[k]) for k in issue_keys})

    # old-scale review scores -> stars, decided per file from its statistics
    old = old_scale_from_stats(*(stats[[f"{kind}:{c}" for c in SCORES]].set_axis(SCORES, axis=1).astype("float64")
                                 for kind in ("above_five", "count", "max")))
    summary.rescaled_scores = {str(paths[i]): cols for i, cols in rescaled_columns(old).items()}
    divisors = spark.createDataFrame(score_divisors(old).rename(columns=lambda c: f"_divisor_{c}")
                                     .rename_axis("_file").reset_index().astype({"_file": "int32"}))
    rows = marked.filter(F.col("_latest") & (F.col("target_price") > 0)).join(F.broadcast(divisors), "_file") \
        .withColumns({c: F.col(c) / F.col(f"_divisor_{c}") for c in SCORES}).drop(*divisors.columns[1:])
    rows, summary.reduced_scrapes = _fill_reduced_scrapes(rows, paths)

    # impossible values -> missing (counted); rows without a possible size and place are dropped
    masked = [c for c in DOMAINS if c in features and c not in ESSENTIAL_COLUMNS]
    rows = rows.withColumns({f"{FLAG}{c}_impossible": _violates(c) for c in masked}) \
        .withColumns({c: F.when(F.col(f"{FLAG}{c}_impossible"), None).otherwise(F.col(c)) for c in masked})
    missing = {f"missing_{c}": F.col(c).isNull() | F.isnan(c) for c in ESSENTIAL_COLUMNS}
    essential = ~reduce(operator.or_, missing.values())
    not_possible = F.coalesce(*(F.when(_violates(c), F.lit(c)) for c in sorted(ESSENTIAL_COLUMNS)),
                                  F.when(F.col("_far"), F.lit(FAR_FROM_CITY)))
    rows = rows.withColumns({"_essential": essential, "_impossible": F.when(essential, not_possible)})
    reaching = F.col("_essential") & F.col("_impossible").isNull()

    # the weight
    occupancy = F.col("estimated_occupancy_l365d") if "estimated_occupancy_l365d" in features else F.lit(None)
    from_ltm, from_occupancy = listing_review_counts(F.col("number_of_reviews_ltm"), occupancy.cast("double"), config)
    count = F.coalesce(from_occupancy, from_ltm, F.lit(0.0))
    method = F.when(from_occupancy.isNotNull(), "estimated_occupancy_l365d").otherwise("number_of_reviews_ltm")
    if reviews_paths:  # where the reviews files cover the row's month (airbnb.etl.reviews_cover)
        cities_read = sorted({config.city_of(p) for p in paths})
        last = reviews_cover((reviews_city(reviews_paths[i], cities_read, config), int(m) if m else None)
                             for i, m in done.loc["reviews", "months"].items())
        with _worker_errors(), _timed("the review windows"):
            keys = rows.filter(reaching).select("listing_id", "_month")
            rows = rows.join(_review_windows(reviews, keys, scratch / "windows", broadcast), ["listing_id", "_month"],
                             "left")
        end = F.coalesce(*(F.when(F.col(CITY) == city, F.lit(m)) for city, m in last.items()), F.lit(-1)) \
            if last else F.lit(-1)
        covered = F.col("_month") <= end
        count = F.when(covered, F.coalesce(F.col("_reviews").cast("double"), F.lit(0.0))).otherwise(count)
        method = F.when(covered, F.lit("reviews_file")).otherwise(method)
    rows = rows.withColumns({
        "reviews_in_last_90_days": F.rint(count).cast("int"),
        "estimated_occupancy_rate": occupancy_from_reviews(count, config, lambda cap, x: F.least(F.lit(cap), x)),
        "_method": F.when(reaching, method)})
    rows = rows.withColumn("_final", reaching & (F.col("estimated_occupancy_rate") > 0))

    # the remaining steps' counts, the fill values, the rows per city and the neighbourhoods' groups, in one pass
    fill_columns = [*MEDIAN_IMPUTED, *MEAN_IMPUTED, "number_of_reviews_ltm"]
    cities = sorted({config.city_of(p) for p in paths})
    final = F.col("_final")
    with _timed("the remaining steps' counts and the fill values"):
        found = _collect_one(rows.agg(
            *(_count(F.col(f"{FLAG}{c}_impossible")).alias(f"{c}_impossible") for c in masked),
            *(_count(condition).alias(name) for name, condition in missing.items()),
            _count(F.col("_essential")).alias("essential"),
            *(_count(F.col("_impossible") == c).alias(f"impossible_{c}") for c in ESSENTIAL_COLUMNS),
            _count(F.col("_impossible") == FAR_FROM_CITY).alias(FAR_FROM_CITY),
            _count(reaching).alias("possible"),
            *(_count(F.col("_method") == m).alias(f"method:{m}")
              for m in ("reviews_file", "estimated_occupancy_l365d", "number_of_reviews_ltm")),
            _count(final).alias("final"),
            *([F.sum(F.when(reaching, F.col("_read"))).alias("reviews_read")] if reviews_paths else []),
            *(F.percentile(F.when(final, F.col(c)), F.lit(0.5)).alias(f"median:{c}") for c in MEDIAN_IMPUTED),
            *(F.avg(F.when(final, F.col(c))).alias(f"mean:{c}") for c in MEAN_IMPUTED),
            *(_count(final & F.col(c).isNull()).alias(f"n_missing:{c}") for c in fill_columns),
            *(_count(final & (F.col(CITY) == c)).alias(f"city:{c}") for c in cities),
            *([F.collect_set(F.when(final & F.col(NEIGHBOURHOOD).isNotNull() & F.col(GROUP).isNotNull(),
                                    F.struct(NEIGHBOURHOOD, GROUP))).alias("pairs")] if GROUP in features else [])))
    summary.parse_issues.update({f"{c}_impossible": found[f"{c}_impossible"] for c in masked})
    summary.step("essential_inputs", int(total["kept"]), found["essential"], {k: found[k] for k in missing})
    summary.step("possible_values", found["essential"], found["possible"],
                 {**{f"impossible_{c}": found[f"impossible_{c}"] for c in ESSENTIAL_COLUMNS},
                  FAR_FROM_CITY: found[FAR_FROM_CITY]})
    if reviews_paths:
        summary.parse_issues["reviews_unparseable"] = int(done.loc["reviews", "unparseable"].sum())
    methods = {m: found[f"method:{m}"] for m in ("reviews_file", "estimated_occupancy_l365d", "number_of_reviews_ltm")}
    rows_by_method = {m: n for m, n in sorted(methods.items(), key=lambda kv: -kv[1]) if n}
    if reviews_paths:
        summary.weight_method = {"method": "reviews_file", "rows": rows_by_method,
                                 "reviews_read": int(found["reviews_read"] or 0),
                                 "reviews_end": {city: month_text(m) for city, m in sorted(last.items())}}
    else:
        summary.weight_method = {"method": "listings_columns", "rows": rows_by_method}
    log.info("weight method: %s", summary.weight_method)
    summary.step("positive_weight", found["possible"], found["final"], {"zero_weight": found["possible"] - found["final"]})
    log.info("%s", zero_weight_note(found["possible"] - found["final"], found["possible"]))
    fill = fill_values_from({c: found[f"median:{c}"] for c in MEDIAN_IMPUTED}, {c: found[f"mean:{c}"] for c in MEAN_IMPUTED})
    summary.imputation = {c: imputation_record(c, v, found[f"n_missing:{c}"], found["final"]) for c, v in fill.items()}

    table = rows.filter(final).withColumns({c: F.coalesce(F.col(c), F.lit(v)) for c, v in fill.items()}) \
        .withColumn("month", F.month("snapshot_date"))
    table = table.select(*(F.col(f.name).cast(_SPARK_TYPES[f.type]).alias(f.name) for f in TABLE_SCHEMA))
    groups = _neighbourhood_groups(rows.filter(final), found["pairs"]) if GROUP in features else {}
    return table, {"rows_out": found["final"], "groups": groups,
                   "cities": {c: found[f"city:{c}"] for c in cities if found[f"city:{c}"]}}


def _neighbourhood_groups(rows: DataFrame, pairs: list) -> dict[str, str]:
    """neighbourhood -> the group of its first row (by key) in ``rows``, as the pandas engine
    keeps them. ``pairs``, the rows' distinct (neighbourhood, group), collected with the counts,
    are the answer when no neighbourhood has two groups; else the rows are ranked."""
    if len({pair[0] for pair in pairs}) == len(pairs):
        return dict(sorted((pair[0], pair[1]) for pair in pairs))
    with _worker_errors(), _timed("neighbourhood groups"):
        first = rows.filter(F.col(NEIGHBOURHOOD).isNotNull() & F.col(GROUP).isNotNull()).groupBy(NEIGHBOURHOOD) \
            .agg(F.min_by(GROUP, F.struct(*ROW_KEY)).alias("group")).collect()
    return dict(sorted((r[NEIGHBOURHOOD], r["group"]) for r in first))


def write(table: DataFrame, summarise: Callable[[int], dict], output: Path) -> dict:
    """The table as Parquet partitioned by city and month, published with its summary as one:
    ``summarise(listings)`` gives it, the listings counted in the written table (by its column)."""
    try:
        with atomic_paths(output, summary_path(output)) as (tmp_table, tmp_summary):
            tmp_table.unlink()  # Spark makes the folder
            with _worker_errors(), _timed("writing the partitioned table"):
                table.write.partitionBy(*PARTITION_COLUMNS).parquet(str(tmp_table.absolute()))
            with _timed("counting the listings written"):
                listings = table.sparkSession.read.parquet(str(tmp_table.absolute())) \
                    .select("listing_id").distinct().count()
            summary = summarise(listings)
            tmp_summary.write_text(json_text({"output": str(output), **summary}))
    except (OSError, PySparkException) as exc:
        raise EtlError(f"cannot write {output} ({one_line(exc)[:300]}); any previous table is unchanged: "
                       "free space or fix the folder's permissions, or choose another --output") from exc
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
