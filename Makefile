# Targets a newcomer can guess. `make up` runs the whole system; `make test` the test suite.
SHELL := /bin/bash
UV := python3 -m uv
RUN := $(UV) run --frozen --all-packages
PACKAGES := libs/common services deploy/local deploy/standin

.PHONY: up test lint format typecheck bench infra-up infra-down infra-status migrate bootstrap ci web web-api

bootstrap:  ## install what is missing: system packages, uv, the locked Python environment
	@bash deploy/local/ci-prepare.sh
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv==0.13.8
	@$(UV) sync --frozen --all-packages

WEB := services/gateway/web
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts \
	$(WEB)/tsconfig.json $(WEB)/package.json $(WEB)/openapi.json

# node_modules follow the lockfile (npm ci, from npm's download cache when it has the files).
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	@cd $(WEB) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error

# The web client is rebuilt only when a source, the lockfile or the API document changed.
$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	@cd $(WEB) && npm run --silent build -- --logLevel warn

web: $(WEB)/dist/index.html  ## build the web client when missing or stale

web-api: bootstrap $(WEB)/node_modules/.package-lock.json  ## regenerate the client's API types
	@$(RUN) python -m roleplay_gateway.web.api_document > $(WEB)/openapi.json
	@cd $(WEB) && npm run --silent api-types

up: bootstrap web  ## the whole system on loopback; Ctrl-C stops it
	@$(RUN) roleplay up

test: bootstrap web infra-up  ## the whole test suite against real Kafka, PostgreSQL and MinIO
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
