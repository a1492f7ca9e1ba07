"""The price explorer's logic and widgets: prices, the waterfall, the curve, comparables, bad input."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from airbnb import etl
from airbnb.explore import Explorer, ExploreConfig
from airbnb.explore_app import ExplorerApp, app
from airbnb.explore_html import LINK_STYLE, comparables_html, curve_svg, header_html, price_html, waterfall_html
from airbnb.explore_listing import ROW_ONLY, ExploreError, Listing, check_listing
from airbnb.explore_quote import COMPARABLE_AXES, km_between
from airbnb.explore_server import page_notebook
from airbnb.explore_table import table_origin
from airbnb.predict import LISTING_URL
from airbnb import predict, train
from airbnb.features import UNK
from airbnb.errors import ConfigError
from airbnb.schema import DOMAINS, TABLE_SCHEMA

from conftest import REPO, rerecord, trained_on_one_month, write_listings, write_reviews


@pytest.fixture(scope="module")
def explorer(small_run):
    return Explorer.load(small_run)


def test_a_quote_is_the_predictors_price_for_that_row(explorer):
    listing = explorer.change(explorer.default_listing(), month=3)
    quote = explorer.quote(listing)
    direct = explorer.predictor.predict_table(listing.to_row()).iloc[0]
    assert quote.price == pytest.approx(direct["recommended_price"], rel=1e-6)
    assert (quote.price_low, quote.price_high) == pytest.approx((direct["price_low"], direct["price_high"]), rel=1e-6)
    assert quote.price_low < quote.price < quote.price_high
    # the waterfall: base price then five axes, each step starting where the last ended, ending at the price
    steps = quote.steps
    assert list(steps["step"]) == ["bias", "location", "size_capacity", "quality_reputation", "amenities",
                                   "seasonality"]
    assert steps["dollars"].sum() == pytest.approx(quote.price, rel=1e-9)
    np.testing.assert_allclose(steps["start"].iloc[1:], steps["end"].iloc[:-1])
    assert steps["end"].iloc[-1] == pytest.approx(quote.price, rel=1e-9)
    # the curve: every month, the chosen one at the quoted price
    assert list(quote.months["month"]) == list(range(1, 13))
    assert quote.months.loc[2, "recommended_price"] == pytest.approx(quote.price, rel=1e-9)
    assert (quote.months["price_low"] > 0).all()


def test_more_guests_change_the_price(explorer):
    base = explorer.default_listing()
    two, six = (explorer.quote(explorer.change(base, accommodates=n)) for n in (2, 6))
    assert two.price != pytest.approx(six.price, rel=1e-4)
    size = lambda q: q.steps.set_index("step").loc["size_capacity", "dollars"]  # noqa: E731
    assert size(two) != pytest.approx(size(six))


def test_a_listing_id_prefills_its_table_row(explorer):
    table = explorer.listings
    row = table.iloc[7]
    listing = explorer.listing_from_id(str(row["listing_id"]))
    assert listing.listing_id == row["listing_id"] and listing.neighbourhood_cleansed == row["neighbourhood_cleansed"]
    assert listing.accommodates == row["accommodates"] and set(listing.amenities) == set(
        etl.parse_amenities(row["amenities"]))
    quote = explorer.quote(listing)
    direct = explorer.predictor.predict_table(table.iloc[[7]]).iloc[0]
    assert quote.price == pytest.approx(direct["recommended_price"], rel=1e-6), "the table row's own price"
    assert row["listing_id"] not in set(quote.comparables["listing_id"]), "a listing is not its own comparable"
    assert explorer.listing_from_id(row["listing_id"], month=2).month == 2
    with pytest.raises(ExploreError, match="listing 42 is not in the run's table"):
        explorer.listing_from_id("42")
    with pytest.raises(ExploreError, match="a listing id is a whole number"):
        explorer.listing_from_id("abc")


def test_comparables_are_the_nearest_in_axis_space(explorer):
    listing = explorer.listing_from_id(explorer.listings["listing_id"].iloc[3])
    quote = explorer.quote(listing)
    # brute force: every table listing's log factors, Euclidean distance to this listing's
    priced = explorer.predictor.predict_table(explorer.listings)
    space = np.log(priced[[f"{a}_factor" for a in COMPARABLE_AXES]].to_numpy())
    own = np.log(explorer.predictor.predict_table(listing.to_row())[[f"{a}_factor" for a in COMPARABLE_AXES]]
                 .to_numpy())[0]
    distance = np.sqrt(((space - own) ** 2).sum(axis=1))
    distance[explorer.listings["listing_id"].to_numpy() == listing.listing_id] = np.inf
    expected = explorer.listings["listing_id"].to_numpy()[np.argsort(distance, kind="stable")[:5]]
    got = quote.comparables
    assert list(got["listing_id"]) == list(expected)
    np.testing.assert_allclose(got["distance"], np.sort(distance)[:5], rtol=1e-5, atol=1e-9)
    first = explorer.listings.set_index("listing_id").loc[got["listing_id"].iloc[0]]
    assert got["listed_price"].iloc[0] == pytest.approx(first["target_price"]) and got["year_month"].iloc[0] == first[
        "year_month"]
    assert got["url"].isna().all(), "the synthetic city's ids are not Airbnb listings"


def test_the_table_origin_decides_the_links(small_table, tmp_path):
    assert table_origin(small_table) == "synthetic"
    real = tmp_path / "real"
    listings = write_listings(real / "2024-11-05" / "listings.csv", [{"id": 100 + i, "accommodates": str(2 + i % 3)}
                                                                    for i in range(6)])
    write_reviews(real / "reviews.csv", [(100 + i, "2024-10-20") for i in range(6)])
    etl.run_etl([listings], real / "reviews.csv", real / "table.parquet")
    assert table_origin(real / "table.parquet") == "inside_airbnb"
    listings.unlink()  # the raw file gone: the ids cannot be confirmed
    assert table_origin(real / "table.parquet") == "unknown"
    copy = tmp_path / "copy.parquet"
    shutil.copy(small_table, copy)
    assert table_origin(copy) == "unknown", "no summary beside the table"


def test_real_ids_link_to_airbnb(explorer):
    real = Explorer(explorer.predictor, explorer.listings, origin="inside_airbnb")
    got = real.quote(real.default_listing()).comparables
    assert list(got["url"]) == [LISTING_URL.format(i) for i in got["listing_id"]]
    assert got["url"].iloc[0] == f"https://www.airbnb.com/rooms/{got['listing_id'].iloc[0]}"
    quote = real.quote(real.default_listing())
    first = got["listing_id"].iloc[0]
    # links that look like links (the page's theme draws a bare <a> as plain text), opening a new tab
    assert (f"<a class='airbnb-explore-link' href='https://www.airbnb.com/rooms/{first}' target='_blank' "
            f"rel='noopener' style='{LINK_STYLE}'>{first}</a>") in comparables_html(quote)
    assert "text-decoration:underline" in LINK_STYLE
    own = quote.listing.listing_id
    assert quote.url == f"https://www.airbnb.com/rooms/{own}"
    assert f"href='https://www.airbnb.com/rooms/{own}'" in price_html(quote)
    assert explorer.quote(explorer.default_listing()).url is None, "the synthetic city's listing has no page"


def test_an_unknown_neighbourhood_is_priced_as_unk_and_said_so(explorer):
    listing = explorer.change(explorer.default_listing(), neighbourhood_cleansed="Atlantis")
    centre = explorer.listings[["latitude", "longitude"]].median()  # the city's
    assert (listing.latitude, listing.longitude) == pytest.approx(tuple(centre))
    quote = explorer.quote(listing)
    assert quote.seen_as["neighbourhood_cleansed"] == UNK and quote.price > 0
    assert any("'Atlantis' is not one the model knows: priced as <UNK>" in n for n in quote.notes)
    moved = explorer.change(listing, neighbourhood_cleansed=explorer.options()["neighbourhood_cleansed"][0])
    assert (moved.latitude, moved.longitude) == pytest.approx(explorer.centre(moved.neighbourhood_cleansed))


@pytest.mark.parametrize("change, message", [
    ({"month": 13}, "month must be a whole number from 1 to 12, got 13"),
    ({"month": 0}, "month must be a whole number from 1 to 12"),
    ({"accommodates": 0}, r"accommodates \(guests; Airbnb's limit is 16\) must be a whole number from 1 to 16, got 0"),
    ({"accommodates": 500}, "must be a whole number from 1 to 16, got 500"),
    ({"accommodates": 2.5}, "must be a whole number from 1 to 16, got 2.5"),
    ({"bedrooms": -1.0}, "bedrooms must be a number from 0 to 50"),
    ({"review_scores_rating": 6.0}, "review_scores_rating must be a number from 0 to 5"),
    ({"room_type": "Castle"}, "room type must be one of Entire home/apt, Private room"),
    ({"neighbourhood_cleansed": " "}, "neighbourhood must be a name"),
])
def test_bad_input_is_a_message(explorer, change, message):
    with pytest.raises(ExploreError, match=message):
        explorer.quote(explorer.change(explorer.default_listing(), **change))


def test_sizes_beyond_the_training_listings_are_noted(explorer):
    hi = int(explorer.predictor.processor.ranges_["accommodates"][1])
    quote = explorer.quote(explorer.change(explorer.default_listing(), accommodates=16))
    assert hi < 16 and any(f"16 guests is outside the training listings' 1–{hi}: priced as {hi}" in n
                           for n in quote.notes)
    assert quote.price > 0


def test_runs_that_cannot_be_opened_say_why(small_run, tmp_path):
    with pytest.raises(ExploreError, match="no training run at .*missing.*make run"):
        Explorer.load(tmp_path / "missing")
    old = tmp_path / "old"
    shutil.copytree(small_run, old)
    config = json.loads((old / "model_config.json").read_text())
    (old / "model_config.json").write_text(json.dumps({**config, "format_version": 1}))
    with pytest.raises(ExploreError, match="cannot open the run: .*not compatible"):
        Explorer.load(old)
    (old / "model_config.json").write_text(json.dumps(config))
    rerecord(old)
    (old / "feature_processor.npz").unlink()
    with pytest.raises(ExploreError, match="feature_processor.npz is missing"):
        Explorer.load(old)
    page = app(tmp_path / "missing")
    assert "Cannot open the explorer" in page.value and "make run" in page.value
    with pytest.raises(ConfigError, match="coverage"):
        ExploreConfig(coverage=1.2)


def test_a_run_whose_table_is_gone_still_prices(small_run, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(small_run, moved)
    config = json.loads((moved / "model_config.json").read_text())
    config["data"]["path"] = str(tmp_path / "gone.parquet")
    (moved / "model_config.json").write_text(json.dumps(config))
    rerecord(moved)
    lonely = Explorer.load(moved)
    quote = lonely.quote(lonely.default_listing())
    assert quote.price > 0 and quote.comparables.empty
    assert any("is not found: no comparable listings" in n for n in quote.notes)
    with pytest.raises(ExploreError, match="cannot be looked up"):
        lonely.listing_from_id(1)


# --------------------------------------------------------------------------- the page

def numbers(text: str, attribute: str) -> list[float]:
    return [float(v) for v in re.findall(rf"{attribute}='([-0-9.e]+)'", text)]


def test_the_html_shows_the_price_its_range_and_an_exact_waterfall(explorer):
    quote = explorer.quote(explorer.default_listing())
    price = price_html(quote)
    assert numbers(price, "data-price") == [pytest.approx(quote.price, abs=1e-6)]
    assert f"${quote.price_low:,.0f} – ${quote.price_high:,.0f}" in price and "80% range" in price
    fall = waterfall_html(quote)
    assert len(numbers(fall, "data-dollars")) == 6
    assert sum(numbers(fall, "data-dollars")) == pytest.approx(quote.price, abs=1e-5)
    assert numbers(fall, "data-total") == [pytest.approx(quote.price, abs=1e-5)]
    svg = curve_svg(quote)
    assert svg.count("<circle") == 12 and "<polygon" in svg and "#ff6f00" in svg


def test_the_widgets_reprice_on_every_change(explorer):
    page = ExplorerApp(explorer)
    page.controls["accommodates"].value = 2
    two = page.quote.price
    page.controls["accommodates"].value = 6
    assert page.quote.listing.accommodates == 6 and page.quote.price != pytest.approx(two, rel=1e-4)
    assert f"data-price='{page.quote.price:.6f}'" in page.price.value
    page.controls["amenities"].value = page.controls["amenities"].value[:2]
    assert len(page.quote.listing.amenities) == 2
    page.controls["accommodates"].value = 0
    assert page.quote is None and "no price" in page.price.value and "accommodates" in page.notes.value
    assert page.waterfall.value == "" and "Traceback" not in page.notes.value
    page.controls["accommodates"].value = 3
    assert page.quote.price > 0 and page.notes.value.count("airbnb-explore-error") == 0
    target = explorer.listings.iloc[11]
    page.listing_id.value = str(target["listing_id"])
    assert page.controls["neighbourhood_cleansed"].value == target["neighbourhood_cleansed"]
    assert page.controls["accommodates"].value == target["accommodates"]
    assert page.quote.listing.month == explorer.default_listing().month, "the month stays the one the page shows"
    page.listing_id.value = "999"
    assert "Cannot start from that listing" in page.notes.value
    page.controls["neighbourhood_cleansed"].value = "Atlantis"
    assert "&lt;UNK&gt;" in page.seen.value


def test_the_notebook_is_thin_and_shows_a_message_for_a_missing_run(tmp_path):
    """Executed as the server runs it (parameters injected): no traceback, the message in the page."""
    copy = page_notebook(ExploreConfig(artifacts_dir=str(tmp_path / "no-run")), tmp_path)
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(copy), str(out), cwd=str(REPO), kernel_name="python3", progress_bar=False)
    nb = nbformat.read(str(out), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "Cannot open the explorer" in state and "no training run at" in state
    code = [c.source for c in nbformat.read(str(REPO / "notebooks" / "explore.ipynb"), as_version=4).cells
            if c.cell_type == "code"]
    assert len(code) == 2 and all(len(source.splitlines()) <= 4 for source in code), "the notebook only wires"


def test_the_listing_is_the_tables_columns_within_the_schemas_bounds(explorer):
    """Issue 24: a listing's fields are the table's listing columns, with the table's kinds of
    number, and the explorer refuses exactly what the schema's domains refuse."""
    fields = {f.name: f.type for f in dataclasses.fields(Listing)}
    assert set(fields) == set(TABLE_SCHEMA.names) - set(ROW_ONLY)
    assert (fields["accommodates"], fields["bedrooms"], fields["instant_bookable"]) == (int, float, bool | None)
    listing = explorer.default_listing()
    for name, domain in DOMAINS.items():
        kind = type(getattr(listing, name))
        check_listing(dataclasses.replace(listing, **{name: kind(domain.high)}))  # the bound itself is allowed
        with pytest.raises(ExploreError, match=rf"^{name}\b.* must be a (whole )?number from "
                                               rf"{domain.low:g} to {domain.high:g}, got {kind(domain.high + 1)!r}$"):
            check_listing(dataclasses.replace(listing, **{name: kind(domain.high + 1)}))


def test_listing_round_trips_through_a_table_row(explorer):
    listing = explorer.default_listing()
    row = listing.to_row()
    assert Listing.from_row(row.iloc[0], listing.month) == listing
    assert row["accommodates"].dtype == np.int32 and row["latitude"].dtype == np.float32
    assert json.loads(row["amenities"].iloc[0]) == list(listing.amenities)


def test_a_table_row_with_unknown_values_is_priced_as_the_table_prices_it(explorer):
    """Inside Airbnb leaves some t/f fields empty: the listing keeps them unknown (None), priced like its row."""
    row = explorer.listings.iloc[[4]].copy()
    row["host_is_superhost"] = pd.array([pd.NA], dtype="boolean")
    listing = Listing.from_row(row.iloc[0])
    assert listing.host_is_superhost is None
    quote = explorer.quote(listing)
    assert quote.price == pytest.approx(explorer.predictor.predict_table(row)["recommended_price"].iloc[0], rel=1e-6)
    assert any("superhost is not known for this listing" in n for n in quote.notes)
    page = ExplorerApp(explorer, listing)
    assert page.controls["host_is_superhost"].value is False and page.quote.listing.host_is_superhost is None
    page.controls["host_is_superhost"].value = True
    assert page.quote.listing.host_is_superhost is True


# --------------------------------------------------------------------------- issue 23: a real city's day

@pytest.fixture(scope="module")
def one_month_run(small_table, tmp_path_factory):
    """A run trained on one month of the small city, as on a city with one Inside Airbnb snapshot."""
    rows, out = trained_on_one_month(small_table, tmp_path_factory, "first", epochs=1, ensemble_size=1)
    return int(rows["month"].iloc[0]), Explorer.load(out)


def test_the_page_opens_on_a_month_the_data_saw(one_month_run):
    seen, explorer = one_month_run
    assert seen != 7, "the fixture's month is not the old hard-coded July"
    assert explorer.seen_month() == seen and explorer.default_listing().month == seen
    page = ExplorerApp(explorer)
    assert page.quote.listing.month == seen and page.controls["month"].value == seen
    assert not [n for n in page.quote.notes if "not in the training table" in n], page.quote.notes
    assert MONTH_NAME[seen] in page.price.value
    lonely = Explorer(explorer.predictor, None)
    assert lonely.default_listing().month == seen, "without a table too"


MONTH_NAME = dict(enumerate(["", "January", "February", "March", "April", "May", "June", "July", "August",
                             "September", "October", "November", "December"]))


def test_a_listing_the_etl_dropped_is_priced_from_its_raw_row(explorer, small_city, small_run, tmp_path):
    assert Explorer.load(small_run).raw_listings == sorted(small_city.listings), "the table's raw files, found"
    raw = pd.read_csv(small_city.listings[-1], dtype=str)
    dropped = raw.iloc[[5]].assign(id="4242", accommodates="5", price="")  # no price: the ETL drops it
    older = dropped.assign(accommodates="1")
    raw_file = tmp_path / "listings.csv"
    pd.concat([older, raw, dropped]).to_csv(raw_file, index=False)
    real = Explorer(explorer.predictor, explorer.listings, origin="inside_airbnb", raw_listings=[raw_file])
    assert 4242 not in set(real.listing_ids())
    listing = real.listing_from_id("4242", month=3)
    assert listing.listing_id == 4242 and listing.accommodates == 5 and listing.month == 3, "its latest row"
    quote = real.quote(listing)
    direct = explorer.predictor.predict(dropped, month=3)
    assert quote.price == pytest.approx(direct["recommended_price"].iloc[0], rel=1e-6), "priced as predict prices it"
    assert any("listing 4242 is not in the run's table" in n and "raw listings file" in n for n in quote.notes)
    assert quote.url == "https://www.airbnb.com/rooms/4242"
    page = ExplorerApp(real)
    page.listing_id.value = "4242"
    assert page.quote is not None and page.quote.listing.listing_id == 4242
    assert page.controls["accommodates"].value == 5 and "airbnb-explore-error" not in page.notes.value
    with pytest.raises(ExploreError, match=r"listing 77 is not in the run's table .* nor in its raw listings files "
                                           r"\(\d+ rows\)"):
        real.listing_from_id(77)
    bad = tmp_path / "bad.csv"
    dropped.assign(accommodates="0").to_csv(bad, index=False)
    broken = Explorer(explorer.predictor, explorer.listings, origin="inside_airbnb", raw_listings=[bad])
    gone = Explorer(explorer.predictor, explorer.listings, origin="inside_airbnb", raw_listings=[tmp_path / "gone.csv"])
    with pytest.raises(ExploreError, match="the run's raw listings file cannot be read .*gone.csv"):
        gone.listing_from_id(4242)
    with pytest.raises(ExploreError, match=r"^listing 4242 of the raw listings file cannot be priced: "
                                           r"accommodates 0.0 \(allowed 1 to 16 \(Airbnb's guest limit\)\)$"):
        broken.listing_from_id(4242)


def test_comparables_say_how_far_away_they_are_in_km(explorer):
    assert km_between((0.0, 0.0), np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx([111.195, 0.0], abs=1e-3)
    assert km_between((60.0, 10.0), np.array([[60.0, 11.0]]))[0] == pytest.approx(55.6, abs=0.1), "cos(60°) of it"
    listing = explorer.default_listing()
    quote = explorer.quote(listing)
    table = explorer.listings.set_index("listing_id").loc[quote.comparables["listing_id"], ["latitude", "longitude"]]
    expected = km_between((listing.latitude, listing.longitude), table.to_numpy(np.float64))
    np.testing.assert_allclose(quote.comparables["km"], expected)
    shown = [float(v) for v in re.findall(r"data-km='([0-9.]+)'", comparables_html(quote))]
    np.testing.assert_allclose(shown, expected, atol=1e-6)
    assert comparables_html(quote).count(" km</td>") == len(quote.comparables)


def test_the_header_names_the_address_the_page_is_served_on(explorer, monkeypatch):
    assert "9123" in header_html("runs/x", "http://127.0.0.1:9123/") and "8866" not in header_html(
        "runs/x", "http://127.0.0.1:9123/")
    monkeypatch.setenv("VOILA_REQUEST_URL", "http://localhost:8901/")
    page = ExplorerApp(explorer)
    assert "href='http://localhost:8901/'" in page.header.value and str(explorer.artifacts_dir) in page.header.value
    monkeypatch.delenv("VOILA_REQUEST_URL")
    assert "this page" not in ExplorerApp(explorer).header.value, "in JupyterLab there is no address to give"
    sources = "".join(c.source for c in nbformat.read(str(REPO / "notebooks" / "explore.ipynb"), as_version=4).cells)
    assert "8866" not in sources, "the notebook's text is shown on any port"


def test_the_header_states_the_runs_error_against_the_best_baseline(tmp_path, monkeypatch):
    """As the run's report does: from the run's metrics.json (beside its artifacts, or in the run
    folder around them), cross-validated when it ran; nothing from another run's metrics."""
    from airbnb.evaluate import MODEL_NAME
    from airbnb.io import write_json

    from test_report import metrics

    monkeypatch.delenv("VOILA_REQUEST_URL", raising=False)
    artifacts = tmp_path / "run" / "artifacts"
    artifacts.mkdir(parents=True)
    assert "MAPE" not in header_html(artifacts), "a run never evaluated states no error"
    split = metrics({MODEL_NAME: 0.1964, "ridge": 0.2057, "lightgbm": 0.3})
    split["data"]["artifacts"] = str(artifacts)
    write_json(tmp_path / "run" / "metrics.json", split)
    page = header_html(artifacts)
    assert "<span class='airbnb-explore-model-mape' data-value='0.1964'>19.6%</span> on average" in page
    assert "<span class='airbnb-explore-best-baseline'>ridge</span>" in page and "data-value='0.2057'>20.6%" in page
    assert "<span class='airbnb-explore-source'>test split</span>" in page
    assert "airbnb-explore-gap" not in page  # a metrics.json from before the split's interval
    split["intervals"] = {"level": 0.9, "mape_weighted": {MODEL_NAME: [0.15, 0.24]},
                          "gap": {"ridge": [-0.031, 0.012], "lightgbm": [-0.2, -0.01]}}
    write_json(tmp_path / "run" / "metrics.json", split)
    assert ("data-value='0.2057'>20.6%</span> (<span class='airbnb-explore-gap'>the gap -0.9 points, 90% interval "
            "-3.1 to +1.2 over its listings</span>).</div>") in header_html(artifacts)

    cv = metrics({MODEL_NAME: 0.1964, "ridge": 0.2057}, {MODEL_NAME: 0.21, "ridge": 0.19, "lightgbm": 0.25})
    cv["data"]["artifacts"] = str(artifacts)
    write_json(artifacts / "metrics.json", cv)  # evaluate's own place comes first
    page = header_html(artifacts)
    assert "data-value='0.21'>21.0%</span> ± 2.0" in page and "data-value='0.19'>19.0%</span> ± 2.0" in page
    assert "5-fold cross-validation" in page

    for path in (artifacts / "metrics.json", tmp_path / "run" / "metrics.json"):
        write_json(path, {**cv, "data": {**cv["data"], "artifacts": str(tmp_path / "another" / "artifacts")}})
    assert "MAPE" not in header_html(artifacts), "another run's figures are not this run's"
