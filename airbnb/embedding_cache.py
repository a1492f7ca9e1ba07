"""The persistent embedding cache: float32 vectors in one SQLite file, keyed by (model, text).

It is only a cache, so it never stops a run: a damaged file (garbage, as a crash or a full disk
can leave it, or a foreign ``embeddings`` table) is moved aside to
``embeddings.sqlite.corrupt-<UTC time>`` with one warning and replaced by an empty cache, when
opened or whenever a read or write meets the damage. A cache that cannot be used at all (a full
disk, a read-only folder, a folder in its place, busy beyond the timeout) is given up for the rest
of the run with one warning, and every text is computed without it. Its vectors are checked by
the embedder (width and finiteness, :mod:`airbnb.embeddings`) before they are used.

Why not ``diskcache``: it is SQLite underneath too and would still need the healing and giving
up above written around it; it keeps a folder where runs have kept one file, and it unpickles
any value a row says is pickled (reading an edited or foreign cache would run its code). What it
would replace (schema, select, insert: about 40 lines) is worth neither a dependency nor a
change of the cache's format.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import numpy as np

from airbnb.log import get_logger

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; healing is then unserialised
    fcntl = None

log = get_logger(__name__)

CACHE_FILE = "embeddings.sqlite"  # in the cache folder (airbnb.embeddings.default_cache_dir)
_SQL_CHUNK = 900  # keys per IN (...) query: stays under SQLite's historical 999-parameter limit
_COLUMNS = ("model", "text_sha256", "vector")
_DAMAGE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # prefixes: extended codes such as SQLITE_CORRUPT_INDEX
_TRANSIENT_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")
_T = TypeVar("_T")


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _ForeignSchema(sqlite3.DatabaseError):
    """The file holds an ``embeddings`` table that is not this cache's."""


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file itself is broken (not busy, locked or unreadable)."""
    return isinstance(exc, _ForeignSchema) or _error_name(exc).startswith(_DAMAGE_ERRORS)


def _error_name(exc: sqlite3.DatabaseError) -> str:
    return getattr(exc, "sqlite_errorname", None) or ""


class EmbeddingCache:
    """Float32 vectors in one SQLite file, keyed by (model cache key, sha256 of the text).

    WAL mode and one transaction per write keep the file valid if a run is killed, and let
    several processes share it. A file damaged anyway (overwritten, truncated, another schema)
    must not stop training or prediction, since everything in it can be recomputed: opening,
    reading and writing each heal it once by moving it aside and starting empty (``_heal``).
    """

    def __init__(self, path: Path | str, model_key: str) -> None:
        self.path = Path(path)
        self.model_key = model_key
        self.unusable = ""  # why the cache was given up ('' while it serves)
        self._healing(self._create, lambda: None)

    def _create(self) -> None:
        """Open in WAL mode and create the table; ``_ForeignSchema`` if another one is there."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, text_sha256 TEXT NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (model, text_sha256)) WITHOUT ROWID"
            )
            columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(embeddings)"))
        if columns != _COLUMNS:
            raise _ForeignSchema(f"its embeddings table has columns {columns}, not {_COLUMNS}")

    def _healing(self, action: Callable[[], _T], after_heal: Callable[[], _T], unused: _T = None) -> _T:
        """``action()``; if the file turns out damaged, heal it once and return ``after_heal()``.
        If the cache cannot be used at all, give it up (:meth:`_give_up`) and return ``unused``."""
        if self.unusable:
            return unused
        try:
            try:
                return action()
            except sqlite3.DatabaseError as exc:
                self._heal(exc)
                return after_heal()
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return unused

    def _give_up(self, error: Exception) -> None:
        """Stop using the cache for this run, with one warning: everything it holds can be computed."""
        self.unusable = " ".join(str(error).split()) or type(error).__name__
        log.warning("embedding cache %s cannot be used (%s): amenity texts are encoded without it in this run",
                    self.path, self.unusable)

    def _heal(self, error: sqlite3.DatabaseError) -> None:
        """Replace a damaged file by an empty cache, or re-raise ``error`` if the file is fine.

        Under an exclusive lock the file is diagnosed again, so of several processes that hit the
        same damage only the first moves it aside; the others find its fresh file healthy.
        """
        if _error_name(error).startswith(_TRANSIENT_ERRORS):
            raise error
        with self._lock():
            reason = self._diagnose()
            if reason is None:
                if _is_damage(error):
                    return  # another process has healed it already
                raise error
            moved_to = self._move_aside()
            log.warning("embedding cache %s was damaged (%s): moved it to %s and started an empty cache",
                        self.path, reason, moved_to)
            self._create()

    def _diagnose(self) -> str | None:
        """Why the file cannot serve as this cache, or None if it can. Other errors propagate."""
        try:
            self._create()
            with self._connect() as conn:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                return str(exc)
            raise
        return None if result == "ok" else f"quick_check: {result}"

    def _move_aside(self) -> Path:
        """Rename the file and its WAL sidecars to ``<name>.corrupt-<UTC time>[-wal|-shm]``."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("-wal", "-shm", ""):  # sidecars first: a fresh file must never meet the old WAL
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{target}{suffix}")
        return target

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """An exclusive lock on ``<name>.lock`` beside the file, held while healing."""
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
            yield

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection whose block is one transaction (no handle survives a fork)."""
        conn = sqlite3.connect(self.path, timeout=60)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that are in the cache (none after healing it); a
        stored value that is not float32 data comes back empty (the caller checks widths)."""
        return self._healing(lambda: self._select(texts), dict, {})

    def _select(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        by_key = {_text_key(t): t for t in texts}
        keys = list(by_key)
        found: dict[str, np.ndarray] = {}
        with self._connect() as conn:
            for start in range(0, len(keys), _SQL_CHUNK):
                chunk = keys[start:start + _SQL_CHUNK]
                rows = conn.execute(
                    f"SELECT text_sha256, vector FROM embeddings WHERE model = ? "
                    f"AND text_sha256 IN ({','.join('?' * len(chunk))})",
                    [self.model_key, *chunk],
                )
                found.update((by_key[key], _vector(blob)) for key, blob in rows)
        return found

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one row of ``vectors`` per text, all or nothing (retried once on a healed file)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"expected one vector per text: {len(texts)} texts, vectors of shape {vectors.shape}")
        rows = [(self.model_key, _text_key(t), v.tobytes()) for t, v in zip(texts, vectors)]
        self._healing(lambda: self._insert(rows), lambda: self._insert(rows))

    def _insert(self, rows: list[tuple[str, str, bytes]]) -> None:
        with self._connect() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings (model, text_sha256, vector) VALUES (?, ?, ?)", rows)

    def stored_dim(self) -> int | None:
        """Width of this model's cached vectors (the most common one), so the dimension is known
        without loading the model."""
        return self._healing(self._stored_dim, lambda: None)

    def _stored_dim(self) -> int | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT length(vector) AS n FROM embeddings WHERE model = ? GROUP BY n ORDER BY count(*) DESC LIMIT 1",
                [self.model_key],
            ).fetchone()
        return None if row is None else row[0] // np.dtype(np.float32).itemsize


def _vector(blob) -> np.ndarray:
    """A stored vector; a value that is not float32 bytes (a foreign or edited file) gives an empty one."""
    if not isinstance(blob, bytes) or len(blob) % np.dtype(np.float32).itemsize:
        return np.empty(0, np.float32)
    return np.frombuffer(blob, dtype=np.float32)
