#!/usr/bin/env bash
# Runs the bot on its embedded defaults (SQLite, sandbox Microsoft backend, outbox mail).
# Installs what it needs into .venv first; arguments go to app.py (e.g. ./run.sh console).
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
exec "$VENV/bin/python" app.py "$@"
