"""The reproducible environment: one set of pins, in pyproject.toml and environment.yml alike."""
import tomllib

import yaml

from conftest import REPO


def test_environment_yml_repeats_pyproject_pins():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"]).union(*project["optional-dependencies"].values())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip_part if "==" in p} == pins
    assert all("==" in p for p in pins), "every dependency is pinned exactly"
    assert "-e .[dev,spark]" in pip_part, "the pip part installs the package itself, with every extra"
