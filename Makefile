# One entry point. `make demo` and `make test` build .venv/ from the pinned dependencies.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
TEMPLATES := template.yaml workload-template.yaml

CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: demo dashboard-preview test lint typecheck generate templates security pytest unit integration fuzz build bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install only when the pins change.
$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(VENV)/.runtime $@

demo: $(VENV)/.runtime
	$(BIN)/sagewatch demo

# template.yaml's dashboard drawn with the demo's data (no AWS account needed).
dashboard-preview: $(VENV)/.runtime
	$(BIN)/sagewatch dashboard --preview docs/dashboard.svg

test: $(VENV)/.dev lint typecheck templates security pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# The templates' rule patterns, failed-jobs query and collector statuses, from the code.
generate: $(VENV)/.dev
	PYTHONPATH=src:. $(BIN)/python -m sagewatch.generate

templates: $(VENV)/.dev
	PYTHONPATH=src:. $(BIN)/python -m sagewatch.generate --check
	$(BIN)/cfn-lint --template $(TEMPLATES) --append-rules lint/rules
	for t in $(TEMPLATES); do $(BIN)/sam validate --lint -t $$t || exit 1; done

# checkov has its own virtualenv: its pins conflict with the SAM CLI's.
$(CHECKOV): constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -c constraints-checkov.txt checkov
	touch $@

security: $(CHECKOV)
	$(CHECKOV) --config-file .checkov.yaml --framework cloudformation --compact --quiet \
		--skip-download -f template.yaml -f workload-template.yaml

# Every test, in one process (make test). The same tests in three parts, for quicker loops:
# unit and template tests refuse the network and moto (tests/conftest.py); integration tests are
# those marked `integration` (all of tests/integration, and the few elsewhere that replay the demo).
pytest: $(VENV)/.dev
	$(BIN)/pytest

unit: $(VENV)/.dev
	$(BIN)/pytest -m "not integration" tests/unit tests/templates

integration: $(VENV)/.dev
	$(BIN)/pytest -m integration

fuzz: $(VENV)/.dev
	$(BIN)/pytest -m "not integration" tests/fuzz

# Not part of make test: invocations, calls, cost per 1,000 jobs, cold start, CPU (README).
bench: $(VENV)/.dev
	$(BIN)/python -m bench

# sam build needs python3.11 on PATH (the Lambda runtime); src/Makefile packages each function
# with arm64 wheels and its bytecode, which the check below requires for every module of ours.
build: $(VENV)/.dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sam build --template-file template.yaml
	@for package in .aws-sam/build/*Function; do \
	  missing=$$(cd $$package && find handlers shared -name '*.py' | while read -r source; do \
	    test -f "$$(dirname $$source)/__pycache__/$$(basename $$source .py).cpython-311.pyc" \
	      || echo "$$source"; done); \
	  test -z "$$missing" || { echo "$$package ships no bytecode for: $$missing"; exit 1; }; \
	done

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .mypy_cache .ruff_cache
