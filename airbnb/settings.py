"""Settings declared once: each stage's config is a pydantic dataclass whose annotations give every
setting's type, bounds (``Range``) and choices (``Literal``), checked on construction.

The same declaration makes the command line (:func:`airbnb.cli.add_config_flags` reads the
choices), the notebook's and the params file's checks, and the error a user sees. Pydantic does the
checking (strict: ``"3"`` is not an int, ``True`` not a number; nan and inf are refused; an unknown
setting is an error). Its report becomes one sentence in the project's words, naming the setting:
``epochs must be from 1 to 10000, got 0``. A stdlib dataclass underneath, so ``dataclasses.replace``
(validated again), ``fields`` and ``asdict`` keep working.
"""
from __future__ import annotations

import functools
import os
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .errors import ConfigError

__all__ = ["Literal", "Range", "Text", "choices", "kind", "settings"]

STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def _text(value):
    """A path passes for a text setting (and is stored as its text)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


Text = Annotated[str, BeforeValidator(_text)]


def Range(kind: type, ge=None, le=None, *, gt=None, lt=None):  # noqa: N802 (reads as a type)
    """``kind`` within bounds, e.g. ``Range(int, 1, 10_000)`` (both ends included) or
    ``Range(float, gt=0, lt=1)``: past its bounds a setting means nothing, or fails late."""
    return Annotated[kind, Field(ge=ge, le=le, gt=gt, lt=lt)]


def settings(cls=None, *, error: type[Exception] = ConfigError, frozen: bool = False):
    """Make ``cls`` a strict pydantic dataclass whose bad values raise ``error`` with one sentence
    naming the setting; an error raised by its ``__post_init__`` (checks across settings) passes
    through unchanged."""
    def wrap(cls):
        model = pydantic_dataclass(cls, config=STRICT, frozen=frozen)
        validate = model.__init__

        @functools.wraps(validate)
        def __init__(self, *args, **kwargs):
            try:
                validate(self, *args, **kwargs)
            except ValidationError as exc:
                raise _translate(exc, model, kwargs, error) from None

        model.__init__ = __init__
        return model

    return wrap if cls is None else wrap(cls)


def kind(config_cls, name: str):
    """A setting's bare type (``int``, ``list[str]``, a ``Literal``): what its flag parses."""
    return _bare(config_cls.__pydantic_fields__[name].annotation)


def choices(config_cls, name: str) -> tuple | None:
    """The values a ``Literal`` setting allows (argparse's ``choices``), else None."""
    bare = kind(config_cls, name)
    return typing.get_args(bare) if typing.get_origin(bare) is Literal else None


def _translate(exc: ValidationError, model, given: dict, error: type[Exception]) -> Exception:
    first = exc.errors()[0]
    if first["type"] == "value_error" and isinstance(first.get("ctx", {}).get("error"), Exception):
        return first["ctx"]["error"]  # a __post_init__ check: already in the project's words
    if first["type"] == "unexpected_keyword_argument":
        unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == first["type"])
        return error(f"unknown setting(s) {unknown}: {model.__name__} has no such field")
    name = str(first["loc"][0])
    value = given.get(name, first.get("input"))
    return error(f"{name} must be {_expected(model.__pydantic_fields__[name], first['type'], value)}, got {value!r}")


def _expected(field, kind: str, value: Any) -> str:
    """What a setting must be, from its declaration (not pydantic's wording)."""
    bare = _bare(field.annotation)
    if kind == "finite_number":
        return "a finite number"
    if typing.get_origin(bare) is Literal:
        return f"one of {typing.get_args(bare)}"
    bounds = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt") if getattr(m, k, None) is not None}
    if bounds and kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _interval(bounds)
    kinds = [_type_name(_bare(k)) for k in _members(field.annotation) if k is not type(None)]
    kinds += ["None"] if _optional(field.annotation) else []
    text = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"


def _interval(bounds: dict) -> str:
    if "ge" in bounds and "le" in bounds:
        return f"from {bounds['ge']} to {bounds['le']}"
    low = f"{'[' if 'ge' in bounds else '('}{bounds.get('ge', bounds.get('gt', '-inf'))}"
    high = f"{bounds.get('le', bounds.get('lt', 'inf'))}{']' if 'le' in bounds else ')'}"
    if "le" not in bounds and "lt" not in bounds:
        return f"{'>=' if 'ge' in bounds else '>'} {low[1:]}"
    return f"in {low}, {high}"


def _bare(annotation):
    """The annotation without ``None`` and ``Annotated``: ``int | None`` -> ``int``."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if _optional(annotation):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation


def _members(annotation) -> tuple:
    """The types a union allows (one type: itself)."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return typing.get_args(annotation) if union else (annotation,)


def _optional(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


def _type_name(kind) -> str:
    return str(kind).removeprefix("typing.") if typing.get_origin(kind) else kind.__name__

