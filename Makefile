# Two commands for a fresh machine:  `make run`  (main job on the built-in data)  and  `make test`;
# `make city LISTINGS=... [REVIEWS=...] [NAME=...]` runs the same on your own city's files.
# Both create the pinned virtual environment in .venv on first use. `make explore` serves the price
# explorer (notebooks/explore.ipynb with Voila) for the default run on http://localhost:8866.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PARAMS ?= params/default.yaml
ARTIFACTS ?= runs/default/artifacts
PORT   ?= 8866
LAB_ARGS ?=  # more JupyterLab options, e.g. LAB_ARGS=--port=8890

.PHONY: install run city test benchmark lab explore browser screenshot clean

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

# Your own city: make city LISTINGS='albany/*/listings.csv.gz' REVIEWS=albany/reviews.csv.gz NAME=albany
city: install
	@test -n "$(LISTINGS)" || { echo "give LISTINGS=path/to/listings.csv.gz (and REVIEWS=..., NAME=...)"; exit 2; }
	$(PY) -m airbnb.run --city $(LISTINGS) $(if $(REVIEWS),--reviews $(REVIEWS)) $(if $(NAME),--name $(NAME))

test: install browser
	$(PY) -m pytest

explore: install
	$(PY) -m airbnb.explore_app --artifacts $(ARTIFACTS) --port $(PORT)

# The browser test drives Debian's Chromium (Playwright's Python API, no browser download): installed
# here when missing and we are root with apt-get; otherwise that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "installing chromium failed: tests/test_browser.py will skip"; \
	  else echo "chromium not found and cannot be installed here: tests/test_browser.py will skip"; fi; }

# Rewrites docs/explorer.png (the README's screenshot) from the browser test.
screenshot: install browser
	AIRBNB_SCREENSHOT=docs/explorer.png $(PY) -m pytest tests/test_browser.py

benchmark: install
	$(PY) benchmarks/run.py

# Opens at the repository root (runs/ and notebooks/ side by side); --allow-root for containers run as root.
lab: install
	$(VENV)/bin/jupyter lab --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) --ServerApp.root_dir=. $(LAB_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
