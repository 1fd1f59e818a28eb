#!/usr/bin/env bash
# Crash safety (issue 15, point 3) on SQLite and PostgreSQL: see crash.py.
#
#   bash reliability/crash.sh              # 20 SIGKILLs per backend
#   KILLS=50 BACKENDS=sqlite bash reliability/crash.sh
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=${KILLS:-20}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
cargo build --release --quiet -p latchkey
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
for backend in $BACKENDS; do
  mkdir -p "$work/$backend"
  case $backend in
    sqlite) url="sqlite://$work/$backend/crash.db" ;;
    postgres)
      psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS latchkey_crash' >/dev/null
      psql "$PG/postgres" -qc 'CREATE DATABASE latchkey_crash' >/dev/null
      url="$PG/latchkey_crash" ;;
  esac
  printf '%s: ' "$backend"
  python3 reliability/crash.py --binary target/release/latchkey --database-url "$url" \
    --kills "$KILLS" --workdir "$work/$backend"
done
