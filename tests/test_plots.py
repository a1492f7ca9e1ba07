"""Figures for people: labels that do not collide, human names, legends off the curves, plain
dollar ticks, and maps with the city's true shape (and its neighbourhood polygons when given)."""
from __future__ import annotations

import itertools
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from airbnb import plots  # noqa: E402
from airbnb.axes import AXES  # noqa: E402

RNG = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def rendered(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def texts(fig) -> list[str]:
    """Every text a reader sees: titles, axis labels, tick labels, legend entries, annotations."""
    rendered(fig)
    found = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    return found


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def breakdown_row(**values) -> pd.Series:
    row = {"bias": 120.0, "location": 35.0, "size_capacity": -8.0, "quality_reputation": 2.0, "amenities": -1.5,
           "seasonality": 6.0}
    row.update(values)
    row["predicted_price"] = sum(row[c] for c in ["bias", *AXES])
    for axis in AXES:
        row[f"{axis}_factor"] = 1 + row[axis] / row["bias"]
    return pd.Series({**row, "target_price": 150.0})


def history(epochs: int = 40) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    return pd.DataFrame({"epoch": e, "train_loss": 0.5 / e + 0.01, "val_loss": 0.6 / e + 0.02,
                         "val_r2_weighted": 1 - 0.8 / e, "val_mape_weighted": 0.1 + 0.4 / e})


def listings(n: int = 200) -> pd.DataFrame:
    """A city at 60°N (a degree of longitude is half a degree of latitude) in two neighbourhoods."""
    lon = RNG.uniform(10.0, 12.0, n)
    lat = RNG.uniform(59.5, 60.5, n)
    west = lon < 11.0
    return pd.DataFrame({"longitude": lon, "latitude": lat, "neighbourhood_cleansed": np.where(west, "West", "East"),
                         "location": np.where(west, -20.0, 30.0) + RNG.normal(0, 1, n),
                         "target_price": RNG.lognormal(5, 0.5, n), "predicted_price": RNG.lognormal(5, 0.5, n),
                         "estimated_occupancy_rate": RNG.uniform(0, 1, n), "room_type": "Entire home/apt",
                         "bias": 120.0, **{a: RNG.normal(0, 10, n) for a in AXES}})


@pytest.mark.parametrize("values", [{}, {"quality_reputation": 0.3, "amenities": -0.2, "seasonality": 0.1},
                                    {"location": -90.0, "size_capacity": 80.0, "seasonality": -70.0}])
def test_waterfall_labels_do_not_collide_and_stay_inside(values):
    fig = plots.waterfall(breakdown_row(**values), "listing 1")
    renderer = rendered(fig)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_gid() == "waterfall-label"]
    assert len(labels) == 7
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not overlaps(a, b), "two labels collide"
    bars = [p.get_window_extent(renderer) for p in ax.patches]
    for i, box in enumerate(boxes):
        assert not any(overlaps(box, bar) for bar in bars), f"label {labels[i].get_text()!r} covers a bar"
        assert ax.get_window_extent(renderer).contains(box.x0, box.y0) and \
            ax.get_window_extent(renderer).contains(box.x1, box.y1), "a label outside the plot"
    legend = ax.get_legend().get_window_extent(renderer)
    assert not overlaps(legend, ax.get_window_extent(renderer)), "the legend covers the bars"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["base price", "location", "size & capacity", "quality & reputation", "amenities",
                     "seasonality", "price"]


def test_learning_curve_legend_covers_no_curve():
    fig = plots.learning_curves(history(), "log_price", "ape")
    assert fig.axes[0].get_ylabel() == "weighted |predicted / listed − 1|"
    assert plots.loss_label("mse", "log_price") == "weighted MSE of log price"
    assert plots.loss_label("mse", "price") == "weighted MSE ($²)"
    renderer = rendered(fig)
    legends = fig.legends
    assert len(legends) == 1
    entries = [t.get_text() for t in legends[0].get_texts()]
    assert entries == ["training loss", "validation loss", "validation R² (weighted)", "validation MAPE % (weighted)"]
    legend = legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not overlaps(legend, ax.get_window_extent(renderer))


def test_prices_are_ticked_in_plain_dollars():
    frame = listings()
    figures = [plots.table_overview(frame), plots.predicted_vs_actual(frame["target_price"], frame["predicted_price"]),
               plots.waterfall(breakdown_row()), plots.axis_distributions(frame),
               plots.price_by_month(pd.DataFrame({"month": range(1, 13), "recommended_price": np.linspace(80, 400, 12),
                                                  "seasonality": np.linspace(-20, 20, 12)})),
               plots.learning_curves(history())]
    for fig in figures:
        rendered(fig)
        for ax in fig.axes:
            for tick in [*ax.get_yticklabels(), *ax.get_xticklabels(), *ax.get_yticklabels(minor=True),
                         *ax.get_xticklabels(minor=True)]:
                text = tick.get_text()
                assert "times" not in text and "×" not in text and "^" not in text, text
    # the log-price axes read as dollars, each tick at a price
    fig = plots.predicted_vs_actual(np.array([40.0, 900.0]), np.array([50.0, 800.0]))
    rendered(fig)
    shown = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert shown and all(re.fullmatch(r"\$[\d,]+", t) for t in shown), shown
    assert {"$100", "$200", "$500"} <= set(shown)


def test_no_snake_case_names_reach_a_reader():
    frame = listings()
    frame.index = [f"listing {i}" for i in range(len(frame))]
    for fig in (plots.axis_distributions(frame), plots.breakdown_bars(frame.iloc[:3]), plots.waterfall(breakdown_row()),
                plots.location_map(frame), plots.learning_curves(history())):
        snake = [t for t in texts(fig) if re.search(r"[a-z]_[a-z]", t)]
        assert not snake, snake


def test_the_map_keeps_the_true_shape_and_shows_neighbourhood_medians():
    frame = listings()
    fig = plots.location_map(frame)
    points_ax, median_ax = fig.axes[:2]
    for ax in (points_ax, median_ax):
        assert ax.get_aspect() == pytest.approx(1 / np.cos(np.deg2rad(frame["latitude"].mean())))
    medians = [c for c in median_ax.collections if c.get_gid() == "neighbourhood-medians"]
    assert len(medians) == 1
    shown = dict(zip(map(tuple, np.round(medians[0].get_offsets(), 6)), medians[0].get_array()))
    expected = frame.groupby("neighbourhood_cleansed")[["longitude", "latitude", "location"]].median()
    for _, row in expected.iterrows():
        assert shown[(round(row.longitude, 6), round(row.latitude, 6))] == pytest.approx(row.location)


def square(x0, y0, size=1.0):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


@pytest.fixture
def geojson(tmp_path):
    """A tiny Inside Airbnb-shaped neighbourhoods.geojson: West a Polygon, East a MultiPolygon, Empty without listings."""
    features = [
        {"type": "Feature", "properties": {"neighbourhood": "West", "neighbourhood_group": None},
         "geometry": {"type": "Polygon", "coordinates": [square(10, 59.5)]}},
        {"type": "Feature", "properties": {"neighbourhood": "East", "neighbourhood_group": None},
         "geometry": {"type": "MultiPolygon", "coordinates": [[square(11, 59.5)], [square(11, 60.5, 0.2)]]}},
        {"type": "Feature", "properties": {"neighbourhood": "Empty", "neighbourhood_group": None},
         "geometry": {"type": "Polygon", "coordinates": [square(12, 59.5)]}},
    ]
    path = tmp_path / "neighbourhoods.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_neighbourhood_polygons_are_filled_with_their_median(geojson):
    shapes = plots.read_neighbourhoods(geojson)
    assert {k: len(v) for k, v in shapes.items()} == {"West": 1, "East": 2, "Empty": 1}
    np.testing.assert_allclose(shapes["West"][0], square(10, 59.5))
    frame = listings()
    fig = plots.location_map(frame, shapes)
    points_ax, median_ax = fig.axes[:2]
    (filled,) = [c for c in median_ax.collections if c.get_gid() == "neighbourhood-medians"]
    values = filled.get_array()
    medians = frame.groupby("neighbourhood_cleansed")["location"].median()
    assert list(values[:3]) == pytest.approx([medians["West"], medians["East"], medians["East"]])
    assert np.ma.is_masked(values[3]), "a neighbourhood without listings is left unfilled (grey)"
    assert [c.get_gid() for c in points_ax.collections].count("neighbourhood-borders") == 1
    assert median_ax.get_aspect() == pytest.approx(1 / np.cos(np.deg2rad(frame["latitude"].mean())))
    x0, x1 = median_ax.get_xlim()
    assert x0 <= 10.0 and x1 >= 13.0, "every polygon is in view"


def test_a_file_that_is_not_neighbourhood_geojson_is_named(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{"geometry": {"type": "Point"}}]}))
    with pytest.raises(ValueError, match=f"{re.escape(str(bad))} is not an Inside Airbnb neighbourhoods.geojson"):
        plots.read_neighbourhoods(bad)
    with pytest.raises(ValueError, match="missing.geojson is not an Inside Airbnb"):
        plots.read_neighbourhoods(tmp_path / "missing.geojson")


def test_the_evaluate_notebook_draws_the_neighbourhood_polygons(small_run, tmp_path):
    """Executed with a geojson of the run's neighbourhoods (a square around each one's listings): the
    map cell shows one figure whose medians panel fills every neighbourhood."""
    import nbformat
    import papermill as pm

    from airbnb.artifacts import load_table
    from conftest import REPO

    config = json.loads((small_run / "model_config.json").read_text())
    table = load_table(config["data"]["path"])
    centres = table.groupby("neighbourhood_cleansed")[["longitude", "latitude"]].median().astype(float)
    features = [{"type": "Feature", "properties": {"neighbourhood": name},
                 "geometry": {"type": "Polygon", "coordinates": [square(c.longitude - 0.01, c.latitude - 0.01, 0.02)]}}
                for name, c in centres.iterrows()]
    geo = tmp_path / "neighbourhoods.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = tmp_path / "evaluate.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "evaluate.ipynb"), str(out), cwd=str(REPO), progress_bar=False,
                        parameters={"artifacts_dir": str(small_run), "baselines": ["weighted_mean"], "n_examples": 1,
                                    "metrics_path": str(tmp_path / "metrics.json"),
                                    "neighbourhoods_geojson": str(geo)})
    cells = nbformat.read(str(out), as_version=4).cells
    (map_cell,) = [c for c in cells if c.cell_type == "code" and "location_map" in c.source]
    assert [o for o in map_cell.outputs if "image/png" in o.get("data", {})], "the map is shown"
    assert not [o for c in cells if c.cell_type == "code" for o in c.outputs if o["output_type"] == "error"]
    shapes = plots.read_neighbourhoods(geo)
    assert set(shapes) == set(table["neighbourhood_cleansed"]) and len(shapes) >= 3
