"""One-command reproducible run: execute the notebooks with papermill for a params file.

    python -m airbnb.run params/default.yaml [--run-dir runs/mine]

A params file is a flat YAML mapping of notebook parameters (each notebook receives the ones its
tagged ``parameters`` cell declares) plus ``run_dir``. The run directory then holds the executed
notebooks, the training artifacts (``artifacts/`` unless ``output_dir`` says otherwise),
``metrics.json`` and ``manifest.json``: the params, input file hashes, package version, git commit and timings. A key no notebook declares is an error, so a typo never silently runs the defaults.
"""
from __future__ import annotations

import argparse
import ast
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

import yaml

from . import __version__
from .artifacts import METRICS
from .errors import UserError, command_line, one_line
from .etl import summary_path
from .io import read_json, write_json
from .log import get_logger, setup_logging

log = get_logger(__name__)

STAGES = ("process", "train", "evaluate")
RUN_KEYS = {"run_dir"}  # keys of the params file that are not notebook parameters
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


class RunError(UserError, RuntimeError):
    """A run could not start or a stage failed; the message names the file or stage."""


def load_params(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"params file not found: {path}")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise RunError(f"{path} is not valid YAML{line} ({getattr(exc, 'problem', None) or exc}): "
                       "write one 'name: value' per line") from None
    if not isinstance(params, dict):
        raise RunError(f"{path}: expected a mapping of parameter names to values")
    return params


def notebook_path(stage: str) -> Path:
    path = NOTEBOOKS_DIR / f"{stage}.ipynb"
    if not path.is_file():
        raise RunError(f"notebook for stage '{stage}' not found at {path} (run from a source checkout)")
    return path


def split_params(params: dict, stages: Sequence[str], implied: Sequence[str] = ()) -> dict[str, dict]:
    """Each of ``stages``' share of the params; a key no stage's notebook declares is an error naming
    it (except the ``implied`` ones the run itself added). Keys of the stages not run are allowed:
    one params file serves a whole run and ``--stages evaluate`` alike."""
    import papermill as pm

    every = {stage: pm.inspect_notebook(str(notebook_path(stage))) for stage in STAGES}
    unknown = set(params) - RUN_KEYS - set(implied) - set().union(*every.values())
    if unknown:
        raise RunError(f"unknown parameter(s) {sorted(unknown)}: no notebook of {list(STAGES)} declares them")
    declared = {stage: every[stage] for stage in stages}
    for stage, parameters in declared.items():
        for name, value in params.items():
            if name in parameters:
                check_type(name, value, parameters[name]["default"], stage)
    shares = {stage: {k: v for k, v in params.items() if k in names} for stage, names in declared.items()}
    for stage, share in shares.items():
        check_settings(stage, share)
    return shares


def check_settings(stage: str, share: dict) -> None:
    """Build the stage's config from its share of the params, so its bounds are checked before any
    notebook starts (``epochs: 0`` fails here, not minutes later inside the train notebook)."""
    from . import etl, evaluate, train
    from .synthetic import CityConfig

    def process(p: dict) -> None:
        etl.EtlConfig(**{k: p[k] for k in ("review_rate", "avg_length_of_stay") if k in p})
        CityConfig(**{field: p[k] for k, field in (("city_listings", "n_listings"), ("city_seed", "seed")) if k in p})

    builders = {"process": process, "train": train.config_from_parameters,
                "evaluate": lambda p: evaluate.EvaluateConfig(**p)}
    try:
        builders[stage](share)
    except ValueError as exc:
        raise RunError(f"{stage} parameters: {exc}") from None


def check_type(name: str, value, default_source: str, stage: str) -> None:
    """A params value must have the type of the notebook's default (an int passes for a float; a
    ``None`` default takes anything): ``epochs: "ten"`` fails here, not minutes later in a kernel."""
    try:
        default = ast.literal_eval(default_source)
    except (ValueError, SyntaxError):
        return  # an expression: nothing to compare against
    if default is None:
        return
    expected = type(default)
    ok = (isinstance(value, bool) if expected is bool else
          isinstance(value, (int, float)) and not isinstance(value, bool) if expected is float else
          isinstance(value, expected) and not (expected is int and isinstance(value, bool)))
    if not ok:
        raise RunError(f"parameter '{name}' must be {expected.__name__} like the {stage} notebook's default "
                       f"{default!r}, got {value!r}")


def git_commit() -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=NOTEBOOKS_DIR.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=NOTEBOOKS_DIR.parent,
                           capture_output=True, text=True).stdout.strip()
    return proc.stdout.strip() + ("+dirty" if dirty else "")


def execute(stage: str, params: dict, run_dir: Path) -> Path:
    import papermill as pm

    out = run_dir / f"{stage}.ipynb"
    log.info("stage %s: executing %s -> %s", stage, notebook_path(stage), out)
    try:
        pm.execute_notebook(str(notebook_path(stage)), str(out), parameters=params, cwd=str(Path.cwd()),
                            kernel_name="python3", progress_bar=False)
    except pm.PapermillExecutionError as exc:
        raise RunError(f"stage '{stage}' failed at cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                       f"(executed notebook: {out})") from exc
    return out


def prepare_run_dir(run_dir: Path, stages: Sequence[str]) -> dict:
    """Make ``run_dir`` ready for ``stages``; returns the earlier run's records of the stages kept.

    A run from the first stage replaces an earlier run's record (a folder with a ``manifest.json``).
    A run of later stages only (``--stages evaluate``) continues that record: the earlier stages'
    outputs (the artifacts it evaluates) and their manifest entries stay. Any other non-empty
    folder is refused, never deleted: ``--run-dir .`` must not wipe a checkout."""
    manifest = run_dir / "manifest.json"
    if run_dir.exists():
        if not run_dir.is_dir():
            raise RunError(f"run directory {run_dir} is a file")
        if any(run_dir.iterdir()) and not manifest.is_file():
            raise RunError(f"run directory {run_dir} is not empty and holds no earlier run (no manifest.json): "
                           "refusing to replace it; give a new or empty directory")
        if stages[0] != STAGES[0] and manifest.is_file():
            earlier = read_json(manifest).get("stages", {})
            return {s: record for s, record in earlier.items() if s in STAGES and s not in stages}
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return {}


def run(params_path: str | Path, run_dir: str | Path | None = None, stages: Sequence[str] = STAGES) -> Path:
    """Execute ``stages`` for the params file; returns the run directory."""
    params = load_params(params_path)
    run_dir = Path(run_dir or params.get("run_dir") or Path("runs") / Path(params_path).stem)
    # the record holds its artifacts and metrics
    given = set(params)
    params.setdefault("output_dir", str(run_dir / "artifacts"))
    params.setdefault("artifacts_dir", params["output_dir"])
    params.setdefault("metrics_path", str(run_dir / METRICS))
    if params.get("tracking"):
        params.setdefault("tracking_uri", str(run_dir / "mlruns"))  # embedded MLflow store beside the record
    per_stage = split_params(params, stages, implied=set(params) - given)
    kept = prepare_run_dir(run_dir, stages)
    manifest = {
        "params_file": str(params_path), "params": params, "run_dir": str(run_dir),
        "package_version": __version__, "git_commit": git_commit(),
        "python": platform.python_version(), "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "status": "running", "stages": kept,
    }
    write_json(run_dir / "manifest.json", manifest)
    try:
        for stage in stages:
            started = time.perf_counter()
            record = manifest["stages"][stage] = {"notebook": f"{stage}.ipynb", "status": "running"}
            try:
                execute(stage, per_stage[stage], run_dir)
                record["status"] = "ok"
            except BaseException as exc:
                record.update(status="failed", error=one_line(exc))
                manifest.update(failed_stage=stage, error=one_line(exc))
                raise
            finally:
                record["seconds"] = round(time.perf_counter() - started, 2)
        manifest["status"] = "ok"
    except BaseException:
        manifest["status"] = "failed"
        raise
    finally:
        manifest["inputs"] = _inputs(params)
        write_json(run_dir / "manifest.json", manifest)
    log.info("run complete: %s", run_dir)
    return run_dir


def _inputs(params: dict) -> dict:
    """Input hashes as the ETL recorded them beside the table (if it was built)."""
    table = params.get("data_path")
    summary = summary_path(table) if table else None
    return read_json(summary)["inputs"] if summary and summary.is_file() else {}


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m airbnb.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("params", help="params YAML file, e.g. params/default.yaml")
    parser.add_argument("--run-dir", help="where the record goes (default: the file's run_dir, else runs/<name>)")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    args = parser.parse_args(argv)
    setup_logging()
    return command_line(lambda: run(args.params, args.run_dir, args.stages))


if __name__ == "__main__":
    main()
