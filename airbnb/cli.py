"""Config dataclasses as command lines: one definition gives the default, the help and the flag.

A stage's settings are one :func:`airbnb.settings.settings` dataclass whose fields are also the
notebook's parameters and the params-file keys; its annotations give each flag's type and choices.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import MISSING, field
from typing import Any, Iterable

from . import settings


def option(default, help: str, *, flags: Iterable[str] = (), cli: bool = True, notebook: bool = True,
           deprecated: dict[str, Any] | None = None, **argparse_options):
    """A dataclass field whose metadata carries its CLI help (its type, bounds and choices are the
    field's annotation: :mod:`airbnb.settings`).

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


def from_parameters(config_cls, namespace: dict):
    """``config_cls`` from a notebook's parameters (the fields it declares; papermill's values or
    the defaults), so a notebook run by hand is checked as a headless run is."""
    return config_cls(**{name: namespace[name] for name in defaults(config_cls, notebook=True) if name in namespace})


def add_config_flags(parser, config_cls, skip: Iterable[str] = (), overrides: dict | None = None) -> None:
    """``--kebab-case`` flags for the fields of ``config_cls`` (booleans get ``--no-...`` too).

    A flag that is not given stays out of the namespace (``vars(args)`` is what the user set, and a
    preset is overridden by exactly that); the help still shows the field's default. ``overrides``
    gives some fields another default in this command (set in the namespace, and shown).
    """
    skip, overrides = set(skip), overrides or {}
    values = {**defaults(config_cls), **overrides}
    for f in dataclasses.fields(config_cls):
        if f.name in skip or "help" not in f.metadata or not f.metadata.get("cli", True):
            continue
        flags = f.metadata.get("flags") or ("--" + f.name.replace("_", "-"),)
        extra = {k: v for k, v in f.metadata.items() if k not in ("help", "flags", "cli", "notebook", "deprecated")}
        kind, text = settings.kind(config_cls, f.name), public(f.metadata["help"])
        parse = kind if kind in (int, float) else str
        given_default = overrides.get(f.name, argparse.SUPPRESS)
        options = dict(dest=f.name, default=given_default, help=text, **extra)
        if kind is bool:
            action = parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **options)
        elif kind == list[str]:
            action = parser.add_argument(*flags, nargs="*", **options)
        else:
            action = parser.add_argument(*flags, type=parse, choices=settings.choices(config_cls, f.name),
                                         metavar=flags[0].lstrip("-").replace("-", "_").upper(), **options)
        action.documented_default = values[f.name]
        for old, value in f.metadata.get("deprecated", {}).items():
            parser.add_argument(old, dest=f.name, action=_Deprecated, instead=f"{flags[0]} ({text})", const=value,
                                nargs=0 if value is not None else None, type=parse,
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's help ends with its default (a config flag's documented one: the flag itself
    defaults to "not given"), unless there is none to show (an empty text or list, None):
    ``(default: )`` would say nothing."""

    def _get_help_string(self, action):
        default = getattr(action, "documented_default", action.default)
        if default is None or default is argparse.SUPPRESS or (isinstance(default, (str, list)) and not default):
            return action.help
        if hasattr(action, "documented_default"):
            return f"{action.help} (default: {str(default).replace('%', '%%')})"
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
