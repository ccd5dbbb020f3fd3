# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_INDEX := .newsdesk-sample

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: install run test test-fast bench lint clean

install: $(STAMP)

# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/newsdesk ingest sample/archive --index $(SAMPLE_INDEX) --prune
	$(BIN)/newsdesk serve --index $(SAMPLE_INDEX)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser and not server"

bench: install
	$(BIN)/python -m bench.run

# mypy and import-linter see the package as it installs: a tree of symlinks to the sources
# (so reported paths open the real files) with ingest/ retriever/ ui/ evals/ under newsdesk/.
LINT_TREE := build/lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)
	cp -rs $(CURDIR)/newsdesk $(LINT_TREE)/newsdesk
	for p in ingest retriever ui evals; do cp -rs $(CURDIR)/$$p $(LINT_TREE)/newsdesk/$$p; done
	find $(LINT_TREE) -name __pycache__ -prune -exec rm -rf {} +
	cd $(LINT_TREE) && $(CURDIR)/$(BIN)/mypy -p newsdesk --config-file $(CURDIR)/pyproject.toml
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --no-cache $(CURDIR)/pyproject.toml

clean:
	rm -rf $(VENV) $(SAMPLE_INDEX) .pytest_cache artifacts build
