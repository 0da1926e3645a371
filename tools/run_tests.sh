#!/usr/bin/env bash
# README command (b): set up (or reuse) the environment, then run the test suite (arguments go to pytest).
# The default suite skips tests marked slow; `bash tools/run_tests.sh -m slow` runs those.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup_env.sh | tail -n 1)
exec "$PY" -m pytest "$@"
