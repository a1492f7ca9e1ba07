"""The built-in city as the ETL's input: its files, and its modeling table.

The ETL (:mod:`airbnb.etl`) reads only the files it is given; these helpers give it the built-in
synthetic city, generated on first use.
"""
from __future__ import annotations

import os
from pathlib import Path

from airbnb.config import DEFAULT_CITY_DIR, DEFAULT_TABLE_PATH
from airbnb.etl import EtlError, run_etl
from airbnb.log import get_logger

from .config import CityConfig
from .generator import ensure_city

log = get_logger(__package__)


def default_inputs(city_dir: str | os.PathLike = DEFAULT_CITY_DIR, city: CityConfig | None = None,
                   progress: bool = True) -> tuple[Path, Path]:
    """The built-in data: (snapshot folder, reviews file) of the synthetic city, generated if absent."""
    files = ensure_city(city_dir, city or CityConfig(), progress)
    return files.root, files.reviews


def resolve_inputs(listings, reviews, city_dir: str | os.PathLike = DEFAULT_CITY_DIR,
                   city: CityConfig | None = None):
    """The ETL's ``(listings, reviews)``: the user's files when ``listings`` is given, otherwise the
    built-in city's snapshot folder and reviews file (the city in ``city_dir``, generated with
    ``city``, default :class:`CityConfig`, if it is not there yet)."""
    if listings is not None:
        return listings, reviews
    if reviews is not None:
        raise EtlError("a reviews file was given without listings files")
    return default_inputs(city_dir, city)


def ensure_default_table(output: str | os.PathLike = DEFAULT_TABLE_PATH) -> Path:
    """The default modeling table, built from the built-in synthetic city when it is missing."""
    output = Path(output)
    if not output.is_file():
        log.info("default table %s not found: building it from the built-in synthetic city", output)
        run_etl(*default_inputs(), output=output)
    return output
