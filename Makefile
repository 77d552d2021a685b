# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv on first use. torch==2.13.0 is installed first (a CPU build on this machine's disk);
# the project then declares only torch>=2.2, which that build satisfies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip lists what it collects and installs as it goes (a first install takes about a minute)
PIP := $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@echo "== installing torch 2.13.0 (a CPU build) into $(VENV)"
	$(PIP) torch==2.13.0
	@echo "== installing reconad and its dependencies (numpy, scikit-learn, scipy, pandas, pyarrow, matplotlib, safetensors, tqdm)"
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	@echo "== installing the [dev] extra: pytest, hypothesis, ruff, the service, Dask and the docs tools"
	$(PIP) -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/reconad demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) reconad-demo
