#!/usr/bin/env bash
# Builds everything and runs Vigil with demo data on its embedded database.
#
#   scripts/run.sh                 # http://127.0.0.1:8080, credentials printed at start-up
#   scripts/run.sh --listen 0.0.0.0:8080
#
# Extra arguments go to `vigil serve`. VIGIL_DEMO_PASSWORD fixes the demo users' password.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_postgres
ensure_wasm_target
ensure_node

step "building the web frontend"
cargo xtask build-web

step "building the server (release)"
cargo build --release --package vigil

step "starting Vigil with demo data (data in ./vigil-data)"
exec target/release/vigil serve --demo --web-dir frontend/dist "$@"
