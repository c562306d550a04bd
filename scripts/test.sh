#!/usr/bin/env bash
# Sets up Transfer Lab with its test tools, then lints and runs the test suite.
#   scripts/test.sh            every test (unit, page, browser, Ray, slow), then the 25 slowest
#   scripts/test.sh --fast     everything but the browser and slow tests (under 5 minutes on 2 cores)
# Other arguments go to pytest (scripts/test.sh -m gpu runs the GPU tier on a machine with CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
tier=()
if [[ "${1:-}" == "--fast" ]]; then
  shift
  tier=(-m "not browser and not slow")
fi
scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
started=$SECONDS
status=0
.venv/bin/python -m pytest --durations=25 "${tier[@]}" "$@" || status=$?
echo "test.sh: pytest took $((SECONDS - started)) s${tier:+ (the fast tier)}"
exit $status
