"""The package's shape: data flows one way, and each axis's inputs are named in one place."""
from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import module_map  # noqa: E402  (the README's module map: its data-flow order is the one checked here)

sys.path.pop(0)
PACKAGE = module_map.PACKAGE
RANK = module_map.RANK
top_module = module_map.top_module


def imported_names(path: Path) -> set[tuple[str, ...]]:
    """What ``path`` imports from airbnb anywhere (also inside functions), as dotted parts:
    ``from .config import X`` in airbnb/etl -> ``("airbnb", "etl", "config", "X")``."""
    tree = ast.parse(path.read_text())
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                parts = (*base, *(node.module.split(".") if node.module else []))
            else:
                parts = tuple((node.module or "").split("."))
            if parts[0] == "airbnb":
                found.update((*parts, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(tuple(a.name.split(".")) for a in node.names if a.name.startswith("airbnb."))
    return found


def imported_modules(path: Path) -> set[str]:
    """airbnb modules ``path`` imports anywhere (also inside functions), as top-level names."""
    return {parts[1] for parts in imported_names(path)} - {"__version__"}


def package_files() -> list[Path]:
    """Every module but the package's own ``__init__`` (it only sets the version)."""
    return [p for p in module_map.package_files() if p != PACKAGE / "__init__.py"]


def test_every_module_has_a_place_in_the_data_flow():
    modules = {top_module(p) for p in package_files()}
    assert modules <= set(RANK), f"place {sorted(modules - set(RANK))} in scripts/module_map.py"
    assert {m for _, names in module_map.LAYERS for m in names} == set(RANK)


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_one_further_down_the_data_flow(path):
    own = top_module(path)
    upward = sorted(m for m in imported_modules(path) if m != own and RANK[m] > RANK[own])
    assert not upward, f"{path.relative_to(PACKAGE)} imports {upward}, which come later in the data flow"


@pytest.mark.parametrize("package", sorted(module_map.SUBMODULES))
def test_a_split_package_imports_its_own_modules_in_data_flow_order(package):
    """Within a package split by job (the ETL), data flows one way too: no module imports one
    after it in ``module_map.SUBMODULES``, not even lazily (no cycles)."""
    order = module_map.SUBMODULES[package]
    files = {p.stem: p for p in (PACKAGE / package).glob("*.py")}
    assert set(files) - {"__init__", "__main__"} == set(order), f"place every module of {package} in SUBMODULES"
    for i, name in enumerate(order):
        own = {parts[2] for parts in imported_names(files[name]) if parts[1:2] == (package,) and len(parts) > 2}
        later = sorted(own - set(order[:i]))
        assert not later, f"{package}/{name}.py imports {later}: later in the data flow, or the package's face"


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


def test_the_layer_check_sees_relative_and_lazy_imports(tmp_path):
    """The checker itself: a relative import inside a function is found."""
    probe = PACKAGE / "training" / "_probe_for_test.py"
    probe.write_text("def f():\n    from ..evaluate import x\n    from . import loop\n")
    try:
        assert imported_modules(probe) == {"evaluate", "training"}
    finally:
        probe.unlink()


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
    import os
    import shutil
    import subprocess

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
