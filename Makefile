# The two commands of the README's quick start, and the virtual environment they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 2
# What `make lint` and `make format` cover beyond ruff's whole-repository run.
SNAKEFILES := Snakefile $(wildcard workflow/rules/*.smk)
LINT_CONFIGS := config/config.yaml config/demo.yaml config/method-check.yaml

.PHONY: demo test test-fast method-check troubleshooting config-doc lint format help

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

## lint: ruff check, ruff format --check, mypy, snakefmt --check, snakemake --lint per config
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/snakefmt --check $(SNAKEFILES)
	set -e; for config in $(LINT_CONFIGS); do \
		$(BIN)/snakemake --lint --configfile $$config; \
	done

## format: rewrite the sources the way `make lint` wants them (ruff's fixes and format, snakefmt)
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt $(SNAKEFILES)

## help: list these targets
help:
	@awk '/^## [a-z-]+: / { name = $$2; sub(/:$$/, "", name); text = $$0; \
		sub(/^## [a-z-]+: /, "", text); printf "  %-16s %s\n", name, text }' $(MAKEFILE_LIST)

## troubleshooting: regenerate the README's Troubleshooting table from tests/test_bad_inputs.py
troubleshooting: $(STAMP)
	$(BIN)/python -m tests.test_bad_inputs

## config-doc: regenerate config/README.md, the configuration reference, from the config schema
config-doc: $(STAMP)
	$(BIN)/python -m mgat.configdoc workflow/schemas/config.schema.yaml config/README.md

## method-check: can MGAT be told from stage 2 without the graph? (CPU, about ten minutes)
method-check: $(STAMP)
	$(BIN)/snakemake all_sweeps --cores $(CORES) --configfile config/method-check.yaml
