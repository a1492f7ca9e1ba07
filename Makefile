# Two commands for a fresh machine:  `make run`  (main job on the built-in data)  and  `make test`.
# Both create the pinned virtual environment in .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PARAMS ?= params/default.yaml

.PHONY: install run test benchmark lab clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-lock.txt
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# the [spark] extra too: the ETL's Spark engine is tested like the rest (Java 17 is on the machine)
	$(PY) -m pip install --quiet -c requirements-lock.txt -e '.[dev,spark]'
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $@

run: install
	$(PY) -m airbnb.run $(PARAMS)

test: install
	$(PY) -m pytest

benchmark: install
	$(PY) benchmarks/run.py

lab: install
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) .pytest_cache
