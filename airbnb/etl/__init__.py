"""Raw Inside Airbnb files -> the listing-month modeling table (SPEC §2-§3).

``build_table`` reads one or more ``listings.csv[.gz]`` snapshots (only the columns it needs),
keeps the latest scrape of each listing per month, parses prices, rates, booleans and bathroom
texts, attaches the review-based occupancy weight, imputes, and returns the table together with a
summary of every step (rows in/out and why rows were dropped). ``write_table`` writes the Parquet
and its JSON summary atomically; ``run_etl`` checks that the output can be written before reading
any input.

Parsing agrees with training and prediction (:func:`parse_listing_features` is shared): amenities
that :func:`parse_amenities` rejects become ``"[]"``; files with pre-2021 review scores (rating
20-100, sub-scores 2-10) are turned into 0-5 stars; a value outside :data:`schema.DOMAINS`
becomes missing and is imputed, except an impossible size or place, whose row is dropped.

The summary: ``steps`` (``parse_keys``, ``latest_scrape_per_month``, ``valid_price``,
``essential_inputs``, ``possible_values`` with ``impossible_<column>`` counts, ``positive_weight``),
``parse_issues`` (per column ``<column>_unparseable``, ``amenities_unparseable``,
``<column>_impossible``), ``imputation``, ``weight_method``, ``rescaled_scores`` (listings file ->
its score columns turned from the old scale into stars), inputs with their SHA-256, parameters.

Every row has its ``city``: the folder name of its listings file (``albany-2024-11`` ->
``albany``, :func:`schema.city_from_path`) or ``--city``; one table can hold many cities.

Two engines build the same table: this module's pandas engine (the default: one Parquet file)
and :mod:`airbnb.etl.spark` (``--engine spark``: PySpark, locally or on a cluster, writing a
folder partitioned by city and month). Everything both need is declared here once: the columns
read, the row-wise parsers (the Spark engine runs these very functions on its workers), the
per-file score-scale decision from per-file statistics, the domains, the weight formula, the
imputation rules and the summary's steps.

Shell: ``python -m airbnb.etl --listings 'city/*/listings.csv.gz' --reviews city/reviews.csv.gz
--output table.parquet [--engine spark --output table/]``. The built-in synthetic city's table is
built by its generator (``python -m airbnb.synthetic --table PATH``, :mod:`airbnb.synthetic`),
which calls this module.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import gzip
import json
import math
import os
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import __version__
from ..cli import add_config_flags, check_types, description, option
from ..config import DEFAULT_TABLE_PATH
from ..errors import UserError, command_line, one_line
from ..io import atomic_paths, exclusive, file_sha256, json_text, refuse_input
from ..log import get_logger, setup_logging
from ..schema import (
    BOOL_COLUMNS,
    DOMAINS,
    MAX_PRICE,
    MEAN_IMPUTED,
    MEDIAN_IMPUTED,
    RATE_COLUMNS,
    REVIEW_SCORE_COLUMNS,
    CITY,
    ROW_KEY,
    TABLE_COLUMNS,
    TABLE_SCHEMA,
    city_from_path,
    domain_violations,
    is_partitioned_table,
)

log = get_logger(__name__)

# Columns read from a listings file. Everything else in the (wide, changing) file is skipped.
REQUIRED_LISTING_COLUMNS = [
    "id", "last_scraped", "price", "latitude", "longitude", "neighbourhood_cleansed",
    "property_type", "room_type", "accommodates", "bedrooms", "beds", "amenities",
    *REVIEW_SCORE_COLUMNS, "number_of_reviews_ltm", "host_is_superhost", *RATE_COLUMNS,
    "host_identity_verified", "instant_bookable",
]
# Optional: bathroom count (either column is enough), reporting context, and the 2025 occupancy.
BATHROOM_COLUMNS = ["bathrooms_text", "bathrooms"]
OPTIONAL_LISTING_COLUMNS = [*BATHROOM_COLUMNS, "neighbourhood_group_cleansed", "estimated_occupancy_l365d"]
REVIEW_COLUMNS = ["listing_id", "date"]

NUMERIC_COLUMNS = ["latitude", "longitude", "accommodates", "bedrooms", "beds", *REVIEW_SCORE_COLUMNS,
                   "number_of_reviews_ltm", "bathrooms", "estimated_occupancy_l365d"]
# Rows without these cannot be placed or sized; they are dropped (and counted), never guessed.
ESSENTIAL_COLUMNS = ["latitude", "longitude", "accommodates"]
WINDOW_DAYS = 90
WEIGHT_CAP = 1.0  # an occupancy share: at most every night of the window
ENGINES = ("pandas", "spark")


class EtlError(UserError, ValueError):
    """Bad input to the ETL: the message names the file, column or filter at fault."""


@dataclass(frozen=True)
class EtlConfig:
    """How the table is built: the review-based occupancy estimate's parameters (SPEC §3.3), the
    city of the rows and the engine."""

    review_rate: float = option(0.5, "share of stays that leave a review (SPEC §3.3)")
    avg_length_of_stay: float = option(3.0, "nights per booking (SPEC §3.3)")
    city: str = option("", "city of every listings file (default: each file's folder name, "
                       "e.g. albany-2024-11 -> albany)")
    engine: str = option("pandas", "'pandas' (one machine; writes one Parquet file) or 'spark' (PySpark, "
                         "pip install .[spark]; writes a folder partitioned by city and year_month)", choices=ENGINES)
    spark_master: str = option("", "with --engine spark: master URL (spark://host:7077, yarn, local[4]); default "
                               "spark-submit's or spark-defaults.conf's master, else local[*]")
    spark_conf: list[str] = option([], "with --engine spark: settings KEY=VALUE, e.g. spark.executor.memory=4g")

    def __post_init__(self):
        try:
            check_types(self)
        except ValueError as exc:
            raise EtlError(str(exc)) from None
        if not 0 < self.review_rate <= 1:
            raise EtlError(f"review_rate must be in (0, 1], got {self.review_rate}")
        if self.avg_length_of_stay <= 0:
            raise EtlError(f"avg_length_of_stay must be > 0, got {self.avg_length_of_stay}")
        if self.engine not in ENGINES:
            raise EtlError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        bad = [item for item in self.spark_conf if "=" not in item]
        if bad:
            raise EtlError(f"spark_conf takes KEY=VALUE settings, got {bad}")

    @property
    def occupancy(self) -> dict:
        """The parameters the table's weights depend on (the summary's ``parameters``)."""
        return {"review_rate": self.review_rate, "avg_length_of_stay": self.avg_length_of_stay}

    def city_of(self, path: Path) -> str:
        return self.city or city_from_path(path)


# The summary's steps in order; both engines report each with its rows in and out and drop reasons.
STEPS = ("read_listings", "parse_keys", "latest_scrape_per_month", "valid_price", "essential_inputs",
         "possible_values", "positive_weight")


@dataclass
class Summary:
    """What happened to the rows: written beside the table as JSON (the steps of :data:`STEPS`)."""

    steps: list = field(default_factory=list)
    parse_issues: dict = field(default_factory=dict)
    imputation: dict = field(default_factory=dict)
    weight_method: dict = field(default_factory=dict)
    rescaled_scores: dict = field(default_factory=dict)
    reduced_scrapes: dict = field(default_factory=dict)

    def step(self, name: str, rows_in: int, rows_out: int, dropped: dict | None = None) -> None:
        if name != STEPS[len(self.steps)]:
            raise RuntimeError(f"step {name!r} reported out of order: the next step is {STEPS[len(self.steps)]!r}")
        self.steps.append({"step": name, "rows_in": rows_in, "rows_out": rows_out,
                           "dropped": {k: int(v) for k, v in (dropped or {}).items() if v}})
        log.info("%-22s %9d -> %9d rows %s", name, rows_in, rows_out,
                 ", ".join(f"{k}: {v}" for k, v in self.steps[-1]["dropped"].items()))
        if rows_out == 0:
            raise EtlError(f"no rows left after step '{name}' (dropped: {self.steps[-1]['dropped']})")


# --------------------------------------------------------------------------- inputs

def expand_paths(patterns: str | Path | Iterable[str | Path], kind: str = "listings") -> list[Path]:
    """Paths, globs or directories -> sorted existing files (a directory means its snapshots)."""
    if isinstance(patterns, (str, Path)):
        patterns = [patterns]
    found: list[Path] = []
    for pattern in map(str, patterns):
        if Path(pattern).is_dir():
            matches = sorted(glob.glob(f"{pattern}/**/{kind}.csv*", recursive=True))
        else:
            matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise EtlError(f"no {kind} file matches '{pattern}'")
        found += [Path(m) for m in matches]
    return list(dict.fromkeys(found))


@contextlib.contextmanager
def _decoding(path: Path):
    """A damaged input (cut short in a download, or not what its name says) -> an EtlError naming it.

    gzip, zlib and Arrow report such a file as ``Truncated compressed stream`` or ``Not a gzipped
    file``, without the file; a file the system refuses (missing, no permission) keeps its OSError,
    which names it already.
    """
    try:
        yield
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pa.ArrowInvalid) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise EtlError(f"{path} is truncated or not a gzip/CSV file ({one_line(exc)}); "
                       "download it again") from exc


def read_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with _decoding(path), opener(path, "rt", encoding="utf-8", newline="") as f:
        return next(csv.reader(f), [])


def read_csv_columns(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read only the wanted columns, all as text; fail naming the file and any missing column."""
    header = read_header(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise EtlError(f"{path}: missing required column(s) {', '.join(map(repr, missing))}")
    wanted = [c for c in [*required, *optional] if c in header]
    with _decoding(path):
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={c: pa.string() for c in wanted},
                strings_can_be_null=True,
            ),
        )
    return table.to_pandas()


def check_listing_headers(paths: Sequence[Path]) -> list[str]:
    """Fail naming the file when one lacks a required column; returns the columns read from any file."""
    columns: set[str] = set()
    for path in paths:
        header = read_header(path)
        missing = [c for c in REQUIRED_LISTING_COLUMNS if c not in header]
        if missing:
            raise EtlError(f"{path}: missing required column(s) {', '.join(map(repr, missing))}")
        if not any(c in header for c in BATHROOM_COLUMNS):
            raise EtlError(f"{path}: missing required column 'bathrooms_text' (or 'bathrooms')")
        columns.update(header)
    return [c for c in [*REQUIRED_LISTING_COLUMNS, *OPTIONAL_LISTING_COLUMNS] if c in columns]


def read_listings_file(path: Path) -> pd.DataFrame:
    """One snapshot's wanted columns, as text."""
    return read_csv_columns(path, REQUIRED_LISTING_COLUMNS, OPTIONAL_LISTING_COLUMNS)


def read_listings(paths: Sequence[Path], cities: Sequence[str]) -> pd.DataFrame:
    """All snapshots stacked; ``_file`` keeps the file order to break same-day ties, ``city`` is each file's."""
    check_listing_headers(paths)
    with ThreadPoolExecutor(max_workers=2) as pool:
        frames = list(pool.map(read_listings_file, paths))
    names = sorted(set(cities))
    for i, frame in enumerate(frames):
        frame["_file"] = np.int16(i)
        frame[CITY] = pd.Categorical.from_codes(np.full(len(frame), names.index(cities[i])), categories=names)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- parsers

def _blank(text: pd.Series) -> pd.Series:
    return text.isna() | (text.str.strip() == "")


def _unparseable(text: pd.Series, parsed: pd.Series, also_missing: Sequence[str] = ()) -> pd.Series:
    """Where a non-blank text did not parse (``also_missing`` lists placeholders such as 'N/A')."""
    blank = _blank(text) | text.str.strip().isin(list(also_missing))
    return ~blank & parsed.isna()


def _record(issues: dict, flags: dict | None, key: str, rows) -> None:
    """Count the rows with an issue into ``issues``; keep which rows in ``flags`` when given (the
    Spark engine counts them after its later steps, as this engine counts its surviving rows)."""
    rows = np.asarray(rows, dtype=bool)
    issues[key] = int(rows.sum())
    if flags is not None:
        flags[key] = rows


def parse_price(text: pd.Series) -> pd.Series:
    """``$1,250.00`` -> 1250.0; blank or unparseable -> NaN."""
    cleaned = text.str.replace(r"[$,\s]", "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def parse_rate(text: pd.Series) -> pd.Series:
    """``95%`` -> 0.95; ``N/A``, blank or unparseable -> NaN."""
    cleaned = text.str.strip().str.rstrip("%")
    return pd.to_numeric(cleaned, errors="coerce").astype("float64") / 100.0


def parse_bool(text: pd.Series) -> pd.Series:
    """``t``/``f`` (also ``true``/``false``) -> nullable boolean; anything else -> <NA>."""
    mapped = text.str.strip().str.lower().map({"t": True, "true": True, "f": False, "false": False})
    return mapped.astype("boolean")


def parse_bathrooms(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``bathrooms_text`` -> (count, 'shared'|'private'). 'Half-bath' texts count 0.5."""
    lower = text.str.lower()
    number = pd.to_numeric(lower.str.extract(r"(\d+\.?\d*)", expand=False), errors="coerce")
    number = number.astype("float64").mask(number.isna() & lower.str.contains("half", na=False), 0.5)
    kind = np.where(lower.str.contains("shared", na=False), "shared", "private")
    return number, pd.Series(kind, index=text.index, dtype="str")


def parse_numeric(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")


def parse_amenities(text: str | None) -> list[str]:
    """The amenity list of one raw ``amenities`` value; a missing or empty value means no amenities."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    if not isinstance(text, str):
        raise ValueError(f"amenities must be a JSON list of strings, got {text!r}")
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"amenities is not valid JSON ({exc.msg}): {text!r}") from exc
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"amenities must be a JSON list of strings, got {text!r}")
    return items


def _parses_as_amenities(text: str) -> bool:
    """Whether training will accept ``text``: the test is training's own parser, not a copy of it."""
    try:
        parse_amenities(text)
    except ValueError:
        return False
    return True


def clean_amenities(text: pd.Series, issues: dict, flags: dict | None = None, known: dict | None = None) -> pd.Series:
    """Raw amenity texts, each one :func:`parse_amenities` rejects replaced by ``"[]"`` (counted).

    Training parses the table's amenities with that same function, so a malformed text would stop
    it; here it costs only that listing its amenities. Each distinct text is parsed once (a city
    has tens of thousands of rows but far fewer distinct lists). ``known`` (text -> accepted), kept
    by a caller that cleans a city in parts, spares it parsing again the texts of earlier parts.
    """
    text = text.str.strip().astype("str")
    codes, uniques = pd.factorize(text)  # a missing text gets code -1: no amenities, valid
    if known is None:
        accepted = [_parses_as_amenities(u) for u in uniques]
    else:
        accepted = [known[u] if u in known else known.setdefault(u, _parses_as_amenities(u)) for u in uniques]
    rejected = ~np.append(accepted, True).astype(bool)[codes]
    _record(issues, flags, "amenities_unparseable", rejected)
    return text.mask(rejected, "[]")


# Pre-2021 dumps score the rating 20-100 and the five sub-scores 2-10: the top of each old scale.
OLD_SCORE_TOP = {"review_scores_rating": 100.0, **dict.fromkeys(REVIEW_SCORE_COLUMNS[1:], 10.0)}


def old_scale_scores(scores: pd.DataFrame, files: pd.Series) -> pd.DataFrame:
    """Per file (rows) and score column: is the file on the old scale?

    Only a file's values together tell its scale. Most of its values above 5 and none above the old
    top says old scale: a 0-5 file with a stray impossible value (47) is never rescaled (that
    value is impossible and counted instead), and a file with no values in a column stays as is.
    """
    grouped = scores.groupby(files)
    return old_scale_from_stats((scores > 5).groupby(files).sum(), grouped.count(), grouped.max())


def old_scale_from_stats(above_five: pd.DataFrame, count: pd.DataFrame, top: pd.DataFrame) -> pd.DataFrame:
    """The decision of :func:`old_scale_scores` from each file's statistics (rows: files; columns:
    the score columns): values above 5, values, and the largest value. Engines compute the
    statistics their way and decide here."""
    return (above_five > count / 2) & (top <= pd.Series(OLD_SCORE_TOP))


def score_divisors(old: pd.DataFrame) -> pd.DataFrame:
    """Per file and score column, what its values are divided by: 20 or 2 on the old scale, else 1."""
    return old * (pd.Series(OLD_SCORE_TOP) / 5 - 1) + 1


def rescaled_columns(old: pd.DataFrame) -> dict[int, list[str]]:
    """Per file on the old scale (in any column), the columns turned into stars."""
    return {int(key): list(old.columns[row]) for key, row in zip(old.index, old.to_numpy()) if row.any()}


def to_star_scale(scores: pd.DataFrame, files: pd.Series | None = None) -> tuple[pd.DataFrame, dict]:
    """Old-scale score columns -> 0-5 stars (rating / 20, sub-scores / 2), deciding per file.

    ``files`` labels each row's listings file; without it the frame is one file (rows priced by
    prediction). Returns the scores and, per rescaled file, its rescaled columns.
    """
    columns = list(OLD_SCORE_TOP)
    files = pd.Series(0, index=scores.index) if files is None else files
    old = old_scale_scores(scores[columns], files)
    out = scores.copy()
    out[columns] = scores[columns].to_numpy() / score_divisors(old).reindex(files).to_numpy()
    return out, rescaled_columns(old)


def mask_impossible(out: pd.DataFrame, issues: dict) -> pd.DataFrame:
    """Impossible values (:data:`schema.DOMAINS`) of the non-essential columns become missing.

    A 200-bedroom flat or a 7-star score is a data error, not a fact to learn from: it is imputed
    like a missing value (counted as ``<column>_impossible``). Impossible essentials (size, place)
    are left for the caller: the ETL drops those rows, as it drops rows missing them.
    """
    columns = [c for c in DOMAINS if c in out and c not in ESSENTIAL_COLUMNS]
    found = domain_violations(out[columns].reset_index(drop=True))
    for col in columns:
        rows = found.loc[found["column"] == col, "row"].to_numpy()
        issues[f"{col}_impossible"] = len(rows)
        if len(rows):
            out[col] = out[col].mask(np.isin(np.arange(len(out)), rows))
    for col, bad in found.groupby("column", sort=False):
        log.warning("%d impossible %s value(s) set missing, e.g. %s (allowed %s)", len(bad), col,
                    bad["value"].iloc[0], bad["allowed"].iloc[0])
    return out


def parse_listing_features(raw: pd.DataFrame, issues: dict | None = None, rescaled: dict | None = None,
                           flags: dict | None = None, rescale: bool = True, known_amenities: dict | None = None
                           ) -> pd.DataFrame:
    """Typed model inputs from raw listing text columns (no price, no weight, no imputation).

    Shared by the ETL and by prediction on raw listing rows, so both parse identically: amenities
    training cannot parse become ``"[]"``, old-scale review scores become stars (per ``_file`` when
    the rows come from several files). Impossible values are kept for the caller to judge: the ETL
    cleans a city's data (:func:`mask_impossible`), prediction refuses a listing that has them.
    Counts of non-blank texts that failed to parse or were impossible are added to ``issues``
    (and which rows, to ``flags``); the columns rescaled per file (its ``_file`` label) to
    ``rescaled``. ``rescale=False`` leaves the scores as written, for an engine that decides each
    file's scale from all its rows (:func:`old_scale_from_stats`) while parsing parts of it, and
    ``known_amenities`` is :func:`clean_amenities`'s ``known``.
    """
    issues = {} if issues is None else issues
    out = pd.DataFrame(index=raw.index)
    for col in ["neighbourhood_cleansed", "property_type", "room_type"]:
        out[col] = raw[col].str.strip().astype("str")
    out["amenities"] = clean_amenities(raw["amenities"], issues, flags, known_amenities)
    for col in NUMERIC_COLUMNS:
        if col in raw:
            out[col] = parse_numeric(raw[col])
            _record(issues, flags, f"{col}_unparseable", _unparseable(raw[col], out[col]))
    for col in RATE_COLUMNS:
        out[col] = parse_rate(raw[col])
        _record(issues, flags, f"{col}_unparseable", _unparseable(raw[col], out[col], ["N/A"]))
    for col in BOOL_COLUMNS:
        out[col] = parse_bool(raw[col])
        _record(issues, flags, f"{col}_unparseable", _unparseable(raw[col], out[col]))
    if "last_scraped" in raw:
        _record(issues, flags, "last_scraped_spreadsheet_date", parse_scrape_dates(raw["last_scraped"])[1])
    text = raw["bathrooms_text"] if "bathrooms_text" in raw else pd.Series(pd.NA, index=raw.index, dtype="str")
    out["bathrooms_numeric"], out["bathrooms_type"] = parse_bathrooms(text)
    _record(issues, flags, "bathrooms_text_unparseable", _unparseable(text, out["bathrooms_numeric"]))
    if "bathrooms" in out:  # older dumps: numeric column instead of text
        out["bathrooms_numeric"] = out["bathrooms_numeric"].fillna(out.pop("bathrooms"))
    if "neighbourhood_group_cleansed" in raw:
        out["neighbourhood_group_cleansed"] = raw["neighbourhood_group_cleansed"].str.strip()
    if rescale:
        out, files_rescaled = to_star_scale(out, raw.get("_file"))
        if rescaled is not None:
            rescaled.update(files_rescaled)
    return out


# --------------------------------------------------------------------------- imputation

NO_AMENITIES = "[]"


def reduced_files(amenities: pd.Series, files: pd.Series) -> list[int]:
    """The files (``_file`` labels) of a reduced scrape: not one row with an amenity.

    Inside Airbnb sometimes publishes a snapshot without amenities, description or bedrooms
    (Albany 2024-01-06). Read as written, each of its listings would have no amenities at all."""
    has_any = (amenities != NO_AMENITIES).groupby(files.to_numpy()).any()
    return sorted(int(f) for f in has_any.index[~has_any.to_numpy()])


def reduced_scrapes_record(paths: Sequence[Path], reduced: Sequence[int], rows: dict, imputed: dict) -> dict:
    """The summary's ``reduced_scrapes``: per reduced file, its rows and how many got amenities."""
    return {str(paths[f]): {"column": "amenities", "rows": int(rows.get(f, 0)), "imputed": int(imputed.get(f, 0))}
            for f in reduced}


def fill_reduced_scrapes(df: pd.DataFrame, paths: Sequence[Path]) -> tuple[pd.Series, dict]:
    """``amenities`` with a reduced scrape's (:func:`reduced_files`) taken from the same listing's
    nearest earlier snapshot, else its nearest later one; a listing seen only there keeps ``[]``.
    Returns the column and the summary's ``reduced_scrapes``. The snapshot's prices and other
    columns stay: its rows are not dropped."""
    reduced = reduced_files(df["amenities"], df["_file"])
    if not reduced:
        return df["amenities"], {}
    in_reduced = df["_file"].isin(reduced)
    order = df.sort_values(["listing_id", "snapshot_date"], kind="stable").index
    known = df["amenities"].mask(in_reduced).loc[order]
    by_listing = known.groupby(df.loc[order, "listing_id"].to_numpy())
    filled = known.fillna(by_listing.ffill()).fillna(by_listing.bfill()).reindex(df.index)
    imputed = in_reduced & filled.notna()
    record = reduced_scrapes_record(paths, reduced, df.loc[in_reduced, "_file"].value_counts().to_dict(),
                                    df.loc[imputed, "_file"].value_counts().to_dict())
    log.info("reduced scrape(s), amenities taken from the listing's other snapshots: %s", record)
    return filled.fillna(NO_AMENITIES), record

# What a column gets when it has no value at all (some dumps carry host_response_rate as "N/A"
# throughout): a typical listing's value. Constant over the table, it carries nothing a model could
# learn from, so it biases nothing; the summary records it as "neutral".
NEUTRAL_FILL = {**dict.fromkeys(REVIEW_SCORE_COLUMNS, 4.8), **dict.fromkeys(RATE_COLUMNS, 0.95),
                "bedrooms": 1.0, "beds": 1.0, "bathrooms_numeric": 1.0}


def fit_fill_values(df: pd.DataFrame) -> dict[str, float]:
    """Medians for counts, means for scores and rates (SPEC §3.1), learned from ``df``."""
    return fill_values_from({c: float(df[c].median()) for c in MEDIAN_IMPUTED},
                            {c: float(df[c].mean()) for c in MEAN_IMPUTED})


def fill_values_from(medians: dict[str, float | None], means: dict[str, float | None]) -> dict[str, float]:
    """The fill values from the columns' medians and means (None or NaN: the column has no value)."""
    values = {**medians, **means}
    values["number_of_reviews_ltm"] = 0.0  # a listing without the count has no recent reviews
    for col, value in values.items():
        if value is None or np.isnan(value):
            values[col] = NEUTRAL_FILL[col]
            log.warning("column '%s' has no values at all: every row gets the neutral %g", col, values[col])
    return values


def imputation_record(col: str, value: float, n_imputed: int, n_rows: int) -> dict:
    """The summary's record of one imputed column."""
    method = ("neutral" if n_imputed and n_imputed == n_rows and col in NEUTRAL_FILL else "median"
              if col in MEDIAN_IMPUTED else "mean" if col in MEAN_IMPUTED else "zero")
    return {"method": method, "value": value, "n_imputed": n_imputed}


def impute(df: pd.DataFrame, fill_values: dict[str, float], report: dict | None = None) -> pd.DataFrame:
    """Fill missing values with ``fill_values``; record how many were filled per column."""
    for col, value in fill_values.items():
        n = int(df[col].isna().sum())
        df[col] = df[col].fillna(value)
        if report is not None:
            report[col] = imputation_record(col, value, n, len(df))
    return df


# --------------------------------------------------------------------------- occupancy weight

def month_index(dates: pd.Series) -> pd.Series:
    """Months since year 0: consecutive calendar months differ by exactly 1 (Dec -> Jan too)."""
    return dates.dt.year.astype("int64") * 12 + dates.dt.month.astype("int64") - 1


def reviews_in_window(listing_ids: pd.Series, months: pd.Series, reviews: pd.DataFrame,
                      window_months: int = 3) -> pd.Series:
    """Reviews in each row's month and the ``window_months - 1`` calendar months before it.

    ``reviews`` has ``listing_id`` (int64) and ``month`` (a :func:`month_index`). Months without
    reviews count as 0.
    """
    counts = reviews.groupby(["listing_id", "month"]).size()
    total = np.zeros(len(listing_ids), dtype=np.int64)
    for lag in range(window_months):
        keys = pd.MultiIndex.from_arrays([listing_ids.to_numpy(), months.to_numpy() - lag])
        total += counts.reindex(keys, fill_value=0).to_numpy()
    return pd.Series(total, index=listing_ids.index)


def parse_reviews(raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Reviews' ``listing_id`` (int64) and ``month`` (:func:`month_index`), and how many were
    undated or unparseable (left out)."""
    ids = parse_ids(raw["listing_id"])
    dates = pd.to_datetime(raw["date"], errors="coerce", format="%Y-%m-%d")
    bad = ids.isna().to_numpy() | dates.isna().to_numpy()
    return pd.DataFrame({"listing_id": ids[~bad].astype("int64"), "month": month_index(dates[~bad])}), int(bad.sum())


def reviews_city(path: Path, cities: Sequence[str], config: EtlConfig) -> str:
    """The city a reviews file belongs to: the table's one city, else its folder's (:func:`inputs`
    checked that each city has one)."""
    return cities[0] if len(cities) == 1 else config.city_of(path)


def read_reviews(paths: Sequence[Path], listings: pd.DataFrame, issues: dict, config: EtlConfig
                 ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Review months of the ``listings`` in the table (undated or unparseable reviews are counted),
    and per city the last month its reviews files cover (:func:`reviews_cover`)."""
    parsed = [parse_reviews(read_csv_columns(path, REVIEW_COLUMNS)) for path in paths]
    issues["reviews_unparseable"] = sum(bad for _, bad in parsed)
    cities = list(listings[CITY].cat.categories)  # every listings file's, as the Spark engine's
    last = reviews_cover([(reviews_city(p, cities, config), frame["month"].max()) for p, (frame, _) in zip(paths, parsed)])
    listing_ids = listings["listing_id"]
    reviews = pd.concat([frame for frame, _ in parsed], ignore_index=True)
    return reviews[reviews["listing_id"].isin(listing_ids.unique())], last


def reviews_cover(last_months: Iterable[tuple[str, float]]) -> dict[str, int]:
    """Per city, the last month (:func:`month_index`) of its reviews files' latest review.

    A reviews file ends when it was downloaded: a later snapshot's 90 days are not in it (a panel
    of snapshots from 2023 to 2025 with a reviews file of 2024-11), and would count no review and
    lose every row as zero weight. Those rows take the weight from their own columns instead
    (:func:`reviews_from_listings`), counted per method in the summary's ``weight_method``."""
    last: dict[str, int] = {}
    for city, month in last_months:
        if month is not None and not pd.isna(month):
            last[city] = max(last.get(city, -1), int(month))
    return last


def review_counts(df: pd.DataFrame, reviews: pd.DataFrame, last: dict[str, int], config: EtlConfig
                  ) -> tuple[pd.Series, pd.Series]:
    """The 90-day review count of each row and its method: from the reviews file where it covers
    the row's month (:func:`reviews_cover`), else from the listing's own columns."""
    months = month_index(df["snapshot_date"])
    covered = months.to_numpy() <= df[CITY].astype("str").map(last).fillna(-1).to_numpy()
    from_listings, method = reviews_from_listings(df, config)
    count = reviews_in_window(df["listing_id"], months, reviews).astype("float64").where(covered, from_listings)
    return count, method.where(~covered, "reviews_file")


def month_text(month: int) -> str:
    """A :func:`month_index` as ``YYYY-MM``."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def occupancy_from_reviews(reviews_90d, config: EtlConfig, minimum=np.minimum):
    """SPEC §3.3: reviews -> bookings -> nights -> share of the 90-day window, capped at 1.

    Plain arithmetic, so the same formula serves a pandas Series and a Spark column (pass the
    engine's element-wise ``minimum``)."""
    nights = reviews_90d / config.review_rate * config.avg_length_of_stay
    return minimum(WEIGHT_CAP, nights / WINDOW_DAYS)


def listing_review_counts(ltm, occupancy_l365d, config: EtlConfig):
    """The two 90-day review counts a listing's own columns give: ``number_of_reviews_ltm`` scaled
    from 365 to 90 days, and the count that would produce ``estimated_occupancy_l365d``'s nights
    (plain arithmetic: pandas Series or Spark columns)."""
    nights = occupancy_l365d * WINDOW_DAYS / 365.0
    return ltm * WINDOW_DAYS / 365.0, nights / config.avg_length_of_stay * config.review_rate


def reviews_from_listings(df: pd.DataFrame, config: EtlConfig) -> tuple[pd.Series, pd.Series]:
    """Without a reviews file: a 90-day review count from the listing's own columns.

    ``estimated_occupancy_l365d`` (2025 files) gives nights; it is turned into the review count
    that would produce them. Otherwise ``number_of_reviews_ltm`` is scaled from 365 to 90 days.
    Returns the (fractional) count and, per row, the method used.
    """
    if "estimated_occupancy_l365d" not in df:
        from_ltm, _ = listing_review_counts(df["number_of_reviews_ltm"], np.nan, config)
        return from_ltm, pd.Series("number_of_reviews_ltm", index=df.index)
    from_ltm, from_occupancy = listing_review_counts(df["number_of_reviews_ltm"], df["estimated_occupancy_l365d"],
                                                     config)
    use = from_occupancy.notna()
    method = np.where(use, "estimated_occupancy_l365d", "number_of_reviews_ltm")
    return from_occupancy.where(use, from_ltm), pd.Series(method, index=df.index)


# --------------------------------------------------------------------------- pipeline

def parse_ids(text: pd.Series) -> pd.Series:
    """Listing ids as Int64: a whole number from 1 to 2^63 - 1 (``123``, ``123.0``), else missing.

    Read from the digits, never through a float: Airbnb's ids reach 10^18, beyond a float's exact
    integers, and one value such as ``1e30`` in a file would turn its whole column into floats (and
    1e30 itself wraps around to a negative id). Negative, fractional and exponent forms are refused."""
    digits = text.astype("str").str.extract(r"^\s*(\d{1,19})(?:\.0*)?\s*$", expand=False)
    valid = digits.notna() & digits.str.lstrip("0").ne("") & ((digits.str.len() < 19) | (digits <= str(2**63 - 1)))
    return digits.where(valid).astype("Int64")


# A dump re-saved by a spreadsheet writes its dates as m/d/yyyy (7/3/2023): read as such, and counted
# (the parse issue ``last_scraped_spreadsheet_date``). Any other form is refused, row by row.
SPREADSHEET_DATE = "%m/%d/%Y"


def parse_scrape_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``last_scraped`` as dates (ISO ``2023-07-03``, else a spreadsheet's ``7/3/2023``; else NaT),
    and where the spreadsheet's form was read."""
    iso = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
    spreadsheet = pd.to_datetime(text.where(iso.isna()), errors="coerce", format=SPREADSHEET_DATE)
    return iso.fillna(spreadsheet), spreadsheet.notna()


def parse_keys(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The rows whose ``id`` (:func:`parse_ids`) and ``last_scraped`` parse, with ``listing_id``
    (int64), ``snapshot_date`` and ``year_month`` added; and per raw row the step's drop reasons."""
    ids = parse_ids(raw["id"])
    scraped, _ = parse_scrape_dates(raw["last_scraped"])
    bad_id, bad_date = ids.isna().to_numpy(), scraped.isna().to_numpy()
    keep = ~(bad_id | bad_date)
    df = raw[keep].copy()
    df["listing_id"] = ids[keep].astype("int64")
    df["snapshot_date"] = scraped[keep]
    df["year_month"] = df["snapshot_date"].dt.strftime("%Y-%m").astype("str")
    return df, {"invalid_id": pd.Series(bad_id, index=raw.index),
                "invalid_last_scraped": pd.Series(~bad_id & bad_date, index=raw.index)}


def parse_prices(text: pd.Series) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Prices (a row is kept when > 0; an impossible one, infinite or above MAX_PRICE, is made
    missing) and per row the ``valid_price`` step's drop reasons."""
    price = parse_price(text)
    blank = _blank(text)
    impossible = price > MAX_PRICE
    return price.mask(impossible), {"missing_price": blank, "unparseable_price": ~blank & price.isna(),
                                    "nonpositive_price": price <= 0, "impossible_price": impossible}


# A listing further from the bulk of its file's listings than FAR_IQRS interquartile ranges, and at
# least FAR_DEGREES (about 111 km of latitude), in latitude or longitude is not in that city: a
# typo, swapped coordinates, 0,0. Generous on purpose: a region such as Hawaii or Ireland keeps
# every listing, a city its suburbs.
FAR_IQRS, FAR_DEGREES = 10.0, 1.0
FAR_FROM_CITY = "far_from_city"  # the possible_values step's reason for such a row


def far_from_city(keyed: pd.DataFrame, files: pd.Series | None = None) -> np.ndarray:
    """Per row of ``keyed`` (the rows whose key parses), whether its coordinates lie far outside the
    bulk of its listings file's (``files``: each row's file; None: one file): further from the
    file's median than FAR_IQRS times its interquartile range and FAR_DEGREES. Only possible
    coordinates count, and are judged (an impossible one is counted as such)."""
    files = pd.Series(0, index=keyed.index) if files is None else files
    far = np.zeros(len(keyed), dtype=bool)
    for column in ("latitude", "longitude") if len(keyed) else ():
        value = parse_numeric(keyed[column])
        value = value.mask(DOMAINS[column].violates(value))
        quartiles = value.groupby(files).quantile([0.25, 0.5, 0.75]).unstack()
        low, median, high = (quartiles[q].reindex(files).to_numpy() for q in (0.25, 0.5, 0.75))
        far |= (np.abs(value.to_numpy() - median) > np.maximum(FAR_IQRS * (high - low), FAR_DEGREES))
    return far


def _parse_keys(raw: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """The rows whose key parses, with ``_far`` (:func:`far_from_city`, judged by their file)."""
    df, reasons = parse_keys(raw)
    summary.step("parse_keys", len(raw), len(df), {k: v.sum() for k, v in reasons.items()})
    return df.assign(_far=far_from_city(df, df["_file"]))


def _latest_per_month(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    ordered = df.sort_values([*ROW_KEY, "snapshot_date", "_file"], kind="stable")
    out = ordered.drop_duplicates(ROW_KEY, keep="last")
    summary.step("latest_scrape_per_month", len(df), len(out), {"older_scrape_same_month": len(df) - len(out)})
    return out


def _filter_price(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    price, reasons = parse_prices(df["price"])
    keep = price > 0
    summary.parse_issues["price_unparseable"] = int(reasons["unparseable_price"].sum())
    out = df[keep].copy()
    out["target_price"] = price[keep]
    summary.step("valid_price", len(df), len(out), {k: v.sum() for k, v in reasons.items()})
    return out


def _filter_essential(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    missing = {f"missing_{c}": df[c].isna() for c in ESSENTIAL_COLUMNS}
    keep = ~np.logical_or.reduce(list(missing.values()))
    out = df[keep]
    summary.step("essential_inputs", len(df), len(out), {k: v.sum() for k, v in missing.items()})
    return out


def _filter_possible(df: pd.DataFrame, summary: Summary) -> pd.DataFrame:
    """Drop rows whose size or place is impossible (0 guests, latitude 412): like a missing one, it
    cannot be guessed; and rows far from their city (``_far``). Each dropped row is counted once,
    under its first impossible column (by name), else as FAR_FROM_CITY."""
    found = domain_violations(df[ESSENTIAL_COLUMNS].reset_index(drop=True)).drop_duplicates("row")
    impossible = np.isin(np.arange(len(df)), found["row"])
    far = df["_far"].to_numpy() & ~impossible
    counts = found["column"].value_counts()
    summary.step("possible_values", len(df), int((~impossible & ~far).sum()),
                 {**{f"impossible_{c}": counts.get(c, 0) for c in ESSENTIAL_COLUMNS}, FAR_FROM_CITY: far.sum()})
    return df[~impossible & ~far]


def _attach_weight(df: pd.DataFrame, reviews_paths: Sequence[Path], config: EtlConfig,
                   summary: Summary) -> pd.DataFrame:
    df = df.copy()
    if reviews_paths:
        reviews, last = read_reviews(reviews_paths, df, summary.parse_issues, config)
        count, method = review_counts(df, reviews, last, config)
        summary.weight_method = {"method": "reviews_file",
                                 "rows": {k: int(v) for k, v in method.value_counts().items()},
                                 "reviews_read": int(len(reviews)),
                                 "reviews_end": {city: month_text(m) for city, m in sorted(last.items())}}
    else:
        count, method = reviews_from_listings(df, config)
        summary.weight_method = {"method": "listings_columns",
                                 "rows": {k: int(v) for k, v in method.value_counts().items()}}
    count = count.fillna(0.0)
    df["reviews_in_last_90_days"] = np.rint(count).astype("int32")
    df["estimated_occupancy_rate"] = occupancy_from_reviews(count, config)
    keep = df["estimated_occupancy_rate"] > 0
    log.info("weight method: %s", summary.weight_method)
    summary.step("positive_weight", len(df), int(keep.sum()), {"zero_weight": (~keep).sum()})
    listings = df["listing_id"].nunique()
    log.info("%s", zero_weight_note(int((~keep).sum()), len(df), listings - df.loc[keep, "listing_id"].nunique(),
                                    listings))
    return df[keep]


def zero_weight_note(rows_dropped: int, rows_in: int, listings_dropped: int | None = None,
                     listings_in: int | None = None) -> str:
    """One sentence on the rows dropped for want of recent reviews, and why."""
    whole = f" ({listings_dropped:,} of {listings_in:,} listings)" if listings_dropped is not None else ""
    return (f"dropped {rows_dropped:,} of {rows_in:,} listing-months{whole} with no review in the {WINDOW_DAYS} "
            "days before their scrape: their estimated occupancy, the weight every row is trained and scored "
            "with, is zero, so they say nothing about what guests pay")


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """Cast to the exact schema and column order of SPEC §3.1."""
    df = df.assign(month=df["snapshot_date"].dt.month, city=df[CITY].astype("str"))
    return pa.Table.from_pandas(df[TABLE_COLUMNS], schema=TABLE_SCHEMA, preserve_index=False)


def inputs(listings, reviews, config: EtlConfig = EtlConfig(), output: str | Path | None = None
           ) -> tuple[list[Path], list[Path]]:
    """The listings and reviews files given (paths, globs or folders), checked to exist and not to
    be the ``output`` (nor its summary).

    With reviews files, every row is weighted by its reviews: a city of several whose reviews file
    is missing would have no review and lose every row as zero weight, silently. So each city's
    folder must hold a reviews file (or build it without ``--reviews``)."""
    paths = expand_paths(listings, "listings")
    reviews_paths = [] if reviews is None else expand_paths(reviews, "reviews")
    if output is not None:
        for written in (output, summary_path(output)):
            refuse_input(written, [*paths, *reviews_paths])
    cities = {config.city_of(p) for p in paths}
    unreviewed = sorted(cities - {config.city_of(r) for r in reviews_paths})
    if reviews_paths and len(cities) > 1 and unreviewed:
        raise EtlError(f"no reviews file of {', '.join(map(repr, unreviewed))} among --reviews "
                       f"({', '.join(map(str, reviews_paths))}): weighted by reviews, its listings would all "
                       "get zero weight and be dropped; give each city's reviews file (a city is its folder's "
                       "name), or build the table without --reviews (weights from the listings' own columns)")
    return paths, reviews_paths


def summary_record(summary: Summary, paths: Sequence[Path], reviews_paths: Sequence[Path], config: EtlConfig,
                   rows_out: int, listings_out: int, cities: dict[str, int], groups: dict[str, str],
                   started: float) -> dict:
    """The summary JSON, the same from either engine (``engine`` and ``seconds`` aside)."""
    reviews = [{"path": str(p), "sha256": file_sha256(p)} for p in reviews_paths]
    return {
        "package_version": __version__,
        "engine": config.engine,
        "rows_out": rows_out,
        "listings_out": listings_out,
        "cities": dict(sorted(cities.items())),
        "inputs": {
            "listings": [{"path": str(p), "sha256": file_sha256(p)} for p in paths],
            "reviews": (reviews[0] if len(reviews) == 1 else reviews) or None,
        },
        "parameters": config.occupancy,
        **asdict(summary),
        "neighbourhood_groups": groups,
        "seconds": round(time.perf_counter() - started, 3),
    }


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
    df = _latest_per_month(_parse_keys(raw, summary), summary)
    df = _filter_price(df, summary)
    keys = df[[*ROW_KEY, "snapshot_date", "target_price", CITY, "_far", "_file"]]
    rescaled: dict[int, list[str]] = {}
    df = pd.concat([keys, mask_impossible(parse_listing_features(df, summary.parse_issues, rescaled),
                                          summary.parse_issues)], axis=1)
    summary.rescaled_scores = {str(paths[i]): columns for i, columns in rescaled.items()}
    if rescaled:
        log.info("old-scale review scores turned into 0-5 stars: %s", summary.rescaled_scores)
    df["amenities"], summary.reduced_scrapes = fill_reduced_scrapes(df, paths)
    df = _filter_possible(_filter_essential(df, summary), summary)
    df = _attach_weight(df, reviews_paths, config, summary)
    impute(df, fit_fill_values(df), summary.imputation)
    table = to_arrow(df.sort_values(ROW_KEY, kind="stable"))
    cities = {str(k): int(v) for k, v in df[CITY].value_counts().items() if v}
    return table, summary_record(summary, paths, reviews_paths, config, table.num_rows,
                                 int(df["listing_id"].nunique()), cities, _neighbourhood_groups(df), started)


def _neighbourhood_groups(df: pd.DataFrame) -> dict[str, str]:
    """neighbourhood -> borough/group, kept for per-group reports (not a table column): the group
    of the neighbourhood's first row (by listing and month)."""
    if "neighbourhood_group_cleansed" not in df:
        return {}
    pairs = df[["neighbourhood_cleansed", "neighbourhood_group_cleansed"]].dropna().drop_duplicates("neighbourhood_cleansed")
    return dict(sorted(zip(pairs["neighbourhood_cleansed"], pairs["neighbourhood_group_cleansed"])))


def steps_table(summary: dict) -> pd.DataFrame:
    """The summary's steps as a table: rows in/out and one column per drop reason."""
    rows = [{"step": s["step"], "rows_in": s["rows_in"], "rows_out": s["rows_out"], **s["dropped"]}
            for s in summary["steps"]]
    return pd.DataFrame(rows).set_index("step").fillna(0).astype("int64")


def summary_path(table_path: str | Path) -> Path:
    table_path = Path(table_path)
    return table_path.with_name(table_path.stem + ".summary.json")


def check_output(output: Path, partitioned: bool = False) -> None:
    """Fail before reading any input when ``output`` cannot be written, rather than after a build
    of many minutes. Nothing is created (a folder to make is checked at its nearest existing one).
    A ``partitioned`` table (the Spark engine's) may replace a partitioned table, never another folder."""
    for path in (output, summary_path(output)):
        if path.is_dir() and not (partitioned and path == output and is_partitioned_table(path)):
            hint = (f"give a new folder or a previous table's, e.g. --output {path / 'table'}" if partitioned
                    else f"give a file path, e.g. --output {path / 'table.parquet'}")
            raise EtlError(f"output {path} is a folder{' that is not a modeling table' if partitioned else ''}: {hint}")
    folder = next(f for f in output.absolute().parents if f.exists())
    if not folder.is_dir():
        raise EtlError(f"cannot write {output}: {folder} is a file, not a folder; choose another --output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EtlError(f"cannot write {output}: folder {folder} is not writable; choose another --output "
                       "or make the folder writable")


def write_table(table: pa.Table, summary: dict, output: str | Path) -> Path:
    """Write the Parquet and its summary as one: an error leaves the previous pair intact and no
    temporary file, and is an EtlError naming the output (a full disk, a vanished folder)."""
    output = Path(output)
    try:
        with atomic_paths(output, summary_path(output)) as (tmp_table, tmp_summary):
            pq.write_table(table, tmp_table)
            tmp_summary.write_text(json_text({"output": str(output), **summary}))
    except OSError as exc:
        raise EtlError(f"cannot write {output} ({one_line(exc)}); any previous table is unchanged: "
                       "free space or fix the folder's permissions, or choose another --output") from exc
    return output


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


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m airbnb.etl", description=description(__doc__),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--listings", nargs="+", help="listings.csv[.gz] files, globs or snapshot "
                        "directories (the built-in city's table: python -m airbnb.synthetic --table PATH)")
    parser.add_argument("--reviews", nargs="+", help="reviews.csv[.gz] (one per city); without it the weight "
                        "comes from listing columns")
    parser.add_argument("--output", default=argparse.SUPPRESS, help="Parquet file to write (--engine spark: the table's folder); default "
                        f"{DEFAULT_TABLE_PATH.parent}/<city>.parquet, the city named by --city or the listings' "
                        "folder, so the built-in city's table is never overwritten")
    add_config_flags(parser, EtlConfig)
    args = parser.parse_args(argv)
    setup_logging()
    return command_line(lambda: _etl_command(args))


def _etl_command(args: argparse.Namespace) -> dict:
    config = EtlConfig(**{f.name: getattr(args, f.name) for f in fields(EtlConfig)})
    output = getattr(args, "output", None) or default_output(args.listings, config)
    return run_etl(args.listings, args.reviews, output, config)


def default_output(listings, config: EtlConfig) -> Path:
    """Where a table goes when no output is given: named by its cities (``albany.parquet``), so a
    city's build never replaces the built-in city's table (a city called that gets ``-etl``)."""
    if listings is None:
        raise EtlError("no listings given: pass --listings with listings.csv[.gz] files, globs or snapshot folders")
    cities = sorted({config.city_of(p) for p in expand_paths(listings, "listings")})
    path = DEFAULT_TABLE_PATH.with_name("+".join(cities) + (".parquet" if config.engine == "pandas" else ""))
    return path.with_name(path.stem + "-etl" + path.suffix) if path.resolve() == DEFAULT_TABLE_PATH.resolve() else path


if __name__ == "__main__":
    main()
