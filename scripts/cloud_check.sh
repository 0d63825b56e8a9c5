#!/usr/bin/env bash
# Cloud-like check: the app from requirements.txt alone (fresh Python 3.12 venv, cached under
# artifacts/cloud-venv) serves the demo indexes and an OpenCLIP one in headless chromium and
# never imports torch. The build side (indexes, ONNX export, Playwright) runs in .venv.
# Usage: bash scripts/cloud_check.sh [--indexes DIR...]   (CLOUD_PYTHON=/path/to/python3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure_env.sh requirements-dev.txt
exec python -m devtools.cloud_check "$@"
