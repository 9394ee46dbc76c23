"""Shared helpers of the SPICE tests: the ngspice requirement and cached characterizations.

SPICE tests call :func:`require_spice` (through the ``spice`` fixture of each test file): it
skips the test with a clear reason when ngspice is missing, unless ``GAINCELL_REQUIRE_SPICE=1``
(CI, ``.ci/run``), in which case a missing ngspice FAILS the test.
"""

from __future__ import annotations

import functools
import os

import pytest

from gaincell.spice.runner import ngspice_available


def require_spice(backend: str = "auto") -> None:
    """Skip (or fail under GAINCELL_REQUIRE_SPICE=1) when ``backend`` cannot run here."""
    a = ngspice_available()
    ok = {"auto": a["shared"] or a["subprocess"], "shared": a["shared"],
          "subprocess": a["subprocess"]}[backend]
    if ok:
        return
    why = (f"ngspice backend {backend!r} not available (shared library: {a['shared']}, "
           f"executable: {a['executable']}); install with `make ngspice`")
    if os.environ.get("GAINCELL_REQUIRE_SPICE") == "1":
        pytest.fail(f"{why}; GAINCELL_REQUIRE_SPICE=1 makes this a failure")
    pytest.skip(why)


@functools.lru_cache(maxsize=1)
def spice_iv():
    """The paper-grid (50 x 51) SPICE I-V sweep of the shipped cell and its cubic fit (cached
    for the test session)."""
    from gaincell.spice.characterize import sweep_iv

    return sweep_iv()


def require_pdk():
    """The GF180MCU kit (fetching the PDK if needed); skip (or fail under
    GAINCELL_REQUIRE_SPICE=1) when it cannot be had."""
    from gaincell.spice.kits import gf180_kit
    from gaincell.spice.pdk import PdkNotFound

    try:
        return gf180_kit()
    except PdkNotFound as e:
        if os.environ.get("GAINCELL_REQUIRE_SPICE") == "1":
            pytest.fail(f"GF180MCU PDK unavailable: {e}")
        pytest.skip(f"GF180MCU PDK unavailable: {e}")
