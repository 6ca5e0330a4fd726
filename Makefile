# One entry point for people and CI. `make demo` is the main job, `make test` the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
# Where pip finds that CPU build; on a machine without it locally, e.g.
# make setup TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH_INDEX ?=

.PHONY: setup build check test demo bench clean
N ?= 200
KERNELS ?= 16

setup: $(STAMP)

# Torch is installed first and pinned, so that nothing later resolves an unpinned torch
# to the registry's CUDA build. The stamp makes a second `make setup` a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(TORCH_INDEX)
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

build: setup
	$(BIN)/autograder build

check: setup
	$(BIN)/autograder build --check

test: setup
	$(BIN)/python -m pytest -q

ASSIGNMENTS := lec27_attention attention_basics transformer_encoder

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
