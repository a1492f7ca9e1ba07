"""The static CSV columns of every listing: text, size, host, place and stay rules.

Written once per listing (already CSV-escaped); each snapshot takes its rows from them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from airbnb.schema import ROOM_TYPES

from .catalogues import (BOROUGHS, COMPANY_HOSTS, DESCRIPTION_SENTENCES, FIRST_NAMES, HOST_ABOUT,
                         HOST_LOCATION_P, HOST_LOCATIONS, LANDMARKS, NAME_ADJECTIVES, NEIGHBOURHOODS,
                         OVERVIEW_SENTENCES, PROPERTY_TYPES, ROOM_WORDS)
from .draws import pick
from .formats import as_arrow, csv_escape, date_text, float_text, hex_uuids, int_text, percent_text

if TYPE_CHECKING:
    from .units import Hosts, Units  # annotations only


def listing_text_columns(ids: np.ndarray, nbhd: np.ndarray, units: Units, scores: np.ndarray,
                         rng: np.random.Generator) -> dict[str, pa.Array]:
    """Names, descriptions and URLs: short synthetic text with real dumps' HTML, commas, newlines."""
    n = len(ids)
    nbhd_name = np.array([r[0] for r in NEIGHBOURHOODS], dtype=object)[nbhd]
    borough = np.array([r[1] for r in NEIGHBOURHOODS])[nbhd]
    adjective = pick(rng, NAME_ADJECTIVES, n)
    words = np.array([pick(rng, w, n) for w in ROOM_WORDS])[units.room, np.arange(n)]
    size = np.where((units.room == 0) & (units.bedrooms >= 1),
                    units.bedrooms.astype(np.int64).astype(str).astype(object) + "BR ",
                    np.where((units.room == 0) & (units.bedrooms == 0), "Studio ", "")).astype(object)
    short_type = np.array([p[0].removeprefix("Entire ").capitalize() for p in PROPERTY_TYPES],
                          dtype=object)[units.ptype]
    listing_card = (short_type + " in " + np.array(BOROUGHS, dtype=object)[borough] + " \u00b7 \u2605"
                    + scores[:, 0].astype(str).astype(object) + " \u00b7 "
                    + _counted(units.bedrooms, "bedroom") + " \u00b7 " + _counted(units.beds, "bed")
                    + " \u00b7 " + units.bath_text())
    landmark = np.array([pick(rng, w, n) for w in LANDMARKS])[borough, np.arange(n)]
    nickname = pick(rng, ("Little Gem", "The Nest", "Hideaway", "Oasis", "Sanctuary"), n)
    names = np.stack([
        adjective + " " + words + " in " + nbhd_name,
        adjective + " " + size + words + " near " + landmark,
        adjective + ", " + pick(rng, NAME_ADJECTIVES, n) + " " + words + " \u2013 " + nbhd_name,
        listing_card,
        '"' + nickname + '" ' + words + " by " + landmark,
        np.char.upper((adjective + " " + words).astype(str)).astype(object) + "!! " + nbhd_name,
    ])
    name = names[rng.choice(len(names), n, p=(.35, .25, .12, .15, .08, .05)), np.arange(n)]
    sentences = [pick(rng, DESCRIPTION_SENTENCES, n) for _ in range(3)]
    joiner = pick(rng, ("<br /><br />", " ", "\n"), n, p=(.6, .32, .08))
    description = (sentences[0] + joiner + "Located in " + nbhd_name + ", "
                   + np.array(BOROUGHS, dtype=object)[borough] + "."
                   + joiner + sentences[1]
                   + np.where(rng.random(n) < 0.5, joiner + sentences[2], ""))
    description = np.where(rng.random(n) < 0.02, "", description)
    has_overview = rng.random(n) < 0.55
    overview = nbhd_name + " " + pick(rng, OVERVIEW_SENTENCES, n) + np.where(
        rng.random(n) < 0.4, "<br /><br />It also " + pick(rng, OVERVIEW_SENTENCES, n), "")
    id_text = ids.astype(str).astype(object)
    picture = ("https://a0.muscache.com/pictures/miso/Hosting-" + id_text + "/original/"
               + hex_uuids(rng, n) + ".jpeg")
    registration = "OSE-STRREG-" + np.char.zfill(rng.integers(1, 10**7, n).astype(str), 7).astype(object)
    return {
        "id": int_text(ids),
        "listing_url": as_arrow("https://www.airbnb.com/rooms/" + id_text),
        "name": csv_escape(name),
        "description": csv_escape(description),
        "neighborhood_overview": csv_escape(np.where(has_overview, overview, "")),
        "neighbourhood": as_arrow(np.where(has_overview, "Neighborhood highlights", "")),
        "picture_url": as_arrow(picture),
        "license": as_arrow(np.select([rng.random(n) < 0.08, rng.random(n) < 0.06],
                                      [registration, "Exempt"], "")),
    }


def _counted(values: np.ndarray, noun: str) -> np.ndarray:
    """"1 bedroom", "3 beds"."""
    whole = values.astype(np.int64)
    return whole.astype(str).astype(object) + " " + noun + np.where(whole == 1, "", "s").astype(object)


def unit_columns(units: Units, column_set: str) -> dict[str, pa.Array]:
    """Property/size columns. 2025 files write 1.0-style numbers and fill ``bathrooms``."""
    integral = column_set == "2024"
    bathrooms = float_text(units.bath, units.bathrooms_blank) if column_set == "2025" else \
        pa.array([""] * len(units.bath))
    return {
        "property_type": as_arrow(np.array([p[0] for p in PROPERTY_TYPES], dtype=object)[units.ptype]),
        "room_type": as_arrow(np.array(ROOM_TYPES, dtype=object)[units.room]),
        "accommodates": int_text(units.accommodates),
        "bathrooms": bathrooms,
        "bathrooms_text": as_arrow(units.bath_text()),
        "bedrooms": float_text(units.bedrooms, units.bedrooms_blank, integral),
        "beds": float_text(units.beds, units.beds_blank, integral),
    }


def host_columns(hosts: Hosts, rng: np.random.Generator) -> dict[str, pa.Array]:
    """The host_* columns, per listing."""
    h = len(hosts.id)
    company = hosts.size >= 20
    name = np.where(company, pick(rng, COMPANY_HOSTS, h), pick(rng, FIRST_NAMES, h))
    about = pick(rng, HOST_ABOUT, h) + np.where(
        rng.random(h) < 0.3, pick(rng, ("\n", " ", "<br /><br />"), h) + pick(rng, HOST_ABOUT, h), "")
    about = np.where(rng.random(h) < 0.45, "", about)
    response_time = pick(rng, ("within an hour", "within a few hours", "within a day",
                               "a few days or more"), h, p=(.68, .17, .11, .04))
    response_time = np.where(hosts.response_rate == -1, "N/A", response_time)
    has_pic = rng.random(h) < 0.97
    pic = ("https://a0.muscache.com/im/pictures/user/User-" + hosts.id.astype(str).astype(object)
           + "/original/" + hex_uuids(rng, h) + ".jpeg?aki_policy=")
    total = hosts.size + np.where(rng.random(h) < 0.15, rng.integers(1, 20, h), 0)
    nbhd_names = np.array([r[0] for r in NEIGHBOURHOODS] + [""], dtype=object)
    per_host = {
        "host_id": int_text(hosts.id),
        "host_url": "https://www.airbnb.com/users/show/" + hosts.id.astype(str).astype(object),
        "host_name": name,
        "host_since": date_text(hosts.since),
        "host_location": pick(rng, HOST_LOCATIONS, h, p=HOST_LOCATION_P),
        "host_about": about,
        "host_response_time": response_time,
        "host_response_rate": percent_text(hosts.response_rate),
        "host_acceptance_rate": percent_text(hosts.acceptance_rate),
        "host_is_superhost": hosts.superhost,
        "host_thumbnail_url": np.where(has_pic, pic + "profile_small",
                                       "https://a0.muscache.com/defaults/user_pic-50x50.png?v=3"),
        "host_picture_url": np.where(has_pic, pic + "profile_x_medium",
                                     "https://a0.muscache.com/defaults/user_pic-225x225.png?v=3"),
        "host_neighbourhood": nbhd_names[hosts.neighbourhood],
        "host_listings_count": int_text(hosts.size),
        "host_total_listings_count": int_text(total),
        "host_verifications": pick(rng, ("['email', 'phone']", "['email', 'phone', 'work_email']",
                                         "['phone']", "['phone', 'work_email']"), h,
                                   p=(.75, .15, .09, .01)),
        "host_has_profile_pic": np.where(has_pic, "t", "f"),
        "host_identity_verified": np.where(hosts.identity_verified, "t", "f"),
    }
    take = pa.array(hosts.of_listing)
    return {k: csv_escape(as_arrow(v)).take(take) for k, v in per_host.items()}


def place_columns(nbhd: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> dict[str, pa.Array]:
    names = np.array([r[0] for r in NEIGHBOURHOODS], dtype=object)
    boroughs = np.array(BOROUGHS, dtype=object)[np.array([r[1] for r in NEIGHBOURHOODS])]
    return {"neighbourhood_cleansed": as_arrow(names[nbhd]),
            "neighbourhood_group_cleansed": as_arrow(boroughs[nbhd]),
            "latitude": float_text(lat, integral=True), "longitude": float_text(lon, integral=True)}


def stay_rule_columns(n: int, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Minimum/maximum nights: NYC's 30-night rule makes 30 the most common minimum."""
    min_n = rng.choice([1, 2, 3, 4, 5, 7, 14, 30, 31, 60, 90], n,
                       p=(.06, .08, .08, .03, .03, .03, .02, .50, .08, .04, .05))
    max_n = rng.choice([30, 60, 90, 120, 180, 365, 730, 1125], n, p=(.03, .04, .06, .05, .07, .30, .10, .35))
    max_n = np.maximum(max_n, min_n)
    max_min = np.where(rng.random(n) < 0.1, min_n + rng.integers(1, 30, n), min_n)
    return {
        "minimum_nights": int_text(min_n), "maximum_nights": int_text(max_n),
        "minimum_minimum_nights": int_text(min_n), "maximum_minimum_nights": int_text(max_min),
        "minimum_maximum_nights": int_text(max_n), "maximum_maximum_nights": int_text(max_n),
        "minimum_nights_avg_ntm": float_text(np.round((min_n + max_min) / 2, 1)),
        "maximum_nights_avg_ntm": float_text(max_n.astype(float)),
        "calendar_updated": pa.array([""] * n),
    }
