"""The axis trees (airbnb.axis_trees): LightGBM confined to one axis per tree, blended into the
network axis by axis so that the price stays bias + five axes exactly."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from airbnb import artifacts, train
from airbnb.axes import AXES, TREES_INPUT
from airbnb.axis_trees import AxisTrees, column_axis, model_inputs
from airbnb.dataset import AirbnbDataset
from airbnb.errors import ConfigError
from airbnb.predict import PricePredictor
from airbnb.synthetic import CityConfig, generate_city


@pytest.fixture(scope="module")
def city_rows(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """A 400-listing synthetic city's table, split by listing into train / validation rows."""
    from airbnb import etl

    root = tmp_path_factory.mktemp("trees")
    city = generate_city(root / "city", CityConfig(n_listings=400, seed=5), progress=False)
    etl.run_etl(city.root, city.reviews, root / "table.parquet")
    table = pd.read_parquet(root / "table.parquet")
    validation = table["listing_id"].isin(table["listing_id"].drop_duplicates().sample(frac=0.25, random_state=0))
    return {"train": table[~validation].reset_index(drop=True), "validation": table[validation].reset_index(drop=True)}


@pytest.fixture(scope="module")
def trees(city_rows) -> AxisTrees:
    return AxisTrees.fit(city_rows["train"], city_rows["validation"], seed=0)


def test_every_tree_splits_on_one_axis_only(trees):
    # read through LightGBM's own table of the trees, not the module's walk over them
    splits = trees.booster.trees_to_dataframe().dropna(subset=["split_feature"])
    design_column = dict(zip(trees.feature_names, trees.design.columns))
    axes = splits["split_feature"].map(lambda name: column_axis(design_column[name]))
    per_tree = axes.groupby(splits["tree_index"]).nunique()
    assert len(trees.feature_names) == len(trees.design.columns)
    assert (per_tree == 1).all(), per_tree[per_tree > 1].head()
    # the trees do price several axes (not one constant): the city's price has five ingredients
    assert axes.nunique() >= 3


def test_base_and_axes_add_up_to_the_trees_log_price_and_are_centred_as_the_network(trees, city_rows):
    rows = city_rows["validation"]
    parts = trees.contributions(rows).astype(np.float64)
    raw = trees.booster.predict(trees.design.transform(rows).set_axis(trees.feature_names, axis=1))
    np.testing.assert_allclose(parts.sum(axis=1), raw, atol=1e-5)
    train_parts = trees.contributions(city_rows["train"]).astype(np.float64)
    weight = city_rows["train"]["estimated_occupancy_rate"].to_numpy()
    np.testing.assert_allclose(np.average(train_parts[:, 1:], axis=0, weights=weight), 0.0, atol=1e-5)
    assert train_parts[:, 1:].std(axis=0).max() > 0.05  # centred, not flat


def test_a_listing_to_price_needs_no_snapshot_month(trees, city_rows):
    rows = city_rows["validation"].head(20)
    latest = rows.assign(year_month=city_rows["train"]["year_month"].max())
    np.testing.assert_allclose(trees.contributions(rows.drop(columns="year_month")),
                               trees.contributions(latest), atol=1e-6)


def test_stored_trees_price_the_same_and_a_damaged_file_is_refused(trees, city_rows, tmp_path):
    path = trees.save(tmp_path / "trees.json")
    rows = city_rows["validation"]
    np.testing.assert_array_equal(AxisTrees.load(path).contributions(rows), trees.contributions(rows))
    stored = json.loads(path.read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**stored, "model": "tree\nnot a model"}))
    with pytest.raises(ValueError, match="not axis trees this version stored"):
        AxisTrees.load(tmp_path / "bad.json")
    (tmp_path / "partial.json").write_text(json.dumps({k: v for k, v in stored.items() if k != "centre"}))
    with pytest.raises(ValueError, match="KeyError"):
        AxisTrees.load(tmp_path / "partial.json")


def test_a_trained_model_blends_its_trees_and_stays_an_exact_sum(small_run, small_table):
    predictor = PricePredictor.load(small_run)
    share = predictor.model.config.tree_share
    assert share == train.TrainConfig().tree_share > 0
    assert predictor.trees is not None and (small_run / artifacts.AXIS_TREES).is_file()
    rows = pd.read_parquet(small_table)
    out = predictor.predict_table(rows)
    np.testing.assert_allclose(out[["bias", *AXES]].sum(axis=1), out["recommended_price"], rtol=1e-9)
    # the log price is (1 - share) x the network's + share x the trees'
    inputs = model_inputs(predictor.processor, predictor.trees, rows)
    network = predictor.model
    batch = AirbnbDataset(inputs, embedder=predictor.embedder).all()
    with torch.no_grad():
        blended = network(batch)["predicted_log_price"].numpy().ravel()
        for member in network.members if hasattr(network, "members") else [network]:
            member.config.tree_share = 0.0
        alone = network(batch)["predicted_log_price"].numpy().ravel()
        for member in network.members if hasattr(network, "members") else [network]:
            member.config.tree_share = share
    trees_log = inputs[TREES_INPUT].astype(np.float64).sum(axis=1)
    inside = (np.exp(blended) > 20) & (np.exp(blended) < 1000)  # away from the price bounds' clamp
    np.testing.assert_allclose(blended[inside], ((1 - share) * alone + share * trees_log)[inside], atol=1e-4)
    assert np.abs(blended - alone).max() > 1e-3  # the trees do move prices


@pytest.mark.parametrize("members", [1, 2])
def test_the_recorded_validation_loss_is_the_model_with_its_trees(small_table, tmp_path, members):
    from airbnb.dataset import make_loader
    from airbnb.training.step import validate

    result = train.train(train.TrainConfig(data_path=str(small_table), output_dir=str(tmp_path), epochs=3,
                                           ensemble_size=members, progress=False))
    loader = make_loader(result.datasets["validation"], 64, shuffle=False)
    deployed = validate(result.model, loader, torch.device("cpu"), train.TrainConfig().loss)["val_loss"]
    assert result.best_val_loss == pytest.approx(deployed, rel=1e-6)
    assert json.loads((tmp_path / artifacts.CONFIG).read_text())["best_val_loss"] == pytest.approx(deployed, rel=1e-6)


def test_without_trees_a_run_has_no_trees_file(small_table, tmp_path):
    result = train.train(train.TrainConfig(data_path=str(small_table), output_dir=str(tmp_path), epochs=1,
                                           ensemble_size=1, tree_share=0.0, progress=False))
    assert result.model.config.tree_share == 0.0
    assert not (tmp_path / artifacts.AXIS_TREES).exists()
    assert PricePredictor.load(tmp_path).trees is None


def test_a_damaged_trees_file_is_named(small_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(small_run, copy)
    with open(copy / artifacts.AXIS_TREES, "a") as f:
        f.write(" ")
    with pytest.raises(artifacts.ArtifactsError, match="axis_trees.json is damaged"):
        PricePredictor.load(copy)


def test_trees_need_the_log_price_target():
    with pytest.raises(ConfigError, match="tree_share 0.3 needs the log_price target"):
        train.configure(target="price")
    assert train.configure(target="price", tree_share=0.0).tree_share == 0.0
    assert train.configure("original").tree_share == 0.0
