# Shared by scripts/run.sh and scripts/test.sh: install what is missing, say what is happening.
# Sourced, not run.

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "installing packages needs root; run as root or install sudo (wanted: $*)"
  fi
}

APT_UPDATED=
# Installs Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "please install: ${missing[*]} (no apt-get here)"
  step "installing ${missing[*]} (Debian packages)"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# PostgreSQL server programs, for the embedded database (found on PATH or under /usr/lib/postgresql).
ensure_postgres() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then return 0; fi
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then return 0; fi
  apt_install postgresql
}

ensure_wasm_target() {
  command -v rustup >/dev/null 2>&1 || return 0
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# poppler's pdftotext, pdftoppm and pdffonts: backend/tests/sla_pdf.rs reads the SLA report's
# PDF back with them.
ensure_poppler() {
  command -v pdftotext >/dev/null 2>&1 || apt_install poppler-utils
}

# Debian's Prometheus 2.42 (prometheus + promtool): the reference the PromQL tests compare
# against, and a real remote_write client.
ensure_prometheus() {
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then return 0; fi
  apt_install prometheus
}

# The real Alertmanager, to compare Vigil's Alertmanager API with.
ensure_alertmanager() {
  command -v prometheus-alertmanager >/dev/null 2>&1 && return 0
  apt_install prometheus-alertmanager
}

# Debian's Prometheus node exporter: a real exporter whose metrics the imported "Node Exporter
# Full" dashboard (shared/fixtures/grafana) draws, scraped by the browser tests.
ensure_node_exporter() {
  command -v prometheus-node-exporter >/dev/null 2>&1 && return 0
  apt_install prometheus-node-exporter
}

# PyYAML, for scripts/promql-fixtures.py.
ensure_pyyaml() {
  python3 -c 'import yaml' 2>/dev/null && return 0
  step "installing PyYAML"
  python3 -m pip install --quiet pyyaml 2>/dev/null || apt_install python3-yaml
}

ensure_node() {
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then return 0; fi
  apt_install nodejs npm
}

# Stops a throwaway PostgreSQL cluster left by the integration tests (it runs as the data
# directory's owner, which is the `postgres` user when the tests ran as root).
stop_cluster() {
  local pgdata=$1
  [ -f "$pgdata/postmaster.pid" ] || return 0
  local pg_ctl
  pg_ctl=$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
  local owner
  owner=$(stat -c %U "$pgdata")
  if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
    runuser -u "$owner" -- "$pg_ctl" stop -D "$pgdata" -m fast -s || true
  else
    "$pg_ctl" stop -D "$pgdata" -m fast -s || true
  fi
}

# The OpenTelemetry Python SDK and its OTLP/HTTP exporter, in a venv under target/: a real OTLP
# client for backend/tests/otlp_peer.rs (found through VIGIL_OTEL_PYTHON). Versions are pinned
# so the peer test exercises the same encoder every time.
OTEL_VENV=target/otel-venv
OTEL_PACKAGES=(opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2)
ensure_otel_sdk() {
  local python=$OTEL_VENV/bin/python
  if [ -x "$python" ] && "$python" - "${OTEL_PACKAGES[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(any(version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))
PY
    export VIGIL_OTEL_PYTHON=$PWD/$python
    return 0
  fi
  python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  step "installing the OpenTelemetry Python SDK into $OTEL_VENV"
  rm -rf "$OTEL_VENV"
  python3 -m venv "$OTEL_VENV"
  "$python" -m pip install --quiet --disable-pip-version-check "${OTEL_PACKAGES[@]}"
  export VIGIL_OTEL_PYTHON=$PWD/$python
}
