# One entry point for people and CI. `make demo` is the main job, `make test` the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The one torch pin is in pyproject.toml; pip must take it first, on its own (see setup).
TORCH := $(shell sed -n 's/^ *"\(torch==[^"]*\)".*/\1/p' pyproject.toml)
# Where pip finds that CPU build; on a machine without it locally, e.g.
# make setup TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH_INDEX ?=

.PHONY: setup build check test demo bench clean catalogs
N ?= 200
KERNELS ?= 16

setup: $(STAMP)

# Torch is installed first and pinned, so that nothing later resolves an unpinned torch
# to the registry's CUDA build. The stamp makes a second `make setup` a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(TORCH_INDEX)
	$(BIN)/python -m pip install --quiet -e ".[dev,course]"
	touch $(STAMP)

build: setup
	$(BIN)/autograder build

# Generated notebooks up to date, the import contracts of pyproject.toml, lint and types.
check: setup
	$(BIN)/autograder build --check
	$(BIN)/lint-imports
	$(BIN)/ruff check autograder tests graders bench samples
	$(BIN)/mypy

# The suite on every core (pytest-xdist), one test file per worker at a time so that a file's set-up is made
# once; the bundled samples' grading is shared by all workers (tests/conftest.py). Files are handed out in
# collection order, the longest first (tests/conftest.py), not xdist's default of the most tests first.
test: setup
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder

ASSIGNMENTS := lec27_attention attention_basics transformer_encoder gpt_model gpt_training

# The main job: build every assignment, then grade the bundled samples and print the gradebooks.
demo: build
	@for slug in $(ASSIGNMENTS); do \
		echo "== $$slug"; \
		$(BIN)/autograder grade $$slug samples/$$slug --out build/demo/$$slug || exit 1; \
	done

# Speed and memory figures: this grader against a fresh Jupyter kernel per submission.
bench: build
	$(BIN)/python bench/bench.py --n $(N) --kernels $(KERNELS)

clean:
	rm -rf $(VENV) .pytest_cache .cache build *.egg-info

# Message catalogs: extract the student-facing sentences of the package into autograder.pot,
# merge them into each language's .po (translate what is new there), compile the .mo files.
# The .po keeps its header (compile skips a catalog without one) and its date, so that an
# up-to-date catalog comes out byte for byte as it went in (tests/test_i18n.py).
catalogs: setup
	$(BIN)/pybabel extract --no-location --sort-output --no-wrap --omit-header -o autograder/locale/autograder.pot autograder
	$(BIN)/pybabel update --ignore-pot-creation-date --no-wrap --no-fuzzy-matching -D autograder -i autograder/locale/autograder.pot -d autograder/locale
	$(BIN)/pybabel compile --statistics -D autograder -d autograder/locale
