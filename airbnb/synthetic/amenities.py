"""The amenity vocabulary (strings, dollar values, frequencies) and each listing's amenities."""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def _one(name: str, p_home: float, p_room: float, value: float) -> AmenityGroup:
    return AmenityGroup(p_home, p_room, ((name, value, 1.0),))


def _branded(item: str, value: float, brands: Sequence[str], p_home: float, p_room: float,
             styles: Sequence[str] = ("",), extra: Sequence[tuple[str, float, float]] = ()
             ) -> AmenityGroup:
    """The generic line (most common) plus the brand lines real hosts type ("Samsung refrigerator")."""
    variants = [(item[0].upper() + item[1:], value, 40.0), *extra]
    variants += [(f"{b} {s}{item}", value, 0.3) for b in brands for s in styles]
    return AmenityGroup(p_home, p_room, tuple(variants))


def _listed(prefix: str, base_value: float, items: Sequence[str], k_max: int, p_home: float,
            p_room: float) -> AmenityGroup:
    """"Coffee maker: drip coffee maker, french press, and Nespresso"-style lines."""
    variants = [(prefix, base_value, 20.0)]
    for k in range(1, k_max + 1):
        variants += [(f"{prefix}: {_english_list(c)}", base_value + 0.3 * k, 2.0 / k)
                     for c in combinations(items, k)]
    return AmenityGroup(p_home, p_room, tuple(variants))


_APPLIANCE_BRANDS = ("Samsung", "LG", "GE", "Frigidaire", "Whirlpool", "Bosch", "KitchenAid",
                     "Haier", "Hotpoint", "Maytag", "Smeg", "Viking", "Wolf", "Sub-Zero", "Amana")
_TOILETRY_BRANDS = ("Dove", "Suave", "Head and Shoulders", "Pantene", "TRESemme", "Aveda",
                    "Malin+Goetz", "Le Labo", "Molton Brown", "Aesop", "Kirkland", "Method",
                    "Dr. Bronner's", "Native", "Nonspecific", "Generic", "Suave ", "Dove ",
                    "Generic ", "Mrs. Meyer's")
_SPEAKER_BRANDS = ("Sonos", "Bose", "JBL", "Marshall", "Sony", "Harman Kardon", "Yamaha",
                   "Bang & Olufsen", "Amazon Echo", "Apple HomePod")
_STREAMING = ("Netflix", "Roku", "Amazon Prime Video", "Hulu", "HBO Max", "Disney+", "Apple TV",
              "Chromecast", "Fire TV", "standard cable", "premium cable")


def _tv_group() -> AmenityGroup:
    variants = [("TV", 0.6, 30.0), ("HDTV", 0.9, 8.0), ("TV with standard cable", 0.9, 6.0),
                ("HDTV with Netflix", 1.2, 4.0), ("TV with Roku", 0.9, 2.0)]
    combos = [c for k in (1, 2, 3) for c in combinations(_STREAMING, k)]
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


def _stove_group() -> AmenityGroup:
    kinds = ("gas", "electric", "induction")
    extra = [(f"{k.capitalize()} stove", 0.6, 5.0) for k in kinds]
    extra += [(f"Stainless steel {k} stove", 0.9, 3.0) for k in kinds]
    variants = [("Stove", 0.6, 40.0), *extra]
    variants += [(f"{b} {s}{k} stove", 0.9, 0.2) for b in _APPLIANCE_BRANDS for k in kinds
                 for s in ("", "stainless steel ")]
    return AmenityGroup(0.62, 0.40, tuple(variants))


def _oven_group() -> AmenityGroup:
    kinds = ("oven", "single oven", "double oven")
    variants = [("Oven", 0.6, 40.0), ("Single oven", 0.6, 4.0), ("Double oven", 1.2, 1.0),
                ("Stainless steel oven", 0.9, 4.0), ("Stainless steel single oven", 0.9, 2.0)]
    variants += [(f"{b} {s}{k}", 0.9, 0.2) for b in _APPLIANCE_BRANDS for k in kinds
                 for s in ("", "stainless steel ")]
    return AmenityGroup(0.62, 0.38, tuple(variants))


def _group(p_home: float, p_room: float, *variants: tuple[str, float, float]) -> AmenityGroup:
    return AmenityGroup(p_home, p_room, tuple(variants))


def _amenity_groups() -> tuple[AmenityGroup, ...]:
    """The city's amenity vocabulary, values and frequencies (a fixed part of the city's truth)."""
    simple = (
        ("Smoke alarm", .95, .93, 0.3), ("Carbon monoxide alarm", .88, .85, 0.3),
        ("Kitchen", .93, .80, 2.4), ("Essentials", .85, .85, 0.6), ("Hangers", .80, .80, 0.2),
        ("Hot water", .80, .72, 0.3), ("Hair dryer", .78, .68, 0.6), ("Iron", .72, .66, 0.3),
        ("Bed linens", .70, .66, 0.6), ("Dishes and silverware", .80, .60, 0.6),
        ("Cooking basics", .74, .52, 0.6), ("Microwave", .76, .62, 0.6),
        ("Fire extinguisher", .70, .60, 0.3), ("First aid kit", .56, .46, 0.3),
        ("Dedicated workspace", .62, .58, 1.2), ("Long term stays allowed", .60, .60, 0),
        ("Self check-in", .70, .55, 0.6), ("Extra pillows and blankets", .50, .42, 0.6),
        ("Cleaning products", .55, .45, 0.3), ("Freezer", .55, .38, 0.3),
        ("Dining table", .52, .30, 0.6), ("Wine glasses", .48, .25, 0.3), ("Toaster", .42, .28, 0.3),
        ("Hot water kettle", .40, .32, 0.3), ("Room-darkening shades", .35, .33, 0.6),
        ("Luggage dropoff allowed", .28, .30, 0.6), ("Laundromat nearby", .30, .30, 0),
        ("Private entrance", .42, .18, 1.2), ("Keypad", .30, .20, 0.6), ("Lockbox", .20, .15, 0.3),
        ("Smart lock", .20, .15, 0.9), ("Exterior security cameras on property", .35, .35, -0.6),
        ("Ceiling fan", .25, .25, 0.6), ("Portable fans", .20, .22, 0.3), ("Baking sheet", .36, .20, 0.2),
        ("Blender", .25, .12, 0.3), ("Dishwasher", .45, .22, 1.8), ("Bathtub", .45, .35, 1.2),
        ("Elevator", .35, .20, 2.4), ("Building staff", .10, .04, 7.2),
        ("Books and reading material", .25, .20, 0.6), ("Board games", .12, .08, 0.6),
        ("Ethernet connection", .12, .10, 0.6), ("Coffee", .45, .35, 0.3),
        ("Drying rack for clothing", .18, .14, 0.2), ("Window AC unit", .25, .35, 1.2),
        ("Portable air conditioning", .06, .08, 1.2), ("Portable heater", .08, .10, 0.3),
        ("Free street parking", .25, .30, 0.6), ("Pets allowed", .18, .12, 1.2),
        ("Smoking allowed", .03, .04, -3.6), ("Host greets you", .06, .18, 0.6),
        ("Cleaning available during stay", .10, .12, 1.8), ("Single level home", .10, .05, 1.2),
        ("Outdoor furniture", .15, .08, 1.2), ("Outdoor dining area", .12, .06, 1.2),
        ("Fire pit", .03, .01, 2.4), ("Bidet", .05, .04, 1.2), ("Safe", .05, .04, 0.6),
        ("Kitchenette", .03, .05, 1.2), ("Trash compactor", .02, .01, 0.6), ("Rice maker", .06, .05, 0.3),
        ("Bread maker", .02, .01, 0.3), ("Barbecue utensils", .05, .02, 0.3),
        ("Noise decibel monitors on property", .06, .02, -0.6), ("Breakfast", .02, .04, 3.6),
        ("Hammock", .01, .005, 0.6), ("Bikes", .02, .01, 1.2), ("Piano", .02, .01, 3),
        ("Ping pong table", .02, .005, 3), ("Pool table", .015, .005, 4.8),
        ("Movie theater", .005, .001, 12), ("Record player", .03, .01, 1.2),
        ("Arcade games", .005, .002, 3), ("Outdoor shower", .005, .002, 2.4),
        ("Outdoor kitchen", .01, .003, 4.8), ("Sun loungers", .02, .01, 1.2),
        ("Beach essentials", .01, .005, 0.6), ("Kayak", .002, .001, 1.2),
        ("Lock on bedroom door", .05, .62, 1.2), ("Private living room", .05, .08, 4.8),
        ("Shower gel", .40, .35, 0.3), ("Mini fridge", .05, .15, 0.6), ("Waterfront", .01, .005, 15),
        ("Children\u2019s dinnerware", .10, .03, 0.6), ("Baby safety gates", .03, .01, 0.6),
        ("Outlet covers", .04, .01, 0.6), ("Window guards", .05, .02, 0.6),
        ("Babysitter recommendations", .03, .01, 0.6), ("Changing table", .02, .005, 0.6),
        ("Baby bath", .03, .01, 0.6), ("Mosquito net", .01, .01, 0), ("Pocket wifi", .01, .01, 0.6),
        ("City skyline view", .12, .06, 9), ("Park view", .05, .03, 4.8), ("River view", .04, .02, 9),
        ("Bay view", .01, .005, 6), ("Garden view", .05, .04, 1.8), ("Courtyard view", .05, .04, 0.6),
        ("Harbor view", .01, .003, 9), ("Ocean view", .004, .002, 12), ("Beach view", .003, .001, 9),
    )
    groups = [_one(*row) for row in simple]
    groups += [
        _wifi_group(), _tv_group(), _stove_group(), _oven_group(),
        _branded("refrigerator", 0.6, _APPLIANCE_BRANDS, .80, .62, ("", "stainless steel ")),
        _branded("shampoo", 0.3, _TOILETRY_BRANDS, .62, .55),
        _branded("conditioner", 0.3, _TOILETRY_BRANDS, .42, .32),
        _branded("body soap", 0.3, _TOILETRY_BRANDS, .48, .40),
        _branded("sound system", 1.8, _SPEAKER_BRANDS, .06, .02, ("", "Bluetooth "),
                 extra=[("Bluetooth sound system", 1.8, 20.0)]),
        _listed("Coffee maker", 0.6, ("drip coffee maker", "Keurig coffee machine", "Nespresso",
                                      "french press", "pour-over coffee", "espresso machine"),
                3, .55, .32),
        _listed("Clothing storage", 0.3, ("walk-in closet", "closet", "wardrobe", "dresser"), 3,
                .50, .45),
        _listed("Exercise equipment", 2.4, ("free weights", "treadmill", "yoga mat",
                                            "stationary bike", "elliptical", "workout bench"),
                2, .04, .01),
        _listed("Game console", 1.2, ("PS4", "PS5", "Xbox One", "Xbox Series X",
                                      "Nintendo Switch"), 2, .04, .01),
        _listed("Children\u2019s books and toys", 0.6,
                ("ages 0-2 years old", "2-5 years old", "5-10 years old", "10+ years old"), 2,
                .08, .02),
        _group(.50, .28, ("Washer", 1.8, 20), ("Free washer \u2013 In unit", 3, 12),
               ("Free washer \u2013 In building", 1.2, 8), ("Paid washer \u2013 In building", 0.3, 5),
               ("Washer \u2013\u00a0In unit", 3, 1), ("Washer \u2013\u00a0In building", 1.2, 1)),
        _group(.46, .25, ("Dryer", 1.2, 20), ("Free dryer \u2013 In unit", 2.4, 12),
               ("Free dryer \u2013 In building", 0.6, 8), ("Paid dryer \u2013 In building", 0.3, 5),
               ("Dryer \u2013\u00a0In unit", 2.4, 1), ("Dryer \u2013\u00a0In building", 0.6, 1)),
        _group(.12, .10, ("Free parking on premises", 4.8, 20),
               ("Free residential garage on premises", 6, 3),
               ("Free parking garage on premises \u2013 1 space", 7.2, 1),
               ("Free carport on premises \u2013 1 space", 4.8, 0.5),
               *[(f"Free driveway parking on premises \u2013 {n} spaces", 4.8, 1) for n in (2, 3, 4, 8)],
               *[(f"Free parking on premises \u2013 {n} space" + ("s" if n > 1 else ""), 4.8, 1)
                 for n in (1, 2, 4)]),
        _group(.20, .10, ("Paid parking off premises", 0.6, 20), ("Paid parking garage off premises", 0.6, 6),
               ("Paid parking lot off premises", 0.6, 4), ("Paid street parking off premises", 0.3, 3),
               ("Paid parking on premises", 1.8, 5),
               *[(f"Paid parking lot on premises \u2013 {n} spaces", 1.8, 0.5) for n in (2, 5, 20)]),
        _group(.04, .015, ("Pool", 15, 10), ("Shared pool", 12, 10),
               ("Shared outdoor pool - available seasonally, open 24 hours", 12, 3),
               ("Shared indoor pool - available all year, open specific hours, heated", 13.2, 2),
               ("Shared outdoor rooftop pool - available seasonally, open specific hours", 18, 2),
               ("Private pool", 36, 2),
               ("Private outdoor pool - available seasonally, open 24 hours, heated", 36, 1),
               ("Private indoor pool - available all year, heated, salt water", 42, 0.3)),
        _group(.03, .01, ("Hot tub", 12, 10), ("Shared hot tub", 7.2, 6), ("Private hot tub", 24, 3),
               ("Shared hot tub - available all year, open 24 hours", 7.2, 2),
               ("Private hot tub - available all year, open 24 hours", 24, 1)),
        _group(.01, .003, ("Sauna", 7.2, 3), ("Shared sauna", 6, 3), ("Private sauna", 15, 1)),
        _group(.14, .06, ("Gym", 4.8, 10), ("Shared gym in building", 4.8, 6), ("Gym in building", 4.8, 3),
               ("Private gym in building", 15, 1), ("Free gym nearby", 1.2, 1)),
        _group(.06, .02, ("Indoor fireplace", 6, 10), ("Indoor fireplace: gas", 4.8, 3),
               ("Indoor fireplace: electric", 3, 3), ("Indoor fireplace: wood-burning", 7.2, 2),
               ("Indoor fireplace: ethanol", 3.6, 0.5)),
        _group(.08, .03, ("BBQ grill", 3, 10), ("BBQ grill: gas", 3, 3), ("BBQ grill: charcoal", 3, 2),
               ("Private BBQ grill: gas", 3.6, 1), ("Shared BBQ grill: charcoal", 1.8, 1)),
        _group(.80, .72, ("Air conditioning", 3, 30), ("Central air conditioning", 4.2, 6),
               ("AC - split type ductless system", 3.6, 3)),
        _group(.90, .85, ("Heating", 0.6, 30), ("Central heating", 1.2, 6), ("Radiant heating", 1.2, 4),
               ("Heating - split type ductless system", 1.2, 2)),
        _group(.08, .02, ("Crib", 1.2, 10), ("Crib - always at the listing", 1.2, 3),
               ("Crib - available upon request", 1.2, 3)),
        _group(.08, .02, ("Pack \u2019n play/Travel crib", 0.6, 10),
               ("Pack \u2019n play/Travel crib - always at the listing", 0.6, 4),
               ("Pack \u2019n play/Travel crib - available upon request", 0.6, 3)),
        _group(.08, .02, ("High chair", 0.6, 10), ("High chair - always at the listing", 0.6, 3),
               ("Standalone high chair", 0.6, 2), ("Standalone high chair - available upon request", 0.6, 1),
               ("Folding or convertible high chair - always at the listing", 0.6, 1)),
        _group(.05, .05, ("Housekeeping - available at extra cost", 1.2, 5),
               ("Housekeeping - included with your stay", 4.8, 2),
               ("Housekeeping - available at extra cost, available daily", 1.8, 1)),
        _group(.01, .005, ("EV charger", 3, 3), ("EV charger - level 1", 2.4, 2),
               ("EV charger - level 2", 3.6, 2), ("EV charger - level 2, Tesla only", 3.6, 0.5)),
        _group(.18, .12, ("Backyard", 4.8, 6), ("Private backyard \u2013 Fully fenced", 6, 4),
               ("Private backyard \u2013 Not fully fenced", 5.4, 2), ("Private backyard", 5.4, 2),
               ("Shared backyard \u2013 Fully fenced", 2.4, 3),
               ("Shared backyard \u2013 Not fully fenced", 1.8, 3), ("Shared backyard", 1.8, 1)),
        _group(.22, .10, ("Patio or balcony", 6, 5), ("Private patio or balcony", 7.2, 5),
               ("Shared patio or balcony", 2.4, 3)),
    ]
    return tuple(groups)


AMENITY_GROUPS = _amenity_groups()

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
