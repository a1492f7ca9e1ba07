"""Notebook conveniences: the same start-up for every notebook, interactive or under papermill."""
from __future__ import annotations

import os
from pathlib import Path

from .log import setup_logging


def project_root(start: Path | None = None) -> Path | None:
    """The repository root (holds ``pyproject.toml`` and ``airbnb/``) at or above ``start``."""
    start = (start or Path.cwd()).resolve()
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").is_file() and (folder / "airbnb").is_dir():
            return folder
    return None


def setup(chdir: bool = True) -> Path:
    """Log to the notebook, stay offline for model weights, and run from the project root.

    JupyterLab starts kernels in ``notebooks/``, papermill in the caller's directory. Relative
    paths in parameters mean the project root, so a kernel started in ``notebooks/`` moves up.
    Returns the working directory.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    setup_logging()
    here = Path.cwd().resolve()
    root = project_root(here)
    if chdir and root is not None and here == root / "notebooks":
        os.chdir(root)
    return Path.cwd()
