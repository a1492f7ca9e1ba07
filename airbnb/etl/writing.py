"""The table and its summary as written: the exact schema (SPEC §3.1), the summary record both
engines write, and the Parquet file published with its summary as one (atomically).

:func:`check_output` fails before any input is read when the output cannot be written.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..errors import one_line
from ..io import atomic_paths, file_sha256, json_text
from ..schema import CITY, TABLE_COLUMNS, TABLE_SCHEMA, is_partitioned_table
from .config import EtlConfig, EtlError, Summary, summary_path


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """Cast to the exact schema and column order of SPEC §3.1."""
    df = df.assign(month=df["snapshot_date"].dt.month, city=df[CITY].astype("str"))
    return pa.Table.from_pandas(df[TABLE_COLUMNS], schema=TABLE_SCHEMA, preserve_index=False)


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


def neighbourhood_groups(df: pd.DataFrame) -> dict[str, str]:
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
        raise write_failure(output, exc) from exc
    return output


def write_failure(output: Path, exc: Exception, limit: int | None = None) -> EtlError:
    """The error of a table that could not be written (a full disk, a vanished folder), naming
    it; ``limit`` cuts a long reason (a JVM's) to that many characters."""
    return EtlError(f"cannot write {output} ({one_line(exc)[:limit]}); any previous table is unchanged: "
                    "free space or fix the folder's permissions, or choose another --output")
