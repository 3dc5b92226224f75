# The two set-up commands (README): `make demo` and `make test`. Each builds the virtual
# environment first if it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
# The torch release this project is tested with. pyproject.toml's `torch` extra asks only for
# torch>=2.1, so installing tokprep elsewhere never pins it; `make test TORCH=torch` takes the newest release.
TORCH ?= torch==2.13.0
# The tiktoken the tests compare with (the oracle): pyproject.toml asks only for tiktoken>=0.8.
# A test that meets another release names both versions in its failure message.
TIKTOKEN ?= tiktoken==0.14.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.tokprep-installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tokprep needs Python >= 3.11, found " + sys.version.split()[0] + "; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)" "$(TIKTOKEN)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,bench]"
	@touch $@

demo: $(STAMP)
	$(BIN)/tokprep demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/tokprep
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/tokprep bench

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .benchmarks .hypothesis .mypy_cache
