# The two commands: `make dev` (run the demo) and `make test` (run every test).
# Both install what is missing first (scripts/setup.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
BUILDER := target/release/asset-builder
TOOLS := $(CURDIR)/.tools
WORKER_BUILD := $(TOOLS)/worker-build-0.8.7/bin/worker-build
WASM_BINDGEN := $(TOOLS)/wasm-bindgen-0.2.130/bin/wasm-bindgen
WORKER := edge-worker/build/worker/entry.mjs
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: help setup dev test assets worker lint unit config-check deploy-check deploy-history-check symfony-check e2e bench bench-edge bench-edge-cpu bench-coordinator bench-deltas fuzz clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install missing tools (Debian packages, Rust targets, npm packages), pinned
	@scripts/setup.sh

$(BUILDER): $(shell find asset-builder/src cdn-manifest/src -name '*.rs') asset-builder/Cargo.toml Cargo.lock
	$(CARGO) build --release -p asset-builder

assets: $(BUILDER) ## build www/assets into www/build with asset-builder
	$(BUILDER) build www/assets --out www/build --strict --quiet --no-fingerprint 'errors/**'

$(WORKER): $(shell find edge-worker/src edge-core/src cdn-manifest/src -name "*.rs") edge-worker/js/entry.mjs edge-worker/js/runtime.mjs edge-worker/Cargo.toml edge-core/Cargo.toml Cargo.lock Cargo.toml
	cd edge-worker && WASM_BINDGEN_BIN=$(WASM_BINDGEN) WASM_OPT_BIN=$(CURDIR)/node_modules/.bin/wasm-opt \
	  XDG_CACHE_HOME=$(TOOLS)/cache $(WORKER_BUILD) --profile worker
	cp edge-worker/js/entry.mjs edge-worker/js/runtime.mjs edge-worker/build/worker/

worker: $(WORKER) ## build the Wasm worker with worker-build (edge-worker/build)

FORWARDER := bench/forwarder/build/worker/shim.mjs
$(FORWARDER): bench/forwarder/src/lib.rs bench/forwarder/Cargo.toml Cargo.lock
	cd bench/forwarder && WASM_BINDGEN_BIN=$(WASM_BINDGEN) WASM_OPT_BIN=$(CURDIR)/node_modules/.bin/wasm-opt \
	  XDG_CACHE_HOME=$(TOOLS)/cache $(WORKER_BUILD) --profile worker

bench-edge: setup worker assets $(FORWARDER) ## edge worker vs a minimal Rust forwarder and the origin; failover figures (minutes)
	node bench/edge-pools.mjs

bench-edge-cpu: setup worker assets $(FORWARDER) ## edge worker's CPU per request vs the Rust forwarder, side by side (minutes)
	node bench/edge-cpu.mjs

bench-coordinator: setup worker assets ## coordinator: detection time of a killed idle origin, cost of probes (minutes)
	node bench/coordinator.mjs

dev: setup worker assets ## run the demo locally (origin + worker in wrangler dev) and print its URL
	@scripts/dev.sh

lint: ## rustfmt and clippy (native and wasm32), warnings are errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p edge-worker --target wasm32-unknown-unknown -- -D warnings

unit: ## cargo tests (unit and integration)
	$(CARGO) test --workspace

config-check: assets ## validate wrangler.toml's edge configuration (as before a deploy)
	$(CARGO) run -q -p edge-core --bin edge-config -- check wrangler.toml

deploy-check: worker assets ## wrangler deploy --dry-run: the bundle and bindings a deploy would upload
	CI=1 node_modules/.bin/wrangler deploy --dry-run --outdir target/wrangler-dry-run

deploy-history-check: worker $(BUILDER) ## three builds with --history into one output, then wrangler deploy --dry-run of it
	tests/deploy/history-check.sh

symfony-check: assets ## Symfony (Debian's packages) consumes the build: manifest, pages, URLs
	php tests/symfony/check.php www

# The proxy suites run a second time with a default route that does not cache: that path is
# driven from the worker's entry module (edge-worker/src/driven.rs), the caching one from Rust.
PROXY_SUITES := $(addprefix tests/e2e/,plan.test.mjs pools.test.mjs sessions.test.mjs interim.test.mjs hygiene.test.mjs health.test.mjs)

e2e: worker assets ## end-to-end tests: the built worker in Miniflare (workerd), real Symfony origins, headless Chromium
	node --test --test-concurrency=1 tests/e2e/
	E2E_UNCACHED=1 node --test --test-concurrency=1 $(PROXY_SUITES)

test: setup lint unit config-check deploy-check deploy-history-check symfony-check e2e ## every test
	@echo "make test: all suites passed"

bench: setup $(BUILDER) ## asset-builder vs the reference pipeline (minutes)
	python3 bench/asset-builder.py

bench-deltas: setup $(BUILDER) ## RFC 9842 delta bytes vs br on real npm releases; CI build time with --history (minutes)
	python3 bench/deltas.py

fuzz: ## fuzz every parser FUZZ_SECONDS (60) each, then RANDOM_BUILDS (200) random builds; not in test
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) RANDOM_BUILDS=$(or $(RANDOM_BUILDS),200) fuzz/run.sh

clean: ## remove build outputs (keeps installed tools)
	rm -rf target www/build www/var www/.asset-builder-cache edge-worker/build bench/forwarder/build fuzz/target
