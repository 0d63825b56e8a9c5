#!/usr/bin/env bash
# Create .venv and install a requirements file into it, once per change of that file.
# Usage: source scripts/ensure_env.sh requirements-build.txt (the files chain: dev -> build -> app,
# dev -> scale -> app)
set -euo pipefail
REQ="${1:-requirements.txt}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "==> creating virtual environment in .venv ($("$PY" --version))"
  "$PY" -m venv "$ROOT/.venv"
fi
STAMP="$ROOT/.venv/.installed-$(basename "$REQ")"
WANT="$(cat "$ROOT/$REQ" "$ROOT"/requirements*.txt | sha1sum | cut -c1-16)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "==> installing $REQ into .venv (first run: a few minutes)"
  "$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
  "$ROOT/.venv/bin/python" -m pip install --quiet -r "$ROOT/$REQ"
  echo "$WANT" > "$STAMP"
fi
# the project itself, editable, for the `image-search` console script (dependencies come above)
if [ ! -x "$ROOT/.venv/bin/image-search" ]; then
  "$ROOT/.venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" \
    || "$ROOT/.venv/bin/python" -m pip install --quiet --no-deps -e "$ROOT"
fi
export PATH="$ROOT/.venv/bin:$PATH"
