# The kit's two commands (see README.md):
#   make run    set up, then execute the notebooks end to end (results under build/)
#   make test   set up, then the whole test suite (HW3_FAST=1: the main notebook in its fast mode); its outputs in build/test/
#   make lock   after editing requirements.txt (or tests/browser/requirements.txt): re-resolve the locks
# Set-up is a virtual environment in .venv with every package of requirements.lock (hash-checked), and the kit
# itself installed editable (pyproject.toml: `import grader` from any folder, the command hw3-grader); it is
# redone when the lock or pyproject.toml changes. It also installs the grader's sandbox: Debian's bubblewrap
# (apt-get, as root) and the kernelspec hw3-sandbox.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
TEST_STAMP := $(VENV)/.test-requirements-installed
SANDBOX_STAMP := $(VENV)/.sandbox-installed
NOTEBOOKS := HW3_Modules.ipynb HW3_differentiation.ipynb HW3_main.ipynb
PIP := $(BIN)/python -m pip --disable-pip-version-check
UV_VERSION := 0.13.9
# One lock for Python 3.10 and 3.11 (uv resolves every marker of requirements.txt at once): pip installs its lines.
LOCK_FLAGS := --universal --python-version 3.10 --generate-hashes --quiet --custom-compile-command 'make lock'

.PHONY: setup run test lock clean

setup: $(STAMP) $(SANDBOX_STAMP)

# `pip check` fails when the lock no longer holds a pin of requirements.txt (the kit's declared dependencies):
# requirements.txt was edited without `make lock`.
$(STAMP): requirements-build.lock requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: the kit needs Python 3.10 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Try 'make PYTHON=python3.11 ...'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements-build.lock
	$(PIP) install --quiet --require-hashes -r requirements.lock
	PYTHONWARNINGS=ignore $(PIP) install --quiet --no-deps --no-build-isolation --no-index -e .
	@$(PIP) check >/dev/null || { $(PIP) check; echo "error: requirements.lock does not match requirements.txt: run 'make lock'"; exit 1; }
	@touch $@

# Not stamped when the sandbox cannot run here (it says why): the next make tries again.
$(SANDBOX_STAMP): $(STAMP) grader/execution/sandbox.py
	$(BIN)/python -m grader sandbox setup && touch $@ || true

# The browser test's driver (Playwright, which drives Debian's Chromium): a test-only need, not the students'.
$(TEST_STAMP): $(STAMP) tests/browser/requirements.lock
	$(PIP) install --quiet --require-hashes -r tests/browser/requirements.lock
	@touch $@

# The locks, from the direct lists (pins with ==): uv, pinned, in a tools environment of its own (PyPI needed).
lock:
	test -x $(VENV)/tools/bin/uv || { $(PYTHON) -m venv $(VENV)/tools && $(VENV)/tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(VENV)/tools/bin/uv pip compile $(LOCK_FLAGS) requirements-build.txt -o requirements-build.lock
	$(VENV)/tools/bin/uv pip compile $(LOCK_FLAGS) requirements.txt -o requirements.lock
	$(VENV)/tools/bin/uv pip compile $(LOCK_FLAGS) -c requirements.lock tests/browser/requirements.txt -o tests/browser/requirements.lock

run: setup
	$(BIN)/python -m grader run $(NOTEBOOKS)

# The tests write under build/test/ only, never over make run's results in build/: nbval runs copies of the
# notebooks in build/test/notebooks/ (the main one's figures and metrics.json go to build/test/notebooks/build/).
# The check after the run holds every test to that: build/'s own files must be as they were before it.
TESTS ?= tests   # make test TESTS=tests/test_x.py: those tests and the notebooks
# Two pytest-xdist workers, whole files each (--dist loadfile: a module's shared batch is graded once, a notebook's
# cells run in order in one kernel): most tests wait on kernels, timeouts and start-ups, so two files side by side
# use the two cores. The notebooks come first: the main one is the longest file. TEST_WORKERS=0: one process.
# TESTS_ALONE run afterwards, nothing else of the suite beside them: their containment is timed (bounds in seconds on
# hangs; the disk cap is a measure every 0.25 s, which a busy machine delays). They are three files, each a core's
# work (a kernel and a grader at a time), so they too run in the workers, a file each (99 s in one process, 60 s).
TEST_WORKERS ?= 2
TESTS_ALONE := tests/test_hostile_batch.py tests/test_sandbox.py tests/test_sandbox_attacks.py
ALONE := $(if $(filter tests tests/,$(strip $(TESTS))),$(TESTS_ALONE),$(filter $(TESTS_ALONE),$(TESTS)))
PYTEST := HW3_FAST=1 $(BIN)/python -m pytest -p no:cacheprovider
TEST_OUT := build/test
TEST_NOTEBOOKS := $(TEST_OUT)/notebooks
RUN_OUTPUTS := find build -maxdepth 1 -type f -exec sha256sum {} + | sort

test: setup $(TEST_STAMP)
	@rm -rf $(TEST_NOTEBOOKS) && mkdir -p $(TEST_NOTEBOOKS) && cp $(NOTEBOOKS) $(TEST_NOTEBOOKS)/ && ln -s $(CURDIR)/data $(TEST_NOTEBOOKS)/data
	@$(RUN_OUTPUTS) > $(TEST_OUT)/run-outputs.sha256
	$(PYTEST) $(addprefix $(TEST_NOTEBOOKS)/,$(NOTEBOOKS)) $(filter-out $(TESTS_ALONE),$(TESTS)) $(addprefix --ignore=,$(TESTS_ALONE)) \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=900 -n $(TEST_WORKERS) --dist loadfile
	$(if $(ALONE),$(PYTEST) $(ALONE) $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile))
	@$(RUN_OUTPUTS) | diff $(TEST_OUT)/run-outputs.sha256 - >&2 || \
		{ echo "error: make test changed make run's results in build/ (above): tests write under build/test/" >&2; exit 1; }

clean:
	rm -rf build $(VENV)
