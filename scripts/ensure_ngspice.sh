#!/usr/bin/env bash
# Make sure ngspice and the shared library PySpice loads (libngspice.so) are installed.
# Installs Debian's packages when missing and the machine allows it (root or sudo, apt-get).
# With GAINCELL_REQUIRE_SPICE=1 a missing ngspice is an error; otherwise a warning (the SPICE
# tests then skip with a reason).
set -uo pipefail
have() {
  command -v ngspice >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libngspice\.so\b'
}
if have; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
  echo "ngspice: installing ngspice, libngspice0, libngspice0-dev with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null && \
    $SUDO apt-get install -y -qq ngspice libngspice0 libngspice0-dev >/dev/null
fi
if have; then exit 0; fi
msg="ngspice: not installed and could not be installed here (need apt-get as root); SPICE tests will be skipped"
if [ "${GAINCELL_REQUIRE_SPICE:-0}" = 1 ]; then
  echo "$msg; GAINCELL_REQUIRE_SPICE=1 makes this an error" >&2
  exit 1
fi
echo "$msg" >&2
exit 0
