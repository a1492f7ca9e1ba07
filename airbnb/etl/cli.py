"""Raw Inside Airbnb files -> the listing-month modeling table (SPEC §2-§3) (the command line:
``python -m airbnb.etl``).

``python -m airbnb.etl --listings 'city/*/listings.csv.gz' --reviews city/reviews.csv.gz
--output table.parquet [--engine spark --output table/]``. Without ``--output`` the table is named
by its cities (:func:`default_output`). The built-in synthetic city's table is built by its
generator (``python -m airbnb.synthetic --table PATH``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from ..cli import DefaultsHelpFormatter, add_config_flags, description, from_parameters
from ..config import DEFAULT_TABLE_PATH
from ..errors import command_line
from ..log import setup_logging
from .config import EtlConfig, EtlError
from .pipeline import run_etl
from .reading import expand_paths


def main(argv: Sequence[str] | None = None) -> dict:
    """``python -m airbnb.etl``: build and write the table; returns the summary."""
    parser = argparse.ArgumentParser(
        prog="python -m airbnb.etl", description=description(__doc__),
        formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--listings", nargs="+", help="listings.csv[.gz] files, globs or snapshot "
                        "directories (the built-in city's table: python -m airbnb.synthetic --table PATH)")
    parser.add_argument("--reviews", nargs="+", help="reviews.csv[.gz] (one per city); without it the weight "
                        "comes from listing columns")
    parser.add_argument("--output", default=argparse.SUPPRESS, help="Parquet file to write (--engine spark: the "
                        "table's folder); default "
                        f"{DEFAULT_TABLE_PATH.parent}/<city>.parquet, the city named by --city or the listings' "
                        "folder, so the built-in city's table is never overwritten")
    add_config_flags(parser, EtlConfig)
    args = parser.parse_args(argv)
    setup_logging()
    return command_line(lambda: _etl_command(args))


def _etl_command(args: argparse.Namespace) -> dict:
    config = from_parameters(EtlConfig, vars(args))
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
