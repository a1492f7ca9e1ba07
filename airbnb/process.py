"""The process stage: a city's Inside Airbnb files, or the built-in synthetic city's, to the
modeling table. Its settings (:class:`ProcessConfig`) are the process notebook's parameters and a
params file's process keys, checked before any notebook starts."""
from __future__ import annotations

import dataclasses

from .cli import option
from .config import DEFAULT_CITY_DIR, DEFAULT_TABLE_PATH
from .etl import EtlConfig, run_etl
from .settings import Text, settings
from .synthetic import CityConfig, resolve_inputs


@settings(frozen=True)
class ProcessConfig(EtlConfig):
    """The ETL's settings, plus which files and where the table goes."""

    listings: list[str] | Text | None = option(None, "listings.csv[.gz] files, globs or snapshot folders "
                                                "(None: the built-in synthetic city)")
    reviews: list[str] | Text | None = option(None, "reviews.csv[.gz] (None: weight from listing columns, or the "
                                              "synthetic city's reviews)")
    data_path: Text = option(str(DEFAULT_TABLE_PATH), "the modeling table to write (Parquet + .summary.json)")
    city_dir: Text = option(str(DEFAULT_CITY_DIR), "synthetic city folder (used when listings is None)")
    city_listings: int = option(CityConfig().n_listings, "synthetic city size if it has to be generated")
    city_seed: int = option(CityConfig().seed, "synthetic city seed")

    def __post_init__(self):
        super().__post_init__()
        self.synthetic_city  # noqa: B018 (built now: its own bounds are checked with the others)

    @property
    def synthetic_city(self) -> CityConfig:
        return CityConfig(n_listings=self.city_listings, seed=self.city_seed)

    @property
    def etl(self) -> EtlConfig:
        return EtlConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(EtlConfig)})


def build_table(config: ProcessConfig) -> dict:
    """Write the table of ``config.listings`` (the built-in city's when None); returns the ETL's summary."""
    listings, reviews = resolve_inputs(config.listings, config.reviews, config.city_dir, config.synthetic_city)
    return run_etl(listings, reviews, config.data_path, config.etl)
