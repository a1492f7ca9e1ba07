"""Raw listing texts -> typed values, row by row: prices, rates, booleans, bathrooms, amenities,
ids and scrape dates, and review scores on the 0-5 star scale.

Shared by the ETL's two engines (the Spark workers run these very functions) and by prediction
on raw listing rows (:func:`parse_listing_features`), so all three parse alike: amenities that
:func:`parse_amenities` rejects become ``"[]"``; files with pre-2021 review scores (rating 20-100,
sub-scores 2-10) are turned into 0-5 stars, deciding per file from its values together.
"""
from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np
import pandas as pd

from ..schema import BOOL_COLUMNS, MAX_PRICE, RATE_COLUMNS, REVIEW_SCORE_COLUMNS
from .config import NUMERIC_COLUMNS

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


def parse_listing_features(raw: pd.DataFrame, issues: dict | None = None, rescaled: dict | None = None,
                           flags: dict | None = None, rescale: bool = True, known_amenities: dict | None = None
                           ) -> pd.DataFrame:
    """Typed model inputs from raw listing text columns (no price, no weight, no imputation).

    Shared by the ETL and by prediction on raw listing rows, so both parse identically: amenities
    training cannot parse become ``"[]"``, old-scale review scores become stars (per ``_file`` when
    the rows come from several files). Impossible values are kept for the caller to judge: the ETL
    cleans a city's data (:func:`~airbnb.etl.steps.mask_impossible`), prediction refuses a listing
    that has them.
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


# The valid_price step's drop reasons, in the order :func:`parse_prices` gives them.
PRICE_REASONS = ("missing_price", "unparseable_price", "nonpositive_price", "impossible_price")


def parse_prices(text: pd.Series) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Prices (a row is kept when > 0; an impossible one, infinite or above MAX_PRICE, is made
    missing) and per row the ``valid_price`` step's drop reasons."""
    price = parse_price(text)
    blank = _blank(text)
    impossible = price > MAX_PRICE
    return price.mask(impossible), dict(zip(PRICE_REASONS, (blank, ~blank & price.isna(), price <= 0, impossible)))
