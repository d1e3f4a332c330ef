#!/usr/bin/env bash
# Regenerates .sqlx/, the offline data behind sqlx's compile-time-checked queries, so that
# builds (CI included) need no database. Run it after changing a query or a migration.
#
#   VIGIL_SQLX_DATABASE_URL=postgresql://user@localhost/vigil_sqlx?host=/path/to/socket scripts/sqlx-prepare.sh
#
# (sqlx needs a host in the URL even when `host=` names a socket directory.)
#
# The database named in the URL is emptied and rebuilt from migrations/ — give it a scratch one.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${VIGIL_SQLX_DATABASE_URL:?set VIGIL_SQLX_DATABASE_URL to a scratch PostgreSQL database}

echo "==> rebuilding the schema from migrations/"
psql "$url" -q -v ON_ERROR_STOP=1 -c 'DROP SCHEMA public CASCADE' -c 'CREATE SCHEMA public' >/dev/null
for migration in migrations/*.sql; do
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$migration" >/dev/null
done

echo "==> checking every query against it and recording .sqlx/"
rm -rf .sqlx && mkdir .sqlx
# Touching a file makes cargo re-expand every query macro of its crate.
touch backend/src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$url" \
  cargo check --workspace --all-targets --quiet
echo "==> $(ls .sqlx | wc -l) queries recorded in .sqlx/"
