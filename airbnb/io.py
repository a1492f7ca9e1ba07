"""Atomic artifact writing, exclusive outputs and input fingerprints.

Every artifact is written to a temporary file in the destination directory and renamed into
place, so a crash or an error never leaves a half-written table, model or report behind. A
command holds its output (a run folder, a table, a CSV) exclusively while it writes it
(:func:`exclusive`), so a second command into the same place stops at once instead of mixing
two runs' files, and an output is never one of the command's own inputs (:func:`refuse_input`).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; outputs are then not guarded
    fcntl = None


class OutputError(UserError, OSError):
    """An output that cannot be written: in use by another command, one of the command's own
    inputs, or refused by the system (a full disk); the message names it."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        _publishable(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise unwritable(exc, path, [tmp]) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _publishable(tmp: Path) -> None:
    """An ordinary file's or folder's mode (mkstemp makes private files): a folder keeps its
    execute bits, without which nobody but root could open what it holds."""
    os.chmod(tmp, (0o777 if tmp.is_dir() else 0o666) & ~_umask())


def unwritable(exc: OSError, path: str | os.PathLike, temporary: Iterable[Path] = ()) -> OSError:
    """The error to raise when writing ``path`` (through its ``temporary`` files) failed with
    ``exc``: an OutputError naming ``path`` (the system names a temporary file, or none at all on a
    full disk), or ``exc`` itself when it is about another file or already said."""
    if isinstance(exc, UserError) or exc.filename not in (None, *map(str, temporary)):
        return exc
    return OutputError(f"cannot write {path} ({exc.strerror or exc}); nothing of it was written: free space or fix "
                       "the folder's permissions")


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Temporary paths for files that belong together (a table and its summary): all are written
    first, then published; if publishing one fails, the ones already moved are put back, so the
    old files stay together or the new ones do, never a mix. Whatever fails, no temporary file
    of this call is left behind (a previous file set aside is removed only once it is not needed).

    A temporary path may be made a folder (a partitioned dataset: remove the placeholder file and
    write the folder there); it is published like a file. A folder replaces a file or a folder, a
    file never replaces a folder."""
    paths = [Path(p) for p in paths]
    tmps: list[Path] = []
    try:
        for path in paths:  # one at a time: if making the second fails, the first is still removed
            tmps.append(_temp_beside(path))
        yield tmps
        moved: list[tuple[Path, Path | None]] = []  # (destination, its previous file set aside)
        try:
            for path, tmp in zip(paths, tmps):
                _publishable(tmp)
                previous = None
                if path.is_dir() and not tmp.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(path))
                if path.exists():
                    previous = _temp_beside(path, ".old")
                    try:
                        if path.is_dir():
                            previous.unlink()  # a folder cannot replace the placeholder file
                        os.replace(path, previous)
                    except BaseException:
                        _remove(previous)  # still the placeholder: the previous file did not move
                        raise
                moved.append((path, previous))
                os.replace(tmp, path)
        except BaseException:
            for path, previous in reversed(moved):
                if previous is not None and (path.is_dir() or previous.is_dir()):
                    _remove(path)  # os.replace puts a folder back only where nothing is
                if previous is not None:
                    os.replace(previous, path)
                else:
                    _remove(path)
            raise
        for _, previous in moved:
            if previous is not None:
                _remove(previous)
    finally:
        for tmp in tmps:
            _remove(tmp)


def _remove(path: Path) -> None:
    """Remove a file or a folder (with what is in it), if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _temp_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new empty file ``.<name>.<host>.<pid>.<random><suffix>`` beside ``path``, made after
    removing the ``.tmp`` files of ``path`` whose writer is dead.

    A writer killed mid-write (SIGKILL, power loss) never runs its cleanup, so its temporary files
    stay. The next writer of the same path removes them, but must never remove one a live process
    is still filling: a temporary file is abandoned exactly when the process named in it no longer
    runs. A pid means something only on its own machine (a folder shared over the network or
    between containers), so only files of this host are judged; a dead writer's pid reused by
    another process only keeps its leftover longer, never deletes a live file. The age of a file
    says nothing (a large table takes minutes). ``.old`` files are never removed: one may hold
    the only copy of a previous artifact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{os.uname().nodename}."  # then the pid: see the docstring
    for leftover in path.parent.glob(".*.tmp"):
        pid, *rest = leftover.name[len(prefix):].split(".")
        if leftover.name.startswith(prefix) and pid.isdigit() and len(rest) == 2:
            try:
                os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
            except ProcessLookupError:
                _remove(leftover)
            except PermissionError:
                pass  # alive, owned by another user
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def scratch_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``path`` for its writer's intermediate files, removed afterwards;
    named like :func:`atomic_paths`' temporary files, so if the writer is killed the next writer of
    ``path`` removes it."""
    tmp = _folder(_temp_beside(Path(path)))
    try:
        yield tmp
    finally:
        _remove(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds
    (:func:`atomic_paths`: the previous folder stays until the new one is complete and is put back
    if the swap fails; a killed writer's folder is removed by the next writer)."""
    with atomic_paths(path) as (tmp,):
        yield _folder(tmp)


def _folder(placeholder: Path) -> Path:
    """The temporary placeholder file made a folder of the same name."""
    placeholder.unlink()
    placeholder.mkdir()
    return placeholder


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(obj))


def json_text(obj: Any) -> str:
    """The project's JSON layout: indented, insertion order, anything else as its string."""
    return json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes: the fingerprint recorded for every input of a run."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- exclusive outputs

@contextlib.contextmanager
def exclusive(path: str | os.PathLike) -> Iterator[Path]:
    """Hold ``path`` (an output file or folder) exclusively for the block, or fail at once.

    The lock is an advisory ``flock`` on ``.<name>.lock`` beside ``path``: beside, so it survives
    the output being replaced whole (a folder swapped in, a run folder emptied), and it names the
    holder (pid and start time) for the error of the command that finds it taken. The lock file is
    removed on release, and folders made only to hold it too. A holder killed outright releases
    the lock with its process, so a stale file never blocks (its content is then overwritten).
    Where the folder above ``path`` is not writable, a folder ``path`` holds its lock inside.
    """
    target = Path(path).resolve()
    made = _make_folders(target.parent)
    try:
        if fcntl is None:
            yield target
            return
        lock = target.parent / f".{target.name}.lock"
        if not os.access(target.parent, os.W_OK) and target.is_dir():
            lock = target / ".lock"
        handle = _take(lock, Path(path))
        try:
            yield target
        finally:
            lock.unlink(missing_ok=True)  # while held: nobody can have taken this file meanwhile
            handle.close()
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _take(lock: Path, output: Path):
    """The open, locked lock file, stamped with this process; an OutputError naming the holder if
    another process has it. A file its holder removed between our open and our lock is retried."""
    while True:
        handle = open(lock, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = " ".join(handle.read().split()) or "another process"
            handle.close()
            raise OutputError(f"{output} is in use by another command ({holder}): wait until it ends, or "
                              "write somewhere else") from None
        try:
            if os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    handle.truncate(0)
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv[:1] else "python"
    handle.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}: {command[:200]}\n")
    handle.flush()
    return handle


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and the missing ones above it; returns those made, outermost first."""
    missing = [f for f in [folder, *folder.parents] if not f.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def refuse_input(output: str | os.PathLike, inputs: Iterable[str | os.PathLike], flag: str = "--output") -> None:
    """Fail when ``output`` is one of ``inputs`` (the same file by any name: a symlink, a hard link,
    ``./x``) or a folder holding one: writing it would destroy the data the command reads."""
    output = Path(output)
    for source in map(Path, inputs):
        if _same(output, source) or output.resolve() in source.resolve().parents:
            raise OutputError(f"{flag} {output} is {'' if _same(output, source) else 'a folder holding '}an input "
                              f"of this command ({source}): writing it would destroy that input; choose another "
                              f"{flag}")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()
