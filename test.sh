#!/usr/bin/env bash
# Runs every check: ruff (lint and format), mypy, then the whole pytest suite (unit, integration on SQLite and
# PostgreSQL at 127.0.0.1:5432/test, end-to-end). Installs what it needs into .venv first.
set -euo pipefail
cd "$(dirname "$0")"
source ./scripts/venv.sh
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
exec "$VENV/bin/python" -m pytest "$@"
