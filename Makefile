# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Byte-compiled sources, as a wheel's install writes them: an editable install leaves that
# to the first import, which cannot write them where PYTHONDONTWRITEBYTECODE is set, so
# every command (and each Monte Carlo worker) would compile iamd's modules again (0.1 s).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q src

demo: $(STAMP) bytecode
	$(BIN)/iamd demo

test: $(STAMP) bytecode
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP) bytecode
	$(BIN)/python benchmarks/realtime_factor.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
