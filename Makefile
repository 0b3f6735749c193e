# The kit's two commands (see README.md):
#   make run    set up, then execute the notebooks end to end (results under build/)
#   make test   set up, then the whole test suite (HW3_FAST=1: the main notebook in its fast mode)
# Set-up is a virtual environment in .venv with the pinned requirements; it is redone when requirements.txt changes.
# It also installs the grader's sandbox: Debian's bubblewrap (apt-get, as root) and the kernelspec hw3-sandbox.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
TEST_STAMP := $(VENV)/.test-requirements-installed
SANDBOX_STAMP := $(VENV)/.sandbox-installed
NOTEBOOKS := HW3_Modules.ipynb HW3_differentiation.ipynb HW3_main.ipynb

.PHONY: setup run test clean

setup: $(STAMP) $(SANDBOX_STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "error: the kit needs Python 3.10 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Try 'make PYTHON=python3.11 ...'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# Not stamped when the sandbox cannot run here (it says why): the next make tries again.
$(SANDBOX_STAMP): $(STAMP) grader/sandbox.py
	$(BIN)/python -m grader.sandbox setup && touch $@ || true

# The browser test's driver (Playwright, which drives Debian's Chromium): a test-only need, not the students'.
$(TEST_STAMP): $(STAMP) tests/browser/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/browser/requirements.txt
	@touch $@

run: setup
	$(BIN)/python -m grader.runkit $(NOTEBOOKS)

test: setup $(TEST_STAMP)
	HW3_FAST=1 $(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider

clean:
	rm -rf build $(VENV)
