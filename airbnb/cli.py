"""Config dataclasses as command lines: one definition gives the default, the help and the flag.

A stage's settings are one dataclass whose fields are also the notebook's parameters and the
params-file keys; :func:`check_types` lets the dataclass refuse a wrong type on construction.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from dataclasses import MISSING, field
from typing import Any, Iterable

from .errors import ConfigError

_TYPES = {"int": int, "float": float, "float | None": float, "int | None": int}


def option(default, help: str, *, flags: Iterable[str] = (), cli: bool = True, notebook: bool = True,
           deprecated: dict[str, Any] | None = None, **argparse_options):
    """A dataclass field whose metadata carries its CLI help (and e.g. ``choices``).

    ``flags`` replace the generated ``--kebab-case`` flag (e.g. one that says what it sets);
    ``deprecated`` maps old flags, still accepted with a warning, to the value they set (``None``:
    the flag takes a value, as the new one does). ``cli=False`` keeps a notebook-only setting off
    the command line, ``notebook=False`` a command-line-only one out of the notebook's parameters.
    A list default is copied.
    """
    metadata = {"help": help, "flags": tuple(flags), "cli": cli, "notebook": notebook,
                "deprecated": dict(deprecated or {}), **argparse_options}
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
        extra = {k: v for k, v in f.metadata.items() if k not in ("help", "flags", "cli", "notebook", "deprecated")}
        default = argparse.SUPPRESS if suppress_defaults else values[f.name]
        kind, text = str(f.type), public(f.metadata["help"])
        if kind == "bool":
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=text)
        elif kind.startswith("list["):
            parser.add_argument(*flags, dest=f.name, nargs="*", default=default, help=text, **extra)
        else:
            parser.add_argument(*flags, dest=f.name, type=_TYPES.get(kind, str), default=default, help=text,
                                metavar=flags[0].lstrip("-").replace("-", "_").upper(), **extra)
        for old, value in f.metadata.get("deprecated", {}).items():
            parser.add_argument(old, dest=f.name, action=_Deprecated, instead=f"{flags[0]} ({text})", const=value,
                                nargs=0 if value is not None else None, type=_TYPES.get(kind, str),
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's help ends with its default, unless there is none to show (an empty text or
    list, None): ``(default: )`` would say nothing."""

    def _get_help_string(self, action):
        if action.default is None or (isinstance(action.default, (str, list)) and not action.default):
            return action.help
        return super()._get_help_string(action)


class _Deprecated(argparse.Action):
    """An old flag name: still sets its value, and says which flag to use instead."""

    def __init__(self, *args, instead: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instead = instead

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated, use {self.instead}", file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


# Internal cross-references of the docstrings, which mean nothing in a --help.
_SPEC_ONLY = re.compile(r"\s*\(SPEC §[\d.§\-]+\)")
_SPEC = re.compile(r"SPEC §[\d.§\-]*\d")
_ROLE = re.compile(r":(?:mod|func|class|data|meth|attr):`~?([^`]+)`")


def public(text: str) -> str:
    """``text`` for a command's help: the original specification's section numbers and Sphinx
    markup (``:mod:`x``` -> ``x``) left out, as the reader has neither."""
    text = _SPEC.sub("the original specification", _SPEC_ONLY.sub("", text))
    return _ROLE.sub(r"\1", text).replace("``", "")


def description(doc: str | None) -> str:
    """A command's description: its module docstring's first paragraph, made :func:`public`."""
    return public((doc or "").split("\n\n")[0])
