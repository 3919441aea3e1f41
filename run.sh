#!/usr/bin/env bash
# Runs the bot on its embedded defaults (SQLite, sandbox Microsoft backend, outbox mail).
# Installs what it needs into .venv first; arguments go to app.py (e.g. ./run.sh console).
# It runs from the repository (.venv, .env and data/ are there) and tells the console the
# folder you started it in, so `bulk ./customers.csv` and `template` mean that folder.
set -euo pipefail
export ONBOARDING_CALLER_DIR="$PWD"
cd "$(dirname "$0")"
source ./scripts/venv.sh
exec "$VENV/bin/python" app.py "$@"
