"""Config dataclasses as command lines: one definition gives the default, the help and the flag.

A stage's settings are one dataclass whose fields are also the notebook's parameters and the
params-file keys; :func:`check_types` lets the dataclass refuse a wrong type on construction.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import MISSING, field
from typing import Any, Iterable

from .errors import ConfigError

_TYPES = {"int": int, "float": float, "float | None": float, "int | None": int}


def option(default, help: str, *, flags: Iterable[str] = (), cli: bool = True, notebook: bool = True,
           **argparse_options):
    """A dataclass field whose metadata carries its CLI help (and e.g. ``choices``).

    ``flags`` replace the generated ``--kebab-case`` flag (e.g. a short historical name);
    ``cli=False`` keeps a notebook-only setting off the command line, ``notebook=False`` a
    command-line-only one out of the notebook's parameters. A list default is copied.
    """
    metadata = {"help": help, "flags": tuple(flags), "cli": cli, "notebook": notebook, **argparse_options}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def defaults(config_cls, notebook: bool = False) -> dict[str, Any]:
    """Each field's default value (a fresh copy for list defaults); ``notebook``: only the fields a
    notebook declares as parameters."""
    return {f.name: f.default_factory() if f.default_factory is not MISSING else f.default
            for f in dataclasses.fields(config_cls) if not notebook or f.metadata.get("notebook", True)}


def _is_text(v) -> bool:
    return isinstance(v, (str, os.PathLike))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CHECKS = {"str": _is_text, "int": _is_int, "float": _is_number, "bool": lambda v: isinstance(v, bool),
           "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)}


def check_types(config) -> None:
    """Refuse a field whose value has the wrong type, naming it (``epochs: "ten"``, ``epochs: 2.5``),
    and a number that is not finite (``learning_rate: nan``: no setting means anything at nan or inf)."""
    for f in dataclasses.fields(config):
        expected = str(f.type)
        base, optional = expected.removesuffix(" | None"), expected.endswith(" | None")
        value = getattr(config, f.name)
        check = _CHECKS.get(base)
        if check is None or (optional and value is None) or check(value):
            if _is_number(value) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
            continue
        raise ConfigError(f"{f.name} must be {'a ' if base != 'int' else 'an '}{base}"
                         f"{' or None' if optional else ''}, got {value!r}")


def check_bounds(config, bounds: dict[str, tuple[float, float]]) -> None:
    """Refuse a numeric field outside its ``(low, high)`` (both included), naming it: past its
    bounds a setting means nothing, or fails late (an ensemble of 100,000 members runs out of memory)."""
    for name, (low, high) in bounds.items():
        value = getattr(config, name)
        if not low <= value <= high:
            raise ConfigError(f"{name} must be from {low} to {high}, got {value!r}")


def add_config_flags(parser, config_cls, skip: Iterable[str] = (), suppress_defaults: bool = False) -> None:
    """``--kebab-case`` flags for the fields of ``config_cls`` (booleans get ``--no-...`` too).

    ``suppress_defaults`` leaves flags that were not given out of the namespace.
    """
    skip, values = set(skip), defaults(config_cls)
    for f in dataclasses.fields(config_cls):
        if f.name in skip or "help" not in f.metadata or not f.metadata.get("cli", True):
            continue
        flags = f.metadata.get("flags") or ("--" + f.name.replace("_", "-"),)
        extra = {k: v for k, v in f.metadata.items() if k not in ("help", "flags", "cli", "notebook")}
        default = argparse.SUPPRESS if suppress_defaults else values[f.name]
        kind = str(f.type)
        if kind == "bool":
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                                help=f.metadata["help"])
        elif kind.startswith("list["):
            parser.add_argument(*flags, dest=f.name, nargs="*", default=default, help=f.metadata["help"], **extra)
        else:
            parser.add_argument(*flags, dest=f.name, type=_TYPES.get(kind, str), default=default,
                                help=f.metadata["help"], **extra)
