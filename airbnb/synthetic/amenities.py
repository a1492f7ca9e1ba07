"""The amenity vocabulary (strings, dollar values, frequencies) and each listing's amenities.

The vocabulary is ``catalogues/amenities.json``; the wifi, TV, stove and oven groups, whose lines
follow patterns (speeds, screen sizes, brands), are generated here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalogues import AMENITIES


@dataclass(frozen=True)
class AmenityGroup:
    """Mutually exclusive amenity strings: a listing has at most one line of each group."""

    p_home: float  # inclusion probability for entire homes and hotel rooms
    p_room: float  # ... for private and shared rooms
    variants: tuple[tuple[str, float, float], ...]  # (string, dollar value, relative frequency)


def _english_list(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _single(spec: dict) -> AmenityGroup:
    return AmenityGroup(spec["p_home"], spec["p_room"], ((spec["name"], spec["value"], 1.0),))


def _branded(spec: dict, brands: dict[str, list[str]]) -> AmenityGroup:
    """The generic line (most common) plus the brand lines real hosts type ("Samsung refrigerator")."""
    item, value = spec["item"], spec["value"]
    variants = [(item[0].upper() + item[1:], value, 40.0), *map(tuple, spec.get("extra", []))]
    variants += [(f"{b} {s}{item}", value, 0.3) for b in brands[spec["brands"]]
                 for s in spec.get("styles", [""])]
    return AmenityGroup(spec["p_home"], spec["p_room"], tuple(variants))


def _listed(spec: dict) -> AmenityGroup:
    """"Coffee maker: drip coffee maker, french press, and Nespresso"-style lines."""
    prefix, value = spec["prefix"], spec["value"]
    variants = [(prefix, value, 20.0)]
    for k in range(1, spec["max_items"] + 1):
        variants += [(f"{prefix}: {_english_list(c)}", value + 0.3 * k, 2.0 / k)
                     for c in combinations(spec["items"], k)]
    return AmenityGroup(spec["p_home"], spec["p_room"], tuple(variants))


def _exclusive(spec: dict) -> AmenityGroup:
    return AmenityGroup(spec["p_home"], spec["p_room"], tuple(map(tuple, spec["variants"])))


def _tv_group(streaming: Sequence[str]) -> AmenityGroup:
    variants = [("TV", 0.6, 30.0), ("HDTV", 0.9, 8.0), ("TV with standard cable", 0.9, 6.0),
                ("HDTV with Netflix", 1.2, 4.0), ("TV with Roku", 0.9, 2.0)]
    combos = [c for k in (1, 2, 3) for c in combinations(streaming, k)]
    for size in (32, 40, 42, 43, 48, 50, 55, 58, 60, 65, 70, 75, 85):
        value = 0.9 + (size - 32) / 30
        variants += [(f"{size} inch HDTV", value, 0.5), (f"{size} inch TV", value - 0.3, 0.2)]
        variants += [(f"{size} inch HDTV with {', '.join(c)}", value + 0.3, 0.02) for c in combos]
    variants += [(f"HDTV with {', '.join(c)}", 1.2, 0.05) for c in combos]
    return AmenityGroup(0.80, 0.50, tuple(variants))


def _wifi_group() -> AmenityGroup:
    variants = [("Wifi", 0.6, 60.0)]
    variants += [(f"Fast wifi \u2013 {n} Mbps", 1.8, 0.15) for n in range(100, 1001, 3)]
    variants += [(f"Wifi \u2013 {n} Mbps", 0.6, 0.1) for n in range(10, 100)]
    return AmenityGroup(0.97, 0.95, tuple(variants))


def _stove_group(brands: Sequence[str]) -> AmenityGroup:
    kinds = ("gas", "electric", "induction")
    extra = [(f"{k.capitalize()} stove", 0.6, 5.0) for k in kinds]
    extra += [(f"Stainless steel {k} stove", 0.9, 3.0) for k in kinds]
    variants = [("Stove", 0.6, 40.0), *extra]
    variants += [(f"{b} {s}{k} stove", 0.9, 0.2) for b in brands for k in kinds
                 for s in ("", "stainless steel ")]
    return AmenityGroup(0.62, 0.40, tuple(variants))


def _oven_group(brands: Sequence[str]) -> AmenityGroup:
    kinds = ("oven", "single oven", "double oven")
    variants = [("Oven", 0.6, 40.0), ("Single oven", 0.6, 4.0), ("Double oven", 1.2, 1.0),
                ("Stainless steel oven", 0.9, 4.0), ("Stainless steel single oven", 0.9, 2.0)]
    variants += [(f"{b} {s}{k}", 0.9, 0.2) for b in brands for k in kinds
                 for s in ("", "stainless steel ")]
    return AmenityGroup(0.62, 0.38, tuple(variants))


def _amenity_groups(spec: dict) -> tuple[AmenityGroup, ...]:
    """The city's amenity vocabulary, values and frequencies (a fixed part of the city's truth)."""
    brands = spec["brands"]
    return (*map(_single, spec["single"]),
            _wifi_group(), _tv_group(spec["streaming"]), _stove_group(brands["appliance"]),
            _oven_group(brands["appliance"]),
            *(_branded(b, brands) for b in spec["branded"]),
            *map(_listed, spec["listed"]),
            *map(_exclusive, spec["exclusive"]))


AMENITY_GROUPS = _amenity_groups(AMENITIES)

# --------------------------------------------------------------------------- draws


def draw_amenities(room: np.ndarray, rng: np.random.Generator
                   ) -> tuple[pa.Array, np.ndarray, dict[str, float]]:
    """Each listing's amenities JSON list and its dollar value; the value of every string."""
    n, groups = len(room), AMENITY_GROUPS
    p = np.array([[g.p_home, g.p_room] for g in groups], dtype=np.float32)
    p = p[:, ((room == 1) | (room == 2)).astype(np.int64)].T  # (listing, group)
    richness = rng.normal(0.0, 1.0, n).astype(np.float32)[:, None]
    logit = np.log(p / (1 - p)) + richness
    included = rng.random((n, len(groups)), dtype=np.float32) < 1 / (1 + np.exp(-logit))
    included[rng.random(n) < 0.002] = False  # the rare "[]" rows of real dumps
    strings = [v[0] for g in groups for v in g.variants]
    values = np.array([v[1] for g in groups for v in g.variants])
    string_id = np.empty((n, len(groups)), np.int64)
    offset = 0
    for j, g in enumerate(groups):
        weight = np.array([v[2] for v in g.variants])
        cdf = np.cumsum(weight) / weight.sum()
        string_id[:, j] = offset + np.minimum(np.searchsorted(cdf, rng.random(n)), len(cdf) - 1)
        offset += len(g.variants)
    order = np.argsort(np.where(included, rng.random(included.shape, dtype=np.float32), 2.0), axis=1)
    sid = np.take_along_axis(string_id, order, axis=1)
    count = included.sum(axis=1)
    flat = sid[np.arange(len(groups))[None, :] < count[:, None]]
    tokens = pa.array([json.dumps(s) for s in strings])
    lists = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(count)]), pa.int32()),
                                     tokens.take(pa.array(flat)))
    text = pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")
    value = np.where(included, values[string_id], 0.0).sum(axis=1)
    return text, value, dict(zip(strings, values.tolist()))
