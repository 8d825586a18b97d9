# The two commands: `make dev` (run the demo) and `make test` (run every test).
# Both install what is missing first (scripts/setup.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
BUILDER := target/release/asset-builder

.PHONY: help setup dev test assets lint unit symfony-check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install missing tools (Debian packages, Rust targets, npm packages), pinned
	@scripts/setup.sh

$(BUILDER): $(shell find asset-builder/src cdn-manifest/src -name '*.rs') asset-builder/Cargo.toml Cargo.lock
	$(CARGO) build --release -p asset-builder

assets: $(BUILDER) ## build www/assets into www/build with asset-builder
	$(BUILDER) build www/assets --out www/build --strict

dev: setup assets ## run the demo locally and print its URL
	@scripts/dev.sh

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: ## cargo tests (unit and integration)
	$(CARGO) test --workspace

symfony-check: assets ## Symfony (Debian's packages) consumes the build: manifest, pages, URLs
	php tests/symfony/check.php www

test: setup lint unit symfony-check ## every test
	@echo "make test: all suites passed"

bench: setup $(BUILDER) ## asset-builder vs the reference pipeline (minutes)
	python3 bench/asset-builder.py

clean: ## remove build outputs (keeps installed tools)
	rm -rf target www/build www/var www/.asset-builder-cache
