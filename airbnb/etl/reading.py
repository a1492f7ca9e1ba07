"""Finding and reading the raw files: the listings and reviews given (paths, globs or folders),
checked before any is read, and only the wanted columns of each, as text.

A damaged file (cut short in a download, not what its name says) is an :class:`EtlError`
naming it.
"""
from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import one_line
from ..io import refuse_input
from ..schema import CITY
from .config import (BATHROOM_COLUMNS, OPTIONAL_LISTING_COLUMNS, REQUIRED_LISTING_COLUMNS, EtlConfig, EtlError,
                     summary_path)


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
