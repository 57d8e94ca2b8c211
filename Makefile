# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    create .venv if needed, install, start the mock on http://127.0.0.1:4010
#   make test   create .venv if needed, install with test extras, run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test

.PHONY: run test lint typecheck check spec docs bench bench-check soak memory hostile hostile-state hostile-target mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sip-trunks mock $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/sip-trunks check $(ARGS)

spec: $(STAMP)
	$(BIN)/sip-trunks spec

# The docs site (docs/, mkdocs.yml) into build/site/; --strict fails on a broken link or anchor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Timings are printed, never asserted: see benchmarks/README.md (ARGS="--help" lists the options).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(ARGS)

# The default check's wall time against the mock at 0, 10 and 50 ms latency, --concurrency 1 and the default.
bench-check: $(STAMP)
	$(BIN)/python -m benchmarks.check $(ARGS)

soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(ARGS)

memory: $(STAMP)
	$(BIN)/python -m benchmarks.memory $(ARGS)

# Hostile clients at the connection level (huge heads, slowloris, idle floods) and a normal client's latency.
hostile: $(STAMP)
	$(BIN)/python -m benchmarks.hostile $(ARGS)

# Hostile clients at the application level: organizations' memory, admin exports' stalls.
hostile-state: $(STAMP)
	$(BIN)/python -m benchmarks.hostile_state $(ARGS)

# Hostile targets facing the checker: its peak memory and time against endless, huge, dripped and 429 answers.
hostile-target: $(STAMP)
	$(BIN)/python -m benchmarks.hostile_target $(ARGS)

# The default check against every mutant of tests/contracts/mutants.py: when and how each is caught.
mutants: $(STAMP)
	$(BIN)/python -m benchmarks.mutants $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
