"""The README's module map: every module of the package in data-flow order, with its line count.

    python scripts/module_map.py           # print the map
    python scripts/module_map.py --write   # update README.md between the module-map markers

``tests/test_architecture.py`` checks the README's map is current and that no module imports one
that comes later in :data:`LAYERS` (within a package of :data:`SUBMODULES`, in its order).
"""
from __future__ import annotations

import argparse
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "airbnb"
README = REPO / "README.md"
BEGIN, END = "<!-- module-map: begin (python scripts/module_map.py --write) -->", "<!-- module-map: end -->"

# The data flow, upstream first: a module may import only from its own layer or those above it.
LAYERS: list[tuple[str, set[str]]] = [
    ("shared contracts and utilities", {"errors", "settings", "config", "log", "io", "schema", "axes", "cli", "metrics", "schedule",
                                        "notebook"}),
    ("raw files -> modeling table", {"etl"}),
    ("the built-in synthetic city (raw files, and its table through the ETL)", {"synthetic"}),
    ("the process stage: a city's files, or the built-in city's, -> the table", {"process"}),
    ("table -> model inputs", {"embedding_cache", "embeddings", "features", "dataset"}),
    ("the model and its breakdown", {"model", "breakdown", "conformal"}),
    ("a run's files", {"artifacts", "tracking"}),
    ("the standard learners (peers, a teacher for training, the axis trees the model blends in)", {"baseline_design", "baselines", "axis_trees"}),
    ("training", {"training", "train"}),
    ("pricing, evaluation, search", {"listing_checks", "predict", "evaluate_verdict", "evaluate_config", "evaluate_tables",
                                      "evaluate_cv", "evaluate_run", "evaluate_forward", "evaluate", "champion", "tune"}),
    ("reports and orchestration", {"plots", "explore_listing", "explore_table", "explore_quote", "explore",
                                   "explore_kernels", "explore_html", "explore_server", "explore_app", "report", "run"}),
]
# Within a layer, the order modules may import each other in.
ORDER = ["errors", "settings", "config", "log", "io", "schema", "axes", "cli", "metrics", "schedule", "notebook", "etl", "synthetic", "process",
         "embedding_cache", "embeddings", "features", "dataset", "model", "breakdown", "conformal", "artifacts", "tracking",
         "baseline_design", "baselines", "axis_trees", "training", "train", "listing_checks", "predict", "evaluate_verdict",
         "evaluate_config", "evaluate_tables", "evaluate_cv", "evaluate_run", "evaluate_forward", "evaluate", "champion",
         "tune", "plots", "explore_listing", "explore_table", "explore_quote", "explore", "explore_kernels", "explore_html",
         "explore_server", "explore_app", "report", "run"]
RANK = {name: i for i, name in enumerate(ORDER)}
# A package split by job: the order its modules may import each other in (its ``__init__``, the
# package's public face, re-exports from them; its ``__main__`` runs the last).
SUBMODULES = {"etl": ["config", "reading", "parsing", "steps", "weights", "writing", "spark_workers", "spark_steps",
                      "spark", "pipeline", "cli"]}


def import_contracts() -> str:
    """Import Linter's configuration (INI) of this data flow: one layers contract over :data:`ORDER`
    (each module a layer, downstream first) and one per package in :data:`SUBMODULES`, so the
    library, not a hand-written parser, checks every import, also inside functions and through chains."""
    def layers(names) -> str:
        return "".join(f"\n    {name}" for name in reversed(names))

    parts = ["[importlinter]\nroot_package = airbnb\n",
             f"[importlinter:contract:data-flow]\nname = data flows one way (scripts/module_map.py ORDER)\n"
             f"type = layers\nlayers ={layers([f'airbnb.{name}' for name in ORDER])}\n"]
    parts += [f"[importlinter:contract:{package}]\nname = {package} in data-flow order (SUBMODULES)\ntype = layers\n"
              f"containers = airbnb.{package}\nlayers ={layers(order)}\n" for package, order in SUBMODULES.items()]
    return "\n".join(parts)


def top_module(path: Path) -> str:
    """'training' for airbnb/training/loop.py, 'etl' for airbnb/etl.py."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def file_order(path: Path) -> tuple:
    """A package's files in the map: its ``__init__``, then its :data:`SUBMODULES` in data-flow
    order, then the others by name."""
    order = SUBMODULES.get(top_module(path), [])
    return path.name != "__init__.py", order.index(path.stem) if path.stem in order else len(order), path.name


def summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("|", "\\|")


def module_map() -> str:
    rows = ["| layer | module | lines | what it does |", "|---|---|---|---|"]
    for layer, names in LAYERS:
        for name in sorted(names, key=RANK.__getitem__):
            files = [p for p in package_files() if top_module(p) == name]
            for path in sorted(files, key=file_order):
                lines = len(path.read_text().splitlines())
                rows.append(f"| {layer} | `{path.relative_to(REPO)}` | {lines} | {summary(path)} |")
                layer = ""
    total = sum(len(p.read_text().splitlines()) for p in package_files())
    rows.append(f"| | **total** | **{total}** | |")
    return "\n".join(rows)


def readme_with_map(text: str) -> str:
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        raise SystemExit(f"{README}: the module-map markers are missing")
    return f"{head}{BEGIN}\n{module_map()}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    if parser.parse_args().write:
        README.write_text(readme_with_map(README.read_text()))
    else:
        print(module_map())


if __name__ == "__main__":
    main()
