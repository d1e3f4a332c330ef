#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and integration tests against a real
# PostgreSQL, and browser tests in Debian's chromium against the real server.
# Installs what it needs (PostgreSQL, chromium, poppler-utils, the wasm32 target, npm packages, the
# OpenTelemetry Python SDK for the OTLP peer test, Debian's node exporter for the dashboard import).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
started=$SECONDS

ensure_postgres
ensure_chromium
ensure_poppler
ensure_node
ensure_wasm_target
ensure_prometheus
ensure_alertmanager
ensure_node_exporter
ensure_pyyaml
ensure_otel_sdk

step "[1/6] formatting and lints"
cargo fmt --all --check
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --package vigil-web --target wasm32-unknown-unknown --quiet -- -D warnings

step "[2/6] PromQL fixtures: Prometheus itself must agree with every recorded answer"
python3 scripts/promql-fixtures.py check

step "[3/6] building the web frontend (its main module checked against the 600 KB gzip budget)"
cargo xtask build-web --max-gzip-kb 600

step "[4/6] unit and integration tests (real PostgreSQL, a fresh database per test; real Prometheus, Alertmanager and OpenTelemetry peers)"
test_cluster=target/tmp/vigil-test-pg/postgres/data
trap 'stop_cluster "$test_cluster"' EXIT
VIGIL_REQUIRE_PEERS=1 cargo test --quiet
# The web UI's pure logic (PromQL completion, durations), natively.
cargo test --quiet --package vigil-web --lib
stop_cluster "$test_cluster"

step "[5/6] building the server for the browser tests"
cargo build --quiet --package vigil

step "[6/6] browser tests (Playwright + chromium against the real server)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test)

step "all tests passed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
