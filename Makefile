# apptrack: the two commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.local/bin:$(PATH)
CARGO ?= cargo

.PHONY: help tools build up down demo test test-full test-rust test-cdk cdk-synth lint template-lint sam-build bench bench-load clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

tools: ## Install the pinned local tools into .local/ and node_modules/ (skips when up to date)
	@scripts/install-tools.sh

# Test targets included: `cargo test --workspace --all-targets` unifies the dev-dependencies'
# features (tokio's test-util, ...) too, so a plain `cargo build --workspace` would compile the
# SDK crates a second time for make test. The demo runs these binaries; nothing else compiles.
build: ## Build the workspace (debug), with the same features make test uses
	$(CARGO) build --workspace --all-targets

up: tools build ## Start DynamoDB Local and ministack on free ports, create the tables, write .local/env
	@scripts/stack-up.sh
	@source .local/env && target/debug/apptrack local bootstrap

down: ## Stop the local stack
	@scripts/stack-down.sh

demo: up ## Run apptrack's jobs against the local stack and show the incidents
	@scripts/demo.sh

test: tools lint template-lint test-rust test-cdk sam-build ## Every test: format, lints, template checks, unit, integration, end to end (emulators start themselves), CDK construct, sam build

test-full: test cdk-synth ## make test, then a real cdk synth of the CDK example (arm64 bundling)

test-rust:
	$(CARGO) test --workspace --all-targets --no-fail-fast

template-lint: ## sam validate --lint, cfn-lint and checkov on infra/template.yaml (offline)
	sam validate --lint --template-file infra/template.yaml
	cfn-lint infra/template.yaml
	checkov --file infra/template.yaml --framework cloudformation --compact --quiet --skip-download

# The CDK construct (infra/cdk): typecheck, then unit tests that synthesize with bundling
# skipped (no cargo build), offline.
test-cdk: ## CDK construct: tsc and unit tests (bundling skipped, offline)
	cd infra/cdk && npx --no-install tsc --noEmit -p . && node --import tsx --test test/*.test.ts

# One real synth of infra/cdk/example: cargo-lambda builds every function for arm64 (release,
# zig as the linker, no Docker), offline like sam-build; checks each asset is an aarch64 bootstrap.
cdk-synth: tools ## cdk synth of the CDK example with real arm64 bundling by the local cargo-lambda
	@scripts/cdk-synth.sh

sam-build: ## sam build of infra/template.yaml: every function for arm64 with cargo-lambda, offline
	@scripts/sam-build.sh

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p apptrack-bench --features load,widget --all-targets -- -D warnings

bench: tools ## Benchmarks (figures and the machine they ran on go to BENCHMARKS.md)
	@mkdir -p target/bench
	$(CARGO) build --release -q --workspace
	@LOGHUB_BENCH=target/release/loghub-bench scripts/bench-loghub.sh target/bench
	target/release/analyzer-bench --json target/bench/analyzer.json
	target/release/auth-bench
	target/release/forecast-bench
	$(CARGO) build --release -q -p apptrack-bench --features widget --bin widget-bench
	target/release/widget-bench --json target/bench/widget.json
	@scripts/bench-functions.sh target/bench
	@$(MAKE) --no-print-directory bench-load

# Not part of make test: N = 50 and 200 concurrent instances of error-analyzer (one service) and
# login-guard (one account) against DynamoDB Local behind the fault proxy, at 0, 5 and 20 %
# injected conflicts, every batch delivered twice; exits non-zero if its exactness check is blind.
bench-load: tools ## Load test: concurrent instances under injected conflicts, exactness of the counts (a few minutes)
	@mkdir -p target/bench
	$(CARGO) build --release -q -p apptrack-bench --features load --bin load-bench
	target/release/load-bench --json target/bench/load.json

clean: down ## Stop the stack and remove build output (keeps installed tools)
	$(CARGO) clean
