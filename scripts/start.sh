#!/usr/bin/env bash
# Sets up Transfer Lab and starts it on the built-in offline defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/streamlit run serve.py "$@"  # app.py, with the heavy modules loaded before the first visitor
