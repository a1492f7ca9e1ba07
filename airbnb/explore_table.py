"""The run's table as the explorer finds it: a path the run recorded, the raw listings files its
ETL read, and where its listing ids come from (Inside Airbnb's are linked to their Airbnb pages).
"""
from __future__ import annotations

from pathlib import Path

from .etl import summary_path
from .io import file_sha256, read_json
from .notebook import project_root


def resolve_record_path(recorded: str | Path, artifacts_dir: Path) -> Path:
    """A path a run recorded (relative to where training ran: usually the project root)."""
    path = Path(recorded)
    if path.is_absolute() or path.exists():
        return path
    root = project_root(artifacts_dir)
    return root / path if root is not None and (root / path).exists() else path


def recorded_listings(table_path: Path, base: Path | None = None) -> list[tuple[dict, Path | None]]:
    """The listings files the table's ETL summary records, each as (its record, the file found on
    disk, relative paths tried from ``base`` too; None when it is not there)."""
    summary = summary_path(table_path)
    if not summary.is_file():
        return []
    found = []
    for item in read_json(summary).get("inputs", {}).get("listings", []):
        path = Path(item["path"])
        if not path.is_absolute() and not path.exists() and base is not None:
            path = base / path
        found.append((item, path if path.is_file() else None))
    return found


def table_origin(table_path: Path, base: Path | None = None) -> str:
    """'synthetic', 'inside_airbnb' or 'unknown': where the table's listing ids come from.

    The ETL's summary records the hash of every listings file it read. A file the synthetic city
    wrote is listed, with that hash, in the ``city.json`` manifest (``generator: airbnb.synthetic``)
    at the city's root, next to its snapshot folders. A table whose listings files are all found
    and none is in such a manifest was built from real Inside Airbnb files; one whose summary or
    files cannot be found is 'unknown' (its ids are then not linked).
    """
    inputs = recorded_listings(table_path, base)
    if not inputs:
        return "unknown"
    found = 0
    for item, path in inputs:
        if path is None:
            continue
        found += 1
        for folder in (path.parent, path.parent.parent):
            manifest = folder / "city.json"
            if manifest.is_file():
                city = read_json(manifest)
                hashes = {f.get("sha256") for f in city.get("files", [])}
                if city.get("generator") == "airbnb.synthetic" and (item.get("sha256") or file_sha256(path)) in hashes:
                    return "synthetic"
    return "inside_airbnb" if found == len(inputs) else "unknown"

