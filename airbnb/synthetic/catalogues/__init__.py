"""The city's constant catalogues, loaded once from the JSON files beside this module.

``places.json`` (boroughs and neighbourhoods), ``property_types.json``, ``amenities.json`` (the
vocabulary :mod:`airbnb.synthetic.amenities` builds its groups from), ``people.json`` (names and
hosts), ``listing_text.json`` and ``review_text.json``. Each file's ``"about"`` says what its
fields mean. They are part of the city's truth: editing one changes every generated city.
"""
from __future__ import annotations

import json
from importlib.resources import files

from airbnb.schema import ROOM_TYPES


def load(name: str) -> dict:
    """The catalogue ``<name>.json`` of this package."""
    return json.loads(files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- places

_places = load("places")
BOROUGHS = tuple(b["name"] for b in _places["boroughs"])
BOROUGH_SHARE = tuple(b["share"] for b in _places["boroughs"])
BOROUGH_RADIUS_KM = tuple(b["radius_km"] for b in _places["boroughs"])
# Room-type shares per borough (ROOM_TYPES order): Manhattan has the most entire homes and hotels.
ROOM_SHARE = tuple(tuple(b["room_share"][r] for r in ROOM_TYPES) for b in _places["boroughs"])
# (name, borough index, latitude, longitude, share of its borough's listings, dollar effect)
NEIGHBOURHOODS: tuple[tuple[str, int, float, float, float, float], ...] = tuple(
    (n["name"], BOROUGHS.index(n["borough"]), n["lat"], n["lon"], n["share"], n["effect"])
    for n in _places["neighbourhoods"])
# (property_type, room index, dollar effect, weight in Manhattan/Brooklyn, weight elsewhere)
PROPERTY_TYPES: tuple[tuple[str, int, float, float, float], ...] = tuple(
    (p["name"], ROOM_TYPES.index(p["room_type"]), p["effect"], p["weight_inner"], p["weight_outer"])
    for p in load("property_types")["property_types"])

# --------------------------------------------------------------------------- amenities

AMENITIES = load("amenities")

# --------------------------------------------------------------------------- text

_people = load("people")
FIRST_NAMES = tuple(_people["first_names"])
COMPANY_HOSTS = tuple(_people["company_hosts"])
HOST_LOCATIONS = tuple(_people["host_locations"])
HOST_LOCATION_P = tuple(_people["host_locations"].values())
HOST_ABOUT = tuple(_people["host_about"])

_listing_text = load("listing_text")
NAME_ADJECTIVES = tuple(_listing_text["name_adjectives"])
LANDMARKS = tuple(tuple(_listing_text["landmarks"][b]) for b in BOROUGHS)  # in BOROUGHS order
ROOM_WORDS = tuple(tuple(_listing_text["room_words"][r]) for r in ROOM_TYPES)  # in ROOM_TYPES order
DESCRIPTION_SENTENCES = tuple(_listing_text["description_sentences"])
OVERVIEW_SENTENCES = tuple(_listing_text["overview_sentences"])

_review_text = load("review_text")
REVIEW_OPENERS = tuple(_review_text["openers"])
REVIEW_BODIES = tuple(_review_text["bodies"])
REVIEW_SPECIALS = tuple(_review_text["specials"])
