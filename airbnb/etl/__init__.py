"""Raw Inside Airbnb files -> the listing-month modeling table (SPEC §2-§3).

:func:`run_etl` reads one or more ``listings.csv[.gz]`` snapshots (only the columns it needs),
keeps the latest scrape of each listing per month, parses prices, rates, booleans and bathroom
texts, attaches the review-based occupancy weight, imputes, and writes the table with a summary
of every step (rows in/out and why rows were dropped), atomically, after checking that the output
can be written and before reading any input. :func:`build_table` returns the table and summary.

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

Two engines build the same table: the pandas engine (the default: one Parquet file) and
:mod:`airbnb.etl.spark` (``--engine spark``: PySpark, locally or on a cluster, writing a folder
partitioned by city and month), from the same declarations and row parsers. The modules, in the
order data flows through them (each imports only earlier ones):

- :mod:`~airbnb.etl.config`: the columns read, :class:`EtlConfig`, :class:`EtlError`, :class:`Summary`;
- :mod:`~airbnb.etl.reading`: the input files, checked, and their wanted columns as text;
- :mod:`~airbnb.etl.parsing`: texts -> typed values (also prediction's);
- :mod:`~airbnb.etl.steps`: the pandas engine's filters, masking, reduced scrapes, imputation;
- :mod:`~airbnb.etl.weights`: the reviews and the occupancy weight;
- :mod:`~airbnb.etl.writing`: the schema, the summary record, writing both atomically;
- :mod:`~airbnb.etl.spark_workers`, :mod:`~airbnb.etl.spark_steps`, :mod:`~airbnb.etl.spark`: the Spark engine;
- :mod:`~airbnb.etl.pipeline`: :func:`build_table` (pandas) and :func:`run_etl` (either engine);
- :mod:`~airbnb.etl.cli`: ``python -m airbnb.etl``.

This module is the public face: the names below are the ETL's API.
"""
from .cli import default_output, main
from .config import (BATHROOM_COLUMNS, ESSENTIAL_COLUMNS, OPTIONAL_LISTING_COLUMNS, REQUIRED_LISTING_COLUMNS,
                     EtlConfig, EtlError, Summary, summary_path)
from .parsing import (parse_amenities, parse_bathrooms, parse_bool, parse_ids, parse_listing_features, parse_price,
                      parse_rate)
from .pipeline import build_table, run_etl
from .reading import expand_paths, read_csv_columns
from .steps import NEUTRAL_FILL, fit_fill_values, impute
from .weights import month_index, month_text, zero_weight_note
from .writing import steps_table, write_table

__all__ = [
    "BATHROOM_COLUMNS", "ESSENTIAL_COLUMNS", "NEUTRAL_FILL", "OPTIONAL_LISTING_COLUMNS", "REQUIRED_LISTING_COLUMNS",
    "EtlConfig", "EtlError", "Summary", "build_table", "default_output", "expand_paths", "fit_fill_values", "impute",
    "main", "month_index", "month_text", "parse_amenities", "parse_bathrooms", "parse_bool", "parse_ids",
    "parse_listing_features", "parse_price", "parse_rate", "read_csv_columns", "run_etl", "steps_table",
    "summary_path", "write_table", "zero_weight_note",
]
