# Targets a newcomer can guess. `make up` runs the whole system; `make test` the test suite.
SHELL := /bin/bash
UV := python3 -m uv
RUN := $(UV) run --frozen --all-packages
PACKAGES := libs/common services deploy/local deploy/standin

.PHONY: up test lint format typecheck bench infra-up infra-down infra-status migrate bootstrap ci

bootstrap:  ## install what is missing: system packages, uv, the locked Python environment
	@bash deploy/local/ci-prepare.sh
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv==0.13.8
	@$(UV) sync --frozen --all-packages

up: bootstrap  ## the whole system on loopback; Ctrl-C stops it
	@$(RUN) roleplay up

test: bootstrap infra-up  ## the whole test suite against real Kafka, PostgreSQL and MinIO
	@$(RUN) pytest

lint: bootstrap  ## ruff (format check and lint) and mypy on our packages
	@$(RUN) ruff format --check $(PACKAGES) tests bench
	@$(RUN) ruff check $(PACKAGES) tests bench
	@$(RUN) mypy $(PACKAGES)

format:
	@$(RUN) ruff format $(PACKAGES) tests bench
	@$(RUN) ruff check --fix $(PACKAGES) tests bench

typecheck:
	@$(RUN) mypy $(PACKAGES)

bench: bootstrap infra-up  ## benchmarks (not part of the tests)
	@$(RUN) python -m bench

infra-up:  ## Kafka, PostgreSQL and MinIO on loopback (built and cached on first use)
	@$(RUN) roleplay infra up

infra-down:
	@$(RUN) roleplay infra down

infra-status:
	@$(RUN) roleplay infra status

migrate:
	@$(RUN) roleplay migrate

ci: lint test
