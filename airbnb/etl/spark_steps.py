"""The Spark engine's steps (:func:`build`): every file parsed by a task of its own, then, across
rows, what the pandas engine's steps do.

The files are parsed by :mod:`~airbnb.etl.spark_workers`; Spark then marks the latest scrape per
listing-month and decides each file's review-score scale, masks the impossible values, counts the
review window, computes the weight, the fill values and every count of the summary.

The wide rows are never shuffled: the lookups that need the keys alone (older scrapes, review
windows) are computed once and joined in, sent whole to every task for an input of up to
:data:`BROADCAST_ROWS` rows.
"""
from __future__ import annotations

import contextlib
import operator
import re
import time
import warnings
from functools import partial, reduce
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd
import pyarrow as pa

from ..log import get_logger
from ..schema import CITY, DOMAINS, MEAN_IMPUTED, MEDIAN_IMPUTED, ROW_KEY, TABLE_SCHEMA
from .config import ESSENTIAL_COLUMNS, EtlConfig, EtlError, Summary
from .parsing import PRICE_REASONS, old_scale_from_stats, rescaled_columns, score_divisors
from .reading import check_listing_headers
from .spark_workers import (DONE_FIELDS, FLAG, REVIEW_FIELDS, SCORES, TASK_FIELDS, add_up, feature_layout, file_stats,
                            listing_fields, parse_tasks, stats_columns, stats_from_text, stats_text)
from .steps import FAR_FROM_CITY, NO_AMENITIES, fill_values_from, imputation_record, maskable, reduced_scrapes_record
from .weights import (WEIGHT_METHODS, listing_review_counts, occupancy_from_reviews, reviews_city, reviews_cover,
                      weight_method_record, zero_weight_note)

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
NEIGHBOURHOOD, GROUP = "neighbourhood_cleansed", "neighbourhood_group_cleansed"

log = get_logger(__package__)


@contextlib.contextmanager
def worker_errors():
    """A user error raised on a worker (a damaged input file) -> the same EtlError here, in one line."""
    try:
        yield
    except PySparkException as exc:
        found = re.search(r"EtlError: (.+)", str(exc))
        if found:
            raise EtlError(found.group(1).strip()) from None
        raise


@contextlib.contextmanager
def timed(phase: str):
    """Log how long a phase took (what to look at when a run is slow)."""
    started = time.perf_counter()
    yield
    log.info("spark: %s: %.1f s", phase, time.perf_counter() - started)


# --------------------------------------------------------------------------- every file, a task each

def _ddl(fields: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in fields.items())


def _one_task_each(spark: SparkSession, rows: list[tuple], schema: str) -> DataFrame:
    """A DataFrame of ``rows``, one per partition: each file is read by a task of its own."""
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, max(len(rows), 1)), schema)


def _parse(spark: SparkSession, paths: Sequence[Path], reviews_paths: Sequence[Path], config: EtlConfig,
           fields: dict[str, str], issue_keys: Sequence[str], scratch: Path
           ) -> tuple[DataFrame, DataFrame | None, pd.DataFrame]:
    """Every file parsed by a task of its own (:func:`parse_tasks`; the reviews first, each as long
    as a few listings files): the listing rows and the review counts, read from ``scratch``, and
    per file (kind, index) its rows and unparseable reviews."""
    tasks = [("reviews", j, str(p), "") for j, p in enumerate(reviews_paths)] \
        + [("listings", i, str(p), config.city_of(p)) for i, p in enumerate(paths)]
    for kind in ("listings", "reviews"):
        (scratch / kind).mkdir()
    parsed = _one_task_each(spark, tasks, _ddl(TASK_FIELDS)).mapInArrow(
        partial(parse_tasks, fields=fields, issue_keys=issue_keys, scratch=str(scratch.absolute())), _ddl(DONE_FIELDS))
    with worker_errors(), timed("reading and parsing the files"):
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
    reviews that month and the two before it (:func:`airbnb.etl.weights.reviews_in_window`), and on its
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
        return add_up([stats_from_text(text) for text in done.loc["listings", "stats"]])
    columns = [c for c in stats_columns(issue_keys) if c in marked.columns]

    def stats(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            text = stats_text(file_stats(batch.to_pandas(), issue_keys))
            yield pa.RecordBatch.from_pydict({"stats": [text]})

    with worker_errors(), timed("the per-file statistics"):
        parts = marked.select(*columns).mapInArrow(stats, "stats string").collect()
    return add_up([stats_from_text(row["stats"]) for row in parts])


def _fill_reduced_scrapes(rows: DataFrame, paths: Sequence[Path]) -> tuple[DataFrame, dict]:
    """:func:`airbnb.etl.steps.fill_reduced_scrapes` in Spark: a reduced scrape's amenities from the same
    listing's nearest earlier snapshot, else its nearest later one, else ``[]``; and the record."""
    with worker_errors(), timed("the reduced scrapes"):
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
    with worker_errors():
        counts = rows.filter(in_reduced).groupBy("_file").agg(
            F.count("*").alias("rows"), _count(F.col("_filled").isNotNull()).alias("imputed")).collect()
    record = reduced_scrapes_record(paths, reduced, {r["_file"]: r["rows"] for r in counts},
                                    {r["_file"]: r["imputed"] for r in counts})
    return rows.withColumn("amenities", F.coalesce(F.col("_filled"), F.lit(NO_AMENITIES))).drop("_known", "_filled"), record


def _collect_one(frame: DataFrame) -> dict:
    with worker_errors():
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
    features, issue_keys = feature_layout(columns_read)
    fields = listing_fields(features, issue_keys)
    rows, reviews, done = _parse(spark, paths, reviews_paths, config, fields, issue_keys, scratch)
    broadcast = int(done.loc["listings", "rows"].sum()) <= BROADCAST_ROWS
    with worker_errors(), timed("the latest scrape per month"):
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
    masked = maskable(features)
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
    cities = sorted({config.city_of(p) for p in paths})
    if reviews_paths:  # where the reviews files cover the row's month (airbnb.etl.weights.reviews_cover)
        last = reviews_cover((reviews_city(reviews_paths[i], cities, config), int(m) if m else None)
                             for i, m in done.loc["reviews", "months"].items())
        with worker_errors(), timed("the review windows"):
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
    final = F.col("_final")
    with timed("the remaining steps' counts and the fill values"):
        found = _collect_one(rows.agg(
            *(_count(F.col(f"{FLAG}{c}_impossible")).alias(f"{c}_impossible") for c in masked),
            *(_count(condition).alias(name) for name, condition in missing.items()),
            _count(F.col("_essential")).alias("essential"),
            *(_count(F.col("_impossible") == c).alias(f"impossible_{c}") for c in ESSENTIAL_COLUMNS),
            _count(F.col("_impossible") == FAR_FROM_CITY).alias(FAR_FROM_CITY),
            _count(reaching).alias("possible"),
            *(_count(F.col("_method") == m).alias(f"method:{m}")
              for m in WEIGHT_METHODS),
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
    methods = {m: found[f"method:{m}"] for m in WEIGHT_METHODS}
    rows_by_method = {m: n for m, n in sorted(methods.items(), key=lambda kv: -kv[1]) if n}
    if reviews_paths:
        summary.weight_method = weight_method_record(rows_by_method, last, int(found["reviews_read"] or 0))
    else:
        summary.weight_method = weight_method_record(rows_by_method)
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
    with worker_errors(), timed("neighbourhood groups"):
        first = rows.filter(F.col(NEIGHBOURHOOD).isNotNull() & F.col(GROUP).isNotNull()).groupBy(NEIGHBOURHOOD) \
            .agg(F.min_by(GROUP, F.struct(*ROW_KEY)).alias("group")).collect()
    return dict(sorted((r[NEIGHBOURHOOD], r["group"]) for r in first))
