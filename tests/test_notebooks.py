"""Notebooks execute headless under papermill with small parameters, and the one-command run."""
from __future__ import annotations

import json

import nbformat
import pandas as pd
import papermill as pm
import pytest
import yaml

from airbnb import run as runner
from airbnb.schema import TABLE_COLUMNS

from conftest import REPO


def outputs(nb_path, kind):
    nb = nbformat.read(str(nb_path), as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})]


def test_process_notebook(tmp_path):
    table = tmp_path / "table.parquet"
    out = tmp_path / "process.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "process.ipynb"), str(out), cwd=str(REPO), kernel_name="python3",
                        progress_bar=False,
                        parameters={"city_dir": str(tmp_path / "city"), "city_listings": 150, "city_seed": 3,
                                    "data_path": str(table)})
    df = pd.read_parquet(table)
    assert list(df.columns) == TABLE_COLUMNS and len(df) > 500
    assert len(outputs(out, "image/png")) >= 1, "the distributions figure is shown"
    html = "".join(o["data"]["text/html"] for o in outputs(out, "text/html"))
    assert "zero_weight" in html and "rows_out" in html, "the rows-dropped table is shown"


def test_one_command_run(tmp_path):
    params = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    params.update(city_dir=str(tmp_path / "city"), data_path=str(tmp_path / "t.parquet"))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    run_dir = runner.run(tmp_path / "p.yaml", tmp_path / "run")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and set(manifest["stages"]) == set(runner.STAGES)
    assert all((run_dir / f"{s}.ipynb").is_file() for s in runner.STAGES)
    assert len(manifest["inputs"]["listings"]) == 12 and manifest["inputs"]["reviews"]["sha256"]
    assert manifest["params"]["city_listings"] == params["city_listings"]


def test_run_rejects_unknown_parameter(tmp_path):
    (tmp_path / "p.yaml").write_text("city_listngs: 10\n")
    with pytest.raises(runner.RunError, match="city_listngs"):
        runner.run(tmp_path / "p.yaml", tmp_path / "run")
