#!/usr/bin/env bash
# Run the app on the embedded demo: environment, demo assets and indexes on first run, then the app.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure_env.sh requirements-build.txt   # builds the demo: torch and the models
python -m core demo            # fetches the demo images and builds the indexes once; then a no-op
exec streamlit run streamlit_app.py "$@"
