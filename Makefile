# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WARM := $(VENV)/.kernels
SOURCES := $(shell find src -name '*.py')

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

# Every compiled kernel built into Numba's cache once, on two cores (about a minute), and
# again only when the sources change: no later command waits for a compile. The old cache
# goes first: Numba checks only a kernel's own file, so a cached kernel would keep the old
# code of a changed kernel it calls.
$(WARM): $(STAMP) $(SOURCES)
	find src \( -name '*.nbi' -o -name '*.nbc' \) -delete
	$(BIN)/python -c "from iamd.warmup import compile_everything; compile_everything()"
	touch $(WARM)

demo: $(STAMP) bytecode $(WARM)
	$(BIN)/iamd demo

test: $(STAMP) bytecode $(WARM)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP) bytecode $(WARM)
	$(BIN)/python benchmarks/realtime_factor.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
