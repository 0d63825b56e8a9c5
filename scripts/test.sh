#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: environment, Debian chromium for the browser test,
# ruff, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure_env.sh requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "==> installing Debian chromium for the browser test"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "==> ruff"
ruff check .
echo "==> pytest"
python -m pytest -q "$@"
