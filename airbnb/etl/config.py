"""What the ETL reads and reports: the columns of a listings file, the build's settings
(:class:`EtlConfig`), its error (:class:`EtlError`) and the summary of its steps (:class:`Summary`).

Both engines (:mod:`airbnb.etl.pipeline`, :mod:`airbnb.etl.spark`) build from these declarations.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..cli import option
from ..errors import UserError
from ..log import get_logger
from ..schema import RATE_COLUMNS, REVIEW_SCORE_COLUMNS, city_from_path
from ..settings import Literal, Range, Text, settings

log = get_logger(__package__)  # every module of the ETL logs as airbnb.etl

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


@settings(error=EtlError, frozen=True)
class EtlConfig:
    """How the table is built: the review-based occupancy estimate's parameters (SPEC §3.3), the
    city of the rows and the engine."""

    review_rate: Range(float, gt=0, le=1) = option(0.5, "share of stays that leave a review (SPEC §3.3)")
    avg_length_of_stay: Range(float, gt=0) = option(3.0, "nights per booking (SPEC §3.3)")
    city: Text = option("", "city of every listings file (default: each file's folder name, "
                       "e.g. albany-2024-11 -> albany)")
    engine: Literal[ENGINES] = option("pandas", "'pandas' (one machine; writes one Parquet file) or 'spark' (PySpark, "
                         "pip install .[spark]; writes a folder partitioned by city and year_month)")
    spark_master: Text = option("", "with --engine spark: master URL (spark://host:7077, yarn, local[4]); default "
                               "spark-submit's or spark-defaults.conf's master, else local[*]")
    spark_conf: list[str] = option([], "with --engine spark: settings KEY=VALUE, e.g. spark.executor.memory=4g")

    def __post_init__(self):
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


def summary_path(table_path: str | Path) -> Path:
    """Where a table's summary JSON goes: beside it, ``<name>.summary.json``."""
    table_path = Path(table_path)
    return table_path.with_name(table_path.stem + ".summary.json")
