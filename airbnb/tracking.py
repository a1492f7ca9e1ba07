"""Experiment tracking: a training run's params, per-epoch metrics, tags and artifacts in MLflow.

Off by default (the executed notebooks and artifacts are the run record). With ``tracking=True``
the store is, in order: ``tracking_uri`` (a URI such as ``http://host:5000`` or
``sqlite:///path.db``, or a plain folder), ``$MLFLOW_TRACKING_URI``, else an embedded local store
in ``<output_dir>/mlruns`` (SQLite metadata + artifact files; no server). MLflow's plain-folder
backend is in maintenance mode, so a folder means SQLite inside it.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from . import __version__, artifacts
from .log import get_logger

log = get_logger(__name__)

STORE_DIR = "mlruns"


def resolve_uri(tracking_uri: str, output_dir: Path) -> tuple[str, str | None]:
    """(tracking URI, artifact location for new experiments or None to let the server decide)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri and "://" in uri:
        return uri, None
    folder = Path(uri or output_dir / STORE_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()


class NullTracker:
    """Tracking off: every call does nothing."""

    run_id = None

    def log_epoch(self, epoch: int, metrics: dict) -> None:
        pass

    def finish(self, output_dir: Path, state) -> None:
        pass


class MlflowTracker(NullTracker):
    """Logs through an ``MlflowClient`` bound to one run (no global MLflow state is touched)."""

    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id

    def log_epoch(self, epoch: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        values = [Metric(key, float(value), now, epoch) for key, value in metrics.items()
                  if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value)]
        self.client.log_batch(self.run_id, metrics=values)

    def finish(self, output_dir: Path, state) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric("best_val_loss", float(state.best_val_loss), now, 0),
                                                    Metric("best_epoch", float(state.best_epoch), now, 0)])
        for name in artifacts.TRACKED:
            if (output_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(output_dir / name))
        if (output_dir / artifacts.MEMBERS).is_dir():  # an ensemble's weights
            self.client.log_artifacts(self.run_id, str(output_dir / artifacts.MEMBERS), artifacts.MEMBERS)


@contextlib.contextmanager
def start_tracking(config, output_dir: Path, tags: dict | None = None) -> Iterator[NullTracker]:
    """A tracker for one training run; the run is marked FAILED if the block raises."""
    if not config.tracking:
        yield NullTracker()
        return
    from mlflow.tracking import MlflowClient

    uri, artifact_location = resolve_uri(config.tracking_uri, Path(output_dir))
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(config.experiment_name)
    experiment_id = (experiment.experiment_id if experiment else
                     client.create_experiment(config.experiment_name, artifact_location=artifact_location))
    run = client.create_run(experiment_id, run_name=Path(output_dir).resolve().name, tags={
        "airbnb.package_version": __version__, "airbnb.target": config.target,
        "airbnb.amenities_encoding": config.amenities_encoding, "airbnb.output_dir": str(output_dir),
        **(tags or {})})
    run_id = run.info.run_id
    from mlflow.entities import Param

    client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in asdict(config).items()])
    log.info("tracking to %s (experiment %r, run %s)", uri, config.experiment_name, run_id)
    try:
        yield MlflowTracker(client, run_id)
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
