# Two commands on a fresh machine:
#   make run    install into .venv and run the pipeline on the embedded default
#   make test   install into .venv (with test extras) and run the test suite
PY ?= python3
VENV ?= .venv
CORES ?= all
TEST_WORKERS ?= 2  # pytest-xdist processes (one test file per process: its fixtures built once)
BIN := $(VENV)/bin

.PHONY: run test install install-test clean-results

$(BIN)/python:
	$(PY) -m venv $(VENV)
	# torch and torchvision first, together and pinned: an unpinned torch requirement
	# would pull another build (GBs)
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1

install: $(BIN)/python
	$(BIN)/pip install -e .

install-test: $(BIN)/python
	$(BIN)/pip install -e ".[test]"

run: install
	$(BIN)/snakemake --cores $(CORES)

test: install-test
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

clean-results:
	rm -rf results .snakemake

# One-GPU workstation preset (configs/workstation.yaml; its cost: python -m simart.plan_cost
# --configfile configs/workstation.yaml)
run-workstation: install
	$(BIN)/snakemake --cores $(CORES) --configfile configs/workstation.yaml --replace-workflow-config
