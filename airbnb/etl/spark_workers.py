"""The Spark engine's work row by row, on its workers: each file parsed by the pandas engine's
own functions, written to Parquet for Spark to read by column, with per-file counts and
review-score statistics.

Plain pandas and Arrow (no PySpark here): a task of :func:`parse_tasks` per file. A listings file:
its rows (:func:`parse_file`: those with a valid key with their values, price and, per row, the
parse issues and drop reasons as flags; the others with their reason) and :func:`file_stats`.
A reviews file: each listing's review count per month (:func:`~airbnb.etl.weights.parse_reviews`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import CITY, ROW_KEY
from .config import REVIEW_COLUMNS
from .parsing import OLD_SCORE_TOP, PRICE_REASONS, parse_keys, parse_listing_features, parse_prices
from .reading import read_csv_columns, read_listings_file
from .steps import far_from_city
from .weights import month_index, parse_reviews

_PANDAS_TYPES = {"float64": "double", "str": "string", "object": "string", "boolean": "boolean", "bool": "boolean"}
_ARROW_TYPES = {"int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(), "string": pa.string(),
                "boolean": pa.bool_(), "date": pa.date32()}
# A worker's verdicts on the amenity texts it has parsed (text -> accepted): a listing's list
# repeats in every snapshot, and each snapshot is a task of its own. Bounded (~1 KB a text).
KNOWN_AMENITIES: dict[str, bool] = {}
KNOWN_AMENITIES_MAX = 300_000
FLAG = "_flag_"  # prefix of the per-row flag columns (a parse issue or a drop reason)
SCORES = list(OLD_SCORE_TOP)


def feature_layout(columns: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The parsed feature columns (name -> Spark type) and the parse-issue keys of rows with
    ``columns``: :func:`parse_listing_features` itself, run on no rows."""
    issues: dict = {}
    out = parse_listing_features(pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}), issues,
                                 flags={}, rescale=False)
    return {c: _PANDAS_TYPES[str(t)] for c, t in out.dtypes.items()}, list(issues)


def listing_fields(features: dict[str, str], issue_keys: Sequence[str]) -> dict[str, str]:
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


def stats_columns(issue_keys: Sequence[str]) -> list[str]:
    """The listing columns :func:`file_stats` reads."""
    return ["_file", "_dropped", "_latest", "target_price", *(f"{FLAG}{k}" for k in (*PRICE_REASONS, *issue_keys)),
            *SCORES]


def _flag(rows: pd.DataFrame, key: str) -> np.ndarray:
    """A flag column as plain booleans (missing: not flagged; a column the rows lack: never)."""
    column = rows.get(f"{FLAG}{key}")
    return np.zeros(len(rows), bool) if column is None else column.to_numpy(dtype=bool, na_value=False)


def file_stats(rows: pd.DataFrame, issue_keys: Sequence[str]) -> pd.DataFrame:
    """Per listings file (``_file``) of ``rows`` (all of a file or a part of it: :func:`add_up`
    combines the parts), the first steps' counts, its parse issues among the kept rows, and its
    review-score statistics (for :func:`~airbnb.etl.parsing.old_scale_from_stats`).

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


def add_up(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The per-file statistics of :func:`file_stats` from those of parts of the files."""
    stacked = pd.concat(parts)
    return stacked.groupby(level="_file").agg({c: "max" if c.startswith("max:") else "sum" for c in stacked}) \
        .sort_index()


def stats_text(stats: pd.DataFrame) -> str:
    return stats.reset_index().to_json(orient="records")


def stats_from_text(text: str) -> pd.DataFrame:
    records = pd.DataFrame(json.loads(text))
    if records.empty:
        return pd.DataFrame(index=pd.Index([], name="_file", dtype="int64"))
    return records.astype({c: "float64" for c in records if c.startswith("max:")}).set_index("_file")


REVIEW_FIELDS = {"listing_id": "bigint", "month": "bigint", "count": "bigint"}
TASK_FIELDS = {"kind": "string", "index": "int", "path": "string", "city": "string"}
DONE_FIELDS = {"kind": "string", "index": "int", "rows": "bigint", "unparseable": "bigint", "months": "string",
               "repeats": "bigint", "stats": "string"}


def parse_tasks(batches: Iterator[pa.RecordBatch], fields: dict[str, str], issue_keys: Sequence[str],
                scratch: str) -> Iterator[pa.RecordBatch]:
    """Parse each task's file and write its rows to Parquet in ``scratch``, read by Spark from
    there (written once, by column, never streamed through the JVM); returns per file a record of
    its rows, unparseable reviews, months (a listings file's ``2025-01,2025-02``; a reviews file's
    last review's :func:`~airbnb.etl.weights.month_index`, for
    :func:`~airbnb.etl.weights.reviews_cover`), rows whose key repeats one before and, for a
    listings file, its :func:`file_stats` as if no key repeated another file's (JSON).

    A listings file: its rows (:func:`parse_file`) in ``listings/``. A reviews file: its review count
    per (listing_id, month) in ``reviews/``; its undated or unparseable reviews are counted."""
    for batch in batches:
        for kind, index, path, city in zip(*batch.to_pydict().values()):
            unparseable, months, repeats, stats = 0, "", 0, "[]"
            if kind == "listings":
                table = parse_file(Path(path), index, city, fields)
                keys = table.select(ROW_KEY).drop_null().to_pandas()
                months, repeats = ",".join(sorted(keys["year_month"].unique())), int(keys.duplicated().sum())
                rows = table.select([c for c in stats_columns(issue_keys) if c in fields]).to_pandas()
                stats = stats_text(file_stats(rows.assign(_latest=rows["_dropped"].isna()), issue_keys))
            else:
                reviews, unparseable = parse_reviews(read_csv_columns(Path(path), REVIEW_COLUMNS))
                counts = reviews.groupby(["listing_id", "month"]).size().rename("count").reset_index()
                months = "" if reviews.empty else str(int(reviews["month"].max()))
                table = _arrow(counts, REVIEW_FIELDS)
            pq.write_table(table, os.path.join(scratch, kind, f"part-{index:05d}.parquet"))
            yield _arrow(pd.DataFrame({"kind": [kind], "index": [index], "rows": [table.num_rows],
                                       "unparseable": [unparseable], "months": [months], "repeats": [repeats],
                                       "stats": [stats]}), DONE_FIELDS).to_batches()[0]
