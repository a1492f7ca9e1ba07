"""Atomic artifact writing and input fingerprints.

Every artifact is written to a temporary file in the destination directory and renamed into
place, so a crash or an error never leaves a half-written table, model or report behind.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes private files; artifacts are ordinary files
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[list[Path]]:
    """Temporary paths for files that belong together (a table and its summary): all are written
    first, then published; if publishing one fails, the ones already moved are put back, so the
    old files stay together or the new ones do, never a mix."""
    paths = [Path(p) for p in paths]
    tmps = [_temp_beside(p) for p in paths]
    try:
        yield tmps
        moved: list[tuple[Path, Path | None]] = []  # (destination, its previous file set aside)
        try:
            for path, tmp in zip(paths, tmps):
                os.chmod(tmp, 0o666 & ~_umask())
                previous = None
                if path.exists():
                    previous = _temp_beside(path, ".old")
                    os.replace(path, previous)
                moved.append((path, previous))
                os.replace(tmp, path)
        except BaseException:
            for path, previous in reversed(moved):
                if previous is not None:
                    os.replace(previous, path)
                else:
                    path.unlink(missing_ok=True)
            raise
        for _, previous in moved:
            if previous is not None:
                previous.unlink(missing_ok=True)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _temp_beside(path: Path, suffix: str = ".tmp") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling directory; swap it in for ``path`` only if the block succeeds.

    A previous ``path`` stays intact until the new one is complete, and is restored if the swap
    itself fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield stage
        os.chmod(stage, 0o777 & ~_umask())
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.rename(path, old / path.name)
        try:
            os.rename(stage, path)
        except BaseException:
            if old is not None:
                os.rename(old / path.name, path)
            raise
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


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
