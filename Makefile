# metapipeline — `make run` runs the chain on the bundled demo, `make test` runs the tests.
# The virtualenv is created and filled on first use; later calls reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARAMS ?= params/default.yaml
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export DAGSTER_DISABLE_TELEMETRY := 1

DAGSTER_STAMP := $(VENV)/.installed-dagster

.PHONY: run test test-fast lab lab-publish bench dagster browser-deps clean-runs distclean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The dagster extra, resolved together with the rest (alone it would pull a protobuf dbt-core refuses),
# and the lab extra: `make test` needs them for the Dagster tests and the explorer; `make run` does not.
$(DAGSTER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,dagster,lab]"
	touch $(DAGSTER_STAMP)

run: $(STAMP)  ## the whole chain on the demo (or PARAMS=params/x.yaml)
	$(BIN)/python run_all.py --params $(PARAMS) $(ARGS)

# Headless Chromium for the browser tests of the HTML reports, from Debian's packages.
# Installed only where it is missing and apt-get can run as root; elsewhere those tests skip.
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
	  || echo "browser-deps: chromium not installed (not root or no apt-get): browser tests will skip"; }

# --dist loadfile: a test file's tests share one worker, so the demo chains its module and session
# fixtures build (the published run, the hostile run) are built once, not once per worker.
test: $(DAGSTER_STAMP) browser-deps  ## every test, the notebook chain and the browser tests included
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax notebooks/

test-fast: $(STAMP)  ## the fast tier: no dbt builds, no notebook kernels
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

LAB_STAMP := $(VENV)/.installed-lab

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(LAB_STAMP)

# Jupyter refuses to start as root unless told; LAB_ARGS passes options on (e.g. --port=8899 --no-browser).
lab: $(LAB_STAMP)  ## JupyterLab on the notebooks; "Restart & Run All" runs the demo
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

lab-publish: $(STAMP)  ## publish the lab run (runs/lab) from the notebooks as saved: HTML, run page, runs index
	$(BIN)/python -m lineage_utils.publish.lab --params $(PARAMS) --notebooks-dir notebooks

dagster: $(DAGSTER_STAMP)  ## the Dagster UI on the four stage assets (DAGSTER_ARGS: e.g. -p 3001)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster} && mkdir -p $$DAGSTER_HOME && export DAGSTER_HOME && \
	  { [ -f $$DAGSTER_HOME/dagster.yaml ] || printf 'telemetry:\n  enabled: false\n' > $$DAGSTER_HOME/dagster.yaml; } && \
	  $(BIN)/dagster dev -m lineage_utils.dagster $(DAGSTER_ARGS)

bench: $(STAMP)  ## benchmarks: print figures and ratios (not timed tests)
	@ls benchmarks/*.py >/dev/null 2>&1 && for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done || echo "no benchmarks yet"

clean-runs:
	rm -rf runs .cache

distclean: clean-runs
	rm -rf $(VENV) .dagster
