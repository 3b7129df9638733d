# One entry point. `make demo` and `make test` build .venv/ from the pinned dependencies.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
TEMPLATES := template.yaml workload-template.yaml

CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: demo dashboard-preview test lint typecheck generate templates security pytest unit integration fuzz build local-invoke bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install only when the pins change.
$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(VENV)/.runtime $@

# The Lambda bundle's wheels (src/requirements.txt, for the runtime's platform), for the test that
# builds the package as `sam build` does: tests never reach the network, this setup step does.
$(VENV)/lambda-wheels: src/requirements.txt | $(VENV)/.dev
	rm -rf $@ && $(BIN)/pip download --quiet --no-deps --disable-pip-version-check \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.11 \
		--only-binary=:all: -r src/requirements.txt -d $@

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
pytest: $(VENV)/.dev $(VENV)/lambda-wheels
	$(BIN)/pytest

unit: $(VENV)/.dev
	$(BIN)/pytest -m "not integration" tests/unit tests/templates

integration: $(VENV)/.dev $(VENV)/lambda-wheels
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

# `sam local invoke` without Docker: a function's `make build` output under awslambdaric (the
# runtime interface client of AWS's python3.11 images) with the python3.11 runtime's packages
# only, against the embedded AWS on localhost (sagewatch/localinvoke.py). METRICS is optional:
#   make local-invoke FUNCTION=EnricherFunction EVENT=events/sqs/finished-jobs-batch.json \
#     METRICS=sagewatch/data/demo-metrics.json
LOCAL_INVOKE_USAGE := make local-invoke FUNCTION=AlerterFunction EVENT=events/training-failed.json
local-invoke:
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: $(LOCAL_INVOKE_USAGE)"; exit 2; }
	@$(MAKE) --no-print-directory build
	$(BIN)/python -m sagewatch.localinvoke $(FUNCTION) $(EVENT) $(if $(METRICS),--metrics $(METRICS))

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .mypy_cache .ruff_cache
