# pybpf: `make demo` runs the main job on an embedded default; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest testdata bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pybpf demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools fuzz scripts
	$(BIN)/ruff format --check src tests benchmarks examples tools fuzz scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

# Rebuild the committed test objects from their C sources (installs clang-19 when missing).
testdata:
	command -v clang-19 >/dev/null || { apt-get update -qq && apt-get install -y -qq clang-19 llvm-19 libbpf-dev bpftool; }
	$(MAKE) -C tests/testdata
	$(MAKE) -C tests/testdata/btf

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
