# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check format bench bench-search bench-gateway clean system-packages

# Debian libraries WeasyPrint (invoice PDFs) loads; installed only when missing.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system-packages:
	@if ldconfig -p | grep -q 'libpango-1.0.so' && ldconfig -p | grep -q 'libpangoft2-1.0.so'; then \
		:; \
	else \
		echo "installing WeasyPrint's system libraries: $(SYSTEM_PACKAGES)"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

$(STAMP): pyproject.toml verifier/pyproject.toml
	$(MAKE) --no-print-directory system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The licensee's verifier first: the server depends on it (tollhouse-verify), from this tree.
	$(BIN)/python -m pip install -q -e ./verifier
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tollhouse demo

test: $(STAMP)
	$(BIN)/python -m pytest -q --cov=tollhouse --cov-report=term $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff format --check src tests bench verifier/src
	$(BIN)/ruff check src tests bench verifier/src
	$(BIN)/mypy src tests verifier/src
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench verifier/src
	$(BIN)/ruff check --fix src tests bench verifier/src

# Every benchmark in its --quick mode; the full runs and their results: bench/RESULTS.md.
bench: $(STAMP)
	for b in generate search edge limits metering streams query_matcher billing receipts; do \
		$(BIN)/python bench/$$b.py --quick || exit 1; done

bench-search: $(STAMP)
	$(BIN)/python bench/search.py

bench-gateway: $(STAMP)
	$(BIN)/python bench/gateway.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
