#!/usr/bin/env bash
# README command (a): set up (or reuse) the environment, then run the quick start (tools/quickstart.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup_env.sh | tail -n 1)
exec "$PY" tools/quickstart.py "$@"
