# The two commands of the README's quick start, and the virtual environment they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 2

.PHONY: demo test test-fast method-check troubleshooting

# (Re)install when pyproject.toml changes; torch and torchvision come from pip's usual sources.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

## demo: synthesise the demo datasets and run the workflow as far as it goes (CPU, minutes)
demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/demo.yaml

## test: the whole test suite, lint and format checks included
test: $(STAMP)
	$(BIN)/python -m pytest

## test-fast: the edit-test loop: everything but the end-to-end workflow and SLURM runs
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not workflow and not slurm"

## troubleshooting: regenerate the README's Troubleshooting table from tests/test_bad_inputs.py
troubleshooting: $(STAMP)
	$(BIN)/python -m tests.test_bad_inputs

## method-check: can MGAT be told from stage 2 without the graph? (CPU, about ten minutes)
method-check: $(STAMP)
	$(BIN)/snakemake all_sweeps --cores $(CORES) --configfile config/method-check.yaml
