#!/usr/bin/env bash
# The installed package works without the checkout: build a wheel, install it into a fresh
# venv in a temporary folder (the checkout is not on the path there), run `gaincell demo`;
# check that PySpice is not pulled in by the core install and that every shipped netlist's
# includes resolve inside the installed package; then add the `spice` extra and run
# `gaincell validate` on ngspice through PySpice's shared library.
#   PY=...                           the Python that builds the wheel (default .venv/bin/python)
#   GAINCELL_WHEEL_VALIDATE="..."    validate's options (default: --checks cell c2p column, the
#                                    checks that read every netlist; the physics of all checks
#                                    is covered by the test suite)
# pip's cache (its default, or PIP_CACHE_DIR) makes the second and later runs quick.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
VALIDATE=${GAINCELL_WHEEL_VALIDATE:---checks cell c2p column}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gaincell_wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS

# build from a copy of the tracked files, so the checkout gets no build/ or egg-info
mkdir "$tmp/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
isolation=--no-build-isolation   # the build Python's setuptools, else an isolated build
"$PY" -c "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 77)" \
  2>/dev/null || isolation=
"$PY" -m pip wheel --quiet --no-deps $isolation -w "$tmp/dist" "$tmp/src"
whl=$(ls "$tmp"/dist/gaincell-*.whl)
echo "check-wheel: built $(basename "$whl") ($(( SECONDS - t0 )) s)"

"$PY" -m venv "$tmp/venv"
vpy="$tmp/venv/bin/python"
cd "$tmp"   # not the checkout: only the installed package is importable
pipq() { "$vpy" -m pip install --quiet --no-compile "$@" > "$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log"; exit 1; }; }
pipq "$whl"
echo "check-wheel: installed into a fresh venv ($(( SECONDS - t0 )) s)"
"$vpy" - <<'EOF'
import importlib.util, os, pathlib, gaincell
where = pathlib.Path(gaincell.__file__).parent
assert "site-packages" in where.parts, f"gaincell imported from {where}, not the installed wheel"
assert importlib.util.find_spec("PySpice") is None, "PySpice came with the core install"
from gaincell.spice.examples import example_decks
from gaincell.spice.netlist import circuits_dir, preflight
assert circuits_dir().is_relative_to(where), circuits_dir()
decks = example_decks()
os.chdir(circuits_dir())   # the example decks' includes are relative to their folder
for nl in decks:
    preflight(nl)   # every .include exists, every model and sub-circuit is defined
print(f"check-wheel: {where}: netlists in {circuits_dir().relative_to(where.parent)} resolve")
EOF
"$tmp/venv/bin/gaincell" demo --out "$tmp/report" > "$tmp/demo.txt"
test -s "$tmp/report/report.md"
echo "check-wheel: gaincell demo ok ($(( SECONDS - t0 )) s)"

pipq "$whl[spice]"
"$vpy" -c "import PySpice"
# shellcheck disable=SC2086
"$tmp/venv/bin/gaincell" validate --backend shared --out "$tmp/spice_report" $VALIDATE \
  > "$tmp/validate.txt" 2>&1 || { cat "$tmp/validate.txt"; exit 1; }
grep -E "^(cell|c2p|column|tile)" "$tmp/validate.txt" | cut -c1-100 || true
echo "check-wheel: gaincell[spice] validate ok ($(( SECONDS - t0 )) s)"
