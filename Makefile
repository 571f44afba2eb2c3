# `make run` and `make test` set everything up on a fresh machine: .venv, requirements, then the job.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export ANONYMIZED_TELEMETRY ?= False

.PHONY: run test install lint bench clean-store

run: install
	$(PY) -m app $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changed since the last install. torch goes first, through pip: only pip
# looks where this machine keeps its CPU build (uv would download a CUDA one of several GB). uv then installs
# the other pins of requirements.txt, in parallel and with progress; pip does it when uv cannot (no index, an
# error), so the same versions land either way. `python -m bench setup` times it against pip alone.
UV_VERSION ?= 0.13.9
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)

$(STAMP): requirements.txt | $(PY)
	@echo "== setting up $(VENV) from requirements.txt: $(TORCH_PIN) and uv $(UV_VERSION) with pip, the rest with uv"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on "$(TORCH_PIN)" "uv==$(UV_VERSION)"
	$(PY) -m uv pip install --python $(PY) -r requirements.txt || { \
	  echo "== uv could not install requirements.txt; installing with pip"; \
	  $(PY) -m pip install --disable-pip-version-check -r requirements.txt; }
	touch $(STAMP)

lint: install
	$(PY) -m ruff check .

clean-store:
	rm -rf data/store
