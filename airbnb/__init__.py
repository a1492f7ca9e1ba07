"""Interpretable Airbnb nightly-price model built on Inside Airbnb dumps.

Data flows one way: raw files (:mod:`airbnb.etl`, :mod:`airbnb.synthetic`) -> modeling table
-> features (:mod:`airbnb.features`) -> model (:mod:`airbnb.model`, :mod:`airbnb.train`)
-> report (:mod:`airbnb.evaluate`, :mod:`airbnb.predict`).
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airbnb-price")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
