"""FeatureProcessor, AirbnbDataset and AdditiveAxisModel (SPEC §4-§5)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn.base import TransformerMixin

from airbnb import features
from airbnb.dataset import AirbnbDataset, make_loader
from airbnb.features import UNK, FeatureError, FeatureProcessor, LocationEncoding, cyclical
from airbnb.model import AXES, AdditiveAxisModel, ModelConfig


@pytest.fixture(scope="module")
def table(small_table):
    return pd.read_parquet(small_table)


@pytest.fixture(scope="module")
def fitted(table):
    return FeatureProcessor().fit(table)


@pytest.fixture(scope="module")
def dataset(fitted, table):
    return AirbnbDataset(fitted.transform(table.iloc[:200]), "all-MiniLM-L6-v2")


# --------------------------------------------------------------------------- processor

def test_vocabularies_reserve_unk_and_are_sorted(fitted, table):
    for col, vocab in fitted.vocabs_.items():
        assert vocab[0] == UNK and vocab[1:] == sorted(vocab[1:]), col
    assert set(fitted.vocabs_["neighbourhood_cleansed"][1:]) == set(table["neighbourhood_cleansed"].unique())
    assert fitted.vocabs_["bedrooms"][1:] == sorted(table["bedrooms"].unique().astype(float).tolist())


def test_unseen_values_map_to_unk(fitted, table):
    rows = table.iloc[:3].copy()
    rows["neighbourhood_cleansed"] = ["Atlantis", rows["neighbourhood_cleansed"].iloc[1], None]
    rows["property_type"] = "Treehouse on the moon"
    rows["bedrooms"] = [99.0, 1.0, 1.0]
    out = fitted.transform(rows)
    known = fitted.vocabs_["neighbourhood_cleansed"].index(rows["neighbourhood_cleansed"].iloc[1])
    assert out["neighbourhood_cleansed"].tolist() == [0, known, 0]
    assert (out["property_type"] == 0).all()
    assert out["bedrooms"][0] == 0 and out["bedrooms"][1] == fitted.vocabs_["bedrooms"].index(1.0)


def test_scalers_are_fitted_on_the_given_rows(fitted, table):
    scaler = fitted.scalers_["accommodates"]
    assert scaler.mean_[0] == pytest.approx(table["accommodates"].mean())
    assert scaler.scale_[0] == pytest.approx(table["accommodates"].std(ddof=0))
    log_reviews = np.log1p(table["number_of_reviews_ltm"].to_numpy(float))
    assert fitted.scalers_["number_of_reviews_ltm"].mean_[0] == pytest.approx(log_reviews.mean())
    out = fitted.transform(table)
    assert abs(out["accommodates"].mean()) < 1e-4 and out["accommodates"].std() == pytest.approx(1, abs=1e-3)
    assert out["review_scores"].shape == (len(table), 6) and out["host_rates"].shape == (len(table), 2)


def test_one_hots_and_cyclical_encodings(fitted, table):
    rows = table.iloc[:4].copy()
    rows["room_type"] = ["Entire home/apt", "Private room", "Shared room", "Hotel room"]
    rows["bathrooms_type"] = ["shared", "private", "private", "shared"]
    rows["host_is_superhost"] = pd.array([True, False, None, True], dtype="boolean")
    rows["month"] = [1, 12, 6, 7]
    out = fitted.transform(rows)
    np.testing.assert_array_equal(out["room_type_ohe"], np.eye(4))
    np.testing.assert_array_equal(out["bathrooms_type_ohe"], [[0, 1], [1, 0], [1, 0], [0, 1]])
    np.testing.assert_array_equal(out["host_is_superhost_ohe"], [[0, 1], [1, 0], [0, 0], [0, 1]])
    jan, dec = out["month_cyclical"][0], out["month_cyclical"][1]
    assert np.linalg.norm(jan - dec) < 0.6, "December is next to January"
    assert out["location_coords_cyclical"].shape == (4, 32)


def test_location_encoding_matches_its_definition():
    enc = LocationEncoding(n_frequencies=2, ratio=4.0)
    out = enc(np.array([45.0]), np.array([-90.0]))
    expected = np.concatenate([cyclical(np.array([45.0, 180.0]), 180.0).ravel(),
                               cyclical(np.array([-90.0, -360.0]), 360.0).ravel()])
    np.testing.assert_allclose(out[0], expected, atol=1e-6)


def test_city_scale_octaves_vary_across_a_city():
    """SPEC §4's octaves hardly turn across a city; training's (first octave 6) do."""
    lat, lon = 40.73 + np.linspace(-0.05, 0.05, 11), -74.19 + np.linspace(-0.05, 0.05, 11)
    spec, city = LocationEncoding()(lat, lon), LocationEncoding(first_octave=6)(lat, lon)
    assert spec.std(axis=0).max() < 0.2 < 0.5 < city.std(axis=0).max()
    np.testing.assert_allclose(LocationEncoding(n_frequencies=2, first_octave=6)(lat, lon)[:, :2],
                               cyclical(lat * 64.0, 180.0), atol=1e-6)


def test_the_processor_is_a_scikit_learn_transformer(fitted, table):
    """Parameters in ``__init__``, learned state ending in ``_``: scikit-learn's tools work on it."""
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    assert isinstance(fitted, TransformerMixin) and fitted.get_params() == {
        "location": LocationEncoding(), "amenity_vocabulary": features.AmenityVocabulary()}
    check_is_fitted(fitted)
    assert set(features.fitted_state(fitted)) == features.PROCESSOR_STATE
    fresh = clone(fitted)  # the parameters, none of the learned state
    assert not features.fitted_state(fresh)
    with pytest.raises(features.FeatureError, match="not fitted"):
        fresh.transform(table)
    np.testing.assert_array_equal(fresh.fit_transform(table)["accommodates"], fitted.transform(table)["accommodates"])


def test_a_processor_stored_as_a_dataclass_still_loads(fitted, table, tmp_path):
    """Runs saved before the processor was a scikit-learn transformer stored its fields by their old
    names; they load to the same transform, and one from before 0.2 (no ranges) says retrain."""
    import json

    tree, arrays = features.to_data(fitted)
    state = tree["state"]["items"]
    old = {"type": "FeatureProcessor", "fields": {"type": "dict", "items": {
        **tree["params"]["items"], "amenity_vocabulary": state["amenity_vocabulary_"],
        **{k.removesuffix("_"): v for k, v in state.items() if k != "amenity_vocabulary_"}}}}
    loaded = features.from_data(json.loads(json.dumps(old)), arrays)
    a, b = fitted.transform(table.iloc[:50]), loaded.transform(table.iloc[:50])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    old["fields"]["items"]["ranges"] = None
    with pytest.raises(features.FeatureError, match="before 0.2 .*retrain"):
        features.from_data(old, arrays)


def test_save_load_gives_identical_transform(fitted, table, tmp_path):
    path = fitted.save(tmp_path / "feature_processor.npz")
    loaded = FeatureProcessor.load(path)
    a, b = fitted.transform(table.iloc[:50]), loaded.transform(table.iloc[:50])
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_nan_in_model_input_names_the_column(fitted, table):
    rows = table.iloc[:5].copy()
    rows.loc[rows.index[2], "review_scores_value"] = np.nan
    with pytest.raises(FeatureError, match=r"'review_scores_value' \(1 rows\)"):
        fitted.transform(rows)


def test_missing_column_is_named(fitted, table):
    with pytest.raises(FeatureError, match="'month'"):
        fitted.transform(table.drop(columns="month"))


def test_unfitted_processor_says_so(table):
    with pytest.raises(FeatureError, match="not fitted"):
        FeatureProcessor().transform(table)


# --------------------------------------------------------------------------- dataset

def test_dataset_item_keys_shapes_dtypes(dataset):
    item = dataset[0]
    expect = {
        "neighbourhood_cleansed": ((), torch.int64), "property_type": ((), torch.int64),
        "bedrooms": ((), torch.int64), "beds": ((), torch.int64), "bathrooms_numeric": ((), torch.int64),
        "location_coords_cyclical": ((32,), torch.float32), "accommodates": ((), torch.float32),
        "review_scores": ((6,), torch.float32), "host_rates": ((2,), torch.float32),
        "number_of_reviews_ltm_log": ((), torch.float32), "room_type_ohe": ((4,), torch.float32),
        "bathrooms_type_ohe": ((2,), torch.float32), "host_is_superhost_ohe": ((2,), torch.float32),
        "host_identity_verified_ohe": ((2,), torch.float32), "instant_bookable_ohe": ((2,), torch.float32),
        "month_cyclical": ((2,), torch.float32), "amenities_embedding": ((384,), torch.float32),
        "target_price": ((1,), torch.float32), "estimated_occupancy_rate": ((1,), torch.float32),
        "amenities_multihot": ((len(dataset_vocabulary(dataset)),), torch.uint8),
        "no_reviews_ltm": ((), torch.float32), "month_seen": ((), torch.float32),
        "years_before_latest": ((), torch.float32),
        "city": ((), torch.int64),  # encoded always; the model has the input only for several cities
    }
    assert set(item) == set(expect)
    for key, (shape, dtype) in expect.items():
        assert tuple(item[key].shape) == shape and item[key].dtype == dtype, key


def dataset_vocabulary(dataset) -> list:
    return list(range(dataset.tensors["amenities_multihot"].shape[1]))


def test_amenity_vocabulary_keeps_frequent_amenities_of_the_fitted_rows():
    from airbnb.features import AmenityVocabulary

    rows = pd.Series(['["Wifi", "Kitchen"]'] * 6 + ['["Wifi", "Pool", "Pool"]'] * 4 + ['["Sauna"]'] + [None])
    vocab = AmenityVocabulary(min_share=0.3, min_count=2).fit(rows)
    assert vocab.names == ["Wifi", "Kitchen", "Pool"]  # by frequency; Sauna (1 of 12 rows) is too rare
    hot = vocab.transform(pd.Series(['["Pool", "Wifi", "Sauna"]', "[]", None]))
    np.testing.assert_array_equal(hot, [[1, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert hot.dtype == np.uint8


def test_batches_equal_stacked_items(dataset):
    batch = next(iter(make_loader(dataset, 8, shuffle=False)))
    for key, value in batch.items():
        torch.testing.assert_close(value, torch.stack([dataset[i][key] for i in range(8)]))


def test_shuffled_loader_is_repeatable_for_a_seed(dataset):
    first = [b["target_price"] for b in make_loader(dataset, 16, shuffle=True, seed=3)]
    again = [b["target_price"] for b in make_loader(dataset, 16, shuffle=True, seed=3)]
    torch.testing.assert_close(torch.cat(first), torch.cat(again))
    assert not torch.equal(torch.cat(first), dataset.tensors["target_price"])


# --------------------------------------------------------------------------- model

@pytest.fixture(scope="module")
def model(fitted):
    torch.manual_seed(0)
    return AdditiveAxisModel(ModelConfig(fitted.vocab_sizes, {"neighbourhood_cleansed": 16}))


def test_forward_shapes_and_exact_sum(model, dataset):
    batch = dataset.__getitems__(range(32))
    out = model(batch)
    assert out["predicted_price"].shape == (32, 1)
    assert set(out["breakdown"]) == {*AXES, "bias"}
    assert all(v.shape == (32, 1) for v in out["breakdown"].values())
    total = sum(out["breakdown"].values())
    torch.testing.assert_close(out["predicted_price"], total, rtol=0, atol=1e-5)


def test_sum_identity_holds_after_target_scaling(fitted, dataset):
    model = AdditiveAxisModel(ModelConfig(fitted.vocab_sizes))
    model.set_target_scale(150.0, 80.0)
    out = model(dataset.__getitems__(range(16)))
    assert out["breakdown"]["bias"][0, 0].item() == 150.0
    torch.testing.assert_close(out["predicted_price"], sum(out["breakdown"].values()), rtol=0, atol=1e-4)


def test_gradients_reach_every_sub_network(model, dataset):
    model.zero_grad()
    out = model(dataset.__getitems__(range(64)))
    out["predicted_price"].pow(2).mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_every_declared_input_is_computed_and_sized_as_declared(fitted, dataset):
    """The features give each axis input the airbnb.axes declaration names, at the declared width."""
    from airbnb.axes import MODEL_INPUTS, input_width

    model = AdditiveAxisModel(ModelConfig(fitted.vocab_sizes, amenity_multihot_dim=len(fitted.amenity_vocabulary_.names),
                                          no_reviews_indicator=1))
    batch = dataset.__getitems__(range(8))
    for item in MODEL_INPUTS:
        value = batch[item.name]
        width = 1 if item.encoding == "vocabulary" else input_width(item, model.config)
        assert value.reshape(8, -1).shape[1] == width, item.name
    first = {axis: net[0] if isinstance(net, torch.nn.Sequential) else net for axis, net in model.axes.items()}
    inputs = model.axis_inputs(batch)
    assert {axis: layer.in_features for axis, layer in first.items()} == {a: x.shape[-1] for a, x in inputs.items()}


def test_literal_spec_benchmark_computes_our_features(table):
    """benchmarks/literal_spec.py (the row-by-row SPEC reading) agrees with FeatureProcessor."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import literal_spec
    finally:
        sys.path.pop(0)
    literal_spec.check_equivalence(table.iloc[:150].reset_index(drop=True))


def test_model_rebuilds_from_its_config(model):
    clone = AdditiveAxisModel(model.config.to_dict())
    clone.load_state_dict(model.state_dict())
    assert clone.config == model.config


# --------------------------------------------------------------------------- never an absurd price

def _absurd_batch(dataset, n=64):
    """Real rows with inputs pushed far outside anything seen (a million guests, scores of 500)."""
    batch = {k: v.clone() for k, v in dataset.__getitems__(range(n)).items()}
    batch["accommodates"][: n // 2] = 1e6
    batch["accommodates"][n // 2:] = -1e6
    batch["review_scores"][::3] = 500.0
    batch["amenities_embedding"][::2] *= 1e4
    return batch


@pytest.mark.parametrize("target", ["price", "log_price"])
def test_prices_stay_positive_finite_and_additive_for_absurd_inputs(fitted, dataset, target):
    torch.manual_seed(0)
    model = AdditiveAxisModel(ModelConfig(fitted.vocab_sizes, target=target))
    model.set_target_scale(*((4.6, 0.7) if target == "log_price" else (120.0, 90.0)))
    model.set_price_bounds(cheapest=25.0, dearest=900.0)
    out = model.eval()(_absurd_batch(dataset))
    price = out["predicted_price"]
    assert torch.isfinite(price).all()
    assert price.min().item() == pytest.approx(12.5, rel=1e-4) and price.max().item() == pytest.approx(2700, rel=1e-4)
    total = sum(out["breakdown"].values())
    torch.testing.assert_close(out.get("predicted_log_price", price), total, rtol=1e-6, atol=1e-4)


def test_bounds_leave_ordinary_predictions_untouched(fitted, dataset):
    torch.manual_seed(0)
    wide, tight = (AdditiveAxisModel(ModelConfig(fitted.vocab_sizes, target="log_price")) for _ in range(2))
    tight.load_state_dict(wide.state_dict())
    for m in (wide, tight):
        m.set_target_scale(4.6, 0.7)
    tight.set_price_bounds(cheapest=1.0, dearest=30_000.0)
    batch = dataset.__getitems__(range(64))
    torch.testing.assert_close(wide.eval()(batch)["predicted_price"], tight.eval()(batch)["predicted_price"])


def test_only_the_axes_to_blame_shrink():
    from airbnb.model import bound_axes

    bias = torch.tensor([[100.0]])
    axes = {a: torch.tensor([[v]]) for a, v in zip(AXES, [-80.0, -60.0, 30.0, 0.0, 5.0])}
    bounded = bound_axes(bias, axes, torch.tensor([[20.0]]), torch.tensor([[1e4]]))
    assert float(bias + sum(bounded.values())) == pytest.approx(20.0)
    assert float(bounded["quality_reputation"]) == 30.0 and float(bounded["seasonality"]) == 5.0  # pushing up: kept
    assert float(bounded["location"]) / float(bounded["size_capacity"]) == pytest.approx(80 / 60)  # one factor


def test_dollar_split_adds_up_exactly_and_ignores_axis_order():
    from airbnb.model import dollar_split

    rng = np.random.default_rng(0)
    base = rng.uniform(30, 300, 1000)
    logs = {a: rng.normal(0, 0.4, 1000) for a in AXES}
    logs["seasonality"][:10] = -sum(logs[a][:10] for a in AXES[:-1])  # factors multiplying to exactly 1
    dollars = dollar_split(base, logs)
    price = base * np.exp(sum(logs.values()))
    np.testing.assert_allclose(base + sum(dollars.values()), price, rtol=1e-12)
    reversed_order = dollar_split(base, dict(reversed(list(logs.items()))))
    for a in AXES:
        np.testing.assert_array_equal(dollars[a], reversed_order[a])
    neutral = dollar_split(base, {**logs, "amenities": np.zeros(1000)})
    assert (neutral["amenities"] == 0).all(), "a factor of 1 is $0"
    assert np.all(np.sign(dollars["location"][10:]) == np.sign(logs["location"][10:] * np.expm1(
        sum(logs.values())[10:]) / sum(logs.values())[10:])), "the dollars have the factor's sign when S != 0"


def test_stacked_members_compute_exactly_the_members(fitted, dataset):
    from airbnb.model import stack_members, unstack_members

    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        m = AdditiveAxisModel(ModelConfig(fitted.vocab_sizes, target="log_price"))
        m.set_target_scale(4.6 + seed, 0.7)
        members.append(m)
    stacked = stack_members(members)
    batch = dataset.__getitems__(range(32))
    out = stacked(batch)["predicted_log_price"]
    assert out.shape == (3, 32, 1)
    for k, member in enumerate(members):
        torch.testing.assert_close(out[k], member(batch)["predicted_log_price"], rtol=1e-5, atol=1e-5)
    for member, back in zip(members, unstack_members(stacked)):
        assert all(torch.equal(a, b) for a, b in zip(member.state_dict().values(), back.state_dict().values()))
