"""Project-wide default locations. Module-specific defaults live on each module's config dataclass."""
from pathlib import Path

# The built-in default data: a synthetic city written in the raw Inside Airbnb format.
DEFAULT_CITY_DIR = Path("data/synthetic/default-city")
DEFAULT_TABLE_PATH = Path("data/processed/default-city.parquet")
DEFAULT_ARTIFACTS_DIR = Path("artifacts")
