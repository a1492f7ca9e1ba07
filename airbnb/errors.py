"""User errors and the command-line boundary that turns them into one line.

Every problem with a user's input, files or settings is a :class:`UserError` (the ETL's, the
table's, the artifacts', a config's). Each ``python -m airbnb.<tool>`` runs its work through
:func:`command_line`, so such an error prints ``error: <what and what to do>`` on one line and
exits 1; a file the operating system refuses (missing, a folder, no permission, a full disk) is
reported the same way, naming the file; anything else is a bug and keeps its traceback, with a hint to report it.
"""
from __future__ import annotations

import sys
import traceback
from typing import Callable, NoReturn, TypeVar

T = TypeVar("T")

ISSUES_HINT = "this is a bug in airbnb, not in your input: please report it with the command and the traceback above"


class UserError(Exception):
    """A problem the user can fix (input, file or setting); the message says which and how."""


class ConfigError(UserError, ValueError):
    """A setting with the wrong type or out of its bounds; the message names the setting."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (an OS error names its file)."""
    if isinstance(exc, OSError) and not isinstance(exc, UserError) and exc.filename:
        target = exc.filename if not exc.filename2 else f"{exc.filename} -> {exc.filename2}"
        text = f"{target}: {exc.strerror or exc}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def command_line(work: Callable[[], T]) -> T:
    """Run a command's work; a user error or a refused file ends it with one line and exit 1,
    Ctrl-C with exit 130, and a bug with its traceback, the hint and exit 3."""
    try:
        return work()
    except (UserError, OSError) as exc:
        fail(one_line(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the boundary: a bug gets its traceback and the hint
        _bug(exc)


def _bug(exc: BaseException) -> NoReturn:
    traceback.print_exception(exc, file=sys.stderr)
    fail(f"{type(exc).__name__}: {exc} ({ISSUES_HINT})", 3)
