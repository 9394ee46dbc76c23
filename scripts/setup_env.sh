#!/usr/bin/env bash
# Create .venv with the pinned dependencies (idempotent; reinstalls when pyproject.toml or the
# requested extras change). GAINCELL_EXTRAS selects extras (default: dev).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.10 python3; do
    if command -v "$c" >/dev/null 2>&1; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: no python3 found (need Python >= 3.10)" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "setup: $PY is $("$PY" -V 2>&1); gaincell needs Python >= 3.10" >&2; exit 1; }
extras=${GAINCELL_EXTRAS:-dev}
stamp=.venv/.installed-$( (cat pyproject.toml; echo "$extras") | sha1sum | cut -c1-12)
if [ -f "$stamp" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$extras]"
rm -f .venv/.installed-*
touch "$stamp"
echo "setup: .venv ready ($(.venv/bin/python -V), extras [$extras])"
