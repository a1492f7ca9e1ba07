"""The package's shape: data flows one way, and each axis's inputs are named in one place."""
from __future__ import annotations

import ast
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import module_map  # noqa: E402  (the README's module map: its data-flow order is the one checked here)

sys.path.pop(0)
PACKAGE = module_map.PACKAGE
RANK = module_map.RANK
top_module = module_map.top_module


def package_files() -> list[Path]:
    """Every module but the package's own ``__init__`` (it only sets the version)."""
    return [p for p in module_map.package_files() if p != PACKAGE / "__init__.py"]


def test_every_module_has_a_place_in_the_data_flow():
    modules = {top_module(p) for p in package_files()}
    assert modules <= set(RANK), f"place {sorted(modules - set(RANK))} in scripts/module_map.py"
    assert {m for _, names in module_map.LAYERS for m in names} == set(RANK)


def lint_imports(root: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Import Linter over the ``airbnb`` package found in ``root``, with the contracts the module
    map defines (:func:`module_map.import_contracts`)."""
    config = cwd / "importlinter.ini"
    config.write_text(module_map.import_contracts())
    code = f"from importlinter.cli import lint_imports; raise SystemExit(lint_imports({str(config)!r}, no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(root)}, cwd=cwd,
                          capture_output=True, text=True)


def test_data_flows_one_way(tmp_path):
    """No module imports one further down the data flow (module_map.ORDER), and within a package
    split by job (the ETL) none imports one after it (SUBMODULES): Import Linter's layers contracts."""
    for package, order in module_map.SUBMODULES.items():
        files = {p.stem for p in (PACKAGE / package).glob("*.py")}
        assert files - {"__init__", "__main__"} == set(order), f"place every module of {package} in SUBMODULES"
    run = lint_imports(PACKAGE.parent, tmp_path)
    assert run.returncode == 0 and "0 broken" in run.stdout, run.stdout[-3000:]


def test_the_contracts_catch_a_lazy_upward_import(tmp_path):
    """The check itself: an import inside a function, relative, further down the flow (training ->
    evaluate) and against the ETL's order (config -> pipeline) breaks both contracts."""
    copy = tmp_path / "copy" / "airbnb"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "training" / "_probe.py").write_text("def f():\n    from ..evaluate import main\n")
    (copy / "etl" / "config.py").write_text((copy / "etl" / "config.py").read_text()
                                            + "\n\ndef _probe():\n    from .pipeline import run_etl\n")
    run = lint_imports(copy.parent, tmp_path)
    assert run.returncode == 1 and "2 broken" in run.stdout, run.stdout[-3000:]
    assert "airbnb.training._probe -> airbnb.evaluate" in run.stdout
    assert "airbnb.etl.config -> airbnb.etl.pipeline" in run.stdout


def test_no_module_over_450_lines():
    """A module does one job: one past 450 lines is doing several (issue 24); split it by job."""
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 450}
    assert not long, f"split {long} by job"


def map_rows(text: str) -> dict[str, int]:
    """module path -> line count, from a module map's table rows."""
    rows = [line.split("|") for line in text.splitlines() if line.startswith("|") and "`airbnb/" in line]
    return {cells[2].strip().strip("`"): int(cells[3]) for cells in rows}


def test_readme_module_map_is_current():
    """The map in the README ("How it fits together") lists every module, with its line count
    (to within 10% or 20 lines, so a small edit need not touch the README)."""
    readme = map_rows(module_map.README.read_text())
    actual = map_rows(module_map.module_map())
    assert set(readme) == set(actual), "run: python scripts/module_map.py --write"
    stale = {m: (readme[m], n) for m, n in actual.items() if abs(readme[m] - n) > max(20, 0.1 * n)}
    assert not stale, f"line counts moved {stale}: run python scripts/module_map.py --write"


def test_axis_inputs_are_named_only_in_the_axes_module():
    """The names the axes give their inputs appear as literals nowhere else in the package."""
    from airbnb.axes import MODEL_INPUTS
    from airbnb.schema import TABLE_COLUMNS
    from airbnb.train import TrainConfig

    # inputs named like a table column or a training option are those, not the declaration
    own = {i.name for i in MODEL_INPUTS} - set(TABLE_COLUMNS) - {f.name for f in dataclasses.fields(TrainConfig)}
    assert own, "the axes declare derived inputs"
    for path in package_files():
        if path.name == "axes.py":
            continue
        literals = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)}
        assert not own & literals, f"{path.relative_to(PACKAGE)} spells {sorted(own & literals)}: use airbnb.axes"


def test_a_new_numeric_input_is_a_one_file_change(tmp_path, small_table):
    """Give the quality axis one more table column by editing ``axes.py`` alone: the features scale
    it, the model widens that axis's network and the baselines' design gains the column."""
    import pandas as pd

    from airbnb.features import FeatureProcessor
    from airbnb.model import AdditiveAxisModel
    from airbnb.training.config import TrainConfig

    package = tmp_path / "copy" / "airbnb"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    axes = package / "axes.py"
    anchor = '        _scaled("review_scores", REVIEW_SCORE_COLUMNS),\n'
    assert anchor in axes.read_text()
    axes.write_text(axes.read_text().replace(
        anchor, anchor + '        _scaled("recent_reviews", ["reviews_in_last_90_days"], "log_scaled"),\n'))
    probe = f"""
import pandas as pd
from airbnb import features
from airbnb.baseline_design import BaselineDesign
from airbnb.model import AdditiveAxisModel
from airbnb.training.config import TrainConfig
rows = pd.read_parquet({str(small_table)!r})
processor = features.FeatureProcessor().fit(rows)
values = processor.transform(rows)["recent_reviews"]
assert values.shape == (len(rows),) and abs(values.mean()) < 1e-4 and values.std() > 0.5, values
model = AdditiveAxisModel(TrainConfig().model_config(processor, amenity_dim=384))
print(model.axes["quality_reputation"][0].in_features)
assert "reviews_in_last_90_days" in BaselineDesign().fit(rows).transform(rows).columns
"""
    edited, original = (subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(root)},
                                       capture_output=True, text=True, cwd=tmp_path)
                        for root in (tmp_path / "copy", PACKAGE.parent))  # the edited copy, the package as it is
    assert edited.returncode == 0, edited.stderr[-2000:]
    assert original.returncode != 0 and "recent_reviews" in original.stderr  # the input exists only in the copy
    quality = AdditiveAxisModel(TrainConfig().model_config(FeatureProcessor().fit(pd.read_parquet(small_table)), 384))
    assert int(edited.stdout.split()[-1]) == quality.axes["quality_reputation"][0].in_features + 1
