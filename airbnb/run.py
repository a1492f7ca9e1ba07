"""One-command reproducible run: execute the notebooks with papermill for a params file, or for
your own city's Inside Airbnb files, and write a one-page report.

    python -m airbnb.run params/default.yaml [--run-dir runs/mine]
    python -m airbnb.run --city 'albany/*/listings.csv.gz' --reviews albany/reviews.csv.gz --name albany

``--city`` builds the city's table (``data/processed/<name>.parquet``), trains to convergence
(early stopping), cross-validates the model against every baseline (5 folds grouped by listing)
and records everything in ``runs/<name>/``.

A params file is a flat YAML mapping of notebook parameters (each notebook receives the ones its
tagged ``parameters`` cell declares) plus ``run_dir``. The run directory then holds the executed
notebooks, the training artifacts (``artifacts/`` unless ``output_dir`` says otherwise),
``metrics.json``, ``report.html`` (:mod:`airbnb.report`) and ``manifest.json``: the params, input
file hashes, package version, git commit and timings. A key no notebook declares is an error, so
a typo never silently runs the defaults. Each stage shows a progress bar over its notebook's
cells, and the run ends with one headline line: the model's error against the best baseline's,
and where the report is.
"""
from __future__ import annotations

import argparse
import io
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

import yaml
from tqdm import tqdm

from . import __version__
from .artifacts import METRICS
from .errors import UserError, command_line, one_line
from .cli import description
from .etl import summary_path
from .io import exclusive, read_json, write_json
from .log import RECORD, get_logger, setup_logging

log = get_logger(__name__)

STAGES = ("process", "train", "evaluate")
RUN_KEYS = {"run_dir"}  # keys of the params file that are not notebook parameters
# A kernel's own log (start-up notes, "KeyboardInterrupt caught in kernel" as it is shut down) is not
# the run's: a failing cell reaches the run through papermill, with its notebook.
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]
# A tqdm bar as a kernel writes it: "train:  12%|█▏   | 24/200 [00:32<02:55,  1.00epoch/s]".
_KERNEL_BAR = re.compile(r"(?P<desc>[^\r\n:|]+):\s+\d+%\|[^|]*\|\s*(?P<done>\d+)/(?P<total>\d+) "
                         r"\[[^,\]]*,\s*[\d.?]+(?:s/)?(?P<unit>[a-z]+)")
MANIFEST = "manifest.json"
# What every manifest of a run holds from its start: how a run directory is told from other folders.
MANIFEST_KEYS = {"params_file", "params", "run_dir", "package_version", "started", "status", "stages"}
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


class RunError(UserError, RuntimeError):
    """A run could not start or a stage failed; the message names the file or stage."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader (data only: no tags that build objects), refusing a key given twice,
    which plain YAML loading lets the last one win silently (``epochs: 5`` ... ``epochs: 50``)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"parameter {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_params(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"params file not found: {path}")
    try:
        params = yaml.load(path.read_bytes().decode("utf-8"), Loader=_UniqueKeyLoader) or {}
    except UnicodeDecodeError:
        raise RunError(f"{path} is not a text file (not UTF-8): a params file is YAML, one 'name: value' "
                       "per line") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise RunError(f"{path} is not valid YAML{line} ({getattr(exc, 'problem', None) or exc}): "
                       "write one 'name: value' per line") from None
    if not isinstance(params, dict):
        raise RunError(f"{path}: expected a mapping of parameter names to values")
    if not isinstance(params.get("run_dir", ""), str):
        raise RunError(f"{path}: run_dir must be a folder path, got {params['run_dir']!r}")
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
    shares = {stage: {k: v for k, v in params.items() if k in names} for stage, names in declared.items()}
    for stage, share in shares.items():
        check_settings(stage, share)
    return shares


def check_settings(stage: str, share: dict) -> None:
    """Build the stage's config from its share of the params, so its types and bounds are checked
    before any notebook starts (``epochs: 0`` fails here, not minutes later inside the train notebook)."""
    from . import evaluate, process, train

    builders = {"process": lambda p: process.ProcessConfig(**p), "train": train.config_from_parameters,
                "evaluate": lambda p: evaluate.EvaluateConfig(**p)}
    try:
        builders[stage](share)
    except ValueError as exc:
        raise RunError(f"{stage} parameters: {exc}") from None


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
    bars = _KernelBars()
    try:
        pm.execute_notebook(str(notebook_path(stage)), str(out), parameters=params, cwd=str(Path.cwd()),
                            kernel_name="python3", progress_bar={"desc": f"{stage:<8}", "unit": "cell"},
                            stdout_file=_KernelLog(), stderr_file=bars, extra_arguments=QUIET_KERNEL)
    except pm.PapermillExecutionError as exc:
        raise RunError(f"stage '{stage}' failed at cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                       f"(executed notebook: {out})") from exc
    finally:
        bars.close()
    return out


class _KernelLog(io.TextIOBase):
    """Where a kernel's stdout goes besides its notebook: its ``airbnb`` log lines (the ETL's steps,
    training's epoch summaries, cross-validation's folds) are shown above the stage's progress
    bar as they come; tables and figures stay in the notebook."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if RECORD.match(line):
                tqdm.write(line)
        return len(text)


class _KernelBars(io.TextIOBase):
    """Where a kernel's stderr goes besides its notebook: its own progress bars (training's epochs,
    cross-validation's folds) mirrored in the run's terminal with their ETA, since a stage's
    long cell would otherwise hold its cell bar still for minutes."""

    def __init__(self):
        super().__init__()
        self.bars: dict[str, tqdm] = {}

    def write(self, text: str) -> int:
        for found in _KERNEL_BAR.finditer(text):
            desc, done, total = found["desc"].strip(), int(found["done"]), int(found["total"])
            bar = self.bars.get(desc)
            if bar is None or done < bar.n:  # a new bar of the same name (the next fold's training)
                if bar is not None:
                    bar.close()
                bar = self.bars[desc] = tqdm(total=total, desc=f"  {desc}", unit=found["unit"], leave=False)
            bar.update(done - bar.n)
        return len(text)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        super().close()


def prepare_run_dir(run_dir: Path, stages: Sequence[str], keep: Sequence[str | Path] = ()) -> dict:
    """Make ``run_dir`` ready for ``stages``; returns the earlier run's records of the stages kept.

    A run from the first stage replaces an earlier run's record: it empties a folder whose
    ``manifest.json`` is one this module wrote (:func:`earlier_run`), unless the working directory
    or a file in ``keep`` (the params file) lies inside it. A run of later stages only
    (``--stages evaluate``) continues that record: the earlier stages' outputs (the artifacts it
    evaluates) and their manifest entries stay. Any other non-empty folder is refused, never
    deleted: ``--run-dir .`` must not wipe a checkout."""
    if run_dir.exists():
        if not run_dir.is_dir():
            raise RunError(f"run directory {run_dir} is a file")
        earlier = earlier_run(run_dir)
        if earlier is None and any(run_dir.iterdir()):
            raise RunError(f"run directory {run_dir} is not empty and holds no earlier run (no manifest.json of "
                           "airbnb.run): refusing to replace it; give a new or empty directory")
        if stages[0] != STAGES[0] and earlier is not None:
            return {s: record for s, record in earlier["stages"].items() if s in STAGES and s not in stages}
        inside = [p for p in [Path.cwd(), *map(Path, keep)] if run_dir.resolve() in p.resolve().parents]
        if inside:
            raise RunError(f"run directory {run_dir} holds {inside[0]} (the working directory or the params "
                           "file): refusing to replace it; give another --run-dir, or run from another folder")
        for entry in run_dir.iterdir():  # emptied, not removed: it may be the working directory
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    return {}


def earlier_run(run_dir: Path) -> dict | None:
    """The manifest of the run in ``run_dir``, or None when there is none: a ``manifest.json`` that
    is not a mapping with every key :func:`run` writes is someone else's file, not a run's record."""
    path = run_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = read_json(path)
    except (ValueError, OSError) as exc:
        raise RunError(f"{path} is not a run's manifest ({one_line(exc)[:120]}): refusing to replace {run_dir}; "
                       "give a new or empty directory") from None
    is_run = isinstance(manifest, dict) and MANIFEST_KEYS <= manifest.keys() and isinstance(manifest["stages"], dict)
    return manifest if is_run else None


def city_params(listings: Sequence[str], reviews: Sequence[str] | None = None, name: str | None = None) -> dict:
    """The params of a run on a city's own files: its table and run folder named ``name`` (default:
    the city the listings' folder names), every notebook default (training stops on its own), and
    cross-validation against every baseline (a small city's single test split is a few dozen listings)."""
    from .etl import EtlConfig, expand_paths
    from .evaluate import CV_FOLDS

    name = name or "+".join(sorted({EtlConfig().city_of(p) for p in expand_paths(list(listings), "listings")}))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name):
        raise RunError(f"--name {name!r}: use letters, digits and - _ . + (it names runs/<name>/ and the table)")
    return {"run_dir": str(Path("runs") / name), "listings": list(listings), "reviews": list(reviews) if reviews else None,
            "data_path": str(Path("data/processed") / f"{name}.parquet"), "cv": CV_FOLDS}


def run(params_path: str | Path | None, run_dir: str | Path | None = None, stages: Sequence[str] = STAGES,
        params: dict | None = None) -> Path:
    """Execute ``stages`` for the params file (or the ``params`` themselves, e.g. :func:`city_params`);
    returns the run directory."""
    params = dict(params) if params is not None else load_params(params_path)
    run_dir = Path(run_dir or params.get("run_dir") or Path("runs") / (Path(params_path).stem if params_path else "run"))
    # the record holds its artifacts and metrics
    given = set(params)
    params.setdefault("output_dir", str(run_dir / "artifacts"))
    params.setdefault("artifacts_dir", params["output_dir"])
    params.setdefault("metrics_path", str(run_dir / METRICS))
    if params.get("tracking"):
        params.setdefault("tracking_uri", str(run_dir / "mlruns"))  # embedded MLflow store beside the record
    per_stage = split_params(params, stages, implied=set(params) - given)
    with exclusive(run_dir):  # a second run into the same folder stops here
        return _run(params_path, params, run_dir, stages, per_stage)


def _run(params_path: str | Path, params: dict, run_dir: Path, stages: Sequence[str], per_stage: dict) -> Path:
    kept = prepare_run_dir(run_dir, stages, keep=[params_path] if params_path else [])
    manifest = {
        "params_file": str(params_path) if params_path else None, "params": params, "run_dir": str(run_dir),
        "package_version": __version__, "git_commit": git_commit(),
        "python": platform.python_version(), "platform": platform.platform(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "status": "running", "stages": kept,
    }
    write_json(run_dir / MANIFEST, manifest)
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
        write_json(run_dir / MANIFEST, manifest)
    if "evaluate" in stages:
        headline(run_dir)
    else:
        log.info("run complete: %s", run_dir)
    return run_dir


def headline(run_dir: Path) -> str:
    """Write the run's report and say in one line how the model did and where the report is."""
    from .evaluate import verdict
    from .report import write_report

    report = write_report(run_dir)
    metrics = read_json(run_dir / METRICS)
    line = (f"run complete: {verdict(metrics).headline()}; report: {report}" if len(metrics["models"]) > 1
            else f"run complete: report {report}")
    log.info("%s", line)
    return line


def _inputs(params: dict) -> dict:
    """Input hashes as the ETL recorded them beside the table (if it was built)."""
    table = params.get("data_path")
    summary = summary_path(table) if table else None
    return read_json(summary)["inputs"] if summary and summary.is_file() else {}


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m airbnb.run", description=description(__doc__))
    parser.add_argument("params", nargs="?", help="params YAML file, e.g. params/default.yaml (or give --city)")
    parser.add_argument("--city", nargs="+", metavar="LISTINGS",
                        help="your city's listings.csv[.gz] files, globs or snapshot folders, instead of a params file")
    parser.add_argument("--reviews", nargs="+", help="with --city: the city's reviews.csv[.gz] (without it, the "
                        "training weight comes from the listings' own review columns)")
    parser.add_argument("--name", help="with --city: names runs/<name>/ and data/processed/<name>.parquet "
                        "(default: the city the listings' folder names)")
    parser.add_argument("--run-dir", help="where the record goes (default: the file's run_dir, else runs/<name>)")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    args = parser.parse_args(argv)
    if (args.params is None) == (args.city is None):
        parser.error("give either a params file or --city LISTINGS")
    if args.city is None and (args.reviews or args.name):
        parser.error("--reviews and --name go with --city")
    setup_logging()
    if args.city:
        return command_line(lambda: run(None, args.run_dir, args.stages,
                                        params=city_params(args.city, args.reviews, args.name)))
    return command_line(lambda: run(args.params, args.run_dir, args.stages))


if __name__ == "__main__":
    main()
