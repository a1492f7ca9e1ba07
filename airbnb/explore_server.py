"""The Voilà server that serves ``notebooks/explore.ipynb`` as the explorer's web page: on localhost
only, at most a few pages (kernels) at once, stopped with its kernels and temporary folder on
Ctrl-C or SIGTERM. The notebook's parameters are injected (papermill's way) into a copy it serves.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from typing import Iterator

from .explore import ExploreConfig
from .explore_kernels import MAX_KERNELS, CappedKernelManager
from .explore_listing import ExploreError
from .log import get_logger

log = get_logger(__name__)

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"
DEFAULT_PORT = 8866  # Voilà's own default
IDLE_KERNEL_S = 120  # a kernel without its page (no connection) for this long is stopped


def page_notebook(config: ExploreConfig, folder: Path) -> Path:
    """A copy of ``notebooks/explore.ipynb`` in ``folder`` with ``config`` injected as its parameters
    (papermill's injected-parameters cell; the artifacts path made absolute)."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    params = {**dataclasses.asdict(config), "artifacts_dir": str(Path(config.artifacts_dir).resolve())}
    notebook = parameterize_notebook(load_notebook_node(str(NOTEBOOK)), params)
    path = Path(folder) / NOTEBOOK.name
    nbformat.write(notebook, str(path))
    return path


def voila_command(notebook: Path, port: int = DEFAULT_PORT) -> list[str]:
    """Voilà serving ``notebook`` on localhost only, without code cells or tracebacks in the page,
    configured by the ``voila.json`` beside it (:func:`voila_config`) and by nothing else: a
    ``voila.py`` in the working directory would be run as code."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1",
            "--show_tracebacks=False", "--strip_sources=True", "--no-browser",
            f"--Voila.config_file_paths={notebook.parent}"]


def voila_config(folder: Path, max_kernels: int = MAX_KERNELS) -> Path:
    """``voila.json`` for the page's server: requests whose Host header is not localhost or a
    loopback address are refused (a web page elsewhere that rebinds its own name to 127.0.0.1
    cannot reach the explorer), at most ``max_kernels`` pages are served at once, and a kernel left
    without its page (a request that never opened the page's connection) is culled after
    IDLE_KERNEL_S."""
    path = Path(folder) / "voila.json"
    path.write_text(json.dumps({
        "Voila": {"tornado_settings": {"allow_remote_access": False, "local_hostnames": ["localhost"]}},
        "VoilaConfiguration": {"multi_kernel_manager_class": f"{CappedKernelManager.__module__}.CappedKernelManager"},
        "CappedKernelManager": {"max_kernels": max_kernels, "cull_idle_timeout": IDLE_KERNEL_S, "cull_interval": 30,
                                "cull_connected": False},
    }))
    return path


def free_port() -> int:
    """A localhost port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(port) -> int:
    """A TCP port number, 1-65535 (the system would take another one for 99999: the page's URL would lie)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ExploreError(f"port must be a number from 1 to 65535, got {port!r}")
    return port


@contextlib.contextmanager
def running_server(config: ExploreConfig, folder: Path, port: int | None = None,
                   start_seconds: float = 60) -> Iterator[str]:
    """Voilà serving the explorer on localhost (:func:`voila_process`, its output in
    ``folder/voila.log``); yields the page's URL once the port is open."""
    port = check_port(port or free_port())
    with voila_process(config, Path(folder), port, start_seconds, Path(folder) / "voila.log"):
        yield f"http://127.0.0.1:{port}/"


@contextlib.contextmanager
def voila_process(config: ExploreConfig, folder: Path, port: int, start_seconds: float = 60,
                  log_path: Path | None = None, max_kernels: int = MAX_KERNELS) -> Iterator[subprocess.Popen]:
    """Voilà in its own process group (it and the kernels it starts), yielded once its port is open;
    the group is stopped on exit (SIGTERM, then SIGKILL). Its output goes to ``log_path`` (None: to
    this process's). A server that exits or does not open the port in ``start_seconds`` is an
    ExploreError (with the log's end)."""
    notebook = page_notebook(config, folder)
    voila_config(folder, max_kernels)
    with open(log_path, "w") if log_path else contextlib.nullcontext() as out:
        proc = subprocess.Popen(voila_command(notebook, port), stdout=out, stderr=subprocess.STDOUT if out else None,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            said = f": {log_path.read_text()[-2000:]}" if log_path else " (its output is above)"
            if proc.poll() is not None:
                raise ExploreError(f"voila exited with {proc.returncode}{said}")
            with socket.socket() as probe:  # a bare connect: an HTTP request would start a kernel
                probe.settimeout(1)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise ExploreError(f"voila did not open port {port} in {start_seconds:.0f} s{said}")
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class _Stop(Exception):
    """SIGTERM or Ctrl-C: the server is asked to stop."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """While in the block, SIGTERM and SIGINT raise _Stop, so the block's cleanup runs (the default
    SIGTERM ends the process at once, leaving Voilà running and its folder behind)."""
    def stop(signum, frame):
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(config: ExploreConfig, port: int = DEFAULT_PORT, open_browser: bool = True,
          max_kernels: int = MAX_KERNELS) -> int:
    """Serve the explorer page until Voilà exits, Ctrl-C or SIGTERM; returns Voilà's exit code (0
    when stopped). The URL is logged once the port is open; on stopping, Voilà and its kernels are
    stopped and the temporary folder is removed."""
    check_port(port)
    if not 1 <= max_kernels <= 64:
        raise ExploreError(f"max_kernels must be from 1 to 64, got {max_kernels}")
    if not Path(config.artifacts_dir).is_dir():
        log.warning("no training run at %s yet: the page will say so (make run trains the default run)",
                    config.artifacts_dir)
    try:
        with _stopped_by_signals(), tempfile.TemporaryDirectory(prefix="airbnb-explore-") as folder, \
                voila_process(config, Path(folder), port, max_kernels=max_kernels) as proc:
            url = f"http://localhost:{port}/"
            log.info("price explorer for %s on %s (Ctrl-C stops it)", config.artifacts_dir, url)
            if open_browser:
                webbrowser.open(url)
            return proc.wait()
    except _Stop as stop:
        log.info("price explorer stopped (%s)", stop)
        return 0
