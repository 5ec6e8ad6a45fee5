#!/usr/bin/env bash
# Set up .venv (if needed) and run `monitor demo`: one offline cycle on loopback demo feeds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/monitor demo "$@"
