"""Config dataclasses as command lines: one definition gives the default, the help and the flag."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import field
from typing import Iterable

_TYPES = {"int": int, "float": float, "float | None": float}


def option(default, help: str, **argparse_options):
    """A dataclass field whose metadata carries its CLI help (and e.g. ``choices``)."""
    return field(default=default, metadata={"help": help, **argparse_options})


def add_config_flags(parser, config_cls, skip: Iterable[str] = (), suppress_defaults: bool = False) -> None:
    """``--kebab-case`` flags for the fields of ``config_cls`` (booleans get ``--no-...`` too).

    ``suppress_defaults`` leaves flags that were not given out of the namespace.
    """
    skip = set(skip)
    for f in dataclasses.fields(config_cls):
        if f.name in skip or "help" not in f.metadata:
            continue
        flag = "--" + f.name.replace("_", "-")
        extra = {k: v for k, v in f.metadata.items() if k != "help"}
        default = argparse.SUPPRESS if suppress_defaults else f.default
        if str(f.type) == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=_TYPES.get(str(f.type), str), default=default,
                                help=f.metadata["help"], **extra)
