"""Each listing's unit (room type, property type, size) and its host: drawn once for the static city,
read by its columns and by the truth's price terms."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogues import PROPERTY_TYPES, ROOM_SHARE
from .draws import choice
from .timeline import USER_ID_ANCHORS, ids_from_days, parse_day


@dataclass(frozen=True)
class Units:
    """Room type, property type and size of each listing, with which size fields are blank."""

    room: np.ndarray
    ptype: np.ndarray
    accommodates: np.ndarray
    bedrooms: np.ndarray
    beds: np.ndarray
    bath: np.ndarray  # number of baths
    bath_kind: np.ndarray  # 0 plain ("1 bath"), 1 shared, 2 private ("1 private bath")
    bedrooms_blank: np.ndarray
    beds_blank: np.ndarray
    bath_text_blank: np.ndarray
    bathrooms_blank: np.ndarray  # the numeric 2025 column

    @classmethod
    def make(cls, borough: np.ndarray, rng: np.random.Generator) -> "Units":
        n = len(borough)
        room = choice(rng, np.asarray(ROOM_SHARE)[borough])
        ptype = _property_types(room, borough, rng)
        entire, hotel = room == 0, room == 3
        studio_or_more = rng.choice(8, size=n, p=(.12, .47, .25, .10, .035, .015, .007, .003))
        bedrooms = np.where(entire, studio_or_more,
                            np.where(hotel, rng.choice([0, 1, 2], n, p=(.05, .9, .05)),
                                     rng.choice([1, 2], n, p=(.96, .04)))).astype(float)
        acc = np.where(entire, 2 * np.maximum(bedrooms, 1) + rng.choice([-1, 0, 0, 1, 2], n),
                       np.where(room == 2, rng.choice([1, 1, 2, 3, 4], n),
                                rng.choice([1, 2, 2, 2, 3, 4], n)))
        acc = np.clip(acc, 1, 16)
        beds = np.where(entire, np.maximum(bedrooms, 1) + rng.choice([0, 0, 0, 1, 1, 2], n),
                        np.where(room == 2, rng.choice([1, 2, 3, 4], n),
                                 rng.choice([1, 1, 1, 1, 1, 2], n)))
        beds = np.minimum(beds, 16).astype(float)
        bath, kind = cls._baths(room, bedrooms, rng)
        studio = entire & (bedrooms == 0)
        bedrooms_blank = rng.random(n) < np.where(studio, 0.5, 0.04)
        bath_text_blank = rng.random(n) < 0.004
        return cls(room=room, ptype=ptype, accommodates=acc.astype(np.int64), bedrooms=bedrooms,
                   beds=beds, bath=bath, bath_kind=kind, bedrooms_blank=bedrooms_blank,
                   beds_blank=rng.random(n) < 0.04, bath_text_blank=bath_text_blank,
                   bathrooms_blank=bath_text_blank | (rng.random(n) < 0.03))

    @staticmethod
    def _baths(room: np.ndarray, bedrooms: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
        n = len(room)
        extra = 0.5 * rng.binomial(2 * np.maximum(bedrooms - 1, 0).astype(np.int64), 0.45)
        entire_bath = 1 + extra + 0.5 * (rng.random(n) < 0.12)
        entire_bath = np.where(rng.random(n) < 0.005, 0.5, entire_bath)
        entire_bath = np.where(rng.random(n) < 0.003, 0.0, entire_bath)
        room_bath = rng.choice([1, 1.5, 2, 3, 0.5, 0], n, p=(.80, .06, .09, .02, .02, .01))
        bath = np.where(room == 0, entire_bath, np.where(room == 3, rng.choice([1, 2], n, p=(.95, .05)),
                                                         room_bath))
        kind = np.select(
            [room == 0, room == 1, room == 2],
            [np.where(rng.random(n) < 0.03, 1, 0), rng.choice(3, n, p=(.17, .58, .25)),
             np.ones(n, np.int64)],
            rng.choice([0, 2], n))
        kind = np.where((kind == 2) & (bath > 1), 0, kind)  # "private" is only said of one bath
        return bath, kind

    def seen(self, fallbacks: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bedrooms, beds, baths and shared-ness as the model sees them (blanks -> fallbacks)."""
        bedrooms = np.where(self.bedrooms_blank, fallbacks["bedrooms"], self.bedrooms)
        beds = np.where(self.beds_blank, fallbacks["beds"], self.beds)
        bath = np.where(self.bath_text_blank, fallbacks["bathrooms_numeric"], self.bath)
        shared = (self.bath_kind == 1) & ~self.bath_text_blank
        return bedrooms, beds, bath, shared

    def bath_text(self) -> np.ndarray:
        """Inside Airbnb's wording: "1 bath", "1.5 shared baths", "Private half-bath", ..."""
        number = np.where(self.bath % 1 == 0, self.bath.astype(np.int64).astype(str),
                          self.bath.astype(str)).astype(object)
        word = np.array(["", " shared", " private"], dtype=object)[self.bath_kind]
        plural = np.where(self.bath == 1, " bath", " baths").astype(object)
        half = np.array(["Half-bath", "Shared half-bath", "Private half-bath"],
                        dtype=object)[self.bath_kind]
        text = np.where(self.bath == 0.5, half, number + word + plural)
        return np.where(self.bath_text_blank, "", text)


def _property_types(room: np.ndarray, borough: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rooms = np.array([p[1] for p in PROPERTY_TYPES])
    inner = np.array([p[3] for p in PROPERTY_TYPES]) * (rooms[None, :] == np.arange(4)[:, None])
    outer = np.array([p[4] for p in PROPERTY_TYPES]) * (rooms[None, :] == np.arange(4)[:, None])
    table = np.stack([inner, outer], axis=1)  # (room, zone, type)
    return choice(rng, table[room, (borough >= 2).astype(np.int64)])


@dataclass(frozen=True)
class Hosts:
    """Host attributes (one row per host) and each listing's host."""

    of_listing: np.ndarray
    id: np.ndarray
    since: np.ndarray
    size: np.ndarray  # listings of the host in the city
    response_rate: np.ndarray  # percent; -1 = "N/A", -2 = empty
    acceptance_rate: np.ndarray
    superhost: np.ndarray  # "t", "f" or ""
    identity_verified: np.ndarray
    neighbourhood: np.ndarray

    @classmethod
    def make(cls, created: np.ndarray, nbhd: np.ndarray, rng: np.random.Generator) -> "Hosts":
        n = len(created)
        # Most hosts have one listing; a few companies have hundreds (at most ~1.5% of the city).
        tier = rng.choice(6, size=n, p=(.78, .10, .05, .045, .02, .005))
        low, high = np.array([1, 2, 3, 4, 11, 51])[tier], np.array([2, 3, 4, 11, 51, 300])[tier]
        size = np.minimum(rng.integers(low, high), max(1, int(0.015 * n)))
        size = size[: np.searchsorted(np.cumsum(size), n) + 1]
        size[-1] -= size.sum() - n
        of_listing = np.empty(n, np.int64)
        of_listing[rng.permutation(n)] = np.repeat(np.arange(len(size)), size)
        h = len(size)
        first_created = np.full(h, np.iinfo(np.int64).max)
        np.minimum.at(first_created, of_listing, created)
        since = np.maximum(first_created - rng.exponential(400, h).astype(np.int64), parse_day("2008-08-01"))
        order = np.argsort(since, kind="stable")
        ids = np.empty(h, np.int64)
        ids[order] = ids_from_days(since[order], USER_ID_ANCHORS, rng)
        first_listing = np.full(h, n)
        np.minimum.at(first_listing, of_listing, np.arange(n))
        response = np.where(rng.random(h) < 0.6, 100, np.clip(100 - rng.gamma(1.0, 12, h), 0, 99))
        acceptance = np.where(rng.random(h) < 0.35, 100, np.clip(100 - rng.gamma(1.2, 12, h), 0, 99))
        response = np.select([rng.random(h) < 0.12, rng.random(h) < 0.02], [-1, -2], response)
        acceptance = np.select([rng.random(h) < 0.06, rng.random(h) < 0.02], [-1, -2], acceptance)
        return cls(of_listing=of_listing, id=ids, since=since, size=size,
                   response_rate=response.astype(np.int64), acceptance_rate=acceptance.astype(np.int64),
                   superhost=rng.choice(np.array(["t", "f", ""]), h, p=(.30, .68, .02)),
                   identity_verified=rng.random(h) < 0.85,
                   neighbourhood=np.where(rng.random(h) < 0.75, nbhd[first_listing], -1))
