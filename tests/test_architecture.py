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
